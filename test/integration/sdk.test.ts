/**
 * The client SDK against an in-process 3-node cluster with real
 * `/client` endpoints on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientClosedError,
  FencedError,
  InvalidArgumentError,
  LockTimeoutError,
  NotHeldError,
  RaftlockError,
  UnavailableError,
  type RaftlockClient,
} from '../../src/client/index.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { stopNode } from './support/sdk-cluster.js';
import { sdkClients } from './support/sdk-clients.js';

const { setup, client, teardown } = sdkClients();

afterEach(() => teardown());

describe('SDK counters', () => {
  it('add, increment, decrement, get, set, compareAndSet, delete', async () => {
    const c = await setup();
    const cl = await client(c);
    const hits = cl.counter('hits');
    expect(await hits.get()).toBe(0);
    expect(await hits.add(5)).toBe(5);
    expect(await hits.increment()).toBe(6);
    expect(await hits.decrement()).toBe(5);
    expect(await hits.get()).toBe(5);
    expect(await hits.set(10)).toBe(5);
    expect(await hits.compareAndSet(9, 11)).toBe(false);
    expect(await hits.compareAndSet(10, 11)).toBe(true);
    expect(await hits.get()).toBe(11);
    expect(await hits.delete()).toBe(11);
    expect(await hits.get()).toBe(0);
  });

  it('64 concurrent calls on one client: all counted, and no listener-leak warning in the process', async () => {
    const c = await setup();
    const cl = await client(c);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on('warning', onWarning);
    try {
      const values = await Promise.all(Array.from({ length: 64 }, () => cl.counter('many').increment()));
      expect(new Set(values).size).toBe(64);
      expect(await cl.counter('many').get()).toBe(64);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
  });

  it('stale reads eventually see the write on every endpoint', async () => {
    const c = await setup();
    const writer = await client(c);
    await writer.counter('s').set(42);
    for (const n of c.nodes) {
      const reader = await client(c, { endpoints: [n.address] });
      let seen = -1;
      // A follower may lag a little: poll until it has applied the write.
      const until = Date.now() + 20_000;
      while (seen !== 42 && Date.now() < until) {
        seen = await reader.counter('s').get({ stale: true });
        if (seen !== 42) await new Promise((r) => setTimeout(r, 10));
      }
      expect(seen).toBe(42);
    }
  });

  it('a fenced write succeeds while the lock is held and is FENCED after release', async () => {
    const c = await setup();
    const cl = await client(c);
    const lock = await cl.lock('orders', { waitMs: 5_000 });
    const hits = cl.counter('fenced');
    expect(await hits.add(1, { fence: { lock: 'orders', token: lock.fencingToken } })).toBe(1);
    await lock.release();
    const err = await hits.add(1, { fence: { lock: 'orders', token: lock.fencingToken } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencedError);
    expect((err as FencedError).code).toBe('FENCED');
    expect(err).toBeInstanceOf(RaftlockError);
    expect(await hits.get()).toBe(1);
  });

  it('bad input is an InvalidArgumentError with its code', async () => {
    const c = await setup();
    const cl = await client(c);
    const e1 = await cl
      .counter('')
      .add(1)
      .catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(InvalidArgumentError);
    expect((e1 as RaftlockError).code).toBe('INVALID_ARGUMENT');
    const e2 = await cl
      .counter('x')
      .add(1.5)
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('SDK locks', () => {
  it('lock, lockInfo, tryLock, release, double release → NotHeldError', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const lock = await a.lock('L', { waitMs: 1_000 });
    expect(lock.name).toBe('L');
    expect(lock.fencingToken).toBeGreaterThan(0);
    expect(lock.signal.aborted).toBe(false);
    const info = await b.lockInfo('L');
    expect(info.holder?.sessionId).toBe(a.sessionId);
    expect(info.holder?.fencingToken).toBe(lock.fencingToken);
    expect(info.waiters).toBe(0);
    expect(await b.tryLock('L')).toBeNull();
    // A second holder inside the same client is refused too.
    expect(await a.tryLock('L')).toBeNull();
    await lock.release();
    const err = await lock.release().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotHeldError);
    expect((err as NotHeldError).code).toBe('NOT_HELD');
    expect((await b.lockInfo('L')).holder).toBeUndefined();
    const again = await b.tryLock('L');
    expect(again).not.toBeNull();
    expect(again?.fencingToken).toBeGreaterThan(lock.fencingToken);
    await again?.release();
  });

  it('FIFO: a waiting client gets the lock, with a higher token, when the holder releases', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const first = await a.lock('F');
    const waiting = b.lock('F', { waitMs: 30_000 });
    await waitFor('b queued', () => c.nodes.some((n) => n.service.machine.lockInfo('F').waiters === 1));
    await first.release();
    const second = await waiting;
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });

  it('LockTimeoutError when the wait ends ungranted', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const held = await a.lock('T');
    const err = await b.lock('T', { waitMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).code).toBe('LOCK_TIMEOUT');
    expect(err).toBeInstanceOf(RaftlockError);
    await held.release();
  });

  it('withLock releases in finally, also when fn throws', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const out = await a.withLock(
      'W',
      async (lock) => {
        expect((await b.lockInfo('W')).holder?.fencingToken).toBe(lock.fencingToken);
        return 7;
      },
      { waitMs: 1_000 },
    );
    expect(out).toBe(7);
    expect((await b.lockInfo('W')).holder).toBeUndefined();
    await expect(
      a.withLock('W', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await b.lockInfo('W')).holder).toBeUndefined();
  });

  it('`await using` releases at the end of the block', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    let token = 0;
    {
      await using lock = await a.lock('U');
      token = lock.fencingToken;
      expect((await b.lockInfo('U')).holder?.fencingToken).toBe(token);
    }
    expect((await b.lockInfo('U')).holder).toBeUndefined();
  });

  it('close() ends the session: its locks are released and later calls reject clearly', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const lock = await a.lock('C');
    const waiting = b.lock('C', { waitMs: 30_000 });
    await a.close();
    const got = await waiting;
    expect(got.fencingToken).toBeGreaterThan(lock.fencingToken);
    const err = await a
      .counter('x')
      .increment()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientClosedError);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).code).toBe('UNAVAILABLE');
    expect((err as UnavailableError).outcomeUnknown).toBe(false);
    await expect(a.lock('C2')).rejects.toBeInstanceOf(ClientClosedError);
    await got.release();
  });

  it('a holder whose keep-alives go unacknowledged has its lock signal fire (LOCK_LOST)', async () => {
    const c = await setup();
    const a = await client(c, { sessionTtlMs: 2_000, timeoutMs: 3_000 });
    const lock = await a.lock('K');
    expect(lock.signal.aborted).toBe(false);
    // Cut the client off: every node drops its connections and accepts no new ones.
    for (const n of c.nodes) n.endpoint.close();
    await waitFor('the lock signal', () => lock.signal.aborted);
    expect(lock.signal.reason).toBeInstanceOf(RaftlockError);
    expect((lock.signal.reason as RaftlockError).code).toBe('LOCK_LOST');
  });
});

describe('SDK failover', () => {
  it('increments from 3 clients survive stopping the leader, each counted exactly once', async () => {
    const c = await setup();
    const writers = [await client(c), await client(c), await client(c)];
    let acked = 0;
    let unknown = 0;
    let stop = false;
    const loops = writers.map(async (w) => {
      const ctr = w.counter('failover');
      while (!stop) {
        try {
          await ctr.increment({ timeoutMs: 20_000 });
          acked++;
        } catch (err) {
          if (err instanceof UnavailableError && err.outcomeUnknown) unknown++;
          else throw err;
        }
      }
    });
    await waitFor('30 increments before the failover', () => acked >= 30);
    const leader = await c.leader();
    await stopNode(leader);
    const before = acked;
    await waitFor('30 increments after the failover', () => acked >= before + 30, 30_000);
    stop = true;
    await Promise.all(loops);
    const reader = writers[0] as RaftlockClient;
    const final = await reader.counter('failover').get();
    expect(final).toBeGreaterThanOrEqual(acked);
    expect(final).toBeLessThanOrEqual(acked + unknown);
    expect(unknown).toBe(0);
  });

  it('a queued lock wait survives stopping the leader and is granted after the release', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const first = await a.lock('Q');
    const waiting = b.lock('Q', { waitMs: 60_000 });
    await waitFor('b queued', () => c.nodes.some((n) => n.service.machine.lockInfo('Q').waiters === 1));
    const old = await c.leader();
    await stopNode(old);
    await waitFor('a new leader', () => c.nodes.some((n) => n.id !== old.id && n.host.status(false).role === 'leader'));
    await first.release();
    const second = await waiting;
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(second.signal.aborted).toBe(false);
    await second.release();
  });

  it('an aborted wait rejects with the signal reason and never leaves the lock held', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const first = await a.lock('A');
    const ac = new AbortController();
    const waiting = b.lock('A', { waitMs: 60_000, signal: ac.signal }).catch((e: unknown) => e);
    await waitFor('b queued', () => c.nodes.some((n) => n.service.machine.lockInfo('A').waiters === 1));
    ac.abort(new Error('changed my mind'));
    expect(((await waiting) as Error).message).toBe('changed my mind');
    await first.release();
    // b's abandoned wait may be granted after the release; the SDK releases it again.
    await waitFor('the lock free', () =>
      c.nodes.every((n) => n.service.machine.lockInfo('A').holder === undefined && n.service.machine.lockInfo('A').waiters === 0),
    );
    const again = await b.lock('A', { waitMs: 5_000 });
    await again.release();
  });
});
