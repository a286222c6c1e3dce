/**
 * WsPeerTransport against the shared transport contract, over real sockets: one HTTP server per
 * node on 127.0.0.1 with an ephemeral port, `/raft` upgrades routed to the transport.
 */
import { afterEach } from 'vitest';
import type { NodeId } from '../../src/raft/index.js';
import type { PeerTransport } from '../../src/transport/peer-transport.js';
import { makeWsCluster } from '../integration/transport/ws-harness.js';
import { transportContract } from './transport.contract.js';

// The contract closes each cluster itself; this catches the ones a failing assertion left open.
const open = new Set<() => Promise<void>>();
afterEach(async () => {
  await Promise.all([...open].map((close) => close()));
  open.clear();
});

transportContract('WsPeerTransport', {
  async make(ids) {
    const c = await makeWsCluster(ids);
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => (closed ??= c.close().then(() => void open.delete(close)));
    open.add(close);
    return { transports: new Map<NodeId, PeerTransport>(c.transports), close };
  },
});
