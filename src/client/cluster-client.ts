/**
 * Talks to a cluster rather than a node: finds the leader (following `NOT_LEADER` hints, else
 * trying the endpoints in turn), reconnects with backoff, and retries a request until it gets
 * an answer or its deadline passes. It never changes a request between attempts except through
 * the caller's `build` function, so a write retried here keeps its `(session, seq)` and is
 * applied at most once (docs/design.md#exactly-once-writes).
 */
import { setMaxListeners } from 'node:events';
import {
  DecodeError,
  parseValue,
  type ClientError,
  type ClientResponse,
  type NodeRoleValue,
  type OpValues,
  type RequestBody,
  type RequestOf,
} from '../protocol/index.js';
import { Connection, ConnectionLostError } from './connection.js';
import { endpointUrl, parseEndpointList } from './endpoints.js';
import {
  AuthError,
  ClientClosedError,
  FencedError,
  InvalidArgumentError,
  LimitExceededError,
  LockLostError,
  LockTimeoutError,
  NotHeldError,
  OverflowError,
  SessionExpiredError,
  UnavailableError,
  type RaftlockError,
} from './errors.js';

/** Options every SDK call takes. */
export interface CallOptions {
  /** Aborts the call; it rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** How long the call may take, including retries and failover (default: the client's `timeoutMs`). */
  readonly timeoutMs?: number;
}

/** Settings of a {@link ClusterClient}. */
export interface ClusterClientOptions {
  /** `host:port` or `ws://host:port[/client]` of the nodes (any subset that includes a majority helps). */
  readonly endpoints: readonly string[];
  /** Client token, when the cluster requires one. */
  readonly token?: string;
  /** Longest wait for a WebSocket to open (default 2,000 ms). */
  readonly connectTimeoutMs?: number;
  /** Longest wait for one attempt's answer before trying again elsewhere (default 5,000 ms). */
  readonly attemptTimeoutMs?: number;
  /** Keep the endpoint list to the members the nodes list (see `ConnectOptions.discoverMembers`). */
  readonly discoverMembers?: boolean;
}

/** One request of {@link ClusterClient.call}. */
export interface CallSpec<B extends RequestBody> {
  /** Builds the request for each attempt (a write reuses its session and seq). */
  readonly build: () => B;
  /** Whether the request changes state (its outcome may be unknown after a lost answer). */
  readonly write: boolean;
  /** Absolute deadline (`performance.now()` scale). */
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
  /**
   * The server may hold the answer for long (a queued acquire): an attempt that stays
   * unanswered is re-sent on the same connection rather than taken as a dead node.
   */
  readonly parked?: boolean;
}

/** A successful answer, with the moment the answered attempt was sent (client clock). */
export interface CallResult<T> {
  readonly value: T;
  readonly index: number | undefined;
  readonly sentAt: number;
}

/** A definite refusal from the cluster, with the code it gave. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  constructor(
    readonly error: ClientError,
    /** Whether an earlier attempt of this write may have been applied. */
    readonly outcomeUnknown: boolean,
  ) {
    super(error.message);
  }
}

/** Monotonic milliseconds. */
export const now = (): number => performance.now();

type Waited<T> =
  | { readonly kind: 'value'; readonly value: T }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted'; readonly signal: AbortSignal };

/** Waits for `p`, at most `ms`, or until one of `signals` aborts. Never rejects. */
export function waitFor<T>(p: Promise<T>, ms: number, signals: readonly (AbortSignal | undefined)[]): Promise<Waited<T>> {
  return new Promise((resolve) => {
    const cleanups: Array<() => void> = [];
    let done = false;
    const finish = (w: Waited<T>): void => {
      if (done) return;
      done = true;
      for (const c of cleanups) c();
      resolve(w);
    };
    for (const s of signals) {
      if (s === undefined) continue;
      if (s.aborted) {
        finish({ kind: 'aborted', signal: s });
        return;
      }
      const on = (): void => finish({ kind: 'aborted', signal: s });
      s.addEventListener('abort', on, { once: true });
      cleanups.push(() => s.removeEventListener('abort', on));
    }
    if (Number.isFinite(ms)) {
      const timer = setTimeout(() => finish({ kind: 'timeout' }), Math.max(0, ms));
      cleanups.push(() => clearTimeout(timer));
    }
    p.then(
      (value) => finish({ kind: 'value', value }),
      (error: unknown) => finish({ kind: 'error', error }),
    );
  });
}

