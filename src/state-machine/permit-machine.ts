/**
 * The rules of semaphores, readers-writer locks (docs/design.md#semaphores-and-readers-writer-locks)
 * and elections (docs/design.md#leader-elections), run by the lock machine (lock-machine.ts) at
 * the same points of each apply step as the rules of locks: waits time out in step 6 (before
 * sessions expire), an ended session's waits go and its grants are released, the command runs
 * in step 7, and what a release, a withdrawal or a timeout made room for is handed off at the
 * end of the step, with that entry's index as token.
 *
 * - **Acquire** (`acquire-permit`): granted at once when nobody waits and the weight fits in
 *   what is free; otherwise `not-acquired` (`waitMs` 0) or queued. A semaphore's permit count
 *   is that of its first user while it is in use: another count is `INVALID_ARGUMENT` naming
 *   both. A readers-writer lock has {@link RW_PERMITS} permits: a read takes one, a write all.
 * - **Hand-off**: strictly FIFO: the first waiter is granted when it fits, then the next, and
 *   so on; a waiter that does not fit stops the queue (no one overtakes it, so a heavy request
 *   or a writer is never starved). Several grants of one entry share its index as token.
 * - A session may hold and await several grants of one resource; each is named by its
 *   acquire's seq (`release-permit`, `cancel-permit` take it).
 * - **Fences** with `kind` hold while the writing session holds a grant of the resource with
 *   the token (of a readers-writer lock: a write grant; of an election: the leader's).
 * - **Elections** are resources of one permit; each campaign takes it (weight 1) and carries a
 *   value, which becomes the leader's when granted and which `proclaim` changes. A session
 *   campaigns at most once at a time in one election: a second campaign with another seq is
 *   `INVALID_ARGUMENT` naming the seq it leads or waits with.
 */
import {
  DEFAULT_LIST_LIMIT,
  MAX_LISTED_HOLDERS,
  PERMIT_KINDS,
  RW_PERMITS,
  type AcquirePermitCommand,
  type CancelPermitCommand,
  type ElectionInfoValue,
  type Fence,
  type ListArgs,
  type ListPage,
  type PermitKind,
  type PermitListEntry,
  type ProclaimCommand,
  type ReleasePermitCommand,
  type RwLockInfo,
  type SemaphoreInfo,
} from '../protocol/index.js';
import { updateStored } from './dedup.js';
import type { StateDigest } from './digest.js';
import { fail, ok, type Result } from './errors.js';
import { PermitTable, type PermitGrant, type PermitState, type PermitWaiter } from './permits.js';
import type { AcquireValue, CancelWaitValue, MachineEvent, ReleaseValue } from './results.js';
import type { SessionTable, Session } from './sessions.js';
import type { PermitResourceRecord } from './snapshot.js';
import { takePage } from './sorted-names.js';

/** The permits of an election: one, so it has one leader. */
export const ELECTION_PERMITS = 1;

/**
 * What a permit acquire asks for, in permits: the resource's count and this grant's weight.
 * @param electionPermits an election's count ({@link ELECTION_PERMITS}; 2 only for a negative control).
 */
export function permitTerms(
  cmd: AcquirePermitCommand,
  electionPermits = ELECTION_PERMITS,
): { readonly permits: number; readonly weight: number } {
  if (cmd.kind === 'rwlock') return { permits: RW_PERMITS, weight: cmd.mode === 'read' ? 1 : RW_PERMITS };
  if (cmd.kind === 'election') return { permits: electionPermits, weight: 1 };
  return { permits: cmd.permits, weight: cmd.weight ?? 1 };
}

/** `value` as an optional field: elections' grants and waits carry one, the other kinds' none. */
function valueField(value: string | undefined): { readonly value?: string } {
  return value === undefined ? {} : { value };
}

export class PermitMachine {
  private readonly tables: Readonly<Record<PermitKind, PermitTable>>;
  /** Resources whose queue may move at the end of this step, per kind. */
  private readonly moved: Record<PermitKind, Set<string>> = { semaphore: new Set(), rwlock: new Set(), election: new Set() };

