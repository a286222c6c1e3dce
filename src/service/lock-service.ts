/**
 * The lock and counter service of one node, independent of any wire protocol: it stamps and
 * proposes commands, maps outcomes to typed answers, parks queued acquires until the machine
 * grants or times them out, serves linearizable (ReadIndex) and stale reads, and performs the
 * leader's duties (proposing session expiry and deadline ticks). The `/client` endpoint and the
 * simulator both drive nodes through it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock, ProposeOutcome, RaftHost } from '../host/index.js';
import type {
  BindValue,
  CounterListEntry,
  ElectionInfoValue,
  ListArgs,
  ListPage,
  LockInfo,
  LockListEntry,
  MachineErrorCode,
  PermitKind,
  PermitListEntry,
  RwLockInfo,
  SemaphoreInfo,
} from '../protocol/index.js';
import { NONE, type ApplyContext, type NodeId, type StateMachine } from '../raft/index.js';
import {
  decodeEntry,
  encodeEntry,
  nextStamp,
  type ApplyOutput,
  type Command,
  type CommandValue,
  type LockMachine,
  type MachineEvent,
  type SessionCommand,
} from '../state-machine/index.js';
import { deriveWatchEvents, watchProbe, type WatchProbe } from './watch-events.js';
import { WatchLog, type WatchLogOptions } from './watch-log.js';

/** The answer to a command or query. Exactly one per request. */
export type ServiceOutcome =
  /**
   * Applied (writes) or read; `index` is the log index of the entry, or for a read the index the
   * node had applied when it read (at or past the read point): the state answered is exactly the
   * state at that index, so a watch from `index + 1` continues it with nothing missed.
   */
  | { readonly type: 'ok'; readonly value: ServiceValue; readonly index: number }
  /**
   * The machine refused it (applied as a no-op, or rejected before entering the log), or
   * (`AUTH`) the request could not prove the session it names.
   */
  | { readonly type: 'error'; readonly code: MachineErrorCode | 'AUTH'; readonly message: string }
  /** Definitely not applied here: ask `leader` (NONE if unknown). */
  | { readonly type: 'not-leader'; readonly leader: NodeId }
  /**
   * No answer: `outcomeUnknown` says whether a write may still take effect (retry it with the
   * same session and seq, which is safe: the machine deduplicates).
   */
  | { readonly type: 'unavailable'; readonly outcomeUnknown: boolean; readonly reason: string };

/** What a successful outcome carries: a command's result, or a read's or a binding's answer. */
export type ServiceValue =
  | CommandValue
  | LockInfo
  | SemaphoreInfo
  | RwLockInfo
  | ElectionInfoValue
  | BindValue
  | ListPage<LockListEntry>
  | ListPage<CounterListEntry>
  | ListPage<PermitListEntry>;

/** Reads answered from the machine. */
export type ServiceQuery =
  | { readonly type: 'counter-get'; readonly name: string }
  | { readonly type: 'lock-info' | 'semaphore-info' | 'rwlock-info' | 'election-info'; readonly name: string }
  | ({ readonly type: 'list-locks' | 'list-counters' } & ListArgs)
  | ({ readonly type: 'list-permits'; readonly kind: PermitKind } & ListArgs);

export interface LockServiceOptions {
  readonly machine: LockMachine;
  /** The leader's clock, for stamping entries and noticing expiry. */
  readonly clock: Clock;
  /** Most sessions listed in one expiry proposal. */
  readonly expiryBatch?: number;
  /**
   * Draws a new session's secret (32 lowercase hex digits). Default: 128 bits from the
   * operating system's CSPRNG. The simulator passes a seeded one, to stay reproducible.
   */
  readonly newSecret?: () => string;
  /** Where the durations the service measures go (the node's metrics); default nowhere. */
  readonly timings?: ServiceTimings;
  /** Bounds of the watch history (docs/design.md#watches), and its negative control. */
  readonly watches?: Omit<WatchLogOptions, 'firstIndex'>;
}

