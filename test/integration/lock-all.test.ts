/**
 * All-or-nothing multi-locks through the SDK (docs/design.md#all-or-nothing-multi-locks):
 * `lockAll`, `tryLockAll`, `withLockAll` and `MultiLock` against an in-process 3-node cluster
 * with real `/client` endpoints. (An operator breaking one of a MultiLock's locks needs an
 * admin token: that case is in primitives.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  LockTimeoutError,
  MultiLock,
  NotHeldError,
  RaftlockError,
  type RaftlockClient,
} from '../../src/client/index.js';
import { waitFor } from '../../scripts/lib/wait.js';
import type { ClientCluster } from './support/client-cluster.js';
import { sdkClients } from './support/sdk-clients.js';

const { setup, client, teardown } = sdkClients();

afterEach(() => teardown());

/** Whether every node has applied `name` as free, with nobody waiting. */
function freeEverywhere(c: ClientCluster, name: string): boolean {
  return c.nodes.every((n) => {
    const info = n.service.machine.lockInfo(name);
    return info.holder === undefined && info.waiters === 0;
  });
}

/** Whether some node has applied `waiters` waiters on `name`. */
function queuedSomewhere(c: ClientCluster, name: string, waiters = 1): boolean {
  return c.nodes.some((n) => n.service.machine.lockInfo(name).waiters === waiters);
}

/** Whether `p` is still pending after a round trip to the cluster (`probe`). */
async function stillPending(p: Promise<unknown>, probe: () => Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await probe();
  await probe();
  return !settled;
}

