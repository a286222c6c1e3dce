/**
 * One launcher of real raftlock node processes on 127.0.0.1: start N nodes, stop, kill, pause,
 * resume or restart one by the PID it started, wait for a leader; from dist/ or from source via
 * tsx.
 */
/**
 * The integration tests, `npm run chaos`, `npm run bench` and `npm run bench:raft` all start
 * their clusters here. A cluster is a directory (a fresh temporary one unless `dir` is given)
 * holding the configuration (`cluster.json`: the nodes on free loopback ports), the nodes' data
 * (`data/`) and one log per process (`logs/node-<id>.log`: its stdout and stderr, appended
 * across restarts). Each node runs `raftlock start --config <dir>/cluster.json --id <id>`.
 * Only processes started here are signalled, by the PID recorded at spawn; any still running
 * when this process exits are SIGKILLed (scripts/lib/processes.ts).
 *
 * With `peerLinks`, every node dials each peer through a {@link LinkProxy} of that directed
 * link in `drop` mode (`raftlock start --dial`, a hidden option), so {@link block} and
 * {@link partition} cut peer traffic outside the code under test, while the configuration, and
 * so every leader hint given to clients, keeps the nodes' real addresses (with proxies in the
 * configuration instead, clients following a hint into a blocked proxy stall for a connect
 * timeout).
 *
 * Membership changes (`spares`): a cluster can have slots beyond the configuration file's nodes
 * for nodes that join it later (`raftlock start --join`, docs/operations.md#changing-the-members).
 * Their ports are held open here until their first start, so nothing else (a proxy on an
 * ephemeral port, say) takes them meanwhile; and their links get proxies up front like the
 * others, because a node's `--dial` is fixed when it starts: a founding node must already know
 * the proxy it will dial a later member through. {@link ids} are the members as the harness
 * counts them (the file's nodes until {@link admit} and {@link retire} say otherwise); a start
 * of a slot outside the file passes `--join` and `--address` itself, restarts included.
 *
 * With a `network` (a {@link NetnsNetwork}, scripts/lib/netns.ts), every slot runs in its own
 * network namespace instead, on its namespace address and port 7000 + slot (each namespace has
 * its ports to itself, so nothing is held), and {@link block}, {@link partition} and
 * {@link healLinks} cut and heal with nftables drops there: no proxies, no `--dial`. The
 * configuration then carries a peer `secret` (one is made when none is given), since a node
 * refuses a non-loopback address without one. The caller owns the network and destroys it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificates } from '../../src/cli/commands/certs.js';
import { nodeRequest, type NodeAnswer } from '../../src/cli/node-http.js';
import { hashToken, type NodeStatus, type Role } from '../../src/server/index.js';
import { REPO } from './build.js';
import { LinkProxy } from './link-proxy.js';
import type { NetnsNetwork } from './netns.js';
import { ServerProcess, tailOfFile } from './processes.js';
import { waitFor } from './wait.js';

export type { NodeStatus };

/** How the node processes run: the built `dist/` (faster start, no transpiling; see ensureBuilt in build.ts) or `src/` through tsx. */
export type Runtime = 'dist' | 'source';

/** What `GET /healthz` answers. */
export interface NodeHealth {
  readonly ok: boolean;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
}

