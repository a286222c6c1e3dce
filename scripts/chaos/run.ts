/**
 * One chaos run (docs/testing.md#chaos): start the cluster, the client processes and the nemesis; after the
 * run's duration heal everything, wait for a leader, see every client complete an operation
 * again, stop the clients, compare the state hashes of the final members, check the history and
 * the logs of the fenced resources (the lock workload's, the readers-writer locks'), and write
 * the records and the report to `out`. The verdict passes only when all of that holds.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../lib/build.js';
import { ProcessCluster } from '../lib/cluster.js';
import { NetnsNetwork, netnsUnavailable, sweepStaleNetworks } from '../lib/netns.js';
import { sleep, waitFor } from '../lib/wait.js';
import { buckets, checkHistory } from './checks.js';
import { availabilityBars, checkAvailability, LeaderSampler, sampleRejoin } from './availability.js'; // availability
import { Nemesis, type NemesisName, type PausableWorker } from './nemesis.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { renderReport } from '../lib/chaos/report.js';
import { checkResource, checkRwResource, FencedResource, RwResource } from './resource.js';
import {
  isEndSession,
  type Anomaly,
  type HistoryOp,
  type PermitInput,
  type RunConditions,
  type ElectionFigures,
  type RwLockFigures,
  type RwResourceUse,
  type SemaphoreFigures,
  type Summary,
  type Workload,
} from '../lib/chaos/types.js';
import { sharedNow } from '../lib/chaos/shared-clock.js';
import type { NodeStatus } from '../../src/server/index.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Options of {@link runChaos} (what `npm run chaos` parses). */
export interface ChaosOptions {
  readonly nodes: 3 | 5;
  readonly durationMs: number;
  readonly nemeses: readonly NemesisName[];
  readonly workloads: readonly Workload[];
  readonly clients: number;
  readonly seed: number;
  readonly out: string;
  readonly fencing: boolean;
  /**
   * Negative control of the membership nemesis: removed nodes start again at the end and their
   * state hashes are compared with the members' (which must fail: nobody replicates to them).
   */
  readonly checkRemoved?: boolean;
  /**
   * How faults cut links: `proxy` (link proxies on loopback, any user) or `netns` (a network
   * namespace per node and nftables drops; Linux, root, `nft`). Default `proxy`.
   */
  readonly network?: 'proxy' | 'netns';
  /** Busy-looping processes kept running during the run, to load the machine. Default 0. */
  readonly cpuHog?: number;
  /**
   * Negative control of the availability checks: the nodes run without peer-link liveness
   * (`raftlock start --no-link-liveness`), so a cut link waits for TCP's retransmission backoff.
   */
  readonly noLinkLiveness?: boolean;
  /** How long every partition lasts (default: 1 to 2.5 s, drawn per fault). */
  readonly partitionMs?: number;
  /** TLS on every node (certificates made at start), the clients over wss:// (`--tls`). */
  readonly tls?: boolean;
  /** Progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
}

const TICK_MS = 50;
const ELECTION_TICKS = 10;
const SESSION_TTL_MS = 3_000;
const OP_TIMEOUT_MS = 4_000;
/** How long after the heal every client has to complete an operation. */
const CLIENTS_AFTER_HEAL_MS = 20_000;
/** The semaphores workload: semaphores `sem-0`…, each with this many permits (grants take 1 or 2). */
const SEMAPHORES = 1;
const SEMAPHORE_PERMITS = 3;
/** The rwlocks workload: readers-writer locks `rw-0`…. */
const RWLOCKS = 2;
/** The elections workload: elections `elec-0`…. */
const ELECTIONS = 2;

/**
 * Spare slots for the membership nemesis: each add or replace takes a new one (ids are never
 * reused), about one every 4 s of run at most.
 */
function sparesFor(o: ChaosOptions): number {
  return o.nemeses.includes('membership') ? Math.min(16, Math.max(4, Math.ceil(o.durationMs / 4_000))) : 0;
}

/** The run's clock, shared with the client processes (they order their operations on it). */
const wall = sharedNow;

/** Client processes still running; SIGKILLed by PID if this process exits first (the nodes are, by the launcher). */
const LIVE_WORKERS = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of LIVE_WORKERS) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Namespace networks of runs in progress: removed at exit whatever ends the process (Ctrl-C, an uncaught error). */
const LIVE_NETWORKS = new Set<NetnsNetwork>();
process.once('exit', () => {
  for (const n of LIVE_NETWORKS) n.destroy();
});

