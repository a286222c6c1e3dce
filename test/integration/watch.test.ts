/**
 * Watches against real nodes (docs/design.md#watches): three `startNode` nodes in this process
 * (LevelDB, WebSocket peers, HTTP), spoken to with raw msgpack frames. Events of a lock and a
 * counter with their indexes; a watch resumed on another node from the index after the last
 * event gives the same continuation, also once the leader has stopped (its watch ends
 * UNAVAILABLE with where to resume); a restarted node's history starts after its snapshot
 * (COMPACTED with resyncFrom); the 17th watch of a connection is refused; a client that does not
 * read is ended with LIMIT_EXCEEDED while the node stays healthy; malformed requests are refused
 * with the field named. Deadlines are generous; nothing asserts on timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WATCHES_PER_CONNECTION, type RequestBody, type WatchEvent } from '../../src/protocol/index.js';
import { TestClient, type ReceivedWatch } from './support/client-cluster.js';
import { silentLogger, startNode, validateConfig, type ClusterConfig, type NodeHandle } from '../../src/server/index.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';

/** A session of a writer connection, numbering its writes; each write's index. */
class Writer {
  private seq = 0;
  private constructor(
    readonly client: TestClient,
    readonly session: number,
    readonly secret: string,
  ) {}

  static async open(client: TestClient): Promise<Writer> {
    const v = await client.ok<{ sessionId: number; secret: string }>({ op: 'open-session', ttlMs: 60_000 });
    return new Writer(client, v.sessionId, v.secret);
  }

  /** The same session on another connection (bound with its secret). */
  async on(client: TestClient): Promise<Writer> {
    await client.ok({ op: 'bind', session: this.session, secret: this.secret });
    const w = new Writer(client, this.session, this.secret);
    w.seq = this.seq + 10_000;
    return w;
  }

  async write(body: Record<string, unknown> & { op: string }): Promise<number> {
    this.seq++;
    const r = await this.client.request({ ...body, session: this.session, seq: this.seq } as unknown as RequestBody);
    if (!r.ok || r.index === undefined) throw new Error(`${body.op} failed: ${JSON.stringify(r)}`);
    return r.index;
  }
}

const nodes = new Map<number, NodeHandle>();
const clients: TestClient[] = [];
let config: ClusterConfig;
let dir: string;

async function connect(id: number): Promise<TestClient> {
  const n = nodes.get(id);
  if (n === undefined) throw new Error(`node ${id} is not running`);
  const c = await TestClient.connect(n.address);
  clients.push(c);
  return c;
}

async function leader(): Promise<NodeHandle> {
  return waitFor('a leader every running node follows', () => {
    const l = [...nodes.values()].find((n) => n.status().role === 'leader');
    return l !== undefined && [...nodes.values()].every((n) => n.status().leader === l.id) ? l : undefined;
  });
}

