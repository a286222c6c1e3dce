/**
 * Simulated lock/counter clients that retry the same (session, seq) through failovers, and the
 * linearizability checks of their histories.
 */
/**
 * Simulated clients of the lock/counter service ('locks' workload). Each client opens a session
 * (short TTL), keeps it alive, and runs one operation at a time: counter add/set/cas (writes
 * carrying (session, seq) and ackedSeq), linearizable counter reads, and lock cycles (acquire
 * with or without waiting, fenced writes to the lock's protected counter, release). Three lock
 * cycles in ten take an all-or-nothing set of two or three locks instead (`acquire-all`, one
 * token for all of them; docs/design.md#all-or-nothing-multi-locks), write fenced to one or
 * more of them, and release them with `release-all` or one by one. Sometimes a client stalls
 * while holding for longer than its TTL (a paused client, Jepsen's classic lease scenario) and
 * then writes with its old token.
 *
 * Requests retry the same (session, seq) through failovers (session-requests.ts, shared with
 * the election cycles).
 *
 * Histories (checker format, virtual time): counters per key with the counter model (unique
 * add deltas make a doubled retry visible), locks per name with the fenced-mutex model, which
 * also holds every fenced write (applied only with the current holder's token). An
 * `acquire-all` is recorded in the history of each of its locks, with the same call and
 * outcome (fenced-mutex-model.ts says how); `release-all` as one release per lock.
 *
 * The 'permits' workload (the same clients with `permits: true`) also takes semaphore permits
 * and readers-writer locks (`acquire-permit`, docs/design.md#semaphores-and-readers-writer-locks):
 * half of its cycles take a permit of a semaphore of 2 or 3 permits (weight 1 or 2) or a read or
 * write grant of a readers-writer lock, waiting or not; while holding, semaphore holders and
 * writers write to the resource's protected counter fenced with `{ lock, kind, token }`, readers
 * sometimes try such a write (it must be `FENCED`), and a client that held the resource before
 * sometimes writes with its old token; then `release-permit` by the acquire's seq. They stall
 * past their TTL as lock holders do. Each resource has its own history (`sem:<name>`,
 * `rw:<name>`), checked with the checker's semaphore and readers-writer lock models; a session
 * holds at most one grant per resource (the models assume it), and one that may still hold a
 * grant when the run ends gets an `end-session` of unknown outcome, as for locks.
 *
 * The 'elections' workload (`elections: true`) makes half of the cycles election cycles instead
 * (election-clients.ts), each election's history checked with the checker's election model.
 */
import {
  check,
  counterModel,
  electionModel,
  rwlockModel,
  semaphoreModel,
  type CounterInput,
  type CounterOutput,
  type ElectionInput,
  type ElectionOutput,
  type Operation,
  type OperationStatus,
  type RwLockInput,
  type RwLockMode,
  type RwLockOutput,
  type SemaphoreInput,
  type SemaphoreOutput,
} from '../../../src/checker/index.js';
import type { AcquireValue, OpenSessionValue, ReleaseAllValue, ReleaseValue } from '../../../src/state-machine/index.js';
import { ELECTION_TTLS, ElectionClients } from './election-clients.js';
import { fencedMutexModel, type FencedMutexInput, type FencedMutexOutput } from './fenced-mutex-model.js';
import type { SimNode } from './sim-node.js';
import { SessionRequests, type ClientState, type Family, type LockWorkloadOp, type Session } from './session-requests.js';
import type { SimWorkload, World } from './world.js';

export type { LockWorkloadOp } from './session-requests.js';

const COUNTERS = ['c0', 'c1', 'c2'];
const LOCKS = ['L0', 'L1', 'L2'];
/** Share of lock cycles that take an all-or-nothing set of locks (`acquire-all`). */
const MULTI_LOCK_P = 0.3;
const TTLS = [1000, 1000, 1500, 2000, 3000];

/** A semaphore or readers-writer lock of the permits workload. */
interface PermitResource {
  readonly kind: 'semaphore' | 'rwlock';
  readonly name: string;
  /** Its history's key (`sem:<name>`, `rw:<name>`), also what `Session.mayHold` holds for it. */
  readonly key: string;
  /** A semaphore's permit count (every acquire of it gives the same). */
  readonly permits: number;
}

const SEMAPHORES: readonly PermitResource[] = [
  { kind: 'semaphore', name: 'S0', key: 'sem:S0', permits: 2 },
  { kind: 'semaphore', name: 'S1', key: 'sem:S1', permits: 3 },
];
const RWLOCKS: readonly PermitResource[] = [
  { kind: 'rwlock', name: 'R0', key: 'rw:R0', permits: 0 },
  { kind: 'rwlock', name: 'R1', key: 'rw:R1', permits: 0 },
];
/** Share of a readers-writer lock's acquires that ask for a read grant. */
const READ_P = 0.6;

