/**
 * One-shot operations on a session that nobody keeps alive: what `raftlock lock acquire` and
 * `raftlock lock release --session ID:SECRET` need. The acquiring process exits while the
 * lock stays held until it is released by session id or the session's TTL runs out, so there is
 * no keep-alive, no lease watchdog and no `Lock.signal` here: the user chose a bare lease.
 *
 * Writes still carry `(session, seq)` and a retry reuses them, so each is applied at most once.
 * A session is a capability (docs/design.md#sessions-are-capabilities): what `acquire` hands
 * out, and what `release` takes, is the handle `ID:SECRET`, not the bare id.
 * Internal to the CLI; applications use {@link connect}.
 */
import { isSessionSecret, type OpValues, type ReleaseValue, type RequestBody } from '../protocol/index.js';
import { ClusterClient, now, RemoteError, toRaftlockError } from './cluster-client.js';
import type { ReadBody } from './counter.js';
import type { ClientTls } from './connection.js';
import { InvalidArgumentError, LockTimeoutError } from './errors.js';

/** Options of a {@link DetachedSessions} client. */
export interface DetachedOptions {
  readonly endpoints: readonly string[];
  readonly token?: string;
  /** TLS settings, as `connect({ tls })` takes them. */
  readonly tls?: ClientTls;
  /** Deadline of each call, retries and failover included. */
  readonly timeoutMs: number;
}

/** A session named with the proof of owning it: `ID:SECRET`, as `lock acquire` prints it. */
export interface SessionHandle {
  readonly sessionId: number;
  readonly secret: string;
}

/** `ID:SECRET`, the form the CLI prints and takes back. */
export function formatSessionHandle(h: SessionHandle): string {
  return `${h.sessionId}:${h.secret}`;
}

/** Parses `ID:SECRET`; throws {@link InvalidArgumentError} naming `field` otherwise. */
export function parseSessionHandle(text: string, field: string): SessionHandle {
  const m = /^(\d{1,16}):(.*)$/.exec(text.trim());
  const sessionId = m === null ? NaN : Number(m[1]);
  const secret = m?.[2] ?? '';
  if (!Number.isSafeInteger(sessionId) || sessionId <= 0 || !isSessionSecret(secret)) {
    throw new InvalidArgumentError(
      `${field} must be the session handle ID:SECRET that \`raftlock lock acquire\` printed, got ${JSON.stringify(text)}` +
        (/^\d+$/.test(text.trim()) ? ' (a bare session id is not enough: the secret proves the session is yours)' : ''),
      field,
    );
  }
  return { sessionId, secret };
}

/** A grant made on a detached session. */
export interface DetachedGrant extends SessionHandle {
  readonly fencingToken: number;
  readonly ttlMs: number;
  /** Log time (ms since the epoch, leader's clock) at which the session expires unless released. */
  readonly expiresAt: number;
}

/**
 * Seqs of writes on a session this process did not open. They only need to be new to that
 * session: a millisecond timestamp is, for any session the CLI opened with the small seqs 1
 * and 2 (acquire), and a second release in the same millisecond would be a retry of the first,
 * which is harmless. `ackedSeq = seq − 1` tells the cluster no older result will be asked for.
 */
function foreignSeq(): number {
  return Date.now();
}

/** Sessions and locks without keep-alive, for the CLI. Call {@link close} when done. @internal */
export class DetachedSessions {
  private readonly cluster: ClusterClient;

  constructor(private readonly opts: DetachedOptions) {
    this.cluster = new ClusterClient({
      endpoints: opts.endpoints,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    });
  }

  /**
   * Opens a session with `ttlMs` and acquires `name` on it, waiting up to `waitMs` in the FIFO
   * queue. On any failure the session is closed again (best effort), so a failed acquire leaves
   * nothing behind. Throws {@link LockTimeoutError} when not granted in time.
   */
  async acquire(name: string, ttlMs: number, waitMs: number, clientId: string, signal?: AbortSignal): Promise<DetachedGrant> {
    const opened = await this.call({ op: 'open-session', ttlMs, clientId }, true, now() + this.opts.timeoutMs, signal);
    const session = opened.sessionId;
    try {
      const v = await this.call(
        { op: 'acquire', name, waitMs, session, seq: 1, ackedSeq: 0 },
        true,
        now() + waitMs + this.opts.timeoutMs,
        signal,
        waitMs > 0,
      );
      if (v.status === 'granted' || v.status === 'held-by-you') {
        return { sessionId: session, secret: opened.secret, fencingToken: v.token, ttlMs: opened.ttlMs, expiresAt: v.expiresAt };
      }
      throw new LockTimeoutError(name, `lock ${JSON.stringify(name)} was not acquired within ${waitMs} ms: another session holds it`);
    } catch (err) {
      await this.closeSession(session).catch(() => {});
      throw err;
    }
  }

  /** Releases `name` held by the session of `handle` (opened elsewhere). Throws `NotHeldError` if it does not hold it. */
  async release(name: string, handle: SessionHandle, signal?: AbortSignal): Promise<ReleaseValue> {
    this.cluster.rememberSession(handle.sessionId, handle.secret);
    const seq = foreignSeq();
    const body = { op: 'release', name, session: handle.sessionId, seq, ackedSeq: seq - 1 } as const;
    return this.call(body, true, now() + this.opts.timeoutMs, signal);
  }

  /** Ends session `sessionId` (opened by this client): releases its locks and drops its waits. */
  async closeSession(sessionId: number, signal?: AbortSignal): Promise<void> {
    const seq = foreignSeq();
    await this.call({ op: 'close-session', session: sessionId, seq, ackedSeq: seq - 1 }, true, now() + this.opts.timeoutMs, signal);
  }

  /** A read (`counter-get`, `lock-info`) without any session. */
  read<B extends ReadBody>(body: B, signal?: AbortSignal): Promise<OpValues[B['op']]> {
    return this.call(body, false, now() + this.opts.timeoutMs, signal);
  }

  /** Closes the connections (sessions stay as they are). */
  close(): void {
    this.cluster.close();
  }

  private async call<B extends RequestBody>(
    body: B,
    write: boolean,
    deadline: number,
    signal: AbortSignal | undefined,
    parked = false,
  ): Promise<OpValues[B['op']]> {
    try {
      const r = await this.cluster.call({ build: () => body, write, deadline, signal, parked });
      return r.value;
    } catch (err) {
      throw err instanceof RemoteError ? toRaftlockError(err.error, err.outcomeUnknown) : err;
    }
  }
}