/**
 * How a queued acquire's wait can end: granted, timed out, withdrawn by its session
 * (`cancel-wait`), or ended with its session (closed or expired). The `outcome` label of the
 * wait-time metric.
 */
export const WAIT_OUTCOMES = ['granted', 'timed_out', 'cancelled', 'session_ended'] as const;

/** One of {@link WAIT_OUTCOMES}. */
export type WaitOutcome = (typeof WAIT_OUTCOMES)[number];

/**
 * Durations the service measures, for a metrics registry it does not know (the server layer's).
 * Lock times are log time (the leader's stamps, docs/design.md#time-in-the-state-machine), so
 * every replica measures the same; the proposal time is this node's clock.
 */
export interface ServiceTimings {
  /**
   * A queued acquire's wait ended: log time from the entry that queued it to the grant, the
   * timeout, its withdrawal, or the end of its session. Not called for waits restored from a
   * snapshot (their start is not in it).
   */
  lockWait(seconds: number, outcome: WaitOutcome): void;
  /** A lock was released (release, close or expiry): log time from its grant. */
  lockHeld(seconds: number): void;
  /** A proposal of this node was applied here: this node's clock from propose to apply. */
  proposalApplied(seconds: number): void;
}

interface ParkedAcquire {
  readonly done: (o: ServiceOutcome) => void;
}

export class LockService {
  readonly machine: LockMachine;
  private host: RaftHost<ApplyOutput> | undefined;
  private readonly clock: Clock;
  private lastStamp = 0;
  /** Queued acquires answered by a later event, by `${session}:${seq}`. */
  private readonly parked = new Map<string, ParkedAcquire>();
  private expiryInFlight = false;
  private tickInFlight = false;
  private readonly expiryBatch: number;
  private readonly newSecret: () => string;
  private readonly timings: ServiceTimings | undefined;
  /** Counts of the machine's locks, waits and events, kept from what it applies (for metrics). */
  readonly stats: ServiceStats;
  /** The watch events of what this node applies, and the watches following them (docs/design.md#watches). */
  readonly watches: WatchLog;

  constructor(opts: LockServiceOptions) {
    this.machine = opts.machine;
    this.clock = opts.clock;
    this.timings = opts.timings;
    this.stats = new ServiceStats(opts.machine, opts.timings);
    this.watches = new WatchLog({ ...opts.watches, firstIndex: opts.machine.appliedIndex + 1 });
    this.expiryBatch = opts.expiryBatch ?? 100;
    this.newSecret = opts.newSecret ?? (() => randomBytes(16).toString('hex'));
  }

  /**
   * The state machine to give the host: the lock machine, observed so that events of every
   * applied entry reach the parked requests.
   */
  stateMachine(): StateMachine<ApplyOutput> {
    const machine = this.machine;
    return {
      apply: (entry, context: ApplyContext) => {
        const cmd = entry.type === 'normal' ? commandOf(entry.data, machine) : undefined;
        const before = watchProbe(cmd, machine);
        const out = machine.apply(entry, context);
        this.stats.applied(entry.data, context.index, out);
        for (const ev of out.events) this.onEvent(ev);
        this.appendWatchEvents(context.index, cmd, out, before);
        return out;
      },
      snapshot: () => machine.snapshot(),
      restore: (data) => {
        machine.restore(data);
        this.stats.recount();
        this.watches.reset(machine.appliedIndex);
      },
    };
  }

  /** The watch events of an applied entry go to the watch log (docs/design.md#watches). */
  private appendWatchEvents(index: number, cmd: Command | undefined, out: ApplyOutput, before: WatchProbe): void {
    let events: ReturnType<typeof deriveWatchEvents>;
    try {
      events = deriveWatchEvents(index, cmd, out, this.machine, before);
    } catch {
      // A bug of the derivation must not stop the node, nor leave a silent gap: the watches
      // are ended with COMPACTED and the history starts again after this entry.
      this.watches.reset(index);
      return;
    }
    this.watches.append(index, events);
  }

