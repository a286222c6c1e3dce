/**
 * WsPeerTransport against the shared transport contract, over real sockets: one HTTP server per
 * node on 127.0.0.1 with an ephemeral port, `/raft` upgrades routed to the transport. Each
 * listener counts the connections it accepts and keeps their sockets, for the contract's
 * "no reconnect" and "redials the new address" checks. Below the contract: what only a
 * connection shows (close codes, a snapshot stream cut mid-way), driven by raw wire peers.
 */
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId, SnapshotRequest } from '../../src/raft/index.js';
import { CloseCode } from '../../src/transport/handshake.js';
import type { PeerTransport } from '../../src/transport/peer-transport.js';
import { PROTOCOL_VERSION } from '../../src/transport/wire.js';
import { WsPeerTransport } from '../../src/transport/ws-transport.js';
import {
  CLUSTER,
  Recorder,
  eventually,
  fakeAcceptor,
  handshakenPeer,
  makeWsCluster,
  rawPeer,
  startServer,
  type TestServer,
} from '../integration/transport/ws-harness.js';
import { transportContract } from './transport.contract.js';

// The contract closes each cluster itself; this catches the ones a failing assertion left open.
const open = new Set<() => Promise<void>>();
afterEach(async () => {
  await Promise.all([...open].map((close) => close()));
  open.clear();
});

interface Listener {
  accepted: number;
  readonly sockets: Duplex[];
}

transportContract('WsPeerTransport', {
  async make(ids) {
    const c = await makeWsCluster(ids);
    const listeners = new Map<string, Listener>();
    const addresses = new Map<NodeId, string>();
    const extraServers: TestServer[] = [];
    const transport = (id: NodeId): WsPeerTransport => {
      const t = c.transports.get(id);
      if (t === undefined) throw new Error(`no transport ${id}`);
      return t;
    };
    const listen = (id: NodeId, server: TestServer): string => {
      const address = `127.0.0.1:${server.port}`;
      const l: Listener = { accepted: 0, sockets: [] };
      listeners.set(address, l);
      const t = transport(id);
      server.route = (req, socket, head) => {
        l.accepted++;
        l.sockets.push(socket);
        t.handleUpgrade(req, socket, head);
      };
      addresses.set(id, address);
      return address;
    };
    for (const [id, server] of c.servers) listen(id, server);
    const listener = (address: string): Listener => {
      const l = listeners.get(address);
      if (l === undefined) throw new Error(`no listener at ${address}`);
      return l;
    };
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= c
        .close()
        .then(() => Promise.all(extraServers.map((s) => s.close())))
        .then(() => void open.delete(close)));
    open.add(close);
    return {
      transports: new Map<NodeId, PeerTransport>(c.transports),
      close,
      address: (id) => {
        const a = addresses.get(id);
        if (a === undefined) throw new Error(`no address for ${id}`);
        return a;
      },
      dropped: (id) => transport(id).metrics.dropped,
      async relocate(id) {
        const old = c.servers.get(id);
        if (old === undefined) throw new Error(`no server ${id}`);
        const server = await startServer();
        extraServers.push(server);
        // New connections to the old address fail; those it has stay open.
        old.route = (_req, socket) => socket.destroy();
        return listen(id, server);
      },
      accepted: (address) => listener(address).accepted,
      openAt: (address) => listener(address).sockets.filter((s) => !s.destroyed).length,
      linked: (from, to) => transport(from).connectedPeers().includes(to) || transport(to).acceptedPeers().includes(from),
      refused: (id) => transport(id).metrics.rejectedHandshakes,
    };
  },
});

describe('WsPeerTransport: a removed peer, seen from the wire', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((f) => f()));
  });

  /** Node 1 on its own listener, knowing peer 2 at `peerAddress`, started. */
  async function node1(peerAddress: string, secret?: string): Promise<{ t: WsPeerTransport; port: number }> {
    const server = await startServer();
    const t = new WsPeerTransport({
      id: 1,
      clusterId: CLUSTER,
      peers: new Map([[2, peerAddress]]),
      backoffCapMs: 200,
      ...(secret !== undefined ? { secret } : {}),
    });
    server.route = (req, socket, head) => t.handleUpgrade(req, socket, head);
    cleanups.push(async () => {
      await t.close();
      await server.close();
    });
    t.start(new Recorder());
    return { t, port: server.port };
  }

  it('closes its authenticated connection and one still authenticating with 4004, and refuses it afterwards', async () => {
    const unused = await startServer();
    cleanups.push(() => unused.close());
    const plain = await node1(`127.0.0.1:${unused.port}`);
    const inbound = await handshakenPeer(plain.port, 2, 1);
    expect(plain.t.acceptedPeers()).toEqual([2]);

    const guarded = await node1(`127.0.0.1:${unused.port}`, 'a secret');
    const pending = rawPeer(guarded.port);
    await pending.opened;
    pending.sendControl({
      k: 'hello',
      protocol: PROTOCOL_VERSION,
      clusterId: CLUSTER,
      from: 2,
      to: 1,
      nonce: new Uint8Array(32),
      dataId: 'd',
      address: '',
    });
    await eventually(() => pending.frames.some((f) => f.kind === 'control' && f.control.k === 'challenge'), 'challenge');

    plain.t.setPeers(new Map());
    guarded.t.setPeers(new Map());
    await eventually(() => inbound.closed !== undefined && pending.closed !== undefined, 'both connections closed');
    expect(inbound.closed?.code).toBe(CloseCode.NODE);
    expect(pending.closed?.code).toBe(CloseCode.NODE);
    expect(plain.t.acceptedPeers()).toEqual([]);

    await expect(handshakenPeer(plain.port, 2, 1)).rejects.toThrow(`handshake refused: ${CloseCode.NODE}`);
    for (const raw of [inbound, pending]) raw.ws.terminate();
  });

  it('fails a snapshot stream cut mid-way exactly once, and closes the connection it ran on', async () => {
    // The acceptor welcomes and then never acknowledges: the stream stays in flight.
    const acceptor = await fakeAcceptor();
    cleanups.push(() => acceptor.close());
    const { t } = await node1(`127.0.0.1:${acceptor.server.port}`);
    await eventually(() => t.connectedPeers().includes(2), 'link up');
    const message: SnapshotRequest = {
      type: 'snapshot',
      from: 1,
      to: 2,
      term: 2,
      snapshot: { index: 9, term: 2, confState: { voters: [1, 2], learners: [] } },
    };
    const results: boolean[] = [];
    t.sendSnapshot(message, new Uint8Array(64 * 1024).fill(3), (ok) => results.push(ok));
    await eventually(() => acceptor.frames.some((f) => f.kind === 'control' && f.control.k === 'snap-end'), 'the whole stream sent');
    const failedBefore = t.metrics.snapshotsFailed;
    t.setPeers(new Map());
    await eventually(() => results.length > 0 && acceptor.sockets.every((s) => s.destroyed), 'failure report and closed socket');
    // Had a second report been queued with the first, it would have run by now.
    await new Promise<void>((r) => setImmediate(r));
    expect(results).toEqual([false]);
    expect(t.metrics.snapshotsFailed).toBe(failedBefore + 1);
    expect(t.connectedPeers()).toEqual([]);
  });
});
