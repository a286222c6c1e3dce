/**
 * The contract every PeerTransport must meet, run against the in-memory network
 * (memory-transport.test.ts) and the WebSocket transport (ws-transport.test.ts). Delivery may
 * be asynchronous, so assertions wait for it with a generous deadline (never a fixed sleep).
 *
 * A negative ("never arrives") is shown with a marker sent later on the same path: a message
 * that was going to arrive would have arrived before the marker.
 */
import { describe, expect, it } from 'vitest';
import { MAX_MEMBERS, type Message, type NodeId, type SnapshotRequest } from '../../src/raft/index.js';
import type { PeerTransport, TransportHandler } from '../../src/transport/peer-transport.js';

export interface TransportCluster {
  readonly transports: ReadonlyMap<NodeId, PeerTransport>;
  close(): Promise<void>;
  /** Where the others reach node `id`: its address in their peer sets. */
  address(id: NodeId): string;
  /** Messages node `id` has dropped so far (the transport's own counter). */
  dropped(id: NodeId): number;
  // What follows exists only where there are connections and listeners.
  /**
   * Gives node `id` a new listener and returns its address. The old one accepts no new
   * connection but keeps those it has, so traffic reaches the new one only if peers redial.
   */
  readonly relocate?: (id: NodeId) => Promise<string>;
  /** Connections accepted so far at the listener of `address`. */
  readonly accepted?: (address: string) => number;
  /** Connections accepted at the listener of `address` that are still open. */
  readonly openAt?: (address: string) => number;
  /** Whether `from`'s link to `to` is up: dialled, authenticated, and accepted by `to`. */
  readonly linked?: (from: NodeId, to: NodeId) => boolean;
  /** Handshakes node `id` has refused so far. */
  readonly refused?: (id: NodeId) => number;
}

