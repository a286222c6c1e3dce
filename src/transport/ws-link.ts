/**
 * The outbound half of a peer link: one client WebSocket from this node to one peer, kept up
 * with jittered exponential backoff, carrying this node's messages and snapshot streams to it.
 * (The peer's messages to us arrive on the connection *it* dials: see ws-inbound.ts. Two
 * one-way connections per pair keep each side's dialing and reconnect logic independent.)
 *
 * States: `connecting` (TCP, upgrade, handshake) → `open` → on any close `backoff` → redial;
 * `closed` once the transport stops. Messages sent while `connecting` wait in a bounded queue
 * (a freshly started node would otherwise drop its first heartbeats); while in `backoff` they
 * are dropped at once and the core is told the peer is unreachable.
 *
 * Liveness (link-liveness.ts): from TCP connect on, the link pings its peer and counts every
 * byte it reads as hearing it; silence past the bound terminates the socket (a dead path would
 * never complete a close handshake) and the link redials. The TCP connect has its own short
 * timeout, so a dial whose SYN was lost on a cut path is retried rather than left to the
 * kernel's 1 s, 3 s, 7 s… SYN retransmissions.
 */
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import WebSocket from 'ws';
import { DecodeError, zeroMask } from '../protocol/index.js';
import { ENTRY_OVERHEAD_BYTES, type Message, type NodeId, type SnapshotRequest } from '../raft/index.js';
import { CloseCode, newNonce, proof, proofMatches } from './handshake.js';
import { tuneSocket, watchConnection } from './link-liveness.js';
import { ReachabilityLog } from './reachability-log.js';
import { peerServerIdentity } from './peer-tls.js';
import { OutgoingSnapshot } from './snapshot-stream.js';
import { WarnOnce, closeSocket, rawToBuffer, type LinkEnv } from './ws-common.js';
import { PROTOCOL_VERSION, decodeFrame, encodeControl, encodeMessagesFrame } from './wire.js';

type LinkState = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

/** Rough wire size of a message, for bounding the queue before it is encoded. */
function estimateSize(m: Message): number {
  if (m.type !== 'append') return 64;
  let n = 96;
  for (const e of m.entries) n += e.data.byteLength + ENTRY_OVERHEAD_BYTES;
  return n;
}

/** Why a connection this side did not end was closed, in words, for the `peer link down` line. */
function closeCause(code: number, reason: string): string {
  if (code === 1006) return 'connection lost (no close frame)';
  if (code === CloseCode.GOING_AWAY) return 'peer stopping';
  return reason !== '' ? `closed by peer: ${reason}` : `closed by peer (code ${code})`;
}