async function eventsAtLeast(got: ReceivedWatch, n: number): Promise<WatchEvent[]> {
  await waitFor(`${n} watch events`, () => (got.events.length >= n ? true : undefined), 20_000);
  return got.events;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raftlock-watch-'));
  const ports = await freePorts(3);
  config = validateConfig(
    {
      clusterId: 'watch-test',
      nodes: ports.map((port, k) => ({ id: k + 1, address: `127.0.0.1:${port}` })),
      dataDir: dir,
      tickMs: 20,
      snapshotEvery: 20,
      // Large names make a backlog of megabytes out of a few hundred events.
      limits: { maxNameBytes: 65_536 },
    },
    { baseDir: dir },
  );
  const started = await Promise.all([1, 2, 3].map((id) => startNode({ config, id, logger: silentLogger })));
  for (const n of started) nodes.set(n.id, n);
  await leader();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes.values()) await n.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('watches on real nodes', () => {
  it('a lock acquire and release and a counter write arrive as events, with their indexes', async () => {
    const l = await leader();
    const watcher = await connect(l.id === 1 ? 2 : 1);
    const w = await watcher.start({ prefix: 'w1/' });
    expect(w.fromIndex).toBeGreaterThan(0);
    const writer = await Writer.open(await connect(l.id));
    const granted = await writer.write({ op: 'acquire', name: 'w1/L', waitMs: 0 });
    const added = await writer.write({ op: 'counter-add', name: 'w1/c', delta: 3 });
    const released = await writer.write({ op: 'release', name: 'w1/L' });
    expect(await eventsAtLeast(w.got, 3)).toEqual([
      { index: granted, type: 'granted', kind: 'lock', name: 'w1/L', session: writer.session, token: granted, seq: 1 },
      { index: added, type: 'counter-changed', kind: 'counter', name: 'w1/c', value: 3 },
      { index: released, type: 'released', kind: 'lock', name: 'w1/L', session: writer.session, token: granted },
    ]);
  });

  it('a watch resumed on another node from the last index + 1 continues without gap or duplicate, also after the leader stops', async () => {
    const l = await leader();
    const others = [...nodes.keys()].filter((id) => id !== l.id);
    // The first watch is on the leader, which will stop.
    const onLeader = await (await connect(l.id)).start({ prefix: 'w2/', fromIndex: 1 });
    const writer = await Writer.open(await connect(l.id));
    for (let k = 1; k <= 6; k++) await writer.write({ op: 'counter-add', name: `w2/c${k % 2}`, delta: k });
    const six = [...(await eventsAtLeast(onLeader.got, 6))];
    expect(six).toHaveLength(6);
    // Resumed on a follower after the third event: the same three that followed.
    const third = six[2] as WatchEvent;
    const resumed = await (await connect(others[0] as number)).start({ prefix: 'w2/', fromIndex: third.index + 1 });
    expect(await eventsAtLeast(resumed.got, 3)).toEqual(six.slice(3));
    // The leader stops: its watch ends UNAVAILABLE, naming where to resume (after the last
    // index it looked at, which may be later than its last event).
    const old = nodes.get(l.id) as NodeHandle;
    nodes.delete(l.id);
    await old.stop();
    const end = await waitFor('the stopped leader’s watch to end', () => onLeader.got.end, 20_000);
    expect(end.code).toBe('UNAVAILABLE');
    expect(end.resyncFrom).toBeGreaterThan((six[5] as WatchEvent).index);
    const next = await leader();
    const writer2 = await writer.on(await connect(next.id));
    for (let k = 7; k <= 9; k++) await writer2.write({ op: 'counter-add', name: `w2/c${k % 2}`, delta: k });
    const all = await eventsAtLeast(resumed.got, 6);
    expect(all.slice(0, 3)).toEqual(six.slice(3));
    // Where the ended watch said to resume, on the last node: the same continuation.
    const third3 = await (await connect(others[1] as number)).start({ prefix: 'w2/', fromIndex: onLeader.got.end?.resyncFrom ?? 0 });
    expect(await eventsAtLeast(third3.got, 3)).toEqual(all.slice(3));
    expect(all.slice(3).map((e) => e.value)).toEqual([16, 20, 25]);
    // Restart the stopped node for the tests that follow.
    nodes.set(l.id, await startNode({ config, id: l.id, logger: silentLogger }));
    await leader();
  });

  it('a restarted node keeps events only after its snapshot: an older start is COMPACTED with resyncFrom', async () => {
    // Well over 20 entries: every node takes a snapshot, which a restart restores.
    const l = await leader();
    const writer = await Writer.open(await connect(l.id));
    for (let k = 0; k < 30; k++) await writer.write({ op: 'counter-add', name: 'w3/c', delta: 1 });
    const id = [...nodes.keys()].find((k) => k !== l.id) as number;
    await waitFor('a snapshot on the node to restart', () =>
      (nodes.get(id) as NodeHandle).status().snapshotIndex > 20 ? true : undefined,
    );
    await (nodes.get(id) as NodeHandle).stop();
    const restarted = await startNode({ config, id, logger: silentLogger });
    nodes.set(id, restarted);
    await leader();
    const snapshot = restarted.status().snapshotIndex;
    expect(snapshot).toBeGreaterThan(1);
    const c = await connect(id);
    const r = await c.request({ op: 'watch', fromIndex: 1 });
    expect(r).toMatchObject({ ok: false, error: { code: 'COMPACTED', resyncFrom: restarted.service.watches.firstKept } });
    expect(!r.ok && r.error.resyncFrom).toBeGreaterThan(1);
    // From there it starts.
    const from = !r.ok ? (r.error.resyncFrom ?? 0) : 0;
    expect(await c.ok({ op: 'watch', fromIndex: from })).toEqual({ watch: 2, fromIndex: from });
  });

  it(`a connection holds at most ${MAX_WATCHES_PER_CONNECTION} watches`, async () => {
    const c = await connect((await leader()).id);
    for (let k = 0; k < MAX_WATCHES_PER_CONNECTION; k++) await c.ok({ op: 'watch', prefix: `many/${k}` });
    const refused = await c.request({ op: 'watch', prefix: 'many/x' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    expect(!refused.ok && refused.error.message).toContain(`limit ${MAX_WATCHES_PER_CONNECTION} per connection`);
    expect(await c.ok({ op: 'unwatch', watch: 3 })).toBeNull();
    expect(await c.ok({ op: 'unwatch', watch: 3 })).toBeNull();
    // The refused one took no id.
    expect(await c.ok({ op: 'watch', prefix: 'many/y' })).toMatchObject({ watch: MAX_WATCHES_PER_CONNECTION + 1 });
  });

  it('a client that does not read is ended with LIMIT_EXCEEDED; the node and the connection stay healthy', async () => {
    const l = await leader();
    const slow = await connect(l.id);
    const w = await slow.start({ prefix: 'big/' });
    slow.socket.pause();
    const writer = await Writer.open(await connect(l.id));
    const pad = 'x'.repeat(30_000);
    // 600 events of about 30 KB, 18 MB: far beyond the 4 MiB bound and what the kernel
    // buffers, and well within the node's history (64 MiB as it counts them).
    for (let k = 0; k < 300; k++) {
      await writer.write({ op: 'counter-add', name: `big/${k}/${pad}`, delta: 1 });
      await writer.write({ op: 'counter-delete', name: `big/${k}/${pad}` });
    }
    expect(await writer.write({ op: 'counter-add', name: 'big-after', delta: 1 })).toBeGreaterThan(0);
    slow.socket.resume();
    const end = await waitFor('the slow watch to end', () => w.got.end, 30_000);
    expect(end.code).toBe('LIMIT_EXCEEDED');
    expect(end.message).toContain('reads too slowly; resume from index');
    const received = w.got.events;
    expect(received.length).toBeLessThan(600);
    // Nothing lost: where it says to resume is right after what arrived.
    expect(end.resyncFrom).toBe((received[received.length - 1]?.index ?? w.fromIndex - 1) + 1);
    // The connection is open, and a new watch from there carries on.
    const again = await slow.start({ prefix: 'big/', fromIndex: end.resyncFrom ?? 0 });
    // The catch-up goes at the pace the client reads: nothing is ended for reading it.
    const rest = await eventsAtLeast(again.got, 600 - received.length);
    expect(again.got.end).toBeUndefined();
    expect([...received, ...rest].map((e) => e.index)).toEqual([...new Set([...received, ...rest].map((e) => e.index))]);
    expect(rest).toHaveLength(600 - received.length);
    expect(l.status().role).toBe('leader');
  });

  it('malformed watch requests are refused with the field named, and the connection stays open', async () => {
    const c = await connect((await leader()).id);
    const cases: ReadonlyArray<[Record<string, unknown>, string]> = [
      [{ op: 'watch', kinds: [] }, 'kinds'],
      [{ op: 'watch', kinds: 'lock' }, 'kinds'],
      [{ op: 'watch', kinds: ['lock', 'lock'] }, 'kinds[1]'],
      [{ op: 'watch', kinds: ['lock', 'mutex'] }, 'kinds[1]'],
      [{ op: 'watch', fromIndex: 0 }, 'fromIndex'],
      [{ op: 'watch', fromIndex: 1.5 }, 'fromIndex'],
      [{ op: 'watch', prefix: 5 }, 'prefix'],
      [{ op: 'watch', limit: 5 }, 'limit'],
      [{ op: 'unwatch' }, 'watch'],
      [{ op: 'unwatch', watch: 0 }, 'watch'],
      [{ op: 'unwatch', watch: 99 }, 'watch'],
    ];
    for (const [body, field] of cases) {
      const r = await c.request(body as unknown as RequestBody);
      expect(r, JSON.stringify(body)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', field } });
    }
    expect(await c.ok({ op: 'watch', kinds: ['lock', 'counter'], prefix: '' })).toMatchObject({ watch: 1 });
  });
});
