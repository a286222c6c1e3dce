/**
 * A node's `GET /status`, or undefined when it does not answer (down, stopped, starting):
 * for tests that poll nodes by address, wherever they were started.
 */
import type { NodeStatus } from '../../../src/protocol/index.js';

export async function statusAt(address: string): Promise<NodeStatus | undefined> {
  try {
    const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as NodeStatus) : undefined;
  } catch {
    return undefined;
  }
}
