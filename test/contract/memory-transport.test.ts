/**
 * The in-memory network against the shared transport contract. Packets are delivered on the
 * next event-loop turn rather than at once, so that something is in flight when a test changes
 * the peer set (the default policy delivers inside `send`, leaving nothing to drop).
 */
import type { NodeId } from '../../src/raft/index.js';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory-transport.js';
import type { PeerTransport } from '../../src/transport/peer-transport.js';
import { transportContract } from './transport.contract.js';

transportContract('MemoryTransport', {
  make(ids) {
    const network = new MemoryNetwork({ route: (packet, net) => void setImmediate(() => net.deliver(packet)) });
    const endpoints = new Map<NodeId, MemoryTransport>(ids.map((id) => [id, network.endpoint(id)]));
    const address = (id: NodeId): string => `node-${id}`;
    for (const [id, t] of endpoints) t.setPeers(new Map(ids.filter((other) => other !== id).map((other) => [other, address(other)])));
    const dropped = (id: NodeId): number => {
      const t = endpoints.get(id);
      if (t === undefined) throw new Error(`no endpoint ${id}`);
      return t.dropped;
    };
    return Promise.resolve({ transports: new Map<NodeId, PeerTransport>(endpoints), close: () => Promise.resolve(), address, dropped });
  },
});
