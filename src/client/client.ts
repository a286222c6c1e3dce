/**
 * The raftlock client: a session kept alive in the background, locks, semaphores,
 * readers-writer locks, leader elections, counters, watches, exactly-once writes, typed errors.
 */
import {
  DEFAULT_LIMITS,
  MAX_LOCK_ALL_NAMES,
  type BreakLockValue,
  type CounterListEntry,
  type ListPage,
  type LockInfo,
  type LockListEntry,
  type OpValues,
  type RequestBody,
} from '../protocol/index.js';
import { ClusterClient, now, RemoteError, toRaftlockError, waitFor, type CallOptions } from './cluster-client.js';
import type { ClientTls } from './connection.js';
import { parseEndpointList } from './endpoints.js';
import { Counter, type Fence, type ReadBody, type WriteBody, type WriteOptions } from './counter.js';
import { Election } from './election.js';
import {
  ClientClosedError,
  InvalidArgumentError,
  LockLostError,
  LockTimeoutError,
  NotHeldError,
  RaftlockError,
  SessionExpiredError,
  UnavailableError,
} from './errors.js';
import {
  describeLocks,
  HeldLocks,
  Lock,
  lockFreed,
  lockRelease,
  runHolding,
  type AcquireBody,
  type GrantRequest,
  type HeldGrant,
} from './lock.js';
import { MultiLock } from './multi-lock.js';
import { RwLock, Semaphore } from './permit.js';
import { Session } from './session.js';
import { clusterFeed, Watch, withIndex, type IndexedRead, type WatchFeed, type WatchOptions } from './watch.js';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /**
   * The nodes' client addresses, as an array or one comma-separated string: `host:port` or
   * `ws://host:port`, a port always given (any number of nodes; a majority helps). Checked as
   * the CLI checks `--endpoints` ({@link parseEndpointList}): a bad entry is
   * {@link InvalidArgumentError} before anything is dialled.
   */
  readonly endpoints: readonly string[] | string;
  /** The session's lease (1 s – 10 min; default 10 s). Keep-alives go every third of it. */
  readonly sessionTtlMs?: number;
  /** A label for the session, shown by the cluster. */
  readonly clientId?: string;
  /** The client token, when the cluster requires one. */
  readonly token?: string;
  /**
   * TLS, for a cluster whose nodes have `tls` in their configuration: the CA that signed the
   * nodes' certificates, and this client's certificate and key when the cluster requires one
   * (PEM strings or buffers). With it, `host:port` endpoints are dialled as `wss://`. A
   * certificate that does not verify is {@link AuthError}, with the verifier's reason.
   */
  readonly tls?: ClientTls;
  /**
   * Default deadline of every call, retries and failover included (default 15 s); also the
   * default `waitMs` of {@link RaftlockClient.lock}.
   */
  readonly timeoutMs?: number;
  /** Longest wait for a connection to open (default 1 s); an endpoint that does not is skipped. */
  readonly connectTimeoutMs?: number;
  /**
   * Longest wait for one attempt's answer before retrying elsewhere, with the same
   * `(session, seq)` for a write (default 2 s). A queued `lock()` wait is exempt: the
   * cluster answers it when the wait ends.
   */
  readonly attemptTimeoutMs?: number;
  /**
   * How long a connection may stay silent before it is dropped and the call moves to another
   * node (default 1 s). The SDK pings a connection it has heard nothing on for half this; a
   * paused or cut-off node answers neither requests nor pings. Raise it for nodes whose event
   * loop may stall longer.
   */
  readonly livenessTimeoutMs?: number;
  /**
   * How long before the lease could end, by this client's clock, locks' signals fire when no
   * keep-alive was acknowledged (allowance for clock drift and delays). Default
   * `max(sessionTtlMs / 5, 500)`.
   */
  readonly safetyMarginMs?: number;
  /** Aborts connecting. */
  readonly signal?: AbortSignal;
  /**
   * Keep the endpoint list to the cluster's members, as each node connected to lists them
   * (default true; asked again every 5 s while a connection lasts): the client reaches nodes
   * added since it was configured and stops dialling removed ones. Set false when the endpoints
   * are not the members' own addresses (a proxy, a load balancer, port mapping): the members'
   * addresses would not be reachable from here.
   */
  readonly discoverMembers?: boolean;
}

/**
 * Options of {@link RaftlockClient.lock}, {@link RaftlockClient.withLock},
 * {@link RaftlockClient.lockAll} and {@link RaftlockClient.withLockAll}, and of the waiting
 * acquires of semaphores and readers-writer locks (`Semaphore.acquire`, `RwLock.read`,
 * `RwLock.write` and their `with…` forms), which wait the same way.
 *
 * How the two limits combine: `waitMs` is how long the lock may be waited for, counted from
 * the call; `timeoutMs`, when given, bounds the whole call (reaching the cluster, failover and
 * the wait), so the call gives up after `min(waitMs, timeoutMs)`. Without `timeoutMs` the call
 * may take `waitMs` plus the client's `timeoutMs` when reaching the cluster is slow, but never
 * waits for the lock itself longer than `waitMs`. `{ waitMs: 30_000 }` waits 30 s;
 * `{ waitMs: 30_000, timeoutMs: 700 }` gives up after 0.7 s. For `withLock`, both bound taking
 * the lock, not running `fn`.
 */
export interface LockOptions extends CallOptions {
  /**
   * How long to wait in the lock's FIFO queue before {@link LockTimeoutError}, from the call
   * (default: the client's `timeoutMs`, 15 s unless set in {@link connect}; at most the
   * cluster's `maxWaitMs`, 24 h by default). 0: only take the lock if it is free now.
   */
  readonly waitMs?: number;
}

/** Options of {@link RaftlockClient.semaphore}. */
export interface SemaphoreOptions {
  /**
   * The semaphore's permit count (1 – 1,000,000). Every user must give the same count while
   * the semaphore is in use (held or awaited); another is {@link InvalidArgumentError} naming both.
   */
  readonly permits: number;
}

