/**
 * WsPeerTransport handshake over real sockets on 127.0.0.1: matching settings connect; wrong
 * cluster id, wrong or missing secret, wrong addressee, unknown sender, bad protocol version,
 * a rogue acceptor and a silent client are refused with a 4xxx code, logged, counted, and
 * nothing they send is delivered. Each side checks the other's data identity, and only once
 * the other is authenticated.
 */
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../src/raft/index.js';
import { CloseCode, proof } from '../../../src/transport/handshake.js';
import { PROTOCOL_VERSION, encodeControl, encodeMessagesFrame } from '../../../src/transport/wire.js';
import { MAX_CALLERS, WsPeerTransport } from '../../../src/transport/ws-transport.js';
import {
  CLUSTER,
  Recorder,
  eventually,
  fakeAcceptor,
  heartbeat,
  rawPeer,
  type RawPeer,
  type WsCluster,
  useWsFixture,
} from './ws-harness.js';

const { cleanups, cluster, get } = useWsFixture();

function port(c: WsCluster, id: NodeId): number {
  return c.servers.get(id)?.port ?? 0;
}

/** Starts both transports and keeps node 1 sending heartbeats to node 2 until `cond`. */
async function pump(a: WsPeerTransport, cond: () => boolean, what: string, deadlineMs = 15_000): Promise<void> {
  let k = 1;
  await eventually(
    () => {
      a.send([heartbeat(1, 2, k++)]);
      return cond();
    },
    what,
    deadlineMs,
  );
}

/** Identities that accept exactly the data identities in `accepted` (per peer) and record what they were asked. */
function identities(
  own: string,
  accepted: ReadonlyMap<NodeId, string>,
): { own: string; asked: string[]; check(peer: NodeId, dataId: string): Promise<string | null> } {
  const asked: string[] = [];
  return {
    own,
    asked,
    check: (peer, dataId) => {
      asked.push(`${peer}:${dataId}`);
      return Promise.resolve(accepted.get(peer) === dataId ? null : `node ${peer} has another data directory`);
    },
  };
}

describe('WsPeerTransport data identities', () => {
  it('each side names its data directory and checks the other: matching ones connect', async () => {
    const ids = new Map([
      [1, identities('disk-1', new Map([[2, 'disk-2']]))],
      [2, identities('disk-2', new Map([[1, 'disk-1']]))],
    ]);
    const c = await cluster([1, 2], (id) => {
      const own = ids.get(id);
      return own !== undefined ? { identities: own } : {};
    });
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    await pump(get(c, 1), () => r2.messages.length > 0, 'delivery');
    // Node 2 checked node 1 as acceptor; node 1 checked node 2 as dialer (welcome).
    expect(ids.get(2)?.asked).toContain('1:disk-1');
    expect(ids.get(1)?.asked).toContain('2:disk-2');
  });

  it('an acceptor refuses a dialer on another data directory with 4006, and delivers nothing', async () => {
    const c = await cluster([1, 2], (id) => ({
      identities: id === 1 ? identities('wiped-1', new Map([[2, 'disk-2']])) : identities('disk-2', new Map([[1, 'disk-1']])),
    }));
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    await pump(get(c, 1), () => get(c, 2).metrics.rejectedHandshakes >= 2, 'refusals');
    expect(r2.messages).toEqual([]);
    const raw = rawPeer(port(c, 2));
    await raw.opened;
    raw.sendControl({
      k: 'hello',
      protocol: PROTOCOL_VERSION,
      clusterId: CLUSTER,
      from: 1,
      to: 2,
      nonce: null,
      dataId: 'wiped-1',
      address: '',
    });
    await eventually(() => raw.closed !== undefined, 'close');
    expect(raw.closed).toEqual({ code: CloseCode.IDENTITY, reason: 'node 1 has another data directory' });
    expect(raw.frames).toEqual([]); // no welcome
  });

  it('a dialer refuses an acceptor on another data directory, and sends it nothing', async () => {
    const acceptor = await fakeAcceptor();
    cleanups.push(() => acceptor.close());
    const c = await cluster([1], () => ({
      peers: new Map([[2, `127.0.0.1:${acceptor.server.port}`]]),
      identities: identities('disk-1', new Map([[2, 'disk-2']])),
    }));
    get(c, 1).start(new Recorder());
    // The fake acceptor welcomes with data identity 'd'.
    await pump(get(c, 1), () => get(c, 1).metrics.rejectedHandshakes >= 1, 'refusal');
    expect(acceptor.frames.filter((f) => f.kind === 'messages')).toEqual([]);
  });

  it('only an authenticated dialer is checked: a wrong proof never reaches the identity check', async () => {
    const checked = identities('disk-2', new Map([[1, 'disk-1']]));
    const c = await cluster([1, 2], (id) => (id === 2 ? { secret: 's3cret', identities: checked } : { secret: 's3cret' }));
    get(c, 2).start(new Recorder());
    const raw = rawPeer(port(c, 2));
    await raw.opened;
    raw.sendControl({
      k: 'hello',
      protocol: PROTOCOL_VERSION,
      clusterId: CLUSTER,
      from: 1,
      to: 2,
      nonce: new Uint8Array(32).fill(1),
      dataId: 'planted',
      address: '',
    });
    await eventually(() => raw.frames.length > 0, 'challenge');
    raw.sendControl({ k: 'auth', proof: new Uint8Array(32) });
    await eventually(() => raw.closed !== undefined, 'close');
    expect(raw.closed?.code).toBe(CloseCode.AUTH);
    expect(checked.asked).toEqual([]);
  });
});

