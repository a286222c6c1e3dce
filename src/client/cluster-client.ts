/**
 * Talks to a cluster rather than a node: finds the leader (following `NOT_LEADER` hints, else
 * asking every endpoint at once, see discovery.ts), notices a node gone silent (pings, see
 * liveness.ts) and moves on, and retries a request until it gets an answer or its deadline
 * passes. It never changes a request between attempts except through the caller's `build`
 * function, so a write retried here keeps its `(session, seq)` and is applied at most once
 * (docs/design.md#exactly-once-writes).
 *
 * Time limits, by default: a connection opens within 1 s, a silent node is dropped after 1 s
 * without an answer or a pong, and one attempt waits at most 2 s for its answer. All three are
 * well below a call's deadline (15 s by default), so a call survives a dead, paused or
 * cut-off node by trying the others. A client that never reached any node fails fast instead
 * (about 1.5 s, each endpoint's cause named): nothing suggests a cluster is there at all.
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
import { Connection, ConnectionLostError, hostOf, type ClientTls, type WatchSink } from './connection.js';
import { FAIL_FAST_MS, FOLLOWER_GRACE_MS, LeaderSearch, type NodeAnswer } from './discovery.js';
import { endpointUrl, parseEndpointList } from './endpoints.js';
import {
  AuthError,
  ClientClosedError,
  CompactedError,
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
  /**
   * Longest wait for a WebSocket to open (default 1,000 ms). While leader discovery keeps
   * timing out on one endpoint, its wait there doubles, up to four times this.
   */
  readonly connectTimeoutMs?: number;
  /** Longest wait for one attempt's answer before trying again elsewhere (default 2,000 ms). */
  readonly attemptTimeoutMs?: number;
  /**
   * How long a connection may stay silent (no answer, no pong to the pings sent meanwhile)
   * before it is dropped as dead and the call moves on (default 1,000 ms).
   */
  readonly livenessTimeoutMs?: number;
  /** Keep the endpoint list to the members the nodes list (see `ConnectOptions.discoverMembers`). */
  readonly discoverMembers?: boolean;
  /** TLS settings: `host:port` endpoints (and the addresses nodes name) are dialled as `wss://`. */
  readonly tls?: ClientTls;
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
  /**
   * Sees each answer to the request as the connection reads it, with that connection, before
   * anything the node sent after it (see {@link Connection.send}).
   */
  readonly onAnswer?: (conn: Connection, r: ClientResponse) => void;
}

