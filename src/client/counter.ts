/**
 * A named counter of the cluster: linearizable, exactly-once writes (docs/design.md#counters).
 */
import type { ClientCommandType, OpValues, RequestOf } from '../protocol/index.js';
import type { CallOptions } from './cluster-client.js';
import { InvalidArgumentError } from './errors.js';

/**
 * A fenced write (docs/design.md#fenced-writes): applied only while `lock` is held with exactly
 * `token`, whoever writes.
 *
 * With `kind`, `lock` names a semaphore or a readers-writer lock instead
 * (docs/design.md#semaphores-and-readers-writer-locks), and the write is applied only while
 * **the writing client's session** holds a grant of it with exactly `token` (of a readers-writer
 * lock: a write grant; a fence with a read grant's token is always `FENCED`). `Permit.fence`
 * and `RwLockGrant.fence` build it.
 */
export interface Fence {
  /** The lock's name (or the semaphore's, or the readers-writer lock's, with `kind`). */
  readonly lock: string;
  /** The fencing token the writer holds it with. */
  readonly token: number;
  /** What `lock` names, when it is not a lock: `semaphore` or `rwlock`. */
  readonly kind?: 'semaphore' | 'rwlock';
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
  | RequestOf<'list-locks'>
  | RequestOf<'list-counters'>;

/** What a {@link Counter} needs from its client. @internal */
export interface CounterOwner {
  write<B extends WriteBody>(body: B, opts: WriteOptions): Promise<OpValues[B['op']]>;
  read<B extends ReadBody>(body: B, opts: CallOptions): Promise<OpValues[B['op']]>;
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
}
