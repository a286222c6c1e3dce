/**
 * A raftlock cluster for the benchmark: N node processes started through the CLI
 * (`node dist/cli/main.js start --config F --id N`, or from source with tsx) on free loopback
 * ports, data in a fresh temporary directory, fsync on (the log's default: every Raft write is a
 * synced LevelDB batch), stopped by the PIDs recorded at start.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeStatus } from '../../src/protocol/index.js';
import { freePorts, ServerProcess, waitUntil } from './processes.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** How the node processes run: the built `dist/` (faster start, no transpiling) or `src/` via tsx. */
export type RaftlockRuntime = 'dist' | 'source';

export interface RaftlockClusterOptions {
  readonly nodes?: number;
  readonly runtime: RaftlockRuntime;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly snapshotEvery?: number;
  readonly limits?: Readonly<Record<string, number>>;
  /** `RAFTLOCK_LOG_LEVEL` of the nodes (default warn: logging is not what is measured). */
  readonly logLevel?: string;
  /** Write a V8 CPU profile of every node into this directory (written at a graceful stop). */
  readonly cpuProfDir?: string;
  /** Extra `node` options for node `id` (e.g. `--inspect=127.0.0.1:PORT`). */
  readonly nodeArgs?: (id: number) => readonly string[];
  /** Skip waiting for a leader at start (the caller waits its own way). */
  readonly noWait?: boolean;
  readonly log: (line: string) => void;
}

/** The newest modification time (ms) of the files under `dir`. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Compiles `src/` into `dist/` (`tsc -p tsconfig.build.json`) unless `dist/cli/main.js` is newer
 * than every file of `src/`. Throws with tsc's output if the build fails.
 */
export function ensureBuilt(log: (line: string) => void, force = false): 'fresh' | 'built' {
  const main = join(REPO, 'dist/cli/main.js');
  if (!force && existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(REPO, 'src'))) return 'fresh';
  log('building dist/ (tsc -p tsconfig.build.json) because src/ changed since the last build...');
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? String(err);
    throw new Error(`the build failed (run \`npm run build\` to see why, or pass --runtime source):\n${out.split('\n').slice(0, 20).join('\n')}`);
  }
  return 'built';
}

export class RaftlockCluster {
  readonly dir: string;
  readonly configPath: string;
  readonly addresses: ReadonlyMap<number, string>;
  readonly config: Readonly<Record<string, unknown>>;
  private readonly procs = new Map<number, ServerProcess>();

  private constructor(dir: string, configPath: string, config: Record<string, unknown>, addresses: Map<number, string>, private readonly opts: RaftlockClusterOptions) {
    this.dir = dir;
    this.configPath = configPath;
    this.config = config;
    this.addresses = addresses;
  }

