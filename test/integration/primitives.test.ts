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
  NotHeldError,
  type RaftlockClient,
} from '../../src/client/index.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { runCli } from './support/cli.js';

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
