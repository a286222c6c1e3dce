/**
 * Peer links of a node ({@link PeerTransport}): WebSocket links with authenticated handshakes,
 * strict frame decoding and bounded buffers, an in-memory network for tests and the simulator,
 * and a fault layer for chaos runs. See docs/design.md#peer-protocol.
 */
export type { PeerTransport, TransportHandler } from './peer-transport.js';
export {
  WsPeerTransport,
  DEFAULT_MAX_PAYLOAD,
  type PeerIdentities,
  type TransportMetrics,
  type WsTransportOptions,
} from './ws-transport.js';
export { linkTimings, DEFAULT_ELECTION_TIMEOUT_MS, type LinkTimings } from './link-liveness.js';
export { MemoryNetwork, MemoryTransport, type MemoryNetworkPolicy, type Packet } from './memory-transport.js';
export { FaultLayer, type FaultSettings } from './fault-layer.js';
export { closeSocket, rawToBuffer } from './ws-common.js';
export { certifiedNodeIds, NODE_ID_URI, type PeerTls } from './peer-tls.js';
