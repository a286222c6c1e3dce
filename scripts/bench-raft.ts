/**
 * Raw Raft throughput of a real 3-node cluster (separate processes, LevelDB, WebSocket peers):
 * proposes raw entries through the leader at several concurrencies and prints entries/s,
 * fsyncs/s, entries per fsync (group commit) and p50/p99 commit latency. Measured, never
 * asserted.
 *
 *   npm run bench:raft -- [--seconds 5] [--concurrency 1,16,64] [--nodes 3|5] [--size 100]
 */
import { execSync } from 'node:child_process';
import { Command } from 'commander';
import { ProcessCluster } from './lib/cluster.js';

const o = new Command()
  .option('--seconds <n>', 'duration of each run', '5')
  .option('--concurrency <list>', 'concurrent proposers per run', '1,16,64')
  .option('--nodes <n>', 'cluster size', '3')
  .option('--size <bytes>', 'entry payload size', '100')
  .option('--max-ops <n>', 'upper bound of operations per run', '500000')
  .parse()
  .opts<{ seconds: string; concurrency: string; nodes: string; size: string; maxOps: string }>();

async function metric(address: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const commit = (() => {
    try {
      return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    } catch {
      return 'unknown';
    }
  })();
  const cluster = await ProcessCluster.create({
    nodes: Number(o.nodes),
    tickMs: 50,
    electionTicks: 10,
    snapshotEvery: 10_000,
    rawPropose: true,
  });
  const cleanup = (): void => void cluster.destroy();
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    cluster.startAll();
    const leader = await cluster.waitForLeader(cluster.ids, 30_000);
    const address = cluster.address(leader.id);
    const payload = 'x'.repeat(Number(o.size));
    process.stdout.write(
      `raftlock raw Raft benchmark: ${o.nodes} nodes on loopback, tick 50 ms, payload ${o.size} B, commit ${commit}, node ${process.version}\n`,
    );
    process.stdout.write('concurrency  entries/s  fsyncs/s  entries/fsync  p50 ms  p99 ms  errors\n');
    for (const c of o.concurrency.split(',').map(Number)) {
      const fsync0 = await metric(address, 'raftlock_fsync_seconds_count');
      const entries0 = await metric(address, 'raftlock_entries_persisted_total');
      const latencies: number[] = [];
      let errors = 0;
      let issued = 0;
      const maxOps = Number(o.maxOps);
      const started = performance.now();
      const until = started + Number(o.seconds) * 1000;
      await Promise.all(
        Array.from({ length: c }, async () => {
          while (performance.now() < until && issued < maxOps) {
            issued++;
            const t0 = performance.now();
            const res = await fetch(`http://${address}/admin/propose`, { method: 'POST', body: payload });
            await res.arrayBuffer();
            if (res.ok) latencies.push(performance.now() - t0);
            else errors++;
          }
        }),
      );
      const secs = (performance.now() - started) / 1000;
      const fsyncs = (await metric(address, 'raftlock_fsync_seconds_count')) - fsync0;
      const entries = (await metric(address, 'raftlock_entries_persisted_total')) - entries0;
      latencies.sort((a, b) => a - b);
      process.stdout.write(
        `${String(c).padStart(11)}  ${(latencies.length / secs).toFixed(0).padStart(9)}  ${(fsyncs / secs).toFixed(0).padStart(8)}  ${(entries / Math.max(1, fsyncs)).toFixed(2).padStart(13)}  ${percentile(latencies, 50).toFixed(2).padStart(6)}  ${percentile(latencies, 99).toFixed(2).padStart(6)}  ${errors}\n`,
      );
    }
  } finally {
    await cluster.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-raft: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
