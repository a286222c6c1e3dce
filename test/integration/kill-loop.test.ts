/**
 * Durability under repeated crashes (docs/testing.md#integration): a client increments a counter
 * through /client while nodes of a real 3-node cluster are killed with SIGKILL and restarted,
 * leader and followers alike, KILL_CYCLES times (default 100). Every increment retries its own
 * (session, seq) until acknowledged, so the final value must equal the number of acknowledged
 * increments: none lost, none doubled; and every restart must come back.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/raft/index.js';
import { CounterWriter } from './support/counter-writer.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';

const CYCLES = Number(process.env.KILL_CYCLES ?? 100);
const SEED = Number(process.env.KILL_SEED ?? Date.now() % 1_000_000);

describe(`kill -9 loop (KILL_SEED=${SEED})`, () => {
  it(`${CYCLES} SIGKILL/restart cycles under a writing client: 0 increments lost or doubled`, async () => {
    const rnd = new SeededRandom(SEED);
    const cluster = await ProcessCluster.create({ nodes: 3, tickMs: 25, electionTicks: 10 });
    const writer = new CounterWriter(cluster, 'kills');
    let acknowledged = 0;
    let writing = true;
    let writeError: unknown;
    try {
      cluster.startAll();
      await cluster.waitForLeader(cluster.ids, 30_000);
      const loop = (async () => {
        while (writing) {
          await writer.add(1, 60_000);
          acknowledged++;
        }
      })().catch((err: unknown) => {
        writeError = err;
      });
      let leaderKills = 0;
      let restarts = 0;
      for (let cycle = 0; cycle < CYCLES && writeError === undefined; cycle++) {
        const sts = await cluster.statuses();
        const leader = sts.find((s) => s.role === 'leader')?.id;
        // Every third cycle the leader, otherwise a random node.
        const victim = cycle % 3 === 0 && leader !== undefined ? leader : (cluster.ids[rnd.nextInt(cluster.ids.length)] ?? 1);
        if (victim === leader) leaderKills++;
        await cluster.kill(victim, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 20 + rnd.nextInt(200)));
        cluster.start(victim);
        await waitFor(`node ${victim} back after kill ${cycle + 1}`, () => cluster.status(victim), 30_000);
        restarts++;
        // Let the cluster settle a little so the writer makes progress between kills.
        const before = acknowledged;
        await waitFor('progress between kills', () => (acknowledged > before ? true : undefined), 30_000);
      }
      writing = false;
      await loop;
      expect(writeError).toBeUndefined();
      expect(restarts).toBe(CYCLES);
      await cluster.waitForLeader(cluster.ids, 30_000);
      const value = await writer.read();
      console.log(
        `kill loop (seed ${SEED}): ${CYCLES} kills (${leaderKills} of the leader), ${restarts} restarts, ${acknowledged} acknowledged increments, counter ${value}`,
      );
      expect(value).toBe(acknowledged);
      // Every replica converges to the same state.
      await waitFor(
        'replicas converged',
        async () => {
          const sts = await cluster.statuses();
          return sts.length === 3 && new Set(sts.map((s) => s.digest)).size === 1 && new Set(sts.map((s) => s.applied)).size === 1
            ? true
            : undefined;
        },
        30_000,
      );
    } finally {
      writing = false;
      writer.close();
      await cluster.destroy();
    }
  }, 900_000);
});
