/**
 * One raftlock node as a running service (docs/design.md#layers): LevelDB log, file snapshots,
 * WebSocket peers, the RaftHost ready loop running the lock/counter machine through
 * LockService, and one HTTP server answering `/raft` (peers), `/client` (clients), and the
 * routes of http-routes.ts. `startNode` is what `import { startNode } from 'raftlock/server'`
 * embeds; it is built from the small steps below, in the order they must happen.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { RaftHost, systemClock, type Clock } from '../host/index.js';
import type { HostPort, NodeStatus } from '../protocol/index.js';
import { NONE, SeededRandom, type ConfState, type NodeId } from '../raft/index.js';
import { LockService } from '../service/index.js';
import { LockMachine, type ApplyOutput } from '../state-machine/index.js';
import { FileSnapshotStore, LevelDurableLog, type DurableLog, type LoadedState } from '../storage/index.js';
import { FaultLayer, WsPeerTransport } from '../transport/index.js';
import { ClientEndpoint } from './client-endpoint.js';
import { parseAddress, tlsFilesOf, type ClusterConfig } from './config.js';
import { handleHttp, sendJson } from './http-routes.js';
import { MemberDirectory, admissionOf } from './members.js';
import { PeerBook, type PeerBookStore } from './peer-book.js';
import { clientCertificateProblem, createTlsServer, TlsMaterial } from './tls.js';
import { Authenticator } from './access.js';
import { createJsonLogger, type Logger } from './logger.js';
import { NodeMetrics, timedLog } from './node-metrics.js';
import { UiRoutes } from './ui-routes.js';

export interface StartNodeOptions {
  readonly config: ClusterConfig;
  readonly id: NodeId;
  /** Overrides the config's dataDir (absolute, or relative to the current directory). */
  readonly dataDir?: string;
  /** Overrides the address to listen on (`host:port`; port 0 picks one). */
  readonly listen?: string;
  readonly logger?: Logger;
  /**
   * Shifts the wall clock this node stamps log entries with, in ms (chaos runs' clock-skew
   * nemesis only; default 0). Log time never decreases whatever the offset.
   */
  readonly clockOffsetMs?: number;
  /**
   * Where to dial some peers instead of their configured address (chaos runs put a proxy on
   * every link this way). Clients are still told the configured addresses.
   */
  readonly dialAddresses?: ReadonlyMap<NodeId, string>;
  /** Enables the fault-injection layer (tests and chaos runs only; off by default). */
  readonly enableFaults?: boolean;
  /**
   * Whether peer links watch their peers: ping, close a link silent for two election timeouts
   * (at least 1 s) and redial it within about half a second of the peer answering again
   * (docs/design.md#peer-protocol). On by default; off only for the chaos runs' negative
   * control, which shows what a cut costs without it.
   */
  readonly linkLiveness?: boolean;
  /**
   * Serves `POST /admin/propose`, which appends raw entries to the log: for tests and the raw
   * Raft benchmark only. Refused on a non-loopback address, since a raw entry can carry
   * anything (a `tick` stamped with a forged time expires every session). Off by default.
   */
  readonly unsafeRawPropose?: boolean;
  /**
   * Lets a node listen on a non-loopback address without a peer `secret`: anyone who reaches
   * the port could then join the peer protocol as a configured node. Logged as a warning at
   * every start. Off by default: such a node refuses to start.
   */
  readonly insecure?: boolean;
  /**
   * Starts a node that joins a running cluster instead of founding one
   * (docs/operations.md#changing-the-members): it starts with no configuration of its own, so it
   * never votes or campaigns until the leader's log or snapshot makes it a member, and it takes
   * `address` as its own (its id need not be in the configuration file). `members` are the
   * cluster's members as a running node listed them (`GET /admin/members`): its first peers.
   */
  readonly join?: { readonly address: string; readonly members: ReadonlyMap<NodeId, string> };
}