/** The history family of a key in `Session.mayHold`: a permit resource's or an election's prefix, else a lock. */
function familyOfHeld(key: string): Family {
  return key.startsWith('sem:') ? 'semaphore' : key.startsWith('rw:') ? 'rwlock' : key.startsWith('el:') ? 'election' : 'lock';
}
/** Search steps allowed per history check (counted, so verdicts never depend on speed). */
const STEP_BUDGET = 20_000_000;
const CHECK_EVERY = 1024;

/** What a locks-workload history says of its `acquire-all` commands (each counted once, not per lock). */
export interface AcquireAllCounts {
  /** Recorded (sent, whatever came of them). */
  readonly sent: number;
  /** Of which could wait (`waitMs` > 0). */
  readonly waiting: number;
  readonly granted: number;
  /** Of the grants, those of commands that could wait. */
  readonly grantedWaiting: number;
  /** Answered not acquired (`not-acquired`, or `timed-out` when it could wait). */
  readonly notAcquired: number;
  readonly unknown: number;
}

/** Counts the `acquire-all` commands of a locks-workload history (`SimResult.history`). */
export function acquireAllCounts(history: readonly object[]): AcquireAllCounts {
  let sent = 0;
  let waiting = 0;
  let granted = 0;
  let grantedWaiting = 0;
  let notAcquired = 0;
  let unknown = 0;
  for (const op of history as readonly LockWorkloadOp[]) {
    const input = op.input;
    if (op.family !== 'lock' || !('op' in input) || input.op !== 'acquire-all' || op.key !== input.names[0]) continue;
    sent++;
    if (input.waits) waiting++;
    if (op.status === 'unknown' || op.status === 'pending') unknown++;
    if (op.status !== 'ok' || typeof op.output !== 'object' || op.output === null) continue;
    if ('acquired' in op.output && op.output.acquired) {
      granted++;
      if (input.waits) grantedWaiting++;
    } else notAcquired++;
  }
  return { sent, waiting, granted, grantedWaiting, notAcquired, unknown };
}

/** What a permits-workload history says of its semaphores and readers-writer locks. */
export interface PermitCounts {
  /** Acquires recorded (sent), per kind. */
  readonly semaphoreAcquires: number;
  readonly rwlockAcquires: number;
  /** Semaphore grants answered at once, and granted from the queue after waiting. */
  readonly semaphoreGrantedAtOnce: number;
  readonly semaphoreGrantedAfterWait: number;
  /** Readers-writer lock grants, by mode (of which after waiting). */
  readonly readGrants: number;
  readonly readGrantsAfterWait: number;
  readonly writeGrants: number;
  readonly writeGrantsAfterWait: number;
  /** Acquires answered not acquired (`not-acquired`, `timed-out`), both kinds. */
  readonly notAcquired: number;
  /** Acquires of unknown outcome, both kinds. */
  readonly unknown: number;
  /** Fenced writes answered applied / FENCED, by who wrote. */
  readonly fencedWrites: Readonly<Record<'holder' | 'reader' | 'stale', { readonly applied: number; readonly fenced: number }>>;
  /** Releases answered released / NOT_HELD. */
  readonly released: number;
  readonly releaseNotHeld: number;
}

/** Counts the semaphore and readers-writer lock operations of a permits-workload history (`SimResult.history`). */
export function permitCounts(history: readonly object[]): PermitCounts {
  const c = {
    semaphoreAcquires: 0,
    rwlockAcquires: 0,
    semaphoreGrantedAtOnce: 0,
    semaphoreGrantedAfterWait: 0,
    readGrants: 0,
    readGrantsAfterWait: 0,
    writeGrants: 0,
    writeGrantsAfterWait: 0,
    notAcquired: 0,
    unknown: 0,
    released: 0,
    releaseNotHeld: 0,
  };
  const fencedWrites = { holder: { applied: 0, fenced: 0 }, reader: { applied: 0, fenced: 0 }, stale: { applied: 0, fenced: 0 } };
  for (const op of history as readonly LockWorkloadOp[]) {
    if (op.family !== 'semaphore' && op.family !== 'rwlock') continue;
    const input = op.input as SemaphoreInput | RwLockInput;
    const output = op.status === 'ok' ? op.output : undefined;
    if (input.op === 'acquire' && input.client === op.client) {
      if (op.family === 'semaphore') c.semaphoreAcquires++;
      else c.rwlockAcquires++;
      if (op.status === 'unknown' || op.status === 'pending') c.unknown++;
      if (typeof output !== 'object' || output === null || !('acquired' in output)) continue;
      if (!output.acquired) {
        c.notAcquired++;
        continue;
      }
      const waited = op.permitAcquire?.handedOff === true;
      if ('weight' in input) {
        if (waited) c.semaphoreGrantedAfterWait++;
        else c.semaphoreGrantedAtOnce++;
      } else if ('mode' in input && input.mode === 'read') {
        c.readGrants++;
        if (waited) c.readGrantsAfterWait++;
      } else {
        c.writeGrants++;
        if (waited) c.writeGrantsAfterWait++;
      }
    } else if (input.op === 'fenced-write' && op.fencedBy !== undefined && op.fencedBy !== 'stalled') {
      if (output === 'applied') fencedWrites[op.fencedBy].applied++;
      else if (output === 'FENCED') fencedWrites[op.fencedBy].fenced++;
    } else if (input.op === 'release') {
      if (output === 'ok') c.released++;
      else if (output === 'NOT_HELD') c.releaseNotHeld++;
    }
  }
  return { ...c, fencedWrites };
}