/** Options of {@link RaftlockClient.lockInfo}, and of the `info()` of semaphores and readers-writer locks. */
export interface LockInfoOptions extends CallOptions {
  /** Read the answering node's state as it is instead of a linearizable read. */
  readonly stale?: boolean;
}

/**
 * Options of {@link RaftlockClient.listLocks} and {@link RaftlockClient.listCounters}: a page
 * of names in order, from after `after`, of those that start with `prefix`.
 */
export interface ListOptions extends CallOptions {
  /** Only names that start with this. */
  readonly prefix?: string;
  /** Start after this name: the `next` of the previous page (undefined: from the start). */
  readonly after?: string | undefined;
  /** Most entries in the page (1 – 1,000; default 100). */
  readonly limit?: number;
  /** Read the answering node's state as it is instead of a linearizable read. */
  readonly stale?: boolean;
}

/** Options of {@link RaftlockClient.waitForUnlock}. */
export interface WaitForUnlockOptions {
  /**
   * How long to wait for the lock to be free before {@link LockTimeoutError} (default: the
   * client's `timeoutMs`, 15 s unless set in {@link connect}).
   */
  readonly waitMs?: number;
  /** Aborts the wait; the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of {@link RaftlockClient.breakLock}. */
export interface BreakLockOptions extends CallOptions {
  /** Why: shown to the holder whose grant is revoked (at most 256 UTF-8 bytes). */
  readonly reason?: string;
}

const DEFAULT_TTL_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * The time limits of one acquire (`lock`, `lockAll`, a semaphore's or readers-writer lock's)
 * (`performance.now()` scale): until when the grant may be waited for, and the hard end of the call.
 */
interface AcquireLimits {
  /** `min(waitMs, timeoutMs)`: what a {@link LockTimeoutError} says it waited. */
  readonly waitMs: number;
  /** The end of the wait: the server's queue deadline and the local gate's. */
  readonly waitEnd: number;
  /** The end of the call (sessions, retries, failover, the wait). */
  readonly callEnd: number;
}

/**
 * A per-name gate so that two holders inside one client never share a lock. A caller that needs
 * several names enters their gates one by one in name order ({@link enterAll}): one global order,
 * so two callers in this client can never each hold a gate the other waits for.
 */
class LocalGates {
  private readonly queues = new Map<string, Array<() => void>>();

  /** Enters every gate of `names` (in name order) if all are free now; else enters none. */
  tryEnterAll(names: readonly string[]): (() => void) | undefined {
    const exits: Array<() => void> = [];
    for (const name of names) {
      const exit = this.tryEnter(name);
      if (exit === undefined) {
        exitAll(exits);
        return undefined;
      }
      exits.push(exit);
    }
    return () => exitAll(exits);
  }

  /**
   * Enters every gate of `names` (in name order), one after the other, all by `deadline`: an exit
   * function for all of them, or undefined when `deadline` passed first. When the deadline passes
   * or a signal aborts, the gates already entered are left again.
   */
  async enterAll(
    names: readonly string[],
    deadline: number,
    signals: readonly (AbortSignal | undefined)[],
  ): Promise<(() => void) | undefined> {
    const exits: Array<() => void> = [];
    try {
      for (const name of names) {
        const exit = await this.enter(name, deadline, signals);
        if (exit === undefined) {
          exitAll(exits);
          return undefined;
        }
        exits.push(exit);
      }
    } catch (err) {
      exitAll(exits);
      throw err;
    }
    return () => exitAll(exits);
  }

  tryEnter(name: string): (() => void) | undefined {
    if (this.queues.has(name)) return undefined;
    this.queues.set(name, []);
    return this.exitFn(name);
  }

  /** Resolves with an exit function, or undefined when `deadline` passed first. */
  async enter(name: string, deadline: number, signals: readonly (AbortSignal | undefined)[]): Promise<(() => void) | undefined> {
    const first = this.tryEnter(name);
    if (first !== undefined) return first;
    const queue = this.queues.get(name) as Array<() => void>;
    let granted = false;
    let resolveTurn: () => void = () => {};
    const turn = new Promise<void>((r) => (resolveTurn = r));
    const waiter = (): void => {
      granted = true;
      resolveTurn();
    };
    queue.push(waiter);
    const w = await waitFor(turn, deadline - now(), signals);
    if (granted) {
      const exit = this.exitFn(name);
      if (w.kind === 'aborted') {
        exit();
        throw w.signal.reason;
      }
      return exit;
    }
    const k = queue.indexOf(waiter);
    if (k >= 0) queue.splice(k, 1);
    if (w.kind === 'aborted') throw w.signal.reason;
    return undefined;
  }

  private exitFn(name: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const q = this.queues.get(name);
      const next = q?.shift();
      if (next !== undefined) next();
      else this.queues.delete(name);
    };
  }
}

/**
 * A connection to a raftlock cluster with one session. Create it with {@link connect}; end it
 * with {@link close}, which releases its locks and drops its waits.
 */
// Also a LockOwner, a CounterOwner and a PermitOwner (checked where it passes itself to Lock,
// Counter, Semaphore and RwLock); not declared with `implements`, since their methods are
// internal and left out of the .d.ts.
export class RaftlockClient implements AsyncDisposable {
  private readonly cluster: ClusterClient;
  private session: Session | undefined;
  private opening: Promise<Session> | undefined;
  private readonly gates = new LocalGates();
  private readonly held = new Set<HeldGrant>();
  private closing: Promise<void> | undefined;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly safetyMarginMs: number;
  private readonly feed: WatchFeed;

