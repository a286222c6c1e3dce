/**
 * `raftlock cluster up [--nodes 3|5] [--config F] [--data-dir D]`: starts every node of a
 * configuration as a child process (`raftlock start`) on this machine, prints the endpoints,
 * waits until its own nodes agree on a leader, and supervises.
 *
 * Output: this command's own lines (endpoints, progress, what happened) go to stdout; stderr
 * carries only the nodes' JSON-lines logs, forwarded line by line (a line a node writes outside
 * its logger, such as the one-line error of a node that could not start, is wrapped into a JSON
 * line with its `node`).
 *
 * Start: before spawning anything, every node's address is bound once and released, so a port
 * already taken (another cluster, another program) fails at once, naming the node, the port
 * and, if a raftlock node answers there, its cluster and PID. A node that exits before the
 * cluster is ready stops the others, and the command exits 1 naming the node and its own error
 * line. "cluster ready" is printed only when every node answering is one of ours: the right
 * `clusterId` and the PID of the child we spawned (`/status` carries both).
 *
 * Stop: nodes are spawned `detached`, each in a process group of its own, so a terminal's
 * Ctrl-C (SIGINT to the foreground process group) reaches this command only; it then signals
 * each node exactly once (SIGTERM): the leader first, waiting until it has handed leadership
 * over and exited, then the rest. A second Ctrl-C, or 15 s without every node gone, SIGKILLs
 * what is left. Because the nodes are outside the terminal's process group, they must not
 * outlive this command however it ends: each gets `--stop-on-stdin-close` and a stdin pipe
 * whose other end only this process holds, so when it dies, even by SIGKILL, the kernel closes
 * the pipe and every node stops gracefully on its own.
 *
 * Exit code: 0 when the stop was asked for (SIGINT or SIGTERM) and every node stopped cleanly
 * (exit 0); 1 when a node failed to start, died on its own, or had to be killed. A requested,
 * clean stop is the command's normal end (so `npm start` reports no failure), hence not 130.
 * A node that dies while the cluster runs is reported, not restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseHostPort } from '../../protocol/index.js';
import { parseLogLevel, type ClusterConfig } from '../../server/index.js';
import { shippedConfig } from '../endpoints.js';
import { nodeAccess, nodeTlsOf, type NodeAccess } from '../node-http.js';
import { loadConfigOption } from './start.js';
import { fetchStatuses, type StatusRow } from './status.js';

export interface ClusterUpArgs {
  readonly nodes?: string;
  readonly config?: string;
  readonly dataDir?: string;
  readonly enableFaults?: boolean;
}

/** How long the nodes get to agree on a leader before the command says so (it keeps supervising). */
const READY_TIMEOUT_MS = 30_000;
/** How long a stop may take before what is left is SIGKILLed. */
const STOP_GRACE_MS = 15_000;
/** Between two polls of the nodes' `/status` while waiting for the cluster. */
const POLL_MS = 500;

/** Path of the CLI entry (this package's main.js or main.ts), for spawning `start`. */
function cliEntry(): string {
  return fileURLToPath(new URL('../main' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url));
}

/** One line of this command's own output (stdout; stderr is the nodes' log stream). */
function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Starts the cluster and supervises it until it is stopped; resolves with the exit code. */
export async function runClusterUp(args: ClusterUpArgs): Promise<number> {
  const size = args.nodes ?? '3';
  if (size !== '3' && size !== '5') throw new Error(`--nodes must be 3 or 5, got ${size}`);
  // Every node would refuse it: say so once, before starting any.
  parseLogLevel(process.env.RAFTLOCK_LOG_LEVEL);
  const configPath = args.config ?? shippedConfig(size === '5' ? 'five-node.json' : 'three-node.json');
  const config = loadConfigOption(configPath);
  await refuseTakenAddresses(config, configPath);
  say(`raftlock cluster ${config.clusterId}: starting ${config.nodes.length} nodes (config ${configPath})`);
  const nodes = config.nodes.map((n) => new ChildNode(n.id, n.address, startArgs(configPath, n.id, args)));
  for (const n of nodes) say(`  node ${n.id}  ${n.address}  pid ${n.pid}  data ${args.dataDir ?? config.dataDir}/node-${n.id}`);
  const endpoints = nodes.map((n) => n.address).join(',');
  // With TLS, the flags a client needs: the CA, and a client certificate when one is required.
  const tlsFlags =
    config.tls === undefined
      ? ''
      : ` --cacert ${config.tls.ca}${config.tls.clientCertRequired ? ' --cert CLIENT.pem --key CLIENT-key.pem' : ''}`;
  say(`\nclient endpoints: ${endpoints}${config.tls !== undefined ? ' (TLS: wss:// and https://)' : ''}`);
  say(`status:           raftlock status --endpoints ${endpoints}${tlsFlags}`);
  say('Ctrl-C stops the cluster.\n');
  return new Supervisor(config, nodes).run();
}

