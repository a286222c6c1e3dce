/**
 * `npm run chaos -- [--nodes 3|5] [--duration 60s] [--nemesis kill,pause,partition,clock,membership]
 * [--workload counters,locks,semaphores,rwlocks] [--clients 16] [--seed S] [--out DIR] [--no-fencing] [--network proxy|netns]
 * [--cpu-hog N]`
 * (docs/testing.md#chaos, docs/operations.md#chaos-runs).
 *
 * Progress goes to stderr; the last line on stdout is the verdict:
 * `chaos: <verdict>, <ops> ops checked, <faults> faults, <anomalies> anomalies`. Exit 0 only on
 * a pass. The records and `report.html` are in `--out`.
 */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { parseDuration } from '../src/cli/duration.js';
import { runChaos } from './chaos/run.js';
import { netnsUnavailable } from './lib/netns.js';
import { DEFAULT_NEMESES, NEMESES, type NemesisName } from './chaos/nemesis.js';
import { WORKLOADS, type Workload } from './lib/chaos/types.js';

function list<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const i of items)
    if (!allowed.includes(i as T)) throw new Error(`${flag}: unknown ${JSON.stringify(i)} (known: ${allowed.join(', ')})`);
  return [...new Set(items)] as T[];
}

const program = new Command()
  .name('npm run chaos --')
  .description('run a real cluster under faults with concurrent clients, check the history, write a report')
  .addOption(new Option('--nodes <n>', 'cluster size').choices(['3', '5']).default('3'))
  .option('--duration <d>', 'how long the workload and the nemesis run', '60s')
  .option('--nemesis <list>', `faults to inject (${NEMESES.join(',')}; "none" for none)`, DEFAULT_NEMESES.join(','))
  .option('--workload <list>', `what the clients do (${WORKLOADS.join(',')})`, 'counters,locks')
  .option('--clients <n>', 'concurrent SDK clients (spread over up to 4 client processes)', '16')
  .option('--seed <n>', 'seed of the nemesis and the workload (default: random, printed)')
  .option('--out <dir>', 'where data, logs, history.json, nemesis.json, summary.json and report.html go')
  .addOption(
    new Option(
      '--network <mode>',
      'how partitions cut links: proxy (link proxies, any user) or netns (namespaces and nftables; Linux, root)',
    )
      .choices(['proxy', 'netns'])
      .default('proxy'),
  )
  .option('--cpu-hog <n>', 'busy processes loading the machine during the run', '0')
  .option(
    '--no-fencing',
    'the resources accept any holder, semaphore holders write unfenced (negative control: must fail under client pauses)',
  )
  .addOption(
    new Option(
      '--check-removed',
      'with membership: restart removed nodes at the end and compare their state hashes too (negative control: must fail)',
    ).hideHelp(),
  )
  .addOption(
    new Option(
      '--no-link-liveness',
      'nodes run without peer-link liveness (negative control of the availability checks: must fail after long partitions)',
    ).hideHelp(),
  )
  .option('--tls', 'run the nodes with TLS (certificates made at start; peers over mutual TLS, clients over wss://)')
  .addOption(new Option('--partition-ms <ms>', 'how long every partition lasts (default: 1 to 2.5 s, drawn per fault)').hideHelp())
  .action(
    async (opts: {
      nodes: string;
      duration: string;
      nemesis: string;
      workload: string;
      clients: string;
      seed?: string;
      out?: string;
      fencing: boolean;
      network: 'proxy' | 'netns';
      cpuHog: string;
      checkRemoved?: boolean;
      linkLiveness: boolean;
      partitionMs?: string;
      tls?: boolean;
    }) => {
      const seed = opts.seed !== undefined ? Number(opts.seed) : Math.floor(Math.random() * 1_000_000);
      if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${opts.seed}`);
      const clients = Number(opts.clients);
      if (!Number.isSafeInteger(clients) || clients < 1 || clients > 256) throw new Error(`--clients must be 1..256, got ${opts.clients}`);
      const durationMs = parseDuration(opts.duration, '--duration');
      if (durationMs < 5_000) throw new Error('--duration must be at least 5s');
      const nemeses = opts.nemesis === 'none' ? [] : list<NemesisName>(opts.nemesis, NEMESES, '--nemesis');
      if (opts.checkRemoved === true && !nemeses.includes('membership'))
        throw new Error('--check-removed needs the membership nemesis (--nemesis membership,…): without it no node is removed');
      const partitionMs = opts.partitionMs !== undefined ? Number(opts.partitionMs) : undefined;
      if (partitionMs !== undefined && (!Number.isSafeInteger(partitionMs) || partitionMs < 100 || partitionMs > 600_000))
        throw new Error(`--partition-ms must be 100..600000 (milliseconds), got ${opts.partitionMs}`);
      const cpuHog = Number(opts.cpuHog);
      if (!Number.isSafeInteger(cpuHog) || cpuHog < 0 || cpuHog > 64) throw new Error(`--cpu-hog must be 0..64, got ${opts.cpuHog}`);
      // Said before anything starts: what to install, or the mode that needs nothing.
      const noNetns = opts.network === 'netns' ? netnsUnavailable() : undefined;
      if (noNetns !== undefined) throw new Error(`--network netns: ${noNetns}`);
      const workloads = list<Workload>(opts.workload, WORKLOADS, '--workload');
      if (workloads.length === 0) throw new Error(`--workload: give one or more of ${WORKLOADS.join(', ')}`);
      const out = opts.out ?? join('chaos-runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-seed-${seed}`);
      const log = (line: string): void => {
        process.stderr.write(`[chaos] ${line}\n`);
      };
      log(
        `seed ${seed}; ${opts.nodes} nodes, ${clients} clients, ${workloads.join('+')}, nemesis ${nemeses.join(',') || 'none'}, ${opts.duration}, fencing ${opts.fencing ? 'on' : 'OFF'}, ${opts.network} network${cpuHog > 0 ? `, ${cpuHog} cpu hogs` : ''}${opts.checkRemoved === true ? ', removed nodes checked (negative control)' : ''}${opts.linkLiveness ? '' : ', link liveness OFF (negative control)'}${partitionMs !== undefined ? `, partitions of ${partitionMs} ms` : ''}${opts.tls === true ? ', TLS' : ''}; out ${out}`,
      );
      const s = await runChaos({
        nodes: Number(opts.nodes) as 3 | 5,
        durationMs,
        nemeses,
        workloads,
        clients,
        seed,
        out,
        fencing: opts.fencing,
        checkRemoved: opts.checkRemoved === true,
        network: opts.network,
        cpuHog,
        noLinkLiveness: !opts.linkLiveness,
        ...(partitionMs !== undefined ? { partitionMs } : {}),
        ...(opts.tls === true ? { tls: true } : {}),
        log,
      });
      for (const a of s.anomalies.slice(0, 10)) log(`anomaly (${a.kind}): ${a.message}`);
      for (const [w, v] of Object.entries(s.workloadVerdicts ?? {})) {
        const n = s.anomalies.filter((a) => a.workload === w).length;
        log(
          `workload ${w}: ${v}${n > 0 ? ` (${n} anomalies: ${[...new Set(s.anomalies.filter((a) => a.workload === w).map((a) => a.kind))].join(', ')})` : ''}`,
        );
      }
      if (s.semaphores !== undefined) {
        const f = s.semaphores;
        log(
          `semaphores: ${f.acquires.granted} grants (${f.acquires.notAcquired} not acquired, ${f.acquires.unknown} unknown); ${f.writes.fenced ? 'fenced' : 'UNFENCED'} writes ${f.writes.applied} applied, ${f.writes.refused} FENCED, ${f.writes.failed} failed, ${f.writes.unknown} unknown; sessions seen ending ${f.sessionEnds.observed}, unseen ${f.sessionEnds.unknown}`,
        );
      }
      if (s.rwlocks !== undefined) {
        const f = s.rwlocks;
        log(
          `rwlocks: ${f.acquires.granted} grants of ${f.acquires.read} read and ${f.acquires.write} write acquires (${f.acquires.notAcquired} not acquired, ${f.acquires.unknown} unknown); resource reads ${f.resource.readsAccepted} accepted / ${f.resource.readsRejected} rejected, writes ${f.resource.writesAccepted} / ${f.resource.writesRejected}; sessions seen ending ${f.sessionEnds.observed}, unseen ${f.sessionEnds.unknown}`,
        );
      }
      if (s.membership !== undefined) {
        const m = s.membership;
        log(
          `members ${m.initial.join(',')} -> ${m.final.join(',')}; committed ${m.committed.add} add, ${m.committed.remove} remove, ${m.committed.replace} replace; removed ${m.removed.join(',') || 'none'}`,
        );
      }
      if (s.cpuHog.processes > 0) log(`cpu hog: ${s.cpuHog.processes} busy processes ran during the run (pids ${s.cpuHog.pids.join(',')})`);
      log(`report: ${join(out, 'report.html')}`);
      process.stdout.write(`chaos: ${s.verdict}, ${s.ops.checked} ops checked, ${s.faults} faults, ${s.anomalies.length} anomalies\n`);
      process.exitCode = s.verdict === 'pass' ? 0 : 1;
    },
  );

// Interrupted: exit at once; the exit hooks SIGKILL the nodes, client and cpu-hog processes this
// run started (by their PIDs) and remove its namespace network. The records written so far stay
// in --out.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`chaos: interrupted by ${signal}; stopping the processes of this run\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