  /** @internal Use {@link connect}. */
  constructor(private readonly opts: ConnectOptions) {
    const endpoints = parseEndpointList(opts.endpoints);
    this.ttlMs = opts.sessionTtlMs ?? DEFAULT_TTL_MS;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs < 1_000 || this.ttlMs > 600_000) {
      throw new InvalidArgumentError(`sessionTtlMs must be an integer in [1000, 600000], got ${String(opts.sessionTtlMs)}`, 'sessionTtlMs');
    }
    this.timeoutMs = positive(opts.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.safetyMarginMs = positive(opts.safetyMarginMs, Math.max(this.ttlMs / 5, 500), 'safetyMarginMs');
    if (this.safetyMarginMs >= this.ttlMs) throw new InvalidArgumentError('safetyMarginMs must be below sessionTtlMs', 'safetyMarginMs');
    this.cluster = new ClusterClient({
      endpoints,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: positive(opts.connectTimeoutMs, 0, 'connectTimeoutMs') } : {}),
      ...(opts.attemptTimeoutMs !== undefined ? { attemptTimeoutMs: positive(opts.attemptTimeoutMs, 0, 'attemptTimeoutMs') } : {}),
      ...(opts.livenessTimeoutMs !== undefined ? { livenessTimeoutMs: positive(opts.livenessTimeoutMs, 0, 'livenessTimeoutMs') } : {}),
      discoverMembers: opts.discoverMembers !== false,
      ...(opts.tls !== undefined ? { tls: checkTls(opts.tls) } : {}),
    });
    this.feed = clusterFeed(this.cluster, this.timeoutMs);
  }

  /** The current session's id, if one is open. */
  get sessionId(): number | undefined {
    return this.session?.id;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** @internal Opens the first session (called by {@link connect}). */
  async open(signal?: AbortSignal): Promise<void> {
    await this.sessionFor(now() + this.timeoutMs, signal);
  }

  // ---- locks ----------------------------------------------------------------------------------

  /**
   * Acquires `name`, waiting in its FIFO queue for up to `waitMs` (default: the client's
   * `timeoutMs`), or the call's `timeoutMs` if that is shorter (see {@link LockOptions}).
   * Throws {@link LockTimeoutError} if the lock was not acquired in that time (the cluster said
   * so, or the time ran out while the request was waiting there); {@link UnavailableError} if
   * the cluster could not be reached at all. A wait that ends early (an aborted `signal`, the
   * call's deadline) is withdrawn from the cluster's queue at once, in the background; a grant
   * that beat the withdrawal is released.
   */
  async lock(name: string, opts: LockOptions = {}): Promise<Lock> {
    return this.waitForGrant(this.oneLock(name), opts);
  }

  /** Acquires `name` if it is free now; never waits. `null` if another holder has it. */
  tryLock(name: string, opts: CallOptions = {}): Promise<Lock | null> {
    return this.tryGrant(this.oneLock(name), opts);
  }

  /**
   * Runs `fn` under the lock and releases it afterwards, whatever happens. If `fn` succeeded
   * but the lock turned out to be lost before the release, throws {@link LockLostError}.
   * `opts` are those of {@link lock}: they bound taking the lock, not running `fn`.
   */
  async withLock<T>(name: string, fn: (lock: Lock) => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
    return runHolding(await this.lock(name, opts), fn, 'withLock');
  }

  /**
   * Acquires every lock of `names` at once, all or nothing, with one fencing token valid for
   * each (docs/design.md#all-or-nothing-multi-locks). While any of them is taken, the session
   * waits in the queue of each, **holding none of them**, and gets them all together when it is
   * first in every queue and all are free; so callers that name the same locks in different
   * orders never deadlock one another. Waits, time limits, aborts and errors are those of
   * {@link lock} (see {@link LockOptions}): {@link LockTimeoutError} if not granted within
   * `min(waitMs, timeoutMs)` (its `lockName` is the names joined by `, `), {@link UnavailableError}
   * if the cluster could not be reached; a wait that ends early is withdrawn at once, and a
   * grant that beat the withdrawal is released.
   *
   * `names`: 1 to 64 distinct lock names, in any order (taken as a set; {@link MultiLock.names}
   * lists them in name order); anything else is {@link InvalidArgumentError} with `field`
   * `names`. The session must hold none of them already; inside this client, a caller waits
   * (like {@link lock}) until no other holder here has any of them.
   *
   * ```ts
   * await using both = await client.lockAll(['accounts/alice', 'accounts/bob'], { waitMs: 5_000 });
   * const fence = { lock: 'accounts/alice', token: both.fencingToken };
   * await client.counter('accounts/alice/balance').add(-10, { fence });
   * await client.counter('accounts/bob/balance').add(10, { fence: { lock: 'accounts/bob', token: both.fencingToken } });
   * ```
   */
  async lockAll(names: readonly string[], opts: LockOptions = {}): Promise<MultiLock> {
    return this.waitForGrant(this.allLocks(names), opts);
  }

  /**
   * Acquires every lock of `names` at once if all of them are free now; never waits. `null` if
   * another holder (in the cluster, or in this client) has any of them; then nothing is held.
   * `names` as for {@link lockAll}.
   */
  async tryLockAll(names: readonly string[], opts: CallOptions = {}): Promise<MultiLock | null> {
    return this.tryGrant(this.allLocks(names), opts);
  }

  /**
   * {@link withLock} for several locks: runs `fn` holding every lock of `names` (taken as
   * {@link lockAll} takes them) and releases them all afterwards, whatever happens. If `fn`
   * succeeded but the locks turned out to be lost before the release (any of them: its
   * session ended, or an operator broke one), throws {@link LockLostError}. `opts` bound taking
   * the locks, not running `fn`.
   */
  async withLockAll<T>(names: readonly string[], fn: (locks: MultiLock) => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
    return runHolding(await this.lockAll(names, opts), fn, 'withLockAll');
  }

  /**
   * Revokes the current grant of `name`, whoever holds it (needs an `admin` token): its next
   * waiter gets the lock with a higher token in the same log entry; the old holder's fenced
   * writes and release are refused from then on, and its `signal` fires (with `reason`) when
   * its client next hears from the cluster, within a third of its session TTL. Throws
   * {@link NotHeldError} when nobody holds it. Exactly once, like every write.
   */
  async breakLock(name: string, opts: BreakLockOptions = {}): Promise<BreakLockValue> {
    if (opts.reason !== undefined && (typeof opts.reason !== 'string' || opts.reason === ''))
      throw new InvalidArgumentError('reason must be a non-empty string', 'reason');
    return this.write({ op: 'break-lock', name, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) }, opts);
  }

  /**
   * Resolves once lock `name` is free, with the log index at which it was seen free: at once if
   * nobody holds it now (a linearizable read), else when its holder lets it go (a release, an
   * expiry, an operator's break) and nobody takes it in the same log entry. A lock handed straight
   * to its next waiter is never free, so with waiters queued this waits for the queue to drain.
   * It only looks: it takes nothing (a `lock()` right after may still find it taken). Throws
   * {@link LockTimeoutError} when it is still held after `waitMs` (default: the client's
   * `timeoutMs`); rides out failovers as a watch does.
   */
  async waitForUnlock(name: string, opts: WaitForUnlockOptions = {}): Promise<number> {
    this.checkOpen();
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('name must be a non-empty string', 'name');
    const waitMs = opts.waitMs ?? this.timeoutMs;
    if (typeof waitMs !== 'number' || !(waitMs >= 0))
      throw new InvalidArgumentError(`waitMs must be a non-negative number (milliseconds), got ${String(opts.waitMs)}`, 'waitMs');
    const timer = new AbortController();
    const t = setTimeout(
      () => timer.abort(new LockTimeoutError(name, `lock ${JSON.stringify(name)} was still held after ${Math.round(waitMs)} ms`)),
      waitMs,
    );
    try {
      return await lockFreed(this, name, opts.signal === undefined ? timer.signal : AbortSignal.any([opts.signal, timer.signal]));
    } finally {
      clearTimeout(t);
    }
  }

  /** Who holds `name` and how many wait (linearizable unless `stale`). */
  async lockInfo(name: string, opts: LockInfoOptions = {}): Promise<LockInfo> {
    return this.read(opts.stale === true ? { op: 'lock-info', name, stale: true } : { op: 'lock-info', name }, opts);
  }

  /**
   * A page of the locks that are held or awaited, in name order, each with what
   * {@link lockInfo} says of it (linearizable unless `stale`). `next` is set when more may
   * follow: pass it as `after`.
   *
   * ```ts
   * for (let after: string | undefined; ; ) {
   *   const page = await client.listLocks({ prefix: 'jobs/', after });
   *   for (const l of page.items) console.log(l.name, l.holder?.fencingToken, l.waiters);
   *   if ((after = page.next) === undefined) break;
   * }
   * ```
   */
  async listLocks(opts: ListOptions = {}): Promise<ListPage<LockListEntry>> {
    return this.read({ op: 'list-locks', ...listArgs(opts) }, opts);
  }

  /** A page of the counters whose value is not 0, in name order; like {@link listLocks}. */
  async listCounters(opts: ListOptions = {}): Promise<ListPage<CounterListEntry>> {
    return this.read({ op: 'list-counters', ...listArgs(opts) }, opts);
  }

  // ---- semaphores and readers-writer locks ----------------------------------------------------

  /**
   * The semaphore `name` with `permits` permits (1 – 1,000,000; else {@link InvalidArgumentError}
   * with `field` `permits`). No request is made until a method is called. Every user must give
   * the same count while the semaphore is in use (see {@link Semaphore}).
   *
   * ```ts
   * const pool = client.semaphore('gpu', { permits: 2 });
   * await pool.withPermit(async (permit) => render(permit.fencingToken), { waitMs: 60_000 });
   * ```
   */
  semaphore(name: string, opts: SemaphoreOptions): Semaphore {
    // `opts?.`: a JavaScript caller may leave it out; `permits` is then reported missing.
    return new Semaphore(this, name, opts?.permits);
  }

  /**
   * The readers-writer lock `name` (see {@link RwLock}). No request is made until a method is
   * called.
   */
  rwLock(name: string): RwLock {
    return new RwLock(this, name);
  }

  // ---- elections ------------------------------------------------------------------------------

  /**
   * The leader election `name` (see {@link Election}): `campaign(value)` to lead it, `leader()`
   * and `observe()` to follow who does. No request is made until a method is called.
   *
   * ```ts
   * const election = client.election('scheduler');
   * await using leadership = await election.campaign('host-a:8080');
   * await client.counter('rounds').increment({ fence: leadership.fence }); // applied only while it leads
   * ```
   */
  election(name: string): Election {
    return new Election(this, name);
  }

  // ---- watches --------------------------------------------------------------------------------

  /**
   * Follows the cluster's events (locks granted, released, expired or broken, waiters joining and
   * leaving, counters changing, sessions opening and ending, leaders changing), each with the
   * index of the log entry it comes from, in log order: an async iterator ({@link Watch}) that
   * starts at once, rides out lost connections, stopped nodes and new leaders without a gap or a
   * duplicate, and ends when you `break`. `fromIndex` goes on where an earlier watch stopped
   * (its `nextIndex`); {@link InvalidArgumentError} at once for a bad option. What ends it, and
   * its errors (`CompactedError`, `LimitExceededError` for a consumer that falls behind), are
   * listed on {@link Watch}.
   *
   * ```ts
   * for await (const ev of client.watch({ prefix: 'orders/', kinds: ['lock', 'counter'] })) {
   *   console.log(ev.index, ev.type, ev.name);
   * }
   * ```
   */
  watch(opts: WatchOptions = {}): Watch {
    this.checkOpen();
    return new Watch(this.feed, opts);
  }

  // ---- counters -------------------------------------------------------------------------------

  /** The counter `name` (no request is made until an operation is called). */
  counter(name: string): Counter {
    return new Counter(this, name);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /**
   * Ends the session (the cluster releases its locks and drops its waits) and closes the
   * connections. Calls still running, and later ones, reject with {@link ClientClosedError}.
   * Idempotent; never throws.
   */
  close(opts: CallOptions = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closing = (async () => {
      const s = this.session ?? (this.opening !== undefined ? await this.opening.catch(() => undefined) : undefined);
      if (s !== undefined && s.expired === undefined) {
        s.stop();
        const seq = s.allocSeq();
        try {
          await this.send(
            s,
            seq,
            { op: 'close-session' },
            undefined,
            now() + (opts.timeoutMs ?? Math.min(this.timeoutMs, 5_000)),
            opts.signal,
            false,
          );
        } catch {
          // Best effort: the session expires by its lease anyway.
        }
      }
      for (const l of [...this.held]) l.closed();
      this.cluster.close();
    })();
    return this.closing;
  }

  /** For `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * @internal A release that fails with UNAVAILABLE (no leader in time, or aborted) leaves
   * the lock in doubt: the SDK goes on releasing it in the background with the same seq, so it
   * is applied at most once, until the cluster answers or the session ends. Only then is the
   * lock gone locally (this client can take it again). Without this, a release lost in a
   * failover would keep the name blocked inside the client until the session ended, and the
   * cluster would keep the lock held by a live session nobody would release.
   *
   * A {@link MultiLock} is released with one `release-all` of its names. If the cluster freed
   * only some of them, the others had been lost already (an operator broke them): the release
   * frees what was left, and then throws NOT_HELD like the release of a lost {@link Lock}.
   * A permit (or a readers-writer lock grant) is released with `release-permit` of the seq of
   * the acquire that was granted it.
   */
  async releaseLock(lock: HeldGrant, opts: CallOptions): Promise<void> {
    this.checkOpen();
    const s = lock.session;
    if (s.expired !== undefined) throw new NotHeldError(`${lock.label}: session ${s.id} ended`);
    const seq = s.allocSeq();
    let handedOver = false;
    try {
      const v = await this.send(s, seq, lock.releaseBody(), undefined, this.deadline(opts), opts.signal, false);
      if ('released' in v && lock instanceof HeldLocks && v.released.length < lock.lockNames.length) {
        const lost = lock.lockNames.filter((name) => !v.released.includes(name));
        throw new NotHeldError(
          `${lock.label} (token ${lock.fencingToken}): ${describeLocks(lost)} no longer held; the others are released`,
        );
      }
    } catch (err) {
      // The cluster had ended the session (so the lock is lost) before this client heard of it:
      // like the check above, a lost lock's release is NOT_HELD (docs/design.md#locks), which
      // withLock reports as LOCK_LOST.
      if (err instanceof SessionExpiredError)
        throw new NotHeldError(`${lock.label} (token ${lock.fencingToken}) was lost: ${err.message}`, { cause: err });
      const inDoubt = !(err instanceof RaftlockError) || (err instanceof UnavailableError && !(err instanceof ClientClosedError));
      if (inDoubt && !this.cluster.closed) {
        handedOver = true;
        void this.finishRelease(lock, seq);
      }
      throw err;
    } finally {
      if (!handedOver) s.finish(seq);
    }
  }

  /** Re-sends release `seq` until answered, the session ends or the client closes; then the grant is gone. */
  private async finishRelease(lock: HeldGrant, seq: number): Promise<void> {
    await this.resend(lock.session, seq, lock.releaseBody());
    lock.releasedInBackground();
  }

  /** @internal A write on the current session (exactly once, retried with the same seq). */
  async write<B extends WriteBody>(body: B, opts: WriteOptions): Promise<OpValues[B['op']]> {
    this.checkOpen();
    const deadline = this.deadline(opts);
    const s = await this.sessionFor(deadline, opts.signal);
    const seq = s.allocSeq();
    try {
      return await this.send(s, seq, body, opts.fence, deadline, opts.signal, false);
    } finally {
      s.finish(seq);
    }
  }

  /** @internal A read (no session needed). */
  async read<B extends ReadBody>(body: B, opts: CallOptions): Promise<OpValues[B['op']]> {
    this.checkOpen();
    try {
      const r = await this.cluster.call({ build: () => body, write: false, deadline: this.deadline(opts), signal: opts.signal });
      return r.value;
    } catch (err) {
      throw err instanceof RemoteError ? toRaftlockError(err.error, false) : err;
    }
  }

  /**
   * @internal A read (no session needed) with the index it holds: the index the answering node
   * had applied when it read (for a linearizable read, at or past its read point).
   */
  async readIndexed<B extends ReadBody>(body: B, opts: CallOptions): Promise<IndexedRead<OpValues[B['op']]>> {
    this.checkOpen();
    try {
      const r = await this.cluster.call({ build: () => body, write: false, deadline: this.deadline(opts), signal: opts.signal });
      return withIndex(r.value, r.index);
    } catch (err) {
      throw err instanceof RemoteError ? toRaftlockError(err.error, false) : err;
    }
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new ClientClosedError();
  }

  /** The absolute deadline of a call with `opts` (its `timeoutMs`, or the client's). */
  private deadline(opts: CallOptions): number {
    return now() + callTimeout(opts, this.timeoutMs);
  }

  /** When a `lock()` or `lockAll()` call with `opts` stops waiting, and when it ends (see {@link LockOptions}). */
  private lockLimits(opts: LockOptions): AcquireLimits {
    // The default wait is the client's timeoutMs, within the cluster's default longest wait.
    const waitMs = opts.waitMs ?? Math.min(this.timeoutMs, DEFAULT_LIMITS.maxWaitMs);
    if (!Number.isSafeInteger(opts.waitMs ?? 0) || waitMs < 0)
      throw new InvalidArgumentError(`waitMs must be a non-negative integer (milliseconds), got ${String(opts.waitMs)}`, 'waitMs');
    const started = now();
    // An explicit timeoutMs caps the whole call; the client's default only adds room to reach
    // the cluster, so it never cuts an explicit waitMs short.
    const callMs = opts.timeoutMs !== undefined ? callTimeout(opts, this.timeoutMs) : waitMs + this.timeoutMs;
    const limit = Math.min(waitMs, callMs);
    return { waitMs: limit, waitEnd: started + limit, callEnd: started + callMs };
  }

  /**
   * What a failed `lock()` or `lockAll()` throws. When the call's deadline cut the wait itself short (its
   * `timeoutMs` was below the wait) while the request may be queued in the cluster: the lock
   * was not acquired in time, LOCK_TIMEOUT with `outcomeUnknown`. When the wait ended first and
   * the cluster still gave no answer by the deadline, it was the cluster that was missing:
   * UNAVAILABLE as it is, never a LOCK_TIMEOUT that would claim somebody held the lock.
   */
  private waitCutShort<G extends HeldGrant>(err: unknown, request: GrantRequest<G>, limits: AcquireLimits): unknown {
    const unknownWait = err instanceof UnavailableError && !(err instanceof ClientClosedError) && err.outcomeUnknown;
    const cutByDeadline = limits.waitEnd >= limits.callEnd;
    if (!unknownWait || !cutByDeadline || now() < limits.callEnd) return err;
    const message = `${request.label} not acquired within ${Math.round(limits.waitMs)} ms; its wait is withdrawn`;
    return new LockTimeoutError(request.errorName, message, { cause: err }, true);
  }

  /**
   * Sends one write of session `s` with `seq`, retrying it until answered. `body` is the write,
   * or a function that builds each attempt's just before it may go out (the same op: a retry
   * of `seq` is answered as the first attempt if that was applied).
   */
  private async send<B extends WriteBody>(
    s: Session,
    seq: number,
    body: B | (() => B),
    fence: Fence | undefined,
    deadline: number,
    signal: AbortSignal | undefined,
    parked: boolean,
  ): Promise<OpValues[B['op']]> {
    try {
      const r = await this.cluster.call<RequestBody & { readonly op: B['op'] }>({
        // The body plus the session's fields is the request of the body's op.
        build: () => {
          return {
            ...(typeof body === 'function' ? body() : body),
            session: s.id,
            seq,
            ackedSeq: s.ackedSeq,
            ...(fence !== undefined ? { fence: fenceOf(fence) } : {}),
          };
        },
        write: true,
        deadline,
        signal,
        parked,
      });
      s.renewed(r.sentAt);
      return r.value;
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err;
      const e = toRaftlockError(err.error, err.outcomeUnknown);
      if (e instanceof SessionExpiredError) s.markExpired(e);
      throw e;
    }
  }

  /** The open session, opening a new one if there is none (or it expired). */
  private async sessionFor(deadline: number, signal: AbortSignal | undefined): Promise<Session> {
    this.checkOpen();
    const current = this.session;
    if (current !== undefined && current.expired === undefined) return current;
    if (this.opening === undefined) {
      const p = this.openSession(now() + this.timeoutMs);
      this.opening = p;
      const clear = (): void => {
        if (this.opening === p) this.opening = undefined;
      };
      p.then(clear, clear);
    }
    const w = await waitFor(this.opening, deadline - now(), [signal]);
    switch (w.kind) {
      case 'value':
        return w.value;
      case 'error':
        throw w.error;
      case 'aborted':
        throw w.signal.reason;
      case 'timeout':
        throw new UnavailableError(`no session could be opened in time (${this.cluster.problemSummary})`, false);
    }
  }

  private async openSession(deadline: number): Promise<Session> {
    let r;
    try {
      r = await this.cluster.call({
        build: () => ({
          op: 'open-session',
          ttlMs: this.ttlMs,
          ...(this.opts.clientId !== undefined ? { clientId: this.opts.clientId } : {}),
        }),
        write: true,
        deadline,
      });
    } catch (err) {
      throw err instanceof RemoteError ? toRaftlockError(err.error, err.outcomeUnknown) : err;
    }
    const v = r.value;
    const s = new Session(this.cluster, v.sessionId, v.ttlMs, r.sentAt, this.safetyMarginMs, (gone) => {
      if (this.session === gone) this.session = undefined;
    });
    if (this.closing !== undefined) s.stop();
    this.session = s;
    return s;
  }

  /** A single lock, as the acquire flow asks for it. */
  private oneLock(name: string): GrantRequest<Lock> {
    return this.lockRequest([name], false, (s, token, onGone) => new Lock(this, s, name, token, onGone));
  }

  /** Several locks at once (`names` checked here), as the acquire flow asks for them. */
  private allLocks(names: readonly string[]): GrantRequest<MultiLock> {
    const sorted = lockAllNames(names);
    return this.lockRequest(sorted, true, (s, token, onGone) => new MultiLock(this, s, sorted, token, onGone));
  }

  /**
   * The request of locks `names` (all of them at once, or its one name): the local gate of each,
   * `acquire` (or `acquire-all`), withdrawn with `cancel-wait` of its first name (which withdraws
   * an `acquire-all` wait whole), released by name.
   */
  private lockRequest<G extends HeldLocks>(
    names: readonly string[],
    all: boolean,
    grant: (s: Session, token: number, onGone: (leftover: readonly string[]) => void) => G,
  ): GrantRequest<G> {
    return {
      gates: names,
      label: describeLocks(names),
      errorName: names.join(', '),
      acquire: (waitMs): AcquireBody => (all ? { op: 'acquire-all', names, waitMs } : { op: 'acquire', name: names[0] as string, waitMs }),
      withdraw: () => ({ op: 'cancel-wait', name: names[0] as string }),
      release: () => lockRelease(names, all),
      grant: (s, _seq, token, onGone) => grant(s, token, onGone),
    };
  }

  /**
   * @internal What every waiting acquire shares (`lock()`, `lockAll()`, a semaphore's
   * `acquire()`, a readers-writer lock's `read()` and `write()`): {@link acquire} within `opts`'
   * limits, or {@link LockTimeoutError}.
   */
  async waitForGrant<G extends HeldGrant>(request: GrantRequest<G>, opts: LockOptions): Promise<G> {
    const limits = this.lockLimits(opts);
    let grant: G | null;
    try {
      grant = await this.acquire(request, limits, opts);
    } catch (err) {
      throw this.waitCutShort(err, request, limits);
    }
    if (grant === null)
      throw new LockTimeoutError(request.errorName, `${request.label} not acquired within ${Math.round(limits.waitMs)} ms`);
    return grant;
  }

  /** @internal What every try shares (`tryLock()`, `tryLockAll()`, `tryAcquire()`, `tryRead()`, `tryWrite()`): never waits. */
  async tryGrant<G extends HeldGrant>(request: GrantRequest<G>, opts: CallOptions): Promise<G | null> {
    const callEnd = this.deadline(opts);
    return this.acquire(request, { waitMs: 0, waitEnd: now(), callEnd }, opts);
  }

  /**
   * The one acquire flow of locks, semaphores and readers-writer locks (`lock()`, `tryLock()`,
   * `lockAll()`, `tryLockAll()`, and those of {@link Semaphore} and {@link RwLock}): enter the
   * local gate of each name the request has (in name order; permits have none), send its acquire
   * with one seq until answered, and turn a grant into the request's held grant; a request left
   * in doubt (aborted, or cut by its deadline) is abandoned in the background
   * ({@link abandonAcquire}). `null` when not granted (`waitMs` 0 and taken, or the wait ended).
   */
  private async acquire<G extends HeldGrant>(request: GrantRequest<G>, limits: AcquireLimits, opts: CallOptions): Promise<G | null> {
    this.checkOpen();
    const { gates } = request;
    const { waitMs, waitEnd, callEnd: deadline } = limits;
    let exitGate: (() => void) | undefined;
    if (waitMs === 0) {
      exitGate = this.gates.tryEnterAll(gates);
      if (exitGate === undefined) return null; // held by another holder in this client
    } else {
      exitGate = await this.gates.enterAll(gates, waitEnd, [opts.signal, this.cluster.closeSignal]);
      if (exitGate === undefined)
        throw new LockTimeoutError(
          request.errorName,
          `${request.label} not acquired within ${Math.round(waitMs)} ms (held inside this client)`,
        );
    }
    const exit = exitGate;
    let handedOver = false;
    try {
      const s = await this.sessionFor(deadline, opts.signal);
      // The server queues it for what is left of the wait (0: a last try), counted again at each
      // attempt: a retry after a failover must not start the caller's wait over. (One applied
      // already answers as it was; one that was not is the same acquire with less patience.)
      const serverWait = (): number => (waitMs === 0 ? 0 : Math.max(0, Math.floor(waitEnd - now())));
      const seq = s.allocSeq();
      let settled = false;
      let attempted = false;
      try {
        const body = (): AcquireBody => {
          attempted = true;
          return request.acquire(serverWait());
        };
        const v = await this.send(s, seq, body, undefined, deadline, opts.signal, serverWait() > 0);
        settled = v.status !== 'queued';
        switch (v.status) {
          case 'granted':
          case 'held-by-you': {
            const grant = request.grant(s, seq, v.token, (leftover) => {
              this.held.delete(grant);
              // Locks of a MultiLock the session may still hold (an operator broke another one):
              // released before anyone else in this client may take them.
              if (leftover.length === 0) exit();
              else void this.resend(s, s.allocSeq(), lockRelease(leftover, true)).finally(exit);
            });
            this.held.add(grant);
            handedOver = true;
            return grant;
          }
          case 'not-acquired':
          case 'timed-out':
          case 'cancelled':
            return null;
          default:
            // `queued` is never an answer (the server holds it until the wait ends).
            throw new UnavailableError(`the wait for ${request.label} was not answered`, true);
        }
      } catch (err) {
        // Answered, or never sent: nothing of it can be in the cluster.
        settled ||= !attempted || (err instanceof RaftlockError && !(err instanceof UnavailableError && err.outcomeUnknown));
        throw err;
      } finally {
        if (settled) s.finish(seq);
        else if (!handedOver) {
          handedOver = true;
          void this.abandonAcquire(s, seq, request).finally(exit);
        }
      }
    } finally {
      if (!handedOver) exit();
    }
  }

  /**
   * An acquire whose fate is unknown (aborted, or cut by its deadline) may still be queued, or
   * granted already: withdraw its wait at once (`cancel-wait` of a lock's first name, which
   * withdraws an `acquire-all` wait whole; `cancel-permit` of its seq), so it leaves the
   * cluster's queues now rather than when its `waitMs` runs out; if it was no longer waiting,
   * settle its seq and release the grant if it came first. So the session never holds a lock (or
   * permit) nobody knows of. Holds the local gates meanwhile: no other holder in this client can
   * have the locks this releases. In the background: the caller's promise has already settled.
   */
  private async abandonAcquire<G extends HeldGrant>(s: Session, seq: number, request: GrantRequest<G>): Promise<void> {
    try {
      const withdrawn = await this.resend(s, s.allocSeq(), request.withdraw(seq));
      if (withdrawn?.status === 'cancelled') return; // it was queued, and now never will be granted
      // Not waiting: granted, timed out, refused, or not applied (yet). Asking again with the
      // same seq pins its outcome: an applied acquire answers its stored result; one never
      // applied runs now, as a try without waiting, so a late copy of the original can only
      // be a retry of it. What is granted this way is released.
      const outcome = await this.resend(s, seq, request.acquire(0));
      if (outcome?.status === 'granted' || outcome?.status === 'held-by-you') {
        await this.resend(s, s.allocSeq(), request.release(seq));
      }
    } finally {
      s.finish(seq);
    }
  }

  /**
   * Sends write `seq` of `s` (a new one, or one left in doubt) until the cluster answers it,
   * the session ends or the client closes; then `seq` is finished. The answer, or undefined
   * when there was none or it was a refusal (`NOT_HELD`, `SESSION_EXPIRED`…). Never throws.
   */
  private async resend<B extends WriteBody>(s: Session, seq: number, body: B): Promise<OpValues[B['op']] | undefined> {
    try {
      while (s.expired === undefined && !this.cluster.closed) {
        try {
          return await this.send(s, seq, body, undefined, now() + this.timeoutMs, undefined, false);
        } catch (err) {
          if (err instanceof RaftlockError && !(err instanceof UnavailableError)) return undefined; // answered
          if (err instanceof ClientClosedError) return undefined;
        }
      }
      return undefined;
    } finally {
      s.finish(seq);
    }
  }
}

