/**
 * The lock and counter state machine: sessions, fenced lock
 * leases with FIFO waiters, counters, exactly-once writes. Pure and deterministic: its only
 * inputs are the entries and their (index, term); it reads no clock (time comes from the entry
 * envelope, codec.ts), uses no randomness and iterates only in sorted orders, so every replica
 * applying the same log reaches the same state and the same snapshot bytes.
 *
 * ## One apply step, in order
 * 1. **Term.** If the entry's term is above the last applied term, a leader change happened:
 *    grace becomes *pending* (the new leader's no-op carries no time stamp).
 * 2. `noop` / `config` entries stop here: result `ok(null)`, no time passes.
 * 3. **Decode** the envelope `{ v: 1, time, cmd }` and validate the command. Undecodable or
 *    invalid data → `INVALID_ARGUMENT`, and nothing else changes (not even log time).
 * 4. **Log time** `now = max(lastTime, time)`: it never goes back.
 * 5. **Grace**, if pending: every session's deadline is raised to at least `now + ttl`, bounded
 *    by `maxGraceExtensions` consecutive extensions (sessions.ts). So the grace is anchored at
 *    the new leader's first time-stamped entry: clients could not renew while there was no
 *    leader, and the new leader's clock may run ahead (docs/design.md#time-in-the-state-machine).
 *    Every queued wait's deadline is raised to at least `now + (deadline − lastTime)`, where
 *    `lastTime` is the log time before this entry: the wait keeps what it had left at the old
 *    term's last stamped entry, so a jump of log time across the leader change (a new leader's
 *    clock ahead, or the leaderless gap) does not count against it. At most
 *    `maxGraceExtensions` such extensions per wait, in its whole life (locks.ts).
 * 6. **Timeouts** at `now`:
 *    a. every waiter with `deadline ≤ now` leaves its queue, in (deadline, waiter id) order:
 *       `wait-timeout` event;
 *    b. every session with `deadline ≤ now`, in (deadline, id) order, ends: first all their
 *       waits are dropped, then for each of them: `session-expired`, then its locks are
 *       released in name order (`lock-released`).
 *    Expiry is a function of log time alone: the leader's `expire-sessions` entry (proposed
 *    from {@link LockMachine.expiredSessions}) can never end a session that a keep-alive
 *    renewed first — it re-checks by log time and reports which listed sessions survived.
 *    `expire-sessions` and `tick` mainly exist to move log time forward when no client writes:
 *    the leader proposes one once {@link LockMachine.nextDeadline} has passed by its clock.
 * 7. **The command** runs at `now`; writes go through the exactly-once table (dedup.ts), then
 *    the fence check (docs/design.md#fenced-writes), then execute.
 * 8. **Hand-offs**: every lock freed during this step (by 6b or 7) that still has waiters goes
 *    to its first waiter, in lock-name order: `granted` event, token = this entry's index.
 *    While freed-but-not-yet-handed-off, a lock counts as held for the command of step 7
 *    (an acquire queues behind the waiters, a fence on it fails), so nobody jumps the queue.
 * After every step, all sessions and all waiters have deadlines beyond log time, a lock is
 * held only by a live session, and a lock with waiters has a holder or is kept free for an
 * all-or-nothing wait first in its queue (docs/design.md#all-or-nothing-multi-locks).
 *
 * ## Locks (docs/design.md#locks)
 * A free lock is granted at once with token = this entry's index; a freed lock is handed to the
 * first waiter of its FIFO queue at the end of the same step, again with token = that entry's
 * index. Deferring hand-offs to the end of the step guarantees a lock is granted at most once
 * per entry (otherwise a close or release in step 7 could free, in the same entry, a lock just
 * handed off in step 6, and two grants would share one token). Tokens are therefore unique and
 * strictly increasing *per lock*. Several locks freed by one entry (a session holding two locks
 * expires) are granted with the same token: across locks, tokens never decrease.
 *
 * Two more rules: a session waits at most once per lock (a second acquire while
 * queued → `INVALID_ARGUMENT`); every command naming a live session renews it.
 *
 * `cancel-wait { name }` withdraws the session's queued acquire of `name` in step 7: it leaves
 * the queue (`wait-cancelled` event) and its stored result becomes `cancelled`, so a retry of
 * that acquire's seq can never be granted. Answer `cancelled`, or `not-waiting` when the
 * session has no wait on `name` (granted, timed out, never queued: nothing changes). It can
 * empty the queue of a lock freed in this step: the hand-off then finds nobody and the lock is
 * free.
 */
import type { ApplyContext, Entry, StateMachine } from '../raft/index.js';
import { decodeEntry } from './codec.js';
import type { AcquireAllCommand, AcquireCommand, BreakLockCommand, Command, Fence, SessionCommand, WriteCommand } from './commands.js';
import { CounterTable } from './counters.js';
import { classify, record, updateStored } from './dedup.js';
import { StateDigest } from './digest.js';
import { fail, ok, type Failure, type Result } from './errors.js';
import {
  DEFAULT_LIST_LIMIT,
  resolveLimits,
  type CounterListEntry,
  type ElectionInfoValue,
  type Limits,
  type ListArgs,
  type ListPage,
  type LockInfo,
  type LockListEntry,
  type PermitKind,
  type PermitListEntry,
  type RwLockInfo,
  type SemaphoreInfo,
} from '../protocol/index.js';
import { LockTable, type Waiter } from './locks.js';
import type { AcquireValue, ApplyOutput, BreakLockValue, CancelWaitValue, CommandResult, CommandValue, MachineEvent } from './results.js';
import { ELECTION_PERMITS, PermitMachine } from './permit-machine.js';
import { SessionTable, type Session } from './sessions.js';
import { takePage } from './sorted-names.js';
import { SNAPSHOT_VERSION, decodeSnapshot, encodeSnapshot, type SnapshotState } from './snapshot.js';