/**
 * Makes the namespace network of a `--network netns` run, one namespace per slot (the spares of
 * the membership nemesis included), after removing those that crashed runs left behind.
 */
async function createNetwork(slots: number, log: (line: string) => void): Promise<NetnsNetwork> {
  const why = netnsUnavailable();
  if (why !== undefined) throw new Error(`--network netns: ${why}`);
  const swept = sweepStaleNetworks();
  if (swept.length > 0) log(`removed the namespace networks of dead runs: ${swept.join(', ')}`);
  const net = await NetnsNetwork.create(Array.from({ length: slots }, (_, k) => k + 1));
  LIVE_NETWORKS.add(net);
  log(`network ${net.tag}: ${slots} namespaces on a bridge at ${net.hostAddress}`);
  return net;
}

/**
 * Starts `n` processes that spin on the CPU for `ms` at most (so a leaked one ends by itself);
 * the caller SIGKILLs them by PID when the run ends. They load the machine the nodes run on.
 */
function startCpuHogs(n: number, ms: number): ChildProcess[] {
  return Array.from({ length: n }, () => {
    const child = spawn(process.execPath, ['-e', `const end = Date.now() + ${Math.round(ms)}; while (Date.now() < end) {}`], {
      stdio: 'ignore',
    });
    LIVE_WORKERS.add(child);
    child.once('exit', () => LIVE_WORKERS.delete(child));
    return child;
  });
}

class Worker implements PausableWorker {
  /** Per lock (or semaphore, or readers-writer lock) name: how many of this process's clients hold it. */
  private readonly holds = new Map<string, number>();
  private paused = false;
  /** Whether the process reported all its operations ('done'). */
  reportedAll = false;
  readonly done: Promise<void>;
  private markDone: () => void = () => {};

  constructor(
    readonly worker: number,
    readonly child: ChildProcess,
    readonly clients: number,
  ) {
    this.done = new Promise((r) => (this.markDone = r));
  }

  finish(reportedAll: boolean): void {
    this.reportedAll ||= reportedAll;
    this.markDone();
  }

  /** What its clients hold right now (readers of one readers-writer lock share its name). */
  get holding(): ReadonlySet<string> {
    return new Set(this.holds.keys());
  }

  held(lock: string, holding: boolean): void {
    const n = (this.holds.get(lock) ?? 0) + (holding ? 1 : -1);
    if (n > 0) this.holds.set(lock, n);
    else this.holds.delete(lock);
  }

  send(m: ToWorker): void {
    if (this.child.connected) this.child.send(m);
  }

  pause(): void {
    if (this.paused || this.child.exitCode !== null) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }
}

