/**
 * The client SDK against real node processes through leader crashes and partitions
 * (docs/testing.md#integration): exactly-once counting through SIGKILLed leaders, fenced
 * mutual exclusion under contention through failovers, FIFO waits that survive a failover, and
 * the lock-lost signal firing before anyone else is granted the lock of a cut-off holder.
 *
 * Real processes and real time: loops are bounded in count and time, deadlines are generous,
 * and only orderings and values are asserted, never durations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  connect,
  FencedError,
  LockLostError,
  LockTimeoutError,
  NotHeldError,
  RaftlockError,
  UnavailableError,
  type ConnectOptions,
  type Lock,
  type RaftlockClient,
} from '../../src/client/index.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { proxiedClient, type ProxiedClient } from './support/proxied-client.js';

let cluster: ProcessCluster | undefined;
const clients: RaftlockClient[] = [];
const proxied: ProxiedClient[] = [];

/** A 3-node cluster, with `tls` over TLS (certificates made at start; its clients use them). */
async function startCluster(tls = false): Promise<ProcessCluster> {
  cluster = await ProcessCluster.create({ nodes: 3, tickMs: 25, electionTicks: 10, ...(tls ? { tls: {} } : {}) });
  cluster.startAll();
  await cluster.waitForLeader(cluster.ids, 30_000);
  return cluster;
}

async function client(c: ProcessCluster, extra: Partial<ConnectOptions> = {}): Promise<RaftlockClient> {
  const tls = c.clientTls;
  const cl = await connect({
    endpoints: c.endpoints,
    sessionTtlMs: 10_000,
    timeoutMs: 30_000,
    ...(tls !== undefined ? { tls } : {}),
    ...extra,
  });
  clients.push(cl);
  return cl;
}

