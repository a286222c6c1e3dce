/**
 * One raftlock node as a running service (DESIGN §2): LevelDB log, file snapshots, WebSocket
 * peers, the RaftHost ready loop running the lock/counter machine through LockService, and one
 * HTTP server answering `/raft` (peers), `/client` (clients), `GET /status`, `GET /metrics`,
 * `GET /healthz` and the admin routes. `startNode` is also what `import { startNode } from 'raftlock/server'` embeds.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { SeededRandom, type NodeId } from '../raft/index.js';
import { LockMachine, type ApplyOutput } from '../state-machine/index.js';
import { FileSnapshotStore } from '../storage/file-snapshot-store.js';
import { LevelDurableLog } from '../storage/level-durable-log.js';
import { FaultLayer } from '../transport/fault-layer.js';
import { WsPeerTransport } from '../transport/ws-transport.js';
import { ClientEndpoint } from './client-endpoint.js';
import { systemClock } from '../host/clock.js';
import { parseAddress, type ClusterConfig } from './config.js';
import { LockService } from '../service/lock-service.js';
import { createJsonLogger, type Logger } from './logger.js';
import { NodeMetrics, timedLog } from './node-metrics.js';
import { RaftHost } from '../host/raft-host.js';

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
   * nemesis only; default 0). Log time never decreases whatever the offset (DESIGN §2.4).
   */
  readonly clockOffsetMs?: number;
  /**
   * Where to dial some peers instead of their configured address (chaos runs put a proxy on
   * every link this way). Clients are still told the configured addresses.
   */
  readonly dialAddresses?: ReadonlyMap<NodeId, string>;
  /** Enables the fault-injection layer (tests and chaos runs only; off by default). */
  readonly enableFaults?: boolean;
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
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly address: string;
  readonly pid: number;
  readonly role: string;
  readonly term: number;
  readonly leader: NodeId;
  readonly leaderAddress: string | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** Hash of the replicated state's canonical snapshot: equal on replicas at equal `applied`. */
  readonly digest: string;
  /** Process memory (bytes), for operators and the fuzz tests' "memory flat" check. */
  readonly memory: { readonly rss: number; readonly heapUsed: number };
  readonly peers: ReadonlyArray<{ id: NodeId; address: string; match: number; next: number; state: string; active: boolean }>;
}