export interface ClusterOptions {
  readonly nodes: number;
  /**
   * Where the configuration, data and logs go. Default: a fresh temporary directory, which
   * {@link ProcessCluster.destroy} removes; a given one is kept.
   */
  readonly dir?: string;
  /** Default `it` (the peer fuzz test forges frames for that cluster id). */
  readonly clusterId?: string;
  /** Default 25. */
  readonly tickMs?: number;
  /** Default 10. */
  readonly electionTicks?: number;
  readonly snapshotEvery?: number;
  /** The peers' shared secret (config `secret`). */
  readonly secret?: string;
  /**
   * Clients must present a token: this one (role admin) and `extraTokens`, listed hashed under
   * the config's `clientTokens`. The cluster's own HTTP checks present `clientToken`.
   */
  readonly clientToken?: string;
  /** More tokens with their roles (needs `clientToken`). */
  readonly extraTokens?: ReadonlyArray<{ readonly name: string; readonly role: Role; readonly token: string }>;
  /** Overrides of the config's `limits`. */
  readonly limits?: Readonly<Record<string, number>>;
  /** Default `source`. */
  readonly runtime?: Runtime;
  /** `RAFTLOCK_LOG_LEVEL` of the nodes (default info). */
  readonly logLevel?: string;
  /** Extra `node` options for node `id`, asked at every start (e.g. `--inspect=127.0.0.1:PORT`, `--cpu-prof`). */
  readonly nodeArgs?: (id: number) => readonly string[];
  /** `raftlock start` options given to every node at every start (e.g. `--no-link-liveness`). */
  readonly startArgs?: readonly string[];
  /** Route every peer link through a proxy that {@link ProcessCluster.block} can cut. */
  readonly peerLinks?: boolean;
  /**
   * Start the nodes with `--unsafe-raw-propose`, so {@link ProcessCluster.propose} can append raw
   * entries (off by default: production nodes serve no raw-propose route).
   */
  readonly rawPropose?: boolean;
  /** Timeout of one `/status` or `/healthz` request (default 1,000 ms; a loaded node may need more). */
  readonly httpTimeoutMs?: number;
  /**
   * Slots for nodes that join the running cluster later: ids `nodes + 1` … `nodes + spares`,
   * outside the configuration file, each on a loopback port held here until its first start
   * and, with `peerLinks`, with proxies on its links (see the module comment). Default 0.
   */
  readonly spares?: number;
  /**
   * Run every slot (1 … `nodes + spares`, each one a slot of the network) in its own namespace
   * of this network, listening on its namespace address, port 7000 + slot; cuts are nftables
   * drops (see the module comment). Excludes `peerLinks`. Not destroyed by
   * {@link ProcessCluster.destroy}: the caller made it and removes it.
   */
  readonly network?: NetnsNetwork;
  /**
   * TLS on every node (config `tls`): certificates made at creation by `raftlock certs init`
   * into `<dir>/certs`, for every slot; the harness's own requests and {@link ProcessCluster.cli}
   * use the CA and the client certificate (see {@link ProcessCluster.clientTls}).
   */
  readonly tls?: { readonly clientCertRequired?: boolean };
}

/** Where a node listens inside its own namespace (each namespace has its ports to itself). */
const NETNS_BASE_PORT = 7000;

/** What {@link ProcessCluster.cli} returns: the command's exit code (null if killed) and output. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether it was killed for running past its time limit or for an abort. */
  readonly killed: boolean;
}

/** CLI processes still running; SIGKILLed by PID if this process exits first. */
const LIVE_CLIS = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of LIVE_CLIS) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Listens on a free loopback port and keeps it, so that nothing else binds it until released.
 * The port is drawn below the kernel's ephemeral range: a node's port must stay free while the
 * node is down between a kill and its restart, and one in that range can meanwhile become the
 * source port of any outgoing connection on the machine. Port 0 (the kernel's choice, in that
 * range) only if no port below it is free.
 */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const [low] = ephemeralRange();
  const from = Math.max(10_000, low - 12_000);
  for (let attempt = 0; attempt < 50 && low - from > 100; attempt++) {
    const held = await tryHold(from + Math.floor(Math.random() * (low - from)));
    if (held !== undefined) return held;
  }
  const held = await tryHold(0);
  if (held === undefined) throw new Error('no free loopback port');
  return held;
}

/** `port` listened on (0: the kernel's choice), or undefined when it is taken. */
async function tryHold(port: number): Promise<{ port: number; server: Server } | undefined> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!ok) return undefined;
  server.unref();
  const a = server.address();
  if (a === null || typeof a !== 'object') throw new Error('a held port has no address');
  return { port: a.port, server };
}

