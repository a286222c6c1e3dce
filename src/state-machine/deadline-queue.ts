/**
 * A min-heap of deadlines with lazy deletion, ordered by `(at, tie)`.
 *
 * Used to find due sessions and waiters without scanning all of them on every entry. It is a
 * derived index, never part of a snapshot: entries are pushed whenever a deadline is set, and
 * an entry whose owner has since changed deadline or gone is *stale* — the caller's `isLive`
 * test says so and it is dropped when met. Since `(at, tie)` is a total order when `tie` is
 * unique per owner, the order in which due entries come out is independent of the heap's
 * internal layout and history — a rebuilt heap (after restore) yields the same sequence.
 */

export interface Deadline {
  readonly at: number;
  /** Unique per owner (a session id, a waiter id), so the order is total. */
  readonly tie: number;
}

function less(a: Deadline, b: Deadline): boolean {
  return a.at < b.at || (a.at === b.at && a.tie < b.tie);
}

export class DeadlineQueue<T extends Deadline> {
  private heap: T[] = [];

  constructor(private readonly isLive: (item: T) => boolean) {}

  get size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    const h = this.heap;
    h.push(item);
    let k = h.length - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      const p = h[parent] as T;
      if (!less(item, p)) break;
      h[k] = p;
      k = parent;
    }
    h[k] = item;
  }

  /** The earliest live entry, dropping stale ones on the way. */
  peek(): T | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || this.isLive(top)) return top;
      this.removeTop();
    }
  }

  /** Removes and returns the earliest live entry with `at ≤ now`, if any. */
  popDue(now: number): T | undefined {
    const top = this.peek();
    if (top === undefined || top.at > now) return undefined;
    this.removeTop();
    return top;
  }

  /**
   * Live entries with `at ≤ now`, in `(at, tie)` order, without removing anything; an owner
   * pushed twice with the same deadline is listed once.
   */
  collectDue(now: number, limit = Number.POSITIVE_INFINITY): T[] {
    const out: T[] = [];
    const h = this.heap;
    // Heap order: a node's children are never earlier, so prune at the first late node.
    const stack = [0];
    while (stack.length > 0) {
      const k = stack.pop() as number;
      const item = h[k];
      if (item === undefined || item.at > now) continue;
      if (this.isLive(item)) out.push(item);
      stack.push(2 * k + 1, 2 * k + 2);
    }
    out.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
    const unique = out.filter((d, k) => k === 0 || less(out[k - 1] as T, d));
    return unique.length > limit ? unique.slice(0, limit) : unique;
  }

  /** Rebuilds from `items` (all live), discarding every stale entry. */
  rebuild(items: Iterable<T>): void {
    this.heap = [];
    for (const item of items) this.push(item);
  }

  private removeTop(): void {
    const h = this.heap;
    const last = h.pop() as T;
    if (h.length === 0) return;
    let k = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(h[r] as T, h[l] as T) ? r : l;
      if (!less(h[c] as T, last)) break;
      h[k] = h[c] as T;
      k = c;
    }
    h[k] = last;
  }
}
