/**
 * Runs the deterministic cluster simulator over many seeds (docs/testing.md#simulation).
 *
 *   npm run sim -- --seeds 500 --events 2000 [--workload register|locks|permits|elections] [--membership] [--nodes 3|5] [--seed S]
 *     [--bug NAME] [--watchers N [--watch-drop-one]] [--trace]
 *
 * `--workload locks` runs the lock/counter state machine (LockService over LockMachine) with
 * clients that retry through failovers; its negative controls are `--bug dedup-off`,
 * `--bug local-clock-expiry`, `--bug no-wait-grace` and `--bug lock-all-first-only`.
 * `--workload permits` adds semaphores and readers-writer locks to it; its negative control is
 * `--bug release-extra-permit`. `--workload elections` adds leader elections to the locks
 * workload (campaigns, proclaims, leader reads, fenced writes, resignations); its negative
 * control is `--bug two-leaders`. `--membership` adds two spare nodes and
 * asks the leader for random membership changes (add a learner, promote, remove) during the
 * fault phase; its negative control is `--bug concurrent-conf-changes`. `--watchers N` (lock
 * workloads) adds N clients following watches across nodes, checked against the events of the
 * committed log; its negative control is `--watch-drop-one` (a resumed watch loses an event).
 *
 * Without --nodes, seeds alternate between 3 and 5 nodes. The last line is always
 * `sim: <seeds> seeds, <events> events, <violations> violations`; the exit code is 1 if any
 * seed violated an invariant, and the first failing seed is printed with the exact command
 * that replays it.
 */
import { Command, Option } from 'commander';
import { nodesFor, replayCommand } from './lib/sim/seeds.js';
import { BUGS, runSeed, type BugName, type Workload } from './lib/sim/world.js';

const program = new Command()
  .name('sim')
  .description('seeded whole-cluster Raft simulation with fault injection')
  .option('--seeds <n>', 'number of seeds to run', '100')
  .option('--events <n>', 'events of the fault phase per seed', '2000')
  .option('--first-seed <n>', 'first seed of the range', '1')
  .option('--seed <n>', 'run only this seed (replay)')
  .addOption(new Option('--nodes <n>', 'cluster size (default: alternate 3 and 5)').choices(['3', '5']))
  .addOption(
    new Option('--workload <name>', 'what the cluster replicates')
      .choices(['register', 'locks', 'permits', 'elections'])
      .default('register'),
  )
  .option('--membership', 'churn membership: spare nodes added, promoted and removed', false)
  .addOption(new Option('--bug <name>', 'enable a negative-control bug').choices([...BUGS]))
  .option('--watchers <n>', 'watchers following watches across nodes (lock workloads)')
  .option('--watch-drop-one', 'negative control: a watch resumed from the history loses its first event', false)
  .option('--stop-on-failure', 'stop at the first failing seed', false)
  .option('--no-durable-claims', 'do not check persist-before-send on each message (consequences only)')
  .option('--trace', 'print every event of the run', false)
  .parse();

const o = program.opts<{
  seeds: string;
  events: string;
  firstSeed: string;
  seed?: string;
  nodes?: string;
  bug?: BugName;
  workload: Workload;
  membership: boolean;
  watchers?: string;
  watchDropOne: boolean;
  stopOnFailure: boolean;
  durableClaims: boolean;
  trace: boolean;
}>();

const events = Number(o.events);
const seeds = o.seed !== undefined ? [Number(o.seed)] : Array.from({ length: Number(o.seeds) }, (_, k) => Number(o.firstSeed) + k);
let totalEvents = 0;
let violations = 0;
let failedSeeds = 0;
const started = performance.now();
for (const [k, seed] of seeds.entries()) {
  const nodes = o.nodes !== undefined ? (Number(o.nodes) as 3 | 5) : nodesFor(seed);
  const r = runSeed({
    seed,
    events,
    nodes,
    workload: o.workload,
    membership: o.membership,
    ...(o.bug !== undefined ? { bug: o.bug } : {}),
    ...(o.watchers !== undefined ? { watch: { watchers: Number(o.watchers), dropOneOnResume: o.watchDropOne } } : {}),
    trace: o.trace,
    checkDurableClaims: o.durableClaims,
  });
  totalEvents += r.events + r.livenessEvents;
  if (r.violations.length > 0) {
    violations += r.violations.length;
    failedSeeds++;
    process.stdout.write(`seed ${seed} (${nodes} nodes): ${r.violations.length} violation(s)\n`);
    for (const v of r.violations.slice(0, 5)) process.stdout.write(`  ${v.split('\n').slice(0, 20).join('\n  ')}\n`);
    const watch = o.watchers !== undefined ? ` --watchers ${o.watchers}${o.watchDropOne ? ' --watch-drop-one' : ''}` : '';
    process.stdout.write(`  replay: ${replayCommand(seed, nodes, events, o.workload, o.bug, r.membership)}${watch}\n`);
    if (o.stopOnFailure) break;
  }
  if ((k + 1) % 50 === 0) {
    const secs = (performance.now() - started) / 1000;
    process.stderr.write(`  ${k + 1}/${seeds.length} seeds, ${totalEvents} events, ${Math.round(totalEvents / secs)} events/s\n`);
  }
}
const secs = (performance.now() - started) / 1000;
process.stderr.write(`  ${secs.toFixed(1)} s, ${Math.round(totalEvents / secs)} events/s, ${failedSeeds} failing seeds\n`);
process.stdout.write(`sim: ${seeds.length} seeds, ${totalEvents} events, ${violations} violations\n`);
process.exitCode = violations > 0 ? 1 : 0;
