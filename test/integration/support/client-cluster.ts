/**
 * An in-process cluster of RaftHosts over the memory network, each with a LockService and a
 * ClientEndpoint served by a real HTTP server on 127.0.0.1, plus a raw WebSocket test client
 * speaking the client protocol. For the `/client` endpoint's integration tests.
 */
import { createServer, type Server } from 'node:http';
import WebSocket from 'ws';
import { SeededRandom, type NodeId } from '../../../src/raft/index.js';
import type { AddressInfo, Socket } from 'node:net';
import {
  decodeServerFrame,
  isWatchFrame,
  type Limits,
  type ServerFrame,
  type WatchEndFrame,
  type WatchEvent,
} from '../../../src/protocol/index.js';
import { ClientEndpoint, type ClientEndpointOptions } from '../../../src/server/client-endpoint.js';
import { decodeResponse, encodeRequest, type ClientRequest, type ClientResponse } from '../../../src/protocol/client-protocol.js';
import { systemClock } from '../../../src/host/clock.js';
import { LockService } from '../../../src/service/lock-service.js';
import { RaftHost } from '../../../src/host/raft-host.js';
import { LockMachine, type ApplyOutput } from '../../../src/state-machine/index.js';
import { MemoryDurableLog } from '../../../src/storage/memory-durable-log.js';
import { MemorySnapshotStore } from '../../../src/storage/snapshot-store.js';
import { MemoryNetwork } from '../../../src/transport/memory-transport.js';
import { waitFor } from '../../../scripts/lib/wait.js';

export interface ClusterNode {
  readonly id: NodeId;
  readonly host: RaftHost<ApplyOutput>;
  readonly service: LockService;
  readonly endpoint: ClientEndpoint;
  readonly server: Server;
  /** `127.0.0.1:port` of this node's HTTP server. */
  address: string;
}

export interface ClientCluster {
  readonly nodes: readonly ClusterNode[];
  node(id: NodeId): ClusterNode;
  /** The current leader (waits until one is known to every node). */
  leader(): Promise<ClusterNode>;
  stop(): Promise<void>;
}

export type EndpointExtras = Partial<Omit<ClientEndpointOptions, 'service' | 'raft' | 'nodeId' | 'addressOf'>>;

/** Starts `size` nodes, elects node 1, and returns once every node knows the leader. */
export async function startClientCluster(size = 3, extras: EndpointExtras = {}, limits: Partial<Limits> = {}): Promise<ClientCluster> {
  // Deliver on a later turn, like a real network: no re-entrant steps between hosts.
  const network = new MemoryNetwork({ route: (packet, net) => void setImmediate(() => net.deliver(packet)) });
  const ids = Array.from({ length: size }, (_, k) => k + 1);
  const addresses = new Map<NodeId, string>();
  const nodes: ClusterNode[] = [];
  for (const id of ids) {
    const service = new LockService({ machine: new LockMachine({ limits }), clock: systemClock });
    const log = new MemoryDurableLog();
    const host = new RaftHost<ApplyOutput>({
      id,
      raft: { electionTick: 20, heartbeatTick: 2, random: new SeededRandom(id * 7919) },
      bootstrap: { voters: ids, learners: [] },
      log,
      loaded: log.load(),
      snapshots: new MemorySnapshotStore(),
      transport: network.endpoint(id),
      stateMachine: service.stateMachine(),
    });
    service.attach(host);
    const endpoint = new ClientEndpoint({
      service,
      raft: host,
      nodeId: id,
      addressOf: (nid) => addresses.get(nid) ?? null,
      ...extras,
    });
    const server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req, socket, head: Buffer) => {
      if ((req.url ?? '').split('?')[0] === '/client') endpoint.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    addresses.set(id, address);
    nodes.push({ id, host, service, endpoint, server, address });
  }
  const ticker = setInterval(() => {
    for (const n of nodes) {
      n.host.tick();
      n.service.tick();
    }
  }, 5);
  const byId = (id: NodeId): ClusterNode => {
    const n = nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  };
  const leader = (): Promise<ClusterNode> =>
    waitFor('a leader known to every node', () => {
      const l = nodes.find((n) => n.host.status(false).role === 'leader');
      return l !== undefined && nodes.every((n) => n.host.status(false).leader === l.id) ? l : undefined;
    });
  byId(1).host.campaign();
  await leader();
  let stopped = false;
  return {
    nodes,
    node: byId,
    leader,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      for (const n of nodes) {
        n.endpoint.close();
        n.service.releaseParked('stopping');
        n.host.stop();
        n.server.closeAllConnections();
        await new Promise<void>((resolve) => n.server.close(() => resolve()));
      }
    },
  };
}

