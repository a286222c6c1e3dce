/**
 * The `/client` WebSocket endpoint of one node (docs/design.md#client-wire-protocol): decodes
 * requests (client-protocol.ts), hands them to the node's {@link LockService}, and answers each
 * by id.
 *
 * Routing — **redirect, not forward.** A write reaching a follower is answered `NOT_LEADER`
 * with the leader's id and client address instead of being relayed to the leader, because:
 * - the client must learn where the leader is anyway: its session lives by keep-alives that
 *   only the leader can commit, and a blocked acquire is answered by the node it waits on, so a
 *   client that kept talking to a follower would pay two hops on every call and lose its lease
 *   whenever the relay hiccups;
 * - forwarding would make the follower hold requests (and their memory) on behalf of clients,
 *   and would double the failure modes to reason about (which hop lost the reply?);
 * - retrying elsewhere is always safe: writes carry `(session, seq)` and the state machine
 *   answers a retry with the first result, never applying it twice.
 * Reads (`counter-get`, `lock-info`) are served by any node: linearizable through ReadIndex
 * (the follower asks the leader for a read point and waits until it has applied up to it), or
 * from the node's own state when the client asked for `stale`.
 *
 * Per connection:
 * - Requests are handled **concurrently**: each is answered when its own outcome is known, so a
 *   parked acquire (answered when granted or timed out, possibly minutes later) never blocks
 *   the keep-alives and counter calls behind it on the same socket.
 * - At most `maxInFlight` requests at once (default 1,000); beyond → `LIMIT_EXCEEDED`. A request
 *   id may not be reused while in flight (the answers could not be told apart).
 * - Malformed frames (undecodable, not a map, wrong types, unknown op or field, text frames)
 *   each get a typed `INVALID_ARGUMENT` response (with `id: null` when no id could be read) and
 *   **the connection stays open**: a client bug should be reported, not punished
 *   with a reconnect storm, and answering costs no more than the frame did. What is bounded is
 *   what the client could make us hold: frames above `maxPayload` close with 1009 (ws), and a
 *   client that stops reading its answers while their bytes pile up past `maxBufferedBytes` is
 *   closed (4009), since we must never buffer without bound.
 * - With a `clientToken` configured, `hello { token }` must succeed first: any other request is
 *   answered `AUTH`; a wrong token is answered `AUTH` and the connection closed (4003), which
 *   makes guessing cost a connection per try; a connection that stays unauthenticated for
 *   `helloTimeoutMs` is closed (4008) so it cannot hold a slot.
 * - Sessions are capabilities (docs/design.md#sessions-are-capabilities): a request naming a
 *   session is served only if this connection opened it or proved it with
 *   `bind { session, secret }`; otherwise `AUTH` with `field: "session"`, before anything is
 *   proposed. At most `maxSessionsPerConnection` proven sessions per connection (default
 *   10,000; ended ones are forgotten first), beyond → `LIMIT_EXCEEDED`.
 * - Watches (watch-streams.ts) belong to the connection: at most 16, each ended with
 *   `LIMIT_EXCEEDED` when the client does not take its events, all cancelled when it closes.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { NONE, type NodeId, type Status } from '../raft/index.js';
import { corkUntilTickEnd } from '../protocol/index.js';
import { closeSocket, rawToBuffer } from '../transport/index.js';
import {
  ClientProtocolError,
  CLIENT_PROTOCOL_VERSION,
  decodeRequest,
  encodeResponse,
  isCommandRequest,
  requestCommand,
  type ErrorCode,
  type ClientRequest,
  type ClientResponse,
  type NodeRoleValue,
  type OpenSessionValue,
} from '../protocol/index.js';
import type { LockService, ServiceOutcome } from '../service/index.js';
import { silentLogger, type Logger } from './logger.js';
import { allows, Authenticator, forbidden, OP_ROLES, type Identity } from './access.js';
import { SessionBindings } from './session-bindings.js';
import { ConnectionWatches } from './watch-streams.js';
import { Histogram } from './metrics.js';

/** Close codes of `/client` connections (besides ws's own 1009 for oversize frames). */
export const ClientCloseCode = {
  /** The endpoint is shutting down. */
  GOING_AWAY: 1001,
  /** `hello` carried a wrong token. */
  AUTH: 4003,
  /** No successful `hello` within `helloTimeoutMs` while a token is required. */
  HELLO_TIMEOUT: 4008,
  /** The client does not read its responses; they exceeded `maxBufferedBytes`. */
  SLOW_CONSUMER: 4009,
} as const;