/** Options of {@link LockClients}. */
export interface LockClientsOptions {
  /** The 'permits' workload: semaphore and readers-writer lock cycles too. */
  readonly permits?: boolean;
  /** The 'elections' workload: election cycles too (election-clients.ts). */
  readonly elections?: boolean;
}

export class LockClients implements SimWorkload {
  private issuing = true;
  private readonly clients: ClientState[] = [];
  private readonly sessions: Session[] = [];
  private readonly permits: boolean;
  private readonly requests: SessionRequests;
  /** The election cycles (the 'elections' workload only). */
  private readonly elections: ElectionClients | undefined;

  constructor(
    private readonly world: World,
    private readonly count: number,
    options: LockClientsOptions = {},
  ) {
    this.permits = options.permits === true;
    this.requests = new SessionRequests(world);
    this.elections = options.elections === true ? new ElectionClients(world, this.requests) : undefined;
  }

  /** Every operation recorded, in call order. */
  get history(): readonly LockWorkloadOp[] {
    return this.requests.history;
  }

  start(): void {
    const w = this.world;
    for (let c = 0; c < this.count; c++) {
      this.clients.push({ id: c, session: undefined, leader: 1 + w.rnd.nextInt(w.nodes.length), seen: new Map(), oldTokens: new Map() });
      this.later(c, 1 + w.rnd.nextFloat() * 30);
    }
  }

  stopIssuing(): void {
    this.issuing = false;
  }

  pending(): number {
    return this.requests.pending();
  }

  private client(c: number): ClientState {
    const s = this.clients[c];
    if (s === undefined) throw new Error(`no client ${c}`);
    return s;
  }

  private later(c: number, ms: number): void {
    const w = this.world;
    w.schedule(w.now + ms, `client ${c}`, () => this.next(c));
  }

  // ---- the client loop --------------------------------------------------------------------------

  private next(c: number): void {
    if (!this.issuing) return;
    const cl = this.client(c);
    const w = this.world;
    const s = cl.session;
    if (s === undefined || s.dead) {
      this.openSession(cl);
      return;
    }
    const r = w.rnd.nextFloat();
    const then = (): void => this.later(c, w.rnd.nextFloat() * 25);
    if (this.permits || this.elections !== undefined) {
      // Half permit (or election) cycles; the rest as the locks workload, in the same proportions.
      if (r < 0.5) {
        if (this.elections !== undefined) this.elections.cycle(cl, s, then);
        else this.permitCycle(cl, s, then);
      } else if (r < 0.7) this.counterWrite(cl, s, then);
      else if (r < 0.8) this.counterRead(cl, then);
      else this.lockCycle(cl, s, then);
      return;
    }
    if (r < 0.4) this.counterWrite(cl, s, then);
    else if (r < 0.6) this.counterRead(cl, then);
    else this.lockCycle(cl, s, then);
  }

  private openSession(cl: ClientState): void {
    const w = this.world;
    const ttls = this.elections !== undefined ? ELECTION_TTLS : TTLS;
    const ttl = ttls[w.rnd.nextInt(ttls.length)] ?? 1000;
    const call = w.now;
    this.requests.send(cl, { command: { type: 'open-session', ttlMs: ttl, clientId: `c${cl.id}` } }, 400, call + 1500, (f) => {
      if (f.type === 'answer' && f.outcome.type === 'ok') {
        const v = f.outcome.value as OpenSessionValue;
        const s: Session = {
          id: v.sessionId,
          key: `s${v.sessionId}`,
          ttl,
          nextSeq: 1,
          done: 0,
          over: 0,
          inFlight: new Set(),
          dead: false,
          aliveSince: call,
          stalledUntil: 0,
          mayHold: new Set(),
        };
        this.sessions.push(s);
        cl.session = s;
        this.keepAlive(cl, s);
      }
      // Retries of an open may leave extra sessions behind: they expire unused.
      this.later(cl.id, 1 + w.rnd.nextFloat() * 20);
    });
  }

