/**
 * The raftlock client: a session kept alive in the background, locks, counters,
 * exactly-once writes, typed errors.
 */
import type { LockInfo, OpValues, RequestBody } from '../protocol/index.js';
import { ClusterClient, now, RemoteError, toRaftlockError, waitFor, type CallOptions } from './cluster-client.js';
import { Counter, type Fence, type ReadBody, type WriteBody, type WriteOptions } from './counter.js';
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
import { Lock } from './lock.js';
import { Session } from './session.js';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** The nodes' client addresses: `host:port` or `ws://host:port` (any number; a majority helps). */
  readonly endpoints: readonly string[] | string;
  /** The session's lease (1 s – 10 min; default 10 s). Keep-alives go every third of it. */
  readonly sessionTtlMs?: number;
  /** A label for the session, shown by the cluster. */
  readonly clientId?: string;
  /** The client token, when the cluster requires one. */
  readonly token?: string;
  /** Default deadline of every call, retries and failover included (default 15 s). */
  readonly timeoutMs?: number;
  /** Longest wait for a connection to open (default 2 s). */
  readonly connectTimeoutMs?: number;
  /** Longest wait for one attempt's answer before retrying elsewhere (default 5 s). */
  readonly attemptTimeoutMs?: number;
  /**
   * How long before the lease could end, by this client's clock, locks' signals fire when no
   * keep-alive was acknowledged (allowance for clock drift and delays). Default
   * `max(sessionTtlMs / 5, 500)`.
   */
  readonly safetyMarginMs?: number;
  /** Aborts connecting. */
  readonly signal?: AbortSignal;
}

/** Options of {@link RaftlockClient.lock}. */
export interface LockOptions extends CallOptions {
  /**
   * How long to wait in the lock's FIFO queue before {@link LockTimeoutError} (default: the
   * cluster's longest wait, 24 h). The call's `timeoutMs` adds to it as slack for failover.
   */
  readonly waitMs?: number;
}

/** Options of {@link RaftlockClient.lockInfo}. */
export interface LockInfoOptions extends CallOptions {
  /** Read the answering node's state as it is instead of a linearizable read. */
  readonly stale?: boolean;
}

const DEFAULT_TTL_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 15_000;
/** The cluster's default longest wait (state machine limit `maxWaitMs`). */
const DEFAULT_WAIT_MS = 86_400_000;

/** A per-name gate so that two holders inside one client never share a lock. */
class LocalGates {
  private readonly queues = new Map<string, Array<() => void>>();

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
// Also a LockOwner and a CounterOwner (checked where it passes itself to Lock and Counter); not
// declared with `implements`, since their methods are internal and left out of the .d.ts.
export class RaftlockClient implements AsyncDisposable {
  private readonly cluster: ClusterClient;
  private session: Session | undefined;
  private opening: Promise<Session> | undefined;
  private readonly gates = new LocalGates();
  private readonly held = new Set<Lock>();
  private closing: Promise<void> | undefined;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly safetyMarginMs: number;

  /** @internal Use {@link connect}. */
  constructor(private readonly opts: ConnectOptions) {
    const endpoints =
      typeof opts.endpoints === 'string'
        ? opts.endpoints
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : opts.endpoints;
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
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      ...(opts.attemptTimeoutMs !== undefined ? { attemptTimeoutMs: opts.attemptTimeoutMs } : {}),
    });
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
   * Acquires `name`, waiting in its FIFO queue for up to `waitMs`. Throws
   * {@link LockTimeoutError} if the wait ends ungranted.
   */
  async lock(name: string, opts: LockOptions = {}): Promise<Lock> {
    const waitMs = opts.waitMs ?? DEFAULT_WAIT_MS;
    if (!Number.isSafeInteger(waitMs) || waitMs < 0)
      throw new InvalidArgumentError(`waitMs must be a non-negative integer, got ${String(opts.waitMs)}`, 'waitMs');
    const lock = await this.acquire(name, waitMs, opts);
    if (lock === null) throw new LockTimeoutError(name, `lock ${JSON.stringify(name)} not acquired within ${waitMs} ms`);
    return lock;
  }

  /** Acquires `name` if it is free now; never waits. `null` if another holder has it. */
  tryLock(name: string, opts: CallOptions = {}): Promise<Lock | null> {
    return this.acquire(name, 0, opts);
  }

  /**
   * Runs `fn` under the lock and releases it afterwards, whatever happens. If `fn` succeeded
   * but the lock turned out to be lost before the release, throws {@link LockLostError}.
   */
  async withLock<T>(name: string, fn: (lock: Lock) => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
    const lock = await this.lock(name, opts);
    let result: T;
    try {
      result = await fn(lock);
    } catch (err) {
      await lock.release().catch(() => {});
      throw err;
    }
    try {
      await lock.release();
    } catch (err) {
      if (err instanceof NotHeldError)
        throw new LockLostError(name, `lock ${JSON.stringify(name)} was lost before withLock released it`, { cause: err });
      throw err;
    }
    return result;
  }

