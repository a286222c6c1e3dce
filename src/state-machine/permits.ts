/**
 * Semaphores, readers-writer locks and elections (docs/design.md#semaphores-and-readers-writer-locks,
 * docs/design.md#leader-elections): the data structure only; when to grant is
 * permit-machine.ts's. One table per kind, the same code: a readers-writer lock is a semaphore
 * of {@link RW_PERMITS} permits where a read takes one and a write takes them all; an election
 * is a semaphore of one permit whose grant carries the leader's value.
 *
 * A resource has a permit count, fixed while anyone holds or awaits it, its grants (each of one
 * acquire, identified by its session and the acquire's seq, with a weight and a token) and a
 * FIFO queue of waits. Invariants (checked by the property tests):
 * - the weights held add up to at most the permit count;
 * - between apply steps, the first waiter does not fit in what is free (otherwise it would have
 *   been granted): strict FIFO, so a heavy request is never starved by light ones;
 * - a resource with neither grants nor waits is not stored, and its permit count is forgotten;
 * - every waiter is in its resource's queue and in the waiter index; its id (the index of the
 *   entry that queued it) is unique, so a queue is in id order (appends only, and removals).
 */
import { DeadlineQueue } from './deadline-queue.js';
import type { StateDigest } from './digest.js';
import { SortedNames } from './sorted-names.js';
import { PERMIT_KINDS, RW_PERMITS, type PermitKind } from '../protocol/index.js';

export { PERMIT_KINDS, RW_PERMITS, type PermitKind };

/** A held grant of some of a resource's permits. */
export interface PermitGrant {
  readonly session: number;
  /** The seq of the acquire it answers: with the session, what names the grant. */
  readonly seq: number;
  readonly weight: number;
  /** Fencing token: the index of the granting entry (shared by the grants of one entry). */
  readonly token: number;
  readonly acquiredAt: number;
  /** An election's: the leader's value (its campaign's, or its last proclaim's); absent for other kinds. */
  value?: string;
}

export interface PermitWaiter {
  /** Index of the entry that queued it (unique). */
  readonly id: number;
  readonly name: string;
  readonly session: number;
  readonly seq: number;
  readonly weight: number;
  /** An election's: the value the candidate campaigns with, the leader's once granted. */
  readonly value?: string;
  /** Log time at which the wait times out; raised only by leader-change grace. */
  deadline: number;
  /** Grace extensions this wait has had. */
  graceCount: number;
}

export interface PermitState {
  readonly permits: number;
  /** Weights held, summed. */
  used: number;
  /** In the order granted (token, then the order of the grants within an entry). */
  readonly holders: PermitGrant[];
  readonly queue: PermitWaiter[];
}

function grantBefore(a: PermitGrant, b: PermitGrant): boolean {
  return a.token < b.token || (a.token === b.token && (a.session < b.session || (a.session === b.session && a.seq < b.seq)));
}

/** `session:seq`, the key of a grant or a wait. */
function key(session: number, seq: number): string {
  return `${session}:${seq}`;
}

export class PermitTable {
  private readonly resources = new Map<string, PermitState>();
  private readonly names = new SortedNames();
  private readonly waiters = new Map<number, PermitWaiter>();
  /** session → its grants, by `session:seq`. */
  private readonly grantsOf = new Map<number, Map<string, { readonly name: string; readonly grant: PermitGrant }>>();
  /** session → its waits, by `session:seq`. */
  private readonly waitsOf = new Map<number, Map<string, PermitWaiter>>();
  private readonly due = new DeadlineQueue<{ readonly at: number; readonly tie: number }>(
    (d) => this.waiters.get(d.tie)?.deadline === d.at,
  );

  /**
   * @param kind which primitive this table holds (its records in the digest say so).
   * @param digest the state digest, told of every change (digest.ts).
   * @param releaseExtra negative control only: a release frees one permit more than it held.
   */
  constructor(
    readonly kind: PermitKind,
    private readonly digest: StateDigest,
    private readonly releaseExtra = false,
  ) {}