  private keepAlive(cl: ClientState, s: Session): void {
    const w = this.world;
    w.schedule(w.now + s.ttl / 4 + w.rnd.nextFloat() * (s.ttl / 8), `keep-alive ${s.id}`, () => {
      if (!this.issuing || s.dead || cl.session !== s) return;
      if (w.now < s.stalledUntil) {
        this.keepAlive(cl, s);
        return;
      }
      const call = w.now;
      const command = { type: 'keep-alive', session: s.id, ...(s.done > 0 ? { ackedSeq: s.done } : {}) };
      this.requests.send(cl, { command }, 300, call + s.ttl / 2, (f) => {
        if (f.type === 'answer') {
          if (f.outcome.type === 'ok') s.aliveSince = Math.max(s.aliveSince, call);
          else if (f.outcome.code === 'SESSION_EXPIRED') s.dead = true;
        }
        this.keepAlive(cl, s);
      });
    });
  }

  private counterWrite(cl: ClientState, s: Session, then: () => void): void {
    const w = this.world;
    const key = COUNTERS[w.rnd.nextInt(COUNTERS.length)] ?? 'c0';
    const r = w.rnd.nextFloat();
    let input: CounterInput;
    let fields: Record<string, unknown>;
    if (r < 0.6) {
      const delta = this.requests.unique() * (w.rnd.nextFloat() < 0.2 ? -1 : 1);
      input = { op: 'add', delta };
      fields = { type: 'counter-add', name: key, delta };
    } else if (r < 0.75) {
      const value = this.requests.unique();
      input = { op: 'set', value };
      fields = { type: 'counter-set', name: key, value };
    } else if (r < 0.95) {
      const expected = cl.seen.get(key) ?? 0;
      const next = this.requests.unique();
      input = { op: 'cas', expected, next };
      fields = { type: 'counter-cas', name: key, expected, next };
    } else {
      input = { op: 'get' };
      fields = { type: 'counter-get', name: key };
    }
    const op = this.requests.record({ family: 'counter', client: `c${cl.id}`, key, input, call: w.now });
    this.requests.write(cl, s, fields, 0, (res) => {
      if (res.kind === 'value') {
        const v = res.value as number | boolean;
        this.requests.resolve(op, 'ok', v);
        if (input.op === 'add' && typeof v === 'number') cl.seen.set(key, v);
        if (input.op === 'get' && typeof v === 'number') cl.seen.set(key, v);
      } else if (res.kind === 'maybe') this.requests.resolve(op, 'unknown');
      else this.requests.resolve(op, 'fail'); // refused (OVERFLOW) or never executed
      then();
    });
  }

  private counterRead(cl: ClientState, then: () => void): void {
    const w = this.world;
    const key = COUNTERS[w.rnd.nextInt(COUNTERS.length)] ?? 'c0';
    const op = this.requests.record({ family: 'counter', client: `c${cl.id}`, key, input: { op: 'get' }, call: w.now });
    this.requests.send(cl, { query: { type: 'counter-get', name: key } }, 300, w.now + 1500, (f) => {
      if (f.type === 'answer' && f.outcome.type === 'ok' && typeof f.outcome.value === 'number') {
        this.requests.resolve(op, 'ok', f.outcome.value);
        cl.seen.set(key, f.outcome.value);
      } else this.requests.resolve(op, 'fail'); // a read that got no answer had no effect
      then();
    });
  }

  private lockCycle(cl: ClientState, s: Session, then: () => void): void {
    const w = this.world;
    if (w.rnd.nextFloat() < MULTI_LOCK_P) {
      this.multiLockCycle(cl, s, then);
      return;
    }
    const lock = LOCKS[w.rnd.nextInt(LOCKS.length)] ?? 'L0';
    if (s.mayHold.has(lock)) {
      then();
      return;
    }
    const waitMs = w.rnd.nextFloat() < 0.5 ? 0 : 50 + w.rnd.nextInt(900);
    const acq = this.requests.record({ family: 'lock', client: s.key, key: lock, input: { op: 'acquire', client: s.key }, call: w.now });
    const firstTerm = this.requests.terms().min;
    this.requests.write(cl, s, { type: 'acquire', name: lock, waitMs }, waitMs, (res) => {
      if (res.kind === 'value') {
        const v = res.value as AcquireValue;
        if (v.status === 'timed-out') this.requests.checkWait(s, lock, waitMs, acq.call, firstTerm);
        if (v.status === 'granted' || v.status === 'held-by-you') {
          this.requests.resolve(acq, 'ok', { acquired: true, token: v.token });
          s.mayHold.add(lock);
          this.holding(cl, s, lock, v.token, then);
          return;
        }
        if (v.status === 'not-acquired' || v.status === 'timed-out') {
          this.requests.resolve(acq, 'ok', { acquired: false });
          then();
          return;
        }
        // 'queued' never reaches a client (the service parks it): treat as unknown.
        this.requests.resolve(acq, 'unknown');
      } else if (res.kind === 'not-applied') {
        this.requests.resolve(acq, 'fail');
        then();
        return;
      } else this.requests.resolve(acq, 'unknown');
      // Unknown: the session may hold the lock, or wait for it; stop using the session.
      s.mayHold.add(lock);
      this.requests.abandon(cl, s);
      then();
    });
  }