/** The `start` command line of node `id`. */
function startArgs(configPath: string, id: number, args: ClusterUpArgs): string[] {
  const argv = [...process.execArgv, cliEntry(), 'start', '--config', configPath, '--id', String(id), '--stop-on-stdin-close'];
  if (args.dataDir !== undefined) argv.push('--data-dir', args.dataDir);
  if (args.enableFaults === true) argv.push('--enable-faults');
  return argv;
}

/**
 * Throws naming the first node whose address cannot be bound here: another cluster (named
 * with its PID when a raftlock node answers), another program, or not this machine's address.
 * The node would fail the same way, but only after its storage, and a second `cluster up` of
 * the same configuration would then name the locked data directory instead of the port.
 */
async function refuseTakenAddresses(config: ClusterConfig, configPath: string): Promise<void> {
  const problems = await Promise.all(config.nodes.map(async (n) => ({ node: n, code: await bindProblem(n.address) })));
  const taken = problems.find((p) => p.code !== undefined);
  if (taken === undefined) return;
  const { node, code } = taken;
  const { port } = parseHostPort(node.address, 'address');
  const fix = `stop it, or pick other addresses in ${configPath}`;
  if (code !== 'EADDRINUSE') throw new Error(`node ${node.id} cannot listen on ${node.address} (${code ?? ''}): ${fix}`);
  const [row] = await fetchStatuses([node.address], 1000, supervisorAccess(config));
  const who =
    row?.status !== undefined
      ? `raftlock node ${row.status.id} of cluster "${row.status.clusterId}" (pid ${row.status.pid}) is running there`
      : 'another raftlock cluster or program is running there';
  throw new Error(`node ${node.id}: port ${port} is in use (${node.address}, EADDRINUSE): ${who}; ${fix}`);
}

/**
 * How `cluster up` asks its nodes for their status: RAFTLOCK_TOKEN, and with TLS the CA and
 * the first node's certificate (a node's certificate is a client certificate too), so it works
 * also when the configuration requires client certificates.
 */
function supervisorAccess(config: ClusterConfig): NodeAccess {
  const first = config.nodes[0];
  return nodeAccess(process.env.RAFTLOCK_TOKEN, first !== undefined ? nodeTlsOf(config, first.id) : undefined);
}