/** Runs the whole thing; never throws for a failed verdict (only for a broken harness). */
export async function runChaos(o: ChaosOptions): Promise<Summary & RunConditions> {
  mkdirSync(o.out, { recursive: true });
  const startedAt = new Date().toISOString();
  // The nodes and the member commands run from dist/ (rebuilt first if src/ is newer): a start
  // through tsx takes twice as long, and on a loaded machine the seconds a restarted or joining
  // node needs are seconds the cluster runs short.
  ensureBuilt(o.log);
  const networkMode = o.network ?? 'proxy';
  const network = networkMode === 'netns' ? await createNetwork(o.nodes + sparesFor(o), o.log) : undefined;
  let cluster: ProcessCluster;
  try {
    cluster = await ProcessCluster.create({
      runtime: 'dist',
      nodes: o.nodes,
      dir: o.out,
      clusterId: 'chaos',
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      snapshotEvery: 2_000,
      // With namespaces, cuts are nftables drops: no proxies.
      ...(network !== undefined ? { network } : { peerLinks: true }),
      spares: sparesFor(o),
      ...(o.noLinkLiveness === true ? { startArgs: ['--no-link-liveness'] } : {}),
      ...(o.tls === true ? { tls: {} } : {}),
    });
  } catch (err) {
    network?.destroy();
    if (network !== undefined) LIVE_NETWORKS.delete(network);
    throw err;
  }
  // The hogs outlive the workload by the heal and the checks (a minute at most), then end by
  // themselves should this process die without killing them.
  const hogs = startCpuHogs(o.cpuHog ?? 0, o.durationMs + 120_000);
  if (hogs.length > 0) o.log(`cpu hog: ${hogs.length} busy processes (pids ${hogs.map((h) => h.pid).join(',')})`);
  const workers: Worker[] = [];
  const history: HistoryOp[] = [];
  const resource = new FencedResource(o.fencing);
  const rwResource = new RwResource(o.fencing);
  const errors: string[] = [];
  /** Per client: when its latest successful operation returned. */
  const lastOk = new Map<string, number>();
  let t0 = wall();
  const clock = (): number => wall() - t0;
  try {
    cluster.startAll();
    await cluster.waitForLeader(cluster.ids, 30_000);
    o.log(`cluster of ${o.nodes} up (${networkMode} network): ${cluster.endpoints.join(',')}`);

    // Client processes: up to 4, clients spread over them; workloads alternate by client.
    const nWorkers = Math.max(1, Math.min(4, o.clients));
    for (let w = 0; w < nWorkers; w++) {
      const clients = Math.floor(o.clients / nWorkers) + (w < o.clients % nWorkers ? 1 : 0);
      const log = createWriteStream(join(o.out, 'logs', `client-${w}.log`));
      const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      child.stderr?.pipe(log);
      LIVE_WORKERS.add(child);
      child.once('exit', () => LIVE_WORKERS.delete(child));
      const wk = new Worker(w, child, clients);
      child.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'op': {
            const op: HistoryOp = { ...m.op, id: history.length };
            history.push(op);
            if (op.status === 'ok' && op.return !== null && !isEndSession(op)) lastOk.set(op.client, op.return);
            break;
          }
          case 'write':
            wk.send({ type: 'write-result', req: m.req, accepted: resource.write(clock(), m.lock, m.client, m.token) });
            break;
          case 'rw-use':
            wk.send({ type: 'write-result', req: m.req, accepted: rwResource.use(clock(), m.lock, m.client, m.mode, m.token) });
            break;
          case 'holding':
            wk.held(m.lock, m.holding);
            break;
          case 'error':
            errors.push(m.message);
            o.log(`client error: ${m.message}`);
            break;
          case 'done':
            wk.finish(true);
            break;
          case 'ready':
            break;
        }
      });
      child.on('exit', () => wk.finish(false));
      workers.push(wk);
    }
    t0 = wall();
    // PEM as text: what crosses to the workers over IPC.
    const pem = cluster.clientTls;
    const tls =
      pem !== undefined ? { ca: pem.ca.toString('utf8'), cert: pem.cert.toString('utf8'), key: pem.key.toString('utf8') } : undefined;
    const sampler = new LeaderSampler(cluster, clock); // availability
    sampler.start(); // availability
    let k = 0;
    for (const wk of workers) {
      const roles = Array.from({ length: wk.clients }, () => o.workloads[k++ % o.workloads.length] as Workload);
      wk.send({
        type: 'start',
        worker: wk.worker,
        endpoints: cluster.endpoints,
        ...(tls !== undefined ? { tls } : {}),
        clients: wk.clients,
        roles,
        seed: o.seed,
        t0,
        sessionTtlMs: SESSION_TTL_MS,
        opTimeoutMs: OP_TIMEOUT_MS,
        keyEpochMs: 4_000,
        counterKeys: 3,
        locks: 2,
        semaphores: SEMAPHORES,
        semaphorePermits: SEMAPHORE_PERMITS,
        rwlocks: RWLOCKS,
        elections: ELECTIONS,
        fencing: o.fencing,
      });
    }

    const nemesis = new Nemesis(
      {
        cluster,
        workers,
        clock,
        electionTimeoutMs: TICK_MS * ELECTION_TICKS,
        sessionTtlMs: SESSION_TTL_MS,
        log: o.log,
        restartRemoved: o.checkRemoved === true,
        ...(o.partitionMs !== undefined ? { partitionMs: o.partitionMs } : {}),
      },
      o.nemeses,
      o.seed,
    );
    const progress = setInterval(
      () => o.log(`t=${(clock() / 1000).toFixed(0)}s ops=${history.length} faults=${nemesis.events.length}`),
      10_000,
    );
    const running = o.nemeses.length > 0 ? nemesis.run(o.durationMs) : Promise.resolve();
    while (clock() < o.durationMs) await sleep(100);
    nemesis.stop();
    await running;
    clearInterval(progress);

    // Heal everything; a leader must follow within 3 s of the last heal (the run's liveness bar:
    // several election timeouts, 500 ms here, once every fault is gone).
    await nemesis.healAll();
    const healedAt = clock();
    const rejoining = sampleRejoin(cluster, clock, healedAt, 20_000); // availability
    const leader = await cluster.waitForLeader(cluster.ids, 30_000).then(
      (s) => s.id,
      () => undefined,
    );
    const leaderAfterHealMs = leader === undefined ? null : Math.round(clock() - healedAt);
    o.log(`healed at ${(healedAt / 1000).toFixed(1)}s; leader ${leader ?? 'none'} after ${leaderAfterHealMs ?? '-'} ms`);

    // Every client must complete an operation after the heal. One that cannot reach the cluster
    // any more would not: say, one whose endpoints were all removed and that did not follow the
    // members.
    const clientNames = workers.flatMap((w) => Array.from({ length: w.clients }, (_, k) => `w${w.worker}c${k}`));
    const waiting = (): string[] => clientNames.filter((n) => (lastOk.get(n) ?? -1) < healedAt);
    await waitFor('every client to complete an operation after the heal', () => waiting().length === 0, CLIENTS_AFTER_HEAL_MS, 100).catch(
      () => undefined,
    );
    const stuck = waiting();
    const stopAt = clock(); // availability
    sampler.stop(); // availability
    const rejoinSamples = await rejoining; // availability

    for (const wk of workers) wk.send({ type: 'stop' });
    await Promise.race([Promise.all(workers.map((w) => w.done)), sleep(OP_TIMEOUT_MS + 15_000)]);
    const durationMs = Math.round(clock());

    // Every replica must reach the same state: same applied index, same digest, same members.
    // The replicas are the final members (`cluster.ids` after the heal), not nodes removed on
    // the way; the negative control adds those.
    const members = cluster.ids;
    const compared = o.checkRemoved === true ? [...members, ...nemesis.removedNodes.filter((id) => !members.includes(id))] : members;
    const sameMembers = (s: NodeStatus): boolean => s.members.length === members.length && s.members.every((m) => members.includes(m.id));
    const converged = await waitFor(
      'replicas at one applied index',
      async () => {
        const sts = await cluster.statuses(compared);
        if (sts.length !== compared.length) return undefined;
        const applied = new Set(sts.map((s) => s.applied));
        return applied.size === 1 && sts.every(sameMembers) ? sts : undefined;
      },
      20_000,
    ).catch(() => undefined);
    const last = converged ?? (await cluster.statuses(compared));
    const stateHashes: Record<string, string> = {};
    for (const s of last) stateHashes[String(s.id)] = s.digest;
    const hashesEqual = converged !== undefined && new Set(Object.values(stateHashes)).size === 1;

    const anomalies: Anomaly[] = [];
    if (leaderAfterHealMs === null || leaderAfterHealMs > 3_000) {
      anomalies.push({
        kind: 'no-leader-after-heal',
        message:
          leaderAfterHealMs === null
            ? 'no leader within 30 s of the last heal'
            : `the leader came ${leaderAfterHealMs} ms after the last heal (bar: 3,000 ms)`,
        ops: [],
      });
    }
    if (!hashesEqual) {
      const seen = last.map((s) => `node ${s.id} at ${s.applied} with members ${s.members.map((m) => m.id).join(',')}`);
      const silent = compared.filter((id) => !last.some((s) => s.id === id));
      anomalies.push({
        kind: 'replicas-diverged',
        message:
          converged === undefined
            ? `the replicas (${compared.join(',')}) did not reach one applied index with the members ${members.join(',')} within 20 s: ${seen.join('; ')}${silent.length > 0 ? `; no answer from ${silent.join(',')}` : ''}`
            : `state hashes differ at one applied index: ${JSON.stringify(stateHashes)}`,
        ops: [],
      });
    }
    if (stuck.length > 0) {
      const lastError = (client: string): string =>
        history.findLast((op) => op.client === client && op.status !== 'ok')?.error ?? 'no error recorded';
      anomalies.push({
        kind: 'clients-stuck',
        message: `${stuck.length} client(s) completed no operation within ${CLIENTS_AFTER_HEAL_MS / 1000} s of the heal: ${stuck
          .slice(0, 5)
          .map((n) => `${n} (last error ${lastError(n)})`)
          .join(', ')}`,
        ops: [],
      });
    }
    // A client process that did not report everything leaves operations out of the history,
    // which could hide an anomaly or invent one: the run cannot be judged.
    const silent = workers.filter((w) => !w.reportedAll).map((w) => w.worker);
    if (errors.length > 0 || silent.length > 0) {
      anomalies.push({
        kind: 'inconclusive',
        message: `client processes failed (${errors.slice(0, 3).join('; ') || `no final report from ${silent.join(', ')}`})`,
        ops: [],
      });
    }
    o.log(`checking ${history.length} operations…`);
    const checked = checkHistory(history, 120_000);
    anomalies.push(...checked.anomalies, ...checkResource(resource.log, history), ...checkRwResource(rwResource.log, history));
    const availability = checkAvailability({
      history,
      leaderSamples: sampler.samples,
      rejoinSamples,
      events: nemesis.events,
      clients: clientNames,
      members,
      healedAt,
      endMs: stopAt,
      bars: availabilityBars(process.env),
    }); // availability
    anomalies.push(...availability.anomalies); // availability

    const count = (s: HistoryOp['status']): number => history.filter((op) => op.status === s).length;
    const membership = nemesis.membershipSummary();
    // Per workload: failed when one of its own checks found something (the cluster's and the
    // run's checks, such as state hashes or availability, belong to no workload).
    const workloadVerdicts: Partial<Record<Workload, 'pass' | 'fail'>> = {};
    for (const w of o.workloads) workloadVerdicts[w] = anomalies.some((a) => a.workload === w) ? 'fail' : 'pass';
    const semaphores = o.workloads.includes('semaphores') ? semaphoreFigures(history, o.fencing) : undefined;
    const rwlocks = o.workloads.includes('rwlocks') ? rwlockFigures(history, rwResource.log) : undefined;
    const elections = o.workloads.includes('elections') ? electionFigures(history, o.fencing) : undefined;
    const summary: Summary & RunConditions = {
      verdict: anomalies.length === 0 ? 'pass' : 'fail',
      seed: o.seed,
      nodes: o.nodes,
      clients: o.clients,
      workloads: o.workloads,
      nemeses: o.nemeses,
      fencing: o.fencing,
      durationMs,
      ops: { total: history.length, ok: count('ok'), fail: count('fail'), unknown: count('unknown'), checked: checked.checked },
      faults: nemesis.events.length,
      anomalies,
      resource: { accepted: resource.log.filter((w) => w.accepted).length, rejected: resource.log.filter((w) => !w.accepted).length },
      workloadVerdicts,
      ...(semaphores !== undefined ? { semaphores } : {}),
      ...(rwlocks !== undefined ? { rwlocks } : {}),
      ...(elections !== undefined ? { elections } : {}),
      leaderAfterHealMs,
      stateHashes,
      hashesEqual,
      buckets: buckets(history, durationMs),
      startedAt,
      ...(membership !== undefined ? { membership } : {}),
      availability: availability.summary, // availability
      network: networkMode,
      cpuHog: { processes: hogs.length, pids: hogs.flatMap((h) => (h.pid !== undefined ? [h.pid] : [])) },
      linkLiveness: o.noLinkLiveness !== true,
      tls: o.tls === true,
    };
    writeFileSync(join(o.out, 'history.json'), JSON.stringify(history));
    writeFileSync(join(o.out, 'nemesis.json'), JSON.stringify(nemesis.events, null, 1));
    writeFileSync(join(o.out, 'resource.json'), JSON.stringify(resource.log));
    writeFileSync(join(o.out, 'rw-resource.json'), JSON.stringify(rwResource.log));
    writeFileSync(join(o.out, 'summary.json'), JSON.stringify(summary, null, 2));
    writeFileSync(
      join(o.out, 'report.html'),
      renderReport({ summary, history, nemesis: nemesis.events, resource: resource.log, rwResource: rwResource.log }),
    );
    return summary;
  } finally {
    for (const w of workers) {
      w.resume();
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
    for (const h of hogs) if (h.exitCode === null) h.kill('SIGKILL');
    await cluster.destroy();
    if (network !== undefined) {
      network.destroy();
      LIVE_NETWORKS.delete(network);
    }
  }
}

