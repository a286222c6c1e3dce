/**
 * `npm run bench -- [--target raftlock|etcd|both] [--workload counter-hot,counter-distinct,
 * lock-hot,lock-distinct,get] [--concurrency 1,16,64] [--duration 10s] [--json]`
 * (docs/operations.md#benchmarks), and `npm run bench -- --scale`, also `npm run bench:scale`
 * (1M counters, 100k sessions: memory, snapshot, restart; bench/scale.ts), and
 * `npm run bench -- --restart` (restart to serving with a 100,000-entry log; bench/restart.ts).
 *
 * Starts its own clusters (raftlock: 3 nodes from dist/, etcd: 3 members of Debian's etcd 3.4)
 * on free loopback ports with data in temporary directories, runs every workload at every
 * concurrency (interleaving the targets with `both`, and printing the ratio raftlock/etcd per
 * row), checks each target's state afterwards, and stops the servers by PID. Progress goes to
 * stderr. Exit 0 when every correctness check passed, 1 when one failed, 2 on bad usage or a
 * cluster that would not start. Measured, never asserted in tests.
 */
import { loadLine, machineLines, packageVersion } from './bench/environment.js';
import { EtcdCluster, ETCD_INSTALL_HINT, findEtcd } from './bench/etcd-cluster.js';
import { EtcdTarget, loadEtcd3 } from './bench/etcd-workloads.js';
import { runLoad } from './bench/load-loop.js';
import { parseOptions, type BenchOptions } from './bench/options.js';
import { ServerProcess } from './lib/processes.js';
import { ensureBuilt } from './lib/build.js';
import { RaftlockTarget } from './bench/raftlock-workloads.js';
import { jsonRow, ratioLine, tableHeader, tableRow, targetLines, type Row } from './bench/report.js';
import { runScale } from './bench/scale.js';
import { runRestart } from './bench/restart.js';
import type { Target, TargetName } from './bench/workload.js';

const GRACE_MS = 30_000;

const progress = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

async function startTargets(o: BenchOptions, windowEnd: { t: number }): Promise<Target[]> {
  const targets: Target[] = [];
  if (o.targets.includes('raftlock')) {
    if (o.runtime === 'dist' && o.build) ensureBuilt(progress);
    progress('starting a 3-node raftlock cluster...');
    targets.push(
      await RaftlockTarget.start({
        runtime: o.runtime,
        ...(o.cpuProfDir !== undefined ? { cpuProfDir: o.cpuProfDir } : {}),
        ...(o.snapshotEvery !== undefined ? { snapshotEvery: o.snapshotEvery } : {}),
      }),
    );
  }
  if (o.targets.includes('raftlock-tls')) {
    progress('starting a 3-node raftlock cluster with TLS...');
    targets.push(
      await RaftlockTarget.start({
        runtime: o.runtime,
        tls: true,
        ...(o.snapshotEvery !== undefined ? { snapshotEvery: o.snapshotEvery } : {}),
      }),
    );
  }
  if (o.targets.includes('etcd')) {
    const etcd = findEtcd();
    const mod = etcd === undefined ? undefined : await loadEtcd3();
    if (etcd === undefined) {
      process.stderr.write(`${ETCD_INSTALL_HINT}\n`);
    } else if (typeof mod === 'string' || mod === undefined) {
      process.stderr.write(`${String(mod)}; the etcd target is skipped.\n`);
    } else {
      progress(`starting a 3-member etcd ${etcd.version} cluster...`);
      const cluster = await EtcdCluster.start(etcd, progress);
      targets.push(await EtcdTarget.start(cluster, mod, packageVersion('etcd3'), () => windowEnd.t + 5_000));
    }
  }
  return targets;
}