  attach(host: RaftHost<ApplyOutput>): void {
    this.host = host;
  }

  private requireHost(): RaftHost<ApplyOutput> {
    if (this.host === undefined) throw new Error('LockService used before attach(host)');
    return this.host;
  }

  /**
   * Stamps and proposes a session's `cmd`, already validated at the edge (src/protocol): the
   * type admits no leader command, so a client cannot forge the leader's judgement of time.
   * Refusals that depend on the state (the limits, `LockMachine.limitRefusal`) are answered
   * here and never enter the log. `owner` is the name of the client token that asked, when the
   * cluster has tokens: it goes into an open-session entry, and sessions are bounded per owner.
   * A queued acquire is answered when granted, timed out or withdrawn (`cancel-wait`).
   */
  submit(cmd: SessionCommand, done: (o: ServiceOutcome) => void, owner?: string): void {
    // Beyond a limit in the state as this node has applied it: refused before the log. The
    // machine checks again when the entry is applied, which decides.
    const refused = this.machine.limitRefusal(cmd, owner);
    // Only the leader answers for the cluster; a follower's answer is NOT_LEADER, from propose.
    if (refused !== undefined && !refused.ok && this.host?.status(false).role === 'leader') {
      done({ type: 'error', code: refused.code, message: refused.message });
      return;
    }
    // The secret travels in the entry, so every replica stores the same one.
    // The owner (the client token's name, from the endpoint) bounds sessions per token.
    const entry: Command =
      cmd.type === 'open-session' ? { ...cmd, secret: this.newSecret(), ...(owner !== undefined ? { owner } : {}) } : cmd;
    this.propose(entry, (o) => {
      if (o.type === 'ok' && 'seq' in cmd && isWaitingAcquire(cmd.type) && isQueued(o.value)) {
        // The wait lives in the replicated state; this node answers when it ends.
        const key = `${cmd.session}:${cmd.seq}`;
        this.parked.get(key)?.done({ type: 'unavailable', outcomeUnknown: true, reason: 'superseded by a retry' });
        this.parked.set(key, { done });
        return;
      }
      done(o);
    });
  }

  private propose(cmd: Command, done: (o: ServiceOutcome) => void): void {
    const stamp = nextStamp(this.clock.now(), Math.max(this.machine.lastTime, this.lastStamp));
    this.lastStamp = stamp;
    const started = this.clock.now();
    this.requireHost().propose(encodeEntry(stamp, cmd), (o) => {
      if (o.type === 'applied') this.timings?.proposalApplied((this.clock.now() - started) / 1000);
      done(mapOutcome(o));
    });
  }

  /**
   * Answers a read. Linearizable by default (ReadIndex: confirmed by a quorum, answered once
   * this node has applied up to the read point, so followers serve too); `stale` reads this
   * node's state as it is.
   */
  query(q: ServiceQuery, opts: { readonly stale?: boolean }, done: (o: ServiceOutcome) => void): void {
    // The applied index, not the read point: the node may have applied past the point by now,
    // and the state read is the state at the applied index.
    const answer = (): void => {
      done({ type: 'ok', value: this.read(q), index: this.machine.appliedIndex });
    };
    if (opts.stale === true) {
      answer();
      return;
    }
    this.requireHost().read((o) => {
      if (o.type === 'ready') answer();
      else if (o.code === 'NO_LEADER') done({ type: 'not-leader', leader: NONE });
      else done({ type: 'unavailable', outcomeUnknown: false, reason: o.code });
    });
  }

  private read(q: ServiceQuery): ServiceValue {
    switch (q.type) {
      case 'counter-get':
        return this.machine.counterValue(q.name);
      case 'lock-info':
        return this.machine.lockInfo(q.name);
      case 'semaphore-info':
        return this.machine.semaphoreInfo(q.name);
      case 'rwlock-info':
        return this.machine.rwlockInfo(q.name);
      case 'election-info':
        return this.machine.electionInfo(q.name);
      case 'list-locks':
        return this.machine.listLocks(q);
      case 'list-counters':
        return this.machine.listCounters(q);
      case 'list-permits':
        return this.machine.listPermits(q.kind, q);
    }
  }

