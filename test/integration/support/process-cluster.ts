/**
 * Real raftlock node processes for integration tests, started through the CLI
 * (`raftlock start`, run from source with tsx) on free loopback ports with their own temporary
 * data directory. Processes are killed only by the PIDs this harness started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../../scripts/lib/ports.js';
import { waitFor } from '../../../scripts/lib/wait.js';
import type { NodeStatus } from '../../../src/server/node.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO, 'src/cli/main.ts');

export interface ClusterOptions {
  readonly nodes: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly snapshotEvery?: number;
  readonly secret?: string;
  /** Clients must present this token (config `clientToken`). */
  readonly clientToken?: string;
  /** Overrides of the config's `limits` (DESIGN §2.7). */
  readonly limits?: Readonly<Record<string, number>>;
}

export class ProcessCluster {
  readonly dir: string;
  readonly configPath: string;
  readonly addresses: ReadonlyMap<number, string>;
  private readonly procs = new Map<number, ChildProcess>();
  private readonly logs = new Map<number, string[]>();

  private constructor(dir: string, configPath: string, addresses: Map<number, string>) {
    this.dir = dir;
    this.configPath = configPath;
    this.addresses = addresses;
  }

  static async create(opts: ClusterOptions): Promise<ProcessCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-it-'));
    const ports = await freePorts(opts.nodes);
    const nodes = ports.map((port, k) => ({ id: k + 1, address: `127.0.0.1:${port}` }));
    const config = {
      clusterId: 'it',
      nodes,
      dataDir: join(dir, 'data'),
      tickMs: opts.tickMs ?? 25,
      electionTicks: opts.electionTicks ?? 10,
      heartbeatTicks: 1,
      ...(opts.snapshotEvery !== undefined ? { snapshotEvery: opts.snapshotEvery } : {}),
      ...(opts.secret !== undefined ? { secret: opts.secret } : {}),
      ...(opts.clientToken !== undefined ? { clientToken: opts.clientToken } : {}),
      ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
    };
    const configPath = join(dir, 'cluster.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    return new ProcessCluster(dir, configPath, new Map(nodes.map((n) => [n.id, n.address])));
  }

  get ids(): number[] {
    return [...this.addresses.keys()];
  }

  address(id: number): string {
    const a = this.addresses.get(id);
    if (a === undefined) throw new Error(`no node ${id}`);
    return a;
  }

  /** Starts node `id` (`raftlock start`), capturing its log lines. */
  start(id: number, extraArgs: readonly string[] = []): void {
    this.spawnNode(id, this.configPath, id, extraArgs);
  }

  /**
   * Starts an extra process under `slot` (a key other than the node ids) with another
   * configuration: a rogue peer, for example. Killed by destroy() like the others.
   */
  startExtra(slot: number, configPath: string, id: number, extraArgs: readonly string[] = []): void {
    this.spawnNode(slot, configPath, id, extraArgs);
  }

  private spawnNode(slot: number, configPath: string, id: number, extraArgs: readonly string[]): void {
    if (this.procs.has(slot)) throw new Error(`process ${slot} already running`);
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start', '--config', configPath, '--id', String(id), ...extraArgs], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RAFTLOCK_LOG_LEVEL: 'info' },
    });
    const lines = this.logs.get(slot) ?? [];
    this.logs.set(slot, lines);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      lines.push(...chunk.split('\n').filter((l) => l !== ''));
      if (lines.length > 2000) lines.splice(0, lines.length - 2000);
    });
    child.on('exit', () => {
      if (this.procs.get(slot) === child) this.procs.delete(slot);
    });
    this.procs.set(slot, child);
  }

  startAll(): void {
    for (const id of this.ids) this.start(id);
  }

  isRunning(id: number): boolean {
    return this.procs.has(id);
  }

  /** Sends `signal` to node `id`'s process and waits for it to exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.procs.get(id);
    if (child === undefined) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
    this.procs.delete(id);
  }

  /** Freezes node `id` (SIGSTOP): its sockets stay open but it answers nothing. */
  pause(id: number): void {
    this.procs.get(id)?.kill('SIGSTOP');
  }

  /** Thaws a node frozen by {@link pause} (SIGCONT). */
  resume(id: number): void {
    this.procs.get(id)?.kill('SIGCONT');
  }

  /** The client endpoints (`host:port`) of every node, in id order. */
  get endpoints(): string[] {
    return this.ids.map((id) => this.address(id));
  }

  async status(id: number): Promise<NodeStatus | undefined> {
    try {
      const res = await fetch(`http://${this.address(id)}/status`, { signal: AbortSignal.timeout(1000) });
      return res.ok ? ((await res.json()) as NodeStatus) : undefined;
    } catch {
      return undefined;
    }
  }

  async statuses(ids: readonly number[] = this.ids): Promise<NodeStatus[]> {
    const all = await Promise.all(ids.map((id) => this.status(id)));
    return all.filter((s): s is NodeStatus => s !== undefined);
  }

  /** The leader agreed on by every running node among `ids`, once there is one. */
  async waitForLeader(ids: readonly number[] = this.ids.filter((id) => this.isRunning(id)), timeoutMs = 15_000): Promise<NodeStatus> {
    return waitFor(`a leader agreed by nodes ${ids.join(',')}`, async () => {
      const sts = await this.statuses(ids);
      if (sts.length < ids.length) return undefined;
      const leader = sts.find((s) => s.role === 'leader');
      if (leader === undefined) return undefined;
      return sts.every((s) => s.leader === leader.id && s.term === leader.term) ? leader : undefined;
    }, timeoutMs);
  }

  /**
   * Proposes `data` through `POST /admin/propose` on node `id`. Returns the applied index, or
   * an error code (NOT_LEADER, UNAVAILABLE, unreachable).
   */
  async propose(id: number, data: string, timeoutMs = 5000): Promise<{ index: number } | { error: string; leader?: number }> {
    try {
      const res = await fetch(`http://${this.address(id)}/admin/propose`, { method: 'POST', body: data, signal: AbortSignal.timeout(timeoutMs) });
      const body = (await res.json()) as { index?: number; error?: { code: string; leader?: number } };
      if (res.ok && typeof body.index === 'number') return { index: body.index };
      return { error: body.error?.code ?? `HTTP ${res.status}`, ...(body.error?.leader ? { leader: body.error.leader } : {}) };
    } catch (err) {
      return { error: (err as Error).name };
    }
  }

  /** The last log lines of a node (for failure messages). */
  logTail(id: number, lines = 30): string {
    return (this.logs.get(id) ?? []).slice(-lines).join('\n');
  }

  /** Kills every process this cluster started and removes its data. */
  async destroy(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((slot) => this.kill(slot, 'SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
