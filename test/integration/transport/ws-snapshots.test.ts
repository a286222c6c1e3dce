/**
 * WsPeerTransport snapshot streaming and link lifecycle over real sockets on 127.0.0.1:
 * multi-chunk snapshots (with auth), the receiver's size bound, back-to-back streams,
 * reconnection after a peer stops and after it restarts as a new process-like instance, and one
 * inbound connection per peer.
 */
import { describe, expect, it } from 'vitest';
import type { Message, SnapshotRequest } from '../../../src/raft/index.js';
import type { TransportHandler } from '../../../src/transport/peer-transport.js';
import { FaultLayer } from '../../../src/transport/fault-layer.js';
import { CloseCode } from '../../../src/transport/handshake.js';
import { WsPeerTransport } from '../../../src/transport/ws-transport.js';
import { CLUSTER, Recorder, eventually, handshakenPeer, heartbeat, startServer, useWsFixture } from './ws-harness.js';

const { cleanups, cluster, get } = useWsFixture();

class SnapshotRecorder implements TransportHandler {
  messages: Message[] = [];
  snapshots: Array<{ message: SnapshotRequest; data: Uint8Array }> = [];
  onMessage(m: Message): boolean {
    this.messages.push(m);
    return true;
  }
  onSnapshot(message: SnapshotRequest, data: Uint8Array): boolean {
    this.snapshots.push({ message, data });
    return true;
  }
  onUnreachable(): void {}
}

function snapshotMessage(index: number): SnapshotRequest {
  return { type: 'snapshot', from: 1, to: 2, term: 2, snapshot: { index, term: 2, confState: { voters: [1, 2], learners: [] } } };
}

function sendSnapshot(t: WsPeerTransport, index: number, data: Uint8Array): { result: boolean | undefined } {
  const box: { result: boolean | undefined } = { result: undefined };
  t.sendSnapshot(snapshotMessage(index), data, (ok) => {
    if (box.result !== undefined) throw new Error('done called twice');
    box.result = ok;
  });
  return box;
}

describe('WsPeerTransport snapshots', () => {
  it('streams a multi-chunk snapshot over an authenticated link', async () => {
    const c = await cluster([1, 2], () => ({ secret: 'x', snapshotChunkBytes: 64 * 1024 }));
    const r2 = new SnapshotRecorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    const data = new Uint8Array(1_500_000).map((_, k) => (k * 31) % 256);
    const s = sendSnapshot(get(c, 1), 10, data);
    await eventually(() => s.result !== undefined, 'snapshot result');
    expect(s.result).toBe(true);
    expect(r2.snapshots.length).toBe(1);
    expect(r2.snapshots[0]?.message).toEqual(snapshotMessage(10));
    expect(Buffer.from(r2.snapshots[0]?.data ?? []).equals(Buffer.from(data))).toBe(true);
    expect(get(c, 1).metrics.snapshotsSent).toBe(1);
    expect(get(c, 2).metrics.snapshotsReceived).toBe(1);
  });

  it('sends queued snapshots one after another, in order', async () => {
    const c = await cluster([1, 2], () => ({ snapshotChunkBytes: 4096 }));
    const r2 = new SnapshotRecorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    const boxes = [1, 2, 3].map((k) => sendSnapshot(get(c, 1), k, new Uint8Array(20_000).fill(k)));
    await eventually(() => boxes.every((b) => b.result !== undefined), 'all results');
    expect(boxes.map((b) => b.result)).toEqual([true, true, true]);
    expect(r2.snapshots.map((s) => s.message.snapshot.index)).toEqual([1, 2, 3]);
    expect(r2.snapshots.map((s) => s.data[0])).toEqual([1, 2, 3]);
  });

  it('a snapshot over the receiver limit fails; the link keeps working', async () => {
    const c = await cluster([1, 2], (id) => (id === 2 ? { maxSnapshotBytes: 10_000 } : {}));
    const r2 = new SnapshotRecorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    const s = sendSnapshot(get(c, 1), 5, new Uint8Array(20_000));
    await eventually(() => s.result !== undefined, 'snapshot result');
    expect(s.result).toBe(false);
    expect(r2.snapshots).toEqual([]);
    get(c, 1).send([heartbeat(1, 2, 1)]);
    await eventually(() => r2.messages.length === 1, 'delivery after the refused snapshot');
    const ok = sendSnapshot(get(c, 1), 6, new Uint8Array(5_000));
    await eventually(() => ok.result !== undefined, 'second snapshot');
    expect(ok.result).toBe(true);
  });

  it('a snapshot blocked by the receiver fault layer fails', async () => {
    const faults = new FaultLayer();
    faults.block(1, 'receive');
    const c = await cluster([1, 2], (id) => (id === 2 ? { faults } : {}));
    const r2 = new SnapshotRecorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    const s = sendSnapshot(get(c, 1), 5, new Uint8Array(100));
    await eventually(() => s.result !== undefined, 'snapshot result');
    expect(s.result).toBe(false);
    expect(r2.snapshots).toEqual([]);
  });

  it('pending snapshots fail when the transport stops', async () => {
    const c = await cluster([1, 2]);
    get(c, 1).start(new Recorder());
    get(c, 2).start(new Recorder());
    const s = sendSnapshot(get(c, 1), 5, new Uint8Array(3_000_000));
    get(c, 1).stop();
    await eventually(() => s.result !== undefined, 'snapshot result');
    expect(s.result).toBe(false);
  });
});