describe('lockAll', () => {
  it('grants every name at once with one token, shown by lockInfo on each and valid for fenced writes; release frees all', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const locks = await a.lockAll(['all/c', 'all/a', 'all/b'], { waitMs: 1_000 });
    expect(locks).toBeInstanceOf(MultiLock);
    expect(locks.names).toEqual(['all/a', 'all/b', 'all/c']);
    expect(locks.fencingToken).toBeGreaterThan(0);
    expect(locks.state).toBe('held');
    expect(locks.signal.aborted).toBe(false);
    for (const name of locks.names) {
      const info = await b.lockInfo(name);
      expect(info.holder?.sessionId, name).toBe(a.sessionId);
      expect(info.holder?.fencingToken, name).toBe(locks.fencingToken);
      expect(info.waiters, name).toBe(0);
    }
    for (const name of locks.names)
      expect(await a.counter('all/n').add(1, { fence: { lock: name, token: locks.fencingToken } })).toBeGreaterThan(0);
    await locks.release();
    expect(locks.state).toBe('released');
    for (const name of locks.names) expect((await b.lockInfo(name)).holder, name).toBeUndefined();
    const err = await locks.release().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotHeldError);
    expect((err as NotHeldError).code).toBe('NOT_HELD');
    // Released for real: another client takes them, with a higher token.
    const again = await b.lockAll(['all/a', 'all/c'], { waitMs: 1_000 });
    expect(again.fencingToken).toBeGreaterThan(locks.fencingToken);
    await again.release();
  });

  it('tryLockAll: null when any of the names is held (in the cluster or in this client), and then nothing is held', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const other = await b.lock('try/2');
    expect(await a.tryLockAll(['try/1', 'try/2'])).toBeNull();
    expect(await a.lockInfo('try/1')).toEqual({ waiters: 0 });
    expect((await a.lockInfo('try/2')).holder?.sessionId).toBe(b.sessionId);
    await other.release();
    const mine = await a.lock('try/3');
    expect(await a.tryLockAll(['try/3', 'try/1'])).toBeNull(); // held inside this client
    expect(await a.lockInfo('try/1')).toEqual({ waiters: 0 });
    const got = await a.tryLockAll(['try/1', 'try/2']);
    expect(got?.names).toEqual(['try/1', 'try/2']);
    await got?.release();
    await mine.release();
  });

  it('a waiting lockAll holds none of its locks while it waits, and gets them all when the holder releases', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const first = await a.lock('wait/2');
    const waiting = b.lockAll(['wait/2', 'wait/1'], { waitMs: 30_000 });
    await waitFor('b queued on wait/2', () => queuedSomewhere(c, 'wait/2'));
    // Kept free for b (first in its queue), but not held: lockInfo shows no holder and b waiting.
    expect(await a.lockInfo('wait/1')).toEqual({ waiters: 1 });
    expect((await a.lockInfo('wait/2')).holder?.sessionId).toBe(a.sessionId);
    await first.release();
    const got = await waiting;
    expect(got.names).toEqual(['wait/1', 'wait/2']);
    expect(got.fencingToken).toBeGreaterThan(first.fencingToken);
    for (const name of got.names) expect((await a.lockInfo(name)).holder?.fencingToken).toBe(got.fencingToken);
    await got.release();
  });

  it('two clients taking the same two locks in opposite orders, 20 rounds each, never deadlock and never overlap', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    let inside = 0;
    let overlaps = 0;
    const tokens: number[] = [];
    const rounds = async (cl: RaftlockClient, names: readonly string[]): Promise<number> => {
      let done = 0;
      for (let k = 0; k < 20; k++) {
        const locks = await cl.lockAll(names, { waitMs: 30_000 });
        if (++inside > 1) overlaps++;
        tokens.push(locks.fencingToken);
        await new Promise((r) => setImmediate(r));
        inside--;
        await locks.release();
        done++;
      }
      return done;
    };
    expect(await Promise.all([rounds(a, ['dl/a', 'dl/b']), rounds(b, ['dl/b', 'dl/a'])])).toEqual([20, 20]);
    expect(overlaps).toBe(0);
    expect(new Set(tokens).size).toBe(40);
    for (const name of ['dl/a', 'dl/b']) expect(await a.lockInfo(name)).toEqual({ waiters: 0 });
  });

  it('LockTimeoutError when the wait ends ungranted; nothing is left held or queued', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const held = await a.lock('to/2');
    const err = await b.lockAll(['to/1', 'to/2'], { waitMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toBeInstanceOf(RaftlockError);
    expect((err as LockTimeoutError).code).toBe('LOCK_TIMEOUT');
    expect((err as LockTimeoutError).outcomeUnknown).toBe(false);
    expect((err as LockTimeoutError).lockName).toBe('to/1, to/2');
    expect((err as LockTimeoutError).message).toMatch(/^locks "to\/1", "to\/2" not acquired within 300 ms/);
    expect(await a.lockInfo('to/1')).toEqual({ waiters: 0 });
    expect((await a.lockInfo('to/2')).waiters).toBe(0);
    await held.release();
  });

  it('an aborted wait rejects with the signal reason, is withdrawn, and never leaves the locks held', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const first = await a.lock('ab/2');
    const ac = new AbortController();
    const waiting = b.lockAll(['ab/1', 'ab/2'], { waitMs: 60_000, signal: ac.signal }).catch((e: unknown) => e);
    await waitFor('b queued', () => queuedSomewhere(c, 'ab/1') && queuedSomewhere(c, 'ab/2'));
    ac.abort(new Error('changed my mind'));
    expect(((await waiting) as Error).message).toBe('changed my mind');
    // Withdrawn with cancel-wait, in the background: the queues empty while ab/2 is still held.
    await waitFor(
      'the wait withdrawn',
      () => freeEverywhere(c, 'ab/1') && c.nodes.every((n) => n.service.machine.lockInfo('ab/2').waiters === 0),
    );
    expect((await b.lockInfo('ab/2')).holder?.sessionId).toBe(a.sessionId);
    await first.release();
    await waitFor('both free', () => freeEverywhere(c, 'ab/1') && freeEverywhere(c, 'ab/2'));
    const again = await b.lockAll(['ab/1', 'ab/2'], { waitMs: 5_000 });
    expect(again.fencingToken).toBeGreaterThan(first.fencingToken);
    await again.release();
  });

  it('inside one client, lockAll calls on overlapping names serialize through the local gates', async () => {
    const c = await setup();
    const a = await client(c);
    const probe = await client(c);
    const first = await a.lockAll(['gate/1', 'gate/2']);
    const second = a.lockAll(['gate/3', 'gate/2'], { waitMs: 30_000 });
    // Waiting at the gate of gate/2, not in the cluster: gate/3 is neither held nor awaited.
    expect(await stillPending(second, () => probe.lockInfo('gate/3'))).toBe(true);
    expect(await probe.lockInfo('gate/3')).toEqual({ waiters: 0 });
    expect((await probe.lockInfo('gate/2')).waiters).toBe(0);
    // A single lock of one of the names waits too; a try refuses at once.
    expect(await a.tryLock('gate/1')).toBeNull();
    expect(await a.tryLockAll(['gate/2', 'gate/4'])).toBeNull();
    await first.release();
    const got = await second;
    expect(got.names).toEqual(['gate/2', 'gate/3']);
    expect(got.fencingToken).toBeGreaterThan(first.fencingToken);
    await got.release();
  });

  it('inside one client, lockAll calls whose names overlap in a cycle (a+b, b+c, c+a) never deadlock on the gates', async () => {
    const c = await setup();
    const a = await client(c);
    let inside = 0;
    let overlaps = 0;
    const rounds = async (names: readonly string[]): Promise<number> => {
      let done = 0;
      for (let k = 0; k < 20; k++) {
        await a.withLockAll(
          names,
          async () => {
            if (++inside > 1) overlaps++;
            await new Promise((r) => setImmediate(r));
            inside--;
          },
          { waitMs: 30_000 },
        );
        done++;
      }
      return done;
    };
    expect(await Promise.all([rounds(['one/b', 'one/a']), rounds(['one/c', 'one/b']), rounds(['one/a', 'one/c'])])).toEqual([20, 20, 20]);
    expect(overlaps).toBe(0);
  });

  it('a lockAll that waits at a gate past its waitMs is a LockTimeoutError, and holds nothing', async () => {
    const c = await setup();
    const a = await client(c);
    const single = await a.lock('lg/2');
    const err = await a.lockAll(['lg/1', 'lg/2'], { waitMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as Error).message).toMatch(/held inside this client/);
    expect(await a.lockInfo('lg/1')).toEqual({ waiters: 0 });
    // The gate of lg/1 was left again: it is free to take.
    const one = await a.tryLock('lg/1');
    expect(one).not.toBeNull();
    await one?.release();
    await single.release();
  });

  it('invalid names are an InvalidArgumentError naming `names`, and nothing is sent', async () => {
    const c = await setup();
    const a = await client(c);
    const bad: unknown[] = [[], Array.from({ length: 65 }, (_, k) => `n${k}`), ['x', 'x'], ['ok', ''], ['ok', 7], 'x', undefined];
    for (const names of bad) {
      for (const call of [
        () => a.lockAll(names as string[]),
        () => a.tryLockAll(names as string[]),
        () => a.withLockAll(names as string[], () => 1),
      ]) {
        const err = await call().catch((e: unknown) => e);
        expect(err, JSON.stringify(names)).toBeInstanceOf(InvalidArgumentError);
        expect(err, JSON.stringify(names)).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'names' });
      }
    }
    expect((await a.lockInfo('x')).waiters).toBe(0);
    // 64 names is the most, and is fine.
    const many = await a.lockAll(Array.from({ length: 64 }, (_, k) => `many/${String(k).padStart(2, '0')}`));
    expect(many.names).toHaveLength(64);
    await many.release();
  });

  it('withLockAll runs fn under every lock and releases them all afterwards, also when fn throws', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    const out = await a.withLockAll(
      ['with/b', 'with/a'],
      async (locks) => {
        expect(locks.names).toEqual(['with/a', 'with/b']);
        for (const name of locks.names) expect((await b.lockInfo(name)).holder?.fencingToken).toBe(locks.fencingToken);
        return 7;
      },
      { waitMs: 1_000 },
    );
    expect(out).toBe(7);
    for (const name of ['with/a', 'with/b']) expect((await b.lockInfo(name)).holder).toBeUndefined();
    await expect(
      a.withLockAll(['with/a', 'with/b'], () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    for (const name of ['with/a', 'with/b']) expect((await b.lockInfo(name)).holder).toBeUndefined();
  });

  it('`await using` releases every lock at the end of the block', async () => {
    const c = await setup();
    const a = await client(c);
    const b = await client(c);
    {
      await using locks = await a.lockAll(['using/a', 'using/b']);
      for (const name of locks.names) expect((await b.lockInfo(name)).holder?.fencingToken).toBe(locks.fencingToken);
    }
    for (const name of ['using/a', 'using/b']) expect((await b.lockInfo(name)).holder).toBeUndefined();
  });

  it('a MultiLock whose keep-alives go unacknowledged has its signal fire (LOCK_LOST)', async () => {
    const c = await setup();
    const a = await client(c, { sessionTtlMs: 2_000, timeoutMs: 3_000 });
    const locks = await a.lockAll(['lease/a', 'lease/b']);
    expect(locks.signal.aborted).toBe(false);
    for (const n of c.nodes) n.endpoint.close();
    await waitFor('the signal', () => locks.signal.aborted);
    expect(locks.signal.reason).toBeInstanceOf(RaftlockError);
    expect((locks.signal.reason as RaftlockError).code).toBe('LOCK_LOST');
    expect((locks.signal.reason as Error).message).toMatch(/^locks "lease\/a", "lease\/b": no keep-alive/);
  });
});