afterEach(async () => {
  for (const p of proxied.splice(0)) await p.close();
  await Promise.all(clients.splice(0).map((cl) => cl.close({ timeoutMs: 2_000 })));
  await cluster?.destroy();
  cluster = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs the current leader, waits for the two others to elect a new one, restarts it. */
async function killLeaderAndRestart(c: ProcessCluster): Promise<void> {
  const old = await c.waitForLeader(c.ids, 30_000);
  await c.kill(old.id, 'SIGKILL');
  const next = await c.waitForLeader(
    c.ids.filter((id) => id !== old.id),
    30_000,
  );
  expect(next.id).not.toBe(old.id);
  c.start(old.id);
  await c.waitForLeader(c.ids, 30_000);
}

describe('SDK through leader failover (real processes)', () => {
  /**
   * Exactly-once counting (docs/design.md#exactly-once-writes): 8 clients increment while the
   * leader is SIGKILLed and restarted 3 times. A write retried after a lost reply reuses its
   * (session, seq), so the final value lies between the acknowledged count and that plus the
   * calls whose outcome the SDK reported unknown. All increments are +1 from 0, so the k-th
   * applied increment returns k: a value returned twice would be a double application (or a
   * lost update).
   */
  it.each([
    ['', false],
    [' (over TLS)', true],
  ])(
    '8 clients increment through 3 leader kills: acked ≤ final ≤ acked + unknown, every returned value unique%s',
    async (_, tls) => {
      const c = await startCluster(tls);
      const writers = await Promise.all(Array.from({ length: 8 }, () => client(c)));
      const returned: number[] = [];
      let unknown = 0;
      const definite: unknown[] = [];
      let stop = false;
      const until = Date.now() + 120_000;
      const loops = writers.map(async (w) => {
        const ctr = w.counter('c');
        // Bounded by count and time; normally ended by `stop` once the kills are done (the count
        // bound is set high enough that slow restarts on a loaded machine do not exhaust it first).
        for (let i = 0; i < 1_500 && !stop && Date.now() < until; i++) {
          try {
            returned.push(await ctr.increment({ timeoutMs: 20_000 }));
          } catch (err) {
            if (err instanceof UnavailableError && err.outcomeUnknown) unknown++;
            else definite.push(err);
          }
          await sleep(20); // leaves CPU for the nodes
        }
      });
      try {
        await waitFor('the first increments', () => (returned.length >= 40 ? true : undefined), 30_000);
        for (let k = 1; k <= 3; k++) {
          await killLeaderAndRestart(c);
          const before = returned.length;
          await waitFor(`increments after failover ${k}`, () => (returned.length >= before + 40 ? true : undefined), 30_000);
        }
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      const final = await (await client(c)).counter('c').get();
      const acked = returned.length;
      console.log(
        `failover counting${tls ? ' over TLS' : ''}: ${acked} acknowledged, ${unknown} unknown, ${definite.length} failed, final ${final}`,
      );
      expect(definite).toEqual([]);
      expect(final).toBeGreaterThanOrEqual(acked);
      expect(final).toBeLessThanOrEqual(acked + unknown);
      expect(new Set(returned).size).toBe(acked);
      expect(Math.min(...returned)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...returned)).toBeLessThanOrEqual(final);
    },
    180_000,
  );

  /**
   * Fenced mutual exclusion under contention through failovers (docs/design.md#fencing-tokens):
   * 6 clients loop lock → write to a token-checking resource → fenced counter increment →
   * release, while the leader is killed twice. A holder writes only while its `signal` has not
   * fired (the check and the write are one synchronous step). The resource must never see two
   * holders inside at once nor a token below one it accepted; the cluster-side fence must never
   * refuse a holder whose signal had not fired; the guarded counter counts exactly the acked
   * fenced increments.
   */
  it('6 clients contend for a lock through 2 leader kills: no overlap, tokens increase, fenced writes all counted', async () => {
    const c = await startCluster();
    const holders = await Promise.all(Array.from({ length: 6 }, () => client(c)));
    const resource = new FencedResource();
    let guardedAcked = 0;
    let guardedUnknown = 0;
    let lockFailures = 0;
    const problems: string[] = [];
    let stop = false;
    const until = Date.now() + 120_000;
    const loops = holders.map(async (cl, k) => {
      for (let i = 0; i < 1_000 && !stop && Date.now() < until; i++) {
        let lock: Lock;
        try {
          lock = await cl.lock('L', { waitMs: 30_000, timeoutMs: 30_000 });
        } catch (err) {
          if (err instanceof LockTimeoutError || err instanceof UnavailableError) {
            lockFailures++;
            continue;
          }
          throw err;
        }
        resource.enter(k, lock);
        if (!lock.signal.aborted) resource.write(k, lock.fencingToken);
        if (!lock.signal.aborted) {
          try {
            await cl.counter('guarded').increment({ fence: { lock: 'L', token: lock.fencingToken }, timeoutMs: 20_000 });
            guardedAcked++;
          } catch (err) {
            if (err instanceof UnavailableError && err.outcomeUnknown) guardedUnknown++;
            else if (err instanceof FencedError) {
              // Only a holder told its lock may be lost can find it gone.
              if (!lock.signal.aborted) problems.push(`client ${k} token ${lock.fencingToken}: FENCED without its signal firing`);
            } else throw err;
          }
        }
        resource.exit(k);
        for (let r = 0; r < 5; r++) {
          try {
            await lock.release({ timeoutMs: 20_000 });
            break;
          } catch (err) {
            if (err instanceof NotHeldError) break;
            if (err instanceof UnavailableError && r < 4) continue;
            throw err;
          }
        }
      }
    });
    const looping = Promise.all(loops);
    let loopError: unknown;
    looping.catch((err: unknown) => {
      loopError = err;
      stop = true;
    });
    try {
      const progress = async (what: string, n: number): Promise<void> => {
        const before = resource.accepted.length;
        await waitFor(what, () => (loopError !== undefined || resource.accepted.length >= before + n ? true : undefined), 45_000);
      };
      await progress('the first grants', 10);
      for (let k = 1; k <= 2; k++) {
        await killLeaderAndRestart(c);
        await progress(`grants after failover ${k}`, 10);
      }
    } finally {
      stop = true;
      await looping.catch(() => {});
    }
    expect(loopError).toBeUndefined();
    const guarded = await (await client(c)).counter('guarded').get();
    console.log(
      `fenced contention: ${resource.accepted.length} grants written, ${guardedAcked} fenced increments acked (${guardedUnknown} unknown), ${lockFailures} lock calls failed, guarded ${guarded}`,
    );
    expect(resource.overlaps.length, resource.overlaps.slice(0, 3).join('\n')).toBe(0);
    expect(resource.rejected.length, JSON.stringify(resource.rejected.slice(0, 3))).toBe(0);
    expect(problems).toEqual([]);
    for (let i = 1; i < resource.accepted.length; i++) {
      expect(resource.accepted[i]?.token).toBeGreaterThan(resource.accepted[i - 1]?.token ?? Infinity);
    }
    expect(guarded).toBeGreaterThanOrEqual(guardedAcked);
    expect(guarded).toBeLessThanOrEqual(guardedAcked + guardedUnknown);
  }, 180_000);

  /**
   * FIFO through failover (docs/design.md#locks): B, C, D, E queue one after another behind A; the
   * leader is killed and restarted; when A releases, the lock passes B → C → D → E, with
   * increasing tokens. The queue lives in the replicated state and each blocked acquire is
   * retried with its (session, seq) on the new leader, so nobody loses their place.
   */
  it('waiters queued before a leader kill are granted in FIFO order after it', async () => {
    const c = await startCluster();
    const a = await client(c);
    const names = ['B', 'C', 'D', 'E'];
    const waiters = await Promise.all(names.map(() => client(c)));
    const first = await a.lock('L', { waitMs: 5_000 });
    const grants: Array<{ name: string; token: number }> = [];
    const pending: Array<Promise<void>> = [];
    for (const [k, name] of names.entries()) {
      const w = waiters[k] as RaftlockClient;
      pending.push(
        w.lock('L', { waitMs: 90_000, timeoutMs: 30_000 }).then(async (l) => {
          grants.push({ name, token: l.fencingToken });
          await l.release();
        }),
      );
      await waitFor(`${name} queued`, async () => ((await a.lockInfo('L')).waiters === k + 1 ? true : undefined), 20_000);
    }
    await killLeaderAndRestart(c);
    const info = await a.lockInfo('L');
    expect(info.holder?.fencingToken).toBe(first.fencingToken);
    expect(info.waiters).toBe(4);
    expect(grants).toEqual([]);
    await first.release({ timeoutMs: 30_000 });
    await Promise.all(pending);
    expect(grants.map((g) => g.name)).toEqual(names);
    let last = first.fencingToken;
    for (const g of grants) {
      expect(g.token).toBeGreaterThan(last);
      last = g.token;
    }
  }, 120_000);

  /**
   * Lock lost before another grant (docs/design.md#the-lock-lost-signal): holder H is cut off
   * from every node (its TCP connections stay open but carry nothing) while W waits for the
   * same lock. H's SDK counts its lease from the *sending* of its last acknowledged keep-alive
   * and fires the lock's signal a safety margin before the cluster can expire the session; the
   * cluster grants W only after expiring H. So, on one clock (this process), the signal
   * strictly precedes W's grant, and W's token is above H's.
   */
  /**
   * A release lost to an outage (UNAVAILABLE) must not leave the lock held by a live session
   * nobody will release: the SDK finishes it in the background once a leader answers. Without
   * that, the holder's keep-alives keep the lock held and the name stays blocked in the client.
   */
  it('a release that fails with UNAVAILABLE is completed in the background after the outage', async () => {
    const c = await startCluster();
    const a = await client(c);
    const b = await client(c);
    const lock = await a.lock('R', { waitMs: 5_000 });
    for (const id of c.ids) c.pause(id);
    let err: unknown;
    try {
      await lock.release({ timeoutMs: 500 });
    } catch (e) {
      err = e;
    } finally {
      for (const id of c.ids) c.resume(id);
    }
    expect(err).toBeInstanceOf(UnavailableError);
    await waitFor('the lock to be free', async () => ((await b.lockInfo('R')).holder === undefined ? true : undefined), 20_000);
    // And free inside the client too, once the background release has its answer.
    const again = await waitFor('the holder to take it again', async () => (await a.tryLock('R')) ?? undefined, 20_000);
    expect(again.fencingToken).toBeGreaterThan(lock.fencingToken);
    await again.release();
  }, 60_000);

  it("a cut-off holder's lock signal fires (LOCK_LOST) before the waiter is granted", async () => {
    const c = await startCluster();
    const h = await proxiedClient(c, { sessionTtlMs: 3_000, timeoutMs: 30_000 });
    proxied.push(h);
    const w = await client(c);
    const held = await h.client.lock('L', { waitMs: 5_000 });
    let signalAt: number | undefined;
    held.signal.addEventListener('abort', () => (signalAt = performance.now()), { once: true });
    let grantedAt: number | undefined;
    const waiting = w.lock('L', { waitMs: 30_000 }).then((l) => {
      grantedAt = performance.now();
      return l;
    });
    await waitFor('W queued', async () => ((await w.lockInfo('L')).waiters === 1 ? true : undefined), 20_000);
    expect(held.signal.aborted).toBe(false);
    h.block();
    const granted = await waiting;
    expect(grantedAt).toBeDefined();
    expect(signalAt, "H's signal had not fired when W was granted").toBeDefined();
    expect(signalAt as number).toBeLessThan(grantedAt as number);
    const reason: unknown = held.signal.reason;
    expect(reason).toBeInstanceOf(LockLostError);
    expect(reason).toBeInstanceOf(RaftlockError);
    expect((reason as LockLostError).code).toBe('LOCK_LOST');
    expect((reason as LockLostError).lockName).toBe('L');
    expect(granted.fencingToken).toBeGreaterThan(held.fencingToken);
    await granted.release();
  }, 90_000);
});

/**
 * A resource protected by fencing tokens, as a storage service would be: it refuses a token
 * below the highest it accepted. It also tracks who is inside, to see overlapping holders
 * directly (an overlap is excused only if the earlier holder's signal had fired: it was told
 * to stop).
 */
class FencedResource {
  private maxToken = 0;
  private holder: { readonly client: number; readonly lock: Lock } | undefined;
  readonly accepted: Array<{ readonly client: number; readonly token: number }> = [];
  readonly rejected: Array<{ readonly client: number; readonly token: number; readonly max: number }> = [];
  readonly overlaps: string[] = [];

  enter(client: number, lock: Lock): void {
    const h = this.holder;
    if (h !== undefined && !h.lock.signal.aborted) {
      this.overlaps.push(
        `client ${client} (token ${lock.fencingToken}) entered while client ${h.client} (token ${h.lock.fencingToken}) was inside`,
      );
    }
    this.holder = { client, lock };
  }

  write(client: number, token: number): boolean {
    if (token < this.maxToken) {
      this.rejected.push({ client, token, max: this.maxToken });
      return false;
    }
    this.maxToken = token;
    this.accepted.push({ client, token });
    return true;
  }

  exit(client: number): void {
    if (this.holder?.client === client) this.holder = undefined;
  }
}
