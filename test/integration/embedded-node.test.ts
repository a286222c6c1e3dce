/**
 * `startNode` embeds a real node (LevelDB, WebSocket, HTTP) in the calling process
 * (docs/operations.md#raftlock-start); the SDK talks to it like to any cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { hashToken, silentLogger, startNode, validateConfig } from '../../src/server/index.js';
import { encodeEntry } from '../../src/state-machine/index.js';
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

  it('serves no raw-propose route: a forged tick cannot reach the log; the unsafe switch is loopback only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-embedded-'));
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port ?? 0}`;
    const config = validateConfig({ clusterId: 'embedded', nodes: [{ id: 1, address }], dataDir: dir, tickMs: 20 }, { baseDir: dir });
    try {
      // The switch is refused, before anything binds, when the node would listen beyond
      // loopback (192.0.2.1 is a documentation address no machine has: it could not bind anyway).
      await expect(startNode({ config, id: 1, listen: '192.0.2.1:7999', unsafeRawPropose: true, logger: silentLogger })).rejects.toThrow(
        /--unsafe-raw-propose .* refused on 192\.0\.2\.1, a non-loopback address/,
      );
      const node = await startNode({ config, id: 1, logger: silentLogger });
      try {
        await waitFor('a leader', () => (node.status().role === 'leader' ? true : undefined));
        const client = await connect({ endpoints: [address], sessionTtlMs: 5000 });
        try {
          const lock = await client.lock('victim');
          const before = node.status().lastIndex;
          // A tick stamped far in the future would expire every session and hand the lock on.
          const forged = encodeEntry(2 ** 50, { type: 'tick' });
          const res = await fetch(`http://${address}/admin/propose`, { method: 'POST', body: forged });
          expect(res.status).toBe(404);
          expect(node.status().lastIndex).toBe(before);
          expect(lock.signal.aborted).toBe(false);
          expect((await client.lockInfo('victim')).holder?.fencingToken).toBe(lock.fencingToken);
          await lock.release();
        } finally {
          await client.close();
        }
      } finally {
        await node.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('admin routes need a token of role admin when tokens are configured (compared in constant time)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-embedded-'));
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port ?? 0}`;
    const token = 'admin-token-0123456789';
    const config = validateConfig(
      {
        clusterId: 'embedded',
        nodes: [{ id: 1, address }],
        dataDir: dir,
        tickMs: 20,
        clientTokens: [
          { name: 'ops', role: 'admin', hash: hashToken(token) },
          { name: 'app', role: 'write', hash: hashToken(`${token}-app`) },
        ],
      },
      { baseDir: dir },
    );
    const node = await startNode({ config, id: 1, logger: silentLogger });
    try {
      await waitFor('a leader', () => (node.status().role === 'leader' ? true : undefined));
      const snapshot = (authorization?: string): Promise<Response> =>
        fetch(`http://${address}/admin/snapshot`, {
          method: 'POST',
          ...(authorization !== undefined ? { headers: { authorization } } : {}),
        });
      expect((await snapshot()).status).toBe(401);
      expect((await snapshot(`Bearer ${token.slice(0, -1)}`)).status).toBe(401);
      expect((await snapshot(`Bearer ${token}x`)).status).toBe(401);
      expect((await snapshot(token)).status).toBe(401);
      const appRefused = await snapshot(`Bearer ${token}-app`);
      expect(appRefused.status).toBe(403);
      expect(((await appRefused.json()) as { error: { message: string } }).error.message).toContain('needs role admin');
      expect((await snapshot(`Bearer ${token}`)).status).toBe(202);
    } finally {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a node beyond loopback refuses to start without a peer secret, unless --insecure (logged)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-embedded-'));
    // 192.0.2.1 is a documentation address no machine has: nothing can bind there, so nothing
    // listens beyond loopback whatever this test finds.
    const exposed = '192.0.2.1:7999';
    const config = validateConfig(
      { clusterId: 'embedded', nodes: [{ id: 1, address: exposed }], dataDir: dir, tickMs: 20 },
      { baseDir: dir },
    );
    try {
      await expect(startNode({ config, id: 1, logger: silentLogger })).rejects.toThrow(/beyond this machine, with no peer secret/);
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
      // With --insecure the check lets it through to binding, which fails here for want of the address.
      await expect(startNode({ config, id: 1, insecure: true, logger })).rejects.toThrow(/EADDRNOTAVAIL/);
      expect(warnings.some((w) => w.startsWith('insecure: no peer secret'))).toBe(true);
      const secured = validateConfig(
        { clusterId: 'embedded', nodes: [{ id: 1, address: exposed }], dataDir: dir, tickMs: 20, secret: 'a-peer-secret-0123456' },
        { baseDir: dir },
      );
      await expect(startNode({ config: secured, id: 1, logger: silentLogger })).rejects.toThrow(/EADDRNOTAVAIL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
