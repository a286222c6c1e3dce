/**
 * Named counters (docs/design.md#counters): signed safe integers, 0 by default.
 *
 * A counter reading 0 is not stored (absent ≡ 0), so the state is canonical — two histories
 * that leave the same values leave the same bytes — and `delete` is `set 0` that answers with
 * the previous value. Any result outside ±(2^53 − 1) is `OVERFLOW` and changes nothing.
 */
import type { StateDigest } from './digest.js';
import { SortedNames } from './sorted-names.js';
import { fail, ok, type Failure, type Result } from './errors.js';
import { MAX_COUNTER_MAGNITUDE } from '../protocol/index.js';

function inRange(v: number): boolean {
  return Number.isSafeInteger(v) && Math.abs(v) <= MAX_COUNTER_MAGNITUDE;
}

export class CounterTable {
  private readonly values = new Map<string, number>();
  /** The names of `values`, in order (listing, snapshots). */
  private readonly names = new SortedNames();

  /**
   * @param digest the state digest, told of every change (digest.ts).
   * @param staleDeletes negative control only: `delete` does not tell the digest (the
   *   `staleDigest` knob), so the digest no longer matches the state.
   */
  constructor(
    private readonly digest: StateDigest,
    /** Most non-zero counters (limits.maxCounters): a write that would add one more is refused. */
    private readonly maxCounters: number,
    private readonly staleDeletes = false,
  ) {}

  /**
   * `LIMIT_EXCEEDED` if setting `name` to `next` would add a counter beyond the bound: checked
   * by every write here, and asked by the leader's pre-check (LockMachine.limitRefusal).
   */
  full(name: string, next: number): Failure | undefined {
    if (next === 0 || this.values.has(name) || this.values.size < this.maxCounters) return undefined;
    return fail(
      'LIMIT_EXCEEDED',
      `the cluster already has ${this.values.size} counters (limit ${this.maxCounters}); delete some (a counter at 0 takes no room)`,
    );
  }

  get size(): number {
    return this.values.size;
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** Non-zero counters in name order (snapshots). */
  sorted(): Array<[string, number]> {
    return [...this.names.all()].map((name) => [name, this.values.get(name) as number]);
  }

  /** Names of the non-zero counters that start with `prefix`, after `after`, in order. */
  namesFrom(prefix: string, after: string | undefined): IterableIterator<string> {
    return this.names.from(prefix, after);
  }

  private put(name: string, value: number): void {
    const prev = this.values.get(name);
    if (prev !== undefined) this.digest.counter(-1, name, prev);
    if (value === 0) {
      if (prev !== undefined) this.forget(name);
    } else {
      if (prev === undefined) this.names.add(name);
      this.values.set(name, value);
      this.digest.counter(1, name, value);
    }
  }

  /** → the new value. */
  add(name: string, delta: number): Result<number> {
    const next = this.get(name) + delta;
    if (!inRange(next)) return fail('OVERFLOW', `counter ${name}: ${this.get(name)} + ${delta} leaves the safe-integer range`);
    const full = this.full(name, next);
    if (full !== undefined) return full;
    this.put(name, next);
    return ok(next);
  }

  /** → the previous value. */
  set(name: string, value: number): Result<number> {
    if (!inRange(value)) return fail('OVERFLOW', `counter ${name}: ${value} is outside the safe-integer range`);
    const full = this.full(name, value);
    if (full !== undefined) return full;
    const prev = this.get(name);
    this.put(name, value);
    return ok(prev);
  }

  /** → whether the value was `expected` and is now `next`. */
  compareAndSet(name: string, expected: number, next: number): Result<boolean> {
    if (!inRange(next)) return fail('OVERFLOW', `counter ${name}: ${next} is outside the safe-integer range`);
    if (this.get(name) !== expected) return ok(false);
    const full = this.full(name, next);
    if (full !== undefined) return full;
    this.put(name, next);
    return ok(true);
  }

  /** → the previous value; the counter reads 0 afterwards. */
  delete(name: string): Result<number> {
    const prev = this.get(name);
    if (this.staleDeletes) this.forget(name);
    else this.put(name, 0);
    return ok(prev);
  }

  private forget(name: string): void {
    if (this.values.delete(name)) this.names.delete(name);
  }

  /** Sets a stored value as it is (restore). */
  restore(name: string, value: number): void {
    this.put(name, value);
  }
}