/** A running node. */
export interface NodeHandle {
  readonly id: NodeId;
  /** The address actually bound (`host:port`). */
  readonly address: string;
  readonly host: RaftHost<ApplyOutput>;
  readonly service: LockService;
  readonly faults: FaultLayer | undefined;
  /** The /status document. */
  status(): NodeStatus;
  /** Graceful stop: hands leadership over first when leader, then closes everything. */
  stop(): Promise<void>;
  /**
   * Re-reads the TLS certificate, key and CA (as a change of the files does by itself, and
   * SIGHUP to `raftlock start`): new connections use them. False without TLS, or when the new
   * files are not usable (the old ones stay; the log says why).
   */
  reloadTls(why?: string): boolean;
}

/** Starts a node: opens its storage, joins its peers, serves clients. See the module comment. */
export async function startNode(opts: StartNodeOptions): Promise<NodeHandle> {
  const { config, id } = opts;
  const { listen, listenSource, nodeDir } = placeNode(opts);
  // The logger reads the host's role and term for every line; the host comes later.
  let host: RaftHost<ApplyOutput> | undefined;
  const logger = opts.logger ?? nodeLogger(id, () => host);
  checkPeerAuthentication(listen, config, opts.insecure === true, logger);
  // Read before anything is opened: unusable certificates stop the start with the files named.
  const tls = config.tls !== undefined ? new TlsMaterial(tlsFilesOf(config.tls, id), logger) : undefined;
  const metrics = new NodeMetrics(() => host);
  const started = performance.now();
  const storage = await openStorage(nodeDir, config, id, metrics);
  const storageMs = performance.now() - started;
  const faults = opts.enableFaults === true ? new FaultLayer() : undefined;
  const known = new Map([...config.nodes.map((n) => [n.id, n.address] as const), ...(opts.join?.members ?? new Map())]);
  if (opts.join !== undefined) known.set(id, opts.join.address);
  const directory = new MemberDirectory(id, known, opts.dialAddresses);
  // The configuration file's nodes until the host has read its log: the members may have
  // changed since the cluster began, and then setPeers below follows the configuration.
  const peers = directory.peers({ voters: [], learners: [] });
  const identities = new PeerBook(
    storage.peers,
    (peer) => (host === undefined ? undefined : admissionOf(host.status(false).config, peer)),
    logger,
  );
  const transport = new WsPeerTransport({
    id,
    clusterId: config.clusterId,
    peers,
    identities,
    // A node that does not know this one yet (it missed the change that added it) answers here.
    address: directory.addressOf({ voters: [], learners: [] }, id) ?? '',
    dialAddressOf: (peer) => opts.dialAddresses?.get(peer),
    ...(config.secret !== undefined ? { secret: config.secret } : {}),
    maxPayload: config.limits.maxPeerFrameBytes,
    // Link silence, dial timeouts and redial backoff scale with the election timeout.
    electionTimeoutMs: config.tickMs * config.electionTicks,
    linkLiveness: opts.linkLiveness !== false,
    logger,
    ...(tls !== undefined ? { tls: tls.peerTls() } : {}),
    ...(faults !== undefined ? { faults } : {}),
  });
  const machine = new LockMachine({ limits: config.limits });
  const service = new LockService({ machine, clock: stampClock(opts.clockOffsetMs ?? 0), timings: metrics.serviceTimings });
  let stop = async (): Promise<void> => {};
  // A founding member starts in the configuration file's; a joining node in none (it gets the
  // cluster's from the leader). Either way a log that already holds one takes precedence.
  const bootstrap = opts.join !== undefined ? { voters: [], learners: [] } : { voters: config.nodes.map((n) => n.id), learners: [] };
  const restoring = performance.now();
  const h = createHost({ id, config, logger, storage, transport, service, bootstrap, onFatal: () => void stop() });
  host = h;
  const restoreMs = performance.now() - restoring;
  const replay = replayWatch(h, logger);
  service.attach(h);
  metrics.attach(transport);
  metrics.attachService(service);
  const members = followMembers(h, transport, directory, logger);
  const addressOf = (nid: NodeId): string | null => directory.addressOf(h.status(false).config, nid);
  const access = new Authenticator(config.clientTokens);
  const clients = new ClientEndpoint({
    service,
    raft: h,
    nodeId: id,
    addressOf,
    members: () => directory.members(h.status(false).config),
    access,
    logger,
    maxClientFrameBytes: config.limits.maxClientFrameBytes,
  });
  metrics.attachClients(clients);
  let boundAddress = `${listen.host}:${listen.port}`;
  const status = statusReporter({ id, config, host: h, machine, directory, address: () => boundAddress });
  const ui = new UiRoutes({
    status,
    machine,
    watches: service.watches,
    tokenRequired: access.required,
    maxNameBytes: config.limits.maxNameBytes,
  });
  const http = {
    host: h,
    status,
    metrics,
    config,
    logger,
    access,
    rawPropose: opts.unsafeRawPropose === true,
    directory,
    ui,
  };
  const { server, listener } = createNodeServer(http, transport, clients, tls);
  try {
    boundAddress = await listenOn(listener, listen, listenSource);
  } catch (err) {
    // A node that cannot listen (address taken or not on this machine) must leave nothing open:
    // an embedding process may try again, and the LevelDB lock would refuse it.
    clients.close();
    h.stop();
    await transport.close();
    await storage.close();
    throw err;
  }
  tls?.watch();
  const ticker = setInterval(() => {
    h.tick();
    service.tick();
    members();
    replay();
  }, config.tickMs);
  logger.info('node started', {
    address: boundAddress,
    tls: tls !== undefined,
    dataDir: nodeDir,
    dataId: identities.own,
    peers: [...peers.values()],
    pid: process.pid,
    // Where a restart spends its time (docs/operations.md#restarts): opening and verifying the
    // log, restoring the newest snapshot; the replay of the log after it is logged when done.
    startup: {
      // From the process's start to here: Node's own start, loading the modules, the config.
      processMs: Math.round(started),
      storageMs: Math.round(storageMs),
      logEntries: storage.loaded.entries.length,
      restoreMs: Math.round(restoreMs),
      snapshotIndex: h.appliedIndex,
      toReplay: Math.max(0, storage.loaded.hardState.commit - h.appliedIndex),
    },
  });
  if (http.rawPropose) logger.warn('POST /admin/propose is served: raw log entries from anyone on this host (tests and benchmarks only)');

  let stopping: Promise<void> | undefined;
  stop = (): Promise<void> => {
    stopping ??= (async () => {
      await handOverLeadership(h, config, logger);
      clearInterval(ticker);
      // Before the connections close, so watchers hear why and where to resume.
      service.watches.close('node stopping');
      clients.close();
      ui.close('node stopping');
      service.releaseParked('node stopping');
      h.stop();
      await transport.close();
      tls?.stop();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      server.closeAllConnections();
      await storage.close();
      logger.info('node stopped');
    })();
    return stopping;
  };
  return {
    id,
    address: boundAddress,
    host: h,
    service,
    faults,
    status,
    stop: () => stop(),
    reloadTls: (why = 'asked') => tls?.reload(why) ?? false,
  };
}