  /**
   * Checks that `secret` is live session `session`'s, for a connection that wants to act for
   * it (`bind`). Only the leader answers (`not-leader` elsewhere), as for the writes a binding
   * is for. Linearizable like a read: the check runs once this node has applied up to a
   * quorum-confirmed read point, so a session opened under an earlier leader is known here.
   * The secrets are compared in constant time. Answers `ok` with the session's deadline,
   * `SESSION_EXPIRED` if it is not alive, `AUTH` if the secret is wrong.
   */
  proveSession(session: number, secret: string, done: (o: ServiceOutcome) => void): void {
    const host = this.requireHost();
    const st = host.status(false);
    if (st.role !== 'leader') {
      done({ type: 'not-leader', leader: st.leader });
      return;
    }
    host.read((o) => {
      if (o.type !== 'ready') {
        if (o.code === 'NO_LEADER') done({ type: 'not-leader', leader: NONE });
        else done({ type: 'unavailable', outcomeUnknown: false, reason: o.code });
        return;
      }
      const known = this.machine.sessionSecret(session);
      const expiresAt = this.machine.sessionDeadline(session);
      if (known === undefined || expiresAt === undefined) {
        done({ type: 'error', code: 'SESSION_EXPIRED', message: `session ${session} does not exist or has expired` });
        return;
      }
      // Both are 32 hex digits (checked at the edge and in the entry): equal lengths, so the
      // comparison leaks nothing about where they differ.
      if (!timingSafeEqual(Buffer.from(known, 'latin1'), Buffer.from(secret, 'latin1'))) {
        done({ type: 'error', code: 'AUTH', message: `wrong secret for session ${session}` });
        return;
      }
      done({ type: 'ok', value: { sessionId: session, expiresAt }, index: o.index });
    });
  }

  /**
   * The leader's duties, called after every host tick: propose the expiry of sessions whose
   * deadline passed by this leader's clock (applying re-checks by log time), and a tick entry
   * when a waiter's or session's deadline is due, so deadlines fire without client traffic.
   */
  tick(): void {
    const host = this.requireHost();
    if (host.isStopped() || host.status(false).role !== 'leader') return;
    const now = this.clock.now();
    if (!this.expiryInFlight) {
      const expired = this.machine.expiredSessions(now, this.expiryBatch);
      if (expired.length > 0) {
        this.expiryInFlight = true;
        this.propose({ type: 'expire-sessions', sessions: expired }, () => (this.expiryInFlight = false));
      }
    }
    const due = this.machine.nextDeadline();
    if (!this.tickInFlight && due !== undefined && due <= now) {
      this.tickInFlight = true;
      this.propose({ type: 'tick' }, () => (this.tickInFlight = false));
    }
  }

  /** Parked acquires waiting on this node (for tests and metrics). */
  get parkedCount(): number {
    return this.parked.size;
  }

  /**
   * Answers every parked acquire with `unavailable` (outcome unknown), when this node stops.
   * Leadership changes need no such step: every replica applies the same grant and timeout
   * events, so a parked acquire is answered wherever it waits. Clients retry the same
   * (session, seq) elsewhere and find their place in the queue, or their grant.
   */
  releaseParked(reason: string): void {
    const all = [...this.parked.values()];
    this.parked.clear();
    for (const p of all) p.done({ type: 'unavailable', outcomeUnknown: true, reason });
  }

