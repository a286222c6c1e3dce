/**
 * WsPeerTransport under hostile or broken input, over real sockets on 127.0.0.1: garbage,
 * malformed frames after a valid handshake, oversize frames (1009), messages that claim another
 * sender, a peer that stops reading (bounded buffer), and the fault layer. The transport must
 * close the offending connection and keep serving the real peers.
 */
import { describe, expect, it } from 'vitest';
import type { Message, NodeId } from '../../../src/raft/index.js';
import { FaultLayer } from '../../../src/transport/fault-layer.js';
import { CloseCode } from '../../../src/transport/handshake.js';
import { encodeMessagesFrame } from '../../../src/transport/wire.js';
import { WsPeerTransport } from '../../../src/transport/ws-transport.js';
import {
  CLUSTER,
  Recorder,
  eventually,
  fakeAcceptor,
  handshakenPeer,
  heartbeat,
  rawPeer,
  type WsCluster,
  useWsFixture,
} from './ws-harness.js';

const { cleanups, cluster, get } = useWsFixture();

/** Sends heartbeats from → to until the recorder has seen one with commit ≥ `commit`. */
async function stillServes(c: WsCluster, from: NodeId, to: NodeId, r: Recorder, commit: number): Promise<void> {
  await eventually(() => {
    get(c, from).send([heartbeat(from, to, commit)]);
    return r.messages.some((m) => m.type === 'heartbeat' && m.from === from && m.commit >= commit);
  }, `delivery ${from}→${to}`);
}

function bigAppend(from: NodeId, to: NodeId, index: number, bytes: number): Message {
  return {
    type: 'append',
    from,
    to,
    term: 1,
    prevLogIndex: index - 1,
    // Index 0 has term 0 and only it does: the codec refuses anything else (message-codec.ts).
    prevLogTerm: index === 1 ? 0 : 1,
    commit: 0,
    entries: [{ index, term: 1, type: 'normal', data: new Uint8Array(bytes) }],
  };
}

