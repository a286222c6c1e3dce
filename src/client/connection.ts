/**
 * One WebSocket to one node's `/client` endpoint: request ids, responses matched by id, and a
 * clean failure of every pending request when the socket closes. No retries here: the
 * {@link ClusterClient} decides what a failure means.
 *
 * With `livenessMs`, the connection also notices a node that went silent without closing (a
 * paused process, packets dropped on the way): it pings when nothing was heard for a while and
 * fails like a closed socket once nothing, not even a pong, came for `livenessMs` (see
 * liveness.ts). Without it (raw use by scripts), only a close or an error ends the connection.
 *
 * Watches (src/protocol/watch.ts) push frames without a request: each goes to the sink attached
 * for its watch id ({@link WatchRoutes}); a frame of a watch nobody here follows any more is
 * answered with `unwatch`, so the node stops sending it.
 *
 * The socket keeps the process alive only while a request is pending on it or a watch is
 * attached (as Node's own HTTP agent does with idle keep-alive sockets): a program that is done,
 * and forgot `close()`, exits instead of hanging on an idle connection. Its session then ends by
 * expiry.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import {
  corkUntilTickEnd,
  decodeServerFrame,
  encodeRequest,
  isWatchFrame,
  zeroMask,
  type ClientResponse,
  type RequestBody,
  type ServerFrame,
  type WatchEndFrame,
  type WatchEvent,
  type WatchEventsFrame,
} from '../protocol/index.js';
import { AuthError } from './errors.js';
import { SilenceWatch } from './liveness.js';

/** The socket closed, failed, went silent or never opened before the response arrived. */
export class ConnectionLostError extends Error {
  override readonly name = 'ConnectionLostError';
  constructor(
    message: string,
    /**
     * What went wrong in a few words, without the address (`connection refused`, `no answer
     * within 1000 ms`): what an error listing every endpoint's cause shows after each address.
     */
    readonly problem: string = message,
    /** Whether the node did not answer in time (as opposed to refusing or closing). */
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/** How {@link Connection.open} sets up a connection. */
export interface ConnectionOptions {
  /**
   * Drop the connection when the node stays silent this long (no answer, no pong to the pings
   * sent meanwhile). Undefined or 0: never (only a close or an error ends it).
   */
  readonly livenessMs?: number;
  /**
   * Gives the opening up (rejecting with {@link ConnectionLostError}) when aborted: a search
   * that found what it needed leaves no dial behind to keep the process alive.
   */
  readonly signal?: AbortSignal;
  /** TLS material for a `wss://` URL. */
  readonly tls?: ClientTls;
}

/**
 * TLS settings of a client (`connect({ tls })`): the CA that signed the nodes' certificates
 * and, when the cluster requires client certificates, this client's certificate and key. PEM,
 * as strings or buffers.
 */
export interface ClientTls {
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

/** ws (and so `tls.connect`) options for `tls`; the PEM given as is. */
function tlsOptions(tls: ClientTls | undefined): Record<string, unknown> {
  if (tls === undefined) return {};
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
  };
}

/**
 * The verifier's reason when `err` is a failed certificate check (the node's certificate not
 * signed by the CA given, expired, for another host), else undefined.
 */
export function tlsProblem(err: Error & { readonly code?: unknown }): string | undefined {
  const code = typeof err.code === 'string' ? err.code : '';
  if (/CERT|ISSUER|SIGNATURE|ALTNAME|VERIFY/.test(code)) {
    const hint = /SELF_SIGNED|ISSUER|LEAF_SIGNATURE/.test(code) ? " (is tls.ca the CA that signed the nodes' certificates?)" : '';
    return `${code}: ${err.message}${hint}`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(err.message))
    return `the node does not speak TLS (${err.message}): drop the tls option, or use ws://`;
  return undefined;
}

/** The `host:port` of a `/client` URL, for messages. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * Why a connection could not be opened, in a few words: what the operating system or the
 * server said (refused, DNS, unreachable, an HTTP answer instead of an upgrade).
 */
export function openProblem(err: Error & { readonly code?: unknown }): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'host not found (DNS)';
    case 'EAI_AGAIN':
      return 'DNS lookup failed for now (EAI_AGAIN)';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ECONNRESET':
      return 'connection reset';
  }
  const http = /Unexpected server response: (\d+)/.exec(err.message);
  if (http !== null) {
    return http[1] === '503'
      ? 'connection refused by the node (HTTP 503: stopping, or at its connection limit)'
      : `answered HTTP ${http[1]} instead of a WebSocket upgrade (not a raftlock client address?)`;
  }
  return typeof err.code === 'string' ? `${err.code}: ${err.message}` : err.message;
}