  get(name: string): PermitState | undefined {
    return this.resources.get(name);
  }

  /** Resources in name order (snapshots). */
  sorted(): Array<[string, PermitState]> {
    return [...this.names.all()].map((name) => [name, this.resources.get(name) as PermitState]);
  }

  /** Names of the stored resources that start with `prefix`, after `after`, in order. */
  namesFrom(prefix: string, after: string | undefined): IterableIterator<string> {
    return this.names.from(prefix, after);
  }

  /** Grants `session` holds, across this table's resources. O(1). */
  heldCount(session: number): number {
    return this.grantsOf.get(session)?.size ?? 0;
  }

  /** Acquires `session` has queued in this table. O(1). */
  waitCount(session: number): number {
    return this.waitsOf.get(session)?.size ?? 0;
  }

  /** The grant of `session`'s acquire `seq`, if it holds it. */
  grantOf(session: number, seq: number): { readonly name: string; readonly grant: PermitGrant } | undefined {
    return this.grantsOf.get(session)?.get(key(session, seq));
  }

  /** The wait of `session`'s acquire `seq`, if it is queued. */
  waiterOf(session: number, seq: number): PermitWaiter | undefined {
    return this.waitsOf.get(session)?.get(key(session, seq));
  }

  /**
   * The seq of `session`'s grant of `name`, or of its wait for it, if any (O(its grants and
   * waits)): an election takes one campaign per session at a time.
   */
  campaignOf(session: number, name: string): number | undefined {
    for (const { name: n, grant } of this.grantsOf.get(session)?.values() ?? []) if (n === name) return grant.seq;
    for (const w of this.waitsOf.get(session)?.values() ?? []) if (w.name === name) return w.seq;
    return undefined;
  }

  /** Sets the value of `grant`, a grant of `name`: an election's leader proclaims. */
  setValue(name: string, grant: PermitGrant, value: string): void {
    this.digest.permitGrant(-1, this.kind, name, grant);
    grant.value = value;
    this.digest.permitGrant(1, this.kind, name, grant);
  }