/** A request without its id (the client assigns ids). */
export type RequestBody = ClientRequest extends infer R ? (R extends ClientRequest ? Omit<R, 'id'> : never) : never;

/** What one watch of a {@link TestClient} received. */
export interface ReceivedWatch {
  readonly events: WatchEvent[];
  /** The last frame's `through`. */
  through?: number;
  end?: WatchEndFrame['end'];
}

/** A raw protocol client: sends requests, matches responses by id, keeps the rest for tests. */
export class TestClient {
  /** What each watch started on this connection received, by watch id. */
  readonly watches = new Map<number, ReceivedWatch>();
  /** Ids far above what fuzz frames usually carry, so their answers are not mistaken for ours. */
  private nextId = 2 ** 52;
  private readonly waiting = new Map<number, (r: ClientResponse) => void>();
  /** The first 1,000 responses matching no request of ours (id null, or a raw frame's id). */
  readonly orphans: ClientResponse[] = [];
  /** All responses matching no request of ours. */
  orphanCount = 0;
  /** Set when the server closed the connection. */
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      });
    });
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      if (this.watchFrame(data)) return;
      const r = decodeResponse(data);
      const w = r.id === null ? undefined : this.waiting.get(r.id);
      if (w === undefined) {
        this.orphanCount++;
        if (this.orphans.length < 1000) this.orphans.push(r);
        return;
      }
      this.waiting.delete(r.id as number);
      w(r);
    });
  }

  static async connect(address: string): Promise<TestClient> {
    const ws = new WebSocket(`ws://${address}/client`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestClient(ws);
  }

  /** Sends a request and resolves with its response. */
  request(body: RequestBody): Promise<ClientResponse> {
    const id = this.nextId++;
    const p = new Promise<ClientResponse>((resolve) => this.waiting.set(id, resolve));
    this.ws.send(encodeRequest({ ...body, id }));
    return p;
  }

  /** Sends a request and returns its value, failing on an error response. */
  async ok<T = unknown>(body: RequestBody): Promise<T> {
    const r = await this.request(body);
    if (!r.ok) throw new Error(`${body.op} failed: ${r.error.code} ${r.error.message}`);
    return r.value as T;
  }

  /** Takes a pushed watch frame (checked as the SDK checks it); false for anything else. */
  private watchFrame(data: Buffer): boolean {
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(data);
    } catch {
      return false; // decodeResponse will say what is wrong with it
    }
    if (!isWatchFrame(frame)) return false;
    const w = this.watch(frame.watch);
    if ('end' in frame) w.end = frame.end;
    else {
      w.events.push(...frame.events);
      w.through = frame.through;
    }
    return true;
  }

  /** What watch `id` received so far. */
  watch(id: number): ReceivedWatch {
    let w = this.watches.get(id);
    if (w === undefined) {
      w = { events: [] };
      this.watches.set(id, w);
    }
    return w;
  }

  /** Starts a watch; what it receives. */
  async start(body: Omit<Extract<RequestBody, { op: 'watch' }>, 'op'>): Promise<{ id: number; fromIndex: number; got: ReceivedWatch }> {
    const v = await this.ok<{ watch: number; fromIndex: number }>({ op: 'watch', ...body });
    return { id: v.watch, fromIndex: v.fromIndex, got: this.watch(v.watch) };
  }

  /** The TCP socket under the WebSocket (to stop reading it). */
  get socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  /** Sends raw bytes (or text) as one frame. */
  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** Waits until `n` orphan (id null) responses arrived. */
  async orphansAtLeast(n: number): Promise<void> {
    await waitFor(`${n} unmatched responses`, () => this.orphanCount >= n || this.closeCode !== undefined);
  }

  get pending(): number {
    return this.waiting.size;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