  private onEvent(ev: MachineEvent): void {
    if (ev.type === 'session-closed' || ev.type === 'session-expired') {
      // The machine drops an ended session's waits without per-wait events: answer them here,
      // or their requests would hang.
      const prefix = `${ev.session}:`;
      for (const [key, p] of this.parked) {
        if (!key.startsWith(prefix)) continue;
        this.parked.delete(key);
        p.done({
          type: 'error',
          code: 'SESSION_EXPIRED',
          message: `session ${ev.session} ${ev.type === 'session-closed' ? 'was closed' : 'expired'} while waiting`,
        });
      }
      return;
    }
    if (ev.type === 'lock-released' || ev.type === 'lock-broken') return;
    const key = `${ev.session}:${ev.seq}`;
    const p = this.parked.get(key);
    if (p === undefined) return;
    this.parked.delete(key);
    if (ev.type === 'granted') {
      p.done({
        type: 'ok',
        value: { status: 'granted', token: ev.token, acquiredAt: ev.acquiredAt, expiresAt: ev.expiresAt },
        index: ev.token,
      });
    } else {
      // Timed out, or withdrawn by its session: answered at once, whichever node it waits on.
      const status = ev.type === 'wait-timeout' ? 'timed-out' : 'cancelled';
      p.done({ type: 'ok', value: { status }, index: this.machine.appliedIndex });
    }
  }
}

/**
 * What the metrics need beyond the machine's own O(1) counts: grants and expiries (events), and
 * when each held lock was granted and each wait queued, to time holds and waits. Kept from every
 * applied entry's result and events (so every replica counts the same), and rebuilt from the
 * machine after a snapshot is restored; reading is O(1), so a metrics scrape never walks the
 * state.
 */
export class ServiceStats {
  private grantCount = 0;
  private expiredCount = 0;
  /**
   * Held locks by fencing token: when granted (log time) and how many (one entry can hand off
   * several locks, all with its index as token). Keyed by token because a grant to a free lock
   * reports its token but not its name.
   */
  private readonly heldByToken = new Map<number, { readonly acquiredAt: number; count: number }>();
  /** Queued acquires since the last restore, by session then seq: when queued (log time). */
  private readonly waits = new Map<number, Map<number, number>>();

  constructor(
    private readonly machine: LockMachine,
    private readonly timings: ServiceTimings | undefined,
  ) {}

  /** Locks granted since this process started: to a free lock, or handed to a waiter. */
  get grants(): number {
    return this.grantCount;
  }

  /** Sessions ended by expiry (not by close) since this process started. */
  get sessionsExpired(): number {
    return this.expiredCount;
  }

  /** Locks held now. */
  get locksHeld(): number {
    return this.machine.locksHeld;
  }

  /** Queued acquires now (every lock's waiters). */
  get waiters(): number {
    return this.machine.waiterCount;
  }

  /** Counts one applied entry (`data` and `index`) by its output; the machine has applied it. */
  applied(data: Uint8Array, index: number, out: ApplyOutput): void {
    const now = this.machine.lastTime;
    const r = out.result;
    if (r.ok && r.value !== null && typeof r.value === 'object' && 'status' in r.value) {
      const v = r.value;
      // A retried acquire answers its stored result again: only a token equal to this entry's
      // index is a grant made now.
      if (v.status === 'granted' && v.token === index) this.grant(v.token, v.acquiredAt);
      if (v.status === 'queued' && this.timings !== undefined) {
        // Only an acquire queues; which session and seq is in the entry, not in the result.
        // Decoded for queued acquires alone, and only to time waits, so most entries (and a
        // service without timings) pay nothing extra.
        const d = decodeEntry(data, this.machine.limits);
        const c = d.ok ? d.value.cmd : undefined;
        if (c !== undefined && 'seq' in c && isWaitingAcquire(c.type)) this.queue(c.session, c.seq, now);
      }
    }
    for (const ev of out.events) {
      switch (ev.type) {
        case 'granted':
          this.endWait(ev.session, ev.seq, ev.acquiredAt, 'granted');
          this.grant(ev.token, ev.acquiredAt);
          break;
        case 'wait-timeout':
          this.endWait(ev.session, ev.seq, now, 'timed_out');
          break;
        case 'wait-cancelled':
          this.endWait(ev.session, ev.seq, now, 'cancelled');
          break;
        case 'session-expired':
        case 'session-closed': {
          if (ev.type === 'session-expired') this.expiredCount++;
          // The machine drops an ended session's waits without an event for each.
          for (const seq of [...(this.waits.get(ev.session)?.keys() ?? [])]) this.endWait(ev.session, seq, now, 'session_ended');
          break;
        }
        case 'lock-released': {
          const g = this.heldByToken.get(ev.token);
          if (g === undefined) break;
          if (--g.count === 0) this.heldByToken.delete(ev.token);
          this.timings?.lockHeld(Math.max(0, now - g.acquiredAt) / 1000);
          break;
        }
      }
    }
  }

