/**
 * Command-line options of `npm run bench` (docs/operations.md#benchmarks).
 */
import { Command, Option } from 'commander';
import { parseDuration } from '../../src/cli/duration.js';
import type { Runtime } from '../lib/cluster.js';
import { WORKLOADS, type TargetName, type WorkloadName } from './workload.js';

export interface BenchOptions {
  readonly targets: readonly TargetName[];
  readonly workloads: readonly WorkloadName[];
  readonly concurrency: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly maxOps: number;
  readonly json: boolean;
  readonly runtime: Runtime;
  readonly build: boolean;
  readonly cpuProfDir: string | undefined;
  /** `snapshotEvery` of the raftlock cluster (undefined: the config default, 10,000). */
  readonly snapshotEvery: number | undefined;
  readonly scale: { readonly counters: number; readonly sessions: number } | undefined;
  /** `--restart`: the restart benchmark with this many log entries behind the restarts. */
  readonly restart: { readonly entries: number } | undefined;
}

function list<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const i of items)
    if (!allowed.includes(i as T)) throw new Error(`${flag}: unknown ${JSON.stringify(i)} (known: ${allowed.join(', ')})`);
  if (items.length === 0) throw new Error(`${flag}: give at least one of ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

function count(value: string, flag: string, min: number, max: number): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new Error(`${flag}: expected an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return n;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const program = new Command()
    .name('npm run bench --')
    .description('throughput and latency of raftlock, side by side with etcd; never asserted in tests')
    .addOption(new Option('--target <t>', 'which system to measure').choices(['raftlock', 'etcd', 'both']).default('both'))
    .option('--workload <list>', `workloads (${WORKLOADS.join(',')})`, WORKLOADS.join(','))
    .option('--concurrency <list>', 'concurrent async workers in this one client process', '1,16,64')
    .option('--duration <d>', 'measured window per row', '10s')
    .option('--warmup <d>', 'un-measured warm-up before each window', '1s')
    .option('--max-ops <n>', 'upper bound of operations per row (warm-up included)', '2000000')
    .option(
      '--json',
      'stdout: one JSON object per row {target, workload, concurrency, opsPerSec, p50Ms, p99Ms, p999Ms, errors}; the rest goes to stderr',
    )
    .addOption(
      new Option('--runtime <r>', 'run the raftlock nodes from the built dist/ or from src/ via tsx')
        .choices(['dist', 'source'])
        .default('dist'),
    )
    .option('--no-build', 'do not rebuild dist/ even if src/ is newer')
    .option('--tls', 'also measure raftlock with TLS (certificates made at start, clients over wss://), each row next to plain raftlock')
    .option('--cpu-prof <dir>', 'write a V8 CPU profile of every raftlock node into <dir> (summarise: npm run bench:profile -- <dir>)')
    .option('--scale', 'run the scale benchmark instead: many counters and sessions in one cluster (memory, snapshot, restart)')
    .option('--scale-counters <n>', 'counters created by --scale', '1000000')
    .option('--scale-sessions <n>', 'sessions opened by --scale', '100000')
    .option('--restart', 'run the restart benchmark instead: restarts to serving with a long log behind them (bench/restart.ts)')
    .option('--restart-entries <n>', 'log entries written before --restart restarts nodes', '100000')
    .option('--snapshot-every <n>', 'snapshotEvery of the raftlock cluster (default: the config default, 10000; 0 = never)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stderr.write(s), writeErr: (s) => process.stderr.write(s) });
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    target: string;
    workload: string;
    concurrency: string;
    duration: string;
    warmup: string;
    maxOps: string;
    json?: boolean;
    runtime: Runtime;
    build: boolean;
    cpuProf?: string;
    scale?: boolean;
    scaleCounters: string;
    scaleSessions: string;
    restart?: boolean;
    restartEntries: string;
    snapshotEvery?: string;
    tls?: boolean;
  }>();
  const concurrency = [...new Set(o.concurrency.split(',').map((s) => count(s.trim(), '--concurrency', 1, 1024)))];
  const durationMs = parseDuration(o.duration, '--duration');
  if (durationMs < 500 || durationMs > 3_600_000) throw new Error('--duration must be between 500ms and 1h');
  const warmupMs = parseDuration(o.warmup, '--warmup');
  if (warmupMs > 60_000) throw new Error('--warmup must be at most 1m');
  return {
    targets: withTls(o.target === 'both' ? ['raftlock', 'etcd'] : [o.target as TargetName], o.tls === true),
    workloads: list(o.workload, WORKLOADS, '--workload'),
    concurrency,
    durationMs,
    warmupMs,
    maxOps: count(o.maxOps, '--max-ops', 1, 100_000_000),
    json: o.json === true,
    runtime: o.runtime,
    build: o.build,
    cpuProfDir: o.cpuProf,
    snapshotEvery: o.snapshotEvery !== undefined ? count(o.snapshotEvery, '--snapshot-every', 0, 100_000_000) : undefined,
    scale:
      o.scale === true
        ? {
            counters: count(o.scaleCounters, '--scale-counters', 1, 10_000_000),
            sessions: count(o.scaleSessions, '--scale-sessions', 0, 1_000_000),
          }
        : undefined,
    restart: o.restart === true ? { entries: count(o.restartEntries, '--restart-entries', 1, 10_000_000) } : undefined,
  };
}

/** With `--tls`, raftlock over TLS is measured right after plain raftlock (etcd, if asked, stays last). */
function withTls(targets: readonly TargetName[], tls: boolean): TargetName[] {
  if (!tls) return [...targets];
  if (!targets.includes('raftlock'))
    throw new Error('--tls measures raftlock with TLS next to plain raftlock: give --target raftlock or both');
  return targets.flatMap((t): TargetName[] => (t === 'raftlock' ? ['raftlock', 'raftlock-tls'] : [t]));
}
