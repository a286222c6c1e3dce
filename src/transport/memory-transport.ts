/**
 * An in-memory network of {@link PeerTransport}s. The network decides what happens to each
 * message through a {@link MemoryNetworkPolicy}: deliver now (the default), or hand it to a
 * scheduler that may delay, drop, duplicate or reorder it (the simulator supplies one).
 *
 * An endpoint reaches every endpoint of its network until it is given a peer set
 * ({@link MemoryTransport.setPeers}): tests and the simulator wire whole networks. From then on
 * it exchanges traffic only with the nodes in its set, checked both when a packet is sent and
 * when the network hands it over, so that a packet the policy still holds when its peer is
 * removed is dropped as a closed link would drop it.
 */
import type { Message, NodeId, SnapshotRequest } from '../raft/index.js';
import { checkPeerSet, type PeerTransport, type TransportHandler } from './peer-transport.js';

/** A unit of traffic in flight on the memory network. */
export type Packet =
  | { readonly kind: 'message'; readonly message: Message }
  | { readonly kind: 'snapshot'; readonly message: SnapshotRequest; readonly data: Uint8Array; readonly done: (ok: boolean) => void };

/**
 * Routes packets. `route` is called for every packet sent; it must eventually call
 * `network.deliver(packet)` zero or more times (drop / duplicate), or fail a snapshot's `done`.
 */
export interface MemoryNetworkPolicy {
  route(packet: Packet, network: MemoryNetwork): void;
}

const IMMEDIATE: MemoryNetworkPolicy = {
  route(packet, network) {
    network.deliver(packet);
  },
};

export class MemoryNetwork {
  private readonly endpoints = new Map<NodeId, MemoryTransport>();

  constructor(private policy: MemoryNetworkPolicy = IMMEDIATE) {}

  setPolicy(policy: MemoryNetworkPolicy): void {
    this.policy = policy;
  }

  /** The transport of node `id` (created on first use). */
  endpoint(id: NodeId): MemoryTransport {
    let t = this.endpoints.get(id);
    if (t === undefined) {
      t = new MemoryTransport(id, this);
      this.endpoints.set(id, t);
    }
    return t;
  }

  /** Called by transports. */
  submit(packet: Packet): void {
    this.policy.route(packet, this);
  }

  /**
   * Hands a packet to its destination now. A stopped or unknown destination drops it, and so
   * does a sender or destination whose peer set leaves the other out (a snapshot then reports
   * failure). Returns whether it was delivered.
   */
  deliver(packet: Packet): boolean {
    const { to, from } = packet.message;
    const dest = this.endpoints.get(to);
    const handler = dest?.handler;
    const sender = this.endpoints.get(from);
    // The sender's side first: a packet to a peer it removed went down with that link.
    const counted = packet.kind === 'message' ? 1 : 0;
    let refused = false;
    if (sender !== undefined && !sender.reaches(to)) {
      sender.dropped += counted;
      refused = true;
    } else if (dest !== undefined && !dest.reaches(from)) {
      dest.dropped += counted;
      refused = true;
    }
    if (handler === undefined || refused) {
      if (packet.kind === 'snapshot') packet.done(false);
      return false;
    }
    if (packet.kind === 'message') handler.onMessage(packet.message);
    else packet.done(handler.onSnapshot(packet.message, packet.data));
    return true;
  }
}

export class MemoryTransport implements PeerTransport {
  /** Set while started. */
  handler: TransportHandler | undefined;
  /**
   * Messages (not snapshots: those report failure to their sender) dropped because the other
   * node is not in this endpoint's peer set: sent to it, still in flight to it when it was
   * removed, or arriving from it. Monotonic.
   */
  dropped = 0;
  /** `undefined`: every endpoint of the network (see the module comment). */
  private peers: ReadonlyMap<NodeId, string> | undefined;

  constructor(
    readonly id: NodeId,
    private readonly network: MemoryNetwork,
  ) {}

  start(handler: TransportHandler): void {
    this.handler = handler;
  }

  /**
   * As {@link PeerTransport.setPeers} states; addresses are kept but mean nothing here, so a
   * changed address changes nothing observable. The set outlives `stop`.
   */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    checkPeerSet('MemoryTransport', this.id, peers);
    this.peers = new Map(peers);
  }

  /** Whether this endpoint exchanges traffic with `node` (itself included). */
  reaches(node: NodeId): boolean {
    return node === this.id || this.peers === undefined || this.peers.has(node);
  }

  send(messages: readonly Message[]): void {
    if (this.handler === undefined) return;
    for (const message of messages) {
      // Dropped without an unreachable report, as the WebSocket transport does.
      if (this.reaches(message.to)) this.network.submit({ kind: 'message', message });
      else this.dropped++;
    }
  }

  sendSnapshot(message: SnapshotRequest, data: Uint8Array, done: (ok: boolean) => void): void {
    if (this.handler === undefined || !this.reaches(message.to)) {
      done(false);
      return;
    }
    this.network.submit({ kind: 'snapshot', message, data, done });
  }

  stop(): void {
    this.handler = undefined;
  }
}
