/**
 * Every error code of the SDK contract provoked through the SDK
 * against a real 3-node process cluster, one test per code, each asserting the error's class
 * (and `RaftlockError`) and its stable `code`. The tests are generated from
 * `RAFTLOCK_ERROR_CODES`, and a `Record` keyed by the code type plus a final check make a new
 * code without a test fail (at type check and at run time).
 *
 * One cluster serves every test (client token required, at most one waiter per lock, a snapshot
 * every 20 entries for COMPACTED). Elections are slow-ish (50 ms ticks, 20 ticks) so that a
 * loaded machine does not change leaders under the partition tests. The UNAVAILABLE test freezes
 * every node and runs last.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  CompactedError,
  connect,
  FencedError,
  InvalidArgumentError,
  LimitExceededError,
  LockLostError,
  LockTimeoutError,
  NotHeldError,
  OverflowError,
  RAFTLOCK_ERROR_CODES,
  RaftlockError,
  SessionExpiredError,
  UnavailableError,
  type ConnectOptions,
  type RaftlockClient,
  type RaftlockErrorCode,
} from '../../src/client/index.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { proxiedClient, type ProxiedClient } from './support/proxied-client.js';

const TOKEN = 'sdk-errors-client-token';
let cluster: ProcessCluster;
const clients: RaftlockClient[] = [];
const proxied: ProxiedClient[] = [];
/** Codes actually observed with the right class. */
const covered = new Set<RaftlockErrorCode>();

beforeAll(async () => {
  cluster = await ProcessCluster.create({
    nodes: 3,
    tickMs: 50,
    electionTicks: 20,
    clientToken: TOKEN,
    limits: { maxWaitersPerLock: 1 },
    snapshotEvery: 20,
  });
  cluster.startAll();
  await cluster.waitForLeader(cluster.ids, 30_000);
}, 60_000);

afterEach(async () => {
  for (const p of proxied.splice(0)) await p.close();
  await Promise.all(clients.splice(0).map((cl) => cl.close({ timeoutMs: 2_000 })));
});

afterAll(async () => {
  await cluster?.destroy();
});

async function client(extra: Partial<ConnectOptions> = {}): Promise<RaftlockClient> {
  const cl = await connect({ endpoints: cluster.endpoints, token: TOKEN, sessionTtlMs: 10_000, timeoutMs: 30_000, ...extra });
  clients.push(cl);
  return cl;
}

/** A client reaching the cluster only through proxies that a test can block (a partition). */
async function cutOffable(sessionTtlMs: number): Promise<ProxiedClient> {
  const p = await proxiedClient(cluster, { token: TOKEN, sessionTtlMs, timeoutMs: 30_000 });
  proxied.push(p);
  return p;
}

/** Asserts `err` is a `cls` with `code`, records the code as covered, returns it typed. */
function expectError<T extends RaftlockError>(err: unknown, cls: abstract new (...args: never[]) => T, code: RaftlockErrorCode): T {
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(RaftlockError);
  expect((err as T).code).toBe(code);
  covered.add(code);
  return err as T;
}

const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    (v) => ({ notAnError: v }),
    (e: unknown) => e,
  );

/** Waits until the cluster has dropped the holder of `lock` (its session expired). */
async function waitHolderGone(observer: RaftlockClient, lock: string): Promise<void> {
  await waitFor(
    `the cluster to expire the holder of ${lock}`,
    async () => ((await observer.lockInfo(lock)).holder === undefined ? true : undefined),
    30_000,
  );
}

