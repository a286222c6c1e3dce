/**
 * Watches through the SDK and the CLI (docs/design.md#watches): `client.watch()` against an
 * in-process 3-node cluster (its nodes' events are the server side's, tested on their own in
 * test/integration/watch.test.ts), resumed across a stopped leader with no gap and no duplicate
 * (its indices compared with an observer's that never moved), the conveniences built on it
 * (`counter.watch()`, `waitForUnlock`, `election.observe()`), a slow consumer ended with
 * LimitExceededError rather than an unbounded buffer, and `raftlock watch`. Then, against real
 * node processes whose histories start at their snapshots after a restart, a watch from an index
 * they no longer keep: CompactedError with the index to resync from (SDK and CLI).
 *
 * Real sockets and time: deadlines are generous and only orders and values are asserted.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CompactedError,
  connect,
  InvalidArgumentError,
  LimitExceededError,
  LockTimeoutError,
  type Watch,
  type WatchEvent,
} from '../../src/client/index.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { CLI, REPO, runCli } from './support/cli.js';
import { endpointsOf, stopNode } from './support/sdk-cluster.js';
import { sdkClients } from './support/sdk-clients.js';

const { setup, client, teardown } = sdkClients();

afterEach(() => teardown(2_000));

/** Reads `watch` until `until` holds of what it read (or `timeoutMs` passes). */
async function readUntil(watch: Watch, until: (seen: readonly WatchEvent[]) => boolean, timeoutMs = 20_000): Promise<WatchEvent[]> {
  const seen: WatchEvent[] = [];
  const deadline = setTimeout(() => void watch.return(), timeoutMs);
  try {
    for (;;) {
      if (until(seen)) return seen;
      const r = await watch.next();
      if (r.done === true) throw new Error(`the watch ended after ${seen.length} events: ${JSON.stringify(seen.slice(-5))}`);
      seen.push(r.value);
    }
  } finally {
    clearTimeout(deadline);
  }
}

/** What identifies an event in a comparison: all of it. */
const key = (ev: WatchEvent): string => JSON.stringify(ev);