/** Leaves gates, the last entered first. */
function exitAll(exits: ReadonlyArray<() => void>): void {
  for (let k = exits.length - 1; k >= 0; k--) (exits[k] as () => void)();
}

/**
 * The `names` of {@link RaftlockClient.lockAll}, checked and in name order (JavaScript string
 * order, as the cluster sorts them): 1 to {@link MAX_LOCK_ALL_NAMES} distinct non-empty strings,
 * else INVALID_ARGUMENT naming `names`. The cluster checks the rest of the name rule.
 */
function lockAllNames(names: unknown): string[] {
  if (!Array.isArray(names) || names.length === 0 || names.length > MAX_LOCK_ALL_NAMES) {
    const got = Array.isArray(names) ? `${names.length} names` : typeof names;
    throw new InvalidArgumentError(`names must be an array of 1 to ${MAX_LOCK_ALL_NAMES} lock names, got ${got}`, 'names');
  }
  (names as unknown[]).forEach((n, k) => {
    if (typeof n !== 'string' || n === '')
      throw new InvalidArgumentError(`names[${k}] must be a non-empty string, got ${typeof n === 'string' ? '""' : typeof n}`, 'names');
  });
  const sorted = [...(names as string[])].sort();
  for (let k = 1; k < sorted.length; k++) {
    if (sorted[k] === sorted[k - 1])
      throw new InvalidArgumentError(`names lists ${JSON.stringify(sorted[k])} twice; each lock once`, 'names');
  }
  return sorted;
}