/** How the grants of a semaphore or readers-writer lock history ended up, for the summary. */
function grantCounts(ops: readonly HistoryOp[]): {
  acquires: { granted: number; notAcquired: number; failed: number; unknown: number };
  sessionEnds: { observed: number; unknown: number };
} {
  const acquires = ops.filter((op) => op.input.op === 'acquire');
  const granted = (op: HistoryOp): boolean => (op.output as { acquired?: boolean } | undefined)?.acquired === true;
  const ends = ops.filter(isEndSession);
  return {
    acquires: {
      granted: acquires.filter((op) => op.status === 'ok' && granted(op)).length,
      notAcquired: acquires.filter((op) => op.status === 'ok' && !granted(op)).length,
      failed: acquires.filter((op) => op.status === 'fail').length,
      unknown: acquires.filter((op) => op.status === 'unknown').length,
    },
    sessionEnds: { observed: ends.filter((op) => op.status === 'ok').length, unknown: ends.filter((op) => op.status === 'unknown').length },
  };
}

/** The semaphores workload's figures: grants, the writes under them and how they were answered, session ends. */
function semaphoreFigures(history: readonly HistoryOp[], fencing: boolean): SemaphoreFigures {
  const ops = history.filter((op) => op.kind === 'semaphore');
  const writes = ops.filter((op) => op.input.op === 'write');
  return {
    semaphores: SEMAPHORES,
    permits: SEMAPHORE_PERMITS,
    ...grantCounts(ops),
    writes: {
      fenced: fencing,
      applied: writes.filter((op) => op.status === 'ok' && op.output === 'applied').length,
      refused: writes.filter((op) => op.status === 'ok' && op.output === 'FENCED').length,
      failed: writes.filter((op) => op.status === 'fail').length,
      unknown: writes.filter((op) => op.status === 'unknown').length,
    },
  };
}

