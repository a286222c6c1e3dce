/**
 * The peer book (docs/design.md#data-identity): a peer's data identity is taken on first sight
 * under its admission, recorded durably before the peer is accepted, and held to afterwards; a
 * new admission takes a new identity; a failed write refuses the peer.
 */
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../src/raft/index.js';
import { silentLogger } from '../../../src/server/logger.js';
import { PeerBook, type PeerBookStore } from '../../../src/server/peer-book.js';
import type { KnownPeer } from '../../../src/storage/index.js';

/** An in-memory store whose writes complete only when the test says so. */
class Store implements PeerBookStore {
  readonly dataId = 'self';
  known: ReadonlyMap<NodeId, KnownPeer> = new Map();
  readonly pending: Array<(error: Error | null) => void> = [];
  knownPeers(): ReadonlyMap<NodeId, KnownPeer> {
    return this.known;
  }
  rememberPeers(peers: ReadonlyMap<NodeId, KnownPeer>, done: (error: Error | null) => void): void {
    this.pending.push((error) => {
      if (error === null) this.known = new Map(peers);
      done(error);
    });
  }
  /** Completes the oldest write. */
  complete(error: Error | null = null): void {
    const done = this.pending.shift();
    if (done === undefined) throw new Error('no write pending');
    done(error);
  }
}

/** Lets pending promise callbacks run (no timers involved). */
const settle = async (): Promise<void> => {
  for (let k = 0; k < 10; k++) await Promise.resolve();
};

function book(admissions: Map<NodeId, string>): { store: Store; book: PeerBook } {
  const store = new Store();
  return { store, book: new PeerBook(store, (peer) => admissions.get(peer), silentLogger) };
}

describe('PeerBook', () => {
  it('sends its own identity, and accepts a member on first sight only once that is durable', async () => {
    const { store, book: b } = book(new Map([[2, '']]));
    expect(b.own).toBe('self');
    let verdict: string | null | undefined;
    void b.check(2, 'disk-a').then((v) => (verdict = v));
    await settle();
    expect(verdict).toBeUndefined(); // not before the write is durable
    store.complete();
    await settle();
    expect(verdict).toBeNull();
    expect(store.known.get(2)).toEqual({ dataId: 'disk-a', admission: '' });
  });

  it('accepts the same identity again without writing, and refuses another under the same admission', async () => {
    const { store, book: b } = book(new Map([[2, '']]));
    const first = b.check(2, 'disk-a');
    await settle();
    store.complete();
    expect(await first).toBeNull();
    expect(await b.check(2, 'disk-a')).toBeNull();
    expect(store.pending).toHaveLength(0);
    const wiped = await b.check(2, 'disk-b');
    expect(wiped).toMatch(/node 2 has another data directory/);
    expect(Buffer.byteLength(wiped ?? '')).toBeLessThanOrEqual(120); // fits a WebSocket close reason
    expect(store.known.get(2)?.dataId).toBe('disk-a');
  });

  it('a new admission (removed and added again) takes the identity it shows then', async () => {
    const admissions = new Map([[4, 'adm-1']]);
    const { store, book: b } = book(admissions);
    const first = b.check(4, 'disk-a');
    await settle();
    store.complete();
    expect(await first).toBeNull();
    admissions.set(4, 'adm-2');
    const again = b.check(4, 'disk-b');
    await settle();
    store.complete();
    expect(await again).toBeNull();
    expect(store.known.get(4)).toEqual({ dataId: 'disk-b', admission: 'adm-2' });
    expect(await b.check(4, 'disk-a')).toMatch(/another data directory/);
  });

  it('a peer that is not a member here is held to what it showed before, and nothing new is recorded', async () => {
    const admissions = new Map([[3, '']]);
    const { store, book: b } = book(admissions);
    const first = b.check(3, 'disk-a');
    await settle();
    store.complete();
    await first;
    admissions.delete(3); // removed (or this node is joining and has no configuration yet)
    expect(await b.check(3, 'disk-a')).toBeNull();
    expect(await b.check(3, 'disk-b')).toMatch(/another data directory/);
    expect(await b.check(9, 'disk-z')).toBeNull();
    expect(store.pending).toHaveLength(0);
    expect(store.known.has(9)).toBe(false);
  });

  it('two connections of a new peer at once: the first identity is taken, the other refused', async () => {
    const { store, book: b } = book(new Map([[2, '']]));
    const a = b.check(2, 'disk-a');
    const c = b.check(2, 'disk-b');
    await settle();
    store.complete();
    expect(await a).toBeNull();
    expect(await c).toMatch(/another data directory/);
  });

  it('a failed write refuses the peer, and the next check tries again', async () => {
    const { store, book: b } = book(new Map([[2, '']]));
    const first = b.check(2, 'disk-a');
    await settle();
    store.complete(new Error('disk full'));
    expect(await first).toMatch(/cannot record node 2's data identity: Error: disk full/);
    expect(store.known.has(2)).toBe(false);
    const second = b.check(2, 'disk-a');
    await settle();
    store.complete();
    expect(await second).toBeNull();
  });

  it('an empty identity (a peer that sent none) is never recorded', async () => {
    const { store, book: b } = book(new Map([[2, '']]));
    expect(await b.check(2, '')).toMatch(/no data identity/);
    expect(store.pending).toHaveLength(0);
  });
});
