/**
 * {@link PeerTransport} over WebSockets (`ws`) with msgpackr frames
 * (docs/design.md#peer-protocol).
 *
 * The transport does not own an HTTP server: the node serves `/raft` on the same port as its
 * other routes and hands those upgrade requests to {@link WsPeerTransport.handleUpgrade}.
 *
 * Per peer there is one outbound connection this node dials (ws-link.ts) and carries our
 * messages and snapshots, and one inbound connection the peer dials (ws-inbound.ts) and
 * carries theirs. Delivery is best effort: whatever cannot be sent now (link down, buffer full,
 * frame over the limit) is dropped and counted, and Raft retransmits.
 *
 * Callbacks into the handler never happen inside `send`/`sendSnapshot` (re-entrancy into the
 * host's ready loop): unreachable reports, self-addressed messages and snapshot results are
 * deferred. An exception thrown by the handler is not caught: the core throws only on broken
 * invariants, and those must stop the process (fail-stop, docs/design.md#the-pure-core).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { MAX_INCOMING_SNAPSHOT_BYTES } from '../protocol/index.js';
import { silentLogger, type Logger, type Message, type NodeId, type SnapshotRequest } from '../raft/index.js';
import type { FaultLayer } from './fault-layer.js';
import { CloseCode } from './handshake.js';
import { DEFAULT_ELECTION_TIMEOUT_MS, linkTimings, tuneSocket, type LinkTimings } from './link-liveness.js';
import { checkPeerSet, samePeerSet, type PeerTransport, type TransportHandler } from './peer-transport.js';
import { WarnOnce, newTransportMetrics, type LinkEnv, type PeerIdentities, type TransportMetrics } from './ws-common.js';
import { InboundConnection } from './ws-inbound.js';
import { MAX_CLUSTER_ID_LENGTH } from './wire.js';
import { PeerLink } from './ws-link.js';
import { unverifiedCertificate, type PeerTls } from './peer-tls.js';

export type { PeerIdentities, TransportMetrics } from './ws-common.js';

/** Default largest peer frame: 16 MiB (docs/design.md#limits). */
export const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;