/** Where the node listens and keeps its data; refuses an id the configuration lacks. */
function placeNode(opts: StartNodeOptions): { readonly listen: HostPort; readonly listenSource: string; readonly nodeDir: string } {
  const { config, id } = opts;
  const own = opts.join?.address ?? config.nodes.find((n) => n.id === id)?.address;
  if (own === undefined) {
    throw new Error(
      `node id ${id} is not in the configuration (ids: ${config.nodes.map((n) => n.id).join(', ')}): to add a node to a running cluster, start it with --join host:port,… and --address host:port`,
    );
  }
  const source = opts.listen !== undefined ? '--listen' : opts.join !== undefined ? '--address' : `nodes[id=${id}].address`;
  const listen = parseAddress(opts.listen ?? own, source);
  if (opts.unsafeRawPropose === true && !isLoopback(listen.host)) {
    throw new Error(
      `--unsafe-raw-propose lets anyone who reaches the port write raw log entries (forged log time included); it is refused on ${listen.host}, a non-loopback address: use it only for tests and the raw Raft benchmark on 127.0.0.1`,
    );
  }
  const nodeDir = join(opts.dataDir ?? config.dataDir, `node-${id}`);
  mkdirSync(nodeDir, { recursive: true });
  return { listen, listenSource: source, nodeDir };
}

/**
 * A node reachable beyond this machine must authenticate its peers, or anyone could claim a
 * configured node id and forge appends and votes. Refuses to start without a `secret` on a
 * non-loopback address unless `insecure`, which is logged at every start.
 */