/** This node's outbound connection to one peer (see the module comment). */
export class PeerLink {
  private state: LinkState = 'idle';
  private ws: WebSocket | undefined;
  private attempt = 0;
  private openedAt = 0;
  private redialTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Stops the liveness watch of the current socket (a no-op when none runs). */
  private stopWatch: () => void = () => {};
  /** Why this side ended the current connection, when it did (for the `peer link down` line). */
  private downCause = '';
  private nonce: Uint8Array | null = null;
  private sawChallenge = false;
  /** Set while the acceptor's data identity is being checked (between welcome and open). */
  private checking = false;
  private queue: Message[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private snapshots: OutgoingSnapshot[] = [];
  private nextStream = 1;
  private readonly warnings: WarnOnce;
  private readonly reachability: ReachabilityLog;
  /** Why the current dial failed, as far as we know, for the `peer unreachable` line. */
  private dialError = '';
  private readonly closeWaiters: Array<() => void> = [];

  constructor(
    private readonly env: LinkEnv,
    readonly peer: NodeId,
    readonly address: string,
  ) {
    this.warnings = new WarnOnce(env.logger);
    this.reachability = new ReachabilityLog(env.logger, peer, address);
  }

  /** Dials for the first time. */
  start(): void {
    if (this.state === 'idle') this.dial();
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  private dial(): void {
    const { env } = this;
    const { timings } = env;
    this.state = 'connecting';
    this.sawChallenge = false;
    this.checking = false;
    this.dialError = '';
    this.downCause = '';
    this.nonce = env.secret !== undefined ? newNonce() : null;
    // ws calls this from inside its constructor, before `ws` below is assigned: the socket is
    // handed over through this variable.
    let socket: Socket | undefined;
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${env.tls !== undefined ? 'wss' : 'ws'}://${this.address}/raft`, {
        maxPayload: env.maxPayload,
        perMessageDeflate: false,
        handshakeTimeout: timings.handshakeTimeoutMs,
        followRedirects: false,
        generateMask: zeroMask,
        // ws only ever calls it with an options object (the overloads are net.connect's type).
        createConnection: ((options: NetConnectOpts) => {
          // As ws's own: `path` here is the HTTP path, which net would take for a Unix socket.
          const s = this.connect({ ...options, path: undefined } as NetConnectOpts & ConnectionOptions);
          socket = s;
          tuneSocket(s, timings);
          return s;
        }) as typeof netConnect,
      });
    } catch (err) {
      // A malformed address throws synchronously; keep retrying quietly like any failure.
      this.warnings.warn('dial', 'cannot dial peer', { peer: this.peer, address: this.address, error: String(err) });
      this.reachability.dialFailed(String(err));
      this.onDown();
      return;
    }
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    this.handshakeTimer = setTimeout(() => {
      if (this.ws === ws && this.state === 'connecting') {
        this.warnings.warn('handshake', 'peer handshake timed out', {
          peer: this.peer,
          address: this.address,
          timeoutMs: timings.handshakeTimeoutMs,
        });
        this.dialError = `handshake not complete within ${timings.handshakeTimeoutMs} ms`;
        ws.terminate();
      }
    }, timings.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    if (socket !== undefined) this.watchSocket(ws, socket);
    ws.on('open', () => {
      ws.send(
        encodeControl({
          k: 'hello',
          protocol: PROTOCOL_VERSION,
          clusterId: env.clusterId,
          from: env.id,
          to: this.peer,
          nonce: this.nonce,
          dataId: env.identities.own,
          address: env.ownAddress(),
        }),
      );
    });
    ws.on('message', (data, isBinary) => this.onFrame(ws, data, isBinary));
    // Without a listener ws rethrows errors; they are followed by 'close', handled there.
    ws.on('error', (err) => {
      // The first cause is the one to report: terminating a dial makes ws add its own.
      if (this.ws === ws && this.dialError === '') this.dialError = err.message;
      env.logger.debug('peer link error', { peer: this.peer, error: err.message });
    });
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  /**
   * The connection under a dial: TCP, or TLS presenting this node's certificate and checking
   * the peer's (its CA, its host name, and with verifyPeerIds the node id it names).
   */
  private connect(options: NetConnectOpts & ConnectionOptions): Socket {
    const tls = this.env.tls;
    if (tls === undefined) return netConnect(options);
    const { ca, cert, key } = tls.material();
    const host = typeof options.host === 'string' ? options.host.replace(/^\[|\]$/g, '') : '';
    return tlsConnect({
      ...options,
      ca,
      cert,
      key,
      // SNI takes a host name only, never an IP literal.
      ...(host !== '' && isIP(host) === 0 ? { servername: host } : { servername: '' }),
      checkServerIdentity: peerServerIdentity(this.peer, tls.verifyPeerIds),
    });
  }

  /**
   * Bounds the TCP connect, then watches the connection for silence from the moment it is
   * connected: during the upgrade and handshake too, where a path that dies is otherwise noticed
   * only at the (longer) handshake timeout.
   */
  private watchSocket(ws: WebSocket, socket: Socket): void {
    const { timings } = this.env;
    const watch = (): void => {
      if (this.ws !== ws || this.state === 'closed') return;
      this.stopWatch = watchConnection({
        ws,
        socket,
        timings,
        ping: 'always',
        sendProgress: () => ws.bufferedAmount,
        onSilent: (silentMs) => {
          if (this.ws !== ws) return;
          const cause = `no answer for ${silentMs} ms (bound ${timings.silenceMs} ms)`;
          if (this.state === 'open') this.downCause = cause;
          else if (this.dialError === '') this.dialError = cause;
          ws.terminate();
        },
      });
    };
    if (!socket.connecting) return watch();
    socket.once('connect', watch);
    if (timings.connectTimeoutMs <= 0) return;
    this.connectTimer = setTimeout(() => {
      // Judged after the I/O already pending: this process may itself have stalled past the
      // bound, with the connect completed but not yet seen.
      setImmediate(() => {
        if (this.ws !== ws || !socket.connecting) return;
        if (this.dialError === '') this.dialError = `TCP connect not complete within ${timings.connectTimeoutMs} ms`;
        ws.terminate();
      });
    }, timings.connectTimeoutMs);
    this.connectTimer.unref();
  }

  /** Refuses the acceptor (this node is the one saying no). */
  private refuse(ws: WebSocket, code: number, reason: string): void {
    this.env.metrics.rejectedHandshakes++;
    this.warnings.warn('refused', 'refused peer acceptor', { peer: this.peer, address: this.address, code, reason });
    closeSocket(ws, code, reason);
  }

  private onFrame(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (ws !== this.ws || this.state === 'closed') return;
    const buf = rawToBuffer(data);
    this.env.metrics.bytesReceived += buf.byteLength;
    if (!isBinary) return this.refuse(ws, CloseCode.PROTOCOL, 'text frame');
    let frame;
    try {
      frame = decodeFrame(buf);
    } catch (err) {
      this.env.metrics.malformedFrames++;
      const reason = err instanceof DecodeError ? err.message : 'undecodable';
      if (this.state === 'connecting') return this.refuse(ws, CloseCode.MALFORMED, `malformed frame: ${reason}`);
      this.warnings.warn('malformed', 'malformed frame from peer acceptor', { peer: this.peer, reason });
      return closeSocket(ws, CloseCode.MALFORMED, 'malformed frame');
    }
    if (frame.kind !== 'control') return this.refuse(ws, CloseCode.PROTOCOL, `unexpected ${frame.kind} frame`);
    const c = frame.control;
    const { env } = this;
    if (this.state === 'connecting') {
      if (this.checking) return this.refuse(ws, CloseCode.PROTOCOL, `${c.k} after welcome`);
      if (c.k === 'challenge' && env.secret !== undefined && this.nonce !== null && !this.sawChallenge) {
        // Mutual authentication: the acceptor must prove the secret over *our* nonce before we
        // answer its challenge, so a rogue acceptor learns nothing and gets no traffic.
        const expected = proof(env.secret, 'acceptor', this.nonce, env.clusterId, env.id, this.peer);
        if (!proofMatches(expected, c.proof)) return this.refuse(ws, CloseCode.AUTH, 'acceptor failed authentication');
        this.sawChallenge = true;
        ws.send(encodeControl({ k: 'auth', proof: proof(env.secret, 'dialer', c.nonce, env.clusterId, env.id, this.peer) }));
        return;
      }
      if (c.k === 'welcome') {
        if (env.secret !== undefined && !this.sawChallenge) return this.refuse(ws, CloseCode.AUTH, 'acceptor did not authenticate');
        return this.checkIdentity(ws, c.dataId);
      }
      if (c.k === 'challenge' && env.secret === undefined) return this.refuse(ws, CloseCode.AUTH, 'no secret configured here');
      return this.refuse(ws, CloseCode.PROTOCOL, `unexpected ${c.k} during handshake`);
    }
    if (c.k === 'snap-ack') {
      const active = this.snapshots[0];
      // An ack for a stream we already gave up on (timeout) is stale: ignore it.
      if (active !== undefined && active.stream === c.stream) active.onAck(c.ok);
      return;
    }
    this.warnings.warn('protocol', 'unexpected frame from peer acceptor', { peer: this.peer, k: c.k });
    closeSocket(ws, CloseCode.PROTOCOL, `unexpected ${c.k}`);
  }

  /** The acceptor is authenticated; its data identity must be the one it is known by. */
  private checkIdentity(ws: WebSocket, dataId: string): void {
    this.checking = true;
    void this.env.identities.check(this.peer, dataId).then((reason) => {
      if (ws !== this.ws || this.state !== 'connecting') return; // closed or redialled meanwhile
      this.checking = false;
      if (reason !== null) return this.refuse(ws, CloseCode.IDENTITY, reason);
      this.onOpen();
    });
  }

  private onOpen(): void {
    this.state = 'open';
    this.openedAt = Date.now();
    clearTimeout(this.handshakeTimer);
    this.warnings.reset('refused');
    this.warnings.reset('closed');
    this.reachability.up();
    this.scheduleFlush();
    this.startSnapshot();
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.connectTimer);
    this.stopWatch();
    this.stopWatch = () => {};
    if (this.state === 'closed') {
      for (const w of this.closeWaiters.splice(0)) w();
      return;
    }
    const wasOpen = this.state === 'open';
    if (wasOpen) this.reachability.down(code, reason, this.downCause !== '' ? this.downCause : closeCause(code, reason));
    else {
      if (code >= 4000)
        this.warnings.warn('closed', 'peer refused our connection', { peer: this.peer, address: this.address, code, reason });
      this.reachability.dialFailed(reason !== '' ? `${reason} (${code})` : this.dialError !== '' ? this.dialError : `closed (${code})`);
    }
    // A link that stayed up a while earns a fresh backoff; one that flaps keeps backing off.
    if (wasOpen && Date.now() - this.openedAt >= this.env.timings.backoffCapMs) this.attempt = 0;
    this.onDown();
  }