  /**
   * Rebuilds the grant times from the machine after a snapshot replaced its state. Walks every
   * session and held lock once: snapshots are rare and restoring one costs as much anyway.
   * Restored waits are not tracked: their start is not in the snapshot, so they are not timed.
   */
  recount(): void {
    this.heldByToken.clear();
    this.waits.clear();
    // Every live session: the ones whose deadline is at or before the end of time.
    for (const id of this.machine.expiredSessions(Number.POSITIVE_INFINITY)) {
      const info = this.machine.sessionInfo(id);
      if (info === undefined) continue;
      for (const name of info.locks) {
        const h = this.machine.lockInfo(name).holder;
        // Held, not granted now: the grant counter counts events, and this one is in the past.
        if (h !== undefined) this.hold(h.fencingToken, h.acquiredAt);
      }
    }
  }

  private grant(token: number, acquiredAt: number): void {
    this.grantCount++;
    this.hold(token, acquiredAt);
  }

  private hold(token: number, acquiredAt: number): void {
    const g = this.heldByToken.get(token);
    if (g === undefined) this.heldByToken.set(token, { acquiredAt, count: 1 });
    else g.count++;
  }

  private queue(session: number, seq: number, at: number): void {
    let m = this.waits.get(session);
    if (m === undefined) {
      m = new Map<number, number>();
      this.waits.set(session, m);
    }
    // A retry of a still-queued acquire answers `queued` again: the same wait, not a new one.
    if (m.has(seq)) return;
    m.set(seq, at);
  }

  private endWait(session: number, seq: number, at: number, outcome: WaitOutcome): void {
    const m = this.waits.get(session);
    if (m === undefined || !m.has(seq)) return;
    const since = m.get(seq) ?? at;
    m.delete(seq);
    if (m.size === 0) this.waits.delete(session);
    this.timings?.lockWait(Math.max(0, at - since) / 1000, outcome);
  }
}

/** The command of a `normal` entry's data, if it decodes (the machine refuses it otherwise). */
function commandOf(data: Uint8Array, machine: LockMachine): Command | undefined {
  const d = decodeEntry(data, machine.limits);
  return d.ok ? d.value.cmd : undefined;
}

/** The commands that may wait in a queue (their requests are parked until the wait ends). */
function isWaitingAcquire(type: string): boolean {
  return type === 'acquire' || type === 'acquire-all' || type === 'acquire-permit';
}

function isQueued(value: ServiceValue): boolean {
  return typeof value === 'object' && value !== null && 'status' in value && value.status === 'queued';
}

function mapOutcome(o: ProposeOutcome<ApplyOutput>): ServiceOutcome {
  switch (o.type) {
    case 'applied':
      return o.result.result.ok
        ? { type: 'ok', value: o.result.result.value, index: o.index }
        : { type: 'error', code: o.result.result.code, message: o.result.result.message };
    case 'failed':
      if (o.code === 'NOT_LEADER') return { type: 'not-leader', leader: o.leader };
      return { type: 'unavailable', outcomeUnknown: false, reason: o.code };
    case 'unknown':
      return { type: 'unavailable', outcomeUnknown: true, reason: o.reason };
  }
}
