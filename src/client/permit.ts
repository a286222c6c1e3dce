/**
 * Semaphores and readers-writer locks in the SDK (docs/design.md#semaphores-and-readers-writer-locks):
 * the handles a client gives out ({@link Semaphore}, {@link RwLock}: no request until a method is
 * called) and the grants they take ({@link Permit}, {@link RwLockGrant}). The grants share all
 * their held-grant logic (signal, state, release, its completion in the background) with
 * `Lock` and `MultiLock` through `HeldGrant` (lock.ts), and are taken by the client's one
 * acquire flow, without local gates.
 */
import { MAX_PERMITS, type OpValues, type PermitKind, type RwLockInfo, type RwMode, type SemaphoreInfo } from '../protocol/index.js';
import type { LockInfoOptions, LockOptions } from './client.js';
import type { CallOptions } from './cluster-client.js';
import type { Fence, ReadBody } from './counter.js';
import { InvalidArgumentError } from './errors.js';
import { HeldGrant, runHolding, type AcquireBody, type GrantRequest, type LockOwner, type ReleaseBody } from './lock.js';
import type { Session } from './session.js';

/** What a {@link Semaphore} or an {@link RwLock} needs from its client. @internal */
export interface PermitOwner extends LockOwner {
  /** The acquire flow of `lock()`: waits within `opts`' limits, else `LockTimeoutError`. */
  waitForGrant<G extends HeldGrant>(request: GrantRequest<G>, opts: LockOptions): Promise<G>;
  /** The acquire flow of `tryLock()`: never waits; null when not granted now. */
  tryGrant<G extends HeldGrant>(request: GrantRequest<G>, opts: CallOptions): Promise<G | null>;
  read<B extends ReadBody>(body: B, opts: CallOptions): Promise<OpValues[B['op']]>;
}

/** Options of {@link Semaphore.acquire} and {@link Semaphore.withPermit}: those of `lock()`, and the weight. */
export interface PermitOptions extends LockOptions {
  /** How many of the semaphore's permits this grant takes (1 – `permits`; default 1). */
  readonly weight?: number;
}

/** Options of {@link Semaphore.tryAcquire}. */
export interface TryPermitOptions extends CallOptions {
  /** How many of the semaphore's permits this grant takes (1 – `permits`; default 1). */
  readonly weight?: number;
}

/** The release of the grant of acquire `acquireSeq`. */
function permitRelease(kind: PermitKind, name: string, acquireSeq: number): ReleaseBody {
  return { op: 'release-permit', kind, name, acquireSeq };
}

/** How messages name a grant of a semaphore. */
function semaphoreLabel(name: string): string {
  return `permit of semaphore ${JSON.stringify(name)}`;
}

/** How messages name a grant of a readers-writer lock. */
function rwLockLabel(name: string, mode: RwMode): string {
  return `${mode} lock of rwlock ${JSON.stringify(name)}`;
}

/** `name` of a semaphore or a readers-writer lock: a non-empty string (the cluster checks the rest of the name rule). */
function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '')
    throw new InvalidArgumentError(`name must be a non-empty string, got ${typeof name === 'string' ? '""' : typeof name}`, 'name');
  return name;
}

function checkCount(v: unknown, field: string, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max)
    throw new InvalidArgumentError(`${field} must be an integer in [1, ${max}]${what}, got ${String(v)}`, field);
  return v;
}

/**
 * The request of one acquire of a semaphore, a readers-writer lock or an election: no local gate
 * (several callers of one client may each hold a grant of a semaphore; an election adds its own),
 * withdrawn with `cancel-permit` and given back with `release-permit`, both naming the acquire's
 * seq. @internal
 */
export function permitRequest<G extends HeldGrant>(
  kind: PermitKind,
  name: string,
  label: string,
  acquire: (waitMs: number) => AcquireBody,
  grant: GrantRequest<G>['grant'],
): GrantRequest<G> {
  return {
    gates: [],
    label,
    errorName: name,
    acquire,
    withdraw: (seq) => ({ op: 'cancel-permit', kind, name, acquireSeq: seq }),
    release: (seq) => permitRelease(kind, name, seq),
    grant,
  };
}