/** What a {@link ClientEndpoint} serves, and its bounds (all optional bounds have defaults). */
export interface ClientEndpointOptions {
  readonly service: LockService;
  /**
   * The node's Raft status (`host.status(false)` of the node's RaftHost), for `status` and for
   * the leader hint of `NOT_LEADER` when the service's answer carries none.
   */
  readonly raft: { status(withProgress: false): Pick<Status, 'role' | 'term' | 'leader'> };
  readonly nodeId: NodeId;
  /** A node's client address (`host:port`), or null if unknown. */
  readonly addressOf: (id: NodeId) => string | null;
  /**
   * The members of the configuration in force, for `status` answers: the SDK keeps its
   * endpoint list to them (docs/operations.md#changing-the-members). Absent: none listed.
   */
  readonly members?: () => NodeRoleValue['members'];
  /**
   * Client tokens and roles (docs/design.md#client-roles). When any token is configured, every
   * connection must `hello` with one first, and each op needs its role. Default: none, open.
   */
  readonly access?: Authenticator;
  readonly logger?: Logger;
  /**
   * Largest frame accepted (default 1 MiB, docs/design.md#limits); larger ones close the
   * connection with 1009.
   */
  readonly maxClientFrameBytes?: number;
  /** Requests in flight per connection (default 1,000). */
  readonly maxInFlight?: number;
  /** Open connections (default 10,000); upgrades beyond are refused with 503. */
  readonly maxConnections?: number;
  /** Unsent response bytes per connection before it is closed (default 8 MiB). */
  readonly maxBufferedBytes?: number;
  /** Time to authenticate when a token is required (default 10 s). */
  readonly helloTimeoutMs?: number;
  /** Sessions one connection may have opened or bound at once (default 10,000). */
  readonly maxSessionsPerConnection?: number;
  /**
   * Negative control of the session check (docs/testing.md#negative-controls): serve requests
   * naming a session this connection never proved, as before sessions were capabilities.
   */
  readonly unsafeSkipSessionProof?: boolean;
}

/**
 * Monotonic counters (and one gauge, `connections`) for `/metrics`, which exports each under
 * its own name and type (node-metrics.ts).
 */
export interface ClientEndpointMetrics {
  /** Open connections now. */
  connections: number;
  connectionsTotal: number;
  /** Frames received (well-formed or not). */
  frames: number;
  /** Requests that decoded and were handled. */
  requests: number;
  /**
   * Answers to decoded requests by op, then by code (`OK`, or the error code): every decoded
   * request's one answer, refusals before handling (`AUTH`, in-flight limit) included. Both
   * label sets are closed lists (the protocol's ops and error codes).
   */
  answers: Record<string, Record<string, number>>;
  /** Frames that failed to decode or validate. */
  malformed: number;
  /** Error responses by code. */
  errors: Record<string, number>;
  /** Connections closed by ws for a frame over the limit. */
  oversize: number;
  /** Connections closed for not reading their responses. */
  slowConsumers: number;
  /** Upgrades refused (endpoint closed or full). */
  refusedUpgrades: number;
}

const DEFAULTS = {
  maxClientFrameBytes: 1024 * 1024,
  maxInFlight: 1_000,
  maxConnections: 10_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  helloTimeoutMs: 10_000,
  maxSessionsPerConnection: 10_000,
};

