/**
 * Locks and their FIFO waiter queues (docs/design.md#locks) — the data structure only; the
 * rules of when to grant live in lock-machine.ts.
 *
 * A waiter waits for one lock (`acquire`) or for several at once (`acquire-all`,
 * docs/design.md#all-or-nothing-multi-locks): it is in the queue of each of its names, and is
 * granted all of them together, when it is first in every one of those queues and each of
 * those locks is free. Meanwhile it holds none of them, but it is still first: a lock whose
 * first waiter is an all-or-nothing wait stays free, reserved for it, rather than go to
 * someone behind it (strict FIFO, so the wait is never starved).
 *
 * Invariants (checked by the property tests):
 * - at most one holder per lock;
 * - between apply steps, a lock with waiters has a holder, or its first waiter is an
 *   all-or-nothing wait that cannot be granted yet (another of its locks is held or has an
 *   earlier waiter); a lock with neither holder nor waiters is not stored at all;
 * - a session appears at most once in a lock's queue, and never in the queue of a lock it holds;
 * - every waiter is in the queue of each of its names and in the waiter index; its id (the
 *   index of the entry that queued it) is unique, and orders its timeout among equal deadlines.
 * - a deadline changes only by leader-change grace ({@link LockTable.grace}), which moves no
 *   waiter in its queue: FIFO order is the order of queueing, whatever the deadlines.
 * - so a queue is in waiter-id order (it only appends, with the id of a later entry, and
 *   removes), which the state digest relies on (digest.ts) and a restore checks.
 */
import { DeadlineQueue } from './deadline-queue.js';
import type { StateDigest } from './digest.js';
import { SortedNames } from './sorted-names.js';

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
  /** The locks it waits for: one, or several distinct ones in name order (`acquire-all`). */
  readonly names: readonly string[];
  readonly session: number;
  readonly seq: number;
  /** Log time at which the wait times out; raised only by leader-change grace. */
  deadline: number;
  /** Grace extensions this wait has had (at most `maxGraceExtensions` in its life). */
  graceCount: number;
}

export interface LockState {
  holder: Holder | undefined;
  readonly queue: Waiter[];
}

export class LockTable {
  private readonly locks = new Map<string, LockState>();
  /** The names of `locks`, in order (listing, snapshots). */
  private readonly names = new SortedNames();
  private readonly waiters = new Map<number, Waiter>();
  /** Locks with a holder. */
  private held = 0;
  /** session → names of the locks it holds. */
  private readonly heldBy = new Map<number, Set<string>>();
  /** session → its waiters, by lock name. */
  private readonly waitsOf = new Map<number, Map<string, Waiter>>();
  /** Live iff the waiter is still queued with this deadline (grace leaves the old entry behind). */
  private readonly due = new DeadlineQueue<{ readonly at: number; readonly tie: number }>(
    (d) => this.waiters.get(d.tie)?.deadline === d.at,
  );

  /**
   * @param digest the state digest, told of every change to a holder or a waiter (digest.ts).
   * @param lifo negative control only: hand a freed lock to the *last* waiter (breaks FIFO).
   */
  constructor(
    private readonly digest: StateDigest,
    private readonly lifo = false,
  ) {}

  get(name: string): LockState | undefined {
    return this.locks.get(name);
  }

  /** Locks in name order (snapshots). */
  sorted(): Array<[string, LockState]> {
    return [...this.names.all()].map((name) => [name, this.locks.get(name) as LockState]);
  }

  /** Names of the stored locks (held, or with waiters) that start with `prefix`, after `after`, in order. */
  namesFrom(prefix: string, after: string | undefined): IterableIterator<string> {
    return this.names.from(prefix, after);
  }

  get waiterCount(): number {
    return this.waiters.size;
  }

  /** Locks held now, by anyone. O(1). */
  get heldTotal(): number {
    return this.held;
  }

  /** Acquires queued now, on every lock. O(1). */
  get waiterTotal(): number {
    return this.waiters.size;
  }

  /** How many locks `session` holds. O(1). */
  heldCount(session: number): number {
    return this.heldBy.get(session)?.size ?? 0;
  }

  /** How many locks `session` waits for (an all-or-nothing wait counts each of its names). O(1). */
  waitCount(session: number): number {
    return this.waitsOf.get(session)?.size ?? 0;
  }

  /** Names of the locks `session` holds, in name order. */
  heldNames(session: number): string[] {
    return [...(this.heldBy.get(session) ?? [])].sort();
  }

  waiterOf(name: string, session: number): Waiter | undefined {
    return this.waitsOf.get(session)?.get(name);
  }

  /** 1-based place of `w` in the queue of its first name. */
  position(w: Waiter): number {
    const q = this.locks.get(w.names[0] as string)?.queue ?? [];
    return q.indexOf(w) + 1;
  }