/**
 * What {@link Permit} and {@link RwLockGrant} share beyond every held grant: the resource's
 * kind and name, the acquire seq that names the grant in the cluster, and the fence of a fenced
 * write under it. Not constructed directly.
 */
export abstract class HeldPermit extends HeldGrant {
  /** @internal Created by the client. */
  constructor(
    owner: LockOwner,
    session: Session,
    /** What is held: a `semaphore` or an `rwlock` (readers-writer lock). */
    readonly kind: PermitKind,
    /** The semaphore's (or readers-writer lock's) name. */
    readonly name: string,
    /** @internal The seq of the acquire that was granted: the grant's name in the cluster. */
    readonly acquireSeq: number,
    fencingToken: number,
    onGone: (leftover: readonly string[]) => void,
    label: string,
  ) {
    super(owner, session, fencingToken, onGone, label, name);
  }

  /**
   * The fencing token: the log index of the entry that granted it. It is higher than the token
   * of every grant of this name made before it, but **grants made in one entry share it** (a
   * release can let several waiters in at once). See {@link Permit} and {@link RwLockGrant} for
   * how a resource checks it.
   */
  declare readonly fencingToken: number;

  /**
   * The fence of a fenced write under this grant (`{ lock: name, token, kind }`): a counter
   * write with it is applied only while this client's session holds this grant (a grant of
   * `name` with this token), else `FENCED`. Of a readers-writer lock, only under a **write**
   * grant: with a read grant's fence the write is always `FENCED` (readers share the lock, so
   * their writes would not be exclusive).
   */
  get fence(): Fence {
    return { lock: this.name, token: this.fencingToken, kind: this.kind };
  }

  /** @internal */
  releaseBody(): ReleaseBody {
    return permitRelease(this.kind, this.name, this.acquireSeq);
  }
}

/**
 * A grant of `weight` permits of a semaphore, held by this client's session
 * ({@link Semaphore.acquire}). Release it with {@link release} (or `await using`, or
 * {@link Semaphore.withPermit}); watch {@link signal} while working under it: it fires when
 * the session ends or its lease is in doubt, as for a `Lock`. Operators break locks only, never
 * permits.
 *
 * Tokens fence a holder against those granted after it was lost, not against the other current
 * holders (the permits are shared by design, and grants of one entry share a token). A resource
 * that must tell each holder apart gives each its own slot (a lock per slot), or checks the grant
 * with a fenced write to the cluster ({@link fence}).
 */
export class Permit extends HeldPermit {
  /** @internal Created by the client. */
  constructor(
    owner: LockOwner,
    session: Session,
    name: string,
    /** How many of the semaphore's permits this grant takes. */
    readonly weight: number,
    /** The semaphore's permit count. */
    readonly permits: number,
    acquireSeq: number,
    fencingToken: number,
    onGone: (leftover: readonly string[]) => void,
  ) {
    super(owner, session, 'semaphore', name, acquireSeq, fencingToken, onGone, semaphoreLabel(name));
  }

  declare readonly kind: 'semaphore';
}

/**
 * A grant of a readers-writer lock in one {@link mode}, held by this client's session
 * ({@link RwLock.read}, {@link RwLock.write}). Release it with {@link release} (or
 * `await using`, or {@link RwLock.withRead} / {@link RwLock.withWrite}); watch {@link signal}
 * while working under it (it fires as a `Lock`'s does; operators break locks only).
 *
 * Checking its token at a resource outside the cluster: remember `W`, the highest token a write
 * came with, and `T`, the highest token anything came with; accept a write with token `t` only if
 * `t ≥ T`, and a read only if `t > W`. A write grant's token is above every grant before it, and
 * a read grant's above every write grant before it, so a writer (or a reader) whose lock was lost
 * is refused once a later grant that excludes it has been seen.
 */
export class RwLockGrant extends HeldPermit {
  /** @internal Created by the client. */
  constructor(
    owner: LockOwner,
    session: Session,
    name: string,
    /** `read` (shared with other readers) or `write` (exclusive). */
    readonly mode: RwMode,
    acquireSeq: number,
    fencingToken: number,
    onGone: (leftover: readonly string[]) => void,
  ) {
    super(owner, session, 'rwlock', name, acquireSeq, fencingToken, onGone, rwLockLabel(name, mode));
  }

