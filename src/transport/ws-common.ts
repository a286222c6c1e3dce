/**
 * What the outbound links (ws-link.ts), the inbound connections (ws-inbound.ts) and the
 * transport that owns them (ws-transport.ts) share: settings, counters, logging, and helpers.
 */
import type WebSocket from 'ws';
import type { Logger, Message, NodeId, SnapshotRequest } from '../raft/index.js';
import type { FaultLayer } from './fault-layer.js';
import type { LinkTimings } from './link-liveness.js';
import type { PeerTls } from './peer-tls.js';

/**
 * Transport counters (monotonic). A type alias, not an interface, so it can be read as a
 * `Record<string, number>` by the metrics exporter.
 */
export type TransportMetrics = {
  /** Messages handed to a socket. */
  sent: number;
  /** Messages delivered to the handler. */
  received: number;
  /** Messages dropped: on send (link down, buffer full, over the frame limit, fault layer) or by the receive-side fault layer. */
  dropped: number;
  /**
   * Messages received but refused: wrong `to`, `from` not the authenticated peer, or refused by
   * the node as no correct member would send them in its state (docs/design.md#security).
   */
  rejectedMessages: number;
  /** Frames that did not decode (each closes its connection). */
  malformedFrames: number;
  bytesSent: number;
  bytesReceived: number;
  /** Redials after a link went down or a dial failed. */
  reconnects: number;
  /** Handshakes this node refused (either role). */
  rejectedHandshakes: number;
  snapshotsSent: number;
  snapshotsReceived: number;
  snapshotsFailed: number;
};

/** All counters at zero. */
export function newTransportMetrics(): TransportMetrics {
  return {
    sent: 0,
    received: 0,
    dropped: 0,
    rejectedMessages: 0,
    malformedFrames: 0,
    bytesSent: 0,
    bytesReceived: 0,
    reconnects: 0,
    rejectedHandshakes: 0,
    snapshotsSent: 0,
    snapshotsReceived: 0,
    snapshotsFailed: 0,
  };
}

/**
 * The data identities of a node and its peers (docs/design.md#data-identity): each end of a
 * peer connection names the data directory it runs on, and each checks the other's once the
 * other is authenticated, so a node whose directory was wiped cannot come back under its old
 * id and vote with a forgotten log.
 */
export interface PeerIdentities {
  /** This node's data identity, sent in every handshake. */
  readonly own: string;
  /**
   * Resolves `null` when the authenticated `peer` may run on the data directory named `dataId`,
   * else the reason it may not (the connection is then refused with it). Never rejects.
   */
  check(peer: NodeId, dataId: string): Promise<string | null>;
}

/** Resolved settings and the transport's callbacks, shared by all links of one transport. */
export interface LinkEnv {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly secret: string | undefined;
  readonly identities: PeerIdentities;
  /** Where this node is reached, sent in every hello ('' when not known). */
  readonly ownAddress: () => string;
  /**
   * Whether `peer`, not in {@link peers}, may call in from `address` (a member this node does
   * not know of yet): its address is usable and the table of callers has room.
   */
  mayCall(peer: NodeId, address: string): boolean;
  /** The peers in force: replaced (never mutated) when the transport's set changes. */
  peers: ReadonlyMap<NodeId, string>;
  readonly maxPayload: number;
  readonly maxBufferedBytes: number;
  readonly maxSnapshotBytes: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotTimeoutMs: number;
  /** Liveness, dial timeouts and redial backoff (link-liveness.ts). */
  readonly timings: LinkTimings;
  readonly random: () => number;
  readonly logger: Logger;
  readonly metrics: TransportMetrics;
  readonly faults: FaultLayer | undefined;
  /** Mutual TLS between peers (peer-tls.ts); undefined: plain `ws://`. */
  readonly tls: PeerTls | undefined;
  /** Tells the handler (later, never re-entrantly) that sends to `peer` are failing. */
  unreachable(peer: NodeId): void;
  /** Validated messages from the authenticated `peer`, in arrival order. */
  deliver(peer: NodeId, messages: readonly Message[]): void;
  /** A complete, verified snapshot from `peer`; returns whether the handler took it. */
  deliverSnapshot(peer: NodeId, message: SnapshotRequest, data: Uint8Array): boolean;
}

/** The bytes of a `ws` binary message, whatever form `ws` delivered them in. */
export function rawToBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Closes a socket with an application code, once, whatever its state. Close reasons are capped
 * at 123 bytes by the protocol, so they are truncated here rather than make `ws` throw.
 */
export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    if (ws.readyState === ws.CONNECTING) {
      ws.terminate();
      return;
    }
    if (ws.readyState !== ws.OPEN) return;
    ws.close(code, Buffer.from(reason).subarray(0, 120).toString());
    // A peer that never answers the close frame must not hold the socket open forever.
    const kill = setTimeout(() => ws.terminate(), 2_000);
    kill.unref();
    ws.once('close', () => clearTimeout(kill));
  } catch {
    ws.terminate();
  }
}

/**
 * Logs repeated identical warnings once: a misconfigured peer retries every couple of seconds
 * and would otherwise flood the log with the same refusal. A different message for the same
 * key (or {@link reset}) logs again.
 */
export class WarnOnce {
  private readonly last = new Map<string, string>();
  constructor(private readonly logger: Logger) {}
  warn(key: string, message: string, fields: Readonly<Record<string, unknown>>): void {
    const sig = `${message}|${JSON.stringify(fields)}`;
    if (this.last.get(key) === sig) this.logger.debug(message, fields);
    else {
      this.last.set(key, sig);
      this.logger.warn(message, fields);
    }
  }
  reset(key: string): void {
    this.last.delete(key);
  }
}