  /** Who holds `name` and how many wait (linearizable unless `stale`). */
  async lockInfo(name: string, opts: LockInfoOptions = {}): Promise<LockInfo> {
    return this.read(opts.stale === true ? { op: 'lock-info', name, stale: true } : { op: 'lock-info', name }, opts);
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
   */
  async releaseLock(lock: Lock, opts: CallOptions): Promise<void> {
    this.checkOpen();
    const s = lock.session;
    if (s.expired !== undefined) throw new NotHeldError(`lock ${JSON.stringify(lock.name)}: session ${s.id} ended`);
    const seq = s.allocSeq();
    let handedOver = false;
    try {
      await this.send(s, seq, { op: 'release', name: lock.name }, undefined, this.deadline(opts), opts.signal, false);
    } catch (err) {
      // The cluster had ended the session (so the lock is lost) before this client heard of it:
      // like the check above, a lost lock's release is NOT_HELD (docs/design.md#locks), which
      // withLock reports as LOCK_LOST.
      if (err instanceof SessionExpiredError)
        throw new NotHeldError(`lock ${JSON.stringify(lock.name)} (token ${lock.fencingToken}) was lost: ${err.message}`, { cause: err });
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

  /** Re-sends release `seq` until answered, the session ends or the client closes; then the lock is gone. */
  private async finishRelease(lock: Lock, seq: number): Promise<void> {
    const s = lock.session;
    try {
      while (s.expired === undefined && !this.cluster.closed) {
        try {
          await this.send(s, seq, { op: 'release', name: lock.name }, undefined, now() + this.timeoutMs, undefined, false);
          break;
        } catch (err) {
          if (err instanceof RaftlockError && !(err instanceof UnavailableError)) break; // answered (NOT_HELD, SESSION_EXPIRED…)
          if (err instanceof ClientClosedError) break;
        }
      }
    } finally {
      s.finish(seq);
      lock.releasedInBackground();
    }
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

  private checkOpen(): void {
    if (this.closing !== undefined) throw new ClientClosedError();
  }

  private deadline(opts: CallOptions, extraMs = 0): number {
    const t = opts.timeoutMs ?? this.timeoutMs;
    if (typeof t !== 'number' || !(t >= 0))
      throw new InvalidArgumentError(`timeoutMs must be a non-negative number, got ${String(t)}`, 'timeoutMs');
    return now() + t + extraMs;
  }

  /** Sends one write of session `s` with `seq`, retrying it as it is until answered. */
  private async send<B extends WriteBody>(
    s: Session,
    seq: number,
    body: B,
    fence: Fence | undefined,
    deadline: number,
    signal: AbortSignal | undefined,
    parked: boolean,
  ): Promise<OpValues[B['op']]> {
    try {
      const r = await this.cluster.call({
        // The body plus the session's fields is the request of the body's op.
        /* eslint-disable @typescript-eslint/no-unnecessary-type-assertion -- wrong: tsc needs the cast (a block: Prettier wraps this) */
        build: () =>
          ({
            ...body,
            session: s.id,
            seq,
            ackedSeq: s.ackedSeq,
            ...(fence !== undefined ? { fence: { lock: fence.lock, token: fence.token } } : {}),
          }) as RequestBody & { readonly op: B['op'] },
        /* eslint-enable @typescript-eslint/no-unnecessary-type-assertion */
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
        throw new UnavailableError('no session could be opened in time', false);
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

  private async acquire(name: string, waitMs: number, opts: CallOptions): Promise<Lock | null> {
    this.checkOpen();
    const started = now();
    const deadline = this.deadline(opts, waitMs);
    let exitGate: (() => void) | undefined;
    if (waitMs === 0) {
      exitGate = this.gates.tryEnter(name);
      if (exitGate === undefined) return null; // held by another holder in this client
    } else {
      exitGate = await this.gates.enter(name, started + waitMs, [opts.signal, this.cluster.closeSignal]);
      if (exitGate === undefined)
        throw new LockTimeoutError(name, `lock ${JSON.stringify(name)} not acquired within ${waitMs} ms (held inside this client)`);
    }
    const exit = exitGate;
    let handedOver = false;
    try {
      const s = await this.sessionFor(deadline, opts.signal);
      const serverWait = waitMs === 0 ? 0 : Math.max(0, Math.floor(started + waitMs - now()));
      const seq = s.allocSeq();
      let settled = false;
      try {
        const v = await this.send(s, seq, { op: 'acquire', name, waitMs: serverWait }, undefined, deadline, opts.signal, serverWait > 0);
        settled = v.status !== 'queued';
        switch (v.status) {
          case 'granted':
          case 'held-by-you': {
            const lock = new Lock(this, s, name, v.token, () => {
              this.held.delete(lock);
              exit();
            });
            this.held.add(lock);
            handedOver = true;
            return lock;
          }
          case 'not-acquired':
          case 'timed-out':
            return null;
          default:
            // `queued` is never an answer (the server holds it until the wait ends).
            throw new UnavailableError(`the wait for lock ${JSON.stringify(name)} was not answered`, true);
        }
      } catch (err) {
        settled ||= err instanceof RaftlockError && !(err instanceof UnavailableError && err.outcomeUnknown);
        throw err;
      } finally {
        if (settled) s.finish(seq);
        else if (!handedOver) {
          handedOver = true;
          void this.abandonAcquire(s, seq, name, serverWait).finally(exit);
        }
      }
    } finally {
      if (!handedOver) exit();
    }
  }

  /**
   * An acquire whose fate is unknown (aborted, or no answer in time) may still be queued or
   * granted: keep asking with the same seq until it ends, and release a late grant, so the
   * session never holds a lock nobody knows of. Holds the local gate meanwhile.
   */
  private async abandonAcquire(s: Session, seq: number, name: string, waitMs: number): Promise<void> {
    try {
      if (s.expired !== undefined || this.cluster.closed) return;
      const v = await this.send(s, seq, { op: 'acquire', name, waitMs }, undefined, now() + waitMs + 60_000, undefined, waitMs > 0);
      if (v.status === 'granted' || v.status === 'held-by-you') {
        const rseq = s.allocSeq();
        try {
          await this.send(s, rseq, { op: 'release', name }, undefined, now() + this.timeoutMs, undefined, false);
        } finally {
          s.finish(rseq);
        }
      }
    } catch {
      // The session ends (close or expiry) or the cluster stays away: the lease ends the wait.
    } finally {
      s.finish(seq);
    }
  }
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