// Where it lived first; scripts still import it from here.
export { endpointUrl } from './endpoints.js';

/** Where the frames one watch pushes go. @internal */
export interface WatchSink {
  /**
   * Events of the watch: every event of each index the frame holds, in index order, and every
   * event it selects up to `through` (none in a progress frame).
   */
  events(events: readonly WatchEvent[], through: number): void;
  /**
   * The watch ended: the node ended it (`end`), or the connection was lost (a
   * {@link ConnectionLostError}). Called at most once; nothing follows it.
   */
  ended(reason: WatchEndFrame['end'] | ConnectionLostError): void;
}

/**
 * The watches followed on one connection, by the id the node gave each: pushed frames go to
 * their sink, and a frame of an id nobody follows (a watch detached, or started by an attempt the
 * client gave up on) makes the node stop that watch, once per id. Pure bookkeeping: the
 * connection sends what `unwatch` asks. @internal
 */
export class WatchRoutes {
  private readonly sinks = new Map<number, WatchSink>();
  /** Ids whose `unwatch` was asked for and not yet answered. */
  private readonly stopping = new Set<number>();

  constructor(
    /** Asks the node to stop watch `id`; `done` runs once it answered (or the connection ended). */
    private readonly unwatch: (id: number, done: () => void) => void,
    /** Called whenever watches are attached or leave (the connection holds the process while any is). */
    private readonly changed: () => void = () => {},
  ) {}

  /** How many watches are followed. */
  get size(): number {
    return this.sinks.size;
  }

  /** Follows watch `id`: its frames go to `sink` from now on. */
  attach(id: number, sink: WatchSink): void {
    this.sinks.set(id, sink);
    this.changed();
  }

  /** Stops following watch `id` and asks the node to stop it. Nothing more reaches its sink. */
  detach(id: number): void {
    if (!this.sinks.delete(id)) return;
    this.changed();
    this.stop(id);
  }

  /** Routes a pushed frame to its watch's sink (an end frame detaches it). */
  deliver(frame: WatchEventsFrame | WatchEndFrame): void {
    const sink = this.sinks.get(frame.watch);
    if (sink === undefined) {
      // Ended by the node: nothing to stop. Else it is a watch nobody here reads: stop it.
      if (!('end' in frame)) this.stop(frame.watch);
      return;
    }
    if ('end' in frame) {
      this.sinks.delete(frame.watch);
      this.changed();
      sink.ended(frame.end);
    } else {
      sink.events(frame.events, frame.through);
    }
  }

  /** The connection ended: every watch ends with `err`. */
  failAll(err: ConnectionLostError): void {
    const all = [...this.sinks.values()];
    this.sinks.clear();
    this.stopping.clear();
    this.changed();
    for (const sink of all) sink.ended(err);
  }

  private stop(id: number): void {
    if (this.stopping.has(id)) return;
    this.stopping.add(id);
    this.unwatch(id, () => this.stopping.delete(id));
  }
}

