/**
 * The usual frame of an SDK integration test: a fresh in-process 3-node cluster per test
 * (client-cluster.ts), SDK clients connected to it, and both closed after the test.
 */
import { connect, type ConnectOptions, type RaftlockClient } from '../../../src/client/index.js';
import { startClientCluster, type ClientCluster } from './client-cluster.js';
import { endpointsOf } from './sdk-cluster.js';

/** What a test file gets from {@link sdkClients}. */
export interface SdkClients {
  /** Starts this test's cluster (3 nodes, node 1 elected). */
  readonly setup: () => Promise<ClientCluster>;
  /**
   * Connects a client to every node of `c` (10 s session TTL, 30 s call deadline unless
   * `extra` says otherwise); it is closed by {@link teardown}.
   */
  readonly client: (c: ClientCluster, extra?: Partial<ConnectOptions>) => Promise<RaftlockClient>;
  /** Closes every client (each within `closeTimeoutMs` if given), then stops the cluster. */
  readonly teardown: (closeTimeoutMs?: number) => Promise<void>;
}

/** One per test file; call its `teardown` in `afterEach`. */
export function sdkClients(): SdkClients {
  let cluster: ClientCluster | undefined;
  const clients: RaftlockClient[] = [];
  return {
    async setup() {
      cluster = await startClientCluster(3);
      return cluster;
    },
    async client(c, extra = {}) {
      const cl = await connect({ endpoints: endpointsOf(c), sessionTtlMs: 10_000, timeoutMs: 30_000, ...extra });
      clients.push(cl);
      return cl;
    },
    async teardown(closeTimeoutMs) {
      for (const cl of clients.splice(0)) await cl.close(closeTimeoutMs !== undefined ? { timeoutMs: closeTimeoutMs } : {});
      await cluster?.stop();
      cluster = undefined;
    },
  };
}
