/**
 * How the SDK keeps its endpoint list to the cluster's members (docs/operations.md#changing-the-members),
 * against fake nodes: WebSocket servers on loopback that answer `status` as told and
 * `counter-get` with their own id, so where a read lands shows which node the client reached.
 *
 * Members that change while a connection lasts are learnt (the client asks every 5 s), so when
 * every endpoint it was given is gone, it still reaches the member added since. (That a node
 * knowing no leader is not believed about the members is shown by the chaos suite's
 * check-removed control, whose restarted removed nodes list the old members.)
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ClusterClient, now } from '../../src/client/cluster-client.js';
import { decodeRequest, encodeResponse, type NodeRoleValue } from '../../src/protocol/index.js';
import { waitFor } from '../../scripts/lib/wait.js';

/** A fake node: its id, its address, and what its `status` says (changed by the test). */
interface FakeNode {
  readonly id: number;
  readonly address: string;
  status: Omit<NodeRoleValue, 'nodeId'>;
  close(): Promise<void>;
}

const nodes: FakeNode[] = [];
const clients: ClusterClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

async function fakeNode(id: number): Promise<FakeNode> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/client' });
  await once(wss, 'listening');
  const address = `127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const sockets = new Set<WebSocket>();
  const node: FakeNode = {
    id,
    address,
    status: { role: 'follower', term: 1, leader: 0, leaderAddress: null },
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data) => {
      const req = decodeRequest(data as Buffer);
      if (req.op === 'status') ws.send(encodeResponse({ id: req.id, ok: true, value: { nodeId: id, ...node.status } }));
      else if (req.op === 'counter-get') ws.send(encodeResponse({ id: req.id, ok: true, value: id }));
    });
  });
  nodes.push(node);
  return node;
}

const member = (n: FakeNode): { id: number; address: string; role: 'voter' } => ({ id: n.id, address: n.address, role: 'voter' });

/** A linearizable read through `client`: the id of the node that answered it. */
async function readAt(client: ClusterClient): Promise<number> {
  const r = await client.call({ build: () => ({ op: 'counter-get', name: 'x' }) as const, write: false, deadline: now() + 10_000 });
  return r.value;
}

function client(endpoints: string[]): ClusterClient {
  const c = new ClusterClient({ endpoints, discoverMembers: true, connectTimeoutMs: 500, attemptTimeoutMs: 1_000 });
  clients.push(c);
  return c;
}

describe('the SDK follows the members', () => {
  it('learns members added while its connection lasts, and reaches them once its endpoints are gone', async () => {
    const a = await fakeNode(1);
    const b = await fakeNode(2);
    a.status = { role: 'leader', term: 1, leader: 1, leaderAddress: a.address, members: [member(a)] };
    const c = client([a.address]);
    expect(await readAt(c)).toBe(1);
    // B joins and takes over; A, still connected, lists both, then A goes away for good.
    a.status = { ...a.status, members: [member(a), member(b)] };
    b.status = { role: 'follower', term: 1, leader: 1, leaderAddress: a.address, members: [member(a), member(b)] };
    await waitFor('the client to ask A for the members again', () => knows(c, b.address), 15_000, 100);
    b.status = { role: 'leader', term: 2, leader: 2, leaderAddress: b.address, members: [member(b)] };
    await a.close();
    expect(await readAt(c)).toBe(2);
  }, 30_000);
});

/** Whether `client`'s endpoint list holds `address` (its private list, read for the test). */
function knows(client: ClusterClient, address: string): true | undefined {
  const urls = (client as unknown as { urls: readonly string[] }).urls;
  return urls.some((u) => u.includes(address)) ? true : undefined;
}