  /** The session's grants in (name, seq) order. */
  grantsOfSession(session: number): Array<{ readonly name: string; readonly grant: PermitGrant }> {
    const m = this.grantsOf.get(session);
    if (m === undefined) return [];
    return [...m.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.grant.seq - b.grant.seq));
  }

  /** The session's waits in id order. */
  waitsOfSession(session: number): PermitWaiter[] {
    const m = this.waitsOf.get(session);
    return m === undefined ? [] : [...m.values()].sort((a, b) => a.id - b.id);
  }

  /** 1-based place of `w` in its queue. */
  position(w: PermitWaiter): number {
    return (this.resources.get(w.name)?.queue.indexOf(w) ?? -1) + 1;
  }

  /** The resource `name`, created with `permits` if it is not stored. */
  private open(name: string, permits: number): PermitState {
    let r = this.resources.get(name);
    if (r === undefined) {
      r = { permits, used: 0, holders: [], queue: [] };
      this.resources.set(name, r);
      this.names.add(name);
      this.digest.permits(1, this.kind, name, permits);
    }
    return r;
  }

  /** Drops `name` if nobody holds or awaits it: its permit count is forgotten. */
  private closeIfIdle(name: string): void {
    const r = this.resources.get(name);
    if (r === undefined || r.holders.length > 0 || r.queue.length > 0) return;
    this.resources.delete(name);
    this.names.delete(name);
    this.digest.permits(-1, this.kind, name, r.permits);
  }

  /** Adds `grant` to `name` (of `permits`; the caller checked it fits). */
  addGrant(name: string, permits: number, grant: PermitGrant): void {
    const r = this.open(name, permits);
    // Holders stay in (token, session, seq) order, so the set of grants determines the list.
    let k = r.holders.length;
    while (k > 0 && grantBefore(grant, r.holders[k - 1] as PermitGrant)) k--;
    r.holders.splice(k, 0, grant);
    r.used += grant.weight;
    this.digest.permitGrant(1, this.kind, name, grant);
    let m = this.grantsOf.get(grant.session);
    if (m === undefined) this.grantsOf.set(grant.session, (m = new Map<string, { readonly name: string; readonly grant: PermitGrant }>()));
    m.set(key(grant.session, grant.seq), { name, grant });
  }

  /** Removes the grant of `session`'s acquire `seq`; returns it with its resource's name. */
  removeGrant(session: number, seq: number): { readonly name: string; readonly grant: PermitGrant } | undefined {
    const m = this.grantsOf.get(session);
    const k = key(session, seq);
    const found = m?.get(k);
    if (m === undefined || found === undefined) return undefined;
    const r = this.resources.get(found.name) as PermitState;
    r.holders.splice(r.holders.indexOf(found.grant), 1);
    r.used -= found.grant.weight + (this.releaseExtra && r.used > found.grant.weight ? 1 : 0);
    this.digest.permitGrant(-1, this.kind, found.name, found.grant);
    m.delete(k);
    if (m.size === 0) this.grantsOf.delete(session);
    this.closeIfIdle(found.name);
    return found;
  }

  /** Appends `w` to its resource's queue (created with `permits` if need be). Ids increase. */
  enqueue(w: PermitWaiter, permits: number): void {
    this.open(w.name, permits).queue.push(w);
    this.waiters.set(w.id, w);
    this.digest.permitWaiter(1, this.kind, w.name, w);
    let m = this.waitsOf.get(w.session);
    if (m === undefined) this.waitsOf.set(w.session, (m = new Map<string, PermitWaiter>()));
    m.set(key(w.session, w.seq), w);
    this.due.push({ at: w.deadline, tie: w.id });
  }

  /** Removes `w` from its queue and the indexes. */
  removeWaiter(w: PermitWaiter): void {
    const r = this.resources.get(w.name);
    if (r !== undefined) {
      const k = r.queue.indexOf(w);
      if (k >= 0) r.queue.splice(k, 1);
    }
    if (this.waiters.get(w.id) === w) this.digest.permitWaiter(-1, this.kind, w.name, w);
    this.waiters.delete(w.id);
    const m = this.waitsOf.get(w.session);
    m?.delete(key(w.session, w.seq));
    if (m !== undefined && m.size === 0) this.waitsOf.delete(w.session);
    this.closeIfIdle(w.name);
    this.compact();
  }

  /** Pops the next waiter with `deadline ≤ now` in (deadline, id) order; it stays queued. */
  popDue(now: number): PermitWaiter | undefined {
    const d = this.due.popDue(now);
    return d === undefined ? undefined : this.waiters.get(d.tie);
  }

  nextDeadline(): number | undefined {
    return this.due.peek()?.at;
  }

  /** Leader-change grace for waits, as for lock waits (locks.ts, `LockTable.grace`). */
  grace(now: number, lastTime: number, maxExtensions: number): void {
    if (now <= lastTime) return;
    for (const w of [...this.waiters.values()].sort((a, b) => a.id - b.id)) {
      const target = now + (w.deadline - lastTime);
      if (w.deadline >= target || w.graceCount >= maxExtensions) continue;
      this.digest.permitWaiter(-1, this.kind, w.name, w);
      w.graceCount++;
      w.deadline = target;
      this.digest.permitWaiter(1, this.kind, w.name, w);
      this.due.push({ at: target, tie: w.id });
    }
    this.compact();
  }

  get waiterTotal(): number {
    return this.waiters.size;
  }

  private compact(): void {
    if (this.due.size > 2 * this.waiters.size + 64) {
      this.due.rebuild([...this.waiters.values()].map((x) => ({ at: x.deadline, tie: x.id })));
    }
  }
}