describe('client.watch()', () => {
  it('delivers events with their indices, in order, as the cluster applies them', async () => {
    const c = await setup();
    const a = await client(c);
    const watch = a.watch({ prefix: 'w/', kinds: ['lock', 'counter'] });
    const from = await watch.ready;
    const lock = await a.lock('w/lock', { waitMs: 0 });
    expect(await a.counter('w/n').add(5)).toBe(5);
    await lock.release();
    const seen = await readUntil(watch, (s) => s.length >= 3);
    await watch.return();
    expect(seen.map((e) => [e.type, e.kind, e.name])).toEqual([
      ['granted', 'lock', 'w/lock'],
      ['counter-changed', 'counter', 'w/n'],
      ['released', 'lock', 'w/lock'],
    ]);
    expect(seen[0]).toMatchObject({ session: a.sessionId, token: lock.fencingToken, index: lock.fencingToken });
    expect(seen[1]?.value).toBe(5);
    expect(seen.every((e) => e.index >= from)).toBe(true);
    expect(watch.nextIndex).toBe((seen[2] as WatchEvent).index + 1);
  });

  it('resumes across a stopped leader with no gap and no duplicate (compared with a watch that never moved)', async () => {
    const c = await setup();
    const leader = await c.leader();
    const follower = c.nodes.find((n) => n.id !== leader.id);
    if (follower === undefined) throw new Error('no follower');
    const writer = await client(c);
    // The observer talks to one follower only: it never has to move.
    const observer = await client(c, { endpoints: [follower.address], discoverMembers: false });
    const moving = await client(c);
    const steady = observer.watch({ prefix: 'r/', kinds: ['counter'] });
    const from = await steady.ready;
    const watch = moving.watch({ prefix: 'r/', kinds: ['counter'], fromIndex: from });
    await watch.ready;
    for (let k = 1; k <= 20; k++) await writer.counter('r/n').add(1);
    const before = await readUntil(watch, (s) => s.length >= 20);
    // The moving watch's node (the leader: where its client's connection goes) stops for good.
    await stopNode(leader);
    for (let k = 21; k <= 40; k++) await writer.counter('r/n').add(1);
    const after = await readUntil(watch, (s) => s.length >= 20);
    const steadySeen = await readUntil(steady, (s) => s.length >= 40);
    const moved = [...before, ...after];
    expect(moved.map((e) => e.value)).toEqual(Array.from({ length: 40 }, (_, k) => k + 1));
    expect(moved.map(key)).toEqual(steadySeen.map(key));
    expect(new Set(moved.map((e) => e.index)).size).toBe(40);
    await Promise.all([watch.return(), steady.return()]);
  });

  it('checks its options at once (InvalidArgumentError naming the field), sending nothing', async () => {
    const c = await setup();
    const a = await client(c);
    for (const [opts, field] of [
      [{ kinds: [] }, 'kinds'],
      [{ kinds: ['lock', 'lock'] }, 'kinds'],
      [{ kinds: ['locks'] }, 'kinds'],
      [{ fromIndex: 0 }, 'fromIndex'],
      [{ fromIndex: 1.5 }, 'fromIndex'],
      [{ maxBufferedEvents: 0 }, 'maxBufferedEvents'],
    ] as const) {
      let err: unknown;
      try {
        a.watch(opts as never);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(opts)).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
    }
    // What only the cluster checks (a prefix over the name limit) ends the watch with the cluster's error.
    const bad = a.watch({ prefix: 'x'.repeat(300) });
    await expect(bad.next()).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('ends a consumer that falls behind with LimitExceededError once it read what was kept, and says where to go on', async () => {
    const c = await setup();
    const a = await client(c);
    const watch = a.watch({ prefix: 'slow/', kinds: ['counter'], maxBufferedEvents: 5 });
    await watch.ready;
    for (let k = 1; k <= 12; k++) await a.counter('slow/n').add(1);
    // Nothing read meanwhile: the first frames fill the buffer, the next one ends the watch.
    const seen: WatchEvent[] = [];
    let error: unknown;
    try {
      for await (const ev of watch) seen.push(ev);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LimitExceededError);
    expect((error as Error).message).toMatch(/maxBufferedEvents 5.*fromIndex \d+/);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(seen.length).toBeLessThan(12);
    const next = watch.nextIndex as number;
    expect(next).toBe((seen[seen.length - 1] as WatchEvent).index + 1);
    // Going on from there gives exactly the rest.
    const rest = a.watch({ prefix: 'slow/', kinds: ['counter'], fromIndex: next });
    const more = await readUntil(rest, (s) => seen.length + s.length >= 12);
    await rest.return();
    expect([...seen, ...more].map((e) => e.value)).toEqual(Array.from({ length: 12 }, (_, k) => k + 1));
  });
});

describe('conveniences on watches', () => {
  it('counter.watch() gives the value now, then each change with its index', async () => {
    const c = await setup();
    const a = await client(c);
    await a.counter('cw').set(7);
    const values: number[] = [];
    const it = a.counter('cw').watch();
    const first = await it.next();
    expect(first.value).toMatchObject({ value: 7 });
    values.push(7);
    const writes = (async () => {
      await a.counter('cw').add(1);
      await a.counter('cw').add(0); // no change
      await a.counter('cw').set(20);
      await a.counter('cw').delete();
    })();
    for await (const { value } of it) {
      values.push(value);
      if (values.length === 4) break;
    }
    await writes;
    expect(values).toEqual([7, 8, 20, 0]);
  });

  it('waitForUnlock resolves once the holder lets go, at once when free, and times out with LockTimeoutError', async () => {
    const c = await setup();
    const [a, b] = [await client(c), await client(c)];
    expect(await b.waitForUnlock('wu')).toBeGreaterThan(0); // never held
    const held = await a.lock('wu', { waitMs: 0 });
    await expect(b.waitForUnlock('wu', { waitMs: 300 })).rejects.toBeInstanceOf(LockTimeoutError);
    let freedAt: number | undefined;
    const waiting = b.waitForUnlock('wu', { waitMs: 20_000 }).then((i) => (freedAt = i));
    await new Promise((r) => setTimeout(r, 200));
    expect(freedAt).toBeUndefined();
    await held.release();
    await waiting;
    expect(freedAt).toBeGreaterThan(held.fencingToken);
    expect((await b.lockInfo('wu')).holder).toBeUndefined();
  });

  it('election.observe() gives the leader now, then each change: a leader, a new value, none', async () => {
    const c = await setup();
    const [a, b, o] = [await client(c), await client(c), await client(c)];
    const changes: Array<string | null> = [];
    const observing = (async () => {
      for await (const { leader } of o.election('obs').observe()) {
        changes.push(leader === null ? null : leader.value);
        if (changes.length === 5) return;
      }
    })();
    await waitFor('the first observation', () => changes.length >= 1 || undefined, 20_000);
    const la = await a.election('obs').campaign('a');
    const bWins = b.election('obs').campaign('b');
    await la.proclaim('a2');
    await la.resign();
    const lb = await bWins;
    await lb.resign();
    await observing;
    expect(changes).toEqual([null, 'a', 'a2', 'b', null]);
  });
});

/** `raftlock watch ARGS…` (through tsx) as a child: its lines as they come, and its end. */
function watchCli(
  args: readonly string[],
  endpoints: readonly string[],
): {
  out: string[];
  err: () => string;
  interrupt(): Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'watch', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RAFTLOCK_ENDPOINTS: endpoints.join(',') },
  });
  const out: string[] = [];
  let rest = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop() ?? '';
    out.push(...parts);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    out,
    err: () => err,
    interrupt: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('raftlock watch', () => {
  it('prints one line per event until Ctrl-C, then where to go on; --from-index replays the same events (JSON lines with --json)', async () => {
    const c = await setup();
    const a = await client(c);
    const w = watchCli(['--prefix', 'cw/', '--kinds', 'lock,counter'], endpointsOf(c));
    const started = await waitFor('the watch to start', () => /events from index (\d+) on/.exec(w.err())?.[1], 60_000);
    const lock = await a.lock('cw/orders', { waitMs: 0 });
    await a.counter('cw/n').add(3);
    await lock.release();
    await a.counter('other').add(1); // another prefix: not shown
    await waitFor('three lines', () => w.out.length >= 3 || undefined, 20_000);
    expect(await w.interrupt()).toBe(0);
    expect(w.out).toEqual([
      `${lock.fencingToken} granted lock "cw/orders" session=${a.sessionId} token=${lock.fencingToken} seq=${/seq=(\d+)/.exec(w.out[0] ?? '')?.[1]}`,
      expect.stringMatching(/^\d+ counter-changed counter "cw\/n" value=3$/),
      expect.stringMatching(new RegExp(`^\\d+ released lock "cw/orders" session=${a.sessionId} token=${lock.fencingToken}$`)),
    ]);
    const next = Number(/go on with --from-index (\d+)/.exec(w.err())?.[1]);
    expect(next).toBeGreaterThan(Number(/^(\d+) released/.exec(w.out[2] ?? '')?.[1]));

    const again = watchCli(['--prefix', 'cw/', '--kinds', 'lock,counter', '--from-index', started, '--json'], endpointsOf(c));
    await waitFor('the replay', () => again.out.length >= 3 || undefined, 60_000);
    expect(await again.interrupt()).toBe(0);
    const replayed = again.out.map((l) => JSON.parse(l) as WatchEvent);
    expect(replayed.map((e) => [e.type, e.name])).toEqual([
      ['granted', 'cw/orders'],
      ['counter-changed', 'cw/n'],
      ['released', 'cw/orders'],
    ]);
    expect(replayed[0]).toMatchObject({ index: lock.fencingToken, kind: 'lock', session: a.sessionId, token: lock.fencingToken });

    const bad = await runCli(['watch', '--kinds', 'lock,mutex'], { RAFTLOCK_ENDPOINTS: endpointsOf(c).join(',') });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /--kinds: unknown kind "mutex"; the kinds are lock, semaphore, rwlock, election, counter, session \(INVALID_ARGUMENT\)/,
    );
  }, 120_000);
});

