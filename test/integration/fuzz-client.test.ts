/**
 * Fuzzing the client endpoint of a live node process (docs/testing.md#integration): ≥ 100,000
 * random and mutated frames at `ws://node/client`. A malformed request gets a typed error and
 * the connection survives, so every frame here is parsed by the node. The node must not crash,
 * must keep serving, its replicated state must not change (no frame is a valid write: each is
 * checked locally to fail decoding or validation before it is sent), and memory stays flat.
 * Seeded: FUZZ_SEED=… replays a run (the seed is printed).
 */
import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, type ClientRequest } from '../../src/protocol/client-protocol.js';
import { TestClient, type RequestBody } from './support/client-cluster.js';
import { CounterWriter } from './support/counter-writer.js';
import { FUZZ_SEED, createFuzzer } from './support/fuzz.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';

const SEED = FUZZ_SEED;
const { rnd, randomBytes, mutate } = createFuzzer(SEED);

const SAMPLES: readonly RequestBody[] = [
  { op: 'open-session', ttlMs: 5000 },
  { op: 'counter-add', session: 1, seq: 1, name: 'fuzzed', delta: 7 },
  { op: 'acquire', session: 1, seq: 2, name: 'L', waitMs: 0 },
  { op: 'counter-cas', session: 1, seq: 3, name: 'fuzzed', expected: 0, next: 1 },
  { op: 'release', session: 1, seq: 4, name: 'L' },
  { op: 'counter-get', name: 'fuzzed' },
  { op: 'bind', session: 1, secret: '0123456789abcdef0123456789abcdef' },
];

/** A frame that the protocol refuses (checked locally): random bytes or a mutated request. */
function malformedFrame(): { frame: Buffer; skipped: number } {
  let skipped = 0;
  for (;;) {
    const sample = SAMPLES[rnd.nextInt(SAMPLES.length)] ?? SAMPLES[0];
    const f =
      rnd.nextInt(3) === 0 ? randomBytes(rnd.nextInt(200)) : mutate(encodeRequest({ ...sample, id: rnd.nextInt(1000) } as ClientRequest));
    try {
      decodeRequest(f);
      skipped++; // still a valid request: it could legitimately change state
    } catch {
      return { frame: f, skipped };
    }
  }
}

describe(`client endpoint fuzzing of a live node (FUZZ_SEED=${SEED})`, () => {
  it('≥ 100,000 malformed frames: no crash, typed errors, state unchanged, memory flat', async () => {
    const cluster = await ProcessCluster.create({ nodes: 3, tickMs: 50, electionTicks: 20 });
    const writer = new CounterWriter(cluster, 'fuzzed');
    try {
      cluster.startAll();
      await cluster.waitForLeader(cluster.ids, 30_000);
      await writer.add(5);
      // A settled baseline: every node has applied the same index (node 1 may be a follower).
      await waitFor(
        'settled cluster',
        async () => {
          const sts = await cluster.statuses();
          return sts.length === 3 && sts.every((s) => s.applied === s.commit) && new Set(sts.map((s) => s.applied)).size === 1
            ? true
            : undefined;
        },
        30_000,
      );
      const before = await waitFor('node 1 status', () => cluster.status(1));
      const FRAMES = 100_000;
      const CONNECTIONS = 10;
      let sent = 0;
      let skipped = 0;
      const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => TestClient.connect(cluster.address(1))));
      for (let k = 0; k < FRAMES; k++) {
        const c = clients[k % CONNECTIONS];
        if (c === undefined) continue;
        const m = malformedFrame();
        skipped += m.skipped;
        c.sendRaw(m.frame);
        sent++;
        // Let the node answer now and then, so the test measures handling, not buffering.
        if (k % 2000 === 1999) await Promise.all(clients.map((cl) => cl.orphansAtLeast(Math.floor((k + 1) / CONNECTIONS) - 50)));
      }
      await Promise.all(clients.map((cl) => cl.orphansAtLeast(FRAMES / CONNECTIONS)));
      const answered = clients.reduce((n, cl) => n + cl.orphanCount, 0);
      const stillOpen = clients.filter((cl) => cl.closeCode === undefined).length;
      const typed = clients.flatMap((cl) => cl.orphans).every((r) => !r.ok && typeof r.error.code === 'string');
      for (const cl of clients) cl.close();
      await new Promise((r) => setTimeout(r, 1000));
      const after = await waitFor('node 1 status after the fuzz', () => cluster.status(1));
      console.log(
        `client fuzz (seed ${SEED}): ${sent} malformed frames on ${CONNECTIONS} connections, ${answered} typed error answers, ${stillOpen} connections still open, ${skipped} well-formed mutations not sent; heap ${(before.memory.heapUsed / 1e6).toFixed(1)} → ${(after.memory.heapUsed / 1e6).toFixed(1)} MB`,
      );
      expect(sent).toBeGreaterThanOrEqual(100_000);
      expect(answered).toBeGreaterThanOrEqual(sent);
      expect(typed).toBe(true);
      expect(stillOpen).toBe(CONNECTIONS);
      expect(cluster.isRunning(1)).toBe(true);
      expect({ applied: after.applied, digest: after.digest }).toEqual({ applied: before.applied, digest: before.digest });
      expect(after.memory.heapUsed).toBeLessThan(before.memory.heapUsed + 64e6);
      expect(await writer.read()).toBe(5);
      await writer.add(1); // still serving writes
    } finally {
      writer.close();
      await cluster.destroy();
    }
  }, 180_000);
});
