/**
 * How a node's host talks to its peers (docs/design.md#peer-protocol). Implementations: the
 * in-memory network (tests, simulator) and WebSocket links. Both must pass
 * test/contract/transport.contract.ts.
 *
 * Delivery is best effort: messages may be dropped, delayed, duplicated or reordered, and Raft
 * copes by retransmitting. A transport must never block or buffer without bound.
 */
import type { Message, NodeId, SnapshotRequest } from '../raft/index.js';

/** What the transport calls when something arrives or a peer cannot be reached. */
export interface TransportHandler {
  /**
   * A validated message addressed to this node. Returns false when the node refused it (a
   * message no correct member sends in its state, docs/design.md#security): the transport
   * counts it as rejected.
   */
  onMessage(message: Message): boolean;
  /**
   * A complete snapshot (metadata message plus all its data) addressed to this node. Returns
   * false when the node refused it; the sender is told the snapshot failed.
   */
  onSnapshot(message: SnapshotRequest, data: Uint8Array): boolean;
  /** Sending to `peer` failed; the core should stop pipelining to it. */
  onUnreachable(peer: NodeId): void;
}

export interface PeerTransport {
  /** Starts delivering incoming traffic to `handler`. */
  start(handler: TransportHandler): void;
  /** Sends messages (each to its `to`). Never throws for an unreachable peer. */
  send(messages: readonly Message[]): void;
  /**
   * Streams a snapshot's data with its metadata message; `done(true)` once the receiver has it
   * all, `done(false)` on failure. Exactly one call of `done`, eventually.
   */
  sendSnapshot(message: SnapshotRequest, data: Uint8Array, done: (ok: boolean) => void): void;
  /** Stops sending and delivering. */
  stop(): void;
}
