/**
 * One-shot operations on a session that nobody keeps alive: what `raftlock lock acquire` and
 * `raftlock lock release --session ID:SECRET` need, and `raftlock semaphore acquire` and
 * `raftlock semaphore release --session ID:SECRET:SEQ` (a grant of permits is named by its
 * session and the seq of the acquire that was granted it). The acquiring process exits while the
 * lock stays held until it is released by session id or the session's TTL runs out, so there is
 * no keep-alive, no lease watchdog and no `Lock.signal` here: the user chose a bare lease.
 *
 * Writes still carry `(session, seq)` and a retry reuses them, so each is applied at most once.
 * A session is a capability (docs/design.md#sessions-are-capabilities): what `acquire` hands
 * out, and what `release` takes, is the handle `ID:SECRET`, not the bare id.
 *
 * Also what needs no session at all: reads, and watches (`raftlock watch`, `raftlock elect
 * observe`), which a token of role `read` may follow.
 * Internal to the CLI; applications use {@link connect}.
 */
import { isSessionSecret, type AcquireValue, type OpValues, type ReleaseValue, type RequestBody, type RwMode } from '../protocol/index.js';
import { ClusterClient, now, RemoteError, toRaftlockError, type CallOptions } from './cluster-client.js';
import type { ReadBody, StateSource } from './counter.js';
import type { ClientTls } from './connection.js';
import { InvalidArgumentError, LockTimeoutError } from './errors.js';
import { electionLeaders, type LeaderChange } from './election.js';
import { clusterFeed, Watch, withIndex, type IndexedRead, type WatchOptions } from './watch.js';

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

/**
 * Parses `ID:SECRET`; throws {@link InvalidArgumentError} naming `field` otherwise, saying it
 * must be `printed` (what printed the handle).
 */
export function parseSessionHandle(
  text: string,
  field: string,
  printed = 'the session handle ID:SECRET that `raftlock lock acquire` printed',
): SessionHandle {
  const m = /^(\d{1,16}):(.*)$/.exec(text.trim());
  const sessionId = m === null ? NaN : Number(m[1]);
  const secret = m?.[2] ?? '';
  if (!Number.isSafeInteger(sessionId) || sessionId <= 0 || !isSessionSecret(secret)) {
    throw new InvalidArgumentError(
      `${field} must be ${printed}, got ${JSON.stringify(text)}` +
        (/^\d+$/.test(text.trim()) ? ' (a bare session id is not enough: the secret proves the session is yours)' : ''),
      field,
    );
  }
  return { sessionId, secret };
}

/**
 * A grant of permits named with the proof of owning its session: `ID:SECRET:SEQ`, as
 * `semaphore acquire` prints it (`SEQ`: the seq of the acquire that was granted).
 */
export interface PermitHandle extends SessionHandle {
  readonly acquireSeq: number;
}

/** `ID:SECRET:SEQ`, the form the CLI prints and takes back. */
export function formatPermitHandle(h: PermitHandle): string {
  return `${formatSessionHandle(h)}:${h.acquireSeq}`;
}

/**
 * Parses the handle of a grant of permits: `ID:SECRET:SEQ`, or `ID:SECRET` with the seq given
 * apart (`grant`: the text of `--grant`; if both give one, they must agree). Throws
 * {@link InvalidArgumentError} naming `field` (or `--grant`).
 */
export function parsePermitHandle(text: string, field: string, grant?: string): PermitHandle {
  const printed = 'the handle ID:SECRET:SEQ that `raftlock semaphore acquire` printed';
  const parts = text.trim().split(':');
  if (parts.length > 3) throw new InvalidArgumentError(`${field} must be ${printed}, got ${JSON.stringify(text)}`, field);
  // One part: a bare id (or worse), which parseSessionHandle refuses with its own note.
  const session = parseSessionHandle(parts.length === 1 ? text : `${parts[0]}:${parts[1]}`, field, printed);
  const seqText = parts[2] ?? grant;
  if (seqText === undefined)
    throw new InvalidArgumentError(`${field} names a session but not its grant: pass ${printed}, or add --grant SEQ`, field);
  const seqField = parts[2] !== undefined ? field : '--grant';
  const acquireSeq = /^\d{1,16}$/.test(seqText.trim()) ? Number(seqText) : NaN;
  if (!Number.isSafeInteger(acquireSeq) || acquireSeq < 1)
    throw new InvalidArgumentError(
      `the grant's SEQ must be a positive integer (the acquire's seq), got ${JSON.stringify(seqText)}`,
      seqField,
    );
  if (parts[2] !== undefined && grant !== undefined && Number(grant) !== acquireSeq)
    throw new InvalidArgumentError(
      `--grant ${grant} does not match the grant ${acquireSeq} named by ${field}; give one of them`,
      '--grant',
    );
  return { ...session, acquireSeq };
}

/** A grant made on a detached session. */
export interface DetachedGrant extends SessionHandle {
  readonly fencingToken: number;
  readonly ttlMs: number;
  /** Log time (ms since the epoch, leader's clock) at which the session expires unless released. */
  readonly expiresAt: number;
}

/** A grant of permits made on a detached session: its handle names the acquire's seq too. */
export interface DetachedPermitGrant extends DetachedGrant, PermitHandle {}

/** What a detached acquire of permits asks for: a semaphore's count and weight, or a readers-writer lock's mode. */
export type PermitTerms =
  { readonly kind: 'semaphore'; readonly permits: number; readonly weight: number } | { readonly kind: 'rwlock'; readonly mode: RwMode };

/**
 * Seqs of writes on a session this process did not open. They only need to be new to that
 * session: a millisecond timestamp is, for any session the CLI opened with the small seqs 1
 * and 2 (acquire), and a second release in the same millisecond would be a retry of the first,
 * which is harmless. `ackedSeq = seq − 1` tells the cluster no older result will be asked for.
 */
