/**
 * What the simulated clients of the lock service share, whatever they do with their sessions
 * (lock-clients.ts, election-clients.ts): requests that retry the same (session, seq) through
 * failovers, session writes and the acknowledged seq, the recorded history in the checker's
 * terms, fenced writes to a protected counter, and the check that a `timed-out` wait had its
 * `waitMs`.
 *
 * Every request goes to the node the client believes leads; on `not-leader` / `unavailable` /
 * a dead node / no answer it RETRIES THE SAME (session, seq) elsewhere, following leader hints,
 * until it gets an answer or a time bound passes (then the operation is 'unknown' if any
 * attempt may have been applied, else 'fail').
 */
import type {
  CounterInput,
  CounterOutput,
  ElectionInput,
  ElectionOutput,
  OperationStatus,
  RwLockInput,
  SemaphoreInput,
  SemaphoreOutput,
} from '../../../src/checker/index.js';
import type { ServiceOutcome, ServiceQuery } from '../../../src/service/lock-service.js';
import { validateSessionCommand, type Limits, type ReleaseValue, type SessionCommand } from '../../../src/state-machine/index.js';
import type { FencedMutexInput, FencedMutexOutput } from './fenced-mutex-model.js';
import type { SimNode } from './sim-node.js';
import type { NodeId } from './sim-types.js';
import type { World } from './world.js';

/**
 * The workload's command checked as the server's edge would check a request: the simulated
 * clients build well-formed commands, so a refusal here is a bug of the workload itself.
 */
function sessionCommand(value: unknown, limits: Limits): SessionCommand {
  const valid = validateSessionCommand(value, limits);
  if (!valid.ok) throw new Error(`sim workload built an invalid command: ${valid.message}`);
  return valid.value;
}

type Status = 'pending' | OperationStatus;

/** The history an operation belongs to (each checked with its own model). */
export type Family = 'counter' | 'lock' | 'semaphore' | 'rwlock' | 'election';
type WorkloadInput = CounterInput | FencedMutexInput | SemaphoreInput | RwLockInput | ElectionInput;
/** (A readers-writer lock's answers are a semaphore's.) */
type WorkloadOutput = CounterOutput | FencedMutexOutput | SemaphoreOutput | ElectionOutput;

/** One recorded operation (counter, lock, semaphore, readers-writer lock or election family), in the checker's terms. */
export interface LockWorkloadOp {
  readonly family: Family;
  readonly client: string;
  readonly key: string;
  readonly input: WorkloadInput;
  output: WorkloadOutput;
  readonly call: number;
  ret: number;
  status: Status;
  /**
   * A permit acquire (or a campaign): the `session:seq` that names its grant, whether it could
   * wait, whether it was withdrawn (answered `cancelled`) and (set when the run ends) whether
   * it was granted from the queue rather than at once. For counts.
   */
  readonly permitAcquire?: { readonly ref: string; readonly waits: boolean; withdrawn?: boolean; handedOff?: boolean };
  /**
   * A permit fenced write (or an election's proclaim or fenced write): by the holder with its
   * token, by a reader, with an old token, or by a holder that stalled past its TTL. For counts.
   */
  readonly fencedBy?: 'holder' | 'reader' | 'stale' | 'stalled';
  /** Executed nothing: answered SESSION_EXPIRED, its session had ended. For counts. */
  expired?: boolean;
}

/** A session of a simulated client. */
export interface Session {
  readonly id: number;
  readonly key: string;
  readonly ttl: number;
  nextSeq: number;
  /** Every seq up to this one is over (seen or abandoned): sent as ackedSeq. */
  done: number;
  /** The highest seq that is over, and the seqs sent and not over (a campaign and its withdrawal overlap). */
  over: number;
  readonly inFlight: Set<number>;
  /** No longer used: expired (SESSION_EXPIRED seen) or abandoned after an unknown lock op. */
  dead: boolean;
  /** Call time of the latest request the machine answered for this live session. */
  aliveSince: number;
  /** The client does not renew before this time (a stalled client). */
  stalledUntil: number;
  /** Locks (by name) and semaphores, readers-writer locks and elections (by history key) this session may hold. */
  readonly mayHold: Set<string>;
}

/** A simulated client: its current session and what it remembers. */
export interface ClientState {
  readonly id: number;
  session: Session | undefined;
  leader: NodeId;
  /** Last value this client saw per counter (cas guesses). */
  readonly seen: Map<string, number>;
  /** Tokens this client held and released (for stale-token writes). */
  readonly oldTokens: Map<string, number>;
}