/** An open connection to one node. */
export class Connection {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: ClientResponse) => void; reject: (e: Error) => void; onAnswer: ((r: ClientResponse) => void) | undefined }
  >();
  private closedError: ConnectionLostError | undefined;
  /** Sessions proven on this connection (opened here, or bound). */
  readonly bound = new Set<number>();
  private readonly watch: SilenceWatch | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  /** The watches followed here (pushed frames are routed to them). @internal */
  readonly watches = new WatchRoutes(
    (id, done) => {
      const req = this.send({ op: 'unwatch', watch: id });
      req.response.then(done, done);
    },
    () => this.holdProcessWhileBusy(),
  );

  private constructor(
    private readonly ws: WebSocket,
    /** The `/client` URL of the node. */
    readonly url: string,
    /** The TCP socket under `ws`, corked while a burst of requests is written. */
    private readonly socket: Socket | undefined,
    livenessMs: number,
  ) {
    if (livenessMs > 0) {
      const watch = new SilenceWatch(livenessMs, performance.now());
      this.watch = watch;
      ws.on('pong', () => watch.heard(performance.now()));
      // Unref'd: watching an idle connection must not keep the process alive (module comment).
      this.watchTimer = setInterval(() => this.checkSilence(), watch.checkEveryMs);
      this.watchTimer.unref();
    }
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.watch?.heard(performance.now());
      if (!isBinary) return;
      let frame: ServerFrame;
      try {
        frame = decodeServerFrame(data);
      } catch {
        // A frame we cannot read: the node speaks the protocol wrongly; give up on it.
        this.fail(new ConnectionLostError(`undecodable response from ${url}`, 'answered with an undecodable frame'));
        return;
      }
      if (isWatchFrame(frame)) {
        this.watches.deliver(frame);
        return;
      }
      if (frame.id === null) return; // an answer to a frame we did not send well: nothing to match
      const p = this.pending.get(frame.id);
      if (p === undefined) return;
      this.forget(frame.id);
      // Before the promise settles (a later microtask): a watch's sink is attached before the
      // frames that follow its answer in this same read are routed.
      p.onAnswer?.(frame);
      p.resolve(frame);
    });
    ws.on('close', (code, reason) => {
      const problem = `closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`;
      this.fail(new ConnectionLostError(`connection to ${url} ${problem}`, problem));
    });
    ws.on('error', (err) => this.fail(new ConnectionLostError(`connection to ${url} failed: ${err.message}`, openProblem(err))));
    this.holdProcessWhileBusy();
  }

  /**
   * Opens a connection; rejects with {@link ConnectionLostError} (its `problem` saying why:
   * refused, DNS, no answer within `timeoutMs`…) if it cannot within `timeoutMs`.
   */
  static open(url: string, timeoutMs: number, options: ConnectionOptions = {}): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        maxPayload: 16 * 1024 * 1024,
        // Later than the timer below, which names the timeout the caller chose.
        handshakeTimeout: Math.max(1, timeoutMs) + 1_000,
        generateMask: zeroMask,
        ...(url.startsWith('wss:') ? tlsOptions(options.tls) : {}),
      });
      let socket: Socket | undefined;
      ws.once('upgrade', (res) => {
        socket = res.socket;
      });
      const signal = options.signal;
      const onAbort = (): void => {
        clearTimeout(timer);
        ws.terminate();
        reject(new ConnectionLostError(`opening ${url} was given up`, 'given up'));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        ws.terminate();
        const problem = `no answer within ${Math.round(timeoutMs)} ms`;
        reject(new ConnectionLostError(`could not connect to ${url}: ${problem}`, problem, true));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted === true) {
          ws.terminate();
          reject(new ConnectionLostError(`opening ${url} was given up`, 'given up'));
          return;
        }
        resolve(new Connection(ws, url, socket, options.livenessMs ?? 0));
      });
      // Handled here rather than by ws (which would only say "Unexpected server response"): the
      // node says in a header why it refused, e.g. a client certificate it requires.
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        const reason = res.headers['x-raftlock-reason'];
        const status = res.statusCode ?? '?';
        const problem =
          typeof reason === 'string'
            ? `answered HTTP ${status}: ${reason}`
            : openProblem(new Error(`Unexpected server response: ${status}`));
        fail(
          res.statusCode === 401
            ? new AuthError(`${url} refused the connection: ${typeof reason === 'string' ? reason : 'HTTP 401'}`)
            : new ConnectionLostError(`could not connect to ${url}: ${problem}`, problem),
        );
      });
      const fail = (err: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        ws.terminate();
        reject(err);
      };
      ws.once('error', (err) => {
        const tls = tlsProblem(err);
        fail(
          tls !== undefined
            ? new AuthError(`TLS with ${url} failed: ${tls}`)
            : new ConnectionLostError(`could not connect to ${url}: ${err.message}`, openProblem(err)),
        );
      });
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Whether the socket is open and usable. */
  get isOpen(): boolean {
    return this.closedError === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a request. The promise resolves with the response (success or error) and rejects only
   * with {@link ConnectionLostError}. `cancel` forgets the request (a late answer is dropped).
   * `onAnswer` sees the response as it is read, before anything read after it (a watch attaches
   * its sink there, ahead of the frames the node pushes right after answering).
   */
  send(body: RequestBody, onAnswer?: (r: ClientResponse) => void): { readonly response: Promise<ClientResponse>; cancel(): void } {
    const id = this.nextId++;
    const response = new Promise<ClientResponse>((resolve, reject) => {
      if (this.closedError !== undefined) {
        reject(this.closedError);
        return;
      }
      this.pending.set(id, { resolve, reject, onAnswer });
      this.holdProcessWhileBusy();
      try {
        if (this.socket !== undefined) corkUntilTickEnd(this.socket);
        this.ws.send(encodeRequest({ ...body, id }));
      } catch (err) {
        this.forget(id);
        reject(new ConnectionLostError(`could not send to ${this.url}: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
    return { response, cancel: () => this.forget(id) };
  }

  /** Closes the socket; pending requests reject with {@link ConnectionLostError}. Idempotent. */
  close(): void {
    this.fail(new ConnectionLostError(`connection to ${this.url} closed by the client`));
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  /** A liveness check (see {@link SilenceWatch}): ping, or give the silent node up. */
  private checkSilence(): void {
    const watch = this.watch;
    if (watch === undefined || this.closedError !== undefined) return;
    const t = performance.now();
    const verdict = watch.check(t);
    if (verdict === 'ping') {
      try {
        this.ws.ping();
      } catch {
        // Not open any more: the close event says so.
      }
    } else if (verdict === 'silent') {
      // Timers run before the event loop reads the sockets: a pong that arrived while this
      // process was busy is still unread. Judge after this turn's I/O (setImmediate runs after
      // the poll phase), so the node is not dropped for an answer we had not read yet.
      setImmediate(() => {
        const now = performance.now();
        if (this.closedError !== undefined || watch.silentFor(now) < watch.timeoutMs) return;
        const problem = `silent for ${Math.round(watch.silentFor(now))} ms, pings unanswered (paused, overloaded or cut off)`;
        this.fail(new ConnectionLostError(`${this.url} went silent: ${problem}; the connection was dropped`, problem, true));
      });
    }
  }

  private fail(err: ConnectionLostError): void {
    if (this.watchTimer !== undefined) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    if (this.closedError === undefined) this.closedError = err;
    const all = [...this.pending.values()];
    this.pending.clear();
    this.watches.failAll(err);
    this.holdProcessWhileBusy();
    for (const p of all) p.reject(err);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
  }

  /** Drops request `id` from the pending ones (answered, cancelled or unsendable). */
  private forget(id: number): void {
    this.pending.delete(id);
    this.holdProcessWhileBusy();
  }

  /** Refs the socket while a request is pending or a watch attached, unrefs it when idle (see the module comment). */
  private holdProcessWhileBusy(): void {
    if (this.pending.size > 0 || this.watches.size > 0) this.socket?.ref();
    else this.socket?.unref();
  }
}
