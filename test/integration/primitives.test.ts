/**
 * The coordination primitives beyond plain locks and counters (docs/design.md#listing and the
 * sections after it), through the SDK and the CLI against a real 3-node cluster of
 * `raftlock start` processes with client tokens: listing, and each error code the new
 * operations can answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  connect,
  FencedError,
  InvalidArgumentError,
  LockLostError,
  LockTimeoutError,
  NotHeldError,
  type RaftlockClient,
  type Semaphore,
} from '../../src/client/index.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { CLI, runCli } from './support/cli.js';

const ADMIN = 'primitives-admin-token';
const WRITER = 'primitives-write-token';
const READER = 'primitives-read-token';

let cluster: ProcessCluster;
const clients: RaftlockClient[] = [];

async function client(token = WRITER, sessionTtlMs = 10_000): Promise<RaftlockClient> {
  const c = await connect({ endpoints: cluster.endpoints, token, timeoutMs: 10_000, sessionTtlMs });
  clients.push(c);
  return c;
}

/** `raftlock ARGS` with the cluster's endpoints and `token`; must exit `code`. */
async function cli(args: readonly string[], code = 0, token = WRITER): Promise<{ stdout: string; stderr: string }> {
  const r = await runCli(args, { RAFTLOCK_ENDPOINTS: cluster.endpoints.join(','), RAFTLOCK_TOKEN: token });
  expect(r.code, `raftlock ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  return r;
}

beforeAll(async () => {
  cluster = await ProcessCluster.create({
    nodes: 3,
    clientToken: ADMIN,
    extraTokens: [
      { name: 'writer', role: 'write', token: WRITER },
      { name: 'reader', role: 'read', token: READER },
    ],
  });
  cluster.startAll();
  await cluster.waitForLeader();
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await cluster?.destroy();
});

describe('listing', () => {
  it('SDK: pages of locks and counters by prefix and cursor; a read token may list', async () => {
    const a = await client();
    const held = await Promise.all(['list/b', 'list/a', 'list/c', 'other'].map((n) => a.lock(n, { waitMs: 1_000 })));
    for (const [name, v] of [
      ['list/x', 5],
      ['list/y', -1],
      ['list/z', 2],
    ] as const)
      await a.counter(name).set(v);
    const reader = await connect({ endpoints: cluster.endpoints, token: READER }).catch((e: unknown) => e);
    // A read token cannot open a session: connect() needs one, so read through a writer here and
    // check the role with the CLI below.
    expect(reader).toBeInstanceOf(Error);

    const first = await a.listLocks({ prefix: 'list/', limit: 2 });
    expect(first.items.map((l) => l.name)).toEqual(['list/a', 'list/b']);
    expect(first.items[0]?.holder?.sessionId).toBe(a.sessionId);
    expect(first.items[0]?.holder?.fencingToken).toBe(held[1]?.fencingToken);
    expect(first.next).toBe('list/b');
    const second = await a.listLocks({ prefix: 'list/', after: first.next, limit: 2 });
    expect(second.next).toBeUndefined();
    expect(second.items.map((x) => [x.name, x.holder?.fencingToken, x.waiters])).toEqual([['list/c', held[2]?.fencingToken, 0]]);
    expect((await a.listCounters({ prefix: 'list/' })).items).toEqual([
      { name: 'list/x', value: 5 },
      { name: 'list/y', value: -1 },
      { name: 'list/z', value: 2 },
    ]);
    expect((await a.listCounters({ prefix: 'list/', stale: true, limit: 1 })).next).toBe('list/x');
    await expect(a.listLocks({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(a.listLocks({ limit: 1001 })).rejects.toBeInstanceOf(InvalidArgumentError);
    for (const l of held) await l.release();
    expect((await a.listLocks({ prefix: 'list/' })).items).toEqual([]);
  });

  it('CLI: lock list and counter list print a table, JSON with --json, and the cursor when more follow', async () => {
    const a = await client();
    const l = await a.lock('cli-list/one');
    await a.counter('cli-list/n1').set(7);
    await a.counter('cli-list/n2').set(8);
    const locks = await cli(['lock', 'list', '--prefix', 'cli-list/'], 0, READER);
    expect(locks.stdout).toMatch(/^NAME\s+SESSION\s+TOKEN\s+EXPIRES IN\s+WAITERS\n/);
    expect(locks.stdout).toMatch(new RegExp(`cli-list/one\\s+${a.sessionId}\\s+${l.fencingToken}\\s+\\S+\\s+0`));
    const page = await cli(['counter', 'list', '--prefix', 'cli-list/', '--limit', '1'], 0, READER);
    expect(page.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^NAME\s+VALUE$/), expect.stringMatching(/^cli-list\/n1\s+7$/)]);
    expect(page.stderr).toContain('more entries follow: --after "cli-list/n1" (or --all)');
    const all = await cli(['counter', 'list', '--prefix', 'cli-list/', '--limit', '1', '--all', '--json'], 0, READER);
    expect(JSON.parse(all.stdout)).toEqual({
      items: [
        { name: 'cli-list/n1', value: 7 },
        { name: 'cli-list/n2', value: 8 },
      ],
    });
    const bad = await cli(['counter', 'list', '--limit', '0'], 1);
    expect(bad.stderr).toMatch(/--limit must be between 1 and 1000/);
    await l.release();
    expect((await cli(['lock', 'list', '--prefix', 'cli-list/'])).stdout.trim()).toBe('(no lock is held or awaited)');
  });
});

describe('forced release (break)', () => {
  it('SDK: an admin breaks a held lock; the waiter gets it with a higher token; the holder is told, fenced and refused', async () => {
    const holder = await client(WRITER, 3_000);
    const waiter = await client();
    const admin = await client(ADMIN);
    const lock = await holder.lock('brk/a');
    const waiting = waiter.lock('brk/a', { waitMs: 20_000 });
    await waitFor('the waiter to queue', async () => (await admin.lockInfo('brk/a')).waiters === 1, 10_000);
    const broken = await admin.breakLock('brk/a', { reason: 'deploy stuck' });
    expect(broken).toEqual({ status: 'broken', session: holder.sessionId, token: lock.fencingToken });
    const next = await waiting;
    expect(next.fencingToken).toBeGreaterThan(lock.fencingToken);
    // The holder's client hears of it with its next keep-alive (every TTL/3 = 1 s).
    await waitFor("the broken lock's signal", () => lock.signal.aborted, 5_000);
    const why = lock.signal.reason as LockLostError;
    expect(why).toBeInstanceOf(LockLostError);
    expect(why.message).toMatch(/broken by an operator \(reason: deploy stuck\)/);
    expect(lock.state).toBe('lost');
    await expect(holder.counter('brk/c').add(1, { fence: { lock: 'brk/a', token: lock.fencingToken } })).rejects.toBeInstanceOf(
      FencedError,
    );
    await expect(lock.release()).rejects.toBeInstanceOf(NotHeldError);
    // The holder's client is otherwise fine, and may take the lock again after the waiter.
    await next.release();
    const again = await holder.lock('brk/a', { waitMs: 5_000 });
    expect(again.fencingToken).toBeGreaterThan(next.fencingToken);
    await again.release();
  });

  it('SDK: breaking a free lock is NOT_HELD; a write token may not break (AUTH)', async () => {
    const admin = await client(ADMIN);
    const writer = await client();
    await expect(admin.breakLock('brk/free')).rejects.toBeInstanceOf(NotHeldError);
    const l = await writer.lock('brk/mine');
    const err = await writer.breakLock('brk/mine').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toMatch(/admin/);
    await expect(admin.breakLock('brk/mine', { reason: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(l.signal.aborted).toBe(false);
    await l.release();
  });

  it('CLI: lock break prints the revoked grant; a free lock is NOT_HELD; a write token is AUTH', async () => {
    const holder = await client();
    const lock = await holder.lock('brk/cli');
    await cli(['lock', 'break', 'brk/cli'], 1, WRITER).then((r) => expect(r.stderr).toMatch(/\(AUTH\);/));
    const out = await cli(['lock', 'break', 'brk/cli', '--reason', 'maintenance'], 0, ADMIN);
    expect(out.stdout.trim()).toBe(
      `broke lock "brk/cli": revoked the grant of session ${holder.sessionId} (fencing token ${lock.fencingToken}); its next waiter, if any, holds it now`,
    );
    const again = await cli(['lock', 'break', 'brk/cli', '--json'], 1, ADMIN);
    expect((JSON.parse(again.stdout) as { error: { code: string } }).error.code).toBe('NOT_HELD');
  });
});

describe('lockAll and break', () => {
  it('SDK: an admin breaks one lock of a MultiLock; its signal fires, the SDK releases the others, release() is NOT_HELD', async () => {
    const holder = await client(WRITER, 3_000);
    const waiter = await client();
    const admin = await client(ADMIN);
    const locks = await holder.lockAll(['brkall/c', 'brkall/a', 'brkall/b']);
    expect(locks.names).toEqual(['brkall/a', 'brkall/b', 'brkall/c']);
    const waiting = waiter.lock('brkall/a', { waitMs: 20_000 });
    await waitFor('the waiter to queue', async () => (await admin.lockInfo('brkall/a')).waiters === 1, 10_000);
    const broken = await admin.breakLock('brkall/b', { reason: 'rebalance' });
    expect(broken).toEqual({ status: 'broken', session: holder.sessionId, token: locks.fencingToken });
    // The holder's client hears of it with its next keep-alive (every TTL/3 = 1 s), and releases the rest.
    await waitFor("the MultiLock's signal", () => locks.signal.aborted, 5_000);
    const why = locks.signal.reason as LockLostError;
    expect(why).toBeInstanceOf(LockLostError);
    expect(why.lockName).toBe('brkall/b');
    expect(why.message).toMatch(
      /^lock "brkall\/b" of locks "brkall\/a", "brkall\/b", "brkall\/c" \(token \d+\) was broken by an operator \(reason: rebalance\)/,
    );
    expect(locks.state).toBe('lost');
    const next = await waiting;
    expect(next.fencingToken).toBeGreaterThan(locks.fencingToken);
    await waitFor('brkall/c released', async () => (await admin.lockInfo('brkall/c')).holder === undefined, 5_000);
    await expect(holder.counter('brkall/n').add(1, { fence: { lock: 'brkall/c', token: locks.fencingToken } })).rejects.toBeInstanceOf(
      FencedError,
    );
    await expect(locks.release()).rejects.toBeInstanceOf(NotHeldError);
    // The holder's client may take the locks again: its local gates were left after the release.
    await next.release();
    const again = await holder.lockAll(['brkall/a', 'brkall/b', 'brkall/c'], { waitMs: 5_000 });
    expect(again.fencingToken).toBeGreaterThan(next.fencingToken);
    await again.release();
  });

  it('SDK: withLockAll whose locks were broken meanwhile frees the rest and throws LockLostError', async () => {
    const holder = await client();
    const admin = await client(ADMIN);
    const err = await holder
      .withLockAll(['brkwith/a', 'brkwith/b'], async (locks) => {
        await admin.breakLock('brkwith/a');
        return locks.fencingToken;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockLostError);
    expect((err as LockLostError).message).toMatch(/^locks "brkwith\/a", "brkwith\/b" were lost before withLockAll released it/);
    expect((err as LockLostError).cause).toBeInstanceOf(NotHeldError);
    await waitFor('brkwith/b released', async () => (await admin.lockInfo('brkwith/b')).holder === undefined, 5_000);
    const again = await holder.lockAll(['brkwith/a', 'brkwith/b'], { waitMs: 5_000 });
    await again.release();
  });
});

// ---- semaphores and readers-writer locks (docs/design.md#semaphores-and-readers-writer-locks) ----

/** Rejects with what `p` rejects with; fails the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

/** `raftlock ARGS` with `--json` (before a `--`), which must fail with `code`; its error object. */
async function cliFails(args: readonly string[], code: string, token = WRITER): Promise<{ code: string; message: string; hint: string }> {
  const r = await cli([...args.slice(0, 2), '--json', ...args.slice(2)], 1, token);
  const error = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
  expect(error.code, r.stdout).toBe(code);
  return error;
}

describe('SDK: semaphores', () => {
  it('never more than `permits` held at once under concurrency from two clients; every acquire is granted in the end', async () => {
    const clientsOf = [await client(), await client()];
    const name = 'sem/bound';
    let held = 0;
    let most = 0;
    const samples: Array<{ holderCount: number; used: number; permits?: number }> = [];
    const work = async (c: RaftlockClient, k: number): Promise<number> => {
      const permit = await c.semaphore(name, { permits: 3 }).acquire({ waitMs: 60_000 });
      held++;
      most = Math.max(most, held);
      const info = await c.semaphore(name, { permits: 3 }).info();
      samples.push({
        holderCount: info.holderCount,
        used: info.holders.reduce((sum, h) => sum + h.weight, 0),
        ...(info.permits !== undefined ? { permits: info.permits } : {}),
      });
      await new Promise((r) => setTimeout(r, 100 + 20 * k));
      held--;
      await permit.release();
      return permit.fencingToken;
    };
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, k) => work(clientsOf[k % 2] as RaftlockClient, k)));
    expect(tokens).toHaveLength(8);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
    expect(samples).toHaveLength(8);
    for (const s of samples) {
      expect(s.permits).toBe(3);
      expect(s.holderCount).toBeGreaterThanOrEqual(1);
      expect(s.holderCount).toBeLessThanOrEqual(3);
      expect(s.used).toBeLessThanOrEqual(3);
    }
    const after = await clientsOf[0]?.semaphore(name, { permits: 3 }).info();
    expect(after).toEqual({ holders: [], holderCount: 0, waiters: 0 }); // forgotten once unused
  });

  it('strict FIFO: a heavy waiter is granted before a later light one, though the light one would fit', async () => {
    const a = await client();
    const b = await client();
    const c = await client();
    const name = 'sem/fifo';
    const sem = (x: RaftlockClient): Semaphore => x.semaphore(name, { permits: 3 });
    const first = await sem(a).acquire({ weight: 2 });
    const heavy = sem(b).acquire({ weight: 3, waitMs: 60_000 });
    await waitFor('the heavy acquire to queue', async () => (await sem(a).info()).waiters === 1, 10_000);
    const light = sem(c).acquire({ weight: 1, waitMs: 60_000 });
    await waitFor('the light acquire to queue', async () => (await sem(a).info()).waiters === 2, 10_000);
    const queued = await sem(a).info();
    expect(queued.available).toBe(1); // it would fit, but waits behind the heavy one
    expect(queued.holderCount).toBe(1);
    let lightDone = false;
    light.then(
      () => (lightDone = true),
      () => {},
    );
    await first.release();
    const h = await heavy;
    expect(h.weight).toBe(3);
    expect(h.fencingToken).toBeGreaterThan(first.fencingToken);
    const during = await sem(a).info();
    expect([during.available, during.holderCount, during.waiters]).toEqual([0, 1, 1]);
    expect(lightDone).toBe(false);
    await h.release();
    const l = await light;
    expect(l.fencingToken).toBeGreaterThan(h.fencingToken);
    await l.release();
  });

  it('one client may hold several permits of one semaphore; tryAcquire is null when none is free; a wait that runs out is LOCK_TIMEOUT', async () => {
    const a = await client();
    const sem = a.semaphore('sem/pool', { permits: 2 });
    const [p1, p2] = await Promise.all([sem.acquire(), sem.acquire()]);
    expect(p1.fencingToken).not.toBe(p2.fencingToken);
    const info = await sem.info();
    expect(info.holders.map((h) => [h.sessionId, h.fencingToken].join(':')).sort()).toEqual(
      [`${a.sessionId}:${p1.fencingToken}`, `${a.sessionId}:${p2.fencingToken}`].sort(),
    );
    expect(await sem.tryAcquire()).toBeNull();
    const err = await rejection(sem.acquire({ waitMs: 300 }));
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).lockName).toBe('sem/pool');
    expect((err as LockTimeoutError).outcomeUnknown).toBe(false);
    await p1.release();
    const p3 = await sem.tryAcquire();
    expect(p3?.fencingToken).toBeGreaterThan(p2.fencingToken);
    await p2.release();
    await p3?.release();
    await expect(p1.release()).rejects.toBeInstanceOf(NotHeldError);
  });

  it('a permit count other than the one in use is INVALID_ARGUMENT naming both; bad counts and weights are refused locally', async () => {
    const a = await client();
    const b = await client();
    const held = await a.semaphore('sem/count', { permits: 2 }).acquire();
    const err = await rejection(b.semaphore('sem/count', { permits: 5 }).acquire({ waitMs: 1_000 }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/\b2 permits\b.*\b5\b/);
    expect(() => b.semaphore('sem/count', { permits: 0 })).toThrow(InvalidArgumentError);
    const weight = await rejection(b.semaphore('sem/count', { permits: 2 }).acquire({ weight: 3 }));
    expect((weight as InvalidArgumentError).field).toBe('weight');
    await held.release();
    // Unused, it is forgotten: the next user fixes the count again.
    const again = await b.semaphore('sem/count', { permits: 5 }).acquire({ waitMs: 1_000 });
    expect((await b.semaphore('sem/count', { permits: 5 }).info()).permits).toBe(5);
    await again.release();
  });

  it('an aborted wait, and one cut by timeoutMs, are withdrawn from the queue; nothing stays granted', async () => {
    const a = await client();
    const b = await client();
    const sem = (x: RaftlockClient): Semaphore => x.semaphore('sem/abort', { permits: 1 });
    const held = await sem(a).acquire();
    const ac = new AbortController();
    const waiting = rejection(sem(b).acquire({ waitMs: 60_000, signal: ac.signal }));
    await waitFor('the acquire to queue', async () => (await sem(a).info()).waiters === 1, 10_000);
    ac.abort(new Error('stop waiting'));
    expect(((await waiting) as Error).message).toBe('stop waiting');
    await waitFor('the wait withdrawn', async () => (await sem(a).info()).waiters === 0, 10_000);
    const cut = await rejection(sem(b).acquire({ waitMs: 60_000, timeoutMs: 800 }));
    expect(cut).toBeInstanceOf(LockTimeoutError);
    expect((cut as LockTimeoutError).outcomeUnknown).toBe(true);
    await waitFor('the cut wait withdrawn', async () => (await sem(a).info()).waiters === 0, 10_000);
    await held.release();
    // Nothing of b's withdrawn acquires was left granted.
    await waitFor('the semaphore unused', async () => (await sem(a).info()).holderCount === 0, 10_000);
    const next = await sem(b).tryAcquire();
    expect(next).not.toBeNull();
    await next?.release();
  });

  it("a fenced write with a permit's fence applies while it is held, and is FENCED after its release (or from another session)", async () => {
    const a = await client();
    const b = await client();
    const permit = await a.semaphore('sem/fence', { permits: 2 }).acquire();
    expect(permit.fence).toEqual({ lock: 'sem/fence', token: permit.fencingToken, kind: 'semaphore' });
    expect(await a.counter('sem/fenced').add(1, { fence: permit.fence })).toBe(1);
    // The fence holds for the writing session only: the permits are shared, not the grant.
    await expect(b.counter('sem/fenced').add(1, { fence: permit.fence })).rejects.toBeInstanceOf(FencedError);
    // A lock of the same name is another namespace: without `kind` the fence names a lock.
    await expect(a.counter('sem/fenced').add(1, { fence: { lock: 'sem/fence', token: permit.fencingToken } })).rejects.toBeInstanceOf(
      FencedError,
    );
    await permit.release();
    await expect(a.counter('sem/fenced').add(1, { fence: permit.fence })).rejects.toBeInstanceOf(FencedError);
    expect(await a.counter('sem/fenced').get()).toBe(1);
  });

  it('info: permits, available, holders in grant order with weights, tokens and expiry, and waiters', async () => {
    const a = await client();
    const b = await client();
    const sem = (x: RaftlockClient): Semaphore => x.semaphore('sem/info', { permits: 4 });
    expect(await sem(a).info()).toEqual({ holders: [], holderCount: 0, waiters: 0 });
    const p1 = await sem(a).acquire({ weight: 3 });
    const p2 = await sem(b).acquire();
    const waiting = sem(b).acquire({ weight: 2, waitMs: 60_000 });
    await waitFor('the acquire to queue', async () => (await sem(a).info()).waiters === 1, 10_000);
    const info = await sem(a).info({ stale: false });
    expect(info).toMatchObject({ permits: 4, available: 0, holderCount: 2, waiters: 1 });
    expect(info.holders.map((h) => [h.sessionId, h.weight, h.fencingToken])).toEqual([
      [a.sessionId, 3, p1.fencingToken],
      [b.sessionId, 1, p2.fencingToken],
    ]);
    for (const h of info.holders) expect(h.expiresAt).toBeGreaterThan(h.acquiredAt);
    await p1.release();
    const p3 = await waiting;
    expect((await sem(b).info()).holders.map((h) => h.weight)).toEqual([1, 2]);
    await p2.release();
    await p3.release();
  });
});

describe('SDK: readers-writer locks', () => {
  it('readers share it; a writer waits for them and then holds it alone', async () => {
    const a = await client();
    const b = await client();
    const c = await client();
    const name = 'rw/share';
    const r1 = await a.rwLock(name).read();
    const r2 = await b.rwLock(name).read({ waitMs: 1_000 });
    expect(r1.mode).toBe('read');
    const shared = await c.rwLock(name).info();
    expect([shared.mode, shared.holderCount, shared.waiters]).toEqual(['read', 2, 0]);
    expect(shared.holders.map((h) => h.mode)).toEqual(['read', 'read']);
    expect(await c.rwLock(name).tryWrite()).toBeNull();
    const writing = c.rwLock(name).write({ waitMs: 60_000 });
    await waitFor('the writer to queue', async () => (await a.rwLock(name).info()).waiters === 1, 10_000);
    await r1.release();
    expect((await a.rwLock(name).info()).mode).toBe('read'); // r2 still reads
    await r2.release();
    const w = await writing;
    expect(w.mode).toBe('write');
    expect(w.fencingToken).toBeGreaterThan(r2.fencingToken);
    const alone = await a.rwLock(name).info();
    expect([alone.mode, alone.holderCount, alone.holders[0]?.sessionId]).toEqual(['write', 1, c.sessionId]);
    expect(await a.rwLock(name).tryRead()).toBeNull();
    await w.release();
    expect((await a.rwLock(name).info()).mode).toBe('free');
  });

  it('a waiting writer is not starved by later readers: they wait behind it', async () => {
    const a = await client();
    const b = await client();
    const c = await client();
    const name = 'rw/starve';
    const r = await a.rwLock(name).read();
    const writing = b.rwLock(name).write({ waitMs: 60_000 });
    await waitFor('the writer to queue', async () => (await a.rwLock(name).info()).waiters === 1, 10_000);
    const reading = c.rwLock(name).read({ waitMs: 60_000 });
    await waitFor('the later reader to queue', async () => (await a.rwLock(name).info()).waiters === 2, 10_000);
    expect(await c.rwLock(name).tryRead()).toBeNull(); // not even a try overtakes the writer
    let readerDone = false;
    reading.then(
      () => (readerDone = true),
      () => {},
    );
    await r.release();
    const w = await writing;
    expect(readerDone).toBe(false);
    await w.release();
    const later = await reading;
    expect(later.fencingToken).toBeGreaterThan(w.fencingToken);
    await later.release();
  });

  it("a write grant's fence applies while held; a read grant's is always FENCED", async () => {
    const a = await client();
    const name = 'rw/fence';
    const w = await a.rwLock(name).write();
    expect(w.fence).toEqual({ lock: name, token: w.fencingToken, kind: 'rwlock' });
    expect(await a.counter('rw/fenced').add(5, { fence: w.fence })).toBe(5);
    await w.release();
    await expect(a.counter('rw/fenced').add(1, { fence: w.fence })).rejects.toBeInstanceOf(FencedError);
    const r = await a.rwLock(name).read();
    await expect(a.counter('rw/fenced').add(1, { fence: r.fence })).rejects.toBeInstanceOf(FencedError);
    await r.release();
    expect(await a.counter('rw/fenced').get()).toBe(5);
  });

  it('a client that reads and asks for a write of the same lock waits for itself, until LOCK_TIMEOUT', async () => {
    const a = await client();
    const l = a.rwLock('rw/self');
    const r = await l.read();
    const err = await rejection(l.write({ waitMs: 500 }));
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as Error).message).toBe('write lock of rwlock "rw/self" not acquired within 500 ms');
    await r.release();
    await (await l.write({ waitMs: 1_000 })).release();
  });
});

describe('CLI: semaphore and rwlock', () => {
  it('semaphore acquire prints a grant handle; show lists the holder; release takes the handle back', async () => {
    const out = await cli(['semaphore', 'acquire', 'semcli/a', '--permits', '3', '--weight', '2', '--ttl', '30s']);
    const m =
      /^acquired 2 permits of semaphore "semcli\/a" \(of 3\): fencing token (\d+), session (\d+)\nheld until `raftlock semaphore release semcli\/a --session (\S+)` or for 30s/.exec(
        out.stdout,
      );
    expect(m, out.stdout).not.toBeNull();
    const [, token, session, handle] = m as unknown as [string, string, string, string];
    expect(handle).toMatch(new RegExp(`^${session}:[0-9a-f]{32}:1$`));
    const shown = await cli(['semaphore', 'show', 'semcli/a'], 0, READER);
    expect(shown.stdout).toMatch(
      /^semaphore "semcli\/a": 3 permits, 1 available; 1 holder; 0 waiting\nSESSION\s+WEIGHT\s+TOKEN\s+ACQUIRED\s+EXPIRES IN\n/,
    );
    expect(shown.stdout).toMatch(new RegExp(`\\n${session}\\s+2\\s+${token}\\s+\\S+Z\\s+\\S+\\n$`));
    const json = JSON.parse((await cli(['semaphore', 'show', 'semcli/a', '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ name: 'semcli/a', permits: 3, available: 1, holderCount: 1, waiters: 0 });
    expect(json['holders']).toEqual([expect.objectContaining({ sessionId: Number(session), fencingToken: Number(token), weight: 2 })]);
    const released = await cli(['semaphore', 'release', 'semcli/a', '--session', handle]);
    expect(released.stdout.trim()).toBe(
      `released the permits of semaphore "semcli/a" granted to session ${session} (grant 1, fencing token ${token})`,
    );
    expect((await cli(['semaphore', 'show', 'semcli/a'])).stdout.trim()).toBe(
      'semaphore "semcli/a": not in use (nobody holds or awaits it; its next user sets the permit count)',
    );
    // --json, and the handle split in two: --session ID:SECRET --grant SEQ.
    const j = JSON.parse((await cli(['semaphore', 'acquire', 'semcli/a', '--permits', '1', '--json'])).stdout) as {
      session: string;
      sessionId: number;
      grant: number;
      fencingToken: number;
      permits: number;
      weight: number;
    };
    expect(j).toMatchObject({ permits: 1, weight: 1, grant: 1 });
    const [id, secret] = j.session.split(':');
    const r = JSON.parse(
      (await cli(['semaphore', 'release', 'semcli/a', '--session', `${id}:${secret}`, '--grant', '1', '--json'])).stdout,
    ) as unknown;
    expect(r).toEqual({ name: 'semcli/a', sessionId: j.sessionId, grant: 1, fencingToken: j.fencingToken, released: true });
  }, 120_000);

  it('semaphore run gives CMD the token, exits with its code, and releases the permits', async () => {
    const script =
      'echo "token=$RAFTLOCK_FENCING_TOKEN name=$RAFTLOCK_LOCK_NAME kind=$RAFTLOCK_LOCK_KIND weight=$RAFTLOCK_PERMIT_WEIGHT"; exit 7';
    const r = await cli(['semaphore', 'run', 'semcli/run', '--permits', '2', '--weight', '2', '--', 'sh', '-c', script], 7);
    expect(r.stdout.trim()).toMatch(/^token=\d+ name=semcli\/run kind=semaphore weight=2$/);
    expect((await cli(['semaphore', 'show', 'semcli/run'])).stdout).toMatch(/not in use/);
    // While it runs, the permits are held: CMD itself sees them.
    const show = `${process.execPath} --import tsx ${CLI} semaphore show semcli/run --json`;
    const inside = await cli(['semaphore', 'run', 'semcli/run', '--permits', '2', '--', 'sh', '-c', show]);
    const info = JSON.parse(inside.stdout) as { holderCount: number; available: number };
    expect([info.holderCount, info.available]).toEqual([1, 1]);
  }, 120_000);

  it('rwlock run --read and --write hold the lock while CMD runs; rwlock show shows it', async () => {
    const show = `${process.execPath} --import tsx ${CLI} rwlock show rwcli/run`;
    const read = await cli(
      ['rwlock', 'run', 'rwcli/run', '--read', '--', 'sh', '-c', `echo "mode=$RAFTLOCK_RWLOCK_MODE"; ${show}; exit 3`],
      3,
    );
    expect(read.stdout).toMatch(/^mode=read\nrwlock "rwcli\/run": held for reading by 1 holder; 0 waiting\nSESSION\s+MODE\s+TOKEN/);
    expect(read.stdout).toMatch(/\n\d+\s+read\s+\d+\s/);
    const write = await cli(['rwlock', 'run', 'rwcli/run', '--write', '--', 'sh', '-c', `${show} --json`]);
    const info = JSON.parse(write.stdout) as { mode: string; holders: Array<{ mode: string }> };
    expect(info.mode).toBe('write');
    expect(info.holders.map((h) => h.mode)).toEqual(['write']);
    expect(JSON.parse((await cli(['rwlock', 'show', 'rwcli/run', '--json'], 0, READER)).stdout)).toEqual({
      name: 'rwcli/run',
      mode: 'free',
      holderCount: 0,
      waiters: 0,
      holders: [],
    });
    expect((await cli(['rwlock', 'show', 'rwcli/run'])).stdout.trim()).toBe('rwlock "rwcli/run": free; 0 waiting');
  }, 120_000);

  it('each error these commands answer: INVALID_ARGUMENT, LOCK_TIMEOUT, NOT_HELD, AUTH', async () => {
    const a = await client();
    const held = await a.semaphore('semcli/err', { permits: 1 }).acquire();
    // INVALID_ARGUMENT: another permit count than the one in use (the cluster), a weight above the count (the CLI).
    const count = await cliFails(['semaphore', 'acquire', 'semcli/err', '--permits', '4'], 'INVALID_ARGUMENT');
    expect(count.message).toMatch(/1 permits while it is in use; this acquire says 4/);
    expect(count.hint).toMatch(/raftlock semaphore show NAME/);
    const weight = await cliFails(['semaphore', 'acquire', 'semcli/err', '--permits', '1', '--weight', '2'], 'INVALID_ARGUMENT');
    expect(weight.message).toMatch(/--weight 2 is more than the semaphore's 1 permits/);
    await cliFails(['semaphore', 'run', 'semcli/err', '--permits', '1', '--weight', '0', '--', 'true'], 'INVALID_ARGUMENT');
    await cliFails(['rwlock', 'run', 'rwcli/err', '--', 'true'], 'INVALID_ARGUMENT');
    // LOCK_TIMEOUT: no permit free within --wait (detached and run alike); CMD never starts.
    const timeout = await cliFails(['semaphore', 'acquire', 'semcli/err', '--permits', '1', '--wait', '300ms'], 'LOCK_TIMEOUT');
    expect(timeout.hint).toMatch(/raftlock semaphore show NAME/);
    const run = await cli(['semaphore', 'run', 'semcli/err', '--permits', '1', '--wait', '300ms', '--', 'sh', '-c', 'echo ran'], 1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/\(LOCK_TIMEOUT\); wait longer/);
    const reader = await a.rwLock('rwcli/err').read();
    const rw = await cli(['rwlock', 'run', 'rwcli/err', '--write', '--wait', '300ms', '--', 'sh', '-c', 'echo ran'], 1);
    expect(rw.stdout).toBe('');
    expect(rw.stderr).toMatch(/\(LOCK_TIMEOUT\); wait longer \(--wait\) or see the holders and waiters with `raftlock rwlock show NAME`/);
    await reader.release();
    await held.release();
    // NOT_HELD: a grant the session does not hold (a wrong SEQ, another session's handle, a release twice).
    const mine = JSON.parse((await cli(['semaphore', 'acquire', 'semcli/err', '--permits', '1', '--json'])).stdout) as { session: string };
    const other = JSON.parse((await cli(['semaphore', 'acquire', 'semcli/other', '--permits', '1', '--json'])).stdout) as {
      session: string;
    };
    await cliFails(['semaphore', 'release', 'semcli/err', '--session', mine.session.replace(/:1$/, ':2')], 'NOT_HELD');
    const wrong = await cliFails(['semaphore', 'release', 'semcli/err', '--session', other.session], 'NOT_HELD');
    expect(wrong.hint).toMatch(/ID:SECRET:SEQ that `raftlock semaphore acquire` printed/);
    await cli(['semaphore', 'release', 'semcli/err', '--session', mine.session]);
    await cliFails(['semaphore', 'release', 'semcli/err', '--session', mine.session], 'NOT_HELD');
    // AUTH: a wrong secret for the session; a read token for a write.
    const [id] = other.session.split(':');
    const forged = await cliFails(['semaphore', 'release', 'semcli/other', '--session', `${id}:${'0'.repeat(32)}:1`], 'AUTH');
    expect(forged.message).toMatch(/wrong secret/);
    await cliFails(['semaphore', 'acquire', 'semcli/auth', '--permits', '1'], 'AUTH', READER);
    await cliFails(['semaphore', 'release', 'semcli/other', '--session', other.session], 'AUTH', READER);
    await cliFails(['semaphore', 'run', 'semcli/auth', '--permits', '1', '--', 'true'], 'AUTH', READER);
    await cliFails(['rwlock', 'run', 'rwcli/auth', '--read', '--', 'true'], 'AUTH', READER);
    await cli(['semaphore', 'release', 'semcli/other', '--session', other.session]);
  }, 120_000);
});