/** The `/client` endpoint (see the module comment for its rules). */
export class ClientEndpoint {
  readonly metrics: ClientEndpointMetrics = {
    connections: 0,
    connectionsTotal: 0,
    frames: 0,
    requests: 0,
    answers: {},
    malformed: 0,
    errors: {},
    oversize: 0,
    slowConsumers: 0,
    refusedUpgrades: 0,
  };
  /**
   * Time from a decoded request to its answer on this node, by op: a keep-alive's is its round
   * trip through the log as the server sees it; an acquire's includes its wait in the queue.
   */
  readonly requestSeconds = new Histogram(
    'raftlock_client_request_duration_seconds',
    'Time from a decoded client request to its answer on this node, by op (an acquire includes its wait)',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    { labelNames: ['op'] },
  );
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<ClientConnection>();
  private readonly logger: Logger;
  private readonly access: Authenticator;
  private closed = false;
  /** Resolved settings, shared with the connections. */
  readonly settings: typeof DEFAULTS;

  constructor(readonly opts: ClientEndpointOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.access = opts.access ?? new Authenticator([]);
    this.settings = {
      maxClientFrameBytes: opts.maxClientFrameBytes ?? DEFAULTS.maxClientFrameBytes,
      maxInFlight: opts.maxInFlight ?? DEFAULTS.maxInFlight,
      maxConnections: opts.maxConnections ?? DEFAULTS.maxConnections,
      maxBufferedBytes: opts.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
      helloTimeoutMs: opts.helloTimeoutMs ?? DEFAULTS.helloTimeoutMs,
      maxSessionsPerConnection: opts.maxSessionsPerConnection ?? DEFAULTS.maxSessionsPerConnection,
    };
    // maxPayload explicit (ws defaults to 100 MiB); no compression (decompression bombs, CPU).
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.settings.maxClientFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Takes over an HTTP upgrade request for `/client` (the node's server routes it here). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A raw socket with no 'error' listener turns a client's reset into an uncaught exception.
    socket.on('error', () => socket.destroy());
    if (this.closed || this.connections.size >= this.settings.maxConnections) {
      this.metrics.refusedUpgrades++;
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.closed) {
        ws.terminate();
        return;
      }
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      const conn = new ClientConnection(this, ws, remote, socket);
      this.connections.add(conn);
      this.metrics.connections = this.connections.size;
      this.metrics.connectionsTotal++;
    });
  }

  /** Closes every client connection (1001) and refuses new ones. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.connections]) c.close(ClientCloseCode.GOING_AWAY, 'node shutting down');
    this.wss.close();
  }

  /** Open connections (tests, metrics). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** @internal Called by a connection when its socket closed. */
  forget(conn: ClientConnection): void {
    this.connections.delete(conn);
    this.metrics.connections = this.connections.size;
  }

  /** @internal Logs through the endpoint's logger. */
  get log(): Logger {
    return this.logger;
  }

  /** @internal Whether a token is required. */
  get requiresToken(): boolean {
    return this.access.required;
  }

  /** @internal Who `token` identifies (constant-time comparisons), or undefined. */
  identify(token: string | undefined): Identity | undefined {
    return this.access.identify(token);
  }

  /** @internal Counts an error response. */
  countError(code: ErrorCode): void {
    this.metrics.errors[code] = (this.metrics.errors[code] ?? 0) + 1;
  }

  /** @internal Counts the answer to a decoded request of op `op`. */
  countAnswer(op: string, r: ClientResponse): void {
    const code = r.ok ? 'OK' : r.error.code;
    const byCode = (this.metrics.answers[op] ??= {});
    byCode[code] = (byCode[code] ?? 0) + 1;
  }

  /**
   * @internal Handles one decoded request of a connection whose proven sessions are
   * `bindings` and whose client token is named `owner` (when the cluster has tokens); `reply`
   * is called exactly once.
   */
  dispatch(req: ClientRequest, bindings: SessionBindings, reply: (r: ClientResponse) => void, owner?: string): void {
    const { service } = this.opts;
    const id = req.id;
    if (req.op === 'hello') {
      // Token checked by the connection before this point.
      reply({ id, ok: true, value: { nodeId: this.opts.nodeId, protocol: CLIENT_PROTOCOL_VERSION } });
      return;
    }
    if (req.op === 'status') {
      const st = this.opts.raft.status(false);
      const leaderAddress = st.leader === NONE ? null : this.opts.addressOf(st.leader);
      const members = this.opts.members?.();
      const value = { nodeId: this.opts.nodeId, role: st.role, term: st.term, leader: st.leader, leaderAddress };
      reply({ id, ok: true, value: members !== undefined ? { ...value, members } : value });
      return;
    }
    const answer = (o: ServiceOutcome): void => reply(this.toResponse(id, o));
    if (
      req.op === 'counter-get' ||
      req.op === 'lock-info' ||
      req.op === 'semaphore-info' ||
      req.op === 'rwlock-info' ||
      req.op === 'election-info'
    ) {
      service.query({ type: req.op, name: req.name }, req.stale === true ? { stale: true } : {}, answer);
      return;
    }
    if (req.op === 'list-locks' || req.op === 'list-counters') {
      const { id: _id, op, stale, ...args } = req;
      service.query({ type: op, ...args }, stale === true ? { stale: true } : {}, answer);
      return;
    }
    if (req.op === 'list-permits') {
      const { id: _id, op, stale, ...args } = req;
      service.query({ type: op, ...args }, stale === true ? { stale: true } : {}, answer);
      return;
    }
    if (req.op === 'bind') {
      if (!bindings.has(req.session) && !bindings.hasRoom()) {
        reply(tooManySessions(id, bindings.max));
        return;
      }
      service.proveSession(req.session, req.secret, (o) => {
        if (o.type === 'ok') bindings.add(req.session);
        answer(o);
      });
      return;
    }
    if (isCommandRequest(req)) {
      if (req.op === 'open-session') {
        if (!bindings.hasRoom()) {
          reply(tooManySessions(id, bindings.max));
          return;
        }
        service.submit(
          requestCommand(req),
          (o) => {
            // The connection that opened a session has proven it: it holds the secret now.
            if (o.type === 'ok' && isOpened(o.value)) bindings.add(o.value.sessionId);
            answer(o);
          },
          owner,
        );
        return;
      }
      if (!bindings.has(req.session) && this.opts.unsafeSkipSessionProof !== true) {
        reply({
          id,
          ok: false,
          error: {
            code: 'AUTH',
            field: 'session',
            message: `session ${req.session} is not bound to this connection: send bind { session, secret } with the secret open-session answered`,
          },
        });
        return;
      }
      service.submit(requestCommand(req), answer);
      return;
    }
    reply({ id, ok: false, error: { code: 'INVALID_ARGUMENT', message: 'unsupported op' } });
  }

  private toResponse(id: number, o: ServiceOutcome): ClientResponse {
    switch (o.type) {
      case 'ok':
        return { id, ok: true, value: o.value, index: o.index };
      case 'error':
        return { id, ok: false, error: { code: o.code, message: o.message } };
      case 'not-leader': {
        // The service may not name a leader (a read with none known); the core's view is the
        // best hint we have, unless it is ourselves (we just learned we are not leading).
        let leader = o.leader;
        if (leader === NONE) {
          const known = this.opts.raft.status(false).leader;
          if (known !== this.opts.nodeId) leader = known;
        }
        const address = leader === NONE ? null : this.opts.addressOf(leader);
        const message =
          leader === NONE
            ? `node ${this.opts.nodeId} is not the leader and knows no leader; try another node`
            : `node ${this.opts.nodeId} is not the leader; the leader is node ${leader}${address !== null ? ` at ${address}` : ''}`;
        return {
          id,
          ok: false,
          error: {
            code: 'NOT_LEADER',
            message,
            ...(leader !== NONE ? { leader } : {}),
            ...(address !== null ? { leaderAddress: address } : {}),
          },
        };
      }
      case 'unavailable':
        return { id, ok: false, error: { code: 'UNAVAILABLE', message: o.reason, outcomeUnknown: o.outcomeUnknown } };
    }
  }
}