/** A watch running on one node, as {@link ClusterClient.subscribe} started it. @internal */
export interface Subscription {
  /** The first index whose events it delivers. */
  readonly fromIndex: number;
  /** Stops it (`unwatch`): its sink hears nothing more. */
  stop(): void;
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
    case 'COMPACTED':
      // A node always says where a watch can start again; 0 only from a node that broke the contract.
      return new CompactedError(e.message, e.resyncFrom ?? 0);
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

/** Default of {@link ClusterClientOptions.connectTimeoutMs}. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
/** Default of {@link ClusterClientOptions.attemptTimeoutMs}. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 2_000;
/** Default of {@link ClusterClientOptions.livenessTimeoutMs}. */
export const DEFAULT_LIVENESS_TIMEOUT_MS = 1_000;

/** How long an endpoint that just failed this client stays a suspect to leader searches. */
const SUSPECT_MS = 3_000;
/** Longest pause between two `status` questions to one endpoint during a leader search. */
const SEARCH_POLL_MAX_MS = 250;
/**
 * How often a client with an open connection asks it for the members again: members can change
 * while one connection lasts, and a client whose every endpoint was removed meanwhile would
 * have nowhere to go when that connection ends.
 */
const MEMBERS_REFRESH_MS = 5_000;

/**
 * A leader search gave up: every endpoint was unreachable, for a client that never reached a
 * node. Calls reject with an {@link UnavailableError} whose `cause` is this (the CLI words its
 * hint by the name `UnreachableError`). @internal
 */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** A leader search under way, shared by the calls waiting for it. */
interface Search {
  readonly result: Promise<Connection>;
  /** Calls waiting for it; when the last one leaves, the search is cancelled. */
  waiters: number;
  cancel(): void;
}

/** A `status` answer as a leader search reads it. */
interface StatusAnswer {
  readonly node: NodeAnswer;
  /** The members' client URLs (empty when the node lists none). */
  readonly members: string[];
}

/**
 * Whether a node's member list is worth taking: it leads or knows a leader. A removed node that
 * never learnt of its removal lists the old members, and would lead the client back to them.
 */
function isCurrent(answer: StatusAnswer): boolean {
  return answer.node.role === 'leader' || answer.node.leaderUrl !== null;
}

/** The leader-search view of a `status` answer, or what is wrong with it. */
function statusAnswer(resp: ClientResponse, secure: boolean): StatusAnswer | string {
  if (!resp.ok) return `status refused (${resp.error.code}: ${resp.error.message})`;
  let v: NodeRoleValue;
  try {
    v = parseValue('status', resp.value);
  } catch (err) {
    return `answered status wrongly (${err instanceof Error ? err.message : String(err)})`;
  }
  const url = (address: string | null): string | null => {
    if (address === null) return null;
    try {
      return endpointUrl(address, secure);
    } catch {
      return null; // an address we cannot dial tells us nothing
    }
  };
  return {
    node: { role: v.role, term: v.term, leaderUrl: url(v.leaderAddress) },
    members: (v.members ?? []).flatMap((m) => {
      const u = url(m.address);
      return u === null ? [] : [u];
    }),
  };
}

/** A failure's few words for messages (a {@link ConnectionLostError}'s `problem`). */
function problemOf(err: unknown): string {
  if (err instanceof ConnectionLostError) return err.problem;
  return err instanceof Error ? err.message : String(err);
}

/** Leader discovery, connections and retries for one client. */
export class ClusterClient {
  /** Where the cluster is: the endpoints given, then the members the nodes list. */
  private urls: readonly string[];
  private conn: Connection | undefined;
  /** A dial of a leader that a node named (`NOT_LEADER`), shared by the calls waiting for it. */
  private connecting: Promise<Connection> | undefined;
  /** The leader a node named, to dial next instead of searching. */
  private hint: string | undefined;
  private search: Search | undefined;
  private readonly closer = new AbortController();
  private readonly connectTimeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly livenessTimeoutMs: number;
  /** Secrets of the sessions this client acts for, by id. */
  private readonly secrets = new Map<number, string>();
  /** Whether a connection to a node ever opened: until then an unreachable cluster fails fast. */
  private reached = false;
  /** Endpoints that failed this client lately, with the time they stop being suspects. */
  private readonly suspects = new Map<string, number>();
  /** What each endpoint last said or why it failed, since the last answered request (for messages). */
  private readonly problems = new Map<string, string>();

  constructor(private readonly opts: ClusterClientOptions) {
    this.urls = parseEndpointList(opts.endpoints).map((e) => endpointUrl(e, opts.tls !== undefined));
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    this.livenessTimeoutMs = opts.livenessTimeoutMs ?? DEFAULT_LIVENESS_TIMEOUT_MS;
    // Every call in flight listens for the close: with more than 10 concurrent calls Node would
    // print a (false) "possible memory leak" warning in the user's process.
    setMaxListeners(0, this.closer.signal);
    if (opts.discoverMembers === true) {
      const refresh = setInterval(() => {
        if (this.conn?.isOpen === true) this.refreshMembers(this.conn);
      }, MEMBERS_REFRESH_MS);
      refresh.unref();
      this.closer.signal.addEventListener('abort', () => clearInterval(refresh), { once: true });
    }
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.closer.signal.aborted;
  }

  /** Aborted when the client closes. */
  get closeSignal(): AbortSignal {
    return this.closer.signal;
  }

  /**
   * What each endpoint last said or why it failed (`127.0.0.1:7101: connection refused; …`),
   * since the last answered request: the cause to name when a call gives up.
   */
  get problemSummary(): string {
    if (this.problems.size === 0) return 'no node answered yet';
    return [...this.problems].map(([url, problem]) => `${hostOf(url)}: ${problem}`).join('; ');
  }

  /** Closes the connection; running and later calls reject with {@link ClientClosedError}. */
  close(): void {
    if (this.closed) return;
    this.closer.abort(new ClientClosedError());
    this.search?.cancel();
    this.conn?.close();
    this.conn = undefined;
  }