export async function startNode(opts: StartNodeOptions): Promise<NodeHandle> {
  const { config, id } = opts;
  const self = config.nodes.find((n) => n.id === id);
  if (self === undefined) throw new Error(`node id ${id} is not in the configuration (ids: ${config.nodes.map((n) => n.id).join(', ')})`);
  const listen = parseAddress(opts.listen ?? self.address, opts.listen !== undefined ? '--listen' : `nodes[id=${id}].address`);
  const dataDir = opts.dataDir ?? config.dataDir;
  const nodeDir = join(dataDir, `node-${id}`);
  mkdirSync(nodeDir, { recursive: true });

  let host: RaftHost<ApplyOutput> | undefined;
  const logger =
    opts.logger ??
    createJsonLogger({
      context: () => {
        const st = host?.status(false);
        return { node: id, term: st?.term, role: st?.role };
      },
    });
  const metrics = new NodeMetrics(() => host);
  const rawLog = await LevelDurableLog.open({ path: join(nodeDir, 'log'), clusterId: config.clusterId, nodeId: id });
  let snapshots: FileSnapshotStore;
  try {
    snapshots = await FileSnapshotStore.open(join(nodeDir, 'snapshots'));
  } catch (err) {
    await rawLog.close(); // release the LevelDB lock before reporting
    throw err;
  }
  const log = timedLog(rawLog, metrics);
  const loaded = await rawLog.load();
  const faults = opts.enableFaults === true ? new FaultLayer() : undefined;
  const peers = new Map(config.nodes.filter((n) => n.id !== id).map((n) => [n.id, opts.dialAddresses?.get(n.id) ?? n.address] as const));
  const transport = new WsPeerTransport({
    id,
    clusterId: config.clusterId,
    peers,
    ...(config.secret !== undefined ? { secret: config.secret } : {}),
    maxPayload: config.limits.maxPeerFrameBytes,
    logger,
    ...(faults !== undefined ? { faults } : {}),
  });
  const machine = new LockMachine({
    limits: { maxNameBytes: config.limits.maxNameBytes, maxSessions: config.limits.maxSessions, maxWaitersPerLock: config.limits.maxWaitersPerLock },
  });
  // Log time comes from the leader's wall clock (comparable across nodes, unlike a monotonic one).
  const offset = opts.clockOffsetMs ?? 0;
  const clock = offset === 0 ? systemClock : { now: () => systemClock.now() + offset };
  const service = new LockService({ machine, clock });
  host = new RaftHost<ApplyOutput>({
    id,
    raft: {
      electionTick: config.electionTicks,
      heartbeatTick: config.heartbeatTicks,
      // Election jitter only needs to differ between nodes and runs, not be unpredictable.
      random: new SeededRandom((Date.now() ^ (process.pid << 8) ^ id) >>> 0),
      logger,
    },
    bootstrap: { voters: config.nodes.map((n) => n.id), learners: [] },
    log,
    loaded,
    snapshots,
    transport,
    stateMachine: service.stateMachine(),
    snapshotEvery: config.snapshotEvery,
    // Keep some entries behind each snapshot so a briefly slow follower catches up from the
    // log, but never more than a quarter of the interval.
    snapshotCatchUpEntries: Math.min(1000, Math.floor(config.snapshotEvery / 4)),
    logger,
    onFatal: (err) => {
      logger.error('fatal storage error; stopping (fail-stop)', { error: err.message });
      process.exitCode = 70;
      void stop();
    },
  });
  const h = host;
  service.attach(h);
  metrics.attach(transport);

  const addressOf = (nid: NodeId): string | null => config.nodes.find((n) => n.id === nid)?.address ?? null;
  const clients = new ClientEndpoint({
    service,
    raft: h,
    nodeId: id,
    addressOf,
    ...(config.clientToken !== undefined ? { clientToken: config.clientToken } : {}),
    logger,
    maxClientFrameBytes: config.limits.maxClientFrameBytes,
  });
  metrics.attachClients(clients);
  let boundAddress = `${listen.host}:${listen.port}`;
  // The digest hashes the whole state (about 1 s at a million counters): compute it once per
  // applied index, not on every poll of /status (operators' and harnesses' polls stalled nodes).
  let digestCache: { applied: number; digest: string } | undefined;
  const digestAt = (applied: number): string => {
    if (digestCache?.applied !== applied) digestCache = { applied, digest: createHash('sha256').update(machine.snapshot()).digest('hex').slice(0, 16) };
    return digestCache.digest;
  };
  const status = (): NodeStatus => {
    const st = h.status();
    return {
      id,
      clusterId: config.clusterId,
      address: boundAddress,
      pid: process.pid,
      role: st.role,
      term: st.term,
      leader: st.leader,
      leaderAddress: st.leader === 0 ? null : addressOf(st.leader),
      commit: st.commit,
      applied: st.applied,
      lastIndex: st.lastIndex,
      snapshotIndex: st.firstIndex - 1,
      digest: digestAt(st.applied),
      memory: { rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed },
      peers: st.progress
        .filter((p) => p.id !== id)
        .map((p) => ({ id: p.id, address: addressOf(p.id) ?? '', match: p.match, next: p.next, state: p.state, active: p.recentActive })),
    };
  };

  const server: Server = createServer((req, res) => {
    handleHttp(req, res, { host: h, status, metrics, config, logger }).catch((err: unknown) => {
      logger.warn('http handler failed', { error: String(err) });
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/raft') transport.handleUpgrade(req, socket, head);
    else if (path === '/client') clients.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr !== null && typeof addr === 'object') boundAddress = `${listen.host}:${addr.port}`;
  const ticker = setInterval(() => {
    h.tick();
    service.tick();
  }, config.tickMs);
  logger.info('node started', { address: boundAddress, dataDir: nodeDir, peers: [...peers.values()], pid: process.pid });

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopping ??= (async () => {
      await handOverLeadership(h, config, logger);
      clearInterval(ticker);
      await clients.close();
      service.releaseParked('node stopping');
      h.stop();
      await transport.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await rawLog.close();
      logger.info('node stopped');
    })();
    return stopping;
  }

  return { id, address: boundAddress, host: h, service, faults, status, stop };
}

/**
 * If leader, transfers leadership to the most up-to-date peer and waits (at most two election
 * timeouts) until someone else leads, so clients fail over without waiting for a timeout.
 */
async function handOverLeadership(host: RaftHost<ApplyOutput>, config: ClusterConfig, logger: Logger): Promise<void> {
  const st = host.status();
  if (st.role !== 'leader' || config.nodes.length < 2) return;
  const target = st.progress.filter((p) => p.id !== st.id && !p.isLearner).sort((a, b) => b.match - a.match)[0];
  if (target === undefined) return;
  logger.info('stopping: handing leadership over', { target: target.id });
  host.transferLeadership(target.id);
  const deadline = Date.now() + 2 * config.electionTicks * config.tickMs;
  while (host.status(false).role === 'leader' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, config.tickMs));
  }
}