function tooManySessions(id: number, max: number): ClientResponse {
  return {
    id,
    ok: false,
    error: { code: 'LIMIT_EXCEEDED', message: `this connection already has ${max} live sessions; close some or use another connection` },
  };
}

function isOpened(v: unknown): v is OpenSessionValue {
  return typeof v === 'object' && v !== null && 'sessionId' in v && 'secret' in v;
}

/** One client connection: authentication state, proven sessions, requests in flight, answers. */
class ClientConnection {
  private readonly inFlight = new Set<number>();
  private readonly bindings: SessionBindings;
  /** Its watches (docs/design.md#watches), cancelled when it closes. */
  private readonly watches: ConnectionWatches;
  /** Who the connection authenticated as; undefined until a successful hello (when required). */
  private identity: Identity | undefined;
  private open = true;
  private readonly helloTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly endpoint: ClientEndpoint,
    private readonly ws: WebSocket,
    private readonly remote: string,
    /** The connection's TCP socket, corked while a batch of responses is written. */
    private readonly socket: Duplex,
  ) {
    this.identity = endpoint.requiresToken ? undefined : endpoint.identify(undefined);
    const machine = endpoint.opts.service.machine;
    this.bindings = new SessionBindings(endpoint.settings.maxSessionsPerConnection, (s) => machine.sessionDeadline(s) !== undefined);
    this.watches = new ConnectionWatches(endpoint.opts.service.watches, {
      buffered: () => ws.bufferedAmount,
      send: (frame, written) => {
        if (!this.open || ws.readyState !== ws.OPEN) return;
        corkUntilTickEnd(socket);
        if (written === undefined) ws.send(frame);
        else
          ws.send(frame, (err) => {
            if (err === undefined || err === null) written();
          });
      },
    });
    if (this.identity === undefined) {
      this.helloTimer = setTimeout(() => this.close(ClientCloseCode.HELLO_TIMEOUT, 'no hello'), endpoint.settings.helloTimeoutMs);
      this.helloTimer.unref();
    }
    ws.on('message', (data, isBinary) => {
      try {
        this.onFrame(rawToBuffer(data), isBinary);
      } catch (err) {
        // A bug of ours must cost one connection at most, never the node.
        endpoint.log.error('client frame handler failed', { remote, error: err instanceof Error ? err.message : String(err) });
        this.close(1011, 'internal error');
      }
    });
    // Oversize frames (ws closes with 1009), bad opcodes, invalid UTF-8 land here first.
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') endpoint.metrics.oversize++;
      endpoint.log.debug('client connection error', { remote, error: err.message, code: err.code });
    });
    ws.on('close', () => {
      this.open = false;
      if (this.helloTimer !== undefined) clearTimeout(this.helloTimer);
      // Requests still in flight are answered later by the service into the void: a parked
      // acquire's wait lives in the replicated state, and the client retries its (session, seq).
      this.inFlight.clear();
      this.watches.cancelAll();
      endpoint.forget(this);
    });
  }

  close(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    closeSocket(this.ws, code, reason);
  }

  private onFrame(buf: Buffer, isBinary: boolean): void {
    const ep = this.endpoint;
    if (!this.open) return;
    ep.metrics.frames++;
    if (!isBinary) {
      ep.metrics.malformed++;
      this.send({
        id: null,
        ok: false,
        error: { code: 'INVALID_ARGUMENT', message: 'text frames are not part of the protocol; send binary MessagePack', field: 'frame' },
      });
      return;
    }
    let req: ClientRequest;
    try {
      req = decodeRequest(buf, ep.opts.service.machine.limits);
    } catch (err) {
      ep.metrics.malformed++;
      const e = err instanceof ClientProtocolError ? err : new ClientProtocolError(null, 'frame', 'undecodable frame');
      this.send(e.toResponse());
      return;
    }
    const id = req.id;
    if (req.op === 'hello') {
      const who = ep.identify(req.token);
      if (who === undefined) {
        this.answer(req.op, { id, ok: false, error: { code: 'AUTH', message: 'wrong or missing client token' } });
        // A later hello with a wrong token is a confused client, not an attacker past the door.
        if (this.identity === undefined) this.close(ClientCloseCode.AUTH, 'authentication failed');
        return;
      }
      this.identity = who;
      if (this.helloTimer !== undefined) clearTimeout(this.helloTimer);
    }
    const who = this.identity;
    if (who === undefined) {
      this.answer(req.op, { id, ok: false, error: { code: 'AUTH', message: 'authenticate first: send hello { token }' } });
      return;
    }
    const needed = OP_ROLES[req.op];
    if (needed !== undefined && !allows(who.role, needed)) {
      // send() counts every error answer, this one included.
      this.answer(req.op, { id, ok: false, error: { code: 'AUTH', message: forbidden(who, needed, req.op) } });
      return;
    }
    if (this.inFlight.has(id)) {
      this.answer(req.op, {
        id,
        ok: false,
        error: { code: 'INVALID_ARGUMENT', message: `request id ${id} is already in flight on this connection`, field: 'id' },
      });
      return;
    }
    if (this.inFlight.size >= ep.settings.maxInFlight) {
      this.answer(req.op, {
        id,
        ok: false,
        error: { code: 'LIMIT_EXCEEDED', message: `more than ${ep.settings.maxInFlight} requests in flight on this connection` },
      });
      return;
    }
    ep.metrics.requests++;
    this.inFlight.add(id);
    let answered = false;
    const started = performance.now();
    const reply = (r: ClientResponse): void => {
      // Exactly once, whatever the service does; late answers after a close go nowhere.
      if (answered) return;
      answered = true;
      this.inFlight.delete(id);
      ep.requestSeconds.observe((performance.now() - started) / 1000, { op: req.op });
      this.answer(req.op, r);
    };
    try {
      // Watches belong to the connection; sessions are counted per client token (its name),
      // when the cluster has tokens.
      if (req.op === 'watch' || req.op === 'unwatch') this.watches.handle(req, reply);
      else ep.dispatch(req, this.bindings, reply, ep.requiresToken ? this.identity?.name : undefined);
    } catch (err) {
      ep.log.error('client request handler failed', {
        remote: this.remote,
        op: req.op,
        error: err instanceof Error ? err.message : String(err),
      });
      // A write may have reached the log before the throw: say the outcome is unknown.
      reply({ id, ok: false, error: { code: 'UNAVAILABLE', message: 'internal error', outcomeUnknown: isCommandRequest(req) } });
    }
  }

  /** Counts the answer to a decoded request by its op and code, then sends it. */
  private answer(op: string, r: ClientResponse): void {
    this.endpoint.countAnswer(op, r);
    this.send(r);
  }

  private send(r: ClientResponse): void {
    if (!r.ok) this.endpoint.countError(r.error.code);
    if (!this.open || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.endpoint.settings.maxBufferedBytes) {
      this.endpoint.metrics.slowConsumers++;
      this.endpoint.log.warn('closing a client that does not read its responses', {
        remote: this.remote,
        buffered: this.ws.bufferedAmount,
      });
      this.close(ClientCloseCode.SLOW_CONSUMER, 'responses not read');
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeResponse(r);
    } catch (err) {
      // A value the codec cannot encode is a server bug; answer it rather than leave the id hanging.
      this.endpoint.log.error('could not encode a client response', {
        remote: this.remote,
        error: err instanceof Error ? err.message : String(err),
      });
      frame = encodeResponse({
        id: r.id,
        ok: false,
        error: { code: 'UNAVAILABLE', message: 'internal error encoding the response', outcomeUnknown: true },
      });
    }
    corkUntilTickEnd(this.socket);
    this.ws.send(frame);
  }
}