describe('WsPeerTransport link lifecycle', () => {
  it('reconnects after the peer stops and starts again', async () => {
    const c = await cluster([1, 2]);
    const r2 = new Recorder();
    get(c, 1).start(new Recorder());
    get(c, 2).start(r2);
    await eventually(() => get(c, 1).connectedPeers().length === 1, 'link up');
    get(c, 2).stop();
    await eventually(() => get(c, 1).connectedPeers().length === 0, 'link down');
    const r2b = new Recorder();
    get(c, 2).start(r2b);
    await eventually(() => {
      get(c, 1).send([heartbeat(1, 2, 9)]);
      return r2b.messages.length > 0;
    }, 'delivery after restart');
    expect(get(c, 1).metrics.reconnects).toBeGreaterThan(0);
  });

  it('reconnects to a fresh instance on the same port', async () => {
    const srv2 = await startServer();
    const port = srv2.port;
    const t1 = new WsPeerTransport({ id: 1, clusterId: CLUSTER, peers: new Map([[2, `127.0.0.1:${port}`]]), backoffCapMs: 200 });
    const make2 = (): WsPeerTransport => new WsPeerTransport({ id: 2, clusterId: CLUSTER, peers: new Map([[1, '127.0.0.1:1']]) });
    let t2 = make2();
    srv2.route = (req, socket, head) => t2.handleUpgrade(req, socket, head);
    cleanups.push(async () => {
      await t1.close();
      await t2.close();
    });
    const r2 = new Recorder();
    t1.start(new Recorder());
    t2.start(r2);
    await eventually(() => {
      t1.send([heartbeat(1, 2, 1)]);
      return r2.messages.length > 0;
    }, 'first delivery');
    // "Crash" node 2: its server and transport go away; a new one binds the same port.
    await t2.close();
    await srv2.close();
    const srv2b = await startServer(port);
    cleanups.push(() => srv2b.close());
    t2 = make2();
    srv2b.route = (req, socket, head) => t2.handleUpgrade(req, socket, head);
    const r2b = new Recorder();
    t2.start(r2b);
    await eventually(() => {
      t1.send([heartbeat(1, 2, 2)]);
      return r2b.messages.length > 0;
    }, 'delivery to the new instance');
  });

  it('keeps one authenticated inbound connection per peer', async () => {
    const c = await cluster([1, 2, 3]);
    const r2 = new Recorder();
    get(c, 2).start(r2);
    const port2 = c.servers.get(2)?.port ?? 0;
    const first = await handshakenPeer(port2, 3, 2);
    const second = await handshakenPeer(port2, 3, 2);
    await eventually(() => first.closed !== undefined, 'old connection closed');
    expect(first.closed?.code).toBe(CloseCode.REPLACED);
    expect(second.closed).toBeUndefined();
  });
});