/** How a request ended after its retries. */
type Final =
  | { readonly type: 'answer'; readonly outcome: Extract<ServiceOutcome, { type: 'ok' | 'error' }>; readonly mayHaveApplied: boolean }
  | { readonly type: 'gave-up'; readonly mayHaveApplied: boolean };

/**
 * How a session write ended: `value` / `refused` (a machine answer that executed: NOT_HELD,
 * FENCED...) / `not-applied` or `maybe` (no answer that executed it; 'maybe' if an attempt may
 * have been applied). `expired`: the answer was SESSION_EXPIRED (the session had ended).
 */
export type WriteResult =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'not-applied'; readonly expired?: true }
  | { readonly kind: 'maybe' };

/** A semaphore, readers-writer lock or election: its kind, name and history key. */
export interface PermitTarget {
  readonly kind: 'semaphore' | 'rwlock' | 'election';
  readonly name: string;
  readonly key: string;
}

/**
 * Requests of simulated clients and the history they record, for one run. Contract: every
 * operation recorded is resolved exactly once (`resolve` throws otherwise); `history` keeps
 * the order of recording.
 */
export class SessionRequests {
  readonly history: LockWorkloadOp[] = [];
  /** The highest log index of an acknowledged write (the replicas must reach it before final reads). */
  maxAckedIndex = 0;
  /** Waits that ended early (see {@link SessionRequests.checkWait}). */
  readonly earlyWaits: string[] = [];
  /** Answers the machine got wrong on their face (a release naming another grant's token). */
  readonly wrongAnswers: string[] = [];
  private nextUnique = 1;

  constructor(private readonly world: World) {}

  /** Operations not yet resolved. */
  pending(): number {
    let n = 0;
    for (const op of this.history) if (op.status === 'pending') n++;
    return n;
  }

  /**
   * Sends `request` (a command, or a query when `read`) until answered or `giveUpAt`; each
   * attempt waits at most `attemptMs` for its answer.
   */
  send(
    cl: ClientState,
    request: { readonly command?: unknown; readonly query?: ServiceQuery },
    attemptMs: number,
    giveUpAt: number,
    done: (f: Final) => void,
  ): void {
    const w = this.world;
    let mayHaveApplied = false;
    let attempt = 0;
    let finished = false;
    const retry = (delay: number, hint?: NodeId): void => {
      cl.leader = hint !== undefined && hint !== 0 ? hint : 1 + w.rnd.nextInt(w.nodes.length);
      w.schedule(w.now + delay, `retry ${cl.id}`, go);
    };
    const finish = (f: Final): void => {
      if (finished) return;
      finished = true;
      done(f);
    };
    const go = (): void => {
      if (finished) return;
      if (w.now >= giveUpAt) {
        finish({ type: 'gave-up', mayHaveApplied });
        return;
      }
      const mine = ++attempt;
      const target: SimNode = w.node(cl.leader);
      if (!target.up) {
        retry(2 + w.rnd.nextFloat() * 10); // connection refused: nothing was sent
        return;
      }
      let delivered = false;
      let over = false;
      const current = (): boolean => !finished && !over && mine === attempt;
      const answer = (o: ServiceOutcome): void => {
        if (!current()) return;
        over = true;
        if (o.type === 'ok' || o.type === 'error') finish({ type: 'answer', outcome: o, mayHaveApplied });
        else if (o.type === 'not-leader') retry(1 + w.rnd.nextFloat() * 8, o.leader);
        else {
          if (o.outcomeUnknown) mayHaveApplied = true;
          retry(3 + w.rnd.nextFloat() * 25);
        }
      };
      w.scheduleOn(target, w.now + 0.5, `request ${cl.id}>${target.id}`, () => {
        delivered = true;
        const service = target.service;
        if (service === undefined) throw new Error('locks workload on a node without a lock service');
        if (request.query !== undefined) service.query(request.query, {}, answer);
        else service.submit(sessionCommand(request.command, service.machine.limits), answer);
      });
      target.onCrash.push(() => {
        // Answers the host held came first (stop()); a request that never arrived did nothing.
        if (!current()) return;
        over = true;
        if (delivered) mayHaveApplied = true;
        retry(2 + w.rnd.nextFloat() * 10);
      });
      w.schedule(w.now + attemptMs, `timeout ${cl.id}`, () => {
        if (!current()) return;
        over = true;
        // It may still be applied (a paused node runs it on resume): assume it may.
        if (request.command !== undefined) mayHaveApplied = true;
        retry(1);
      });
    };
    go();
  }