describe('WsPeerTransport peers from outside the configuration', () => {
  it('a peer this node does not know yet, which says where it is reached, is heard and answered there', async () => {
    let a1 = '';
    const c = await cluster([1, 2], (id) => (id === 1 ? { address: () => a1 } : {}));
    a1 = `127.0.0.1:${port(c, 1)}`;
    // Node 2 missed the change that made node 1 a member (node 1 may be the new leader).
    get(c, 2).setPeers(new Map());
    const r1 = new Recorder();
    const r2 = new Recorder();
    get(c, 1).start(r1);
    get(c, 2).start(r2);
    await pump(get(c, 1), () => r2.messages.length > 0, 'node 2 hearing node 1');
    await eventually(() => {
      get(c, 2).send([heartbeat(2, 1, 1)]);
      return r1.messages.length > 0;
    }, 'node 1 hearing node 2 on the link node 2 opened to it');
    expect(get(c, 2).connectedPeers()).toEqual([1]);
    // Once node 1 is gone, node 2 stops answering it.
    await get(c, 1).close();
    await eventually(() => get(c, 2).connectedPeers().length === 0 && get(c, 2).acceptedPeers().length === 0, 'caller link closed');
  });

  it('one that does not say where it is reached is refused, and so is one more than the callers table holds', async () => {
    const c = await cluster([2], () => ({ peers: new Map() }));
    get(c, 2).start(new Recorder());
    const silent = rawPeer(port(c, 2));
    await silent.opened;
    silent.sendControl({
      k: 'hello',
      protocol: PROTOCOL_VERSION,
      clusterId: CLUSTER,
      from: 7,
      to: 2,
      nonce: null,
      dataId: 'd',
      address: '',
    });
    await eventually(() => silent.closed !== undefined, 'close');
    expect(silent.closed?.code).toBe(CloseCode.NODE);
    const raws: RawPeer[] = [];
    for (let id = 10; id < 10 + MAX_CALLERS + 1; id++) {
      const raw = rawPeer(port(c, 2));
      await raw.opened;
      // Where nobody listens: the answering link just keeps redialling.
      raw.sendControl({
        k: 'hello',
        protocol: PROTOCOL_VERSION,
        clusterId: CLUSTER,
        from: id,
        to: 2,
        nonce: null,
        dataId: 'd',
        address: '127.0.0.1:9',
      });
      raws.push(raw);
    }
    await eventually(() => raws.every((r) => r.closed !== undefined || r.frames.length > 0), 'every caller answered');
    expect(raws.filter((r) => r.closed?.code === CloseCode.NODE)).toHaveLength(1);
    expect(get(c, 2).acceptedPeers()).toHaveLength(MAX_CALLERS);
    for (const r of raws) r.ws.terminate();
  });
});