  /**
   * @param sessions the machine's sessions (for deadlines and stored results).
   * @param releaseExtra negative control only: every release frees one permit more than held.
   * @param electionPermits an election's permit count: {@link ELECTION_PERMITS}, or 2 for the
   *   negative control that lets two leaders hold one election.
   */
  constructor(
    private readonly sessions: () => SessionTable,
    private readonly sum: StateDigest,
    releaseExtra = false,
    private readonly electionPermits = ELECTION_PERMITS,
  ) {
    this.tables = {
      semaphore: new PermitTable('semaphore', sum, releaseExtra),
      rwlock: new PermitTable('rwlock', sum, releaseExtra),
      election: new PermitTable('election', sum, releaseExtra),
    };
  }

  table(kind: PermitKind): PermitTable {
    return this.tables[kind];
  }

  /** Grants `session` holds, of every kind. */
  heldCount(session: number): number {
    return this.sumOf((t) => t.heldCount(session));
  }

  /** Waits `session` has queued, of every kind. */
  waitCount(session: number): number {
    return this.sumOf((t) => t.waitCount(session));
  }

  get waiterTotal(): number {
    return this.sumOf((t) => t.waiterTotal);
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const kind of PERMIT_KINDS) {
      const d = this.tables[kind].nextDeadline();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next;
  }

  /** Start of a step. */
  beginStep(): void {
    for (const kind of PERMIT_KINDS) this.moved[kind].clear();
  }

  grace(now: number, lastTime: number, maxExtensions: number): void {
    for (const kind of PERMIT_KINDS) this.tables[kind].grace(now, lastTime, maxExtensions);
  }

  /** Step 6a: every permit wait whose deadline passed leaves its queue, kind by kind. */
  timeouts(now: number, events: MachineEvent[]): void {
    for (const kind of PERMIT_KINDS) this.timeoutsOf(this.tables[kind], now, events);
  }

  private sumOf(f: (t: PermitTable) => number): number {
    let n = 0;
    for (const kind of PERMIT_KINDS) n += f(this.tables[kind]);
    return n;
  }

  private timeoutsOf(t: PermitTable, now: number, events: MachineEvent[]): void {
    for (let w = t.popDue(now); w !== undefined; w = t.popDue(now)) {
      this.dropWait(t, w);
      this.timedOut(t.kind, w, events);
    }
  }

  /** Step 6b and `close-session`, first part: the ended session's waits go (no events). */
  dropWaitsOf(session: number): void {
    for (const kind of PERMIT_KINDS) for (const w of this.tables[kind].waitsOfSession(session)) this.dropWait(this.tables[kind], w);
  }

  /** Then its grants are released, kind by kind (semaphores, readers-writer locks, elections), each in (name, seq) order. */
  releaseAllOf(session: number, events: MachineEvent[]): void {
    for (const kind of PERMIT_KINDS) {
      const t = this.tables[kind];
      for (const { grant } of t.grantsOfSession(session)) this.release(t, session, grant.seq, events);
    }
  }

  // ---- commands ------------------------------------------------------------------------------

  /**
   * The refusal of `acquire-permit` of session `session` by a resource's state, if any: a
   * semaphore's other permit count, or an election the session already campaigns in.
   */
  permitRefusal(cmd: AcquirePermitCommand, session: number): Result<never> | undefined {
    if (cmd.kind === 'election') {
      const seq = this.tables.election.campaignOf(session, cmd.name);
      if (seq === undefined) return undefined;
      return fail(
        'INVALID_ARGUMENT',
        `session ${session} already campaigns in election ${cmd.name} (acquire seq ${seq}); one campaign per session: resign or withdraw it first`,
      );
    }
    const r = this.table(cmd.kind).get(cmd.name);
    const { permits } = this.terms(cmd);
    if (r === undefined || r.permits === permits) return undefined;
    return fail(
      'INVALID_ARGUMENT',
      `semaphore ${cmd.name} has ${r.permits} permits while it is in use; this acquire says ${permits}: every user must give the same count`,
    );
  }

  /** Whether `cmd` would be granted at once: nobody waits, and its weight fits. */
  grantsNow(cmd: AcquirePermitCommand): boolean {
    const r = this.table(cmd.kind).get(cmd.name);
    return r === undefined || (r.queue.length === 0 && r.used + this.terms(cmd).weight <= r.permits);
  }

  /** Length of the queue `cmd` would join. */
  queueLength(cmd: AcquirePermitCommand): number {
    return this.table(cmd.kind).get(cmd.name)?.queue.length ?? 0;
  }