  /** Writes the configuration (free ports, temp data dir) and starts every node. */
  static async start(opts: RaftlockClusterOptions): Promise<RaftlockCluster> {
    const n = opts.nodes ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-bench-'));
    const ports = await freePorts(n);
    const nodes = ports.map((port, k) => ({ id: k + 1, address: `127.0.0.1:${port}` }));
    const config: Record<string, unknown> = {
      clusterId: 'bench',
      nodes,
      dataDir: join(dir, 'data'),
      tickMs: opts.tickMs ?? 50,
      electionTicks: opts.electionTicks ?? 10,
      heartbeatTicks: 1,
      ...(opts.snapshotEvery !== undefined ? { snapshotEvery: opts.snapshotEvery } : {}),
      ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
    };
    const configPath = join(dir, 'cluster.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    if (opts.cpuProfDir !== undefined) mkdirSync(opts.cpuProfDir, { recursive: true });
    const cluster = new RaftlockCluster(dir, configPath, config, new Map(nodes.map((x) => [x.id, x.address])), opts);
    try {
      for (const id of cluster.ids) cluster.startNode(id);
      if (opts.noWait !== true) await cluster.waitForLeader(30_000);
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  get ids(): number[] {
    return [...this.addresses.keys()];
  }

  get endpoints(): string[] {
    return [...this.addresses.values()];
  }

  get pids(): number[] {
    return [...this.procs.values()].filter((p) => p.running).map((p) => p.pid);
  }

  /** One line describing the configuration, for the header. */
  describe(): string {
    const c = this.config;
    return `${this.ids.length} nodes on 127.0.0.1 (${this.endpoints.join(', ')}), tickMs ${String(c['tickMs'])}, electionTicks ${String(c['electionTicks'])}, heartbeatTicks 1, snapshotEvery ${String(this.opts.snapshotEvery ?? 10000)}, fsync on (synced LevelDB batches), data in ${this.dir}, runtime ${this.opts.runtime}`;
  }

  /** Starts node `id` (`raftlock start`); its log goes to `<dir>/node-<id>.log`. */
  startNode(id: number): ServerProcess {
    if (this.procs.get(id)?.running === true) throw new Error(`node ${id} already running`);
    const nodeArgs: string[] = [...(this.opts.nodeArgs?.(id) ?? [])];
    if (this.opts.cpuProfDir !== undefined) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', this.opts.cpuProfDir, '--cpu-prof-name', `node-${id}-${Date.now()}.cpuprofile`);
    const cli = this.opts.runtime === 'dist' ? [join(REPO, 'dist/cli/main.js')] : ['--import', 'tsx', join(REPO, 'src/cli/main.ts')];
    const p = ServerProcess.start(
      `raftlock node ${id}`,
      process.execPath,
      [...nodeArgs, ...cli, 'start', '--config', this.configPath, '--id', String(id)],
      join(this.dir, `node-${id}.log`),
      { ...process.env, RAFTLOCK_LOG_LEVEL: this.opts.logLevel ?? 'warn' },
      REPO,
    );
    this.procs.set(id, p);
    return p;
  }

  /** Graceful stop of node `id` (SIGTERM; a leader hands over first), SIGKILL after 15 s. */
  async stopNode(id: number): Promise<void> {
    await this.procs.get(id)?.stop(15_000);
  }

  async status(id: number): Promise<NodeStatus | undefined> {
    try {
      const res = await fetch(`http://${this.addresses.get(id) ?? ''}/status`, { signal: AbortSignal.timeout(2_000) });
      return res.ok ? ((await res.json()) as NodeStatus) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * `GET /healthz` of node `id`: its view of the leader, or undefined if it does not answer.
   * Cheap at any state size (unlike /status, which hashes a snapshot of the whole state).
   */
  async health(id: number): Promise<{ ok: boolean; role: string; term: number; leader: number } | undefined> {
    try {
      const res = await fetch(`http://${this.addresses.get(id) ?? ''}/healthz`, { signal: AbortSignal.timeout(2_000) });
      return (await res.json()) as { ok: boolean; role: string; term: number; leader: number };
    } catch {
      return undefined;
    }
  }

  /** Like {@link waitForLeader} but through `/healthz` only (cheap whatever the state size). */
  async waitForLeaderHealth(timeoutMs: number): Promise<{ id: number; term: number }> {
    return waitUntil('a leader agreed on by every node (healthz)', async () => {
      const hs = await Promise.all(this.ids.map((id) => this.health(id)));
      const first = hs[0];
      if (first === undefined || first.leader === 0) return undefined;
      return hs.every((h) => h !== undefined && h.leader === first.leader && h.term === first.term) ? { id: first.leader, term: first.term } : undefined;
    }, timeoutMs);
  }

  /** Elections started so far by each node (`raftlock_elections_total`), from /metrics. */
  async elections(): Promise<number> {
    let total = 0;
    for (const a of this.addresses.values()) {
      try {
        const text = await (await fetch(`http://${a}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
        total += Number(/^raftlock_elections_total (\d+)/m.exec(text)?.[1] ?? 0);
      } catch {
        // not answering
      }
    }
    return total;
  }

  /** Waits until every running node agrees on one leader; returns its status. */
  async waitForLeader(timeoutMs: number): Promise<NodeStatus> {
    return waitUntil('a leader agreed on by every node', async () => {
      for (const [id, p] of this.procs) {
        if (!p.running) throw new Error(`raftlock node ${id} exited during start-up; its log (${p.logFile}):\n${p.logTail()}`);
      }
      const sts = (await Promise.all(this.ids.map((id) => this.status(id)))).filter((s): s is NodeStatus => s !== undefined);
      if (sts.length < this.ids.length) return undefined;
      const leader = sts.find((s) => s.role === 'leader');
      return leader !== undefined && sts.every((s) => s.leader === leader.id && s.term === leader.term) ? leader : undefined;
    }, timeoutMs);
  }

  /** A running node that exited unexpectedly (with the tail of its log), if any. */
  deadNode(): string | undefined {
    for (const [id, p] of this.procs) if (!p.running) return `raftlock node ${id} is not running; log ${p.logFile}:\n${p.logTail(10)}`;
    return undefined;
  }

  /** Stops every node (gracefully, so CPU profiles get written) and removes the data. */
  async destroy(keepData = false): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => p.stop(15_000)));
    if (!keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}