  /** Records an operation as called now, pending. */
  record(op: Omit<LockWorkloadOp, 'ret' | 'status' | 'output'>): LockWorkloadOp {
    const full: LockWorkloadOp = { ...op, output: undefined, ret: Number.POSITIVE_INFINITY, status: 'pending' };
    this.history.push(full);
    return full;
  }

  /** Resolves a pending operation, returning now (unknown: never). */
  resolve(op: LockWorkloadOp, status: OperationStatus, output?: WorkloadOutput): void {
    if (op.status !== 'pending') throw new Error('operation resolved twice');
    op.status = status;
    op.ret = status === 'unknown' ? Number.POSITIVE_INFINITY : this.world.now;
    if (status === 'ok') op.output = output;
  }

  /** A session write: stamps (session, seq, ackedSeq), sends with retries and sorts the answer ({@link WriteResult}); returns its seq. */
  write(cl: ClientState, s: Session, fields: Record<string, unknown>, waitMs: number, done: (r: WriteResult) => void): number {
    const w = this.world;
    const seq = s.nextSeq++;
    s.inFlight.add(seq);
    const command = { ...fields, session: s.id, seq, ...(s.done > 0 ? { ackedSeq: s.done } : {}) };
    const call = w.now;
    this.send(cl, { command }, waitMs + 300 + w.rnd.nextFloat() * 200, call + waitMs + 1500, (f) => {
      this.over(s, seq);
      if (f.type === 'gave-up') {
        done({ kind: f.mayHaveApplied ? 'maybe' : 'not-applied' });
        return;
      }
      const o = f.outcome;
      if (o.type === 'ok') {
        this.maxAckedIndex = Math.max(this.maxAckedIndex, o.index);
        s.aliveSince = Math.max(s.aliveSince, call);
        done({ kind: 'value', value: o.value });
        return;
      }
      // Refusals about the session or the request itself executed nothing (this time).
      if (o.code === 'SESSION_EXPIRED' || o.code === 'STALE_SEQUENCE' || o.code === 'LIMIT_EXCEEDED' || o.code === 'INVALID_ARGUMENT') {
        if (o.code === 'SESSION_EXPIRED') s.dead = true;
        else s.aliveSince = Math.max(s.aliveSince, call);
        // An earlier attempt may have been applied (its result died with the session).
        done(f.mayHaveApplied ? { kind: 'maybe' } : { kind: 'not-applied', ...(o.code === 'SESSION_EXPIRED' ? { expired: true } : {}) });
        return;
      }
      s.aliveSince = Math.max(s.aliveSince, call);
      done({ kind: 'refused', code: o.code });
    });
    return seq;
  }

  /**
   * Marks `seq` over. `done` (the acknowledged seq) then covers every seq up to the lowest one
   * still in flight, never that one: acknowledging it would let the machine drop its result,
   * and its retries would be refused as stale.
   */
  private over(s: Session, seq: number): void {
    s.inFlight.delete(seq);
    s.over = Math.max(s.over, seq);
    let lowest = Number.POSITIVE_INFINITY;
    for (const q of s.inFlight) lowest = Math.min(lowest, q);
    s.done = Math.max(s.done, Math.min(s.over, lowest - 1));
  }

  /** Ends the use of a session whose lock state is uncertain: the client starts a new one. */
  abandon(cl: ClientState, s: Session): void {
    s.dead = true;
    if (cl.session === s) cl.session = undefined;
  }

  /** Runs `steps` one after the other, then `then`. */
  sequence(steps: ReadonlyArray<(next: () => void) => void>, then: () => void): void {
    const run = (k: number): void => {
      const step = steps[k];
      if (step === undefined) then();
      else step(() => run(k + 1));
    };
    run(0);
  }