export interface TransportFactory {
  /** Transports for `ids`, each given all the others as peers, not yet started. */
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

/** The commits of the heartbeats `r` got from `from`, in arrival order. */
function commitsFrom(r: Recorder, from: NodeId): number[] {
  return r.messages.filter((m) => m.from === from && m.type === 'heartbeat').map((m) => (m.type === 'heartbeat' ? m.commit : -1));
}

/** Node `id`'s peer set in cluster `c`: the listed nodes at their addresses. */
function peersOf(c: TransportCluster, ids: readonly NodeId[]): Map<NodeId, string> {
  return new Map(ids.map((id) => [id, c.address(id)]));
}

/** One event-loop turn: deferred reports (microtasks, immediates) have run by then. */
function turn(): Promise<void> {
  return new Promise<void>((r) => setImmediate(r));
}

/**
 * Sends `message` from `t` every 20 ms until `cond()` holds (a link that is still backing off
 * drops what it is given). Bounded by the deadline: at most deadline / 20 sends.
 */
async function resendUntil(t: PeerTransport, message: Message, cond: () => boolean, what: string, deadlineMs = 15_000): Promise<void> {
  t.send([message]);
  const timer = setInterval(() => t.send([message]), 20);
  try {
    await eventually(cond, what, deadlineMs);
  } finally {
    clearInterval(timer);
  }
}

function snapshotTo(to: NodeId): SnapshotRequest {
  return { type: 'snapshot', from: 1, to, term: 2, snapshot: { index: 5, term: 2, confState: { voters: [1, to], learners: [] } } };
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

    it('setPeers refuses this node, a bad id and more than MAX_MEMBERS peers, and then changes nothing', async () => {
      const c = await factory.make([1, 2, 3]);
      const t1 = get(c.transports, 1);
      const r2 = new Recorder();
      t1.start(new Recorder());
      get(c.transports, 2).start(r2);
      // Each refused set leaves 2 out: had it been applied, 2 would no longer be reached.
      expect(() => t1.setPeers(peersOf(c, [1, 3]))).toThrow(/must not include this node \(1\)/);
      expect(() => t1.setPeers(new Map([[0, c.address(3)]]))).toThrow(RangeError);
      expect(() => t1.setPeers(new Map([[2.5, c.address(3)]]))).toThrow(/not a positive integer/);
      const tooMany = new Map<NodeId, string>();
      for (let id = 100; tooMany.size <= MAX_MEMBERS; id++) tooMany.set(id, c.address(3));
      expect(() => t1.setPeers(tooMany)).toThrow(new RegExp(`at most ${MAX_MEMBERS} peers, got ${MAX_MEMBERS + 1}`));
      t1.send([heartbeat(1, 2, 1)]);
      await eventually(() => r2.messages.length === 1, 'delivery after refused changes');
      // Exactly MAX_MEMBERS is allowed (on a transport not started: nothing dials them).
      tooMany.delete(100);
      expect(() => get(c.transports, 3).setPeers(tooMany)).not.toThrow();
      await c.close();
    });

    it('a peer added at runtime gets a link; until then messages to it are dropped, counted, not reported', async () => {
      const c = await factory.make([1, 2, 3]);
      const [t1, t2, t3] = [get(c.transports, 1), get(c.transports, 2), get(c.transports, 3)];
      // 1 and 3 start out not knowing each other.
      t1.setPeers(peersOf(c, [2]));
      t3.setPeers(peersOf(c, [2]));
      const [r1, r3] = [new Recorder(), new Recorder()];
      t1.start(r1);
      t2.start(new Recorder());
      t3.start(r3);
      const dropped = c.dropped(1);
      expect(() => t1.send([heartbeat(1, 3, 1)])).not.toThrow();
      expect(c.dropped(1)).toBe(dropped + 1);
      await turn();
      expect(r1.unreachable).not.toContain(3);

      t1.setPeers(peersOf(c, [2, 3]));
      t3.setPeers(peersOf(c, [1, 2]));
      t1.send([heartbeat(1, 3, 2)]);
      t3.send([heartbeat(3, 1, 2)]);
      await eventually(() => r3.messages.length === 1 && r1.messages.length === 1, 'delivery both ways to the added peer');
      expect(commitsFrom(r3, 1)).toEqual([2]);
      expect(commitsFrom(r1, 3)).toEqual([2]);
      await c.close();
    });

    it('a removed peer: messages to it are dropped, its messages to us are refused, its link is closed', async () => {
      const c = await factory.make([1, 2, 3]);
      const [t1, t2] = [get(c.transports, 1), get(c.transports, 2)];
      const [r1, r2, r3] = [new Recorder(), new Recorder(), new Recorder()];
      t1.start(r1);
      t2.start(r2);
      get(c.transports, 3).start(r3);
      t1.send([heartbeat(1, 2, 10)]);
      t2.send([heartbeat(2, 1, 10)]);
      await eventually(() => r1.messages.length === 1 && r2.messages.length === 1, 'links up both ways');

      const refusedBefore = c.refused?.(1) ?? 0;
      const droppedBefore = c.dropped(1);
      t1.setPeers(peersOf(c, [3]));
      expect(() => t1.send([heartbeat(1, 2, 1), heartbeat(1, 3, 1)])).not.toThrow();
      expect(c.dropped(1)).toBe(droppedBefore + 1);
      await eventually(() => r3.messages.length === 1, 'the remaining peer still served');
      if (c.linked !== undefined) {
        const linked = c.linked;
        // Our link to 2 is closed, and so is the one 2 dialled to us.
        await eventually(() => !linked(1, 2) && !linked(2, 1), 'both links with the removed peer down');
      }
      // 2 has not been told: it keeps sending, and we keep refusing.
      t2.send([heartbeat(2, 1, 1)]);
      if (c.refused !== undefined) {
        const refused = c.refused;
        // Two refused handshakes: the dial that could have carried commit 1 has failed.
        await eventually(() => refused(1) >= refusedBefore + 2, 'handshakes from the removed peer refused');
      } else await eventually(() => c.dropped(1) === droppedBefore + 2, 'the message from the removed peer dropped');
      expect(r1.unreachable).not.toContain(2);

      // Readmitted, the markers arrive; the messages of the removal never do.
      t1.setPeers(peersOf(c, [2, 3]));
      t1.send([heartbeat(1, 2, 2)]);
      await resendUntil(t2, heartbeat(2, 1, 2), () => commitsFrom(r1, 2).length > 1, 'the readmitted peer heard');
      await eventually(() => r2.messages.length > 1, 'the readmitted peer reached');
      expect(commitsFrom(r2, 1)).toEqual([10, 2]);
      expect(commitsFrom(r1, 2).every((commit) => commit !== 1)).toBe(true);
      await c.close();
    });

    it("a changed address: our link redials there; the peer's link to us is not touched", async () => {
      const c = await factory.make([1, 2, 3]);
      const [t1, t2] = [get(c.transports, 1), get(c.transports, 2)];
      const [r1, r2] = [new Recorder(), new Recorder()];
      t1.start(r1);
      t2.start(r2);
      get(c.transports, 3).start(new Recorder());
      t1.send([heartbeat(1, 2, 1)]);
      t2.send([heartbeat(2, 1, 1)]);
      await eventually(() => r1.messages.length === 1 && r2.messages.length === 1, 'links up both ways');

      const oldAddress = c.address(2);
      const newAddress = c.relocate !== undefined ? await c.relocate(2) : `moved-${oldAddress}`;
      const openBefore = c.openAt?.(oldAddress);
      const acceptedAt1 = c.accepted?.(c.address(1));
      t1.setPeers(new Map([...peersOf(c, [3]), [2, newAddress]]));
      t1.send([heartbeat(1, 2, 2)]);
      await eventually(() => r2.messages.length === 2, 'delivery after the address change');
      expect(commitsFrom(r2, 1)).toEqual([1, 2]);
      if (c.accepted !== undefined && c.openAt !== undefined && openBefore !== undefined) {
        const { accepted, openAt } = c;
        expect(accepted(newAddress)).toBeGreaterThanOrEqual(1);
        // The connection to the old address is closed (3's to 2 stays).
        await eventually(() => openAt(oldAddress) === openBefore - 1, 'the old connection closed');
        // 2's link to us was not redialled.
        expect(accepted(c.address(1))).toBe(acceptedAt1);
      }
      t2.send([heartbeat(2, 1, 2)]);
      await eventually(() => r1.messages.length === 2, 'delivery from the moved peer');
      await c.close();
    });

    it('setPeers with the same set changes nothing: no reconnect', async () => {
      const ids = [1, 2, 3];
      const c = await factory.make(ids);
      const recorders = new Map(ids.map((id) => [id, new Recorder()]));
      for (const id of ids) get(c.transports, id).start(get(recorders, id));
      const everyone = async (commit: number, what: string): Promise<void> => {
        for (const from of ids) get(c.transports, from).send(ids.filter((to) => to !== from).map((to) => heartbeat(from, to, commit)));
        await eventually(() => ids.every((id) => get(recorders, id).messages.length === 2 * commit), what);
      };
      await everyone(1, 'all links up');
      const acceptedBefore = ids.map((id) => c.accepted?.(c.address(id)));
      // Equal sets in new Map objects, in another order.
      for (const id of ids) {
        get(c.transports, id).setPeers(
          peersOf(
            c,
            ids.filter((other) => other !== id),
          ),
        );
        get(c.transports, id).setPeers(peersOf(c, ids.filter((other) => other !== id).reverse()));
      }
      await everyone(2, 'delivery after setPeers with the same set');
      expect(ids.map((id) => c.accepted?.(c.address(id)))).toEqual(acceptedBefore);
      for (const id of ids) expect(commitsFrom(get(recorders, id), ids.find((o) => o !== id) ?? 0)).toEqual([1, 2]);
      await c.close();
    });

    it('a snapshot to a peer removed while it is queued, or after, fails, and reports it once', async () => {
      const c = await factory.make([1, 2]);
      const t1 = get(c.transports, 1);
      const [r1, r2] = [new Recorder(), new Recorder()];
      t1.start(r1);
      get(c.transports, 2).start(r2);
      t1.send([heartbeat(1, 2, 1)]);
      await eventually(() => r2.messages.length === 1, 'link up');
      const results: boolean[] = [];
      const after: boolean[] = [];
      t1.sendSnapshot(snapshotTo(2), new Uint8Array(2_000_000).fill(7), (ok) => results.push(ok));
      // Same turn: the stream is queued or partly sent (several chunks), never acknowledged.
      t1.setPeers(new Map());
      t1.sendSnapshot(snapshotTo(2), new Uint8Array(10), (ok) => after.push(ok));
      await eventually(() => results.length === 1 && after.length === 1, 'both snapshot reports');
      // A marker round trip gives a second report time to show up.
      t1.setPeers(peersOf(c, [2]));
      t1.send([heartbeat(1, 2, 2)]);
      await eventually(() => r2.messages.length === 2, 'link up again');
      expect(results).toEqual([false]);
      expect(after).toEqual([false]);
      expect(r2.snapshots).toEqual([]);
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
