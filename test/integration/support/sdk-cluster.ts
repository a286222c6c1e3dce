/**
 * Helpers for the SDK's integration tests on the in-process cluster of client-cluster.ts.
 */
import type { ClientCluster, ClusterNode } from './client-cluster.js';

/** The client addresses (`127.0.0.1:port`) of every node. */
export function endpointsOf(cluster: ClientCluster): string[] {
  return cluster.nodes.map((n) => n.address);
}

/**
 * Stops one node for good, as a crash would look to clients: its client connections drop, its
 * parked requests are answered "unavailable, outcome unknown", its Raft host stops sending and
 * applying, and its port closes. The cluster's own `stop()` later skips what is already stopped.
 */
export async function stopNode(node: ClusterNode): Promise<void> {
  node.endpoint.close();
  node.service.releaseParked('node stopped');
  node.host.stop();
  node.server.closeAllConnections();
  await new Promise<void>((resolve) => node.server.close(() => resolve()));
}