  /** Two or three distinct lock names, in name order (the order `acquire-all` takes them in). */
  private lockSet(): string[] {
    const w = this.world;
    const size = LOCKS.length > 2 && w.rnd.nextFloat() < 0.3 ? 3 : 2;
    const pool = [...LOCKS];
    const names: string[] = [];
    while (names.length < size && pool.length > 0) names.push(...pool.splice(w.rnd.nextInt(pool.length), 1));
    return names.sort();
  }

  /**
   * An all-or-nothing cycle: `acquire-all` of a set of locks (waiting or not, like `lockCycle`),
   * recorded as one acquire per lock with the same call and outcome; a command that may wait
   * also records, per lock, the wait it may put in that lock's queue (see
   * fenced-mutex-model.ts). Granted, the client holds every lock of the set with one token.
   */
  private multiLockCycle(cl: ClientState, s: Session, then: () => void): void {
    const w = this.world;
    const names = this.lockSet();
    // The machine refuses an acquire-all naming a lock the session holds or waits for.
    if (names.some((name) => s.mayHold.has(name))) {
      then();
      return;
    }
    const waitMs = w.rnd.nextFloat() < 0.5 ? 0 : 50 + w.rnd.nextInt(900);
    const waits = waitMs > 0;
    const call = w.now;
    const lockOp = (key: string, input: FencedMutexInput): LockWorkloadOp =>
      this.requests.record({ family: 'lock', client: s.key, key, input, call });
    const queued = waits ? names.map((name) => lockOp(name, { op: 'wait-all', client: s.key, names })) : [];
    const acqs = names.map((name) => lockOp(name, { op: 'acquire-all', client: s.key, names, waits }));
    const settle = (status: OperationStatus, output?: FencedMutexOutput): void => {
      for (const op of queued) this.requests.resolve(op, status);
      for (const op of acqs) this.requests.resolve(op, status, output);
    };
    const firstTerm = this.requests.terms().min;
    this.requests.write(cl, s, { type: 'acquire-all', names, waitMs }, waitMs, (res) => {
      if (res.kind === 'value') {
        const v = res.value as AcquireValue;
        if (v.status === 'timed-out') this.requests.checkWait(s, names.join('+'), waitMs, call, firstTerm);
        if (v.status === 'granted') {
          settle('ok', { acquired: true, token: v.token });
          for (const name of names) s.mayHold.add(name);
          this.holdingAll(cl, s, names, v.token, then);
          return;
        }
        if (v.status === 'not-acquired' || v.status === 'timed-out') {
          settle('ok', { acquired: false });
          then();
          return;
        }
        // 'queued' never reaches a client (the service parks it), and 'held-by-you' is no answer
        // of acquire-all: treat as unknown.
        settle('unknown');
      } else if (res.kind === 'not-applied') {
        // Nothing applied it, or its wait ended with its session before the answer (a parked
        // acquire answered SESSION_EXPIRED): not acquired either way, and no wait is left.
        if (waits) settle('ok', { acquired: false });
        else settle('fail');
        then();
        return;
      } else settle('unknown');
      // Unknown: the session may hold the locks, or wait for them; stop using the session.
      for (const name of names) s.mayHold.add(name);
      this.requests.abandon(cl, s);
      then();
    });
  }

  /**
   * Holds every lock of `names` with `token`: fenced writes to the protected counters of one or
   * more of them (and sometimes one with an old token), then `release-all`, or a `release` of
   * each in turn.
   */
  private holdingAll(cl: ClientState, s: Session, names: readonly string[], token: number, then: () => void): void {
    const w = this.world;
    const stall = w.rnd.nextFloat() < 0.12;
    const pause = stall ? s.ttl * (1 + w.rnd.nextFloat()) : w.rnd.nextFloat() * 60;
    if (stall) s.stalledUntil = w.now + pause;
    w.schedule(w.now + pause, `hold ${cl.id}`, () => {
      const steps: Array<(next: () => void) => void> = [];
      let written = names.filter(() => w.rnd.nextFloat() < 0.6);
      if (written.length === 0) written = [names[w.rnd.nextInt(names.length)] ?? names[0] ?? 'L0'];
      for (const name of written) steps.push((next) => this.fencedWrite(cl, s, name, token, next));
      const staleLock = names[w.rnd.nextInt(names.length)] ?? 'L0';
      const old = cl.oldTokens.get(staleLock);
      if (old !== undefined && w.rnd.nextFloat() < 0.3) steps.push((next) => this.fencedWrite(cl, s, staleLock, old, next));
      if (w.rnd.nextFloat() < 0.7) steps.push((next) => this.releaseAll(cl, s, names, token, next));
      else for (const name of names) steps.push((next) => this.release(cl, s, name, token, next));
      this.requests.sequence(steps, then);
    });
  }