  /** Makes `session` the holder of the free lock `name`. */
  setHolder(name: string, holder: Holder): void {
    let lock = this.locks.get(name);
    if (lock === undefined) {
      lock = { holder: undefined, queue: [] };
      this.locks.set(name, lock);
      this.names.add(name);
    }
    if (lock.holder !== undefined) this.digest.lock(-1, name, lock.holder);
    else this.held++;
    lock.holder = holder;
    this.digest.lock(1, name, holder);
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
    this.held--;
    this.digest.lock(-1, name, holder);
    const held = this.heldBy.get(holder.session);
    held?.delete(name);
    if (held !== undefined && held.size === 0) this.heldBy.delete(holder.session);
    if (lock.queue.length === 0) this.drop(name);
    return holder;
  }

  /**
   * Appends `w` to the queue of each of its names. A lock that is free and unqueued gets an
   * entry with no holder: reserved for `w` (an all-or-nothing wait for locks of which another
   * is held). Waiters must be enqueued in id order (their queues stay in id order).
   */
  enqueue(w: Waiter): void {
    for (const name of w.names) {
      let lock = this.locks.get(name);
      if (lock === undefined) {
        lock = { holder: undefined, queue: [] };
        this.locks.set(name, lock);
        this.names.add(name);
      }
      lock.queue.push(w);
    }
    this.index(w);
  }

  /** The waiter a free lock goes to next: the first (the last under the LIFO bug). */
  next(name: string): Waiter | undefined {
    const q = this.locks.get(name)?.queue;
    if (q === undefined || q.length === 0) return undefined;
    return this.lifo ? q[q.length - 1] : q[0];
  }

  /**
   * Removes `w` from the queue of each of its names and from the indexes (granted, timed out,
   * withdrawn, or its session ended). A lock left with neither holder nor waiters is dropped.
   */
  removeWaiter(w: Waiter): void {
    for (const name of w.names) {
      const lock = this.locks.get(name);
      if (lock === undefined) continue;
      const k = lock.queue.indexOf(w);
      if (k >= 0) lock.queue.splice(k, 1);
      if (lock.queue.length === 0 && lock.holder === undefined) this.drop(name);
    }
    this.unindex(w);
  }

  /** The session's waiters, in lock-name order. */
  waitsOfSession(session: number): Waiter[] {
    const m = this.waitsOf.get(session);
    if (m === undefined) return [];
    // An all-or-nothing wait is indexed under each of its names: once, by its first.
    const ws = [...new Set(m.values())];
    const first = (w: Waiter): string => w.names[0] as string;
    return ws.sort((a, b) => (first(a) < first(b) ? -1 : first(a) > first(b) ? 1 : 0));
  }

  /** Pops the next waiter with `deadline ≤ now` in (deadline, id) order; it stays queued. */
  popDue(now: number): Waiter | undefined {
    const d = this.due.popDue(now);
    return d === undefined ? undefined : this.waiters.get(d.tie);
  }

  nextDeadline(): number | undefined {
    return this.due.peek()?.at;
  }

  /**
   * Leader-change grace for waits, at the first stamped entry of a new term, at log time `now`;
   * `lastTime` is the log time of the last stamped entry before it (so of an earlier term).
   * Each wait keeps what it had left at `lastTime`: its deadline becomes at least
   * `now + (deadline − lastTime)`, i.e. the jump of log time across the leader change does not
   * count against it (docs/design.md#time-in-the-state-machine). A wait that has had
   * `maxExtensions` already gets none, and only an actual raise counts. Queues keep their order.
   */
  grace(now: number, lastTime: number, maxExtensions: number): void {
    if (now <= lastTime) return; // no jump, nothing to give (and nothing counted)
    // Waiter id order, so the walk does not depend on insertion history (after a restore).
    for (const w of [...this.waiters.values()].sort((a, b) => a.id - b.id)) {
      const target = now + (w.deadline - lastTime);
      if (w.deadline >= target || w.graceCount >= maxExtensions) continue;
      for (const name of w.names) this.digest.waiter(-1, name, w);
      w.graceCount++;
      w.deadline = target;
      for (const name of w.names) this.digest.waiter(1, name, w);
      this.due.push({ at: target, tie: w.id });
    }
    this.compact();
  }

  private drop(name: string): void {
    this.locks.delete(name);
    this.names.delete(name);
  }

  private index(w: Waiter): void {
    this.waiters.set(w.id, w);
    let m = this.waitsOf.get(w.session);
    if (m === undefined) this.waitsOf.set(w.session, (m = new Map<string, Waiter>()));
    for (const name of w.names) {
      this.digest.waiter(1, name, w);
      m.set(name, w);
    }
    this.due.push({ at: w.deadline, tie: w.id });
  }

  private unindex(w: Waiter): void {
    if (this.waiters.get(w.id) === w) for (const name of w.names) this.digest.waiter(-1, name, w);
    this.waiters.delete(w.id);
    const m = this.waitsOf.get(w.session);
    for (const name of w.names) m?.delete(name);
    if (m !== undefined && m.size === 0) this.waitsOf.delete(w.session);
    this.compact();
  }

  /** Keeps the heap within a constant factor of the live waiters (stale entries dropped). */
  private compact(): void {
    if (this.due.size > 2 * this.waiters.size + 64) {
      this.due.rebuild([...this.waiters.values()].map((x) => ({ at: x.deadline, tie: x.id })));
    }
  }
}
