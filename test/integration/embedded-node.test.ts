/**
 * `startNode` embeds a real node (LevelDB, WebSocket, HTTP) in the calling process
 * (docs/operations.md#raftlock-start); the SDK talks to it like to any cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { silentLogger, startNode, validateConfig } from '../../src/server/index.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';

describe('embedded node', () => {
  it('startNode runs a single-node cluster the SDK can use, and stop() shuts it down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-embedded-'));
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port ?? 0}`;
    const config = validateConfig({ clusterId: 'embedded', nodes: [{ id: 1, address }], dataDir: dir, tickMs: 20 }, { baseDir: dir });
    const node = await startNode({ config, id: 1, logger: silentLogger });
    try {
      await waitFor('a leader', () => (node.status().role === 'leader' ? true : undefined));
      const client = await connect({ endpoints: [address], sessionTtlMs: 5000 });
      try {
        const c = client.counter('embedded');
        expect(await c.add(2)).toBe(2);
        expect(await c.increment()).toBe(3);
        const lock = await client.lock('L');
        expect(lock.fencingToken).toBeGreaterThan(0);
        await lock.release();
      } finally {
        await client.close();
      }
    } finally {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(fetch(`http://${address}/status`)).rejects.toThrow();
  });
});