async function main(): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (e.code === undefined || !e.code.startsWith('commander.')) process.stderr.write(`bench: ${e.message ?? String(err)}\n`);
    return 2;
  }
  if (o.restart !== undefined) {
    return runRestart({
      entries: o.restart.entries,
      build: o.build,
      json: o.json,
      log: progress,
      ...(o.snapshotEvery !== undefined ? { snapshotEvery: o.snapshotEvery } : {}),
    });
  }
  if (o.scale !== undefined) {
    return runScale({
      ...o.scale,
      runtime: o.runtime,
      build: o.build,
      json: o.json,
      log: progress,
      ...(o.snapshotEvery !== undefined ? { snapshotEvery: o.snapshotEvery } : {}),
    });
  }

  const out = (line: string): void => {
    (o.json ? process.stderr : process.stdout).write(`${line}\n`);
  };
  // Every row ends within warm-up + window + grace; setup and checks get a minute each.
  const rowsPlanned = o.workloads.length * o.concurrency.length * o.targets.length;
  const budgetMs = rowsPlanned * (o.warmupMs + o.durationMs + GRACE_MS + 60_000) + 180_000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: watchdog: still running after ${Math.round(budgetMs / 1000)} s; stopping the servers and exiting\n`);
    ServerProcess.killAll();
    process.exit(3);
  }, budgetMs);
  watchdog.unref();

  const windowEnd = { t: Number.POSITIVE_INFINITY };
  let targets: Target[];
  try {
    targets = await startTargets(o, windowEnd);
  } catch (err) {
    process.stderr.write(`bench: a cluster did not start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (targets.length === 0) {
    process.stderr.write('bench: nothing to measure\n');
    return 2;
  }
  const stopAll = async (): Promise<void> => {
    await Promise.all(targets.map((t) => t.stop().catch((err: unknown) => progress(`stopping ${t.name}: ${String(err)}`))));
  };
  process.once('SIGINT', () => {
    progress('interrupted: stopping the servers');
    void stopAll().finally(() => process.exit(130));
  });

  out('raftlock benchmark: closed loop, one client process, all on loopback on this machine');
  for (const l of machineLines()) out(l);
  for (const t of targets) for (const l of t.describe()) out(l);
  out(
    `rows: ${o.workloads.join(', ')} at concurrency ${o.concurrency.join(', ')}; ${o.warmupMs} ms warm-up + ${o.durationMs} ms measured per row; at most ${o.maxOps} ops per row`,
  );
  out(
    'columns: ops/s and latency over the measured window; errors = failed ops (whole row); retry/op = CAS conflicts or busy try-locks per op;',
  );
  out('         srv/cli cpu = cores used by the servers / this client; other = cores used by everything else on the machine (noise)');
  out('');
  out(tableHeader());

  const rows: Row[] = [];
  const broken = new Set<TargetName>();
  let failed = false;
  for (const workload of o.workloads) {
    for (const concurrency of o.concurrency) {
      const pair: Row[] = [];
      for (const target of targets) {
        if (broken.has(target.name)) continue;
        progress(`${target.name} ${workload} c=${concurrency}...`);
        let row: Row;
        try {
          const run = await target.prepare(workload, concurrency);
          windowEnd.t = performance.now() + o.warmupMs + o.durationMs;
          const load = await runLoad((w) => run.op(w), {
            concurrency,
            warmupMs: o.warmupMs,
            durationMs: o.durationMs,
            maxOps: o.maxOps,
            graceMs: GRACE_MS,
            serverPids: target.serverPids(),
            progress: (done, ms) => {
              if (ms > 2_000 && Math.floor(ms / 1000) % 5 === 0)
                progress(`  ${target.name} ${workload} c=${concurrency}: ${done} ops after ${Math.round(ms / 1000)} s`);
            },
          });
          const notes = (await run.notes?.()) ?? '';
          if (notes !== '') progress(`  ${notes}`);
          const check = await run.verify();
          row = { target: target.name, workload, concurrency, load, retries: run.retries(), check };
          await run.close();
        } catch (err) {
          const why = target.problem() ?? (err instanceof Error ? err.message : String(err));
          progress(`${target.name} ${workload} c=${concurrency} could not run: ${why}`);
          failed = true;
          if (target.problem() !== undefined) broken.add(target.name);
          continue;
        }
        rows.push(row);
        pair.push(row);
        if (o.json) process.stdout.write(`${jsonRow(row)}\n`);
        out(tableRow(row));
        if (!row.check.ok) failed = true;
        if (!row.check.ok || row.load.errors > 0) {
          progress(
            `  check ${row.check.ok ? 'ok' : 'FAILED'}: ${row.check.detail}${row.load.firstError !== undefined ? `; first error: ${row.load.firstError}` : ''}`,
          );
        } else {
          progress(`  check ok: ${row.check.detail}`);
        }
      }
      const raft = pair.find((r) => r.target === 'raftlock');
      const etcd = pair.find((r) => r.target === 'etcd');
      const tls = pair.find((r) => r.target === 'raftlock-tls');
      if (raft !== undefined && tls !== undefined) out(ratioLine(tls, raft));
      if (raft !== undefined && etcd !== undefined) out(ratioLine(raft, etcd));
    }
  }

  out('');
  for (const l of targetLines(rows)) out(l);
  const checksFailed = rows.filter((r) => !r.check.ok);
  out(
    `correctness: ${rows.length - checksFailed.length}/${rows.length} rows passed their check${checksFailed.length > 0 ? `; FAILED: ${checksFailed.map((r) => `${r.target} ${r.workload} c=${r.concurrency} (${r.check.detail})`).join('; ')}` : ''}`,
  );
  out(`after: ${loadLine()}`);
  await stopAll();
  clearTimeout(watchdog);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    ServerProcess.killAll();
    process.exit(2);
  },
);