  /** Holds `lock` with `token`: fenced writes to its protected counter, then release. */
  private holding(cl: ClientState, s: Session, lock: string, token: number, then: () => void): void {
    const w = this.world;
    // Sometimes the client stalls past its TTL while holding the lock (its lease may end).
    const stall = w.rnd.nextFloat() < 0.12;
    const pause = stall ? s.ttl * (1 + w.rnd.nextFloat()) : w.rnd.nextFloat() * 60;
    if (stall) s.stalledUntil = w.now + pause;
    w.schedule(w.now + pause, `hold ${cl.id}`, () => {
      this.fencedWrite(cl, s, lock, token, () => {
        const old = cl.oldTokens.get(lock);
        if (old !== undefined && w.rnd.nextFloat() < 0.3) {
          this.fencedWrite(cl, s, lock, old, () => this.release(cl, s, lock, token, then));
        } else this.release(cl, s, lock, token, then);
      });
    });
  }

  private fencedWrite(cl: ClientState, s: Session, lock: string, token: number, then: () => void): void {
    this.requests.fencedCounterWrite(cl, s, { family: 'lock', key: lock }, `p:${lock}`, { lock, token }, undefined, then);
  }

  private release(cl: ClientState, s: Session, lock: string, token: number, then: () => void): void {
    const w = this.world;
    if (s.dead) {
      then();
      return;
    }
    const op = this.requests.record({
      family: 'lock',
      client: s.key,
      key: lock,
      input: { op: 'release', client: s.key, token },
      call: w.now,
    });
    this.requests.write(cl, s, { type: 'release', name: lock }, 0, (res) => {
      if (res.kind === 'value') {
        const v = res.value as ReleaseValue;
        // The machine says which grant it released: it must be ours (the model checks ours).
        this.requests.resolve(op, 'ok', v.token === token ? 'ok' : 'NOT_HELD');
        s.mayHold.delete(lock);
        cl.oldTokens.set(lock, token);
      } else if (res.kind === 'refused' && res.code === 'NOT_HELD') {
        this.requests.resolve(op, 'ok', 'NOT_HELD');
        s.mayHold.delete(lock);
        cl.oldTokens.set(lock, token);
      } else if (res.kind === 'maybe') {
        this.requests.resolve(op, 'unknown');
        this.requests.abandon(cl, s);
      } else {
        this.requests.resolve(op, 'fail');
        if (!s.dead) this.requests.abandon(cl, s);
      }
      then();
    });
  }

  /** `release-all` of `names`, held with `token`: one release per lock in the history. */
  private releaseAll(cl: ClientState, s: Session, names: readonly string[], token: number, then: () => void): void {
    const w = this.world;
    if (s.dead) {
      then();
      return;
    }
    const ops = names.map((name) =>
      this.requests.record({ family: 'lock', client: s.key, key: name, input: { op: 'release', client: s.key, token }, call: w.now }),
    );
    const released = (): void => {
      for (const name of names) {
        s.mayHold.delete(name);
        cl.oldTokens.set(name, token);
      }
    };
    this.requests.write(cl, s, { type: 'release-all', names }, 0, (res) => {
      if (res.kind === 'value') {
        // The machine names the locks it released; the others the session did not hold.
        const v = res.value as ReleaseAllValue;
        ops.forEach((op, k) => this.requests.resolve(op, 'ok', v.released.includes(names[k] ?? '') ? 'ok' : 'NOT_HELD'));
        released();
      } else if (res.kind === 'refused' && res.code === 'NOT_HELD') {
        for (const op of ops) this.requests.resolve(op, 'ok', 'NOT_HELD');
        released();
      } else if (res.kind === 'maybe') {
        for (const op of ops) this.requests.resolve(op, 'unknown');
        this.requests.abandon(cl, s);
      } else {
        for (const op of ops) this.requests.resolve(op, 'fail');
        if (!s.dead) this.requests.abandon(cl, s);
      }
      then();
    });
  }

  // ---- semaphores and readers-writer locks (the permits workload) -------------------------------

