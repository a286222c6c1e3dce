/**
 * Locks and their FIFO waiter queues (docs/design.md#locks) — the data structure only; the
 * rules of when to grant live in lock-machine.ts.
 *
 * Invariants (checked by the property tests):
 * - at most one holder per lock;
 * - between apply steps, a lock with waiters has a holder (a lock freed during a step is
 *   handed to its first waiter at the end of that step), and a lock with neither is not
 *   stored at all;
 * - a session appears at most once in a lock's queue, and never in the queue of a lock it holds;
 * - every waiter is in exactly one queue and in the waiter index; its id (the index of the
 *   entry that queued it) is unique, and orders its timeout among equal deadlines.
 */
import { DeadlineQueue } from './deadline-queue.js';

export interface Holder {
  readonly session: number;
  /** Fencing token: index of the granting entry. */
  readonly token: number;
  readonly acquiredAt: number;
  /** Seq of the acquire this grant answers. */
  readonly seq: number;
}

export interface Waiter {
  /** Index of the entry that queued it (unique). */
  readonly id: number;
  readonly name: string;
  readonly session: number;
  readonly seq: number;
  readonly deadline: number;
}

export interface LockState {
  holder: Holder | undefined;
  readonly queue: Waiter[];
}

export class LockTable {
  private readonly locks = new Map<string, LockState>();
  private readonly waiters = new Map<number, Waiter>();
  /** session → names of the locks it holds. */
  private readonly heldBy = new Map<number, Set<string>>();
  /** session → its waiters, by lock name. */
  private readonly waitsOf = new Map<number, Map<string, Waiter>>();
  private readonly due = new DeadlineQueue<{ readonly at: number; readonly tie: number }>((d) => this.waiters.has(d.tie));

  /**
   * @param lifo negative control only: hand a freed lock to the *last* waiter (breaks FIFO).
   */
  constructor(private readonly lifo = false) {}

  get(name: string): LockState | undefined {
    return this.locks.get(name);
  }

  /** Locks in name order (snapshots). */
  sorted(): Array<[string, LockState]> {
    return [...this.locks.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  get waiterCount(): number {
    return this.waiters.size;
  }

  /** Names of the locks `session` holds, in name order. */
  heldNames(session: number): string[] {
    return [...(this.heldBy.get(session) ?? [])].sort();
  }

  waiterOf(name: string, session: number): Waiter | undefined {
    return this.waitsOf.get(session)?.get(name);
  }

  /** 1-based place of `w` in its queue. */
  position(w: Waiter): number {
    const q = this.locks.get(w.name)?.queue ?? [];
    return q.indexOf(w) + 1;
  }

  /** Makes `session` the holder of the free lock `name`. */
  setHolder(name: string, holder: Holder): void {
    let lock = this.locks.get(name);
    if (lock === undefined) {
      lock = { holder: undefined, queue: [] };
      this.locks.set(name, lock);
    }
    lock.holder = holder;
    let held = this.heldBy.get(holder.session);
    if (held === undefined) this.heldBy.set(holder.session, (held = new Set()));
    held.add(name);
  }

  /** Removes and returns the holder of `name` (the caller then hands the lock off). */
  clearHolder(name: string): Holder | undefined {
    const lock = this.locks.get(name);
    const holder = lock?.holder;
    if (lock === undefined || holder === undefined) return undefined;
    lock.holder = undefined;
    const held = this.heldBy.get(holder.session);
    held?.delete(name);
    if (held !== undefined && held.size === 0) this.heldBy.delete(holder.session);
    if (lock.queue.length === 0) this.locks.delete(name);
    return holder;
  }

  /** Appends `w` to its lock's queue (the lock must be held). */
  enqueue(w: Waiter): void {
    const lock = this.locks.get(w.name);
    if (lock === undefined) throw new Error(`state machine: enqueue on free lock ${w.name}`);
    lock.queue.push(w);
    this.index(w);
  }

  /** Adds a waiter as it is, at the end of its queue (restore, in queue order). */
  restoreWaiter(w: Waiter): void {
    this.enqueue(w);
  }

  /** Takes the waiter a free lock goes to next (the first; the last under the LIFO bug). */
  takeNext(name: string): Waiter | undefined {
    const lock = this.locks.get(name);
    if (lock === undefined || lock.queue.length === 0) return undefined;
    const w = (this.lifo ? lock.queue.pop() : lock.queue.shift()) as Waiter;
    if (lock.queue.length === 0 && lock.holder === undefined) this.locks.delete(name);
    this.unindex(w);
    return w;
  }

  /** Removes `w` from its queue and the indexes. */
  removeWaiter(w: Waiter): void {
    const lock = this.locks.get(w.name);
    if (lock !== undefined) {
      const k = lock.queue.indexOf(w);
      if (k >= 0) lock.queue.splice(k, 1);
      if (lock.queue.length === 0 && lock.holder === undefined) this.locks.delete(w.name);
    }
    this.unindex(w);
  }

  /** The session's waiters, in lock-name order. */
  waitsOfSession(session: number): Waiter[] {
    const m = this.waitsOf.get(session);
    if (m === undefined) return [];
    return [...m.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Pops the next waiter with `deadline ≤ now` in (deadline, id) order; it stays queued. */
  popDue(now: number): Waiter | undefined {
    const d = this.due.popDue(now);
    return d === undefined ? undefined : this.waiters.get(d.tie);
  }

  nextDeadline(): number | undefined {
    return this.due.peek()?.at;
  }

  private index(w: Waiter): void {
    this.waiters.set(w.id, w);
    let m = this.waitsOf.get(w.session);
    if (m === undefined) this.waitsOf.set(w.session, (m = new Map<string, Waiter>()));
    m.set(w.name, w);
    this.due.push({ at: w.deadline, tie: w.id });
  }

  private unindex(w: Waiter): void {
    this.waiters.delete(w.id);
    const m = this.waitsOf.get(w.session);
    m?.delete(w.name);
    if (m !== undefined && m.size === 0) this.waitsOf.delete(w.session);
    if (this.due.size > 2 * this.waiters.size + 64) {
      this.due.rebuild([...this.waiters.values()].map((x) => ({ at: x.deadline, tie: x.id })));
    }
  }
}
