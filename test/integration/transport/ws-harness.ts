/**
 * Real-socket helpers for WsPeerTransport tests: one HTTP server per node on 127.0.0.1 with an
 * ephemeral port, `/raft` upgrades routed to the node's transport (as the node does), plus a
 * raw WebSocket client and a hand-driven acceptor for speaking the wire protocol directly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { Message, NodeId } from '../../../src/raft/index.js';
import type { TransportHandler } from '../../../src/transport/peer-transport.js';
import { decodeFrame, encodeControl, PROTOCOL_VERSION, type ControlFrame, type Frame } from '../../../src/transport/wire.js';
import { WsPeerTransport, type WsTransportOptions } from '../../../src/transport/ws-transport.js';

export const CLUSTER = 'test-cluster';

/** Waits until `cond()` holds, yielding to the event loop between checks. */
export async function eventually(cond: () => boolean, what: string, deadlineMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

export function heartbeat(from: NodeId, to: NodeId, commit: number): Message {
  return { type: 'heartbeat', from, to, term: 1, commit, context: null };
}

/** Records what a transport hands its handler. */
export class Recorder implements TransportHandler {
  messages: Message[] = [];
  snapshots: number[] = [];
  unreachable: NodeId[] = [];
  onMessage(m: Message): boolean {
    this.messages.push(m);
    return true;
  }
  onSnapshot(): boolean {
    this.snapshots.push(this.snapshots.length);
    return true;
  }
  onUnreachable(peer: NodeId): void {
    this.unreachable.push(peer);
  }
}

/** An HTTP server on 127.0.0.1:0 whose `/raft` upgrades go to `route` once set. */
export interface TestServer {
  readonly server: Server;
  readonly port: number;
  route: ((req: Parameters<WsPeerTransport['handleUpgrade']>[0], socket: Duplex, head: Buffer) => void) | undefined;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0: an ephemeral port). */
export async function startServer(port = 0): Promise<TestServer> {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const s: TestServer = {
    server,
    port: 0,
    route: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '').split('?')[0] === '/raft' && s.route !== undefined) s.route(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  (s as { port: number }).port = (server.address() as AddressInfo).port;
  return s;
}

export interface WsCluster {
  readonly transports: Map<NodeId, WsPeerTransport>;
  readonly servers: Map<NodeId, TestServer>;
  close(): Promise<void>;
}

/**
 * Transports for `ids` wired to each other over real sockets, not started. `extra` adds or
 * overrides options per node (secrets, limits, faults...).
 */
export async function makeWsCluster(
  ids: readonly NodeId[],
  extra: (id: NodeId) => Partial<WsTransportOptions> = () => ({}),
): Promise<WsCluster> {
  const servers = new Map<NodeId, TestServer>();
  for (const id of ids) servers.set(id, await startServer());
  const transports = new Map<NodeId, WsPeerTransport>();
  for (const id of ids) {
    const peers = new Map<NodeId, string>();
    for (const other of ids) if (other !== id) peers.set(other, `127.0.0.1:${servers.get(other)?.port ?? 0}`);
    const t = new WsPeerTransport({ id, clusterId: CLUSTER, peers, backoffCapMs: 200, ...extra(id) });
    transports.set(id, t);
    const srv = servers.get(id);
    if (srv !== undefined) srv.route = (req, socket, head) => t.handleUpgrade(req, socket, head);
  }
  return {
    transports,
    servers,
    close: async () => {
      await Promise.all([...transports.values()].map((t) => t.close()));
      await Promise.all([...servers.values()].map((s) => s.close()));
    },
  };
}

/** A raw WebSocket peer: whatever frames it gets, and how it was closed. */
export interface RawPeer {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  closed: { code: number; reason: string } | undefined;
  opened: Promise<void>;
  sendControl(c: ControlFrame): void;
}

export function rawPeer(port: number, maxPayload = 64 * 1024 * 1024): RawPeer {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/raft`, { maxPayload, perMessageDeflate: false });
  const peer: RawPeer = {
    ws,
    frames: [],
    closed: undefined,
    opened: new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    sendControl: (c) => ws.send(encodeControl(c)),
  };
  ws.on('error', () => {});
  ws.on('message', (data) => {
    try {
      peer.frames.push(decodeFrame(data as Buffer));
    } catch {
      // a test may expect garbage
    }
  });
  ws.on('close', (code, reason) => (peer.closed = { code, reason: reason.toString() }));
  return peer;
}

/** A raw peer that completed a secret-less handshake as `from` → `to`. */
export async function handshakenPeer(port: number, from: NodeId, to: NodeId): Promise<RawPeer> {
  const p = rawPeer(port);
  await p.opened;
  p.sendControl({ k: 'hello', protocol: PROTOCOL_VERSION, clusterId: CLUSTER, from, to, nonce: null, dataId: 'd', address: '' });
  await eventually(() => p.frames.some((f) => f.kind === 'control' && f.control.k === 'welcome') || p.closed !== undefined, 'welcome');
  if (p.closed !== undefined) throw new Error(`handshake refused: ${p.closed.code} ${p.closed.reason}`);
  return p;
}

/**
 * A hand-driven acceptor: answers hellos with welcome (no secret), records frames, and lets a
 * test stop reading from the socket to fill the dialer's buffers.
 */
export interface FakeAcceptor {
  readonly server: TestServer;
  readonly frames: Frame[];
  sockets: Duplex[];
  close(): Promise<void>;
}

export async function fakeAcceptor(
  onHello: (ws: WebSocket, socket: Duplex) => void = (ws) => ws.send(encodeControl({ k: 'welcome', dataId: 'd' })),
): Promise<FakeAcceptor> {
  const server = await startServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
  const fa: FakeAcceptor = {
    server,
    frames: [],
    sockets: [],
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await server.close();
    },
  };
  server.route = (req, socket, head) => {
    fa.sockets.push(socket);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data) => {
        let f: Frame;
        try {
          f = decodeFrame(data as Buffer);
        } catch {
          return;
        }
        fa.frames.push(f);
        if (f.kind === 'control' && f.control.k === 'hello') onHello(ws, socket);
      });
    });
  };
  return fa;
}

/**
 * Per-file test fixture: `cleanups` run after each test; `cluster()` makes a cluster that is
 * closed then; `get()` picks one of its transports.
 */
export function useWsFixture(): {
  cleanups: Array<() => Promise<void>>;
  cluster: (ids: NodeId[], extra?: Parameters<typeof makeWsCluster>[1]) => Promise<WsCluster>;
  get: (c: WsCluster, id: NodeId) => WsPeerTransport;
} {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((f) => f()));
  });
  return {
    cleanups,
    async cluster(ids, extra = () => ({})) {
      const c = await makeWsCluster(ids, extra);
      cleanups.push(() => c.close());
      return c;
    },
    get(c, id) {
      const t = c.transports.get(id);
      if (t === undefined) throw new Error(`no transport ${id}`);
      return t;
    },
  };
}