  declare readonly kind: 'rwlock';
}

/**
 * A counting semaphore of the cluster, by name: up to `permits` permits held at once, over all
 * clients (docs/design.md#semaphores-and-readers-writer-locks). Created by
 * {@link RaftlockClient.semaphore}; no request is made until a method is called.
 *
 * - **Weights.** A grant takes `weight` permits (1 – `permits`, default 1), and is granted only
 *   when they are all free.
 * - **Strict FIFO.** Acquires are granted in the order they reached the cluster: a waiter that
 *   does not fit yet stops the queue, and nobody overtakes it, so a heavy request is never
 *   starved by a stream of light ones (and a free permit may stay unused meanwhile).
 * - **The permit count is fixed by the first user while the semaphore is in use** (held or
 *   awaited): an acquire that gives another count is {@link InvalidArgumentError}, whose message
 *   names both counts. Once nobody holds or awaits it, the next user fixes it again.
 * - **No local gate.** A session may hold several grants of one semaphore: a pool of workers in
 *   one process, each with its own permit. Each call gets its own {@link Permit}, and the cluster
 *   alone orders them.
 * - Tokens: see {@link Permit}.
 *
 * ```ts
 * const pool = client.semaphore('renderers', { permits: 4 });
 * await using permit = await pool.acquire({ weight: 2, waitMs: 30_000 });
 * await client.counter('renders').increment({ fence: permit.fence });
 * ```
 */
export class Semaphore {
  /** @internal Created by {@link RaftlockClient.semaphore}. */
  constructor(
    private readonly owner: PermitOwner,
    /** The semaphore's name (its own namespace, apart from locks). */
    readonly name: string,
    /** Its permit count, as this handle gives it to the cluster. */
    readonly permits: number,
  ) {
    checkName(name);
    checkCount(permits, 'permits', MAX_PERMITS, '');
  }

  /**
   * Takes `weight` permits (default 1), waiting in the semaphore's FIFO queue for up to
   * `waitMs` (default: the client's `timeoutMs`), or the call's `timeoutMs` if shorter: the time
   * limits, aborts and errors of `client.lock()` ({@link LockOptions}). {@link LockTimeoutError}
   * if not granted in that time; {@link InvalidArgumentError} if the semaphore is in use with
   * another permit count. A wait that ends early (an aborted `signal`, the call's deadline) is
   * withdrawn from the cluster's queue at once, in the background; a grant that beat the
   * withdrawal is released.
   */
  async acquire(opts: PermitOptions = {}): Promise<Permit> {
    return this.owner.waitForGrant(this.request(opts.weight), opts);
  }

  /** Takes `weight` permits (default 1) if nobody waits and they are free now; never waits. `null` otherwise. */
  async tryAcquire(opts: TryPermitOptions = {}): Promise<Permit | null> {
    return this.owner.tryGrant(this.request(opts.weight), opts);
  }

  /**
   * Runs `fn` holding `weight` permits (taken as {@link acquire} takes them) and releases them
   * afterwards, whatever happens. If `fn` succeeded but the permit turned out to be lost before
   * the release (its session ended), throws {@link LockLostError}. `opts` bound taking the
   * permits, not running `fn`.
   */
  async withPermit<T>(fn: (permit: Permit) => Promise<T> | T, opts: PermitOptions = {}): Promise<T> {
    return runHolding(await this.acquire(opts), fn, 'withPermit');
  }

  /**
   * Its permit count, what is free, its holders (in grant order, with weights and tokens) and
   * how many wait: linearizable unless `stale`. `permits` and `available` are absent when nobody
   * holds or awaits it (its count is then not fixed).
   */
  async info(opts: LockInfoOptions = {}): Promise<SemaphoreInfo> {
    const { name } = this;
    return this.owner.read(opts.stale === true ? { op: 'semaphore-info', name, stale: true } : { op: 'semaphore-info', name }, opts);
  }