  /**
   * A permit cycle: `acquire-permit` of a semaphore (weight 1 or 2) or a readers-writer lock
   * (read or write), waiting or not, recorded in the resource's history; granted, the client
   * holds it (see {@link holdingPermit}). An unknown outcome abandons the session, which may
   * then hold the grant or wait for it: an `end-session` of unknown outcome covers both.
   */
  private permitCycle(cl: ClientState, s: Session, then: () => void): void {
    const w = this.world;
    const semaphore = w.rnd.nextFloat() < 0.5;
    const pool = semaphore ? SEMAPHORES : RWLOCKS;
    const r = pool[w.rnd.nextInt(pool.length)] ?? SEMAPHORES[0];
    if (r === undefined) throw new Error('no permit resources');
    const weight = 1 + w.rnd.nextInt(2);
    const mode: RwLockMode = w.rnd.nextFloat() < READ_P ? 'read' : 'write';
    // One grant per session and resource: the models assume it.
    if (s.mayHold.has(r.key)) {
      then();
      return;
    }
    const waitMs = w.rnd.nextFloat() < 0.5 ? 0 : 50 + w.rnd.nextInt(900);
    const input: SemaphoreInput | RwLockInput =
      r.kind === 'semaphore' ? { op: 'acquire', client: s.key, weight, permits: r.permits } : { op: 'acquire', client: s.key, mode };
    const fields =
      r.kind === 'semaphore'
        ? { type: 'acquire-permit', kind: r.kind, name: r.name, permits: r.permits, weight, waitMs }
        : { type: 'acquire-permit', kind: r.kind, name: r.name, mode, waitMs };
    // Named by the acquire's seq, known once the write is stamped (below).
    const ref: { ref: string; readonly waits: boolean } = { ref: '', waits: waitMs > 0 };
    const acq = this.requests.record({ family: r.kind, client: s.key, key: r.key, input, call: w.now, permitAcquire: ref });
    const firstTerm = this.requests.terms().min;
    const seq = this.requests.write(cl, s, fields, waitMs, (res) => {
      if (res.kind === 'value') {
        const v = res.value as AcquireValue;
        if (v.status === 'timed-out') this.requests.checkWait(s, `${r.kind} ${r.name}`, waitMs, acq.call, firstTerm);
        if (v.status === 'granted') {
          this.requests.resolve(acq, 'ok', { acquired: true, token: v.token });
          s.mayHold.add(r.key);
          this.holdingPermit(cl, s, r, r.kind === 'rwlock' ? mode : undefined, seq, v.token, then);
          return;
        }
        if (v.status === 'not-acquired' || v.status === 'timed-out') {
          this.requests.resolve(acq, 'ok', { acquired: false });
          then();
          return;
        }
        // 'queued' never reaches a client (the service parks it); 'held-by-you' and 'cancelled'
        // are no answers of an acquire-permit that was never withdrawn: treat as unknown.
        this.requests.resolve(acq, 'unknown');
      } else if (res.kind === 'not-applied') {
        // Never applied, or its wait ended with its session before any grant: nothing held.
        this.requests.resolve(acq, 'fail');
        then();
        return;
      } else this.requests.resolve(acq, 'unknown');
      s.mayHold.add(r.key);
      this.requests.abandon(cl, s);
      then();
    });
    ref.ref = `${s.id}:${seq}`;
  }

  /**
   * Holds `r` (granted to acquire `seq` with `token`; `mode` for a readers-writer lock),
   * sometimes stalling past the TTL: fenced writes to its protected counter (semaphore holders
   * and writers with their token, readers too sometimes, which must be `FENCED`; sometimes one
   * with a token this client held before), then `release-permit` by the acquire's seq.
   */
  private holdingPermit(
    cl: ClientState,
    s: Session,
    r: PermitResource,
    mode: RwLockMode | undefined,
    seq: number,
    token: number,
    then: () => void,
  ): void {
    const w = this.world;
    const stall = w.rnd.nextFloat() < 0.12;
    const pause = stall ? s.ttl * (1 + w.rnd.nextFloat()) : w.rnd.nextFloat() * 60;
    if (stall) s.stalledUntil = w.now + pause;
    w.schedule(w.now + pause, `hold ${cl.id}`, () => {
      const steps: Array<(next: () => void) => void> = [];
      const write = (t: number, by: 'holder' | 'reader' | 'stale') => (next: () => void) =>
        this.requests.fencedCounterWrite(
          cl,
          s,
          { family: r.kind, key: r.key },
          `p:${r.key}`,
          { lock: r.name, kind: r.kind, token: t },
          by,
          next,
        );
      if (mode !== 'read') {
        steps.push(write(token, 'holder'));
        if (w.rnd.nextFloat() < 0.3) steps.push(write(token, 'holder'));
      } else if (w.rnd.nextFloat() < 0.5) steps.push(write(token, 'reader'));
      const old = cl.oldTokens.get(r.key);
      if (old !== undefined && w.rnd.nextFloat() < 0.3) steps.push(write(old, 'stale'));
      steps.push((next) => this.requests.releasePermit(cl, s, r, seq, token, next));
      this.requests.sequence(steps, then);
    });
  }

