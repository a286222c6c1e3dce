/**
 * An in-memory network of {@link PeerTransport}s. The network decides what happens to each
 * message through a {@link MemoryNetworkPolicy}: deliver now (the default), or hand it to a
 * scheduler that may delay, drop, duplicate or reorder it (the simulator supplies one).
 */
import type { Message, NodeId, SnapshotRequest } from '../raft/index.js';
import type { PeerTransport, TransportHandler } from './peer-transport.js';

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
   * Hands a packet to its destination now. A stopped or unknown destination drops it (a
   * snapshot then reports failure). Returns whether it was delivered.
   */
  deliver(packet: Packet): boolean {
    const to = packet.message.to;
    const dest = this.endpoints.get(to);
    const handler = dest?.handler;
    if (handler === undefined) {
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

  constructor(
    readonly id: NodeId,
    private readonly network: MemoryNetwork,
  ) {}

  start(handler: TransportHandler): void {
    this.handler = handler;
  }

  send(messages: readonly Message[]): void {
    if (this.handler === undefined) return;
    for (const message of messages) this.network.submit({ kind: 'message', message });
  }

  sendSnapshot(message: SnapshotRequest, data: Uint8Array, done: (ok: boolean) => void): void {
    if (this.handler === undefined) {
      done(false);
      return;
    }
    this.network.submit({ kind: 'snapshot', message, data, done });
  }

  stop(): void {
    this.handler = undefined;
  }
}
