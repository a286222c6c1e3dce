/**
 * The scale benchmark (`npm run bench -- --scale`, or `npm run bench:scale`): one 3-node
 * cluster loaded with 1,000,000 counters and 100,000 sessions, then
 *
 * - memory per counter and per session: heapUsed (and RSS) of every node after a forced full
 *   GC (through the inspector), before and after each load, divided by the count;
 * - snapshot time: `POST /admin/snapshot` on each node in turn, until the snapshot file is
 *   written, synced and renamed into place; plus the longest client-visible stall meanwhile;
 * - restart to serving: all three nodes stopped gracefully, then started together; the time
 *   from spawning them to the first linearizable read answered correctly through the SDK;
 * - `GET /status`: polled every 100 ms on every node during the counter load (as a monitoring
 *   system would: it must not cost elections), then, with the whole state loaded, 500 requests
 *   one after another on the leader, with a `/healthz` prober alongside. A request waits for
 *   whatever holds the node's event loop, so the prober's longest answer, against its longest
 *   alone, bounds how long one /status blocks the event loop (the target: at most 10 ms);
 * - the state digest's own cost, in this process, on a copy of the leader's newest snapshot
 *   (the loaded state): reading it (what /status does) timed over 10,000 calls; computing it
 *   from scratch (what a restore does, once); and SHA-256 of a fresh snapshot (what /status
 *   did before the digest was kept up to date), for comparison.
 *
 * The nodes keep the default `snapshotEvery` (10,000 entries; `--snapshot-every` changes it),
 * so the log is compacted during the load as in production, and allow `sessions + 1000`
 * sessions. Leader checks use `/healthz`.
 * Counters are named `scale/counter-<i>` and set to 1 by one `add(1)` each; sessions are
 * opened with the longest TTL (10 min) through the raw client protocol, following the leader,
 * and never renewed. Elections during each phase are counted (a node blocked longer than the
 * election timeout loses its leadership). With `--json`, stdout is one JSON object with the
 * figures.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type RaftlockClient } from '../../src/client/index.js';
import { Connection, endpointUrl } from '../../src/client/connection.js';
import { digestOfState } from '../../src/state-machine/digest.js';
import { LockMachine } from '../../src/state-machine/index.js';
import { decodeSnapshot } from '../../src/state-machine/snapshot.js';
import { FileSnapshotStore } from '../../src/storage/index.js';
import { loadLine, machineLines } from './environment.js';
import { measuredMemory, type MemoryUsage } from './inspector.js';
import { freePorts } from '../lib/ports.js';
import { sleep, waitFor } from '../lib/wait.js';
import { ensureBuilt } from '../lib/build.js';
import type { ProcessCluster, Runtime } from '../lib/cluster.js';
import { describeCluster, firstLinearizableRead, startBenchCluster } from './raftlock-workloads.js';

export interface ScaleOptions {
  readonly counters: number;
  readonly sessions: number;
  readonly runtime: Runtime;
  readonly build: boolean;
  readonly json: boolean;
  /** The cluster's `snapshotEvery` (default: the config's default, 10,000). */
  readonly snapshotEvery?: number;
  readonly log: (line: string) => void;
}

/** Sessions opened on one connection before the next one is used (the per-connection limit is 10,000). */
const SESSIONS_PER_CONNECTION = 9_000;
/** Longest time any loading phase may take. */
const PHASE_LIMIT_MS = 30 * 60_000;
const MiB = 2 ** 20;

async function memoryOfAll(ports: ReadonlyMap<number, number>): Promise<Map<number, MemoryUsage>> {
  const out = new Map<number, MemoryUsage>();
  for (const [id, port] of ports) out.set(id, await measuredMemory(port));
  return out;
}

