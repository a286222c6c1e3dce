/**
 * The node processes of a chaos run: `raftlock start` per node (from source through tsx, so a
 * run always tests the code in the tree), data under `<out>/data`, logs under `<out>/logs`, and
 * one {@link LinkProxy} per directed peer link. Every node dials each peer through the proxy of
 * that link (`raftlock start --dial`, hidden), so all peer traffic crosses a proxy the nemesis
 * controls, while the configuration, and so every leader hint given to clients, keeps the
 * nodes' real addresses (an earlier version put proxies in per-node configurations, and
 * clients following a hint into a blocked proxy stalled for a connect timeout).
 *
 * Only processes started here are signalled, by the PIDs recorded here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinkProxy } from '../lib/link-proxy.js';
import { freePorts } from '../lib/ports.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'src/cli/main.ts');

/** What `/status` answers (the fields a chaos run reads). */
export interface NodeStatusLite {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
  readonly commit: number;
  readonly applied: number;
  readonly digest: string;
}

/** Settings of a {@link ChaosCluster}. */
export interface ChaosClusterOptions {
  readonly nodes: number;
  readonly out: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEvery: number;
}

/** A cluster of node processes behind per-link proxies. */
export class ChaosCluster {
  private readonly procs = new Map<number, ChildProcess>();
  private readonly paused = new Set<number>();
  private readonly logs = new Map<number, WriteStream>();
  /** `links.get(i).get(j)`: the proxy node i dials node j through. */
  private readonly links = new Map<number, Map<number, LinkProxy>>();

  private constructor(
    readonly ids: readonly number[],
    private readonly ports: ReadonlyMap<number, number>,
    private readonly configPath: string,
    private readonly dial: ReadonlyMap<number, string>,
    private readonly out: string,
  ) {}

  static async create(opts: ChaosClusterOptions): Promise<ChaosCluster> {
    const ids = Array.from({ length: opts.nodes }, (_, k) => k + 1);
    const real = await freePorts(opts.nodes);
    const ports = new Map(ids.map((id, k) => [id, real[k] as number]));
    const links = new Map<number, Map<number, LinkProxy>>();
    for (const i of ids) {
      const m = new Map<number, LinkProxy>();
      for (const j of ids) if (j !== i) m.set(j, await LinkProxy.start(`127.0.0.1:${ports.get(j)}`, 'drop'));
      links.set(i, m);
    }
    mkdirSync(join(opts.out, 'config'), { recursive: true });
    mkdirSync(join(opts.out, 'logs'), { recursive: true });
    // One configuration for all (clients are told the real addresses); each node dials its
    // peers through the proxies of its links (`--dial`).
    const config = {
      clusterId: 'chaos',
      nodes: ids.map((j) => ({ id: j, address: `127.0.0.1:${ports.get(j)}` })),
      dataDir: join(opts.out, 'data'),
      tickMs: opts.tickMs,
      electionTicks: opts.electionTicks,
      heartbeatTicks: 1,
      snapshotEvery: opts.snapshotEvery,
    };
    const configPath = join(opts.out, 'config', 'cluster.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const dial = new Map(ids.map((i) => [i, ids.filter((j) => j !== i).map((j) => `${j}=127.0.0.1:${links.get(i)?.get(j)?.port}`).join(',')]));
    const c = new ChaosCluster(ids, ports, configPath, dial, opts.out);
    for (const [i, m] of links) c.links.set(i, m);
    return c;
  }

  /** The nodes' own client addresses (`127.0.0.1:port`), in id order. */
  get endpoints(): string[] {
    return this.ids.map((id) => `127.0.0.1:${this.ports.get(id)}`);
  }

  isRunning(id: number): boolean {
    return this.procs.has(id);
  }

  isPaused(id: number): boolean {
    return this.paused.has(id);
  }

  /** Starts node `id`, optionally with its log clock skewed by `clockOffsetMs`. */
  start(id: number, clockOffsetMs = 0): void {
    if (this.procs.has(id)) throw new Error(`node ${id} is already running`);
    const args = ['--import', 'tsx', CLI, 'start', '--config', this.configPath, '--id', String(id), '--dial', this.dial.get(id) as string];
    if (clockOffsetMs !== 0) args.push('--clock-offset', String(clockOffsetMs));
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RAFTLOCK_LOG_LEVEL: 'info' } });
    let log = this.logs.get(id);
    if (log === undefined) {
      log = createWriteStream(join(this.out, 'logs', `node-${id}.log`), { flags: 'a' });
      this.logs.set(id, log);
    }
    child.stderr?.pipe(log, { end: false });
    child.on('exit', () => {
      if (this.procs.get(id) === child) {
        this.procs.delete(id);
        this.paused.delete(id);
      }
    });
    this.procs.set(id, child);
  }

  startAll(): void {
    for (const id of this.ids) this.start(id);
  }

  /** SIGKILLs node `id` and waits for it to be gone. */
  async kill(id: number): Promise<void> {
    const child = this.procs.get(id);
    if (child === undefined) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }

  pause(id: number): void {
    const child = this.procs.get(id);
    if (child === undefined || this.paused.has(id)) return;
    child.kill('SIGSTOP');
    this.paused.add(id);
  }

  resume(id: number): void {
    const child = this.procs.get(id);
    if (child === undefined || !this.paused.has(id)) return;
    child.kill('SIGCONT');
    this.paused.delete(id);
  }

  /** Blocks the directed link from → to (from's messages no longer reach to). */
  block(from: number, to: number): void {
    this.links.get(from)?.get(to)?.block();
  }

  /** Cuts every link between the two groups, both ways. */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const i of a) {
      for (const j of b) {
        this.block(i, j);
        this.block(j, i);
      }
    }
  }

  /** Heals every link. */
  healLinks(): void {
    for (const m of this.links.values()) for (const p of m.values()) p.heal();
  }

  /** `/status` of node `id`, or undefined if it does not answer within 1 s. */
  async status(id: number): Promise<NodeStatusLite | undefined> {
    if (this.paused.has(id) || !this.procs.has(id)) return undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${this.ports.get(id)}/status`, { signal: AbortSignal.timeout(1000) });
      return res.ok ? ((await res.json()) as NodeStatusLite) : undefined;
    } catch {
      return undefined;
    }
  }

  async statuses(): Promise<NodeStatusLite[]> {
    const all = await Promise.all(this.ids.map((id) => this.status(id)));
    return all.filter((s): s is NodeStatusLite => s !== undefined);
  }

  /** The leader every running node agrees on, if there is one now. */
  async agreedLeader(): Promise<number | undefined> {
    const sts = await this.statuses();
    if (sts.length < this.procs.size) return undefined;
    const leader = sts.find((s) => s.role === 'leader');
    if (leader === undefined) return undefined;
    return sts.every((s) => s.leader === leader.id && s.term === leader.term) ? leader.id : undefined;
  }

  /** The current leader as far as any node knows (for targeting faults), or undefined. */
  async currentLeader(): Promise<number | undefined> {
    const sts = await this.statuses();
    return sts.find((s) => s.role === 'leader')?.id;
  }

  /** Stops every process (SIGKILL) and proxy. */
  async destroy(): Promise<void> {
    for (const id of [...this.paused]) this.resume(id);
    await Promise.all([...this.procs.keys()].map((id) => this.kill(id)));
    for (const m of this.links.values()) for (const p of m.values()) await p.close();
    for (const l of this.logs.values()) l.end();
  }
}