/** Maps a cluster error to the SDK's typed error. */
export function toRaftlockError(e: ClientError, outcomeUnknown: boolean): RaftlockError {
  switch (e.code) {
    case 'NOT_HELD':
      return new NotHeldError(e.message);
    case 'SESSION_EXPIRED':
      return new SessionExpiredError(e.message, outcomeUnknown);
    case 'FENCED':
      return new FencedError(e.message);
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(e.message, e.field);
    case 'LIMIT_EXCEEDED':
      return new LimitExceededError(e.message);
    case 'OVERFLOW':
      return new OverflowError(e.message);
    case 'AUTH':
      return new AuthError(e.message, e.field);
    case 'LOCK_TIMEOUT':
      return new LockTimeoutError('', e.message);
    case 'LOCK_LOST':
      return new LockLostError('', e.message);
    case 'STALE_SEQUENCE':
      // The SDK never re-sends an acknowledged seq; if the cluster says so, the first attempt's
      // fate is what we cannot know.
      return new UnavailableError(`the cluster no longer knows this write's result (${e.message})`, true);
    case 'UNAVAILABLE':
    case 'NOT_LEADER':
      return new UnavailableError(e.message, outcomeUnknown || e.outcomeUnknown === true);
  }
}

/** The answer's value checked against its op, or the {@link DecodeError} saying what is wrong. */
function checkedValue<O extends RequestBody['op']>(op: O, value: unknown): OpValues[O] | DecodeError {
  try {
    return parseValue(op, value);
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw err;
  }
}

/** Leader discovery, connections and retries for one client. */
export class ClusterClient {
  /** Where the cluster is: the endpoints given, then the members the nodes list. */
  private urls: readonly string[];
  private target: string;
  private nextIndex = 0;
  private conn: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private readonly closer = new AbortController();
  private readonly connectTimeoutMs: number;
  private readonly attemptTimeoutMs: number;
  /** Secrets of the sessions this client acts for, by id. */
  private readonly secrets = new Map<number, string>();

  constructor(private readonly opts: ClusterClientOptions) {
    this.urls = parseEndpointList(opts.endpoints).map(endpointUrl);
    this.target = this.urls[0] as string;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2_000;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 5_000;
    // Every call in flight listens for the close: with more than 10 concurrent calls Node would
    // print a (false) "possible memory leak" warning in the user's process.
    setMaxListeners(0, this.closer.signal);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.closer.signal.aborted;
  }

  /** Aborted when the client closes. */
  get closeSignal(): AbortSignal {
    return this.closer.signal;
  }

  /** Closes the connection; running and later calls reject with {@link ClientClosedError}. */
  close(): void {
    if (this.closed) return;
    this.closer.abort(new ClientClosedError());
    this.conn?.close();
    this.conn = undefined;
  }