/** Options of {@link WsPeerTransport}; sizes in bytes, times in milliseconds. */
export interface WsTransportOptions {
  /** This node's id. */
  readonly id: NodeId;
  /** Peers must present the same cluster id. */
  readonly clusterId: string;
  /**
   * Every other member: id → `host:port` of its HTTP server (`/raft` is appended). Checked as
   * {@link WsPeerTransport.setPeers} checks it, and replaced by that later.
   */
  readonly peers: ReadonlyMap<NodeId, string>;
  /** Cluster secret: enables HMAC-SHA256 challenge–response, both ways. */
  readonly secret?: string;
  /**
   * This node's data identity and the check of its peers' (docs/design.md#data-identity). A
   * node always gives one; without it (tests of the transport alone) the identity sent is ''
   * and every peer's is accepted.
   */
  readonly identities?: PeerIdentities;
  /**
   * Where this node is reached (`host:port`, or a function giving it), sent in every hello so
   * that a node that does not know this one yet can answer it. Default ''.
   */
  readonly address?: string | (() => string);
  /** Where to dial a peer that called in from outside the configuration, instead of its own address (chaos runs' proxies). */
  readonly dialAddressOf?: (peer: NodeId) => string | undefined;
  /** Largest frame sent or accepted, on both server and client sockets (default 16 MiB). */
  readonly maxPayload?: number;
  /** Per-peer bound on queued plus socket-buffered bytes before batches drop (default 8 MiB). */
  readonly maxBufferedBytes?: number;
  /** Largest incoming snapshot accepted (default 512 MiB). */
  readonly maxSnapshotBytes?: number;
  /** Snapshot chunk size (default 256 KiB). */
  readonly snapshotChunkBytes?: number;
  /** A snapshot stream fails after this long without progress or ack (default 30 s). */
  readonly snapshotTimeoutMs?: number;
  /**
   * The cluster's election timeout (`tickMs × electionTicks`), from which the link timings below
   * default ({@link linkTimings}; default 500 ms, the configuration's default).
   */
  readonly electionTimeoutMs?: number;
  /**
   * Whether links watch their peers (default true): ping, close a link silent for longer than
   * `silenceTimeoutMs` and redial it, bound the TCP connect, set keep-alive. False restores the
   * links as they were before (no pings, 5 s handshakes, backoff capped at 2 s): the negative
   * control of chaos runs.
   */
  readonly linkLiveness?: boolean;
  /** A link silent for longer than this is closed and redialled (default twice the election timeout, at least 1 s). */
  readonly silenceTimeoutMs?: number;
  /** How often a link pings and judges its silence (default a quarter of `silenceTimeoutMs`). */
  readonly pingIntervalMs?: number;
  /** The TCP connect of a dial must finish within this (default half the election timeout, at least 250 ms). */
  readonly connectTimeoutMs?: number;
  /**
   * Dial plus handshake must finish within this, and an inbound connection must authenticate
   * within it (default four election timeouts, at least 2 s; 5 s without liveness).
   */
  readonly handshakeTimeoutMs?: number;
  /** Reconnect backoff: first ceiling and cap (defaults 50 ms and half the election timeout, at least 250 ms; 2 s without liveness). */
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  /** Unauthenticated inbound connections allowed at once; more get HTTP 503 (default 32). */
  readonly maxPendingHandshakes?: number;
  readonly logger?: Logger;
  /** Fault injection (tests and chaos runs only). Absent: no faults, ever. */
  readonly faults?: FaultLayer;
  /**
   * Mutual TLS between peers: links dial `wss://` presenting this node's certificate, and an
   * inbound connection must have presented one the CA signed (naming the claimed node id with
   * `verifyPeerIds`). The node's HTTPS server terminates TLS for inbound connections.
   */
  readonly tls?: PeerTls;
  /** Random numbers in [0, 1) for backoff jitter (default Math.random). */
  readonly random?: () => number;
}

/** The address form a link can dial. */
const DIALABLE = /^[^\s/]+:\d{1,5}$/;

/** {@link checkPeerSet} plus the address form a link can dial. */
function checkPeers(self: NodeId, peers: ReadonlyMap<NodeId, string>): void {
  checkPeerSet('WsPeerTransport', self, peers);
  for (const [peer, address] of peers) {
    if (!DIALABLE.test(address)) throw new RangeError(`WsPeerTransport: peer ${peer} address "${address}" is not host:port`);
  }
}

/**
 * Most peers from outside the configuration answered at once: each costs an outbound link, and
 * a cluster has at most a handful of members this node may not know of yet.
 */