function checkPeerAuthentication(listen: HostPort, config: ClusterConfig, insecure: boolean, logger: Logger): void {
  if (isLoopback(listen.host) || config.secret !== undefined || config.tls !== undefined) return;
  if (!insecure) {
    throw new Error(
      `node listens on ${listen.host}, beyond this machine, with no peer secret: anyone who reaches the port could pose as a member. Set "secret" in the configuration (or RAFTLOCK_SECRET), or start with --insecure on a network you trust`,
    );
  }
  logger.warn('insecure: no peer secret on a non-loopback address; anyone who reaches this port can pose as a member', {
    listen: listen.host,
  });
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** JSON lines on stderr, each carrying the node's id and its current term and role. */
function nodeLogger(id: NodeId, host: () => RaftHost<ApplyOutput> | undefined): Logger {
  return createJsonLogger({
    context: () => {
      const st = host()?.status(false);
      return { node: id, term: st?.term, role: st?.role };
    },
  });
}

interface NodeStorage {
  /** The log as the host writes it (timed for metrics). */
  readonly log: DurableLog;
  readonly loaded: LoadedState;
  readonly snapshots: FileSnapshotStore;
  /** The data identity and the peers known by theirs (kept in the log's database). */
  readonly peers: PeerBookStore;
  close(): Promise<void>;
}

/**
 * Returns a check, for every tick, that logs `log replayed` once the host has applied every
 * entry its log had committed when the node started (with how many, and the time since the
 * process began), then does nothing.
 */
function replayWatch(h: RaftHost<ApplyOutput>, logger: Logger): () => void {
  const from = h.appliedIndex;
  const until = h.status(false).commit;
  let done = until <= from;
  return () => {
    if (done || h.appliedIndex < until) return;
    done = true;
    // performance.now() counts from the process's start: what an operator waits for.
    logger.info('log replayed', { entries: until - from, sinceStartMs: Math.round(performance.now()) });
  };
}

/** Opens the node's LevelDB log and snapshot folder and loads what they hold. */
async function openStorage(nodeDir: string, config: ClusterConfig, id: NodeId, metrics: NodeMetrics): Promise<NodeStorage> {
  const rawLog = await LevelDurableLog.open({ path: join(nodeDir, 'log'), clusterId: config.clusterId, nodeId: id });
  let snapshots: FileSnapshotStore;
  try {
    snapshots = await FileSnapshotStore.open(join(nodeDir, 'snapshots'));
  } catch (err) {
    await rawLog.close(); // release the LevelDB lock before reporting
    throw err;
  }
  const loaded = await rawLog.load();
  return { log: timedLog(rawLog, metrics), loaded, snapshots, peers: rawLog, close: () => rawLog.close() };
}

/**
 * Keeps the transport's peers those of the configuration in force (docs/design.md#membership),
 * and of the one before it: now, and on every call after the configuration changed. Called
 * every tick: a change takes effect when its entry is appended, and a tick later a new member
 * is dialled (Raft retransmits what went nowhere meanwhile). A member just removed stays a peer
 * until the next change, because it still has work to do here: a leader that removes itself
 * replicates the removal and hands over, and its followers must hear it and answer it until
 * then (thesis §4.1: servers take requests from outside their configuration).
 */
function followMembers(host: RaftHost<ApplyOutput>, transport: WsPeerTransport, directory: MemberDirectory, logger: Logger): () => void {
  let known = -1;
  let previous: ConfState | undefined;
  const follow = (): void => {
    const st = host.status(false);
    if (st.configIndex === known) return;
    const peers = new Map([...(previous !== undefined ? directory.peers(previous) : []), ...directory.peers(st.config)]);
    previous = st.config;
    known = st.configIndex;
    transport.setPeers(peers);
    logger.info('members', {
      configIndex: st.configIndex,
      voters: st.config.voters,
      learners: st.config.learners,
      peers: [...peers.values()],
    });
  };
  follow();
  return follow;
}

/** The leader's clock for stamping entries: the wall clock, comparable across nodes (shifted by chaos runs). */
function stampClock(offsetMs: number): Clock {
  return offsetMs === 0 ? systemClock : { now: () => systemClock.now() + offsetMs };
}

/** The Raft host over the node's storage, transport and service, fail-stop on storage errors. */
function createHost(parts: {
  readonly id: NodeId;
  readonly config: ClusterConfig;
  readonly logger: Logger;
  readonly storage: NodeStorage;
  readonly transport: WsPeerTransport;
  readonly service: LockService;
  readonly bootstrap: ConfState;
  readonly onFatal: () => void;
}): RaftHost<ApplyOutput> {
  const { id, config, logger, storage } = parts;
  return new RaftHost<ApplyOutput>({
    id,
    raft: {
      electionTick: config.electionTicks,
      heartbeatTick: config.heartbeatTicks,
      // Election jitter only needs to differ between nodes and runs, not be unpredictable.
      random: new SeededRandom((Date.now() ^ (process.pid << 8) ^ id) >>> 0),
      logger,
    },
    bootstrap: parts.bootstrap,
    log: storage.log,
    loaded: storage.loaded,
    snapshots: storage.snapshots,
    transport: parts.transport,
    stateMachine: parts.service.stateMachine(),
    snapshotEvery: config.snapshotEvery,
    // Keep some entries behind each snapshot so a briefly slow follower catches up from the
    // log, but never more than a quarter of the interval.
    snapshotCatchUpEntries: Math.min(1000, Math.floor(config.snapshotEvery / 4)),
    logger,
    onFatal: (err) => {
      logger.error('fatal storage error; stopping (fail-stop)', { error: err.message });
      process.exitCode = 70;
      parts.onFatal();
    },
  });
}

/**
 * The `/status` document. Its digest is the state machine's own (docs/design.md#the-state-digest),
 * kept up to date by every apply, so reading it is O(1) at any state size; and read in the same
 * synchronous call as `applied`, it is always the digest of the state at the reported `applied`.
 */
export function statusReporter(parts: {
  readonly id: NodeId;
  readonly config: ClusterConfig;
  readonly host: Pick<RaftHost<ApplyOutput>, 'status' | 'appliedIndex'>;
  readonly machine: Pick<LockMachine, 'digest'>;
  readonly directory: MemberDirectory;
  readonly address: () => string;
}): () => NodeStatus {
  const { id, config, host, machine, directory } = parts;
  return () => {
    const st = host.status();
    const addressOf = (nid: NodeId): string | null => directory.addressOf(st.config, nid);
    // What the state machine has applied: the core's `applied` counts entries handed to the
    // host, which applies them only once they are durable here, so it can run ahead of the
    // state the digest hashes. Both are read here, between two applies, so they agree.
    const applied = host.appliedIndex;
    return {
      id,
      clusterId: config.clusterId,
      address: parts.address(),
      pid: process.pid,
      role: st.role,
      term: st.term,
      leader: st.leader,
      leaderAddress: st.leader === NONE ? null : addressOf(st.leader),
      commit: st.commit,
      applied,
      lastIndex: st.lastIndex,
      snapshotIndex: st.firstIndex - 1,
      // The first 16 of its 32 hex digits: the format /status has always had.
      digest: machine.digest().slice(0, 16),
      memory: { rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed },
      peers: st.progress
        .filter((p) => p.id !== id)
        .map((p) => ({ id: p.id, address: addressOf(p.id) ?? '', match: p.match, next: p.next, state: p.state, active: p.recentActive })),
      members: directory.members(st.config),
      configIndex: st.configIndex,
      // The latest configuration entry is in force but not yet committed.
      changePending: st.configIndex > st.commit,
    };
  };
}

/**
 * The node's one HTTP(S) server: WebSocket upgrades to the peer or client endpoint, the rest to
 * the routes. `listener` is what listens on the port: the server itself, or with TLS the
 * listener in front of it (tls.ts). With TLS and `clientCertRequired`, everything but `/raft`
 * (the transport checks peers) and `/healthz` (for load balancers) needs a client certificate.
 */
function createNodeServer(
  ctx: Parameters<typeof handleHttp>[2],
  transport: WsPeerTransport,
  clients: ClientEndpoint,
  tls: TlsMaterial | undefined,
): { readonly server: Server; readonly listener: NetServer } {
  const certRequired = tls?.config.clientCertRequired === true;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const problem = pathOf(req) === '/healthz' ? null : clientCertificateProblem(req, certRequired);
    if (problem !== null) return sendJson(res, 401, { error: { code: 'AUTH', message: problem } });
    handleHttp(req, res, ctx).catch((err: unknown) => {
      ctx.logger.warn('http handler failed', { error: String(err) });
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
    });
  };
  const front = tls !== undefined ? createTlsServer(tls, handler) : undefined;
  const server: Server = front?.https ?? createServer(handler);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = pathOf(req);
    if (path === '/raft') return transport.handleUpgrade(req, socket, head);
    socket.on('error', () => socket.destroy());
    if (path !== '/client') return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    const problem = clientCertificateProblem(req, certRequired);
    if (problem === null) return clients.handleUpgrade(req, socket, head);
    socket.end(
      `HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\nX-Raftlock-Reason: ${problem.replace(/[^\x20-\x7e]/g, '?')}\r\n\r\n`,
    );
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return { server, listener: front?.listener ?? server };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0] ?? '';
}

