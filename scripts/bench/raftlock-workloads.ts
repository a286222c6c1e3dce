/**
 * The workloads on raftlock, through the SDK (`src/client`), as a user would write them:
 *
 * - counters: `client.counter(name).add(1)` (one exactly-once write, no read-modify-write);
 * - locks: `client.lock(name, { waitMs })` then `lock.release()`: the cluster queues waiters
 *   FIFO and grants the next one in the same log entry that releases, so no client retries;
 * - get: `counter.get()`, a linearizable (ReadIndex) read.
 *
 * One client (one WebSocket, one session) serves every worker, except in `lock-hot`: there each
 * worker has its own client, because one client's holders of a lock are serialised by the
 * SDK's in-process gate before the cluster sees them; separate sessions make the cluster do the
 * handoffs, as separate processes contending for one lock would (and as etcd's workers, each
 * with its own lease, do).
 */
import { mkdirSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { connect, RaftlockError, UnavailableError, type ClientTls, type RaftlockClient } from '../../src/client/index.js';
import { ProcessCluster, type Runtime } from '../lib/cluster.js';
import { waitFor } from '../lib/wait.js';
import { describeDelta, sampleLeader } from './raft-metrics.js';
import { CounterTally, LockObserver, type Check, type Target, type WorkloadName, type WorkloadRun } from './workload.js';

export interface BenchClusterOptions {
  readonly runtime: Runtime;
  readonly snapshotEvery?: number;
  readonly limits?: Readonly<Record<string, number>>;
  /** Write a V8 CPU profile of every node into this directory (written at a graceful stop). */
  readonly cpuProfDir?: string;
  /** Extra `node` options for node `id` (e.g. `--inspect=127.0.0.1:PORT`). */
  readonly nodeArgs?: (id: number) => readonly string[];
  /** TLS on every node (certificates made at start), clients over wss:// (`--tls`). */
  readonly tls?: boolean;
}

/**
 * The benchmark's 3-node cluster, started: tick 50 ms, election after 10 ticks, logging at
 * warn (logging is not what is measured), fsync on (the log's default: every Raft write is a
 * synced LevelDB batch), a temporary directory. `waitForLeader: false` leaves the wait to the
 * caller. Destroy it with `{ graceMs: 15_000 }` so CPU profiles get written.
 */
export async function startBenchCluster(opts: BenchClusterOptions, waitForLeader = true): Promise<ProcessCluster> {
  const prof = opts.cpuProfDir;
  if (prof !== undefined) mkdirSync(prof, { recursive: true });
  const cluster = await ProcessCluster.create({
    nodes: 3,
    clusterId: 'bench',
    tickMs: 50,
    electionTicks: 10,
    runtime: opts.runtime,
    logLevel: 'warn',
    httpTimeoutMs: 2_000,
    ...(opts.snapshotEvery !== undefined ? { snapshotEvery: opts.snapshotEvery } : {}),
    ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
    ...(opts.tls === true ? { tls: {} } : {}),
    nodeArgs: (id) => [
      ...(opts.nodeArgs?.(id) ?? []),
      ...(prof !== undefined ? ['--cpu-prof', '--cpu-prof-dir', prof, '--cpu-prof-name', `node-${id}-${Date.now()}.cpuprofile`] : []),
    ],
  });
  try {
    cluster.startAll();
    if (waitForLeader) await cluster.waitForLeader(cluster.ids, 30_000);
  } catch (err) {
    await cluster.destroy({ graceMs: 15_000 });
    throw err;
  }
  return cluster;
}

/** One line describing the cluster's configuration, for the header. */
export function describeCluster(c: ProcessCluster): string {
  const setting = (key: string, fallback = '?'): string => {
    const v = c.config[key];
    return typeof v === 'number' || typeof v === 'string' ? String(v) : fallback;
  };
  return `${c.ids.length} nodes on 127.0.0.1 (${c.endpoints.join(', ')}), tickMs ${setting('tickMs')}, electionTicks ${setting('electionTicks')}, heartbeatTicks 1, snapshotEvery ${setting('snapshotEvery', '10000')}, fsync on (synced LevelDB batches), data in ${c.dir}, runtime ${c.runtime}`;
}

/**
 * Connects to `cluster` and reads counter `name` linearizably, trying again every 10 ms until
 * that works (the cluster may be starting): how long a restart takes to serve. Resolves with
 * the connected client (the caller closes it) and the value read.
 */
export async function firstLinearizableRead(
  cluster: ProcessCluster,
  name: string,
  clientId: string,
): Promise<{ readonly client: RaftlockClient; readonly value: number }> {
  let client: RaftlockClient | undefined;
  let value: number | undefined;
  try {
    await waitFor(
      'a linearizable read after the restart',
      async () => {
        try {
          client ??= await connect({ ...reachOf(cluster), clientId, timeoutMs: 2_000, connectTimeoutMs: 500 });
          value = await client.counter(name).get({ timeoutMs: 1_000 });
          return true;
        } catch {
          return undefined;
        }
      },
      120_000,
      10,
    );
  } catch (err) {
    await client?.close();
    throw err;
  }
  return { client: client as RaftlockClient, value: value as number };
}

/** Where and how a client reaches `cluster`: its endpoints and, with TLS, the CA and a client certificate. */
export function reachOf(cluster: ProcessCluster): { endpoints: string[]; tls?: ClientTls } {
  const tls = cluster.clientTls;
  return { endpoints: cluster.endpoints, ...(tls !== undefined ? { tls } : {}) };
}

/** Whether a failed write may still have been applied. */
function mayHaveApplied(err: unknown): boolean {
  if (err instanceof UnavailableError) return err.outcomeUnknown;
  return !(err instanceof RaftlockError);
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export class RaftlockTarget implements Target {
  readonly name: 'raftlock' | 'raftlock-tls';
  private rows = 0;

  private constructor(
    readonly cluster: ProcessCluster,
    private readonly client: RaftlockClient,
    private readonly lockWaitMs: number,
  ) {
    this.name = cluster.clientTls !== undefined ? 'raftlock-tls' : 'raftlock';
  }

  static async start(opts: BenchClusterOptions): Promise<RaftlockTarget> {
    const cluster = await startBenchCluster(opts);
    try {
      const client = await connect({ ...reachOf(cluster), clientId: 'bench' });
      return new RaftlockTarget(cluster, client, 30_000);
    } catch (err) {
      await cluster.destroy({ graceMs: 15_000 });
      throw err;
    }
  }

  describe(): string[] {
    return [
      `${this.name}: ${describeCluster(this.cluster)}${this.name === 'raftlock-tls' ? ', TLS (wss://, mutual TLS between peers, EC P-256 certificates)' : ''}`,
      'raftlock client: the SDK (src/client), one WebSocket client per process (per worker in lock-hot)',
    ];
  }

  serverPids(): number[] {
    return this.cluster.pids;
  }

  problem(): string | undefined {
    return this.cluster.deadNode();
  }

  async prepare(workload: WorkloadName, concurrency: number): Promise<WorkloadRun> {
    const run = await this.build(workload, concurrency);
    const before = await sampleLeader(this.cluster);
    return { ...run, notes: async () => describeDelta(before, await sampleLeader(this.cluster)) };
  }

  private async build(workload: WorkloadName, concurrency: number): Promise<WorkloadRun> {
    const pfx = `bench/${++this.rows}/${workload}-c${concurrency}`;
    const client = this.client;
    switch (workload) {
      case 'counter-hot':
      case 'counter-distinct': {
        const tally = new CounterTally();
        const names = Array.from({ length: concurrency }, (_, w) => (workload === 'counter-hot' ? `${pfx}/hot` : `${pfx}/w${w}`));
        const counters = names.map((n) => client.counter(n));
        return {
          async op(w) {
            const name = names[w] as string;
            try {
              await (counters[w] as ReturnType<RaftlockClient['counter']>).add(1);
            } catch (err) {
              if (mayHaveApplied(err)) tally.unknown(name);
              throw err;
            }
            tally.ack(name);
          },
          async verify(): Promise<Check> {
            const values = new Map<string, number>();
            await inBatches([...new Set(names)], 16, async (n) => {
              values.set(n, await client.counter(n).get());
            });
            return tally.check(values);
          },
          retries: () => 0,
          close: async () => {},
        };
      }
      case 'get': {
        const counter = client.counter(`${pfx}/read`);
        const expected = 1_000_000 + concurrency;
        await counter.set(expected);
        let reads = 0;
        let wrong = 0;
        return {
          async op() {
            const v = await counter.get();
            reads++;
            if (v !== expected) wrong++;
          },
          verify: async () => ({
            ok: wrong === 0 && reads > 0,
            detail: `${reads} linearizable reads, ${wrong} returned a value other than ${expected}`,
          }),
          retries: () => 0,
          close: async () => {},
        };
      }
      case 'lock-hot':
      case 'lock-distinct': {
        const obs = new LockObserver();
        const names = Array.from({ length: concurrency }, (_, w) => (workload === 'lock-hot' ? `${pfx}/hot` : `${pfx}/w${w}`));
        const own: RaftlockClient[] = [];
        if (workload === 'lock-hot') {
          for (let i = 0; i < concurrency; i += 16) {
            const batch = await Promise.all(
              Array.from({ length: Math.min(16, concurrency - i) }, (_, k) =>
                connect({ ...reachOf(this.cluster), clientId: `bench-w${i + k}` }),
              ),
            );
            own.push(...batch);
          }
        }
        const clientOf = (w: number): RaftlockClient => own[w] ?? client;
        const waitMs = this.lockWaitMs;
        return {
          async op(w) {
            const name = names[w] as string;
            const lock = await clientOf(w).lock(name, { waitMs });
            obs.enter(name, lock.fencingToken);
            await nextTurn(); // hold across an event-loop turn, so an overlap would be seen
            obs.leave(name);
            await lock.release();
          },
          async verify(): Promise<Check> {
            const left: string[] = [];
            await inBatches([...new Set(names)], 16, async (n) => {
              const info = await client.lockInfo(n);
              if (info.holder !== undefined || info.waiters !== 0)
                left.push(`${n}: ${info.holder !== undefined ? 'held' : 'free'}, ${info.waiters} waiting`);
            });
            return {
              ok: obs.ok && left.length === 0 && obs.grants > 0,
              detail: `${obs.summary()}; ${left.length === 0 ? 'all locks free afterwards' : `left behind: ${left.slice(0, 3).join('; ')}`}`,
            };
          },
          retries: () => 0,
          close: async () => {
            await Promise.all(own.map((c) => c.close()));
          },
        };
      }
    }
  }

  async stop(): Promise<void> {
    await this.client.close();
    await this.cluster.destroy({ graceMs: 15_000 });
  }
}
