/**
 * The restart benchmark (`npm run bench -- --restart [--restart-entries 100000]
 * [--snapshot-every N]`): how long a node takes from its process starting to serving again,
 * and where that time goes, with a long log behind it.
 *
 * One 3-node cluster (from dist/, info logs) is loaded with `entries` counter increments (8
 * clients x 32 in flight), each one log entry. By default the nodes take no snapshot during the
 * load (`snapshotEvery` above the entry count), so the whole log is replayed at a restart: the
 * worst case. With `--snapshot-every` (the default configuration has 10,000) a restart restores
 * the newest snapshot and replays only what follows it. Then, in order:
 *
 * - a follower stopped gracefully and started again, then a follower SIGKILLed and started
 *   again: the time from spawning it to answering `/healthz`, to having applied everything the
 *   cluster had committed when it stopped (`/status` polled every 10 ms), and the node's own
 *   account from its log (`node started`: opening the log, restoring the snapshot; `log
 *   replayed`: the time since the process began until the replay was done);
 * - the whole cluster stopped gracefully and started together: the time from spawning the
 *   nodes to the first linearizable read answered through the SDK.
 *
 * Measured, never asserted. Progress on stderr; with `--json`, stdout is one JSON object.
 */
import { readFileSync } from 'node:fs';
import { connect, type RaftlockClient } from '../../src/client/index.js';
import { ProcessCluster } from '../lib/cluster.js';
import { ensureBuilt } from '../lib/build.js';
import { waitFor } from '../lib/wait.js';
import { loadLine, machineLines } from './environment.js';
import { describeCluster, firstLinearizableRead } from './raftlock-workloads.js';

export interface RestartOptions {
  readonly entries: number;
  readonly snapshotEvery?: number;
  readonly build: boolean;
  readonly json: boolean;
  readonly log: (line: string) => void;
}

/** One node's restart, measured from outside and as its own log tells it. */
interface NodeRestart {
  readonly how: 'graceful' | 'kill -9';
  readonly node: number;
  readonly healthzMs: number;
  readonly caughtUpMs: number;
  readonly commitAtStop: number;
  readonly own: StartupLog;
}

/** What the node's `node started` and `log replayed` lines say. */
interface StartupLog {
  readonly processMs?: number;
  readonly storageMs?: number;
  readonly logEntries?: number;
  readonly restoreMs?: number;
  readonly toReplay?: number;
  readonly replayedSinceStartMs?: number;
}

const CLIENTS = 8;
const IN_FLIGHT = 32;

