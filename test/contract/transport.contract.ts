/**
 * The contract every PeerTransport must meet. The in-memory network runs it now
 * (memory-transport.test.ts); the WebSocket transport must run it too. Delivery may be
 * asynchronous, so assertions wait for it with a generous deadline (never a fixed sleep).
 */
import { describe, expect, it } from 'vitest';
import type { Message, NodeId, SnapshotRequest } from '../../src/raft/index.js';
import type { PeerTransport, TransportHandler } from '../../src/transport/peer-transport.js';

export interface TransportCluster {
  readonly transports: ReadonlyMap<NodeId, PeerTransport>;
  close(): Promise<void>;
}

export interface TransportFactory {
  /** Transports for `ids`, wired to each other, not yet started. */
  make(ids: readonly NodeId[]): Promise<TransportCluster>;
}

/** Waits until `cond()` holds, yielding to the event loop between checks. */
export async function eventually(cond: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

class Recorder implements TransportHandler {
  messages: Message[] = [];
  snapshots: Array<{ message: SnapshotRequest; data: Uint8Array }> = [];
  unreachable: NodeId[] = [];
  onMessage(m: Message): boolean {
    this.messages.push(m);
    return true;
  }
  onSnapshot(message: SnapshotRequest, data: Uint8Array): boolean {
    this.snapshots.push({ message, data });
    return true;
  }
  onUnreachable(peer: NodeId): void {
    this.unreachable.push(peer);
  }
}

function heartbeat(from: NodeId, to: NodeId, commit: number): Message {
  return { type: 'heartbeat', from, to, term: 1, commit, context: null };
}

function get<T>(m: ReadonlyMap<NodeId, T>, id: NodeId): T {
  const v = m.get(id);
  if (v === undefined) throw new Error(`no transport ${id}`);
  return v;
}

export function transportContract(name: string, factory: TransportFactory): void {
  describe(`PeerTransport contract: ${name}`, () => {
    it('delivers messages to their addressee, in order per link', async () => {
      const c = await factory.make([1, 2, 3]);
      const r2 = new Recorder();
      const r3 = new Recorder();
      get(c.transports, 1).start(new Recorder());
      get(c.transports, 2).start(r2);
      get(c.transports, 3).start(r3);
      const batch = [heartbeat(1, 2, 1), heartbeat(1, 3, 1), heartbeat(1, 2, 2), heartbeat(1, 2, 3)];
      get(c.transports, 1).send(batch);
      await eventually(() => r2.messages.length === 3 && r3.messages.length === 1, 'delivery');
      expect(r2.messages.map((m) => (m.type === 'heartbeat' ? m.commit : -1))).toEqual([1, 2, 3]);
      expect(r3.messages[0]).toEqual(batch[1]);
      await c.close();
    });

    it('carries every message type intact', async () => {
      const c = await factory.make([1, 2]);
      const r2 = new Recorder();
      get(c.transports, 1).start(new Recorder());
      get(c.transports, 2).start(r2);
      const data = new TextEncoder().encode('payload');
      const msgs: Message[] = [
        { type: 'vote', from: 1, to: 2, term: 3, pre: true, lastLogIndex: 9, lastLogTerm: 2, transfer: false },
        { type: 'vote-response', from: 1, to: 2, term: 3, pre: false, reject: true },
        {
          type: 'append',
          from: 1,
          to: 2,
          term: 3,
          prevLogIndex: 4,
          prevLogTerm: 2,
          commit: 4,
          entries: [{ index: 5, term: 3, type: 'normal', data }],
        },
        { type: 'append-response', from: 1, to: 2, term: 3, index: 7, reject: true, hintIndex: 5, hintTerm: 2 },
        { type: 'heartbeat-response', from: 1, to: 2, term: 3, context: 'r1' },
        { type: 'timeout-now', from: 1, to: 2, term: 3 },
        { type: 'read-index', from: 1, to: 2, term: 3, context: 'x' },
        { type: 'read-index-response', from: 1, to: 2, term: 3, context: 'x', index: 8 },
      ];
      get(c.transports, 1).send(msgs);
      await eventually(() => r2.messages.length === msgs.length, 'delivery');
      expect(r2.messages).toEqual(msgs);
      await c.close();
    });

    it('streams a snapshot with its data and reports success', async () => {
      const c = await factory.make([1, 2]);
      const r2 = new Recorder();
      get(c.transports, 1).start(new Recorder());
      get(c.transports, 2).start(r2);
      const data = new Uint8Array(100_000).map((_, k) => k % 251);
      const message: SnapshotRequest = {
        type: 'snapshot',
        from: 1,
        to: 2,
        term: 2,
        snapshot: { index: 50, term: 2, confState: { voters: [1, 2], learners: [] } },
      };
      let result: boolean | undefined;
      get(c.transports, 1).sendSnapshot(message, data, (ok) => (result = ok));
      await eventually(() => result !== undefined, 'snapshot report');
      expect(result).toBe(true);
      expect(r2.snapshots.length).toBe(1);
      expect(r2.snapshots[0]?.message).toEqual(message);
      expect(Buffer.from(r2.snapshots[0]?.data ?? []).equals(Buffer.from(data))).toBe(true);
      await c.close();
    });

    it('a snapshot to a stopped peer fails; messages to it are dropped without error', async () => {
      const c = await factory.make([1, 2]);
      const r2 = new Recorder();
      get(c.transports, 1).start(new Recorder());
      get(c.transports, 2).start(r2);
      get(c.transports, 2).stop();
      expect(() => get(c.transports, 1).send([heartbeat(1, 2, 1)])).not.toThrow();
      const message: SnapshotRequest = {
        type: 'snapshot',
        from: 1,
        to: 2,
        term: 2,
        snapshot: { index: 5, term: 2, confState: { voters: [1, 2], learners: [] } },
      };
      let result: boolean | undefined;
      get(c.transports, 1).sendSnapshot(message, new Uint8Array(10), (ok) => (result = ok));
      await eventually(() => result !== undefined, 'snapshot failure report');
      expect(result).toBe(false);
      expect(r2.messages).toEqual([]);
      await c.close();
    });

    it('a stopped transport neither sends nor delivers', async () => {
      const c = await factory.make([1, 2]);
      const r1 = new Recorder();
      const r2 = new Recorder();
      get(c.transports, 1).start(r1);
      get(c.transports, 2).start(r2);
      get(c.transports, 1).stop();
      get(c.transports, 1).send([heartbeat(1, 2, 1)]);
      get(c.transports, 2).send([heartbeat(2, 1, 1), heartbeat(2, 2, 9)]);
      // The self-addressed message is the marker that 2's sends were processed.
      await eventually(() => r2.messages.length === 1, 'marker');
      expect(r1.messages).toEqual([]);
      expect(r2.messages.length).toBe(1);
      await c.close();
    });
  });
}