const cases: Record<RaftlockErrorCode, () => Promise<void>> = {
  /** A wait that ends ungranted. */
  LOCK_TIMEOUT: async () => {
    const a = await client();
    const b = await client();
    const held = await a.lock('lt', { waitMs: 5_000 });
    const err = expectError(await failure(b.lock('lt', { waitMs: 300 })), LockTimeoutError, 'LOCK_TIMEOUT');
    expect(err.lockName).toBe('lt');
    expect((await b.lockInfo('lt')).holder?.fencingToken).toBe(held.fencingToken);
    await held.release();
  },

  /** Releasing a lock twice. */
  NOT_HELD: async () => {
    const a = await client();
    const lock = await a.lock('nh', { waitMs: 5_000 });
    await lock.release();
    expectError(await failure(lock.release()), NotHeldError, 'NOT_HELD');
    expect(lock.state).toBe('released');
  },

  /**
   * A write in flight while its client is cut off past the session TTL. Blocked, the write
   * cannot reach any node (its connections carry nothing, new ones are held); the cluster
   * expires the session (seen as the holder of a marker lock disappearing); once unblocked the
   * write — still carrying the old session — reaches the leader, which answers SESSION_EXPIRED.
   * Not applied; the SDK opens a new session for the next call.
   */
  SESSION_EXPIRED: async () => {
    const h = await cutOffable(2_000);
    const observer = await client();
    const marker = await h.client.lock('se-marker', { waitMs: 5_000 });
    const oldSession = h.client.sessionId;
    h.block();
    const write = failure(h.client.counter('se').increment({ timeoutMs: 60_000 }));
    await waitHolderGone(observer, 'se-marker');
    h.unblock();
    expectError(await write, SessionExpiredError, 'SESSION_EXPIRED');
    expect(await observer.counter('se').get()).toBe(0);
    expect(marker.signal.aborted).toBe(true);
    expect(await h.client.counter('se').increment()).toBe(1);
    expect(h.client.sessionId).not.toBe(oldSession);
    // A lock lost with its session cannot be released: NOT_HELD, as for any lock not held.
    expect(await failure(marker.release())).toBeInstanceOf(NotHeldError);
  },

  /**
   * A holder cut off from the cluster: its lock's signal fires with LockLostError before the
   * lease could end; withLock, whose release then finds the session gone, throws LockLostError.
   */
  LOCK_LOST: async () => {
    const h = await cutOffable(2_000);
    const observer = await client();
    let reason: unknown;
    const out = await failure(
      h.client.withLock(
        'll',
        async (lock) => {
          h.block();
          await waitFor('the lock signal', () => (lock.signal.aborted ? true : undefined), 30_000);
          reason = lock.signal.reason;
          await waitHolderGone(observer, 'll');
          h.unblock();
          return 'done';
        },
        { waitMs: 5_000 },
      ),
    );
    expect(expectError(reason, LockLostError, 'LOCK_LOST').lockName).toBe('ll');
    expect(expectError(out, LockLostError, 'LOCK_LOST').lockName).toBe('ll');
  },

  /** A fenced write with a token that no longer holds the lock (released, or never issued). */
  FENCED: async () => {
    const a = await client();
    const ctr = a.counter('fenced');
    const lock = await a.lock('lf', { waitMs: 5_000 });
    expect(await ctr.add(1, { fence: { lock: 'lf', token: lock.fencingToken } })).toBe(1);
    expectError(await failure(ctr.add(1, { fence: { lock: 'lf', token: lock.fencingToken + 1 } })), FencedError, 'FENCED');
    await lock.release();
    expectError(await failure(ctr.add(1, { fence: { lock: 'lf', token: lock.fencingToken } })), FencedError, 'FENCED');
    expect(await ctr.get()).toBe(1);
  },

  /**
   * No node answers. Nothing listening: connect() fails, nothing was sent. Every node frozen
   * (SIGSTOP, connections open): a write delivered to the frozen leader times out with
   * outcomeUnknown true — and after the thaw it has taken effect at most once; a read times
   * out with outcomeUnknown false.
   */
  UNAVAILABLE: async () => {
    const [port] = await freePorts(1);
    const nobody = expectError(
      await failure(connect({ endpoints: [`127.0.0.1:${port}`], timeoutMs: 1_000, connectTimeoutMs: 200 })),
      UnavailableError,
      'UNAVAILABLE',
    );
    expect(nobody.outcomeUnknown).toBe(false);

    const a = await client();
    const ctr = a.counter('unavailable');
    expect(await ctr.increment()).toBe(1);
    for (const id of cluster.ids) cluster.pause(id);
    let read: unknown;
    let write: unknown;
    try {
      // The write first, while the connection to the leader is surely open (the increment
      // above just used it): after a timed-out attempt the SDK may move on to another node,
      // and a connection to a frozen node never opens, so nothing could be delivered.
      write = await failure(ctr.increment({ timeoutMs: 1_500 }));
      read = await failure(ctr.get({ timeoutMs: 1_500 }));
    } finally {
      for (const id of cluster.ids) cluster.resume(id);
    }
    const readErr = expectError(read, UnavailableError, 'UNAVAILABLE');
    expect(readErr.outcomeUnknown, readErr.message).toBe(false);
    const writeErr = expectError(write, UnavailableError, 'UNAVAILABLE');
    expect(writeErr.outcomeUnknown, writeErr.message).toBe(true);
    await cluster.waitForLeader(cluster.ids, 30_000);
    expect([1, 2]).toContain(await ctr.get());
  },

  /** Empty and oversize names (checked by the cluster), a non-integer delta (by the SDK). */
  INVALID_ARGUMENT: async () => {
    const a = await client();
    expectError(await failure(a.counter('').add(1)), InvalidArgumentError, 'INVALID_ARGUMENT');
    expectError(await failure(a.counter('x'.repeat(257)).add(1)), InvalidArgumentError, 'INVALID_ARGUMENT');
    // 129 two-byte characters: 258 UTF-8 bytes, though only 129 UTF-16 units.
    expectError(await failure(a.counter('é'.repeat(129)).add(1)), InvalidArgumentError, 'INVALID_ARGUMENT');
    expectError(await failure(a.counter('x').add(1.5)), InvalidArgumentError, 'INVALID_ARGUMENT');
    expectError(await failure(a.lock('', { waitMs: 0 })), InvalidArgumentError, 'INVALID_ARGUMENT');
    expectError(await failure(a.lockInfo('')), InvalidArgumentError, 'INVALID_ARGUMENT');
    // A name of exactly 256 bytes is fine, and nothing above changed any state.
    expect(await a.counter('x'.repeat(256)).add(1)).toBe(1);
    expect(await a.counter('x').get()).toBe(0);
  },

  /** A second waiter on a lock of a cluster configured with maxWaitersPerLock 1. */
  LIMIT_EXCEEDED: async () => {
    const [a, b, c] = [await client(), await client(), await client()];
    const held = await a.lock('lx', { waitMs: 5_000 });
    const waiting = b.lock('lx', { waitMs: 30_000 });
    await waitFor('b queued', async () => ((await a.lockInfo('lx')).waiters === 1 ? true : undefined), 20_000);
    expectError(await failure(c.lock('lx', { waitMs: 30_000 })), LimitExceededError, 'LIMIT_EXCEEDED');
    await held.release();
    const second = await waiting;
    expect(second.fencingToken).toBeGreaterThan(held.fencingToken);
    await second.release();
  },

  /** Adding beyond ±(2^53 − 1): refused, value unchanged. */
  OVERFLOW: async () => {
    const a = await client();
    const ctr = a.counter('big');
    await ctr.set(Number.MAX_SAFE_INTEGER);
    expectError(await failure(ctr.add(1)), OverflowError, 'OVERFLOW');
    expect(await ctr.get()).toBe(Number.MAX_SAFE_INTEGER);
    await ctr.set(Number.MIN_SAFE_INTEGER);
    expectError(await failure(ctr.decrement()), OverflowError, 'OVERFLOW');
    expect(await ctr.get()).toBe(Number.MIN_SAFE_INTEGER);
  },

  /**
   * A watch from an index no node keeps events for: every node restarted, restoring its latest
   * snapshot, so its history starts after it. Refused with the index to resync from, from which
   * a watch then starts.
   */
  COMPACTED: async () => {
    const a = await client();
    for (let k = 0; k < 30; k++) await a.counter('compacted').increment();
    for (const id of cluster.ids) {
      await cluster.restart(id);
      await cluster.waitForLeader(cluster.ids, 30_000);
    }
    const err = expectError(await failure(a.watch({ fromIndex: 1 }).next()), CompactedError, 'COMPACTED');
    expect(err.resyncFrom).toBeGreaterThan(1);
    const again = a.watch({ fromIndex: err.resyncFrom });
    expect(await again.ready).toBe(err.resyncFrom);
    await again.return();
  },

  /** A cluster with a client token refuses a wrong token and a missing one. */
  AUTH: async () => {
    const opts = { endpoints: cluster.endpoints, timeoutMs: 10_000 };
    expectError(await failure(connect({ ...opts, token: 'not-the-right-token' })), AuthError, 'AUTH');
    expectError(await failure(connect(opts)), AuthError, 'AUTH');
  },
};

/** UNAVAILABLE freezes the cluster: run it last. */
const ORDER = [...RAFTLOCK_ERROR_CODES].sort((x, y) => Number(x === 'UNAVAILABLE') - Number(y === 'UNAVAILABLE'));

describe('SDK error codes against a real cluster', () => {
  for (const code of ORDER) {
    it(`${code}`, async () => {
      const run = cases[code];
      expect(run, `no test for ${code}`).toBeTypeOf('function');
      await run();
      expect(covered.has(code)).toBe(true);
    }, 90_000);
  }

  it('every code of RAFTLOCK_ERROR_CODES has a test and was provoked (run the whole file)', () => {
    expect(Object.keys(cases).sort()).toEqual([...RAFTLOCK_ERROR_CODES].sort());
    expect([...covered].sort()).toEqual([...RAFTLOCK_ERROR_CODES].sort());
  });
});