  /**
   * An add to `counter` carrying `fence` (with `fence.token`), recorded in the counter's history
   * and, as a `fenced-write`, in the history `target` of the lock, resource or election it names.
   */
  fencedCounterWrite(
    cl: ClientState,
    s: Session,
    target: { readonly family: 'lock' | 'semaphore' | 'rwlock' | 'election'; readonly key: string },
    counter: string,
    fence: { readonly lock: string; readonly token: number; readonly kind?: 'semaphore' | 'rwlock' | 'election' },
    fencedBy: LockWorkloadOp['fencedBy'],
    then: () => void,
  ): void {
    const w = this.world;
    if (s.dead) {
      then();
      return;
    }
    const key = counter;
    const token = fence.token;
    const delta = this.unique();
    const cop = this.record({ family: 'counter', client: `c${cl.id}`, key, input: { op: 'add', delta }, call: w.now });
    const lop = this.record({
      family: target.family,
      client: s.key,
      key: target.key,
      input: { op: 'fenced-write', client: s.key, token },
      call: w.now,
      ...(fencedBy !== undefined ? { fencedBy } : {}),
    });
    this.write(cl, s, { type: 'counter-add', name: key, delta, fence }, 0, (res) => {
      if (res.kind === 'value') {
        this.resolve(cop, 'ok', res.value as number);
        this.resolve(lop, 'ok', 'applied');
      } else if (res.kind === 'refused' && res.code === 'FENCED') {
        this.resolve(cop, 'fail');
        this.resolve(lop, 'ok', 'FENCED');
      } else if (res.kind === 'maybe') {
        this.resolve(cop, 'unknown');
        this.resolve(lop, 'unknown');
      } else {
        this.resolve(cop, 'fail');
        this.resolve(lop, 'fail');
        if (res.kind === 'not-applied' && res.expired === true) lop.expired = true;
      }
      then();
    });
  }

  /** A number never handed out before in this run (counter deltas and values, election values). */
  unique(): number {
    return this.nextUnique++;
  }

  /** Lowest and highest term on the nodes' disks (crashed nodes included). */
  terms(): { min: number; max: number } {
    const terms = this.world.nodes.map((n) => n.durable().hardState.term);
    return { min: Math.min(...terms), max: Math.max(...terms) };
  }

  /**
   * A `timed-out` answer must not come before the wait had its `waitMs`, in virtual time
   * (docs/design.md#time-in-the-state-machine). Within a term, log time runs no faster than
   * the leader's clock, and node clocks here differ only by a constant offset; the jump of log
   * time at the first stamped entry of each of the wait's first `maxGraceExtensions` leader
   * changes is not charged to it. So the wait lasts at least `waitMs` of virtual time from its
   * entry's stamp (after the call), less a millisecond per term for clocks read in whole
   * milliseconds. Checked only when at most `maxGraceExtensions` terms can have begun since
   * the call (terms on disk: the acquire's term is at least the lowest one then).
   */
  checkWait(s: Session, lock: string, waitMs: number, call: number, firstTerm: number): void {
    const w = this.world;
    const maxGrace = w.nodes[0]?.service?.machine.limits.maxGraceExtensions ?? 0;
    const terms = this.terms().max - firstTerm;
    if (terms > maxGrace) return;
    const waited = w.now - call;
    if (waited < waitMs - (terms + 1)) {
      this.earlyWaits.push(
        `wait ended early: session ${s.id} waited for ${lock} ${waited.toFixed(1)} ms of its ${waitMs} ms (called at t=${call.toFixed(1)}, ${terms} term(s) since)`,
      );
    }
  }

  /**
   * `release-permit` of the grant of acquire `seq` (token `token`) of a semaphore, a
   * readers-writer lock or an election, recorded in its history as a `release` (an election's:
   * a `resign`). Answered, the session holds it no more, and the client remembers the token.
   */
  releasePermit(cl: ClientState, s: Session, r: PermitTarget, seq: number, token: number, then: () => void): void {
    const w = this.world;
    if (s.dead) {
      then();
      return;
    }
    const input =
      r.kind === 'election' ? { op: 'resign' as const, client: s.key, token } : { op: 'release' as const, client: s.key, token };
    const op = this.record({ family: r.kind, client: s.key, key: r.key, input, call: w.now });
    const gone = (): void => {
      s.mayHold.delete(r.key);
      cl.oldTokens.set(r.key, token);
    };
    this.write(cl, s, { type: 'release-permit', kind: r.kind, name: r.name, acquireSeq: seq }, 0, (res) => {
      if (res.kind === 'value') {
        const v = res.value as ReleaseValue;
        // The grant of acquire `seq` is the one answered with `token`: the machine must say so.
        if (v.token !== token)
          this.wrongAnswers.push(
            `${r.kind} ${r.name}: release-permit of session ${s.id}'s acquire ${seq} (granted with token ${token}) answered released token ${v.token}`,
          );
        this.resolve(op, 'ok', v.token === token ? 'ok' : 'NOT_HELD');
        gone();
      } else if (res.kind === 'refused' && res.code === 'NOT_HELD') {
        this.resolve(op, 'ok', 'NOT_HELD');
        gone();
      } else if (res.kind === 'maybe') {
        this.resolve(op, 'unknown');
        this.abandon(cl, s);
      } else {
        this.resolve(op, 'fail');
        if (!s.dead) this.abandon(cl, s);
      }
      then();
    });
  }
}