  /**
   * `acquire-permit` for `s` at `now` in entry `index`, the per-session limits already checked
   * by the caller (`waitsRefusal` is asked only when the acquire would queue).
   */
  acquire(
    cmd: AcquirePermitCommand,
    s: Session,
    now: number,
    index: number,
    waitsRefusal: () => Result<never> | undefined,
    maxWaiters: number,
  ): Result<AcquireValue> {
    const refused = this.permitRefusal(cmd, s.id);
    if (refused !== undefined) return refused;
    const t = this.table(cmd.kind);
    const { permits, weight } = this.terms(cmd);
    const value = valueField(cmd.kind === 'election' ? cmd.value : undefined);
    if (this.grantsNow(cmd)) {
      t.addGrant(cmd.name, permits, { session: s.id, seq: cmd.seq, weight, token: index, acquiredAt: now, ...value });
      return ok({ status: 'granted', token: index, acquiredAt: now, expiresAt: s.deadline });
    }
    if (cmd.waitMs === 0) return ok({ status: 'not-acquired' });
    const waits = waitsRefusal();
    if (waits !== undefined) return waits;
    const queued = this.queueLength(cmd);
    if (queued >= maxWaiters) {
      return fail('LIMIT_EXCEEDED', `${cmd.kind} ${cmd.name} already has ${queued} waiters (limit ${maxWaiters})`);
    }
    const w: PermitWaiter = {
      id: index,
      name: cmd.name,
      session: s.id,
      seq: cmd.seq,
      weight,
      ...value,
      deadline: now + cmd.waitMs,
      graceCount: 0,
    };
    t.enqueue(w, permits);
    return ok({ status: 'queued', position: t.position(w), deadline: w.deadline });
  }

  /** `release-permit`: gives back the grant of acquire `acquireSeq` of `s`. */
  releaseCommand(cmd: ReleasePermitCommand, s: Session, events: MachineEvent[]): Result<ReleaseValue> {
    const t = this.table(cmd.kind);
    const g = t.grantOf(s.id, cmd.acquireSeq);
    if (g === undefined || g.name !== cmd.name) {
      return fail('NOT_HELD', `${cmd.kind} ${cmd.name} is not held by session ${s.id} under acquire seq ${cmd.acquireSeq}`);
    }
    this.release(t, s.id, cmd.acquireSeq, events);
    return ok({ status: 'released', token: g.grant.token });
  }

  /** `cancel-permit`: withdraws the queued acquire `acquireSeq` of `s`, as `cancel-wait` does for locks. */
  cancel(cmd: CancelPermitCommand, s: Session, events: MachineEvent[], keepQueued: boolean): Result<CancelWaitValue> {
    const t = this.table(cmd.kind);
    const w = t.waiterOf(s.id, cmd.acquireSeq);
    if (w === undefined || w.name !== cmd.name) return ok({ status: 'not-waiting' });
    this.dropWait(t, w);
    events.push({ type: 'wait-cancelled', kind: t.kind, name: w.name, session: s.id, seq: w.seq });
    if (!keepQueued) updateStored(s, w.seq, ok({ status: 'cancelled' }), this.sum);
    return ok({ status: 'cancelled' });
  }

  /**
   * `proclaim`: the leader's value of election `cmd.name` becomes `cmd.value`, if `s` leads it
   * with exactly `cmd.token`; otherwise `NOT_HELD` and nothing changes.
   */
  proclaim(cmd: ProclaimCommand, s: Session): Result<null> {
    const grant = this.leaderGrant(cmd.name, s.id, cmd.token);
    if (grant === undefined) {
      return fail('NOT_HELD', `election ${cmd.name} is not led by session ${s.id} with token ${cmd.token}: only its leader may proclaim`);
    }
    this.tables.election.setValue(cmd.name, grant, cmd.value);
    return ok(null);
  }

  /** The queued position of acquire `seq` of `session`, if it waits (a retry's answer). */
  queuedAgain(session: number, seq: number): AcquireValue | undefined {
    for (const kind of PERMIT_KINDS) {
      const t = this.tables[kind];
      const w = t.waiterOf(session, seq);
      if (w !== undefined) return { status: 'queued', position: t.position(w), deadline: w.deadline };
    }
    return undefined;
  }