  /**
   * Sends a request until it is answered, following the leader. Resolves with a success;
   * rejects with {@link RemoteError} for a refusal, {@link UnavailableError} at the deadline,
   * {@link ClientClosedError} if the client closes, or the signal's reason if aborted.
   */
  async call<B extends RequestBody>(spec: CallSpec<B>): Promise<CallResult<OpValues[B['op']]>> {
    let unknown = false;
    let backoff = 10;
    let lastProblem = 'no attempt made';
    let unavailableHere = 0;
    /** Endpoints tried since the last pause: a full round without a leader earns a pause. */
    let tried = 0;
    /**
     * Nodes that said "not leader, and I know no leader" in this round. A hint pointing at one
     * of them is stale (a cut-off follower still naming the old leader): following it would
     * ping-pong between the two until the follower learns better.
     */
    const leaderless = new Set<string>();
    const pause = async (): Promise<void> => {
      tried = 0;
      leaderless.clear();
      const w = await waitFor(new Promise<never>(() => {}), Math.min(backoff, spec.deadline - now()), [spec.signal, this.closer.signal]);
      backoff = Math.min(backoff * 2, 500);
      if (w.kind === 'aborted') this.raiseAbort(w.signal, spec.write && unknown);
    };
    // Moving on to the next endpoint is immediate until every endpoint was tried once: after a
    // partition the old leader's side answers quickly with no (or a stale) leader, and pausing
    // at each of them would delay finding the new leader by seconds.
    const nextEndpoint = async (): Promise<void> => {
      this.advance();
      if (++tried >= this.urls.length) await pause();
    };
    for (;;) {
      if (this.closed) throw new ClientClosedError(spec.write && unknown);
      if (spec.signal?.aborted === true) throw spec.signal.reason;
      const remaining = spec.deadline - now();
      if (remaining <= 0) {
        throw new UnavailableError(
          `no leader answered in time (${lastProblem})${spec.write && unknown ? '; the write may have been applied (at most once)' : ''}`,
          spec.write && unknown,
        );
      }
      const c = await waitFor(this.connection(), remaining, [spec.signal, this.closer.signal]);
      if (c.kind === 'aborted') this.raiseAbort(c.signal, spec.write && unknown);
      if (c.kind === 'timeout') continue;
      if (c.kind === 'error') {
        if (c.error instanceof AuthError) throw c.error;
        lastProblem = c.error instanceof Error ? c.error.message : String(c.error);
        await nextEndpoint();
        continue;
      }
      const conn = c.value;
      const body = spec.build();
      const perAttempt = spec.parked === true ? Math.max(this.attemptTimeoutMs, 15_000) : this.attemptTimeoutMs;
      // A session is proven once per connection (bind) before the first request naming it.
      const binding = this.bindingFor(conn, body);
      let sent = binding === undefined;
      let req = binding === undefined ? conn.send(body) : conn.send(binding);
      let sentAt = now();
      let left = spec.deadline - now();
      let attemptMs = Math.min(left, binding === undefined ? perAttempt : this.attemptTimeoutMs);
      let r = await waitFor(req.response, attemptMs, [spec.signal, this.closer.signal]);
      if (binding !== undefined && r.kind === 'value' && r.value.ok) {
        conn.bound.add(binding.session);
        sent = true;
        req = conn.send(body);
        sentAt = now();
        left = spec.deadline - now();
        attemptMs = Math.min(left, perAttempt);
        r = await waitFor(req.response, attemptMs, [spec.signal, this.closer.signal]);
      }
      /** Whether the node, not the call's deadline, ran out of time (timers may fire ~1 ms early). */
      const nodeTooSlow = perAttempt < left;
      if (r.kind === 'aborted') {
        req.cancel();
        this.raiseAbort(r.signal, spec.write && (sent || unknown));
      }
      if (r.kind === 'timeout') {
        req.cancel();
        if (spec.write && sent) unknown = true;
        lastProblem = `no answer from ${conn.url} within ${Math.round(attemptMs)} ms`;
        // A parked request may simply still be waiting: ask again on the same connection. A
        // call that merely reached its deadline keeps its (healthy) connection for the next.
        if (spec.parked !== true && nodeTooSlow) {
          this.drop(conn);
          this.advance();
        }
        continue;
      }
      if (r.kind === 'error') {
        if (spec.write && sent) unknown = true;
        lastProblem = r.error instanceof Error ? r.error.message : String(r.error);
        this.drop(conn);
        await nextEndpoint();
        continue;
      }
      const resp: ClientResponse = r.value;
      if (resp.ok) {
        const value = checkedValue<B['op']>(body.op, resp.value);
        if (value instanceof DecodeError) {
          // The node speaks the protocol wrongly: as good as no answer; ask another.
          if (spec.write) unknown = true;
          lastProblem = `${conn.url} answered ${body.op} with an invalid ${value.message}`;
          this.drop(conn);
          await nextEndpoint();
          continue;
        }
        this.noteSession(conn, body, value);
        return { value, index: resp.index, sentAt };
      }
      const e = resp.error;
      if (e.code === 'SESSION_EXPIRED' && 'session' in body) this.forgetSession(body.session);
      if (e.code === 'NOT_LEADER') {
        lastProblem = e.message;
        unavailableHere = 0;
        if (e.leaderAddress !== undefined) {
          const url = endpointUrl(e.leaderAddress);
          if (url !== conn.url && !leaderless.has(url)) {
            this.drop(conn);
            this.target = url;
            tried++;
            continue;
          }
        } else {
          leaderless.add(conn.url);
        }
        this.drop(conn);
        await nextEndpoint();
        continue;
      }
      if (e.code === 'UNAVAILABLE') {
        lastProblem = e.message;
        if (e.outcomeUnknown === true) unknown = true;
        // The node is up but cannot serve now (election, stepping down, stopping): try it
        // again after a pause, and another node if it keeps failing.
        if (++unavailableHere >= 3) {
          unavailableHere = 0;
          this.drop(conn);
          this.advance();
        }
        await pause();
        continue;
      }
      if (e.code === 'AUTH') throw new AuthError(e.message, e.field);
      throw new RemoteError(e, spec.write && unknown);
    }
  }

