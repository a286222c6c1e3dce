/**
 * A named counter of the cluster: linearizable, exactly-once writes (docs/design.md#counters),
 * and its values as they change (`watch()`).
 */
import type { ClientCommandType, OpValues, PermitKind, RequestOf } from '../protocol/index.js';
import type { CallOptions } from './cluster-client.js';
import { InvalidArgumentError } from './errors.js';
import { type IndexedRead, type Watch, type WatchOptions } from './watch.js';

/**
 * A fenced write (docs/design.md#fenced-writes): applied only while `lock` is held with exactly
 * `token`, whoever writes.
 *
 * With `kind`, `lock` names a semaphore, a readers-writer lock or an election instead
 * (docs/design.md#semaphores-and-readers-writer-locks, docs/design.md#leader-elections), and the
 * write is applied only while **the writing client's session** holds a grant of it with exactly
 * `token` (of a readers-writer lock: a write grant, a fence with a read grant's token is always
 * `FENCED`; of an election: its leadership). `Permit.fence`, `RwLockGrant.fence` and
 * `Leadership.fence` build it.
 */
export interface Fence {
  /** The lock's name (or the semaphore's, or the readers-writer lock's, with `kind`). */
  readonly lock: string;
  /** The fencing token the writer holds it with. */
  readonly token: number;
  /** What `lock` names, when it is not a lock: `semaphore`, `rwlock` or `election`. */
  readonly kind?: PermitKind;
}

/** Options of counter writes. */
export interface WriteOptions extends CallOptions {
  /** Refuse the write with `FENCED` unless the lock (or, with `kind`, the grant) is still held with this token. */
  readonly fence?: Fence;
}

/** Options of {@link Counter.get}. */
export interface GetOptions extends CallOptions {
  /** Read the answering node's state as it is (may be stale) instead of a linearizable read. */
  readonly stale?: boolean;
}

/** Ops written under the client's own session. @internal */
export type SessionWriteOp = Exclude<ClientCommandType, 'open-session' | 'keep-alive'>;

/**
 * A session write without the session fields, which the client adds per attempt; member by
 * member (the request of one op may itself be a union: `acquire-permit`). @internal
 */
export type WriteBody =
  RequestOf<SessionWriteOp> extends infer R ? (R extends unknown ? Omit<R, 'session' | 'seq' | 'ackedSeq' | 'fence'> : never) : never;

/** A read that needs no session. @internal */
export type ReadBody =
  | RequestOf<'counter-get'>
  | RequestOf<'lock-info'>
  | RequestOf<'semaphore-info'>
  | RequestOf<'rwlock-info'>
  | RequestOf<'election-info'>
  | RequestOf<'list-locks'>
  | RequestOf<'list-counters'>;

/**
 * What reads the state and then follows its changes: a linearizable or stale read with the index
 * it holds, and watches. The client is one; so are the CLI's session-less reads. @internal
 */
export interface StateSource {
  readIndexed<B extends ReadBody>(body: B, opts: CallOptions): Promise<IndexedRead<OpValues[B['op']]>>;
  watch(opts: WatchOptions): Watch;
}

/** What a {@link Counter} needs from its client. @internal */
export interface CounterOwner extends StateSource {
  write<B extends WriteBody>(body: B, opts: WriteOptions): Promise<OpValues[B['op']]>;
  read<B extends ReadBody>(body: B, opts: CallOptions): Promise<OpValues[B['op']]>;
}

/** A value of a counter, and the index of the log entry that gave it ({@link Counter.watch}). */
export interface CounterValue {
  readonly value: number;
  readonly index: number;
}

/** Options of {@link Counter.watch}. */
export interface CounterWatchOptions {
  /** Ends the iteration: a pending `next()` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * The values of counter `name` (see {@link Counter.watch}), from `source`: its value now, then
 * each change, as a watch of its `counter-changed` events from the index after that read. @internal
 */
export async function* counterValues(
  source: StateSource,
  name: string,
  opts: CounterWatchOptions = {},
): AsyncGenerator<CounterValue, void, undefined> {
  const { signal } = opts;
  const call = signal !== undefined ? { signal } : {};
  const first = await source.readIndexed({ op: 'counter-get', name }, call);
  yield first;
  const watch = source.watch({ prefix: name, kinds: ['counter'], fromIndex: first.index + 1, ...call });
  try {
    for (;;) {
      const r = await watch.nextEntry();
      if (r.done === true) return;
      for (const ev of r.value) {
        if (ev.type === 'counter-changed' && ev.name === name && typeof ev.value === 'number') yield { value: ev.value, index: ev.index };
      }
    }
  } finally {
    await watch.return();
  }
}

function checkInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new InvalidArgumentError(`${field} must be a safe integer, got ${String(v)}`, field);
  return v;
}

/** A counter, by name. Values are safe integers; a missing counter reads 0. */
export class Counter {
  /** @internal Created by {@link RaftlockClient.counter}. */
  constructor(
    private readonly owner: CounterOwner,
    /** The counter's name. */
    readonly name: string,
  ) {}

  /** Adds `delta` (may be negative) exactly once; returns the new value. */
  async add(delta: number, opts: WriteOptions = {}): Promise<number> {
    return this.owner.write({ op: 'counter-add', name: this.name, delta: checkInt(delta, 'delta') }, opts);
  }

  /** Adds 1; returns the new value. */
  increment(opts: WriteOptions = {}): Promise<number> {
    return this.add(1, opts);
  }

  /** Subtracts 1; returns the new value. */
  decrement(opts: WriteOptions = {}): Promise<number> {
    return this.add(-1, opts);
  }

  /** The value: linearizable by default, or the answering node's (maybe stale) view with `stale`. */
  async get(opts: GetOptions = {}): Promise<number> {
    const body: RequestOf<'counter-get'> =
      opts.stale === true ? { op: 'counter-get', name: this.name, stale: true } : { op: 'counter-get', name: this.name };
    return this.owner.read(body, opts);
  }

  /** Sets the value; returns the previous one. */
  async set(value: number, opts: WriteOptions = {}): Promise<number> {
    return this.owner.write({ op: 'counter-set', name: this.name, value: checkInt(value, 'value') }, opts);
  }

  /** Sets `next` if the value is `expected`; returns whether it did. */
  async compareAndSet(expected: number, next: number, opts: WriteOptions = {}): Promise<boolean> {
    return this.owner.write(
      { op: 'counter-cas', name: this.name, expected: checkInt(expected, 'expected'), next: checkInt(next, 'next') },
      opts,
    );
  }

  /** Deletes the counter (it reads 0 afterwards); returns the previous value. */
  async delete(opts: WriteOptions = {}): Promise<number> {
    return this.owner.write({ op: 'counter-delete', name: this.name }, opts);
  }

  /**
   * Its value now (a linearizable read), then every change, each with the index of the log entry
   * that made it: an async iterator that ends when you `break` (or its `signal` aborts). A write
   * that leaves the value as it was (`add(0)`, a failed `compareAndSet`) is no change. It rides
   * out failovers and reconnects as a watch does, and ends as one does (`CompactedError`,
   * `LimitExceededError` for a consumer that falls behind: see `client.watch()`).
   *
   * ```ts
   * for await (const { value, index } of client.counter('hits').watch()) console.log(`hits = ${value} at ${index}`);
   * ```
   */
  watch(opts: CounterWatchOptions = {}): AsyncGenerator<CounterValue, void, undefined> {
    return counterValues(this.owner, this.name, opts);
  }
}