  /**
   * Whether a fence with a `kind` holds for a write of `session`: it holds a grant of the
   * resource with the token (of a readers-writer lock, in write mode; of an election, as its leader).
   */
  fenceHolds(f: Fence & { readonly kind: PermitKind }, session: number): boolean {
    if (f.kind === 'election') return this.leaderGrant(f.lock, session, f.token) !== undefined;
    return this.table(f.kind)
      .grantsOfSession(session)
      .some(({ name, grant }) => name === f.lock && grant.token === f.token && (f.kind === 'semaphore' || grant.weight === RW_PERMITS));
  }

  /** The grant by which `session` leads election `name` with `token`, if it does. O(the election's holders). */
  private leaderGrant(name: string, session: number, token: number): PermitGrant | undefined {
    return this.tables.election.get(name)?.holders.find((g) => g.session === session && g.token === token);
  }

  // ---- end of the step -----------------------------------------------------------------------

  /**
   * Every resource whose queue may move goes on, in name order per kind (semaphores first): its
   * first waiter is granted while it fits, with this entry's index as token.
   */
  handOffs(now: number, index: number, events: MachineEvent[]): void {
    // Every entry comes here; most moved nothing, and should cost nothing.
    for (const kind of PERMIT_KINDS) if (this.moved[kind].size > 0) this.handOffAll(this.tables[kind], now, index, events);
  }

  private handOffAll(t: PermitTable, now: number, index: number, events: MachineEvent[]): void {
    for (const name of [...this.moved[t.kind]].sort()) this.handOff(t, name, now, index, events);
  }

  private handOff(t: PermitTable, name: string, now: number, index: number, events: MachineEvent[]): void {
    for (let r = t.get(name), w = r?.queue[0]; r !== undefined && w !== undefined; r = t.get(name), w = r?.queue[0]) {
      const ws = this.sessions().get(w.session);
      // Cannot happen (step 6 ran first, and a close drops its waits); kept as for locks.
      if (ws === undefined || ws.deadline <= now || w.deadline <= now) {
        this.dropWait(t, w);
        this.timedOut(t.kind, w, events);
        continue;
      }
      if (r.used + w.weight > r.permits) return;
      t.addGrant(name, r.permits, {
        session: w.session,
        seq: w.seq,
        weight: w.weight,
        token: index,
        acquiredAt: now,
        ...valueField(w.value),
      });
      t.removeWaiter(w);
      const grant = { token: index, acquiredAt: now, expiresAt: ws.deadline };
      events.push({ type: 'granted', kind: t.kind, name, session: w.session, seq: w.seq, ...grant });
      updateStored(ws, w.seq, ok({ status: 'granted', ...grant }), this.sum);
    }
  }

  // ---- queries -------------------------------------------------------------------------------

  semaphoreInfo(name: string): SemaphoreInfo {
    const r = this.tables.semaphore.get(name);
    if (r === undefined) return { holders: [], holderCount: 0, waiters: 0 };
    const holders = this.holders(r).map(([info, weight]) => ({ ...info, weight }));
    return { permits: r.permits, available: r.permits - r.used, holders, holderCount: r.holders.length, waiters: r.queue.length };
  }

  rwlockInfo(name: string): RwLockInfo {
    const r = this.tables.rwlock.get(name);
    if (r === undefined || r.holders.length === 0) return { mode: 'free', holders: [], holderCount: 0, waiters: r?.queue.length ?? 0 };
    const holders = this.holders(r).map(([info, weight]) => ({
      ...info,
      mode: weight === RW_PERMITS ? ('write' as const) : ('read' as const),
    }));
    const mode = r.used === RW_PERMITS && r.holders.length === 1 ? 'write' : 'read';
    return { mode, holders, holderCount: r.holders.length, waiters: r.queue.length };
  }

  /**
   * An election's leader and how many candidates wait. The leader is its first holder: it has
   * only one (but under the `twoLeaders` negative control, which shows the first).
   */
  electionInfo(name: string): ElectionInfoValue {
    const r = this.tables.election.get(name);
    const g = r?.holders[0];
    const candidates = r?.queue.length ?? 0;
    if (g === undefined) return { leader: null, candidates };
    const expiresAt = this.sessions().get(g.session)?.deadline ?? 0;
    return {
      leader: { sessionId: g.session, fencingToken: g.token, value: g.value ?? '', acquiredAt: g.acquiredAt, expiresAt },
      candidates,
    };
  }