  private raiseAbort(signal: AbortSignal, outcomeUnknown: boolean): never {
    if (signal === this.closer.signal) throw new ClientClosedError(outcomeUnknown);
    throw signal.reason;
  }

  /**
   * Remembers the secret of a session opened elsewhere (a handle `ID:SECRET` given to the CLI),
   * so that every connection proves the session (`bind`) before using it. Sessions this client
   * opens itself are remembered as their open-session answer arrives. @internal
   */
  rememberSession(sessionId: number, secret: string): void {
    this.secrets.set(sessionId, secret);
  }

  /** Forgets an ended session's secret. @internal */
  forgetSession(sessionId: number): void {
    this.secrets.delete(sessionId);
  }

  /**
   * Session bookkeeping after a successful call: a session opened on `conn` is proven there
   * (the node binds it) and its secret kept for other connections; a closed one is forgotten.
   */
  private noteSession(conn: Connection, body: RequestBody, value: unknown): void {
    if (body.op === 'open-session') {
      const v = value as OpValues['open-session'];
      this.secrets.set(v.sessionId, v.secret);
      conn.bound.add(v.sessionId);
    } else if (body.op === 'close-session') {
      this.secrets.delete(body.session);
    }
  }

  /** The `bind` to send on `conn` before `body`, if `body` names a session not proven there. */
  private bindingFor(conn: Connection, body: RequestBody): RequestOf<'bind'> | undefined {
    if (body.op === 'bind' || !('session' in body)) return undefined;
    const session = body.session;
    if (conn.bound.has(session)) return undefined;
    const secret = this.secrets.get(session);
    // Unknown secret: send as is, and let the node say AUTH (a session this client never had).
    return secret === undefined ? undefined : { op: 'bind', session, secret };
  }

  /** The open connection to the current target, opening it (and saying hello) if needed. */
  private connection(): Promise<Connection> {
    if (this.conn !== undefined && this.conn.isOpen) return Promise.resolve(this.conn);
    if (this.connecting !== undefined) return this.connecting;
    const url = this.target;
    const p = (async () => {
      const conn = await Connection.open(url, this.connectTimeoutMs);
      if (this.closed) {
        conn.close();
        throw new ClientClosedError();
      }
      if (this.opts.token !== undefined) {
        const r = await waitFor(conn.send({ op: 'hello', token: this.opts.token }).response, this.connectTimeoutMs, []);
        if (r.kind !== 'value') {
          conn.close();
          throw new ConnectionLostError(`no answer to hello from ${url}`);
        }
        if (!r.value.ok) {
          conn.close();
          if (r.value.error.code === 'AUTH') throw new AuthError(r.value.error.message);
          throw new ConnectionLostError(`hello refused by ${url}: ${r.value.error.message}`);
        }
      }
      this.conn = conn;
      if (this.opts.discoverMembers === true) this.refreshMembers(conn);
      return conn;
    })();
    this.connecting = p;
    const clear = (): void => {
      if (this.connecting === p) this.connecting = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  /**
   * Learns the members from a node just connected to (`status` lists them) and keeps the
   * endpoint list to them, so the client reaches nodes added since it was configured and stops
   * dialling removed ones (docs/operations.md#changing-the-members). Best effort, off the call
   * path: no answer, an error, or an older node that lists none leaves the list as it is.
   */
  private refreshMembers(conn: Connection): void {
    const req = conn.send({ op: 'status' });
    void waitFor(req.response, this.connectTimeoutMs, [this.closer.signal]).then((r) => {
      if (r.kind !== 'value') return req.cancel();
      if (!r.value.ok) return;
      let listed: NodeRoleValue['members'];
      try {
        listed = parseValue('status', r.value.value).members;
      } catch {
        return; // a node that answers wrongly tells us nothing
      }
      const urls = (listed ?? []).flatMap((m) => (m.address !== null ? [endpointUrl(m.address)] : []));
      if (urls.length > 0) this.urls = urls;
    });
  }

  private drop(conn: Connection): void {
    conn.close();
    if (this.conn === conn) this.conn = undefined;
  }

  /** Moves on to the next configured endpoint. */
  private advance(): void {
    const here = this.urls.indexOf(this.target);
    this.nextIndex = here >= 0 ? (here + 1) % this.urls.length : this.nextIndex % this.urls.length;
    this.target = this.urls[this.nextIndex] as string;
    if (this.conn !== undefined && this.conn.url !== this.target) {
      this.conn.close();
      this.conn = undefined;
    }
  }
}