  /** The connection is gone: drop what waited for it and schedule a redial. */
  private onDown(): void {
    this.state = 'backoff';
    this.dropQueue();
    this.failSnapshots();
    const { backoffBaseMs, backoffCapMs } = this.env.timings;
    const ceiling = Math.min(backoffCapMs, backoffBaseMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    // "Equal jitter": at least half the ceiling so a dead peer is not hammered, plus a random
    // half so nodes restarted together do not redial in lockstep.
    const delay = ceiling / 2 + this.env.random() * (ceiling / 2);
    this.redialTimer = setTimeout(() => {
      if (this.state !== 'backoff') return;
      this.env.metrics.reconnects++;
      this.dial();
    }, delay);
    this.redialTimer.unref();
  }

  private dropQueue(): void {
    if (this.queue.length === 0) return;
    this.env.metrics.dropped += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.state !== 'closed') this.env.unreachable(this.peer);
  }

  /** Queues a message for the next flush (one frame per event-loop turn). */
  enqueue(m: Message): void {
    if (this.state === 'closed') return;
    const size = estimateSize(m);
    // The queue is bounded like the socket buffer; an empty queue takes any one message.
    const full = this.queue.length > 0 && this.queuedBytes + size > this.env.maxBufferedBytes;
    if (this.state === 'backoff' || this.state === 'idle' || full) {
      this.env.metrics.dropped++;
      this.env.unreachable(this.peer);
      return;
    }
    this.queue.push(m);
    this.queuedBytes += size;
    if (this.state === 'open') this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.queue.length === 0) return;
    this.flushScheduled = true;
    // setImmediate rather than a microtask: microtasks run after every single callback, while
    // setImmediate runs once per event-loop iteration, after all I/O callbacks of the turn,
    // so everything the core produced in response to one poll phase shares one frame.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const ws = this.ws;
    if (this.state !== 'open' || ws === undefined || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const { frame, count } of this.frames(batch)) {
      const buffered = ws.bufferedAmount;
      // Bounded send buffer: a slow or stalled peer costs us dropped messages, which Raft
      // retransmits, never unbounded memory. An empty buffer always accepts one frame so a
      // frame larger than the bound can still go.
      if (buffered > 0 && buffered + frame.byteLength > this.env.maxBufferedBytes) {
        this.env.metrics.dropped += count;
        this.env.unreachable(this.peer);
        continue;
      }
      this.env.metrics.sent += count;
      this.env.metrics.bytesSent += frame.byteLength;
      ws.send(frame);
    }
  }

  /** Encodes a batch into as few frames as fit `maxPayload` (halving until they do). */
  private frames(batch: readonly Message[]): Array<{ frame: Buffer; count: number }> {
    const frame = encodeMessagesFrame(batch);
    if (frame.byteLength <= this.env.maxPayload) return [{ frame, count: batch.length }];
    if (batch.length === 1) {
      this.env.metrics.dropped++;
      this.warnings.warn('oversize', 'message larger than the peer frame limit dropped', {
        peer: this.peer,
        bytes: frame.byteLength,
        type: batch[0]?.type,
      });
      return [];
    }
    const mid = Math.ceil(batch.length / 2);
    return [...this.frames(batch.slice(0, mid)), ...this.frames(batch.slice(mid))];
  }

  /**
   * Queues a snapshot stream; streams go one at a time, interleaved with messages on the same
   * connection. `done` is called exactly once, asynchronously.
   */
  sendSnapshot(message: SnapshotRequest, data: Uint8Array, done: (ok: boolean) => void): void {
    if (this.state !== 'open' && this.state !== 'connecting') {
      this.env.metrics.snapshotsFailed++;
      setImmediate(done, false);
      return;
    }
    const stream = this.nextStream;
    this.nextStream = this.nextStream >= 0xffffffff ? 1 : this.nextStream + 1;
    const s = new OutgoingSnapshot(
      stream,
      message,
      data,
      (ok) => {
        if (ok) this.env.metrics.snapshotsSent++;
        else this.env.metrics.snapshotsFailed++;
        // Never call back into the host from inside our own event handling.
        setImmediate(done, ok);
        const k = this.snapshots.indexOf(s);
        if (k >= 0) this.snapshots.splice(k, 1);
        if (k === 0) this.startSnapshot();
      },
      Math.max(1024, Math.min(this.env.snapshotChunkBytes, this.env.maxPayload - 64)),
      this.env.snapshotTimeoutMs,
      () => {
        this.warnings.warn('snapshot', 'snapshot stream stalled; resetting the link', { peer: this.peer, stream });
        if (this.ws !== undefined) closeSocket(this.ws, CloseCode.SNAPSHOT_TIMEOUT, 'snapshot stalled');
      },
    );
    this.snapshots.push(s);
    if (this.snapshots.length === 1) this.startSnapshot();
  }

  private startSnapshot(): void {
    const s = this.snapshots[0];
    const ws = this.ws;
    if (s === undefined || this.state !== 'open' || ws === undefined) return;
    s.start({
      send: (frame, written) => {
        if (this.ws !== ws) return written(new Error('link reset'));
        ws.send(frame, (err) => written(err ?? undefined));
      },
      sentBytes: (n) => (this.env.metrics.bytesSent += n),
    });
  }

  private failSnapshots(): void {
    // Each fail() removes itself from the list (see the done callback in sendSnapshot).
    for (const s of [...this.snapshots]) s.fail();
    this.snapshots = [];
  }

  /** Closes the link for good; resolves once its socket is closed. */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'closed';
    clearTimeout(this.redialTimer);
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.connectTimer);
    this.stopWatch();
    this.dropQueue();
    this.failSnapshots();
    const ws = this.ws;
    if (ws === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const fallback = setTimeout(resolve, 3_000);
      fallback.unref();
      this.closeWaiters.push(() => {
        clearTimeout(fallback);
        resolve();
      });
      closeSocket(ws, CloseCode.GOING_AWAY, 'stopping');
    });
  }
}