  /**
   * Sends a request until it is answered, following the leader. Resolves with a success;
   * rejects with {@link RemoteError} for a refusal, {@link UnavailableError} at the deadline (or
   * sooner, when the client never reached a node and none is reachable),
   * {@link ClientClosedError} if the client closes, or the signal's reason if aborted.
   */
  async call<B extends RequestBody>(spec: CallSpec<B>): Promise<CallResult<OpValues[B['op']]>> {
    const started = now();
    let unknown = false;
    let backoff = 10;
    /** Attempts failed in a row: the first moves on at once, the next ones pause first. */
    let failures = 0;
    let unavailableHere = 0;
    /** Leader hints followed since the last pause: two in a row that lead nowhere mean a search. */
    let hops = 0;
    const pause = async (): Promise<void> => {
      hops = 0;
      const w = await waitFor(new Promise<never>(() => {}), Math.min(backoff, spec.deadline - now()), [spec.signal, this.closer.signal]);
      backoff = Math.min(backoff * 2, 500);
      if (w.kind === 'aborted') this.raiseAbort(w.signal, spec.write && unknown);
    };
    // A failover should cost no pause: the first failure moves on at once (a hint, or a
    // search). Failing again and again earns a growing pause, so a node that accepts and fails
    // every request at once is not hammered.
    const failed = async (): Promise<void> => {
      if (++failures >= 2) await pause();
    };
    for (;;) {
      if (this.closed) throw new ClientClosedError(spec.write && unknown);
      if (spec.signal?.aborted === true) throw spec.signal.reason;
      if (spec.deadline - now() <= 0) {
        throw new UnavailableError(
          `no leader answered within ${Math.round(now() - started)} ms (${this.problemSummary})${spec.write && unknown ? '; the write may have been applied (at most once)' : ''}`,
          spec.write && unknown,
        );
      }
      const c = await this.connection(spec.deadline, spec.signal);
      if (c.kind === 'aborted') this.raiseAbort(c.signal, spec.write && unknown);
      if (c.kind === 'timeout') continue;
      if (c.kind === 'error') {
        if (c.error instanceof AuthError) throw c.error;
        if (c.error instanceof UnreachableError) throw new UnavailableError(c.error.message, spec.write && unknown, { cause: c.error });
        await failed();
        continue;
      }
      const conn = c.value;
      const body = spec.build();
      const perAttempt = spec.parked === true ? Math.max(this.attemptTimeoutMs, 15_000) : this.attemptTimeoutMs;
      // A session is proven once per connection (bind) before the first request naming it.
      const binding = this.bindingFor(conn, body);
      let sent = binding === undefined;
      const onAnswer = spec.onAnswer === undefined ? undefined : (r: ClientResponse): void => spec.onAnswer?.(conn, r);
      let req = binding === undefined ? conn.send(body, onAnswer) : conn.send(binding);
      let sentAt = now();
      let left = spec.deadline - now();
      let attemptMs = Math.min(left, binding === undefined ? perAttempt : this.attemptTimeoutMs);
      let r = await waitFor(req.response, attemptMs, [spec.signal, this.closer.signal]);
      if (binding !== undefined && r.kind === 'value' && r.value.ok) {
        conn.bound.add(binding.session);
        sent = true;
        req = conn.send(body, onAnswer);
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
        // A parked request may simply still be waiting: ask again on the same connection (a
        // dead node is noticed by the connection's liveness check, not here). A call that
        // merely reached its deadline keeps its (healthy) connection for the next.
        if (spec.parked !== true && nodeTooSlow) {
          this.noteProblem(conn.url, `no answer to ${body.op} within ${Math.round(attemptMs)} ms`);
          this.suspect(conn.url);
          this.drop(conn);
        }
        continue;
      }
      if (r.kind === 'error') {
        if (spec.write && sent) unknown = true;
        this.noteProblem(conn.url, problemOf(r.error));
        this.suspect(conn.url);
        this.drop(conn);
        await failed();
        continue;
      }
      const resp: ClientResponse = r.value;
      if (resp.ok) {
        const value = checkedValue<B['op']>(body.op, resp.value);
        if (value instanceof DecodeError) {
          // The node speaks the protocol wrongly: as good as no answer; ask another.
          if (spec.write) unknown = true;
          this.noteProblem(conn.url, `answered ${body.op} with an invalid ${value.message}`);
          this.suspect(conn.url);
          this.drop(conn);
          await failed();
          continue;
        }
        this.answeredBy(conn.url);
        this.noteSession(conn, body, value);
        return { value, index: resp.index, sentAt };
      }
      const e = resp.error;
      if (e.code === 'SESSION_EXPIRED' && 'session' in body) this.forgetSession(body.session);
      if (e.code === 'NOT_LEADER') {
        this.noteProblem(conn.url, e.message);
        unavailableHere = 0;
        this.drop(conn);
        const named = e.leaderAddress !== undefined ? this.urlOf(e.leaderAddress) : undefined;
        // Follow the hint unless it leads back here, or to a node that just failed us, or
        // hints keep leading to nodes that are not the leader (a cut-off follower still
        // naming the old leader): then ask every endpoint instead.
        if (named !== undefined && named !== conn.url && hops < 2 && !this.isSuspect(named)) {
          hops++;
          this.hint = named;
          continue;
        }
        await failed();
        continue;
      }
      if (e.code === 'UNAVAILABLE') {
        this.noteProblem(conn.url, e.message);
        if (e.outcomeUnknown === true) unknown = true;
        // The node is up but cannot serve now (election, stepping down, stopping): try it
        // again after a pause, and the others if it keeps failing.
        if (++unavailableHere >= 3) {
          unavailableHere = 0;
          this.suspect(conn.url);
          this.drop(conn);
        }
        await pause();
        continue;
      }
      if (e.code === 'AUTH') throw new AuthError(e.message, e.field);
      throw new RemoteError(e, spec.write && unknown);
    }
  }