/** The kernel's range of source ports for outgoing connections (Linux; the usual default elsewhere). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux
  }
  return [32_768, 60_999];
}

export class ProcessCluster {
  readonly dir: string;
  readonly configPath: string;
  /** The configuration written to {@link configPath}. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly runtime: Runtime;
  /** Processes by slot: a node's id, or the slot given to {@link startExtra}. */
  private readonly procs = new Map<number, ServerProcess>();
  /** `links.get(i).get(j)`: the proxy node i dials node j through. */
  private readonly links = new Map<number, Map<number, LinkProxy>>();
  /** The members as the harness counts them (see {@link ids}). */
  private readonly memberIds: Set<number>;
  /** Ports of spare slots, held until the slot's first start. */
  private readonly heldPorts = new Map<number, Server>();

  private constructor(
    dir: string,
    config: Record<string, unknown>,
    /** Every slot's address: the configuration file's nodes, then the spares. */
    private readonly slotAddresses: Map<number, string>,
    /** The configuration file's node ids. */
    private readonly fileIds: ReadonlySet<number>,
    private readonly opts: ClusterOptions,
    /** Whether {@link dir} was created here (and is removed by destroy). */
    private readonly ownsDir: boolean,
  ) {
    this.dir = dir;
    this.configPath = join(dir, 'cluster.json');
    this.config = config;
    this.memberIds = new Set(fileIds);
    this.runtime = opts.runtime ?? 'source';
  }

  /** Writes the configuration (free loopback ports) and, with `peerLinks`, starts the proxies; starts no node. */
  static async create(opts: ClusterOptions): Promise<ProcessCluster> {
    const total = opts.nodes + (opts.spares ?? 0);
    const net = opts.network;
    if (net !== undefined) {
      if (opts.peerLinks === true)
        throw new Error('a cluster on a netns network cuts links with nftables: leave peerLinks (the proxies) off');
      const missing = Array.from({ length: total }, (_, k) => k + 1).filter((s) => !net.slots.includes(s));
      if (missing.length > 0)
        throw new Error(`the netns network has no namespace for slot(s) ${missing.join(',')}: create it with slots 1..${total}`);
    }
    const ownsDir = opts.dir === undefined;
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'raftlock-cluster-'));
    mkdirSync(join(dir, 'logs'), { recursive: true });
    // Every slot's port stays bound here while the proxies below take ephemeral ports of their
    // own, or one of them could take a node's; the founding nodes' are released at the end. In
    // a namespace a slot has its ports to itself: nothing to hold.
    const held = net !== undefined ? [] : await Promise.all(Array.from({ length: total }, () => holdPort()));
    const slotAddress = (slot: number): string =>
      net !== undefined ? `${net.address(slot)}:${NETNS_BASE_PORT + slot}` : `127.0.0.1:${held[slot - 1]?.port}`;
    const nodes = Array.from({ length: opts.nodes }, (_, k) => ({ id: k + 1, address: slotAddress(k + 1) }));
    // A node refuses a non-loopback address without a peer secret.
    const secret = opts.secret ?? (net !== undefined ? randomBytes(24).toString('hex') : undefined);
    const certs =
      opts.tls !== undefined
        ? makeCertificates({
            nodes: total,
            out: join(dir, 'certs'),
            hosts: net !== undefined ? Array.from({ length: total }, (_, k) => net.address(k + 1)) : [],
          })
        : undefined;
    const config: Record<string, unknown> = {
      clusterId: opts.clusterId ?? 'it',
      nodes,
      dataDir: join(dir, 'data'),
      tickMs: opts.tickMs ?? 25,
      electionTicks: opts.electionTicks ?? 10,
      heartbeatTicks: 1,
      ...(opts.snapshotEvery !== undefined ? { snapshotEvery: opts.snapshotEvery } : {}),
      ...(secret !== undefined ? { secret } : {}),
      ...(opts.clientToken !== undefined
        ? {
            clientTokens: [{ name: 'test-admin', role: 'admin', token: opts.clientToken }, ...(opts.extraTokens ?? [])].map((t) => ({
              name: t.name,
              role: t.role,
              hash: hashToken(t.token),
            })),
          }
        : {}),
      ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
      ...(certs !== undefined
        ? {
            tls: {
              cert: join(certs.dir, 'node-{id}.pem'),
              key: join(certs.dir, 'node-{id}-key.pem'),
              ca: certs.ca.cert,
              clientCertRequired: opts.tls?.clientCertRequired === true,
            },
          }
        : {}),
    };
    const slots = new Map(Array.from({ length: total }, (_, k) => [k + 1, slotAddress(k + 1)] as const));
    const cluster = new ProcessCluster(dir, config, slots, new Set(nodes.map((n) => n.id)), opts, ownsDir);
    held.forEach((h, k) => cluster.heldPorts.set(k + 1, h.server));
    writeFileSync(cluster.configPath, JSON.stringify(config, null, 2));
    try {
      if (opts.peerLinks === true) {
        for (const i of cluster.slots) {
          const m = new Map<number, LinkProxy>();
          cluster.links.set(i, m);
          for (const j of cluster.slots) if (j !== i) m.set(j, await LinkProxy.start(cluster.address(j), 'drop'));
        }
      }
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    // The founding nodes' ports are free again, as callers expect of a cluster not yet started;
    // spare slots keep theirs until their first start.
    for (const n of nodes) {
      const server = cluster.heldPorts.get(n.id);
      cluster.heldPorts.delete(n.id);
      await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
    }
    return cluster;
  }

  /**
   * The members as the harness counts them, in id order: the configuration file's nodes, plus
   * those {@link admit}ted, minus those {@link retire}d. Without membership changes, the file's.
   */
  get ids(): number[] {
    return [...this.memberIds].sort((a, b) => a - b);
  }

  /** Every slot: the configuration file's nodes and the spares, in id order. */
  get slots(): number[] {
    return [...this.slotAddresses.keys()].sort((a, b) => a - b);
  }

  /** The members' addresses ({@link ids}), by id. */
  get addresses(): ReadonlyMap<number, string> {
    return new Map(this.ids.map((id) => [id, this.address(id)]));
  }

  /** The address of slot `id` (a member, a spare or a retired node). */
  address(id: number): string {
    const a = this.slotAddresses.get(id);
    if (a === undefined) throw new Error(`no node ${id}`);
    return a;
  }

  /** Whether slot `id` is in the configuration file (else it starts with `--join`). */
  inConfigFile(id: number): boolean {
    return this.fileIds.has(id);
  }

  /** Whether the harness counts node `id` as a member now. */
  isMember(id: number): boolean {
    return this.memberIds.has(id);
  }

  /** Counts slot `id` as a member from now on (it joined the cluster's configuration). */
  admit(id: number): void {
    this.address(id);
    this.memberIds.add(id);
  }

  /**
   * Stops counting node `id` as a member (it left the configuration, or is a failed machine
   * being replaced): faults no longer target it and nothing here restarts it on its own.
   */
  retire(id: number): void {
    this.memberIds.delete(id);
  }

  /** Spare slots never started: where the next new node goes, lowest id first. */
  get spareIds(): number[] {
    return this.slots.filter((id) => !this.fileIds.has(id) && !this.memberIds.has(id) && !this.procs.has(id));
  }

  /** The client endpoints (`host:port`) of every node, in id order. */
  get endpoints(): string[] {
    return this.ids.map((id) => this.address(id));
  }

  /** PIDs of the processes running now. */
  get pids(): number[] {
    return [...this.procs.values()].filter((p) => p.running).map((p) => p.pid);
  }

  /**
   * Starts node `id` (`raftlock start`), with `extraArgs` after the command's own. A slot
   * outside the configuration file starts with `--address` and `--join` listing the other
   * running nodes (members first, paused ones last): with data it rejoins as the member its log
   * says it is, without data it waits to be added.
   */
  start(id: number, extraArgs: readonly string[] = []): void {
    this.address(id);
    const dial = this.links.get(id);
    const dialArgs = dial === undefined ? [] : ['--dial', [...dial].map(([j, p]) => `${j}=${p.address}`).join(',')];
    const rawArgs = this.opts.rawPropose === true ? ['--unsafe-raw-propose'] : [];
    const joinArgs = this.fileIds.has(id) ? [] : ['--join', this.joinEndpoints(id).join(','), '--address', this.address(id)];
    const held = this.heldPorts.get(id);
    if (held !== undefined) {
      // Released just before the node binds it (the node takes far longer to start than this).
      this.heldPorts.delete(id);
      held.close();
    }
    this.spawn(id, `node-${id}`, this.configPath, id, [...dialArgs, ...rawArgs, ...joinArgs, ...extraArgs]);
  }

  /**
   * Where a node joining as `id` asks for the members: the other members, those running first
   * (a stopped one refuses at once; a paused one would hold the start for a request timeout).
   * Not nodes that wait to join themselves: they list no members.
   */
  private joinEndpoints(id: number): string[] {
    const others = this.ids.filter((j) => j !== id);
    const up = others.filter((j) => this.isRunning(j) && !this.isPaused(j));
    return [...up, ...others.filter((j) => !up.includes(j))].map((j) => this.address(j));
  }

  /**
   * Starts an extra process under `slot` (a key other than the node ids) with another
   * configuration: a rogue peer, for example. Stopped by destroy() like the others.
   */
  startExtra(slot: number, configPath: string, id: number, extraArgs: readonly string[] = []): void {
    if (this.slotAddresses.has(slot)) throw new Error(`slot ${slot} is a node id`);
    this.spawn(slot, `process-${slot}`, configPath, id, extraArgs);
  }

  startAll(): void {
    for (const id of this.ids) this.start(id);
  }

  private spawn(slot: number, name: string, configPath: string, id: number, extraArgs: readonly string[]): void {
    if (this.procs.get(slot)?.running === true) throw new Error(`${name} is already running`);
    const cli = this.runtime === 'dist' ? [join(REPO, 'dist/cli/main.js')] : ['--import', 'tsx', join(REPO, 'src/cli/main.ts')];
    const args = [
      ...(this.opts.nodeArgs?.(id) ?? []),
      ...cli,
      'start',
      '--config',
      configPath,
      '--id',
      String(id),
      ...(this.opts.startArgs ?? []),
      ...extraArgs,
    ];
    // In a namespace network a node slot runs in its namespace (`ip netns exec` execs the node:
    // the PID signalled is the node's); an extra process runs in the root namespace.
    const net = this.opts.network;
    const { command, args: argv } =
      net !== undefined && this.slotAddresses.has(slot) ? net.wrap(slot, process.execPath, args) : { command: process.execPath, args };
    const p = ServerProcess.start(
      `raftlock ${name}`,
      command,
      argv,
      join(this.dir, 'logs', `${name}.log`),
      { ...process.env, RAFTLOCK_LOG_LEVEL: this.opts.logLevel ?? 'info' },
      REPO,
    );
    this.procs.set(slot, p);
  }

  isRunning(id: number): boolean {
    return this.procs.get(id)?.running === true;
  }

  isPaused(id: number): boolean {
    return this.procs.get(id)?.paused === true;
  }

  /** Sends `signal` to node `id` (SIGKILL unless told otherwise) and waits for it to exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.procs.get(id)?.kill(signal);
  }

  /** Graceful stop of node `id` (SIGTERM: a leader hands over first), SIGKILL after `graceMs`. */
  async stop(id: number, graceMs = 15_000): Promise<void> {
    await this.procs.get(id)?.stop(graceMs);
  }

  /** SIGKILLs node `id` if it runs, then starts it again with `extraArgs` (e.g. `--clock-offset`). */
  async restart(id: number, extraArgs: readonly string[] = []): Promise<void> {
    await this.kill(id);
    this.start(id, extraArgs);
  }

  /** Freezes node `id` (SIGSTOP): its sockets stay open but it answers nothing. */
  pause(id: number): void {
    this.procs.get(id)?.pause();
  }

  /** Thaws a node frozen by {@link pause} (SIGCONT). */
  resume(id: number): void {
    this.procs.get(id)?.resume();
  }

  private link(from: number, to: number): LinkProxy {
    const p = this.links.get(from)?.get(to);
    if (p === undefined) throw new Error(this.links.size === 0 ? 'this cluster was created without peerLinks' : `no link ${from} -> ${to}`);
    return p;
  }

  /**
   * Cuts the directed link from → to (from's messages no longer reach to). Needs `peerLinks` or
   * a `network` (there an nftables drop in `to`'s namespace of what `from` sends).
   */
  block(from: number, to: number): void {
    if (this.opts.network !== undefined) {
      this.address(from);
      this.address(to);
      this.opts.network.block(from, to);
      return;
    }
    this.link(from, to).block();
  }

  /** Cuts every link between the two groups, both ways. Needs `peerLinks` or a `network`. */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const i of a) {
      for (const j of b) {
        this.block(i, j);
        this.block(j, i);
      }
    }
  }

  /** Heals every peer link (with a `network`, removes every cut in it). */
  healLinks(): void {
    this.opts.network?.heal();
    for (const m of this.links.values()) for (const p of m.values()) p.heal();
  }

  /** The header that authenticates this harness's own HTTP requests, if the cluster has tokens. */
  private authorization(): Record<string, string> {
    return this.opts.clientToken !== undefined ? { authorization: `Bearer ${this.opts.clientToken}` } : {};
  }

  /** Where the certificates are, with TLS (`<dir>/certs`, as `raftlock certs init` lays them out). */
  get certsDir(): string | undefined {
    return this.opts.tls !== undefined ? join(this.dir, 'certs') : undefined;
  }

  /** What a client of this cluster needs for TLS (the CA, the client certificate), or undefined without. */
  get clientTls(): { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | undefined {
    const d = this.certsDir;
    if (d === undefined) return undefined;
    return { ca: readFileSync(join(d, 'ca.pem')), cert: readFileSync(join(d, 'client.pem')), key: readFileSync(join(d, 'client-key.pem')) };
  }

  /** Node `id`'s `/metrics` page, or undefined when it does not answer. */
  async metrics(id: number, timeoutMs = 5_000): Promise<string | undefined> {
    const res = await this.get(id, '/metrics', timeoutMs);
    return res?.status === 200 ? res.text : undefined;
  }

  /** `GET path` at node `id` as a client of the cluster (token, TLS), or undefined without an answer. */
  private async get(id: number, path: string, timeoutMs: number): Promise<NodeAnswer | undefined> {
    try {
      return await this.request(this.address(id), 'GET', path, { timeoutMs });
    } catch {
      return undefined;
    }
  }

  /**
   * `method path` at `address` (any node's, a leader hint's) as a client of this cluster: its
   * token and, with TLS, the CA and client certificate. Rejects with the reason there was no
   * answer (`NodeRequestError`, its code ECONNREFUSED, TIMEOUT, ABORTED…).
   */
  request(
    address: string,
    method: 'GET' | 'POST',
    path: string,
    opts: { readonly timeoutMs: number; readonly body?: unknown; readonly signal?: AbortSignal },
  ): Promise<NodeAnswer> {
    const tls = this.clientTls;
    const access = {
      ...(this.opts.clientToken !== undefined ? { token: this.opts.clientToken } : {}),
      ...(tls !== undefined ? { tls } : {}),
    };
    return nodeRequest(address, method, path, access, opts);
  }

  /** `/status` of node `id`, or undefined if it is paused or does not answer in time. */
  async status(id: number): Promise<NodeStatus | undefined> {
    if (this.isPaused(id)) return undefined;
    const res = await this.get(id, '/status', this.opts.httpTimeoutMs ?? 1_000);
    return res?.status === 200 ? (res.body as unknown as NodeStatus) : undefined;
  }

  async statuses(ids: readonly number[] = this.ids): Promise<NodeStatus[]> {
    const all = await Promise.all(ids.map((id) => this.status(id)));
    return all.filter((s): s is NodeStatus => s !== undefined);
  }

  /**
   * `GET /healthz` of node `id`: its view of the leader, or undefined if it does not answer.
   * Open (no token needed) and cheap at any state size.
   */
  async health(id: number): Promise<NodeHealth | undefined> {
    if (this.isPaused(id)) return undefined;
    const res = await this.get(id, '/healthz', this.opts.httpTimeoutMs ?? 1_000);
    return res?.status === 200 ? (res.body as unknown as NodeHealth) : undefined;
  }

  /** The leader every node among `ids` (default: those running) agrees on now, or undefined. */
  async agreedLeader(ids: readonly number[] = this.runningIds()): Promise<NodeStatus | undefined> {
    const sts = await this.statuses(ids);
    if (sts.length < ids.length) return undefined;
    const leader = sts.find((s) => s.role === 'leader');
    if (leader === undefined) return undefined;
    return sts.every((s) => s.leader === leader.id && s.term === leader.term) ? leader : undefined;
  }

  /** The current leader as far as any node knows (for targeting faults), or undefined. */
  async currentLeader(): Promise<number | undefined> {
    return (await this.statuses()).find((s) => s.role === 'leader')?.id;
  }

  /**
   * Waits until every node among `ids` (default: those running) agrees on one leader, and
   * returns its status. Fails at once, with its log, if one of them exited without being told.
   */
  async waitForLeader(ids: readonly number[] = this.runningIds(), timeoutMs = 15_000): Promise<NodeStatus> {
    return waitFor(
      `a leader agreed by nodes ${ids.join(',')}`,
      async () => {
        this.throwIfCrashed(ids);
        return this.agreedLeader(ids);
      },
      timeoutMs,
    );
  }

  /** Like {@link waitForLeader} for every node, through `/healthz` only (cheap whatever the state size). */
  async waitForLeaderHealth(timeoutMs: number): Promise<{ id: number; term: number }> {
    return waitFor(
      'a leader agreed on by every node (healthz)',
      async () => {
        this.throwIfCrashed(this.ids);
        const hs = await Promise.all(this.ids.map((id) => this.health(id)));
        const first = hs[0];
        if (first === undefined || first.leader === 0) return undefined;
        return hs.every((h) => h !== undefined && h.leader === first.leader && h.term === first.term)
          ? { id: first.leader, term: first.term }
          : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * Runs `raftlock ARGS` the way the nodes run (dist or source), as an operator would, with this
   * cluster's token in `RAFTLOCK_TOKEN`; resolves once it exits with its code and output. It is
   * SIGKILLed (by its PID) past `timeoutMs`, or when `signal` aborts, and then `killed` is true.
   */
  cli(args: readonly string[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<CliResult> {
    const cli = this.runtime === 'dist' ? [join(REPO, 'dist/cli/main.js')] : ['--import', 'tsx', join(REPO, 'src/cli/main.ts')];
    const certs = this.certsDir;
    const env = {
      ...process.env,
      ...(this.opts.clientToken !== undefined ? { RAFTLOCK_TOKEN: this.opts.clientToken } : {}),
      ...(certs !== undefined
        ? { RAFTLOCK_CACERT: join(certs, 'ca.pem'), RAFTLOCK_CERT: join(certs, 'client.pem'), RAFTLOCK_KEY: join(certs, 'client-key.pem') }
        : {}),
    };
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [...cli, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      LIVE_CLIS.add(child);
      let stdout = '';
      let stderr = '';
      let killed = false;
      const kill = (): void => {
        killed = true;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(kill, opts.timeoutMs ?? 60_000);
      opts.signal?.addEventListener('abort', kill, { once: true });
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      // 'close', not 'exit': the output may still be in flight when the process exits.
      child.once('close', (code) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', kill);
        LIVE_CLIS.delete(child);
        resolve({ code, stdout, stderr, killed });
      });
      if (opts.signal?.aborted === true) kill();
    });
  }

  /** Elections started so far by all nodes together (`raftlock_elections_total` from /metrics). */
  async elections(): Promise<number> {
    let total = 0;
    for (const id of this.ids) {
      const text = (await this.metrics(id)) ?? '';
      total += Number(/^raftlock_elections_total (\d+)/m.exec(text)?.[1] ?? 0);
    }
    return total;
  }

  /**
   * Proposes `data` through `POST /admin/propose` on node `id` (a cluster created with
   * `rawPropose`). Returns the applied index, or an error code (NOT_LEADER, UNAVAILABLE,
   * NOT_FOUND without `rawPropose`, unreachable).
   */
  async propose(id: number, data: string, timeoutMs = 5000): Promise<{ index: number } | { error: string; leader?: number }> {
    try {
      const res = await fetch(`http://${this.address(id)}/admin/propose`, {
        method: 'POST',
        headers: this.authorization(),
        body: data,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await res.json()) as { index?: number; error?: { code: string; leader?: number } };
      if (res.ok && typeof body.index === 'number') return { index: body.index };
      return { error: body.error?.code ?? `HTTP ${res.status}`, ...(body.error?.leader ? { leader: body.error.leader } : {}) };
    } catch (err) {
      return { error: (err as Error).name };
    }
  }

  /** A node that exited without being told to, with the end of its log, if any. */
  deadNode(): string | undefined {
    for (const p of this.procs.values())
      if (p.crashed) return `${p.label} (pid ${p.pid}) exited by itself; log ${p.logFile}:\n${p.logTail(10)}`;
    return undefined;
  }

  /** The log file of the process in `slot` (every start of it appends there), once started. */
  logFileOf(slot: number): string {
    const p = this.procs.get(slot);
    if (p === undefined) throw new Error(`slot ${slot} was never started`);
    return p.logFile;
  }

  /** The last log lines of a process (for failure messages and log assertions). */
  logTail(slot: number, lines = 30): string {
    const p = this.procs.get(slot);
    return p === undefined ? '' : tailOfFile(p.logFile, lines);
  }

  /**
   * Stops every process started here (SIGKILL, or with `graceMs` a graceful stop, so that
   * CPU profiles get written), closes the proxies, and removes a temporary directory unless
   * `keepData`.
   */
  async destroy(opts: { graceMs?: number; keepData?: boolean } = {}): Promise<void> {
    const graceMs = opts.graceMs;
    await Promise.all([...this.procs.values()].map((p) => (graceMs === undefined ? p.kill('SIGKILL') : p.stop(graceMs))));
    for (const m of this.links.values()) for (const p of m.values()) await p.close();
    for (const s of this.heldPorts.values()) s.close();
    this.heldPorts.clear();
    if (this.ownsDir && opts.keepData !== true) rmSync(this.dir, { recursive: true, force: true });
  }

  private runningIds(): number[] {
    return this.ids.filter((id) => this.isRunning(id));
  }

  private throwIfCrashed(ids: readonly number[]): void {
    for (const id of ids) {
      const p = this.procs.get(id);
      if (p?.crashed === true) throw new Error(`${p.label} exited during the wait; its log (${p.logFile}):\n${p.logTail()}`);
    }
  }
}