export const MAX_CALLERS = 16;

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`WsPeerTransport: ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** The link timings: derived from the election timeout, then any explicit option applied. */
function resolveTimings(opts: WsTransportOptions): LinkTimings {
  const d = linkTimings(positiveInt('electionTimeoutMs', opts.electionTimeoutMs, DEFAULT_ELECTION_TIMEOUT_MS), opts.linkLiveness !== false);
  const silenceMs = d.liveness ? positiveInt('silenceTimeoutMs', opts.silenceTimeoutMs, d.silenceMs) : 0;
  const t: LinkTimings = {
    liveness: d.liveness,
    silenceMs,
    pingIntervalMs: d.liveness ? positiveInt('pingIntervalMs', opts.pingIntervalMs, Math.max(1, Math.floor(silenceMs / 4))) : 0,
    connectTimeoutMs: d.liveness ? positiveInt('connectTimeoutMs', opts.connectTimeoutMs, d.connectTimeoutMs) : 0,
    handshakeTimeoutMs: positiveInt('handshakeTimeoutMs', opts.handshakeTimeoutMs, d.handshakeTimeoutMs),
    backoffBaseMs: positiveInt('backoffBaseMs', opts.backoffBaseMs, d.backoffBaseMs),
    backoffCapMs: positiveInt('backoffCapMs', opts.backoffCapMs, d.backoffCapMs),
  };
  if (t.liveness && t.pingIntervalMs >= t.silenceMs)
    throw new RangeError(
      `WsPeerTransport: pingIntervalMs (${t.pingIntervalMs}) must be shorter than silenceTimeoutMs (${t.silenceMs}), or healthy links are closed for silence`,
    );
  return t;
}

/**
 * The WebSocket peer transport. Create it, route `/raft` upgrades to {@link handleUpgrade},
 * give it to the host (which calls `start`), and {@link close} it on shutdown.
 */
export class WsPeerTransport implements PeerTransport {
  readonly id: NodeId;
  /** Monotonic counters, read by the metrics endpoint. */
  readonly metrics: TransportMetrics = newTransportMetrics();
  private readonly env: LinkEnv;
  private readonly wss: WebSocketServer;
  private readonly maxPendingHandshakes: number;
  private readonly warnings: WarnOnce;
  private handler: TransportHandler | undefined;
  private links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<InboundConnection>();
  private readonly closing = new Set<Promise<void>>();
  private local: Message[] = [];
  private localScheduled = false;
  private readonly unreachablePending = new Set<NodeId>();
  /** Peers outside the configuration with an authenticated connection to us, and where they are answered. */
  private readonly callers = new Map<NodeId, string>();
  private readonly dialAddressOf: (peer: NodeId) => string | undefined;
  private closed = false;

  constructor(opts: WsTransportOptions) {
    if (!Number.isSafeInteger(opts.id) || opts.id <= 0)
      throw new RangeError(`WsPeerTransport: id must be a positive integer, got ${opts.id}`);
    if (opts.clusterId.length === 0 || opts.clusterId.length > MAX_CLUSTER_ID_LENGTH) {
      // Longer ids would fail every handshake (the hello decoder bounds them).
      throw new RangeError(`WsPeerTransport: clusterId must be 1..${MAX_CLUSTER_ID_LENGTH} characters`);
    }
    checkPeers(opts.id, opts.peers);
    if (opts.secret !== undefined && opts.secret.length === 0) throw new RangeError('WsPeerTransport: secret must not be empty');
    this.id = opts.id;
    this.dialAddressOf = opts.dialAddressOf ?? (() => undefined);
    const logger = opts.logger ?? silentLogger;
    const maxPayload = positiveInt('maxPayload', opts.maxPayload, DEFAULT_MAX_PAYLOAD, 4096);
    this.maxPendingHandshakes = positiveInt('maxPendingHandshakes', opts.maxPendingHandshakes, 32);
    this.warnings = new WarnOnce(logger);
    this.env = {
      id: opts.id,
      clusterId: opts.clusterId,
      secret: opts.secret,
      identities: opts.identities ?? { own: '', check: () => Promise.resolve(null) },
      ownAddress: typeof opts.address === 'function' ? opts.address : () => (opts.address as string | undefined) ?? '',
      mayCall: (peer, address) => peer !== opts.id && DIALABLE.test(address) && (this.callers.has(peer) || this.callers.size < MAX_CALLERS),
      peers: new Map(opts.peers),
      maxPayload,
      maxBufferedBytes: positiveInt('maxBufferedBytes', opts.maxBufferedBytes, 8 * 1024 * 1024),
      maxSnapshotBytes: positiveInt('maxSnapshotBytes', opts.maxSnapshotBytes, MAX_INCOMING_SNAPSHOT_BYTES, 0),
      snapshotChunkBytes: positiveInt('snapshotChunkBytes', opts.snapshotChunkBytes, 256 * 1024, 1024),
      snapshotTimeoutMs: positiveInt('snapshotTimeoutMs', opts.snapshotTimeoutMs, 30_000),
      timings: resolveTimings(opts),
      random: opts.random ?? Math.random,
      logger,
      metrics: this.metrics,
      faults: opts.faults,
      tls: opts.tls,
      unreachable: (peer) => this.reportUnreachable(peer),
      deliver: (peer, messages) => this.deliver(peer, messages),
      deliverSnapshot: (peer, message, data) => this.deliverSnapshot(peer, message, data),
    };
    if (!this.env.timings.liveness)
      logger.warn('peer link liveness is off: a link cut without a close is not noticed, and comes back only when TCP retransmits', {
        handshakeTimeoutMs: this.env.timings.handshakeTimeoutMs,
        backoffCapMs: this.env.timings.backoffCapMs,
      });
    // noServer: the node's HTTP server routes `/raft` upgrades here. maxPayload is explicit
    // (ws defaults to 100 MiB); compression is off (CPU for little gain on binary frames, and
    // a decompression-bomb surface).
    this.wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false, clientTracking: false });
  }

  // ---- PeerTransport --------------------------------------------------------------------------

  start(handler: TransportHandler): void {
    if (this.closed) throw new Error('WsPeerTransport: start after close');
    this.handler = handler;
    for (const [peer, address] of this.env.peers) if (!this.links.has(peer)) this.openLink(peer, address);
  }

  /**
   * Replaces the peer set as {@link PeerTransport.setPeers} states. Links are only made or
   * closed while started; stopped, the set is kept for the next `start`.
   */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    checkPeers(this.id, peers);
    if (samePeerSet(peers, this.env.peers)) return;
    const before = this.env.peers;
    // Replaced before any socket is touched: a handshake arriving from here on is checked
    // against the new set (ws-inbound.ts reads it at `hello`).
    this.env.peers = new Map(peers);
    for (const [peer, address] of before) {
      const now = peers.get(peer);
      if (now === address) continue;
      const link = this.links.get(peer);
      if (link !== undefined) {
        this.links.delete(peer);
        this.track(link.close());
      }
      if (now === undefined) {
        // A report queued before the removal would name a node the core no longer tracks.
        this.unreachablePending.delete(peer);
        this.env.logger.info('peer removed', { peer, address });
      } else this.env.logger.info('peer address changed', { peer, from: address, to: now });
    }
    for (const c of this.inbound) {
      const claimed = c.claimedPeer;
      // A peer that left the configuration and cannot be answered as a caller is let go.
      if (claimed !== undefined && !c.admissible(claimed)) c.refuse(CloseCode.NODE, `node ${claimed} is no longer a configured peer`);
    }
    if (this.handler === undefined) return;
    for (const [peer, address] of peers) {
      if (this.callers.has(peer)) {
        // Configured now: its link is the configuration's, at the configured address.
        const link = this.links.get(peer);
        this.callers.delete(peer);
        if (link !== undefined && link.address === address) continue;
        if (link !== undefined) {
          this.links.delete(peer);
          this.track(link.close());
        }
      }
      if (this.links.has(peer)) continue;
      if (!before.has(peer)) this.env.logger.info('peer added', { peer, address });
      this.openLink(peer, address);
    }
    // A peer that left the configuration but still calls in is answered as a caller.
    for (const c of this.inbound) this.answerCaller(c);
  }

  /**
   * Gives an authenticated peer from outside the configuration a link to answer it on (at its
   * dial override, else where its hello said), once.
   */
  private answerCaller(c: InboundConnection): void {
    const peer = c.peer;
    if (peer === undefined || this.env.peers.has(peer) || this.handler === undefined) return;
    if (this.links.has(peer) || !this.env.mayCall(peer, c.helloAddress)) return;
    const address = this.dialAddressOf(peer) ?? c.helloAddress;
    this.callers.set(peer, address);
    this.env.logger.info('answering a peer from outside the configuration', { peer, address });
    this.openLink(peer, address);
  }

  /** An inbound connection closed: a caller with no other connection to us is no longer answered. */
  private inboundGone(gone: InboundConnection): void {
    this.inbound.delete(gone);
    const peer = gone.claimedPeer;
    if (peer === undefined || !this.callers.has(peer)) return;
    for (const c of this.inbound) if (c.claimedPeer === peer) return;
    this.callers.delete(peer);
    const link = this.links.get(peer);
    if (link !== undefined && !this.env.peers.has(peer)) {
      this.links.delete(peer);
      this.track(link.close());
    }
  }

  private openLink(peer: NodeId, address: string): void {
    const link = new PeerLink(this.env, peer, address);
    this.links.set(peer, link);
    link.start();
  }

  send(messages: readonly Message[]): void {
    if (this.handler === undefined) return;
    const faults = this.env.faults;
    for (const m of messages) {
      if (m.to === this.id) {
        this.deliverLocal(m);
        continue;
      }
      const link = this.links.get(m.to);
      if (link === undefined) {
        this.metrics.dropped++;
        // No unreachable report: the node is not one the core should probe, and a report
        // per message could make a core that keeps sending to it spin.
        this.warnings.warn(`unknown:${m.to}`, 'dropped message to a node that is not a configured peer', { to: m.to, type: m.type });
        continue;
      }
      if (faults !== undefined) {
        const d = faults.decide('send', m.to);
        if (!d.deliver) {
          this.metrics.dropped++;
          continue;
        }
        if (d.delayMs > 0) {
          const t = setTimeout(() => {
            // The peer may have been removed, or its link replaced, meanwhile.
            if (this.links.get(m.to) === link) link.enqueue(m);
            else this.metrics.dropped++;
          }, d.delayMs);
          t.unref();
          continue;
        }
      }
      link.enqueue(m);
    }
  }

  sendSnapshot(message: SnapshotRequest, data: Uint8Array, done: (ok: boolean) => void): void {
    let called = false;
    // Exactly once. `later` defers: the host may be inside its ready loop right now.
    const now = (ok: boolean): void => {
      if (called) return;
      called = true;
      done(ok);
    };
    const later = (ok: boolean): void => void setImmediate(now, ok);
    if (this.handler === undefined) return later(false);
    if (message.to === this.id) {
      setImmediate(() => {
        const h = this.handler;
        if (h !== undefined) h.onSnapshot(message, data);
        now(h !== undefined);
      });
      return;
    }
    const link = this.links.get(message.to);
    if (link === undefined) {
      this.metrics.snapshotsFailed++;
      return later(false);
    }
    const d = this.env.faults?.decide('send', message.to);
    if (d !== undefined && !d.deliver) return later(false);
    if (d !== undefined && d.delayMs > 0) {
      const t = setTimeout(() => {
        if (this.links.get(message.to) === link) link.sendSnapshot(message, data, now);
        else now(false);
      }, d.delayMs);
      t.unref();
      return;
    }
    // PeerLink always calls back asynchronously.
    link.sendSnapshot(message, data, now);
  }

  stop(): void {
    this.handler = undefined;
    this.local = [];
    this.unreachablePending.clear();
    for (const link of this.links.values()) this.track(link.close());
    this.links = new Map();
    for (const c of this.inbound) c.close(CloseCode.GOING_AWAY, 'stopping');
  }

  // ---- serving --------------------------------------------------------------------------------

  /**
   * Takes over an HTTP upgrade request for `/raft` (the caller routes by path). While the
   * transport is not started, or too many connections are still unauthenticated, the request is
   * answered with 503 and the socket closed; peers retry with backoff.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let pending = 0;
    for (const c of this.inbound) if (!c.authenticated) pending++;
    if (this.handler === undefined || this.closed || pending >= this.maxPendingHandshakes) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    if (this.env.tls !== undefined) {
      // The chain is checked here, the node id at the hello (ws-inbound.ts): only then is it known.
      const problem = unverifiedCertificate(socket);
      if (problem !== null) {
        this.metrics.rejectedHandshakes++;
        this.warnings.warn(`tls:${req.socket.remoteAddress ?? '?'}`, 'refused peer connection', { remote, reason: problem });
        socket.end(
          `HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\nX-Raftlock-Reason: ${problem.replace(/[^\x20-\x7e]/g, '?')}\r\n\r\n`,
        );
        return;
      }
    }
    tuneSocket(socket, this.env.timings);
    try {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        if (this.handler === undefined) {
          ws.close(CloseCode.GOING_AWAY, 'stopping');
          return;
        }
        const conn = new InboundConnection(
          this.env,
          ws,
          socket,
          remote,
          this.warnings,
          (ready) => {
            this.retireOlder(ready);
            this.answerCaller(ready);
          },
          (gone) => this.inboundGone(gone),
        );
        this.inbound.add(conn);
      });
    } catch (err) {
      this.env.logger.debug('peer upgrade failed', { remote, error: String(err) });
      socket.destroy();
    }
  }

  /** One authenticated inbound connection per peer: a reconnect replaces a half-dead one. */
  private retireOlder(ready: InboundConnection): void {
    for (const c of this.inbound) {
      if (c !== ready && c.authenticated && c.peer === ready.peer) c.close(CloseCode.REPLACED, 'replaced by a newer connection');
    }
  }

  /** Peers whose outbound link is currently up (diagnostics). */
  connectedPeers(): NodeId[] {
    return [...this.links.values()].filter((l) => l.isOpen).map((l) => l.peer);
  }

  /** Peers with an authenticated connection to us, i.e. whose traffic we accept (diagnostics). */
  acceptedPeers(): NodeId[] {
    const peers: NodeId[] = [];
    for (const c of this.inbound) if (c.peer !== undefined) peers.push(c.peer);
    return peers;
  }

  /** Stops, closes every socket and waits for them to be closed. */
  async close(): Promise<void> {
    this.stop();
    this.closed = true;
    const inboundClosed = [...this.inbound].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === c.ws.CLOSED) return resolve();
          const t = setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 3_000);
          t.unref();
          c.ws.once('close', () => {
            clearTimeout(t);
            resolve();
          });
        }),
    );
    await Promise.all([...this.closing, ...inboundClosed]);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  // ---- delivery -------------------------------------------------------------------------------

  private track(p: Promise<void>): void {
    this.closing.add(p);
    void p.then(() => this.closing.delete(p));
  }

  private reportUnreachable(peer: NodeId): void {
    if (this.unreachablePending.has(peer)) return;
    this.unreachablePending.add(peer);
    // Deferred: the report comes from inside send(), i.e. inside the host's ready handling.
    queueMicrotask(() => {
      if (!this.unreachablePending.delete(peer)) return;
      this.handler?.onUnreachable(peer);
    });
  }

  private deliverLocal(m: Message): void {
    this.local.push(m);
    if (this.localScheduled) return;
    this.localScheduled = true;
    setImmediate(() => {
      this.localScheduled = false;
      const batch = this.local;
      this.local = [];
      for (const msg of batch) {
        const h = this.handler;
        if (h === undefined) return;
        this.handOver(h, msg);
      }
    });
  }

  private deliver(peer: NodeId, messages: readonly Message[]): void {
    const faults = this.env.faults;
    for (const m of messages) {
      const h = this.handler;
      if (h === undefined) return;
      if (faults !== undefined) {
        const d = faults.decide('receive', peer);
        if (!d.deliver) {
          this.metrics.dropped++;
          continue;
        }
        if (d.delayMs > 0) {
          const t = setTimeout(() => {
            const later = this.handler;
            if (later !== undefined) this.handOver(later, m);
          }, d.delayMs);
          t.unref();
          continue;
        }
      }
      this.handOver(h, m);
    }
  }

  /** Hands one message to the node and counts what it made of it (the node logs refusals). */
  private handOver(h: TransportHandler, m: Message): void {
    if (h.onMessage(m)) this.metrics.received++;
    else this.metrics.rejectedMessages++;
  }

  /** Fault-layer delays are not applied to snapshots: the stream's own timeout covers them. */
  private deliverSnapshot(peer: NodeId, message: SnapshotRequest, data: Uint8Array): boolean {
    const h = this.handler;
    if (h === undefined) return false;
    const d = this.env.faults?.decide('receive', peer);
    if (d !== undefined && !d.deliver) return false;
    const taken = h.onSnapshot(message, data);
    if (taken) this.metrics.snapshotsReceived++;
    else this.metrics.rejectedMessages++;
    return taken;
  }
}