  /**
   * A page of the resources of `kind` in use whose names start with `prefix`, after `after`, in
   * name order, each with what its kind's info answers (docs/design.md#listing). O(page).
   */
  list<K extends PermitKind>(kind: K, args: ListArgs): ListPage<PermitListEntry<K>> {
    const names = this.tables[kind].namesFrom(args.prefix ?? '', args.after);
    return takePage(names, args.limit ?? DEFAULT_LIST_LIMIT, (name) => ({ name, ...this.info(kind, name) }) as PermitListEntry<K>);
  }

  private info(kind: PermitKind, name: string): SemaphoreInfo | RwLockInfo | ElectionInfoValue {
    return kind === 'election' ? this.electionInfo(name) : kind === 'rwlock' ? this.rwlockInfo(name) : this.semaphoreInfo(name);
  }

  private holders(r: PermitState): Array<[{ sessionId: number; fencingToken: number; acquiredAt: number; expiresAt: number }, number]> {
    return r.holders
      .slice(0, MAX_LISTED_HOLDERS)
      .map((g) => [
        { sessionId: g.session, fencingToken: g.token, acquiredAt: g.acquiredAt, expiresAt: this.sessions().get(g.session)?.deadline ?? 0 },
        g.weight,
      ]);
  }

  // ---- snapshots -----------------------------------------------------------------------------

  /** A table as snapshot records, in name order. */
  records(kind: PermitKind): PermitResourceRecord[] {
    return this.table(kind)
      .sorted()
      .map(([name, r]) => ({
        name,
        permits: r.permits,
        holders: r.holders.map((g) => ({
          session: g.session,
          seq: g.seq,
          weight: g.weight,
          token: g.token,
          acquiredAt: g.acquiredAt,
          ...valueField(g.value),
        })),
        waiters: r.queue.map((w) => ({
          id: w.id,
          session: w.session,
          seq: w.seq,
          weight: w.weight,
          ...valueField(w.value),
          deadline: w.deadline,
          graceCount: w.graceCount,
        })),
      }));
  }

  /**
   * Fills an empty table from snapshot records. Throws on an election whose permit count is not
   * this machine's, or whose grants and waits lack values (a snapshot of another configuration).
   */
  restore(kind: PermitKind, records: readonly PermitResourceRecord[]): void {
    const t = this.table(kind);
    for (const r of records) {
      if (kind === 'election') this.checkElection(r);
      for (const g of r.holders) t.addGrant(r.name, r.permits, { ...g });
      r.waiters.forEach((w, k) => {
        const before = r.waiters[k - 1];
        if (before !== undefined && before.id >= w.id)
          throw new Error(`state machine snapshot: ${kind} ${r.name}: waiter ${w.id} queued after waiter ${before.id}`);
        t.enqueue({ ...w, name: r.name }, r.permits);
      });
    }
  }

  private checkElection(r: PermitResourceRecord): void {
    if (r.permits !== this.electionPermits)
      throw new Error(`state machine snapshot: election ${r.name} has ${r.permits} permits, not ${this.electionPermits}`);
    if ([...r.holders, ...r.waiters].some((x) => x.value === undefined || x.weight !== 1))
      throw new Error(`state machine snapshot: election ${r.name}: a campaign without a value or of weight other than 1`);
  }

  // ---- internals -----------------------------------------------------------------------------

  private terms(cmd: AcquirePermitCommand): { readonly permits: number; readonly weight: number } {
    return permitTerms(cmd, this.electionPermits);
  }

  private release(t: PermitTable, session: number, seq: number, events: MachineEvent[]): void {
    const gone = t.removeGrant(session, seq);
    if (gone === undefined) return;
    events.push({ type: 'lock-released', kind: t.kind, name: gone.name, session, token: gone.grant.token });
    if (t.get(gone.name) !== undefined) this.moved[t.kind].add(gone.name);
  }

  /** `w` leaves its queue; those behind it may fit now. */
  private dropWait(t: PermitTable, w: PermitWaiter): void {
    t.removeWaiter(w);
    if (t.get(w.name) !== undefined) this.moved[t.kind].add(w.name);
  }

  private timedOut(kind: PermitKind, w: PermitWaiter, events: MachineEvent[]): void {
    events.push({ type: 'wait-timeout', kind, name: w.name, session: w.session, seq: w.seq });
    const s = this.sessions().get(w.session);
    if (s !== undefined) updateStored(s, w.seq, ok({ status: 'timed-out' }), this.sum);
  }
}