describe('WsPeerTransport robustness', () => {
  it('closes a client sending garbage and keeps serving the real peers', async () => {
    const c = await cluster([1, 2, 3]);
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    get(c, 3).start(new Recorder());
    const port2 = c.servers.get(2)?.port ?? 0;
    const garbage = [Buffer.from('GET / HTTP/1.1'), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from([0x01, 0xc1]), Buffer.alloc(0)];
    for (const g of garbage) {
      const raw = rawPeer(port2);
      await raw.opened;
      raw.ws.send(g);
      await eventually(() => raw.closed !== undefined, 'close');
      expect(raw.closed?.code).toBe(CloseCode.MALFORMED);
    }
    const text = rawPeer(port2);
    await text.opened;
    text.ws.send('hello?');
    await eventually(() => text.closed !== undefined, 'close');
    expect(text.closed?.code).toBe(CloseCode.PROTOCOL);
    await stillServes(c, 1, 2, r2, 1);
    await stillServes(c, 3, 2, r2, 1);
    expect(get(c, 2).metrics.malformedFrames).toBeGreaterThanOrEqual(garbage.length);
  });

  it('closes an authenticated connection that sends malformed frames; other peers unaffected', async () => {
    const c = await cluster([1, 2, 3]);
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    const port2 = c.servers.get(2)?.port ?? 0;
    const bad: Buffer[] = [
      Buffer.from([0x01, 0x91, 0x81, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xa3, 0x78, 0x79, 0x7a]), // [{type:'xyz'}]
      Buffer.from([0x01, 0x92]), // truncated array
      Buffer.concat([encodeMessagesFrame([heartbeat(3, 2, 1)]), Buffer.from([0x00])]), // trailing byte
      Buffer.from([0x07, 0x01]), // unknown frame kind
    ];
    for (const frame of bad) {
      const raw = await handshakenPeer(port2, 3, 2);
      raw.ws.send(frame);
      await eventually(() => raw.closed !== undefined, 'close');
      expect(raw.closed?.code).toBe(CloseCode.MALFORMED);
    }
    expect(r2.messages.filter((m) => m.from === 3)).toEqual([]);
    await stillServes(c, 1, 2, r2, 5);
    expect(get(c, 2).metrics.malformedFrames).toBe(bad.length);
  });

  it('closes a connection sending a frame over maxPayload with 1009', async () => {
    const c = await cluster([1, 2], () => ({ maxPayload: 64 * 1024 }));
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    const raw = await handshakenPeer(c.servers.get(2)?.port ?? 0, 1, 2);
    raw.ws.send(encodeMessagesFrame([bigAppend(1, 2, 1, 100 * 1024)]));
    await eventually(() => raw.closed !== undefined, 'close');
    expect(raw.closed?.code).toBe(1009);
    await stillServes(c, 1, 2, r2, 1);
  });

  it('the sender splits batches to fit maxPayload and drops a single message over it', async () => {
    const c = await cluster([1, 2], () => ({ maxPayload: 64 * 1024 }));
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    await stillServes(c, 1, 2, r2, 1);
    const before = get(c, 1).metrics.dropped;
    get(c, 1).send([bigAppend(1, 2, 1, 40 * 1024), bigAppend(1, 2, 2, 40 * 1024), bigAppend(1, 2, 3, 80 * 1024), heartbeat(1, 2, 99)]);
    await eventually(() => r2.messages.some((m) => m.type === 'heartbeat' && m.commit === 99), 'delivery');
    expect(r2.messages.filter((m) => m.type === 'append').map((m) => (m.type === 'append' ? m.prevLogIndex + 1 : 0))).toEqual([1, 2]);
    expect(get(c, 1).metrics.dropped - before).toBe(1);
  });

  it('drops messages whose from is not the authenticated peer, or whose to is not us', async () => {
    const c = await cluster([1, 2, 3]);
    const r2 = new Recorder();
    get(c, 2).start(r2);
    const raw = await handshakenPeer(c.servers.get(2)?.port ?? 0, 3, 2);
    raw.ws.send(encodeMessagesFrame([heartbeat(1, 2, 1), heartbeat(3, 1, 2), heartbeat(3, 2, 3)]));
    await eventually(() => r2.messages.length > 0, 'the genuine message');
    expect(r2.messages).toEqual([heartbeat(3, 2, 3)]);
    expect(get(c, 2).metrics.rejectedMessages).toBe(2);
    expect(raw.closed).toBeUndefined();
  });

  it('drops and counts batches when a peer stops reading (bounded send buffer)', async () => {
    const acceptor = await fakeAcceptor();
    cleanups.push(() => acceptor.close());
    const t = new WsPeerTransport({
      id: 1,
      clusterId: CLUSTER,
      peers: new Map([[2, `127.0.0.1:${acceptor.server.port}`]]),
      maxBufferedBytes: 256 * 1024,
    });
    cleanups.push(() => t.close());
    const r1 = new Recorder();
    t.start(r1);
    await eventually(() => t.connectedPeers().length === 1, 'link up');
    for (const s of acceptor.sockets) s.pause();
    let index = 1;
    await eventually(
      () => {
        t.send([bigAppend(1, 2, index, 512 * 1024)]);
        index++;
        return t.metrics.dropped > 0;
      },
      'a dropped batch',
      30_000,
    );
    expect(r1.unreachable).toContain(2);
    // Memory stays bounded: a few frames in flight, never everything that was sent.
    expect(t.metrics.sent).toBeLessThan(index);
  });

  it('reports an unreachable peer when a send finds the link down', async () => {
    const acceptor = await fakeAcceptor();
    const port = acceptor.server.port;
    await acceptor.close();
    const t = new WsPeerTransport({ id: 1, clusterId: CLUSTER, peers: new Map([[2, `127.0.0.1:${port}`]]) });
    cleanups.push(() => t.close());
    const r1 = new Recorder();
    t.start(r1);
    await eventually(() => {
      t.send([heartbeat(1, 2, 1)]);
      return r1.unreachable.length > 0;
    }, 'unreachable report');
    expect(r1.unreachable[0]).toBe(2);
    expect(t.metrics.dropped).toBeGreaterThan(0);
  });

  it('fault layer: drop-all on send drops and counts', async () => {
    const faults = new FaultLayer();
    const c = await cluster([1, 2], (id) => (id === 1 ? { faults } : {}));
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    await stillServes(c, 1, 2, r2, 1);
    faults.setDropProbability(1);
    const before = get(c, 1).metrics.dropped;
    get(c, 1).send([heartbeat(1, 2, 50), heartbeat(1, 2, 51)]);
    expect(get(c, 1).metrics.dropped - before).toBe(2);
    faults.clear();
    await stillServes(c, 1, 2, r2, 60);
    expect(r2.messages.some((m) => m.type === 'heartbeat' && (m.commit === 50 || m.commit === 51))).toBe(false);
  });

  it('fault layer: one-way blocks, on send and on receive', async () => {
    const f1 = new FaultLayer();
    const f2 = new FaultLayer();
    const c = await cluster([1, 2], (id) => ({ faults: id === 1 ? f1 : f2 }));
    const r1 = new Recorder();
    const r2 = new Recorder();
    get(c, 1).start(r1);
    get(c, 2).start(r2);
    f1.block(2, 'send');
    // 2 → 1 still flows; then 1 → 2, sent before the marker, must not have arrived.
    get(c, 1).send([heartbeat(1, 2, 1)]);
    await stillServes(c, 2, 1, r1, 1);
    expect(r2.messages).toEqual([]);
    f1.unblock(2);
    await stillServes(c, 1, 2, r2, 2);
    // Now block on node 1's receiving side: 1 → 2 flows, 2 → 1 does not.
    f1.block(2, 'receive');
    get(c, 2).send([heartbeat(2, 1, 7)]);
    await stillServes(c, 1, 2, r2, 3);
    await eventually(() => f1.stats.blocked >= 2, 'the blocked message at 1');
    expect(r1.messages.some((m) => m.type === 'heartbeat' && m.commit === 7)).toBe(false);
  });

  it('fault layer: delay still delivers', async () => {
    const faults = new FaultLayer();
    faults.setDelay(30);
    const c = await cluster([1, 2], (id) => (id === 1 ? { faults } : {}));
    const r1 = new Recorder();
    const r2 = new Recorder();
    get(c, 1).start(r1);
    get(c, 2).start(r2);
    await stillServes(c, 1, 2, r2, 1);
    await stillServes(c, 2, 1, r1, 1);
    expect(faults.stats.delayed).toBeGreaterThan(0);
  });
});