interface HttpContext {
  readonly host: RaftHost<ApplyOutput>;
  readonly status: () => NodeStatus;
  readonly metrics: NodeMetrics;
  readonly config: ClusterConfig;
  readonly logger: Logger;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function handleHttp(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://node');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  switch (route) {
    case 'GET /status':
      return sendJson(res, 200, ctx.status());
    case 'GET /healthz': {
      const st = ctx.host.status(false);
      const ok = st.leader !== 0 && !ctx.host.isStopped();
      return sendJson(res, ok ? 200 : 503, { ok, role: st.role, term: st.term, leader: st.leader });
    }
    case 'GET /metrics': {
      const text = ctx.metrics.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(text);
      return;
    }
    case 'POST /admin/snapshot':
    case 'POST /admin/propose':
    case 'POST /admin/transfer-leader':
      return handleAdmin(route, url, req, res, ctx);
    default:
      return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${route}; try GET /status, /metrics, /healthz` } });
  }
}

/**
 * Operator and test routes. With a `clientToken` configured they need
 * `Authorization: Bearer <clientToken>`.
 */
async function handleAdmin(route: string, url: URL, req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  const token = ctx.config.clientToken;
  if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
    return sendJson(res, 401, { error: { code: 'AUTH', message: 'admin routes need Authorization: Bearer <clientToken>' } });
  }
  if (route === 'POST /admin/snapshot') {
    ctx.host.snapshotNow();
    return sendJson(res, 202, { requested: true, applied: ctx.host.appliedIndex });
  }
  if (route === 'POST /admin/transfer-leader') {
    const to = Number(url.searchParams.get('to'));
    if (!Number.isSafeInteger(to) || to <= 0) return sendJson(res, 400, { error: { code: 'INVALID_ARGUMENT', message: 'query parameter to=<node id> is required' } });
    return sendJson(res, 200, ctx.host.transferLeadership(to));
  }
  const body = await readBody(req, ctx.config.limits.maxClientFrameBytes);
  if (body === undefined) return sendJson(res, 413, { error: { code: 'LIMIT_EXCEEDED', message: `body over ${ctx.config.limits.maxClientFrameBytes} bytes` } });
  const outcome = await new Promise<Parameters<Parameters<RaftHost<ApplyOutput>['propose']>[1]>[0]>((resolve) => ctx.host.propose(new Uint8Array(body), resolve));
  if (outcome.type === 'applied') return sendJson(res, 200, { index: outcome.index, term: outcome.term, result: outcome.result });
  const st = ctx.status();
  if (outcome.type === 'failed') {
    return sendJson(res, 503, { error: { code: outcome.code === 'NOT_LEADER' ? 'NOT_LEADER' : 'UNAVAILABLE', message: outcome.code, outcomeUnknown: false, leader: st.leader, leaderAddress: st.leaderAddress } });
  }
  return sendJson(res, 503, { error: { code: 'UNAVAILABLE', message: outcome.reason, outcomeUnknown: true, leader: st.leader, leaderAddress: st.leaderAddress } });
}