  /**
   * Starts a watch on a node of the cluster: the node this client's connection leads to (any
   * node serves watches: they follow the committed log, the same on every replica). Its pushed
   * frames go to `sink` from its answer on, until it ends or {@link Subscription.stop}. Rejects as
   * {@link call} does: {@link RemoteError} for a refusal (`COMPACTED` with `resyncFrom`,
   * `INVALID_ARGUMENT`, `LIMIT_EXCEEDED`…), {@link UnavailableError} at `deadline`,
   * {@link ClientClosedError}, or the signal's reason. @internal
   */
  async subscribe(request: RequestOf<'watch'>, sink: WatchSink, deadline: number, signal?: AbortSignal): Promise<Subscription> {
    // Set while the answer is read: the frames the node pushes right after it must find the sink.
    const at: { conn?: Connection; watch?: number } = {};
    try {
      const r = await this.call({
        build: () => request,
        write: false,
        deadline,
        signal,
        onAnswer: (conn, resp) => {
          if (!resp.ok) return;
          const v = checkedValue('watch', resp.value);
          if (v instanceof DecodeError) return; // call() gives the node up and asks another
          at.conn = conn;
          at.watch = v.watch;
          conn.watches.attach(v.watch, sink);
        },
      });
      const { conn, watch } = at;
      if (conn === undefined || watch === undefined) throw new Error('a watch was answered without being attached'); // cannot happen: onAnswer saw the answer call() returned
      return { fromIndex: r.value.fromIndex, stop: () => conn.watches.detach(watch) };
    } catch (err) {
      if (at.conn !== undefined && at.watch !== undefined) at.conn.watches.detach(at.watch);
      throw err;
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

  /**
   * The connection to use: the open one; else a dial of the leader a node just named; else a
   * leader search over every endpoint at once (shared by the calls waiting, cancelled when the
   * last of them leaves). Waits until `deadline` at most.
   */
  private async connection(deadline: number, signal: AbortSignal | undefined): Promise<Waited<Connection>> {
    const signals = [signal, this.closer.signal];
    if (this.conn !== undefined && this.conn.isOpen) return { kind: 'value', value: this.conn };
    if (this.connecting === undefined && this.hint !== undefined) this.connecting = this.dialHint(this.hint);
    this.hint = undefined;
    if (this.connecting !== undefined) return waitFor(this.connecting, deadline - now(), signals);
    const search = (this.search ??= this.startSearch());
    search.waiters++;
    try {
      return await waitFor(search.result, deadline - now(), signals);
    } finally {
      if (--search.waiters === 0) search.cancel();
    }
  }

  /** Opens a connection to `url` and says hello (with the token, if any). */
  private async dial(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Connection> {
    const conn = await Connection.open(url, timeoutMs, {
      livenessMs: this.livenessTimeoutMs,
      ...(signal !== undefined ? { signal } : {}),
      ...(this.opts.tls !== undefined ? { tls: this.opts.tls } : {}),
    });
    this.reached = true;
    if (this.closed) {
      conn.close();
      throw new ClientClosedError();
    }
    if (this.opts.token !== undefined) {
      const r = await waitFor(conn.send({ op: 'hello', token: this.opts.token }).response, timeoutMs, [signal]);
      if (r.kind === 'aborted') {
        conn.close();
        throw new ConnectionLostError(`opening ${url} was given up`, 'given up');
      }
      if (r.kind !== 'value') {
        conn.close();
        const problem = r.kind === 'error' ? problemOf(r.error) : `no answer to hello within ${Math.round(timeoutMs)} ms`;
        throw new ConnectionLostError(`no answer to hello from ${url}: ${problem}`, problem, r.kind === 'timeout');
      }
      if (!r.value.ok) {
        conn.close();
        if (r.value.error.code === 'AUTH') throw new AuthError(r.value.error.message);
        throw new ConnectionLostError(`hello refused by ${url}: ${r.value.error.message}`, `hello refused: ${r.value.error.message}`);
      }
    }
    return conn;
  }

  /** Dials the leader a node named; a failure makes it a suspect (the next try searches). */
  private dialHint(url: string): Promise<Connection> {
    const p = this.dial(url, this.connectTimeoutMs).then(
      (conn) => this.adopt(conn, false),
      (err: unknown) => {
        this.noteProblem(url, problemOf(err));
        this.suspect(url);
        throw err;
      },
    );
    const clear = (): void => {
      if (this.connecting === p) this.connecting = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  /**
   * Makes `conn` the client's connection and returns the one to use: `conn`, or the open one
   * another path set meanwhile (then `conn` is closed: one connection per client).
   */
  private adopt(conn: Connection, membersKnown: boolean): Connection {
    if (this.closed) {
      conn.close();
      throw new ClientClosedError();
    }
    if (this.conn !== undefined && this.conn !== conn && this.conn.isOpen) {
      conn.close();
      return this.conn;
    }
    this.conn = conn;
    if (!membersKnown && this.opts.discoverMembers === true) this.refreshMembers(conn);
    return conn;
  }

  /**
   * Starts a leader search (discovery.ts): every endpoint dialled and asked `status` at once,
   * again and again with a short backoff, until the search decides; the winner's connection is
   * kept, the others closed.
   */
  private startSearch(): Search {
    const t0 = now();
    const suspects = new Set<string>();
    for (const [url, until] of this.suspects) if (until > t0) suspects.add(url);
    const search = new LeaderSearch(this.urls, t0, {
      suspects,
      failFast: !this.reached,
      followHints: this.opts.discoverMembers === true,
    });
    const stop = new AbortController();
    const conns = new Map<string, Connection>();
    let done = false;
    let resolveResult: (c: Connection) => void = () => {};
    let rejectResult: (e: unknown) => void = () => {};
    const result = new Promise<Connection>((resolve, reject) => {
      resolveResult = resolve;
      rejectResult = reject;
    });
    result.catch(() => {}); // a search cancelled when nobody waits any more ends unheard
    const timers: NodeJS.Timeout[] = [];
    const onClose = (): void => finish(undefined, new ClientClosedError());
    const handle: Search = { result, waiters: 0, cancel: () => finish(undefined, new Error('leader search abandoned')) };
    const finish = (winner: Connection | undefined, error?: unknown): void => {
      if (done) return;
      done = true;
      stop.abort();
      for (const t of timers) clearTimeout(t);
      this.closer.signal.removeEventListener('abort', onClose);
      for (const c of conns.values()) if (c !== winner) c.close();
      if (this.search === handle) this.search = undefined;
      if (winner === undefined) {
        rejectResult(error);
        return;
      }
      try {
        resolveResult(this.adopt(winner, true));
      } catch (err) {
        rejectResult(err);
      }
    };
    const evaluate = (): void => {
      if (done) return;
      const d = search.decide(now());
      if (d === undefined) {
        for (const url of search.hintsToDial()) void probe(url);
        return;
      }
      if (d.kind === 'unreachable') {
        finish(undefined, new UnreachableError(d.message));
        return;
      }
      const winner = conns.get(d.url);
      // Lost between its answer and now: its probe redials; decide again then.
      if (winner === undefined || !winner.isOpen) search.failed(d.url, 'connection lost');
      else finish(winner);
    };
    const probe = async (url: string): Promise<void> => {
      let restMs = 10;
      let connectMs = this.connectTimeoutMs;
      const rest = async (): Promise<void> => {
        await waitFor(new Promise<never>(() => {}), restMs, [stop.signal]);
        restMs = Math.min(restMs * 2, SEARCH_POLL_MAX_MS);
      };
      const fail = (problem: string): void => {
        search.failed(url, problem);
        this.noteProblem(url, problem);
        evaluate();
      };
      while (!done) {
        let conn = conns.get(url);
        if (conn === undefined || !conn.isOpen) {
          conns.delete(url);
          try {
            conn = await this.dial(url, connectMs, stop.signal);
          } catch (err) {
            if (done) return;
            if (err instanceof AuthError || err instanceof ClientClosedError) return finish(undefined, err);
            // A node slow to accept (a loaded machine) gets longer each time, within bounds.
            if (err instanceof ConnectionLostError && err.timedOut) connectMs = Math.min(connectMs * 2, 4 * this.connectTimeoutMs);
            fail(problemOf(err));
            await rest();
            continue;
          }
          if (done) {
            conn.close();
            return;
          }
          conns.set(url, conn);
          search.opened(url);
        }
        const req = conn.send({ op: 'status' });
        const r = await waitFor(req.response, this.attemptTimeoutMs, [stop.signal]);
        if (done) {
          req.cancel();
          return;
        }
        // Every role may ask `status`: AUTH means this client's token is missing or refused,
        // which no other endpoint will see differently.
        if (r.kind === 'value' && !r.value.ok && r.value.error.code === 'AUTH') {
          return finish(undefined, new AuthError(r.value.error.message, r.value.error.field));
        }
        const answer =
          r.kind === 'value'
            ? statusAnswer(r.value, this.opts.tls !== undefined)
            : r.kind === 'error'
              ? problemOf(r.error)
              : `no answer to status within ${this.attemptTimeoutMs} ms`;
        if (typeof answer === 'string') {
          req.cancel();
          conn.close();
          conns.delete(url);
          fail(answer);
        } else {
          if (this.opts.discoverMembers === true && isCurrent(answer) && answer.members.length > 0) this.urls = answer.members;
          search.answered(url, answer.node);
          if (answer.node.role !== 'leader') this.noteProblem(url, search.causeOf(url));
          evaluate();
        }
        if (done) return;
        await rest();
      }
    };
    this.closer.signal.addEventListener('abort', onClose, { once: true });
    // Rules that depend on time alone (settling for a follower, failing fast) need a look even
    // when no endpoint says anything more.
    timers.push(setTimeout(evaluate, FOLLOWER_GRACE_MS), setTimeout(evaluate, FAIL_FAST_MS));
    for (const url of search.urls) void probe(url);
    return handle;
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
      const answer = statusAnswer(r.value, this.opts.tls !== undefined);
      if (typeof answer !== 'string' && isCurrent(answer) && answer.members.length > 0) this.urls = answer.members;
    });
  }

  /** The client URL of a leader address a node named, or undefined if it cannot be dialled. */
  private urlOf(address: string): string | undefined {
    try {
      return endpointUrl(address, this.opts.tls !== undefined);
    } catch {
      return undefined;
    }
  }

  private drop(conn: Connection): void {
    conn.close();
    if (this.conn === conn) this.conn = undefined;
  }

  /** `url` failed this client: leader searches for a while trust its claims last. */
  private suspect(url: string): void {
    this.suspects.set(url, now() + SUSPECT_MS);
  }

  private isSuspect(url: string): boolean {
    return (this.suspects.get(url) ?? 0) > now();
  }

  private noteProblem(url: string, problem: string): void {
    this.problems.set(url, problem);
  }

  /** `url` answered a request: earlier problems are history. */
  private answeredBy(url: string): void {
    this.problems.clear();
    this.suspects.delete(url);
  }
}