describe('COMPACTED: a watch from an index the nodes no longer keep (real processes)', () => {
  it('is refused with CompactedError and the index to resync from; a watch from there goes on (SDK and CLI)', async () => {
    const cluster = await ProcessCluster.create({ nodes: 3, snapshotEvery: 20 });
    try {
      cluster.startAll();
      await cluster.waitForLeader(cluster.ids, 30_000);
      const a = await connect({ endpoints: cluster.endpoints, timeoutMs: 30_000 });
      try {
        for (let k = 0; k < 40; k++) await a.counter('compacted').increment();
        // Restarted, each node restores its snapshot: its history starts after it.
        for (const id of cluster.ids) {
          await cluster.restart(id);
          await cluster.waitForLeader(cluster.ids, 30_000);
        }
        const old = a.watch({ fromIndex: 1 });
        const err = await old.next().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CompactedError);
        const { resyncFrom } = err as CompactedError;
        expect(resyncFrom).toBeGreaterThan(20);
        await expect(old.ready).rejects.toBeInstanceOf(CompactedError);
        // Resync: read the state, then watch from resyncFrom.
        expect(await a.counter('compacted').get()).toBe(40);
        const resumed = a.watch({ kinds: ['counter'], prefix: 'compacted', fromIndex: resyncFrom });
        expect(await resumed.ready).toBe(resyncFrom);
        await a.counter('compacted').increment();
        // From resyncFrom on, what the nodes keep, then the new write: consecutive values up to 41.
        const seen = await readUntil(resumed, (evs) => evs.some((e) => e.value === 41));
        await resumed.return();
        const values = seen.map((e) => e.value as number);
        expect(values).toEqual(Array.from({ length: values.length }, (_, k) => 41 - values.length + 1 + k));
        expect((seen[0] as WatchEvent).index).toBeGreaterThanOrEqual(resyncFrom);

        const cli = await runCli(['watch', '--from-index', '1'], { RAFTLOCK_ENDPOINTS: cluster.endpoints.join(',') });
        expect(cli.code).toBe(1);
        expect(cli.stderr).toMatch(/^raftlock watch: .* \(COMPACTED\); the cluster no longer keeps events that old: .*--from-index/);
      } finally {
        await a.close();
      }
    } finally {
      await cluster.destroy();
    }
  }, 180_000);
});