  private request(weight: number | undefined): GrantRequest<Permit> {
    const w = weight === undefined ? 1 : checkCount(weight, 'weight', this.permits, ` (the semaphore's ${this.permits} permits)`);
    const { name, permits, owner } = this;
    return permitRequest(
      'semaphore',
      name,
      semaphoreLabel(name),
      (waitMs) => ({ op: 'acquire-permit', kind: 'semaphore', name, waitMs, permits, weight: w }),
      (s, seq, token, onGone) => new Permit(owner, s, name, w, permits, seq, token, onGone),
    );
  }
}

/**
 * A readers-writer lock of the cluster, by name: held by many readers at once or by one writer
 * (docs/design.md#semaphores-and-readers-writer-locks). Created by {@link RaftlockClient.rwLock};
 * no request is made until a method is called.
 *
 * - **Strict FIFO.** Grants go in the order the acquires reached the cluster: readers that come
 *   after a waiting writer wait behind it, so a writer is never starved by a stream of readers.
 * - **No local gate.** The cluster's queue is the only order, inside one client too: several
 *   callers of one client may each hold a read grant, and a client that holds a read grant and
 *   asks for a write of the same lock waits for itself (the write queues behind its own read),
 *   until it times out with {@link LockTimeoutError}. Release the read first.
 * - Tokens and fences: see {@link RwLockGrant}.
 *
 * ```ts
 * const config = client.rwLock('config');
 * await using w = await config.write({ waitMs: 10_000 });
 * await client.counter('config-version').increment({ fence: w.fence });
 * ```
 */
export class RwLock {
  /** @internal Created by {@link RaftlockClient.rwLock}. */
  constructor(
    private readonly owner: PermitOwner,
    /** The readers-writer lock's name (its own namespace, apart from locks and semaphores). */
    readonly name: string,
  ) {
    checkName(name);
  }

  /**
   * Takes a read grant (shared with other readers), waiting in the FIFO queue as `client.lock()`
   * waits ({@link LockOptions}): {@link LockTimeoutError} if not granted in time.
   */
  async read(opts: LockOptions = {}): Promise<RwLockGrant> {
    return this.owner.waitForGrant(this.request('read'), opts);
  }

  /** Takes the write grant (exclusive), waiting as {@link read} does. */
  async write(opts: LockOptions = {}): Promise<RwLockGrant> {
    return this.owner.waitForGrant(this.request('write'), opts);
  }

  /** Takes a read grant if nobody waits and no writer holds it now; never waits. `null` otherwise. */
  async tryRead(opts: CallOptions = {}): Promise<RwLockGrant | null> {
    return this.owner.tryGrant(this.request('read'), opts);
  }

  /** Takes the write grant if the lock is free and nobody waits now; never waits. `null` otherwise. */
  async tryWrite(opts: CallOptions = {}): Promise<RwLockGrant | null> {
    return this.owner.tryGrant(this.request('write'), opts);
  }

  /** Runs `fn` under a read grant and releases it afterwards, as {@link Semaphore.withPermit} does. */
  async withRead<T>(fn: (grant: RwLockGrant) => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
    return runHolding(await this.read(opts), fn, 'withRead');
  }

  /** Runs `fn` under the write grant and releases it afterwards, as {@link Semaphore.withPermit} does. */
  async withWrite<T>(fn: (grant: RwLockGrant) => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
    return runHolding(await this.write(opts), fn, 'withWrite');
  }

  /** How it is held (`free`, `read`, `write`), its holders with their modes, and how many wait: linearizable unless `stale`. */
  async info(opts: LockInfoOptions = {}): Promise<RwLockInfo> {
    const { name } = this;
    return this.owner.read(opts.stale === true ? { op: 'rwlock-info', name, stale: true } : { op: 'rwlock-info', name }, opts);
  }

  private request(mode: RwMode): GrantRequest<RwLockGrant> {
    const { name, owner } = this;
    return permitRequest(
      'rwlock',
      name,
      rwLockLabel(name, mode),
      (waitMs) => ({ op: 'acquire-permit', kind: 'rwlock', name, waitMs, mode }),
      (s, seq, token, onGone) => new RwLockGrant(owner, s, name, mode, seq, token, onGone),
    );
  }
}