/** The error code of binding `address` (then releasing it at once), or undefined if it binds. */
function bindProblem(address: string): Promise<string | undefined> {
  const { host, port } = parseHostPort(address, 'address');
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/** How a node process ended. */
interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One node process: spawned detached with a stdin pipe only we hold (see the module comment),
 * its stderr forwarded line by line, and the last line it wrote outside its logger kept as the
 * reason it gives for failing.
 */
class ChildNode {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  /** The node's own last words outside the log (e.g. `port 7101 is in use …`), if any. */
  lastError: string | undefined;
  private exit: Exit | undefined;

  constructor(
    readonly id: number,
    readonly address: string,
    argv: readonly string[],
  ) {
    this.child = spawn(process.execPath, argv, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    if (this.child.pid === undefined) throw new Error(`node ${id}: could not start ${process.execPath}`);
    this.pid = this.child.pid;
    // We never write to it; it only has to stay open while we live. A node gone first is no error.
    this.child.stdin?.on('error', () => {});
    if (this.child.stderr !== null) createInterface({ input: this.child.stderr, crlfDelay: Infinity }).on('line', (l) => this.forward(l));
    this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      this.child.stdin?.destroy();
    });
    // 'close' comes after 'exit' and after the node's last stderr line has been read, so
    // `lastError` is known by then.
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Whether it exited by itself with code 0: a graceful stop. */
  get cleanExit(): boolean {
    return this.exit?.code === 0;
  }

  /** Sends `signal` to this node (by its PID only), if it is still running. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Passes a JSON log line through; wraps anything else into one, keeping it as the node's last error. */
  private forward(line: string): void {
    if (line.trim() === '') return;
    if (isJsonObject(line)) {
      process.stderr.write(`${line}\n`);
      return;
    }
    const text = line.replace(/^raftlock: /, '');
    if (line.startsWith('raftlock: ')) this.lastError = text;
    const level = line.startsWith('raftlock: ') ? 'error' : 'warn';
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, node: this.id, msg: text })}\n`);
  }

  /** How it ended, in words: its own error line when it gave one. */
  describeExit(): string {
    const how = this.exit?.signal != null ? `killed by ${this.exit.signal}` : `exit code ${this.exit?.code ?? '?'}`;
    return this.lastError !== undefined ? `${this.lastError} (${how})` : `${how}; see its log lines on stderr`;
  }
}

function isJsonObject(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for the cluster to be ready, supervises it, and stops it (see the module comment). */
class Supervisor {
  private stopRequested: NodeJS.Signals | undefined;
  private onStopRequest: () => void = () => {};
  private readonly stopRequest = new Promise<void>((r) => (this.onStopRequest = r));
  /** Something went wrong (a node failed, died or was killed): the exit code will be 1. */
  private failed = false;
  /** Set once the stop has begun: exits from then on are expected. */
  private stopping = false;
  private readonly startedAt = Date.now();
  private readonly access: NodeAccess;

  constructor(
    private readonly config: ClusterConfig,
    private readonly nodes: readonly ChildNode[],
  ) {
    this.access = supervisorAccess(config);
  }

  async run(): Promise<number> {
    const onSignal = (signal: NodeJS.Signals): void => this.requestStop(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const ready = await this.waitUntilReady();
      if (ready) this.reportDeaths();
      if (ready || this.stopRequested !== undefined) await this.stopRequest;
      await this.stopAll();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const unclean = this.nodes.filter((n) => !n.cleanExit);
    return this.failed || unclean.length > 0 ? 1 : 0;
  }

  /** Ctrl-C or SIGTERM: the first asks for a graceful stop, a second kills what is left. */
  private requestStop(signal: NodeJS.Signals): void {
    if (this.stopRequested !== undefined) {
      say(`raftlock cluster: second ${signal}: killing the nodes still running`);
      this.failed = true;
      for (const n of this.nodes) n.signal('SIGKILL');
      return;
    }
    this.stopRequested = signal;
    this.onStopRequest();
  }

  /**
   * Polls `/status` until every node answering is ours and all agree on a leader (true), or a
   * node exits or answers as another process (false: reported, the cluster will be stopped),
   * or a stop is asked for (false). After 30 s without a leader it says so and returns true:
   * the command keeps supervising.
   */
  private async waitUntilReady(): Promise<boolean> {
    const anyExit = Promise.race(this.nodes.map((n) => n.exited));
    let lastProgress = '';
    let lastProgressAt = 0;
    while (this.stopRequested === undefined) {
      const rows = await fetchStatuses(
        this.nodes.map((n) => n.address),
        1000,
        this.access,
      );
      const gone = this.nodes.find((n) => !n.running);
      if (gone !== undefined) {
        await gone.exited; // its last stderr line, the reason, is read by then
        return this.startFailed(`node ${gone.id} (${gone.address}) failed to start: ${gone.describeExit()}`);
      }
      const verdict = this.judge(rows);
      if (verdict.kind === 'foreign') return this.startFailed(verdict.summary);
      if (verdict.kind === 'ready') {
        say(`cluster ready: ${verdict.summary} (${this.elapsed()})`);
        return true;
      }
      if (Date.now() - this.startedAt >= READY_TIMEOUT_MS) {
        say(
          `raftlock cluster: no agreed leader after ${READY_TIMEOUT_MS / 1000} s (${verdict.summary}); still supervising (check the node logs on stderr)`,
        );
        return true;
      }
      // Progress when something changed, and every 5 s regardless, so a slow start is visibly alive.
      if (verdict.summary !== lastProgress || Date.now() - lastProgressAt >= 5_000) {
        say(`  waiting for the cluster: ${verdict.summary} (${this.elapsed()})`);
        lastProgress = verdict.summary;
        lastProgressAt = Date.now();
      }
      await Promise.race([sleep(POLL_MS), anyExit, this.stopRequest]);
    }
    return false;
  }

  /**
   * What the `/status` answers say, in a line: ready (all ours, one leader), still waiting, or
   * someone else's node answering at one of our addresses (`foreign`).
   */
  private judge(rows: readonly StatusRow[]): { kind: 'ready' | 'waiting' | 'foreign'; summary: string } {
    let ours = 0;
    const leaders = new Set<number>();
    const notes: string[] = [];
    for (const [k, row] of rows.entries()) {
      const node = this.nodes[k] as ChildNode;
      const st = row.status;
      if (st === undefined) {
        if (row.error?.startsWith('AUTH') === true) notes.push(`node ${node.id}: ${row.error}`);
        continue;
      }
      if (st.clusterId !== this.config.clusterId || st.pid !== node.pid) {
        const summary = `${node.address} (node ${node.id}) is answered by another process: raftlock node ${st.id} of cluster "${st.clusterId}" (pid ${st.pid}), not our node (pid ${node.pid}); another cluster is running on these addresses: stop it, or pick other addresses in the configuration`;
        return { kind: 'foreign', summary };
      }
      ours++;
      leaders.add(st.leader);
    }
    const total = this.nodes.length;
    const [leader] = [...leaders];
    if (ours === total && leaders.size === 1 && leader !== undefined && leader !== 0) {
      const term = rows.find((r) => r.status?.id === leader)?.status?.term ?? '?';
      return { kind: 'ready', summary: `leader is node ${leader} (term ${term}), ${ours}/${total} nodes up` };
    }
    const known = [...leaders].filter((l) => l !== 0);
    const summary = `${ours}/${total} nodes answering, leader ${known.length === 0 ? 'none yet' : known.join(' or ')}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`;
    return { kind: 'waiting', summary };
  }

  /** Reports a failed start and marks the run failed; the caller stops the rest. */
  private startFailed(why: string): false {
    this.failed = true;
    say(`raftlock cluster: ${why}`);
    say('raftlock cluster: stopping the other nodes');
    return false;
  }

  /** Once running: a node that dies on its own is reported (not restarted) and fails the run. */
  private reportDeaths(): void {
    for (const n of this.nodes) {
      void n.exited.then(() => {
        if (this.stopRequested !== undefined || this.stopping) return;
        this.failed = true;
        say(`raftlock cluster: node ${n.id} (pid ${n.pid}) exited: ${n.describeExit()}; it is not restarted`);
        if (this.nodes.every((m) => !m.running)) this.onStopRequest();
      });
    }
  }

  /**
   * Stops every node with one SIGTERM each: the leader first (it hands leadership over to the
   * most up-to-date follower before exiting), then the others; SIGKILLs whatever is left after
   * {@link STOP_GRACE_MS}.
   */
  private async stopAll(): Promise<void> {
    this.stopping = true;
    const running = (): ChildNode[] => this.nodes.filter((n) => n.running);
    if (running().length === 0) return;
    const begun = Date.now();
    if (this.stopRequested !== undefined)
      say(`\nraftlock cluster: stopping all nodes (${this.stopRequested}): the leader first, so it hands leadership over`);
    const killer = setTimeout(() => {
      const left = running();
      if (left.length === 0) return;
      this.failed = true;
      say(`raftlock cluster: node ${left.map((n) => n.id).join(', ')} still running after ${STOP_GRACE_MS / 1000} s: killing`);
      for (const n of left) n.signal('SIGKILL');
    }, STOP_GRACE_MS);
    killer.unref();
    const leader = await this.currentLeader();
    if (leader !== undefined) {
      leader.signal('SIGTERM');
      await leader.exited;
    }
    for (const n of running()) n.signal('SIGTERM');
    await Promise.all(this.nodes.map((n) => n.exited));
    clearTimeout(killer);
    say(`raftlock cluster: all nodes stopped (in ${((Date.now() - begun) / 1000).toFixed(1)} s)`);
  }

  /** Our node that leads now, by its own `/status`, if one does. */
  private async currentLeader(): Promise<ChildNode | undefined> {
    const alive = this.nodes.filter((n) => n.running);
    const rows = await fetchStatuses(
      alive.map((n) => n.address),
      1000,
      this.access,
    );
    const k = rows.findIndex((r, i) => r.status?.role === 'leader' && r.status.pid === alive[i]?.pid);
    return k < 0 ? undefined : alive[k];
  }

  private elapsed(): string {
    return `${((Date.now() - this.startedAt) / 1000).toFixed(1)} s`;
  }
}
