/**
 * How a node's host talks to its peers (docs/design.md#peer-protocol). Implementations: the
 * in-memory network (tests, simulator) and WebSocket links. Both must pass
 * test/contract/transport.contract.ts.
 *
 * Delivery is best effort: messages may be dropped, delayed, duplicated or reordered, and Raft
 * copes by retransmitting. A transport must never block or buffer without bound.
 */
import { MAX_MEMBERS, type Message, type NodeId, type SnapshotRequest } from '../raft/index.js';

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
  /**
   * Replaces the set of peers: id → address (for WebSocket links, the `host:port` of its HTTP
   * server). The node calls it whenever the configuration in force changes
   * (docs/design.md#membership), before or after `start`.
   *
   * - Throws a RangeError, changing nothing, when the set includes this node, holds an id that
   *   is not a positive integer or an address the transport cannot use, or has more than
   *   {@link MAX_MEMBERS} peers. The same set as now (equal ids and addresses) is a no-op: no
   *   link is reconnected.
   * - A peer new to the set gets a link exactly as a peer configured at construction does
   *   (dial with backoff, handshake, bounded queue), at once when the transport is started.
   * - A peer no longer in the set: its queued messages are dropped, its link is closed and not
   *   redialled, a snapshot stream to it fails (`done(false)`, once), and its traffic to us is
   *   refused from now on (its open inbound connection is closed with 4004 "wrong addressee or
   *   unknown sender", and so is every later handshake from it).
   * - A peer whose address changed: its link is closed and redials the new address; its
   *   traffic to us is unaffected.
   * - From then on, `send` to a node outside the set drops the message and counts it; it never
   *   throws and does not report the node unreachable (the core stops sending to non-members
   *   on its own, and a report per dropped message could feed a loop).
   */
  setPeers(peers: ReadonlyMap<NodeId, string>): void;
  /** Stops sending and delivering. */
  stop(): void;
}

/**
 * Checks a peer set as {@link PeerTransport.setPeers} states; `owner` names the transport in
 * the error. Addresses are the caller's to check: what makes one usable depends on the link.
 */
export function checkPeerSet(owner: string, self: NodeId, peers: ReadonlyMap<NodeId, string>): void {
  if (peers.size > MAX_MEMBERS)
    throw new RangeError(`${owner}: at most ${MAX_MEMBERS} peers, got ${peers.size}; a configuration is never larger`);
  for (const peer of peers.keys()) {
    if (peer === self) throw new RangeError(`${owner}: peers must not include this node (${peer}); list only the other members`);
    if (!Number.isSafeInteger(peer) || peer <= 0) throw new RangeError(`${owner}: peer id ${peer} is not a positive integer`);
  }
}

/** Whether two peer sets hold the same ids with the same addresses. */
export function samePeerSet(a: ReadonlyMap<NodeId, string>, b: ReadonlyMap<NodeId, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [peer, address] of a) if (b.get(peer) !== address) return false;
  return true;
}