/** A fence as the wire takes it: `{ lock, token }`, and its `kind` when it has one. */
function fenceOf(fence: Fence): Fence {
  const { lock, token, kind } = fence;
  return kind === undefined ? { lock, token } : { lock, token, kind };
}

/** A call's `timeoutMs`, or the client's `dflt`; INVALID_ARGUMENT unless a non-negative number. */
function callTimeout(opts: CallOptions, dflt: number): number {
  const t = opts.timeoutMs ?? dflt;
  if (typeof t !== 'number' || !(t >= 0))
    throw new InvalidArgumentError(`timeoutMs must be a non-negative number (milliseconds), got ${String(t)}`, 'timeoutMs');
  return t;
}

/** The request fields of a listing, checked where the server would only say INVALID_ARGUMENT. */
function listArgs(opts: ListOptions): { prefix?: string; after?: string; limit?: number; stale?: boolean } {
  const { prefix, after, limit, stale } = opts;
  if (prefix !== undefined && typeof prefix !== 'string') throw new InvalidArgumentError('prefix must be a string', 'prefix');
  if (after !== undefined && (typeof after !== 'string' || after === ''))
    throw new InvalidArgumentError('after must be a name (the next of the previous page)', 'after');
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1 || limit > 1_000))
    throw new InvalidArgumentError(`limit must be an integer in [1, 1000], got ${String(limit)}`, 'limit');
  return {
    ...(prefix !== undefined && prefix !== '' ? { prefix } : {}),
    ...(after !== undefined ? { after } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(stale === true ? { stale } : {}),
  };
}