/** Creates `n` counters with `clients` SDK clients × `perClient` workers; returns errors seen. */
async function loadCounters(
  endpoints: readonly string[],
  n: number,
  log: (l: string) => void,
): Promise<{ ms: number; errors: number; unknown: Set<number> }> {
  const clients: RaftlockClient[] = await Promise.all(
    Array.from({ length: 4 }, (_, k) => connect({ endpoints: [...endpoints], clientId: `scale-${k}` })),
  );
  let next = 0;
  let done = 0;
  let errors = 0;
  const unknown = new Set<number>();
  const t0 = performance.now();
  const deadline = t0 + PHASE_LIMIT_MS;
  const ticker = setInterval(
    () =>
      log(
        `  counters: ${done.toLocaleString('en-US')} / ${n.toLocaleString('en-US')} (${Math.round(done / ((performance.now() - t0) / 1000))}/s)`,
      ),
    10_000,
  );
  try {
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: 64 }, async () => {
          while (next < n && performance.now() < deadline) {
            const i = next++;
            try {
              await c.counter(`scale/counter-${i}`).add(1);
              done++;
            } catch {
              errors++;
              unknown.add(i);
              await sleep(5);
            }
          }
        }),
      ),
    );
  } finally {
    clearInterval(ticker);
    await Promise.all(clients.map((c) => c.close()));
  }
  if (done + errors < n) throw new Error(`counter load gave up after ${PHASE_LIMIT_MS / 60_000} min at ${done}/${n}`);
  return { ms: performance.now() - t0, errors, unknown };
}

/**
 * Opens `n` sessions (TTL 10 min, never renewed) with 256 requests in flight on one connection
 * to the leader at a time (a new one every 9,000 sessions), following the leader when it
 * changes. `open-session` carries no sequence number, so a retry after a lost answer may open
 * one extra session (counted as a retry).
 */
async function openSessions(
  cluster: ProcessCluster,
  n: number,
  log: (l: string) => void,
): Promise<{ ms: number; opened: number; retries: number; firstError?: string }> {
  let conn: Promise<Connection> | undefined;
  const connection = (): Promise<Connection> => {
    conn ??= (async () => {
      const leader = await cluster.waitForLeaderHealth(60_000);
      return Connection.open(endpointUrl(cluster.addresses.get(leader.id) ?? ''), 5_000);
    })();
    return conn;
  };
  const reset = (c: Connection): void => {
    c.close();
    retire(c);
  };
  /**
   * Stops using `c` for new requests without closing it: the other requests in flight on it
   * still get their answers. Closing it on the first NOT_LEADER made up to 255 sessions in
   * doubt per leader change; their retries opened extra sessions, past the session limit, in a
   * run with elections (open-session is not idempotent).
   */
  const retire = (c: Connection): void => {
    if (conn !== undefined)
      void conn.then((cur) => {
        if (cur === c) conn = undefined;
      });
    retired.add(c);
  };
  const retired = new Set<Connection>();
  // A connection may hold at most 10,000 live sessions (the client endpoint's
  // maxSessionsPerConnection): move on to a new one well before, leaving room for the requests
  // still in flight on the old one.
  const perConnection = new Map<Connection, number>();
  let next = 0;
  let opened = 0;
  let retries = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + PHASE_LIMIT_MS;
  const ticker = setInterval(
    () => log(`  sessions: ${opened.toLocaleString('en-US')} / ${n.toLocaleString('en-US')} (${retries} retries)`),
    10_000,
  );
  try {
    await Promise.all(
      Array.from({ length: 256 }, async () => {
        while (next < n && performance.now() < deadline) {
          next++;
          for (;;) {
            if (performance.now() > deadline) throw new Error(`session load gave up after ${PHASE_LIMIT_MS / 60_000} min`);
            const c = await connection();
            let r;
            try {
              r = await c.send({ op: 'open-session', ttlMs: 600_000 }).response;
            } catch (err) {
              firstError ??= err instanceof Error ? err.message : String(err);
              retries++;
              reset(c);
              await sleep(50);
              continue;
            }
            if (r.ok) {
              opened++;
              const onIt = (perConnection.get(c) ?? 0) + 1;
              perConnection.set(c, onIt);
              if (onIt === SESSIONS_PER_CONNECTION) retire(c);
              break;
            }
            firstError ??= `${r.error.code}: ${r.error.message}`;
            retries++;
            if (r.error.code !== 'UNAVAILABLE' && r.error.code !== 'NOT_LEADER')
              throw new Error(
                `open-session refused: ${r.error.code}: ${r.error.message} (after ${retries} retries; first failure: ${firstError ?? 'none'})`,
              );
            retire(c); // leadership moved (or is moving): find the leader again
            await sleep(50);
          }
        }
      }),
    );
  } finally {
    clearInterval(ticker);
    if (conn !== undefined)
      void conn.then(
        (c) => c.close(),
        () => undefined,
      );
    for (const c of retired) c.close();
  }
  return { ms: performance.now() - t0, opened, retries, ...(firstError !== undefined ? { firstError } : {}) };
}