  // ---- the end of a run -------------------------------------------------------------------------

  /**
   * After a liveness phase with every operation resolved: lets the replicas converge, then adds
   * a final read of every counter (from the converged state) to the history, so each counter's
   * final value on the replicas must be what the history implies.
   */
  finish(liveness: boolean): string[] {
    const w = this.world;
    // Sessions may end (expire, close) at any time after they were last known alive: every lock
    // they may hold gets an unknown end-session from then on.
    for (const s of this.sessions) {
      for (const lock of s.mayHold) {
        this.requests.history.push({
          family: familyOfHeld(lock),
          client: `end-${s.key}`,
          key: lock,
          input: { op: 'end-session', client: s.key },
          output: undefined,
          call: s.aliveSince,
          ret: Number.POSITIVE_INFINITY,
          status: 'unknown',
        });
      }
    }
    // Which permit grants came from a queue (the replicas' `granted` events, all applied by now).
    for (const op of this.history) {
      if (op.permitAcquire !== undefined) op.permitAcquire.handedOff = this.world.permitHandOffs.has(op.permitAcquire.ref);
    }
    if (!liveness || this.pending() > 0) return [];
    const converged = (): SimNode | undefined => {
      const up = w.nodes.filter((n) => n.up && !n.paused);
      const first = up[0];
      if (first === undefined) return undefined;
      const applied = first.appliedIndex();
      if (applied < this.requests.maxAckedIndex) return undefined;
      for (const n of up) if (n.appliedIndex() !== applied || n.status().commit !== applied) return undefined;
      return first;
    };
    let node = converged();
    for (let k = 0; node === undefined && k < 5000 && w.step(); k++) node = converged();
    if (node === undefined) return [];
    const service = node.service;
    if (service === undefined) return [];
    const keys = new Set<string>();
    for (const op of this.history) if (op.family === 'counter') keys.add(op.key);
    const violations: string[] = [];
    for (const key of [...keys].sort()) {
      const value = service.machine.counterValue(key);
      for (const n of w.nodes) {
        if (!n.up || n.service === undefined) continue;
        const other = n.service.machine.counterValue(key);
        if (n.appliedIndex() === node.appliedIndex() && other !== value)
          violations.push(`counter ${key}: node ${n.id} has ${other}, node ${node.id} has ${value} at the same applied index`);
      }
      this.requests.history.push({
        family: 'counter',
        client: 'final',
        key,
        input: { op: 'get' },
        output: value,
        call: w.now,
        ret: w.now,
        status: 'ok',
      });
    }
    return violations;
  }

  checkHistory(): string[] {
    const out: string[] = [...this.requests.earlyWaits, ...this.requests.wrongAnswers];
    const toOps = <I, O>(family: Family): Array<Operation<I, O>> =>
      this.history.flatMap((op, id) => {
        if (op.family !== family) return [];
        // Still pending at the end: a write may yet take effect; a read had none.
        const pendingRead = op.family === 'counter' && (op.input as CounterInput).op === 'get' && op.client !== 'final';
        const status: OperationStatus = op.status === 'pending' ? (pendingRead ? 'fail' : 'unknown') : op.status;
        return [
          {
            id,
            client: op.client,
            key: op.key,
            input: op.input as I,
            output: status === 'ok' ? (op.output as O) : undefined,
            call: op.call,
            return: status === 'unknown' ? Number.POSITIVE_INFINITY : Number.isFinite(op.ret) ? op.ret : op.call,
            status,
          },
        ];
      });
    const run = <S, I, O>(label: string, model: Parameters<typeof check<S, I, O>>[0], ops: Array<Operation<I, O>>): void => {
      let steps = 0;
      const verdict = check(model, ops, { clock: () => steps++ * CHECK_EVERY, checkEvery: CHECK_EVERY, timeoutMs: STEP_BUDGET });
      if (verdict.result === 'inconclusive')
        out.push(`${label} linearizability check inconclusive (over ${STEP_BUDGET} steps): counts as a failure`);
      else if (verdict.result === 'illegal')
        out.push(`${label} history not linearizable:\n${verdict.anomaly?.explanation ?? '(no explanation)'}`);
    };
    run('counter', counterModel, toOps<CounterInput, CounterOutput>('counter'));
    run('lock', fencedMutexModel, toOps<FencedMutexInput, FencedMutexOutput>('lock'));
    if (this.permits) {
      run('semaphore', semaphoreModel, toOps<SemaphoreInput, SemaphoreOutput>('semaphore'));
      run('readers-writer lock', rwlockModel, toOps<RwLockInput, RwLockOutput>('rwlock'));
    }
    if (this.elections !== undefined) run('election', electionModel, toOps<ElectionInput, ElectionOutput>('election'));
    return out;
  }
}