describe('WsPeerTransport handshake', () => {
  it('connects with matching secrets (mutual HMAC) and delivers', async () => {
    const c = await cluster([1, 2], () => ({ secret: 'correct horse' }));
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    await pump(get(c, 1), () => r2.messages.length > 0, 'delivery');
    expect(get(c, 1).metrics.rejectedHandshakes + get(c, 2).metrics.rejectedHandshakes).toBe(0);
  });

  it('refuses a wrong cluster id', async () => {
    const c = await cluster([1, 2], (id) => (id === 1 ? { clusterId: 'other-cluster' } : {}));
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    await pump(get(c, 1), () => get(c, 2).metrics.rejectedHandshakes >= 2, 'refusals');
    expect(r2.messages).toEqual([]);
    const raw = rawPeer(port(c, 2));
    await raw.opened;
    raw.sendControl({
      k: 'hello',
      protocol: PROTOCOL_VERSION,
      clusterId: 'other-cluster',
      from: 1,
      to: 2,
      nonce: null,
      dataId: 'd',
      address: '',
    });
    await eventually(() => raw.closed !== undefined, 'close');
    expect(raw.closed?.code).toBe(CloseCode.CLUSTER);
    expect(raw.closed?.reason).toContain('cluster');
  });

  it('refuses a wrong secret', async () => {
    const c = await cluster([1, 2], (id) => ({ secret: id === 1 ? 'secret-one' : 'secret-two' }));
    const r1 = new Recorder();
    const r2 = new Recorder();
    get(c, 1).start(r1);
    get(c, 2).start(r2);
    // Each dialer refuses the acceptor, whose proof over the dialer's nonce does not verify.
    await pump(get(c, 1), () => get(c, 1).metrics.rejectedHandshakes >= 2 && get(c, 2).metrics.rejectedHandshakes >= 2, 'refusals');
    get(c, 2).send([heartbeat(2, 1, 1)]);
    expect(r1.messages).toEqual([]);
    expect(r2.messages).toEqual([]);
    expect(get(c, 1).connectedPeers()).toEqual([]);
  });

  it('the acceptor refuses a dialer whose proof is wrong', async () => {
    const c = await cluster([1, 2], () => ({ secret: 's3cret' }));
    const r2 = new Recorder();
    get(c, 2).start(r2);
    const raw = rawPeer(port(c, 2));
    await raw.opened;
    const nonce = new Uint8Array(32).fill(1);
    raw.sendControl({ k: 'hello', protocol: PROTOCOL_VERSION, clusterId: CLUSTER, from: 1, to: 2, nonce, dataId: 'd', address: '' });
    await eventually(() => raw.frames.length > 0, 'challenge');
    const challenge = raw.frames[0];
    if (challenge?.kind !== 'control' || challenge.control.k !== 'challenge') throw new Error('expected a challenge');
    // The acceptor's proof is genuine...
    expect([...challenge.control.proof]).toEqual([...proof('s3cret', 'acceptor', nonce, CLUSTER, 1, 2)]);
    // ...but ours is made with the wrong secret.
    raw.sendControl({ k: 'auth', proof: proof('guess', 'dialer', challenge.control.nonce, CLUSTER, 1, 2) });
    raw.ws.send(encodeMessagesFrame([heartbeat(1, 2, 1)]));
    await eventually(() => raw.closed !== undefined, 'close');
    expect(raw.closed?.code).toBe(CloseCode.AUTH);
    expect(r2.messages).toEqual([]);
  });

  it('refuses a peer without a secret when one is configured (both directions)', async () => {
    const c = await cluster([1, 2], (id) => (id === 1 ? { secret: 'only-here' } : {}));
    const r1 = new Recorder();
    const r2 = new Recorder();
    get(c, 1).start(r1);
    get(c, 2).start(r2);
    // 2 → 1: 1 requires authentication, 2's hello has no nonce. 1 → 2: 2 welcomes without
    // proving anything, and 1 refuses an acceptor that did not authenticate.
    await eventually(() => {
      get(c, 1).send([heartbeat(1, 2, 1)]);
      get(c, 2).send([heartbeat(2, 1, 1)]);
      return get(c, 1).metrics.rejectedHandshakes >= 4;
    }, 'refusals');
    expect(r1.messages).toEqual([]);
    expect(r2.messages).toEqual([]);
    const raw = rawPeer(port(c, 1));
    await raw.opened;
    raw.sendControl({ k: 'hello', protocol: PROTOCOL_VERSION, clusterId: CLUSTER, from: 2, to: 1, nonce: null, dataId: 'd', address: '' });
    await eventually(() => raw.closed !== undefined, 'close');
    expect(raw.closed).toEqual({ code: CloseCode.AUTH, reason: 'authentication required' });
  });

  it('refuses a wrong addressee, an unknown sender and another protocol version', async () => {
    const c = await cluster([1, 2]);
    get(c, 2).start(new Recorder());
    const cases: Array<[Parameters<ReturnType<typeof rawPeer>['sendControl']>[0], number]> = [
      [
        { k: 'hello', protocol: PROTOCOL_VERSION, clusterId: CLUSTER, from: 1, to: 3, nonce: null, dataId: 'd', address: '' },
        CloseCode.NODE,
      ],
      [
        { k: 'hello', protocol: PROTOCOL_VERSION, clusterId: CLUSTER, from: 9, to: 2, nonce: null, dataId: 'd', address: '' },
        CloseCode.NODE,
      ],
      [
        { k: 'hello', protocol: PROTOCOL_VERSION + 1, clusterId: CLUSTER, from: 1, to: 2, nonce: null, dataId: 'd', address: '' },
        CloseCode.VERSION,
      ],
      [{ k: 'welcome', dataId: 'd' }, CloseCode.PROTOCOL],
    ];
    for (const [hello, code] of cases) {
      const raw = rawPeer(port(c, 2));
      await raw.opened;
      raw.sendControl(hello);
      await eventually(() => raw.closed !== undefined, 'close');
      expect(raw.closed?.code).toBe(code);
    }
    expect(get(c, 2).metrics.rejectedHandshakes).toBe(cases.length);
  });

  it('closes a connection that never completes the handshake', async () => {
    const c = await cluster([1, 2], () => ({ handshakeTimeoutMs: 200 }));
    get(c, 2).start(new Recorder());
    const raw = rawPeer(port(c, 2));
    await raw.opened;
    await eventually(() => raw.closed !== undefined, 'close');
    expect(raw.closed?.code).toBe(CloseCode.TIMEOUT);
  });

  it('a dialer with a secret does not feed a rogue acceptor', async () => {
    const rogue = await fakeAcceptor((ws) =>
      ws.send(encodeControl({ k: 'challenge', nonce: new Uint8Array(32), proof: new Uint8Array(32) })),
    );
    cleanups.push(() => rogue.close());
    const t = new WsPeerTransport({
      id: 1,
      clusterId: CLUSTER,
      peers: new Map([[2, `127.0.0.1:${rogue.server.port}`]]),
      secret: 'real',
      backoffCapMs: 200,
    });
    cleanups.push(() => t.close());
    t.start(new Recorder());
    await pump(t, () => t.metrics.rejectedHandshakes >= 2, 'refusals');
    const kinds = rogue.frames.map((f) => (f.kind === 'control' ? f.control.k : f.kind));
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds.every((k) => k === 'hello')).toBe(true);
  });

  it('a transport that is not started answers upgrades with 503', async () => {
    const c = await cluster([1, 2]);
    const raw = rawPeer(port(c, 2));
    await expect(raw.opened).rejects.toThrow(/503/);
  });
});
