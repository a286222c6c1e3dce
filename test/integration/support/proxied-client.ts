/**
 * An SDK client that reaches a {@link ProcessCluster} only through one {@link LinkProxy} per
 * node (`hold` mode), so a test can cut it off from the whole cluster (a partition around the
 * client) while its TCP connections stay open.
 *
 * Caveat: a follower answers `NOT_LEADER` with the leader's *real* address, and the SDK follows
 * that hint, bypassing the proxies. So the leader's proxy is listed first, and the helper checks
 * that the client's traffic does flow through the proxies before handing it out (retrying the
 * setup if a leader change redirected it). Once unblocked after a partition the client may well
 * end up talking to the leader directly; tests use a fresh proxied client per partition.
 */
import { connect, type ConnectOptions, type RaftlockClient } from '../../../src/client/index.js';
import { LinkProxy } from '../../../scripts/lib/link-proxy.js';
import type { ProcessCluster } from '../../../scripts/lib/cluster.js';

export interface ProxiedClient {
  readonly client: RaftlockClient;
  readonly proxies: readonly LinkProxy[];
  /** Cuts the client off from every node (bytes stop both ways; connections stay open). */
  block(): void;
  unblock(): void;
  /** Closes the client (briefly trying to end its session) and the proxies. */
  close(): Promise<void>;
}

export async function proxiedClient(cluster: ProcessCluster, opts: Omit<ConnectOptions, 'endpoints'>): Promise<ProxiedClient> {
  let lastProblem = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const leader = await cluster.waitForLeader(cluster.ids, 30_000);
    const order = [leader.id, ...cluster.ids.filter((id) => id !== leader.id)];
    const proxies = await Promise.all(order.map((id) => LinkProxy.start(cluster.address(id), 'hold')));
    const closeProxies = async (): Promise<void> => {
      for (const p of proxies) await p.close();
    };
    let client: RaftlockClient;
    try {
      // The members' own addresses would bypass the proxies: keep to the endpoints given.
      client = await connect({ ...opts, endpoints: proxies.map((p) => p.address), discoverMembers: false });
    } catch (err) {
      await closeProxies();
      throw err;
    }
    const bytes = (): number => proxies.reduce((sum, p) => sum + p.forwardedBytes, 0);
    const before = bytes();
    await client.lockInfo('proxied-client-probe');
    if (bytes() > before) {
      return {
        client,
        proxies,
        block: () => proxies.forEach((p) => p.block()),
        unblock: () => proxies.forEach((p) => p.heal()),
        close: async () => {
          for (const p of proxies) p.heal();
          await client.close({ timeoutMs: 1_000 });
          await closeProxies();
        },
      };
    }
    lastProblem = `the client's request did not go through the proxies (leader was node ${leader.id})`;
    await closeProxies();
    await client.close({ timeoutMs: 500 });
  }
  throw new Error(`could not set up a proxied client: ${lastProblem}`);
}