/** Median, p99 and maximum of `ms`. */
function spread(ms: readonly number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? NaN };
}

const showSpread = (x: { p50: number; p99: number; max: number }): string =>
  `p50 / p99 / max ${x.p50.toFixed(1)} / ${x.p99.toFixed(1)} / ${x.max.toFixed(1)} ms`;

/** Time of one GET of `url`, to the last byte of its answer. */
async function timedGet(url: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return performance.now() - t;
}

/** Polls `GET /status` on every node every `everyMs` until `stop()`: latencies and failures. */
function pollStatus(cluster: ProcessCluster, everyMs: number): { stop: () => Promise<{ latencies: number[]; failures: number }> } {
  const latencies: number[] = [];
  let failures = 0;
  let polling = true;
  const pollers = cluster.ids.map(async (id) => {
    while (polling) {
      try {
        latencies.push(await timedGet(`http://${cluster.addresses.get(id) ?? ''}/status`));
      } catch {
        failures++;
      }
      await sleep(everyMs);
    }
  });
  return {
    stop: async () => {
      polling = false;
      await Promise.all(pollers);
      return { latencies, failures };
    },
  };
}

/**
 * `n` GET /status on `address` one after another, with a `/healthz` prober alongside; first the
 * prober alone, as its baseline. Both wait for whatever holds the node's event loop, so the
 * prober's answers bound how long a /status holds it.
 */
async function timeStatus(
  address: string,
  n: number,
): Promise<{ status: ReturnType<typeof spread>; healthz: ReturnType<typeof spread>; alone: ReturnType<typeof spread> }> {
  const healthz = `http://${address}/healthz`;
  const alone: number[] = [];
  for (let k = 0; k < n; k++) alone.push(await timedGet(healthz));
  const status: number[] = [];
  const during: number[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) during.push(await timedGet(healthz));
  })();
  try {
    for (let k = 0; k < n; k++) status.push(await timedGet(`http://${address}/status`));
  } finally {
    probing = false;
    await prober;
  }
  return { status: spread(status), healthz: spread(during), alone: spread(alone) };
}

/**
 * The digest's costs on the newest snapshot in `dir`, restored into a machine in this process
 * (a copy of the file is opened: opening a store deletes what looks like an interrupted save).
 */
async function digestCosts(
  dir: string,
): Promise<{ readUs: ReturnType<typeof spread>; scratchMs: number; restoreMs: number; fullHashMs: number }> {
  const newest = newestSnapshot(dir);
  if (newest === undefined) throw new Error(`no snapshot in ${dir}`);
  const name = `snapshot-${newest.index.toString(16).padStart(16, '0')}.snap`;
  const tmp = mkdtempSync(join(tmpdir(), 'raftlock-scale-digest-'));
  try {
    copyFileSync(join(dir, name), join(tmp, name));
    const data = (await FileSnapshotStore.open(tmp)).latest()?.data;
    if (data === undefined) throw new Error(`${name}: no snapshot data`);
    const m = new LockMachine();
    let t = performance.now();
    m.restore(data);
    const restoreMs = performance.now() - t;
    const state = decodeSnapshot(data);
    t = performance.now();
    const scratch = digestOfState(state);
    const scratchMs = performance.now() - t;
    if (scratch !== m.digest()) throw new Error(`${name}: the restored machine's digest is not that of its snapshot`);
    const reads: number[] = [];
    for (let k = 0; k < 10_000; k++) {
      t = performance.now();
      m.digest();
      reads.push((performance.now() - t) * 1000);
    }
    t = performance.now();
    createHash('sha256').update(m.snapshot()).digest('hex');
    const fullHashMs = performance.now() - t;
    return { readUs: spread(reads), scratchMs, restoreMs, fullHashMs };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function newestSnapshot(dir: string): { index: number; bytes: number } | undefined {
  if (!existsSync(dir)) return undefined;
  let best: { index: number; bytes: number } | undefined;
  for (const name of readdirSync(dir)) {
    const m = /^snapshot-([0-9a-f]{16})\.snap$/.exec(name);
    if (m === null) continue;
    const index = parseInt(m[1] as string, 16);
    if (best !== undefined && index <= best.index) continue;
    // The node removes older snapshot files once a new one is in place: one listed a moment ago
    // may be gone already.
    const bytes = statSync(join(dir, name), { throwIfNoEntry: false })?.size;
    if (bytes !== undefined) best = { index, bytes };
  }
  return best;
}

/** Asks node `id` for a snapshot; resolves when its file is in place, with timing and size. */
async function timeSnapshot(
  cluster: ProcessCluster,
  id: number,
  probe: RaftlockClient,
  probeName: string,
): Promise<{ ms: number; bytes: number; index: number; maxStallMs: number }> {
  const dir = join(cluster.dir, 'data', `node-${id}`, 'snapshots');
  const before = newestSnapshot(dir)?.index ?? 0;
  let maxStallMs = 0;
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const t = performance.now();
      await probe
        .counter(probeName)
        .get()
        .catch(() => undefined);
      maxStallMs = Math.max(maxStallMs, performance.now() - t);
      await sleep(10);
    }
  })();
  const t0 = performance.now();
  const res = await fetch(`http://${cluster.addresses.get(id) ?? ''}/admin/snapshot`, {
    method: 'POST',
    signal: AbortSignal.timeout(60_000),
  });
  if (!res.ok) throw new Error(`POST /admin/snapshot on node ${id}: HTTP ${res.status}`);
  const snap = await waitFor(
    `node ${id}'s snapshot file`,
    async () => {
      const s = newestSnapshot(dir);
      return s !== undefined && s.index > before ? s : undefined;
    },
    120_000,
    10,
  );
  const ms = performance.now() - t0;
  await sleep(200);
  probing = false;
  await prober;
  return { ms, bytes: snap.bytes, index: snap.index, maxStallMs };
}