/**
 * Deliberate bugs for negative controls (property tests, simulator). Never set in production:
 * each breaks one promise (docs/design.md#promises).
 */
export interface LockMachineTestingKnobs {
  /** Retries are executed again: results are stored but never looked up (breaks exactly-once). */
  readonly dedupOff?: boolean;
  /** A freed lock goes to the newest waiter (breaks FIFO). */
  readonly grantLifo?: boolean;
  /** Grace extends sessions without bound (repeated elections keep dead sessions alive). */
  readonly unboundedGrace?: boolean;
  /**
   * Queued waits get no leader-change grace: a new leader whose clock runs ahead times them
   * out early.
   */
  readonly noWaitGrace?: boolean;
  /**
   * A withdrawn wait's acquire keeps its stored `queued` result (breaks "a retry of a withdrawn
   * acquire answers `cancelled`": the retry reports a place in a queue it has left).
   */
  readonly cancelKeepsQueued?: boolean;
  /** A permit release frees one permit more than it held (breaks "at most N permits held"). */
  readonly releaseExtraPermit?: boolean;
  /** Elections are resources of two permits: two leaders at once (breaks "one leader per election"). */
  readonly twoLeaders?: boolean;
  /**
   * `acquire-all` looks only at its first lock to decide on an immediate grant, and takes the
   * others even when they are held (breaks mutual exclusion for all-or-nothing locks).
   */
  readonly lockAllChecksFirstOnly?: boolean;
  /** Expiry by this replica's own clock instead of the entry's stamp (breaks determinism). */
  readonly localClock?: () => number;
  /**
   * Counter deletes do not update the state digest (breaks "the digest is that of the state":
   * `digest()` no longer equals the digest of the snapshot).
   */
  readonly staleDigest?: boolean;
}

export interface LockMachineOptions {
  /** Overrides of the default limits (docs/design.md#limits); must be equal on every replica. */
  readonly limits?: Partial<Limits>;
  readonly unsafeTestingKnobs?: LockMachineTestingKnobs;
}

export interface SessionInfo {
  readonly sessionId: number;
  readonly ttlMs: number;
  readonly clientId?: string;
  readonly lastKeepAlive: number;
  readonly expiresAt: number;
  readonly graceExtensions: number;
  readonly ackedSeq: number;
  readonly storedResults: number;
  readonly locks: readonly string[];
  readonly waits: readonly string[];
}

export class LockMachine implements StateMachine<ApplyOutput> {
  readonly limits: Limits;
  private readonly knobs: LockMachineTestingKnobs;
  /** Sum of the hashes of the state's records, kept by the tables as they change (digest.ts). */
  private readonly sum = new StateDigest();
  private sessions = new SessionTable(this.sum);
  private locks: LockTable;
  private counters: CounterTable;
  /** Semaphores and readers-writer locks, and their rules (permit-machine.ts). */
  private permits: PermitMachine;
  private time = 0;
  private term = 0;
  private index = 0;
  private gracePending = false;
  /** Locks freed during this step that still have waiters: handed off at its end. */
  private readonly freed = new Set<string>();

  constructor(options: LockMachineOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.knobs = options.unsafeTestingKnobs ?? {};
    this.locks = new LockTable(this.sum, this.knobs.grantLifo === true);
    this.counters = new CounterTable(this.sum, this.limits.maxCounters, this.knobs.staleDigest === true);
    this.permits = this.newPermits();
  }

  private newPermits(): PermitMachine {
    const electionPermits = this.knobs.twoLeaders === true ? 2 : ELECTION_PERMITS;
    return new PermitMachine(() => this.sessions, this.sum, this.knobs.releaseExtraPermit === true, electionPermits);
  }

  /** Log time of the last applied stamped entry (feed it to `nextStamp`). */
  get lastTime(): number {
    return this.time;
  }

  get lastTerm(): number {
    return this.term;
  }