/**
 * Listens on `listen` and returns the address bound (port 0 becomes the port chosen). Fails
 * with {@link listenError}'s message, which says what to do, keeping the system error's `code`.
 */
async function listenOn(server: NetServer, listen: HostPort, source: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => reject(listenError(err, listen, source));
    server.once('error', fail);
    server.listen(listen.port, listen.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const addr = server.address();
  return addr !== null && typeof addr === 'object' ? `${listen.host}:${addr.port}` : `${listen.host}:${listen.port}`;
}

/**
 * A bind failure in words an operator can act on: a bare `EADDRINUSE` does not say that the
 * usual cause is a cluster (or `cluster up`) already running on these ports. The message keeps
 * the system code, and the error its `code` and `cause`, for callers that test them.
 */
function listenError(err: Error, listen: HostPort, source: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${listen.host}:${listen.port}`;
  const hint =
    code === 'EADDRINUSE'
      ? `port ${listen.port} is in use (${where}, EADDRINUSE): another raftlock cluster or program is running there; stop it or pick other addresses in the configuration (${source})`
      : code === 'EADDRNOTAVAIL'
        ? `${listen.host} is not an address of this machine (${where}, EADDRNOTAVAIL): each node must run on the host its address names (${source})`
        : code === 'EACCES'
          ? `no permission to listen on ${where} (EACCES): ports below 1024 need privileges; pick another port (${source})`
          : `cannot listen on ${where} (${source}): ${err.message}`;
  return Object.assign(new Error(hint, { cause: err }), code !== undefined ? { code } : {});
}

/**
 * If leader, transfers leadership to the most up-to-date peer and waits (at most two election
 * timeouts) until someone else leads, so clients fail over without waiting for a timeout. Logs
 * how it ended: `leadership handed over` (the target leads), `leadership passed to another
 * node`, `stepped down before the hand-over completed` (no new leader seen in time, e.g. the
 * peers are stopping too) or, at warn, `leadership hand-over timed out; stopping anyway`.
 */
async function handOverLeadership(host: RaftHost<ApplyOutput>, config: ClusterConfig, logger: Logger): Promise<void> {
  const st = host.status();
  if (st.role !== 'leader' || config.nodes.length < 2) return;
  const target = st.progress.filter((p) => p.id !== st.id && !p.isLearner).sort((a, b) => b.match - a.match)[0];
  if (target === undefined) return;
  logger.info('stopping: handing leadership over', { target: target.id });
  host.transferLeadership(target.id);
  const deadline = Date.now() + 2 * config.electionTicks * config.tickMs;
  // Not only until this node steps down: it does so on the target's vote request, before the
  // target's first append tells it who won, and only then can it say whether the hand-over took.
  const settled = (): boolean => {
    const now = host.status(false);
    return now.role !== 'leader' && now.leader !== NONE;
  };
  while (!settled() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, config.tickMs));
  }
  const after = host.status(false);
  if (after.leader === target.id) logger.info('leadership handed over', { target: target.id });
  else if (after.role === 'leader') logger.warn('leadership hand-over timed out; stopping anyway', { target: target.id });
  else if (after.leader !== NONE) logger.info('leadership passed to another node', { target: target.id, leader: after.leader });
  else logger.info('stepped down before the hand-over completed', { target: target.id });
}