export async function runScale(o: ScaleOptions): Promise<number> {
  const out = (line: string): void => {
    (o.json ? process.stderr : process.stdout).write(`${line}\n`);
  };
  if (o.runtime === 'dist' && o.build) ensureBuilt(o.log);
  const inspectPorts = new Map<number, number>((await freePorts(3)).map((p, k) => [k + 1, p]));
  const cluster = await startBenchCluster(
    {
      runtime: o.runtime,
      ...(o.snapshotEvery !== undefined ? { snapshotEvery: o.snapshotEvery } : {}),
      // Slack for opens left in doubt by a lost connection (open-session is not idempotent):
      // snapshots of 1M counters can block a node past the election timeout during the load.
      limits: { maxSessions: o.sessions + Math.max(5_000, Math.ceil(o.sessions / 20)), maxCounters: o.counters + 1_000 },
      nodeArgs: (id) => [`--inspect=127.0.0.1:${String(inspectPorts.get(id))}`],
    },
    false,
  );
  const probeName = 'scale/probe';
  try {
    await cluster.waitForLeaderHealth(30_000);
    out('raftlock scale benchmark');
    for (const l of machineLines()) out(l);
    out(`raftlock: ${describeCluster(cluster)}`);
    out(
      `load: ${o.counters.toLocaleString('en-US')} counters (scale/counter-<i>, one add each, 4 clients x 64 in flight), then ${o.sessions.toLocaleString('en-US')} sessions (TTL 10 min, 256 in flight)`,
    );

    const base = await memoryOfAll(inspectPorts);
    const probe = await connect({ endpoints: cluster.endpoints, clientId: 'scale-probe' });
    await probe.counter(probeName).set(7);
    const mem = (m: Map<number, MemoryUsage>, k: 'heapUsed' | 'rss' = 'heapUsed'): string =>
      cluster.ids.map((id) => `${((m.get(id)?.[k] ?? 0) / MiB).toFixed(0)}`).join('/');
    const per = (a: Map<number, MemoryUsage>, b: Map<number, MemoryUsage>, n: number, k: 'heapUsed' | 'rss'): string =>
      n === 0 ? '-' : cluster.ids.map((id) => `${Math.round(((b.get(id)?.[k] ?? 0) - (a.get(id)?.[k] ?? 0)) / n)}`).join('/');
    /** Snapshots every node in turn (leader first); the log is compacted behind each snapshot. */
    const snapshotAll = async (what: string): Promise<number> => {
      const leaderId = (await cluster.waitForLeaderHealth(60_000)).id;
      let worst = 0;
      for (const id of [leaderId, ...cluster.ids.filter((x) => x !== leaderId)]) {
        o.log(`snapshot of node ${id} (${what})...`);
        await probe.counter(probeName).set(7); // something applied since the last snapshot, so one is taken
        const r = await timeSnapshot(cluster, id, probe, probeName);
        worst = Math.max(worst, r.ms);
        out(
          `snapshot with ${what}, node ${id}${id === leaderId ? ' (leader)' : ''}: ${r.ms.toFixed(0)} ms, ${(r.bytes / MiB).toFixed(1)} MiB at index ${r.index}; longest linearizable read meanwhile ${r.maxStallMs.toFixed(0)} ms`,
        );
        await sleep(1_000); // the log compaction that follows the snapshot
      }
      return worst;
    };

    const elections0 = await cluster.elections();
    o.log(`loading ${o.counters} counters...`);
    const poller = pollStatus(cluster, 100);
    const c = await loadCounters(cluster.endpoints, o.counters, o.log);
    const polled = await poller.stop();
    const elections1 = await cluster.elections();
    out(
      `counters loaded in ${(c.ms / 1000).toFixed(1)} s (${Math.round(o.counters / (c.ms / 1000))}/s, ${c.errors} errors, ${elections1 - elections0} elections meanwhile)`,
    );
    const pollSpread = spread(polled.latencies);
    out(
      `GET /status every 100 ms on each node during the counter load: ${polled.latencies.length} answers, ${showSpread(pollSpread)}, ${polled.failures} failed`,
    );
    const snapCountersMs = await snapshotAll(`${o.counters.toLocaleString('en-US')} counters`);
    const afterCounters = await memoryOfAll(inspectPorts);

    const leader = await cluster.waitForLeaderHealth(60_000);
    o.log(`opening ${o.sessions} sessions on the leader (node ${leader.id})...`);
    const elections1b = await cluster.elections();
    const s = o.sessions > 0 ? await openSessions(cluster, o.sessions, o.log) : { ms: 0, opened: 0, retries: 0 };
    out(
      `sessions opened in ${(s.ms / 1000).toFixed(1)} s (${s.opened} opened, ${s.retries} retried${'firstError' in s && s.firstError !== undefined ? ` (first: ${s.firstError})` : ''}, ${(await cluster.elections()) - elections1b} elections meanwhile)`,
    );
    const snapAllMs =
      o.sessions > 0
        ? await snapshotAll(`${o.counters.toLocaleString('en-US')} counters + ${s.opened.toLocaleString('en-US')} sessions`)
        : snapCountersMs;
    const afterSessions = await memoryOfAll(inspectPorts);
    const elections2 = await cluster.elections();
    out(`elections from the end of the counter load to here (timed snapshots, sessions): ${elections2 - elections1}`);
    await probe.close();
    const worstSnapMs = Math.max(snapCountersMs, snapAllMs);

    out(
      `heapUsed after full GC, MiB (nodes 1/2/3): empty ${mem(base)}; with the counters ${mem(afterCounters)}; + sessions ${mem(afterSessions)} (RSS ${mem(afterSessions, 'rss')})`,
    );
    out(
      `memory per counter, bytes (nodes 1/2/3): heap ${per(base, afterCounters, o.counters, 'heapUsed')}, rss ${per(base, afterCounters, o.counters, 'rss')}`,
    );
    out(
      `memory per session, bytes (nodes 1/2/3): heap ${per(afterCounters, afterSessions, s.opened, 'heapUsed')}, rss ${per(afterCounters, afterSessions, s.opened, 'rss')} (RSS deltas are noisy: freed memory goes back to the OS)`,
    );

    o.log('restarting all nodes...');
    await Promise.all(cluster.ids.map((id) => cluster.stop(id)));
    const t0 = performance.now();
    for (const id of cluster.ids) cluster.start(id);
    const firstAnswer = new Map<number, number>();
    const answered = waitFor(
      'every node to answer /healthz',
      async () => {
        for (const id of cluster.ids) {
          if (!firstAnswer.has(id) && (await cluster.health(id)) !== undefined) firstAnswer.set(id, performance.now() - t0);
        }
        return firstAnswer.size === cluster.ids.length ? true : undefined;
      },
      120_000,
      20,
    );
    const { client: serving, value } = await firstLinearizableRead(cluster, probeName, 'scale-after');
    const restartMs = performance.now() - t0;
    await answered;
    const sample = Array.from({ length: 200 }, (_, k) => Math.floor((k * o.counters) / 200));
    let wrong = 0;
    for (const i of sample) {
      const v = await serving.counter(`scale/counter-${i}`).get();
      if (v !== 1 && !(c.unknown.has(i) && v === 0)) wrong++;
    }
    await serving.close();
    const afterRestart = await memoryOfAll(inspectPorts);
    out(
      `restart to serving: ${restartMs.toFixed(0)} ms from spawning the 3 nodes to the first linearizable read (value ${String(value)}, expected 7); nodes answered /healthz after ${cluster.ids.map((id) => `${Math.round(firstAnswer.get(id) ?? NaN)}`).join('/')} ms`,
    );
    out(
      `after the restart: heapUsed after full GC, MiB ${mem(afterRestart)}; ${sample.length - wrong}/${sample.length} sampled counters read 1`,
    );

    const leaderNow = await cluster.waitForLeaderHealth(60_000);
    const st = await timeStatus(cluster.addresses.get(leaderNow.id) ?? '', 500);
    out(
      `GET /status on the leader (node ${leaderNow.id}) with this state, 500 one after another: ${showSpread(st.status)}; GET /healthz alongside: ${showSpread(st.healthz)} (alone: ${showSpread(st.alone)})`,
    );
    const dc = await digestCosts(join(cluster.dir, 'data', `node-${leaderNow.id}`, 'snapshots'));
    out(
      `state digest on node ${leaderNow.id}'s snapshot, in this process: reading it (per /status) p50 / p99 / max ${dc.readUs.p50.toFixed(1)} / ${dc.readUs.p99.toFixed(1)} / ${dc.readUs.max.toFixed(1)} us over 10,000 reads; from scratch ${dc.scratchMs.toFixed(0)} ms (part of a restore, ${dc.restoreMs.toFixed(0)} ms in all); SHA-256 of a fresh snapshot, as /status did before: ${dc.fullHashMs.toFixed(0)} ms`,
    );
    out(
      `targets: snapshot of ${o.counters.toLocaleString('en-US')} counters <= 2 s: ${worstSnapMs <= 2_000 ? 'met' : 'MISS'} (slowest node ${worstSnapMs.toFixed(0)} ms); restart to serving <= 5 s: ${restartMs <= 5_000 ? 'met' : 'MISS'} (${restartMs.toFixed(0)} ms); GET /status <= 10 ms: ${st.status.max <= 10 ? 'met' : 'MISS'} (slowest ${st.status.max.toFixed(1)} ms, which includes HTTP and scheduling: the slowest /healthz alone took ${st.alone.max.toFixed(1)} ms)`,
    );
    out(`after: ${loadLine()}`);
    if (o.json) {
      const heapPer = (a: Map<number, MemoryUsage>, b: Map<number, MemoryUsage>, n: number): number =>
        n === 0 ? NaN : Math.round(Math.max(...cluster.ids.map((id) => (b.get(id)?.heapUsed ?? 0) - (a.get(id)?.heapUsed ?? 0))) / n);
      process.stdout.write(
        `${JSON.stringify({
          counters: o.counters,
          sessions: s.opened,
          heapBytesPerCounter: heapPer(base, afterCounters, o.counters),
          heapBytesPerSession: heapPer(afterCounters, afterSessions, s.opened),
          snapshotMs: Math.round(worstSnapMs),
          restartToServingMs: Math.round(restartMs),
          statusP50Ms: st.status.p50,
          statusP99Ms: st.status.p99,
          statusMaxMs: st.status.max,
          healthzMaxMsAlongsideStatus: st.healthz.max,
          healthzMaxMsAlone: st.alone.max,
          statusPollMaxMsDuringLoad: pollSpread.max,
          statusPollFailuresDuringLoad: polled.failures,
          digestReadMaxUs: dc.readUs.max,
          digestFromScratchMs: Math.round(dc.scratchMs),
          restoreMs: Math.round(dc.restoreMs),
          snapshotSha256Ms: Math.round(dc.fullHashMs),
          loadCountersPerSec: Math.round(o.counters / (c.ms / 1000)),
          electionsDuringLoad: elections1 - elections0,
          errors: c.errors + wrong,
        })}\n`,
      );
    }
    return wrong === 0 && value === 7 ? 0 : 1;
  } finally {
    await cluster.destroy({ graceMs: 15_000 });
  }
}