function foreignSeq(): number {
  return Date.now();
}

/** The seq of the acquire on a session this process opened (the session's first write). */
const ACQUIRE_SEQ = 1;

/** Sessions and locks without keep-alive, and session-less reads and watches, for the CLI. Call {@link close} when done. @internal */
export class DetachedSessions implements StateSource {
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
    const timeout = `lock ${JSON.stringify(name)} was not acquired within ${waitMs} ms: another session holds it`;
    return this.acquireOn(ttlMs, waitMs, clientId, signal, name, timeout, (session) => ({
      op: 'acquire',
      name,
      waitMs,
      session,
      seq: ACQUIRE_SEQ,
      ackedSeq: 0,
    }));
  }

  /**
   * Opens a session with `ttlMs` and takes permits of `name` on it (a semaphore's `weight` of
   * `permits`, or a readers-writer lock in `mode`), waiting up to `waitMs` in the FIFO queue; as
   * {@link acquire} otherwise. The grant's handle names the acquire's seq.
   */
  async acquirePermit(
    name: string,
    terms: PermitTerms,
    ttlMs: number,
    waitMs: number,
    clientId: string,
    signal?: AbortSignal,
  ): Promise<DetachedPermitGrant> {
    const taken = terms.kind === 'rwlock' ? `a ${terms.mode} lock` : terms.weight === 1 ? 'a permit' : `${terms.weight} permits`;
    const what = `${taken} of ${terms.kind} ${JSON.stringify(name)}`;
    const timeout = `${what} ${terms.kind === 'semaphore' && terms.weight !== 1 ? 'were' : 'was'} not acquired within ${waitMs} ms: other sessions hold or await it`;
    const g = await this.acquireOn(ttlMs, waitMs, clientId, signal, name, timeout, (session) => ({
      op: 'acquire-permit',
      ...terms,
      name,
      waitMs,
      session,
      seq: ACQUIRE_SEQ,
      ackedSeq: 0,
    }));
    return { ...g, acquireSeq: ACQUIRE_SEQ };
  }

  /** Releases `name` held by the session of `handle` (opened elsewhere). Throws `NotHeldError` if it does not hold it. */
  async release(name: string, handle: SessionHandle, signal?: AbortSignal): Promise<ReleaseValue> {
    this.cluster.rememberSession(handle.sessionId, handle.secret);
    const seq = foreignSeq();
    const body = { op: 'release', name, session: handle.sessionId, seq, ackedSeq: seq - 1 } as const;
    return this.call(body, true, now() + this.opts.timeoutMs, signal);
  }

  /**
   * Releases the grant of permits of `name` that `handle` names (a session opened elsewhere, and
   * its acquire's seq). Throws `NotHeldError` if that session holds no such grant.
   */
  async releasePermit(kind: PermitTerms['kind'], name: string, handle: PermitHandle, signal?: AbortSignal): Promise<ReleaseValue> {
    this.cluster.rememberSession(handle.sessionId, handle.secret);
    const seq = foreignSeq();
    const body = {
      op: 'release-permit',
      kind,
      name,
      acquireSeq: handle.acquireSeq,
      session: handle.sessionId,
      seq,
      ackedSeq: seq - 1,
    } as const;
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

  /** A read without any session, with the index it holds (the index the answering node had applied when it read). */
  async readIndexed<B extends ReadBody>(body: B, opts: CallOptions): Promise<IndexedRead<OpValues[B['op']]>> {
    try {
      const r = await this.cluster.call({ build: () => body, write: false, deadline: now() + this.opts.timeoutMs, signal: opts.signal });
      return withIndex(r.value, r.index);
    } catch (err) {
      throw err instanceof RemoteError ? toRaftlockError(err.error, false) : err;
    }
  }

  /** A watch without any session (as `client.watch()`; each start has `timeoutMs` to find a node). */
  watch(opts: WatchOptions): Watch {
    return new Watch(clusterFeed(this.cluster, this.opts.timeoutMs), opts);
  }

  /** The leaders of election `name`, without any session: as `Election.observe()`. */
  observeElection(name: string, signal: AbortSignal): AsyncGenerator<LeaderChange, void, undefined> {
    return electionLeaders(this, name, { signal });
  }

  /** Closes the connections (sessions stay as they are). */
  close(): void {
    this.cluster.close();
  }

  /**
   * What {@link acquire} and {@link acquirePermit} share: a new session, `body` on it with seq
   * {@link ACQUIRE_SEQ}, and the session closed again (best effort) on any failure, so a failed
   * acquire leaves nothing behind. {@link LockTimeoutError} with `timeout` when not granted.
   */
  private async acquireOn(
    ttlMs: number,
    waitMs: number,
    clientId: string,
    signal: AbortSignal | undefined,
    name: string,
    timeout: string,
    body: (session: number) => RequestBody & { readonly op: 'acquire' | 'acquire-permit' },
  ): Promise<DetachedGrant> {
    const opened = await this.call({ op: 'open-session', ttlMs, clientId }, true, now() + this.opts.timeoutMs, signal);
    const session = opened.sessionId;
    try {
      const v: AcquireValue = await this.call(body(session), true, now() + waitMs + this.opts.timeoutMs, signal, waitMs > 0);
      if (v.status === 'granted' || v.status === 'held-by-you') {
        return { sessionId: session, secret: opened.secret, fencingToken: v.token, ttlMs: opened.ttlMs, expiresAt: v.expiresAt };
      }
      throw new LockTimeoutError(name, timeout);
    } catch (err) {
      await this.closeSession(session).catch(() => {});
      throw err;
    }
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