/** Runs the benchmark; resolves with the process exit code (0, or 1 if the load or a check failed). */
export async function runRestart(o: RestartOptions): Promise<number> {
  const out = (line: string): void => {
    (o.json ? process.stderr : process.stdout).write(`${line}\n`);
  };
  if (o.build) ensureBuilt(o.log);
  const snapshotEvery = o.snapshotEvery ?? o.entries * 2 + 10_000;
  const cluster = await ProcessCluster.create({
    nodes: 3,
    clusterId: 'bench-restart',
    tickMs: 50,
    electionTicks: 10,
    runtime: 'dist',
    logLevel: 'info',
    snapshotEvery,
  });
  try {
    cluster.startAll();
    await cluster.waitForLeader(cluster.ids, 30_000);
    out('raftlock restart benchmark');
    for (const l of machineLines()) out(l);
    out(`raftlock: ${describeCluster(cluster)}`);
    o.log(`loading ${o.entries.toLocaleString('en-US')} increments (${CLIENTS} clients x ${IN_FLIGHT} in flight)...`);
    const loadMs = await load(cluster, o.entries, o.log);
    out(
      `load: ${o.entries.toLocaleString('en-US')} increments in ${(loadMs / 1000).toFixed(1)} s (${Math.round(o.entries / (loadMs / 1000))}/s)`,
    );
    out(loadLine());

    const restarts: NodeRestart[] = [];
    for (const how of ['graceful', 'kill -9'] as const) {
      const r = await restartFollower(cluster, how, o.log);
      restarts.push(r);
      const own = r.own;
      out(
        `${how} restart of follower ${r.node} (commit ${r.commitAtStop.toLocaleString('en-US')}): /healthz after ${r.healthzMs} ms, caught up after ${r.caughtUpMs} ms; ` +
          `its log: node code loaded after ${String(own.processMs)} ms, opened ${String(own.logEntries)} entries in ${String(own.storageMs)} ms, snapshot restored in ${String(own.restoreMs)} ms, ` +
          `${String(own.toReplay)} entries replayed by ${String(own.replayedSinceStartMs)} ms after the process began`,
      );
    }
    const whole = await restartCluster(cluster, o.log);
    out(`whole cluster stopped and started together: first linearizable read after ${whole} ms`);
    if (o.json)
      process.stdout.write(
        `${JSON.stringify({ entries: o.entries, snapshotEvery, loadMs: Math.round(loadMs), restarts, clusterRestartMs: whole })}\n`,
      );
    return 0;
  } catch (err) {
    process.stderr.write(`bench --restart: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await cluster.destroy({ graceMs: 10_000 });
  }
}

/** `entries` increments through the SDK; the time it took. */
async function load(cluster: ProcessCluster, entries: number, log: (line: string) => void): Promise<number> {
  const clients: RaftlockClient[] = [];
  for (let k = 0; k < CLIENTS; k++) clients.push(await connect({ endpoints: cluster.endpoints, clientId: `restart-load-${k}` }));
  let issued = 0;
  let done = 0;
  const started = performance.now();
  const progress = setInterval(() => log(`  ${done.toLocaleString('en-US')} / ${entries.toLocaleString('en-US')}`), 5_000);
  try {
    await Promise.all(
      clients.flatMap((c, k) =>
        Array.from({ length: IN_FLIGHT }, async (_, j) => {
          const counter = c.counter(`restart/${k}-${j}`);
          while (issued < entries) {
            issued++;
            await counter.add(1);
            done++;
          }
        }),
      ),
    );
  } finally {
    clearInterval(progress);
    await Promise.all(clients.map((c) => c.close()));
  }
  return performance.now() - started;
}

async function restartFollower(cluster: ProcessCluster, how: 'graceful' | 'kill -9', log: (line: string) => void): Promise<NodeRestart> {
  const leader = await cluster.waitForLeader(cluster.ids, 30_000);
  const node = cluster.ids.find((id) => id !== leader.id) as number;
  const commitAtStop = (await cluster.status(leader.id))?.commit ?? 0;
  log(`${how} restart of follower ${node}...`);
  if (how === 'graceful') await cluster.stop(node);
  else await cluster.kill(node);
  const logFile = cluster.logFileOf(node);
  const before = readFileSync(logFile, 'utf8').length;
  const t0 = performance.now();
  cluster.start(node);
  let healthzMs = -1;
  await waitFor(
    `node ${node} caught up`,
    async () => {
      const s = await cluster.status(node);
      if (s === undefined) return undefined;
      if (healthzMs < 0) healthzMs = Math.round(performance.now() - t0);
      return s.applied >= commitAtStop ? true : undefined;
    },
    120_000,
    10,
  );
  const caughtUpMs = Math.round(performance.now() - t0);
  const own = await waitFor('its "log replayed" line', () => startupOf(readFileSync(logFile, 'utf8').slice(before)), 30_000, 50).catch(() =>
    startupOf(readFileSync(logFile, 'utf8').slice(before), true),
  );
  return { how, node, healthzMs, caughtUpMs, commitAtStop, own: own ?? {} };
}

/** The startup figures in a node's log lines; undefined until `log replayed` is there (unless `partial`). */
function startupOf(text: string, partial = false): StartupLog | undefined {
  let started: Record<string, number> | undefined;
  let replayed: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as { msg?: string; startup?: Record<string, number>; sinceStartMs?: number };
      if (l.msg === 'node started') started = l.startup;
      if (l.msg === 'log replayed') replayed = l.sinceStartMs;
    } catch {
      // not a log line
    }
  }
  if (replayed === undefined && !partial) return undefined;
  return {
    ...(started !== undefined ? started : {}),
    ...(replayed !== undefined ? { replayedSinceStartMs: replayed } : {}),
  };
}

async function restartCluster(cluster: ProcessCluster, log: (line: string) => void): Promise<number> {
  log('restarting the whole cluster...');
  await Promise.all(cluster.ids.map((id) => cluster.stop(id)));
  const t0 = performance.now();
  for (const id of cluster.ids) cluster.start(id);
  const { client } = await firstLinearizableRead(cluster, 'restart/0-0', 'restart-after');
  const ms = Math.round(performance.now() - t0);
  await client.close();
  return ms;
}