/** The elections workload's figures: campaigns, proclaims, leader reads, fenced writes, session ends. */
function electionFigures(history: readonly HistoryOp[], fencing: boolean): ElectionFigures {
  const ops = history.filter((op) => op.kind === 'election');
  const answered = (what: PermitInput['op'], output: unknown): number =>
    ops.filter((op) => op.input.op === what && op.status === 'ok' && op.output === output).length;
  return {
    elections: ELECTIONS,
    ...grantCounts(ops),
    proclaims: { ok: answered('proclaim', 'ok'), refused: answered('proclaim', 'NOT_HELD') },
    reads: ops.filter((op) => op.input.op === 'read' && op.status === 'ok').length,
    writes: { fenced: fencing, applied: answered('write', 'applied'), refused: answered('write', 'FENCED') },
  };
}

/** The rwlocks workload's figures: grants by mode, the resource's reads and writes, session ends. */
function rwlockFigures(history: readonly HistoryOp[], log: readonly RwResourceUse[]): RwLockFigures {
  const ops = history.filter((op) => op.kind === 'rwlock');
  const mode = (m: 'read' | 'write'): number =>
    ops.filter((op) => op.input.op === 'acquire' && (op.input as Extract<PermitInput, { op: 'acquire' }>).mode === m).length;
  const uses = (m: 'read' | 'write', accepted: boolean): number => log.filter((u) => u.mode === m && u.accepted === accepted).length;
  const counts = grantCounts(ops);
  return {
    locks: RWLOCKS,
    acquires: { read: mode('read'), write: mode('write'), ...counts.acquires },
    resource: {
      readsAccepted: uses('read', true),
      readsRejected: uses('read', false),
      writesAccepted: uses('write', true),
      writesRejected: uses('write', false),
    },
    sessionEnds: counts.sessionEnds,
  };
}