/** `connect({ tls })` checked: PEM strings or buffers, a certificate only with its key. */
function checkTls(tls: ClientTls): ClientTls {
  const pem = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v) || v instanceof Uint8Array;
  const { ca, cert, key } = tls;
  if (ca !== undefined && !pem(ca) && !(Array.isArray(ca) && ca.every(pem)))
    throw new InvalidArgumentError('tls.ca must be PEM text or a buffer (or an array of them)', 'tls.ca');
  if (cert !== undefined && !pem(cert)) throw new InvalidArgumentError('tls.cert must be PEM text or a buffer', 'tls.cert');
  if (key !== undefined && !pem(key)) throw new InvalidArgumentError('tls.key must be PEM text or a buffer', 'tls.key');
  if ((cert === undefined) !== (key === undefined))
    throw new InvalidArgumentError('tls.cert and tls.key go together: give both, or neither', cert === undefined ? 'tls.cert' : 'tls.key');
  return tls;
}

function positive(v: number | undefined, dflt: number, field: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
    throw new InvalidArgumentError(`${field} must be a positive number, got ${String(v)}`, field);
  return v;
}

/**
 * Connects to a raftlock cluster: finds the leader, opens a session and keeps it alive in the
 * background. Reject with {@link UnavailableError} if no session could be opened within
 * `timeoutMs`.
 *
 * ```ts
 * const client = await connect({ endpoints: ['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103'] });
 * await using lock = await client.lock('orders', { waitMs: 5_000 });
 * await client.counter('hits').add(1, { fence: { lock: 'orders', token: lock.fencingToken } });
 * ```
 */
export async function connect(opts: ConnectOptions): Promise<RaftlockClient> {
  const client = new RaftlockClient(opts);
  try {
    await client.open(opts.signal);
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