  get appliedIndex(): number {
    return this.index;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  apply(entry: Entry, context: ApplyContext): ApplyOutput {
    this.index = context.index;
    if (context.term > this.term) {
      this.term = context.term;
      this.gracePending = true;
    }
    if (entry.type !== 'normal') return { result: ok(null), events: [] };
    const decoded = decodeEntry(entry.data, this.limits);
    if (!decoded.ok) return { result: decoded, events: [] };

    const stamp = this.knobs.localClock !== undefined ? this.knobs.localClock() : decoded.value.time;
    // Log time of the last stamped entry: with grace pending, one of an earlier term.
    const lastTime = this.time;
    const now = Math.max(lastTime, stamp);
    this.time = now;
    if (this.gracePending) {
      this.gracePending = false;
      this.sessions.grace(now, this.knobs.unboundedGrace === true ? Number.POSITIVE_INFINITY : this.limits.maxGraceExtensions);
      if (this.knobs.noWaitGrace !== true) {
        this.locks.grace(now, lastTime, this.limits.maxGraceExtensions);
        this.permits.grace(now, lastTime, this.limits.maxGraceExtensions);
      }
    }
    const events: MachineEvent[] = [];
    this.freed.clear();
    this.permits.beginStep();
    this.timeouts(now, events);
    const result = this.execute(decoded.value.cmd, now, context.index, events);
    this.handOffs(now, context.index, events);
    this.permits.handOffs(now, context.index, events);
    return { result, events };
  }

  // ---- queries (pure) ------------------------------------------------------------------------

  /**
   * Sessions whose deadline is at or before `now` (by the caller's clock), in (deadline, id)
   * order, at most `limit`: what a leader proposes in `expire-sessions`.
   */
  expiredSessions(now: number, limit?: number): number[] {
    return this.sessions.expiredAt(now, limit);
  }

  /** The earliest session or waiter deadline, if any: when the leader should next propose a tick. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const d of [this.sessions.nextDeadline(), this.locks.nextDeadline(), this.permits.nextDeadline()]) {
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next;
  }

  /** A semaphore's permits, holders and waiters (docs/design.md#semaphores-and-readers-writer-locks). */
  semaphoreInfo(name: string): SemaphoreInfo {
    return this.permits.semaphoreInfo(name);
  }

  /** A readers-writer lock's mode, holders and waiters. */
  rwlockInfo(name: string): RwLockInfo {
    return this.permits.rwlockInfo(name);
  }

  /**
   * Election `name`'s leader (session, token, value, grant time, its session's deadline), or
   * `null`, and how many candidates wait (docs/design.md#leader-elections). O(1); pure, so it
   * may be asked right after any apply.
   */
  electionInfo(name: string): ElectionInfoValue {
    return this.permits.electionInfo(name);
  }

  /**
   * A page of the semaphores, readers-writer locks or elections (`kind`) in use, whose names
   * start with `prefix`, after `after`, in name order, each with its name and what its kind's
   * info answers (`semaphoreInfo`, `rwlockInfo`, `electionInfo`): like {@link listLocks}.
   */
  listPermits<K extends PermitKind>(kind: K, args: ListArgs = {}): ListPage<PermitListEntry<K>> {
    return this.permits.list(kind, args);
  }

  lockInfo(name: string): LockInfo {
    const lock = this.locks.get(name);
    const holder = lock?.holder;
    // Free with waiters: kept for an all-or-nothing wait that is first in line.
    if (lock === undefined || holder === undefined) return { waiters: lock?.queue.length ?? 0 };
    const expiresAt = this.sessions.get(holder.session)?.deadline ?? 0;
    return {
      holder: { sessionId: holder.session, fencingToken: holder.token, acquiredAt: holder.acquiredAt, expiresAt },
      waiters: lock.queue.length,
    };
  }

  /**
   * A page of the locks that are held or awaited, whose names start with `prefix`, after
   * `after`, in name order (docs/design.md#listing). O(page): the names are kept in order.
   */
  listLocks(args: ListArgs = {}): ListPage<LockListEntry> {
    const names = this.locks.namesFrom(args.prefix ?? '', args.after);
    return takePage(names, args.limit ?? DEFAULT_LIST_LIMIT, (name) => ({ name, ...this.lockInfo(name) }));
  }

  /** A page of the non-zero counters, like {@link listLocks}. */
  listCounters(args: ListArgs = {}): ListPage<CounterListEntry> {
    const names = this.counters.namesFrom(args.prefix ?? '', args.after);
    return takePage(names, args.limit ?? DEFAULT_LIST_LIMIT, (name) => ({ name, value: this.counters.get(name) }));
  }

  /** The queue of `name`, first waiter first, with each wait's grace extensions so far. */
  lockWaiters(
    name: string,
  ): Array<{ readonly session: number; readonly seq: number; readonly deadline: number; readonly graceExtensions: number }> {
    return (this.locks.get(name)?.queue ?? []).map((w) => ({
      session: w.session,
      seq: w.seq,
      deadline: w.deadline,
      graceExtensions: w.graceCount,
    }));
  }

  counterValue(name: string): number {
    return this.counters.get(name);
  }

  /**
   * The secret of live session `id`, for the edge to check a `bind` against (in constant
   * time); undefined if no such session is alive. Not introspection: never send it anywhere.
   */
  sessionSecret(id: number): string | undefined {
    return this.sessions.get(id)?.secret;
  }

  /** The deadline (log time) of live session `id`, if alive. */
  sessionDeadline(id: number): number | undefined {
    return this.sessions.get(id)?.deadline;
  }

  sessionInfo(id: number): SessionInfo | undefined {
    const s = this.sessions.get(id);
    if (s === undefined) return undefined;
    const info: SessionInfo = {
      sessionId: s.id,
      ttlMs: s.ttlMs,
      lastKeepAlive: s.lastKeepAlive,
      expiresAt: s.deadline,
      graceExtensions: s.graceCount,
      ackedSeq: s.ackedSeq,
      storedResults: s.results.size,
      locks: this.locks.heldNames(id),
      waits: this.locks
        .waitsOfSession(id)
        .flatMap((w) => w.names)
        .sort(),
    };
    return s.clientId === undefined ? info : { ...info, clientId: s.clientId };
  }

  /**
   * The first `limit` live sessions in id order (the oldest first), as {@link sessionInfo}
   * describes them, for a status page. Copying the ids costs O(sessions) and sorting them
   * nearly as little (they are kept in the order they opened, which is id order).
   */
  listSessions(limit: number): SessionInfo[] {
    return this.sessions
      .sorted()
      .slice(0, limit)
      .flatMap((s) => this.sessionInfo(s.id) ?? []);
  }

  // ---- snapshots -----------------------------------------------------------------------------

  /**
   * A hash of the replicated state (32 hex digits): equal on replicas at equal applied index,
   * and different, with overwhelming probability, whenever their snapshots differ. O(1): it is
   * kept up to date as the state changes (docs/design.md#the-state-digest).
   */
  /** Locks held now. O(1). */
  get locksHeld(): number {
    return this.locks.heldTotal;
  }

  /** Acquires queued now, on every lock, semaphore and readers-writer lock. O(1). */
  get waiterCount(): number {
    return this.locks.waiterTotal + this.permits.waiterTotal;
  }

  /** The state's accounted size in bytes, an upper bound of its snapshot's records. O(1). */
  get stateBytes(): number {
    return this.sum.sizeBytes;
  }

  digest(): string {
    return this.sum.hex({
      v: SNAPSHOT_VERSION,
      appliedIndex: this.index,
      lastTime: this.time,
      lastTerm: this.term,
      gracePending: this.gracePending,
    });
  }

  snapshot(): Uint8Array {
    const state: SnapshotState = {
      v: SNAPSHOT_VERSION,
      appliedIndex: this.index,
      lastTime: this.time,
      lastTerm: this.term,
      gracePending: this.gracePending,
      sessions: this.sessions.sorted().map((s) => ({
        id: s.id,
        ttlMs: s.ttlMs,
        ...(s.clientId === undefined ? {} : { clientId: s.clientId }),
        ...(s.owner === undefined ? {} : { owner: s.owner }),
        secret: s.secret,
        lastKeepAlive: s.lastKeepAlive,
        deadline: s.deadline,
        graceCount: s.graceCount,
        ackedSeq: s.ackedSeq,
        results: [...s.results.entries()].sort((a, b) => a[0] - b[0]),
        ...(s.revoked.length === 0 ? {} : { revoked: s.revoked.map((r) => ({ ...r })) }),
      })),
      locks: this.locks.sorted().map(([name, lock]) => {
        const h = lock.holder;
        const waiters = lock.queue.map((w) => ({
          id: w.id,
          session: w.session,
          seq: w.seq,
          deadline: w.deadline,
          graceCount: w.graceCount,
        }));
        if (h === undefined) return { name, waiters };
        return { name, holder: { session: h.session, token: h.token, acquiredAt: h.acquiredAt, seq: h.seq }, waiters };
      }),
      counters: this.counters.sorted(),
      semaphores: this.permits.records('semaphore'),
      rwlocks: this.permits.records('rwlock'),
      elections: this.permits.records('election'),
    };
    return encodeSnapshot(state);
  }

  restore(data: Uint8Array): void {
    const s = decodeSnapshot(data);
    // Queues are in waiter-id order (ids are the queueing entries' indexes, and a queue only
    // appends and removes): the state digest counts on it to stand for the queues' order.
    for (const l of s.locks) {
      l.waiters.forEach((w, k) => {
        const before = l.waiters[k - 1];
        if (before !== undefined && before.id >= w.id)
          throw new Error(`state machine snapshot: lock ${l.name}: waiter ${w.id} queued after waiter ${before.id}`);
      });
    }
    // The tables add their records to the digest as they are filled: O(state), once.
    this.sum.clear();
    this.sessions = new SessionTable(this.sum);
    this.locks = new LockTable(this.sum, this.knobs.grantLifo === true);
    this.counters = new CounterTable(this.sum, this.limits.maxCounters, this.knobs.staleDigest === true);
    this.permits = this.newPermits();
    this.index = s.appliedIndex;
    this.time = s.lastTime;
    this.term = s.lastTerm;
    this.gracePending = s.gracePending;
    for (const r of s.sessions) {
      this.sessions.insert({
        id: r.id,
        ttlMs: r.ttlMs,
        clientId: r.clientId,
        owner: r.owner,
        secret: r.secret,
        lastKeepAlive: r.lastKeepAlive,
        deadline: r.deadline,
        graceCount: r.graceCount,
        ackedSeq: r.ackedSeq,
        results: new Map(r.results),
        revoked: (r.revoked ?? []).map((x) => ({ ...x })),
      });
    }
    for (const l of s.locks) if (l.holder !== undefined) this.locks.setHolder(l.name, l.holder);
    // A waiter is listed under each lock it waits for (several for an all-or-nothing wait):
    // gathered by id, and queued again in id order, which is each queue's order.
    const waiters = new Map<number, Waiter>();
    for (const l of s.locks) {
      for (const r of l.waiters) {
        const w = waiters.get(r.id);
        if (w === undefined) waiters.set(r.id, { ...r, names: [l.name] });
        else if (w.session !== r.session || w.seq !== r.seq || w.deadline !== r.deadline || w.graceCount !== r.graceCount)
          throw new Error(`state machine snapshot: waiter ${r.id} is listed differently under ${w.names[0]} and ${l.name}`);
        else (w.names as string[]).push(l.name);
      }
    }
    for (const w of [...waiters.values()].sort((a, b) => a.id - b.id)) this.locks.enqueue(w);
    for (const [name, value] of s.counters) this.counters.restore(name, value);
    this.permits.restore('semaphore', s.semaphores);
    this.permits.restore('rwlock', s.rwlocks);
    this.permits.restore('election', s.elections);
  }

  // ---- one step ------------------------------------------------------------------------------

  /** Step 6: waiter timeouts, then session expiry (see the module comment). */
  private timeouts(now: number, events: MachineEvent[]): void {
    for (let w = this.locks.popDue(now); w !== undefined; w = this.locks.popDue(now)) {
      this.dropWait(w);
      this.waitTimedOut(w, events);
    }
    this.permits.timeouts(now, events);
    const ended: Session[] = [];
    for (let s = this.sessions.popDue(now); s !== undefined; s = this.sessions.popDue(now)) {
      this.sessions.remove(s.id);
      for (const w of this.locks.waitsOfSession(s.id)) this.dropWait(w);
      this.permits.dropWaitsOf(s.id);
      ended.push(s);
    }
    for (const s of ended) {
      events.push({ type: 'session-expired', session: s.id });
      for (const name of this.locks.heldNames(s.id)) this.releaseLock(name, events);
      this.permits.releaseAllOf(s.id, events);
    }
  }

  private waitTimedOut(w: Waiter, events: MachineEvent[]): void {
    events.push({ type: 'wait-timeout', ...waitNames(w), session: w.session, seq: w.seq });
    const s = this.sessions.get(w.session);
    if (s !== undefined) updateStored(s, w.seq, ok({ status: 'timed-out' }), this.sum);
  }

  private execute(cmd: Command, now: number, index: number, events: MachineEvent[]): CommandResult {
    switch (cmd.type) {
      case 'open-session': {
        const refused = this.openRefusal(cmd.owner);
        if (refused !== undefined) return refused;
        const s = this.sessions.open(index, cmd.ttlMs, cmd.clientId, cmd.owner, cmd.secret, now);
        return ok({ sessionId: s.id, ttlMs: s.ttlMs, expiresAt: s.deadline, secret: s.secret });
      }
      case 'keep-alive': {
        const s = this.sessions.get(cmd.session);
        if (s === undefined) return sessionExpired(cmd.session);
        this.sessions.renew(s, now, cmd.ackedSeq);
        if (s.revoked.length === 0) return ok({ expiresAt: s.deadline });
        const revoked = s.revoked.map(({ name, token, reason }) => (reason === undefined ? { name, token } : { name, token, reason }));
        return ok({ expiresAt: s.deadline, revoked });
      }
      case 'expire-sessions': {
        const expired: number[] = [];
        const survived: number[] = [];
        for (const id of cmd.sessions) (this.sessions.get(id) === undefined ? expired : survived).push(id);
        return ok({ expired, survived });
      }
      case 'tick':
        return ok(null);
      default:
        return this.write(cmd, now, index, events);
    }
  }

  /** Session check, renewal, exactly-once table, fence, then the operation. */
  private write(cmd: WriteCommand, now: number, index: number, events: MachineEvent[]): CommandResult {
    const s = this.sessions.get(cmd.session);
    if (s === undefined) return sessionExpired(cmd.session);
    this.sessions.renew(s, now, cmd.ackedSeq);
    const dedupOff = this.knobs.dedupOff === true;
    const verdict = classify(s, cmd.seq, this.limits.maxUnackedResults, dedupOff);
    switch (verdict.kind) {
      case 'retry':
        return this.replay(s, cmd.seq, verdict.stored);
      case 'stale':
        return fail(
          'STALE_SEQUENCE',
          `session ${s.id}: seq ${cmd.seq} is at or below the acknowledged seq ${s.ackedSeq} and its result is gone`,
        );
      case 'full':
        return fail(
          'LIMIT_EXCEEDED',
          `session ${s.id} has ${s.results.size} unacknowledged results (limit ${this.limits.maxUnackedResults}); acknowledge some (ackedSeq)`,
        );
      case 'new':
        break;
    }
    // At the state bound only what frees room runs; the refusal is not stored (as 'full'
    // above), so a retry once there is room runs the command.
    const full = shrinks(cmd) ? undefined : this.stateFull();
    if (full !== undefined) return full;
    const result = cmd.fence !== undefined && !this.fenceHolds(cmd.fence, s.id) ? fenced(cmd.fence) : this.run(cmd, s, now, index, events);
    // A successful close took the table with it; everything else is stored for retries.
    if (this.sessions.get(s.id) !== undefined) record(s, cmd.seq, result, this.sum);
    return result;
  }

  /**
   * The limit refusal that applying `cmd` now would give, if any: the leader's service answers
   * it before proposing, so a request beyond a limit never enters the log
   * (docs/design.md#limits). Advisory — the same checks run again when an entry is applied,
   * which is what decides. A retry of a write this machine already answered is never refused
   * here: it must get its stored result.
   */
  limitRefusal(cmd: SessionCommand, owner?: string): CommandResult | undefined {
    if (cmd.type === 'open-session') return this.openRefusal(owner);
    if (cmd.type === 'keep-alive') return undefined;
    const s = this.sessions.get(cmd.session);
    if (s === undefined || cmd.seq <= s.ackedSeq || s.results.has(cmd.seq) || shrinks(cmd)) return undefined;
    const full = this.stateFull();
    if (full !== undefined) return full;
    switch (cmd.type) {
      case 'acquire': {
        // The same checks at the same points as acquire() below.
        const lock = this.locks.get(cmd.name);
        if (lock?.holder?.session === s.id) return undefined;
        const locks = this.locksRefusal(s.id);
        if (locks !== undefined || lock === undefined || cmd.waitMs === 0 || this.locks.waiterOf(cmd.name, s.id) !== undefined) {
          return locks;
        }
        return this.waitsRefusal(s.id);
      }
      case 'acquire-all': {
        // The same checks as acquireAll(); a refusal that is not a limit is the log's to give.
        const refused = this.acquireAllRefusal(cmd, s.id);
        if (refused !== undefined) return refused.code === 'LIMIT_EXCEEDED' ? refused : undefined;
        if (cmd.waitMs === 0 || cmd.names.every((name) => this.locks.get(name) === undefined)) return undefined;
        return this.waitsRefusal(s.id, cmd.names.length);
      }
      case 'acquire-permit': {
        // The same checks as for a lock acquire; a refusal that is not a limit is the log's.
        const locks = this.locksRefusal(s.id);
        if (locks !== undefined || cmd.waitMs === 0 || this.permits.permitRefusal(cmd, s.id) !== undefined || this.permits.grantsNow(cmd))
          return locks;
        const queued = this.permits.queueLength(cmd);
        if (queued >= this.limits.maxWaitersPerLock)
          return fail('LIMIT_EXCEEDED', `${cmd.kind} ${cmd.name} already has ${queued} waiters (limit ${this.limits.maxWaitersPerLock})`);
        return this.waitsRefusal(s.id);
      }
      case 'counter-add':
        return this.counters.full(cmd.name, this.counters.get(cmd.name) + cmd.delta);
      case 'counter-set':
        return this.counters.full(cmd.name, cmd.value);
      case 'counter-cas':
        return this.counters.get(cmd.name) === cmd.expected ? this.counters.full(cmd.name, cmd.next) : undefined;
      default:
        return undefined;
    }
  }

  /** `LIMIT_EXCEEDED` when one more session, of `owner` if given, is beyond a limit. */
  private openRefusal(owner: string | undefined): CommandResult | undefined {
    if (this.sessions.size >= this.limits.maxSessions) {
      return fail('LIMIT_EXCEEDED', `the cluster already has ${this.sessions.size} sessions (limit ${this.limits.maxSessions})`);
    }
    const n = owner === undefined ? 0 : this.sessions.ownedBy(owner);
    if (owner !== undefined && n >= this.limits.maxSessionsPerOwner) {
      return fail(
        'LIMIT_EXCEEDED',
        `token ${JSON.stringify(owner)} already has ${n} sessions (limit ${this.limits.maxSessionsPerOwner}); close some`,
      );
    }
    return this.stateFull();
  }

  /**
   * Per-session bound on a new lock (docs/design.md#limits): what is held and what is queued
   * together, so a wait granted later never takes the session past it.
   */
  private locksRefusal(session: number, more = 1): Failure | undefined {
    const held = this.locks.heldCount(session) + this.permits.heldCount(session);
    const waits = this.locks.waitCount(session) + this.permits.waitCount(session);
    if (held + waits + more <= this.limits.maxLocksPerSession) return undefined;
    return fail(
      'LIMIT_EXCEEDED',
      `session ${session} holds ${held} locks and permits and waits for ${waits} (limit ${this.limits.maxLocksPerSession}); release some first`,
    );
  }

  /** Per-session bound on `more` locks waited for (one acquire, or each name of an acquire-all). */
  private waitsRefusal(session: number, more = 1): Failure | undefined {
    const waits = this.locks.waitCount(session) + this.permits.waitCount(session);
    if (waits + more <= this.limits.maxWaitsPerSession) return undefined;
    return fail('LIMIT_EXCEEDED', `session ${session} already waits for ${waits} locks (limit ${this.limits.maxWaitsPerSession})`);
  }

  /** `LIMIT_EXCEEDED` when the state is at its bound (docs/design.md#limits). */
  private stateFull(): CommandResult | undefined {
    const bytes = this.sum.sizeBytes;
    if (bytes < this.limits.maxStateBytes) return undefined;
    return fail(
      'LIMIT_EXCEEDED',
      `the cluster's state is full (${bytes} bytes accounted, limit ${this.limits.maxStateBytes}): close sessions, release locks or delete counters`,
    );
  }

  /** A retry's answer: the stored result, or for a still-queued acquire its current place. */
  private replay(s: Session, seq: number, stored: CommandResult): CommandResult {
    if (!stored.ok || !isQueued(stored.value)) return stored;
    const w = this.locks.waitsOfSession(s.id).find((x) => x.seq === seq);
    if (w === undefined) return ok(this.permits.queuedAgain(s.id, seq) ?? stored.value);
    return ok({ status: 'queued', position: this.locks.position(w), deadline: w.deadline });
  }

  private fenceHolds(f: Fence, session: number): boolean {
    if (f.kind !== undefined) return this.permits.fenceHolds({ ...f, kind: f.kind }, session);
    return this.locks.get(f.lock)?.holder?.token === f.token;
  }

  private run(cmd: WriteCommand, s: Session, now: number, index: number, events: MachineEvent[]): CommandResult {
    switch (cmd.type) {
      case 'close-session': {
        events.push({ type: 'session-closed', session: s.id });
        for (const w of this.locks.waitsOfSession(s.id)) this.dropWait(w);
        this.permits.dropWaitsOf(s.id);
        this.sessions.remove(s.id);
        const released = this.locks.heldNames(s.id);
        for (const name of released) this.releaseLock(name, events);
        this.permits.releaseAllOf(s.id, events);
        return ok({ released });
      }
      case 'acquire':
        return this.acquire(cmd, s, now, index);
      case 'acquire-all':
        return this.acquireAll(cmd, s, now, index);
      case 'release-all': {
        const released = cmd.names.filter((name) => this.locks.get(name)?.holder?.session === s.id);
        if (released.length === 0) return fail('NOT_HELD', `session ${s.id} holds none of the locks ${cmd.names.join(', ')}`);
        for (const name of released) this.releaseLock(name, events);
        return ok({ released });
      }
      case 'release': {
        const holder = this.locks.get(cmd.name)?.holder;
        if (holder === undefined || holder.session !== s.id) {
          return fail('NOT_HELD', `lock ${cmd.name} is not held by session ${s.id}`);
        }
        this.releaseLock(cmd.name, events);
        return ok({ status: 'released', token: holder.token });
      }
      case 'cancel-wait':
        return this.cancelWait(cmd.name, s, events);
      case 'break-lock':
        return this.breakLock(cmd, index, events);
      case 'acquire-permit': {
        const refused = this.locksRefusal(s.id);
        if (refused !== undefined) return refused;
        const waits = (): Failure | undefined => this.waitsRefusal(s.id);
        return this.permits.acquire(cmd, s, now, index, waits, this.limits.maxWaitersPerLock);
      }
      case 'release-permit':
        return this.permits.releaseCommand(cmd, s, events);
      case 'cancel-permit':
        return this.permits.cancel(cmd, s, events, this.knobs.cancelKeepsQueued === true);
      case 'proclaim':
        return this.permits.proclaim(cmd, s);
      case 'counter-add':
        return this.counters.add(cmd.name, cmd.delta);
      case 'counter-set':
        return this.counters.set(cmd.name, cmd.value);
      case 'counter-cas':
        return this.counters.compareAndSet(cmd.name, cmd.expected, cmd.next);
      case 'counter-get':
        return ok(this.counters.get(cmd.name));
      case 'counter-delete':
        return this.counters.delete(cmd.name);
    }
  }

  private acquire(cmd: AcquireCommand, s: Session, now: number, index: number): Result<AcquireValue> {
    const lock = this.locks.get(cmd.name);
    if (lock?.holder?.session !== s.id) {
      const refused = this.locksRefusal(s.id);
      if (refused !== undefined) return refused;
    }
    if (lock === undefined) {
      this.locks.setHolder(cmd.name, { session: s.id, token: index, acquiredAt: now, seq: cmd.seq });
      return ok({ status: 'granted', token: index, acquiredAt: now, expiresAt: s.deadline });
    }
    // Held — or freed in this step with waiters, who come first (FIFO): it goes to the first of
    // them at the end of the step.
    const holder = lock.holder;
    if (holder?.session === s.id)
      return ok({ status: 'held-by-you', token: holder.token, acquiredAt: holder.acquiredAt, expiresAt: s.deadline });
    if (cmd.waitMs === 0) return ok({ status: 'not-acquired' });
    const existing = this.locks.waiterOf(cmd.name, s.id);
    if (existing !== undefined) {
      return fail(
        'INVALID_ARGUMENT',
        `session ${s.id} already waits for lock ${cmd.name} (acquire seq ${existing.seq}); one wait per lock`,
      );
    }
    const waits = this.waitsRefusal(s.id);
    if (waits !== undefined) return waits;
    if (lock.queue.length >= this.limits.maxWaitersPerLock) {
      return fail('LIMIT_EXCEEDED', `lock ${cmd.name} already has ${lock.queue.length} waiters (limit ${this.limits.maxWaitersPerLock})`);
    }
    const w: Waiter = { id: index, names: [cmd.name], session: s.id, seq: cmd.seq, deadline: now + cmd.waitMs, graceCount: 0 };
    this.locks.enqueue(w);
    return ok({ status: 'queued', position: lock.queue.length, deadline: w.deadline });
  }

  /**
   * All or nothing (docs/design.md#all-or-nothing-multi-locks): granted at once, every lock
   * with this entry's index as token, when none of them is held or awaited; otherwise queued
   * in each of their queues (or `not-acquired` with `waitMs` 0).
   */
  private acquireAll(cmd: AcquireAllCommand, s: Session, now: number, index: number): Result<AcquireValue> {
    const refused = this.acquireAllRefusal(cmd, s.id);
    if (refused !== undefined) return refused;
    const free = this.knobs.lockAllChecksFirstOnly === true ? cmd.names.slice(0, 1) : cmd.names;
    if (free.every((name) => this.locks.get(name) === undefined)) {
      for (const name of cmd.names) this.locks.setHolder(name, { session: s.id, token: index, acquiredAt: now, seq: cmd.seq });
      return ok({ status: 'granted', token: index, acquiredAt: now, expiresAt: s.deadline });
    }
    if (cmd.waitMs === 0) return ok({ status: 'not-acquired' });
    const waits = this.waitsRefusal(s.id, cmd.names.length);
    if (waits !== undefined) return waits;
    const w: Waiter = { id: index, names: cmd.names, session: s.id, seq: cmd.seq, deadline: now + cmd.waitMs, graceCount: 0 };
    this.locks.enqueue(w);
    return ok({ status: 'queued', position: this.locks.position(w), deadline: w.deadline });
  }

  /**
   * Why `acquire-all` cannot run for session `session`, if it cannot: it holds or waits for one
   * of the locks already (each lock once per session), a queue it would join is full, or its
   * locks and waits would go past their bounds.
   */
  private acquireAllRefusal(cmd: AcquireAllCommand, session: number): Failure | undefined {
    for (const name of cmd.names) {
      const lock = this.locks.get(name);
      if (lock?.holder?.session === session)
        return fail('INVALID_ARGUMENT', `session ${session} already holds lock ${name}; acquire-all takes locks the session does not hold`);
      if (this.locks.waiterOf(name, session) !== undefined)
        return fail('INVALID_ARGUMENT', `session ${session} already waits for lock ${name}; one wait per lock`);
      if (cmd.waitMs > 0 && lock !== undefined && lock.queue.length >= this.limits.maxWaitersPerLock)
        return fail('LIMIT_EXCEEDED', `lock ${name} already has ${lock.queue.length} waiters (limit ${this.limits.maxWaitersPerLock})`);
    }
    return this.locksRefusal(session, cmd.names.length);
  }

  /** Withdraws the queued acquire of `s` on `name`, if any (see the module comment). */
  private cancelWait(name: string, s: Session, events: MachineEvent[]): Result<CancelWaitValue> {
    const w = this.locks.waiterOf(name, s.id);
    if (w === undefined) return ok({ status: 'not-waiting' });
    this.dropWait(w);
    events.push({ type: 'wait-cancelled', ...waitNames(w), session: s.id, seq: w.seq });
    if (this.knobs.cancelKeepsQueued !== true) updateStored(s, w.seq, ok({ status: 'cancelled' }), this.sum);
    return ok({ status: 'cancelled' });
  }

  /**
   * Revokes the grant on `cmd.name`, whoever holds it: the holder's session remembers it (its
   * keep-alives say so), and the lock is freed like a release, so its next waiter has it at the
   * end of this step with this entry's index, a higher token.
   */
  private breakLock(cmd: BreakLockCommand, index: number, events: MachineEvent[]): Result<BreakLockValue> {
    const holder = this.locks.get(cmd.name)?.holder;
    if (holder === undefined) return fail('NOT_HELD', `lock ${cmd.name} is not held: there is no grant to break`);
    const reason = cmd.reason === undefined ? {} : { reason: cmd.reason };
    events.push({ type: 'lock-broken', name: cmd.name, session: holder.session, token: holder.token, ...reason });
    this.releaseLock(cmd.name, events);
    const victim = this.sessions.get(holder.session);
    if (victim !== undefined) this.sessions.revoke(victim, { at: index, name: cmd.name, token: holder.token, ...reason });
    return ok({ status: 'broken', session: holder.session, token: holder.token });
  }

  /**
   * `w` leaves its queues (it timed out, was withdrawn, or its session ended). A lock it kept
   * free for itself (an all-or-nothing wait, first in line) may now go to the waiter behind it,
   * at the end of this step like a freed lock.
   */
  private dropWait(w: Waiter): void {
    this.locks.removeWaiter(w);
    for (const name of w.names) if (this.locks.get(name)?.holder === undefined && this.locks.get(name) !== undefined) this.freed.add(name);
  }

  /** Frees `name`; if it has waiters, it is handed off at the end of this step. */
  private releaseLock(name: string, events: MachineEvent[]): void {
    const holder = this.locks.clearHolder(name);
    if (holder === undefined) return;
    events.push({ type: 'lock-released', name, session: holder.session, token: holder.token });
    if (this.locks.get(name) !== undefined) this.freed.add(name);
  }

  /**
   * End of the step: every lock freed in it goes to its first waiter, in lock-name order, with
   * this entry's index as token. Deferring the hand-off to the end means the command of this
   * step cannot release (or close away) a lock granted in this same step, so a lock is granted
   * at most once per entry and its tokens stay unique. A first waiter that waits for several
   * locks gets them all at once when it is first in each of their queues and all are free;
   * until then the lock stays free, kept for it.
   */
  private handOffs(now: number, index: number, events: MachineEvent[]): void {
    if (this.freed.size === 0) return;
    for (const name of [...this.freed].sort()) {
      for (let w = this.locks.next(name); w !== undefined && this.locks.get(name)?.holder === undefined; w = this.locks.next(name)) {
        const ws = this.sessions.get(w.session);
        // Cannot happen (every remaining waiter and its session is live: step 6 ran first and
        // a close drops its waits); kept so "first waiter whose wait has not timed out" holds.
        if (ws === undefined || ws.deadline <= now || w.deadline <= now) {
          this.dropWait(w);
          this.waitTimedOut(w, events);
          continue;
        }
        if (!this.grantable(w)) break;
        this.locks.removeWaiter(w);
        for (const n of w.names) this.locks.setHolder(n, { session: w.session, token: index, acquiredAt: now, seq: w.seq });
        const grant = { token: index, acquiredAt: now, expiresAt: ws.deadline };
        events.push({ type: 'granted', ...waitNames(w), session: w.session, seq: w.seq, ...grant });
        updateStored(ws, w.seq, ok({ status: 'granted', ...grant }), this.sum);
      }
    }
    this.freed.clear();
  }

  /** Whether `w` is next in the queue of each of its locks and each is free. */
  private grantable(w: Waiter): boolean {
    return w.names.every((n) => this.locks.get(n)?.holder === undefined && this.locks.next(n) === w);
  }
}

/** A wait's lock in events: its name, and all its names when it waits for several. */
function waitNames(w: Waiter): { readonly name: string; readonly names?: readonly string[] } {
  return w.names.length === 1 ? { name: w.names[0] as string } : { name: w.names[0] as string, names: w.names };
}

/** Commands that never add to the state (beyond their stored result): allowed when it is at its bound. */
function shrinks(cmd: WriteCommand): boolean {
  // A break adds a bounded memory to the holder's session (at most MAX_REVOCATIONS_KEPT).
  return (
    cmd.type === 'release' ||
    cmd.type === 'release-all' ||
    cmd.type === 'release-permit' ||
    cmd.type === 'cancel-permit' ||
    cmd.type === 'cancel-wait' ||
    cmd.type === 'break-lock' ||
    cmd.type === 'close-session' ||
    cmd.type === 'counter-delete'
  );
}

function isQueued(v: CommandValue): boolean {
  return typeof v === 'object' && v !== null && 'status' in v && v.status === 'queued';
}

function sessionExpired(id: number): CommandResult {
  return fail('SESSION_EXPIRED', `session ${id} does not exist or has expired`);
}

function fenced(f: Fence): CommandResult {
  return fail('FENCED', `lock ${f.lock} is not held with token ${f.token}`);
}
