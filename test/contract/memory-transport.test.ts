/** The in-memory network against the shared transport contract. */
import { MemoryNetwork } from '../../src/transport/memory-transport.js';
import type { NodeId } from '../../src/raft/index.js';
import type { PeerTransport } from '../../src/transport/peer-transport.js';
import { transportContract } from './transport.contract.js';

transportContract('MemoryTransport', {
  make(ids) {
    const network = new MemoryNetwork();
    const transports = new Map<NodeId, PeerTransport>(ids.map((id) => [id, network.endpoint(id)]));
    return Promise.resolve({ transports, close: () => Promise.resolve() });
  },
});
