/**
 * The SDK against nodes that go silent or are not there, with real processes
 * (docs/design.md#routing-redirect-not-forward):
 *
 * - the leader frozen (SIGSTOP, its sockets left open): operations resume soon after the
 *   others elect a new leader, no operation fails, and the session's keep-alives go on
 *   through the failover (the lock held across it is neither lost nor signalled);
 * - the follower a client reads from frozen: the client notices the silence and moves to
 *   another node within about a second;
 * - every endpoint refused or silent: `connect()` and `raftlock counter get` fail within
 *   seconds, naming each endpoint's cause, instead of waiting out their 15 s deadline;
 * - a node that is up without a leader is waited for, not given up on.
 *
 * Real processes and real time: loops are bounded in count and time, deadlines generous, and
 * the figures measured are printed for the record.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, UnavailableError, type RaftlockClient } from '../../src/client/index.js';
import { ClusterClient } from '../../src/client/cluster-client.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { LinkProxy } from '../../scripts/lib/link-proxy.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { timed } from './support/timed.js';

const DIST_CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

let cluster: ProcessCluster | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await cluster?.destroy();
  cluster = undefined;
});

/** A 3-node cluster with the shipped timing (50 ms ticks, elections after 0.5–1 s), leader elected. */
async function startCluster(): Promise<ProcessCluster> {
  cluster = await ProcessCluster.create({ nodes: 3, tickMs: 50, electionTicks: 10 });
  cluster.startAll();
  await cluster.waitForLeader(cluster.ids, 30_000);
  return cluster;
}

/**
 * A loopback port that accepts connections and never says anything, as a frozen process's does;
 * `acceptedAt` lists when each connection came (monotonic ms).
 */
async function silentListener(): Promise<{ address: string; acceptedAt: number[] }> {
  const held: Socket[] = [];
  const acceptedAt: number[] = [];
  const server: Server = createServer((s) => {
    acceptedAt.push(performance.now());
    held.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of held) s.destroy();
        server.close(() => resolve());
      }),
  );
  const a = server.address();
  if (a === null || typeof a !== 'object') throw new Error('the silent listener has no port');
  return { address: `127.0.0.1:${a.port}`, acceptedAt };
}

describe('a silent node', () => {
  it('the leader frozen: operations resume within 2 s of the new leader, none fails, and the lock held across it stays held', async () => {
    const c = await startCluster();
    const old = await c.waitForLeader(c.ids, 30_000);
    const client: RaftlockClient = await connect({ endpoints: c.endpoints, timeoutMs: 30_000 });
    cleanups.push(() => client.close({ timeoutMs: 2_000 }));
    const lock = await client.lock('across-the-failover', { waitMs: 5_000 });
    const ctr = client.counter('liveness-ops');

    // One client doing increments one after another, each with a 10 s deadline.
    const completions: number[] = [];
    const failures: unknown[] = [];
    let stopAt = Number.POSITIVE_INFINITY;
    const worker = (async () => {
      for (let i = 0; i < 20_000 && performance.now() < stopAt; i++) {
        try {
          await ctr.increment({ timeoutMs: 10_000 });
          completions.push(performance.now());
        } catch (err) {
          failures.push(err);
        }
      }
    })();
    try {
      await waitFor('increments flowing', () => completions.length >= 20, 30_000);
      const pausedAt = performance.now();
      c.pause(old.id);
      const next = await c.waitForLeader(
        c.ids.filter((id) => id !== old.id),
        30_000,
      );
      const agreedAt = performance.now();
      expect(next.id).not.toBe(old.id);
      // Served by the new leader: the old one is frozen.
      const resumedAt = await waitFor('an increment after the new leader', () => completions.find((t) => t > agreedAt), 30_000);
      // Keep going for 7 s past the freeze: without renewals through the failover the lease
      // watchdog (ttl 10 s − margin 2 s after the last renewal before the freeze) would fire.
      stopAt = pausedAt + 7_000;
      await worker;
      const gaps = completions.slice(1).map((t, k) => t - (completions[k] as number));
      const longestGap = Math.max(...gaps);
      console.log(
        `leader frozen: new leader agreed after ${Math.round(agreedAt - pausedAt)} ms; ` +
          `first increment ${Math.round(resumedAt - agreedAt)} ms after that; ` +
          `longest stretch without an increment ${Math.round(longestGap)} ms; ${completions.length} increments, ${failures.length} failed`,
      );
      expect(resumedAt - agreedAt).toBeLessThan(2_000); // it was 6–8 s: the client stayed with the frozen node
      expect(failures).toEqual([]);
      expect(lock.signal.aborted, String(lock.signal.reason)).toBe(false);
      expect((await client.lockInfo('across-the-failover')).holder?.sessionId).toBe(client.sessionId);
      expect(await ctr.get()).toBe(completions.length); // each acknowledged exactly once, none lost
      await lock.release();
    } finally {
      stopAt = 0;
      await worker;
      c.resume(old.id);
    }
  }, 120_000);

  it('the follower a client reads from frozen: the client moves to another node within about a second', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader(c.ids, 30_000);
    const followers = c.ids.filter((id) => id !== leader.id);
    // Through proxies, to see which follower the reads go to; no member discovery, so the
    // client keeps to the two followers (reads are served by any node).
    const proxies = await Promise.all(followers.map((id) => LinkProxy.start(c.address(id), 'hold')));
    cleanups.push(async () => {
      for (const p of proxies) await p.close();
    });
    const client = new ClusterClient({ endpoints: proxies.map((p) => p.address), discoverMembers: false });
    cleanups.push(() => client.close());
    const read = () =>
      client.call({
        build: () => ({ op: 'counter-get', name: 'read-through-a-follower' }),
        write: false,
        deadline: performance.now() + 15_000,
      });

    await read();
    const before = proxies.map((p) => p.forwardedBytes);
    await read();
    const used = proxies.findIndex((p, k) => p.forwardedBytes > (before[k] as number));
    expect(used).toBeGreaterThanOrEqual(0);
    const frozen = followers[used] as number;

    const completions: number[] = [];
    let stopAt = Number.POSITIVE_INFINITY;
    const reader = (async () => {
      for (let i = 0; i < 50_000 && performance.now() < stopAt; i++) {
        await read();
        completions.push(performance.now());
      }
    })();
    try {
      await waitFor('reads flowing', () => completions.length >= 20, 30_000);
      const pausedAt = performance.now();
      c.pause(frozen);
      const resumedAt = await waitFor('a read after the freeze', () => completions.find((t) => t > pausedAt + 20), 30_000);
      stopAt = 0;
      await reader;
      console.log(`follower frozen: reads resumed on another node after ${Math.round(resumedAt - pausedAt)} ms`);
      expect(resumedAt - pausedAt).toBeLessThan(2_500); // it was 5 s: a whole attempt timeout
      const other = proxies[1 - used] as LinkProxy;
      expect(other.forwardedBytes).toBeGreaterThan(0);
    } finally {
      stopAt = 0;
      await reader.catch(() => {});
      c.resume(frozen);
    }
  }, 120_000);
});

describe('no node to be reached', () => {
  it('every endpoint refused or silent: connect() fails within 3 s, naming each endpoint and its cause', async () => {
    const [a, b] = await freePorts(2);
    const silent = (await silentListener()).address;
    const endpoints = [`127.0.0.1:${a}`, `127.0.0.1:${b}`, silent];
    // The default 15 s deadline: failing fast is not a short timeout.
    const { ms, error } = await timed(connect({ endpoints }));
    console.log(`connect() with every endpoint down failed after ${Math.round(ms)} ms: ${(error as Error).message}`);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', outcomeUnknown: false });
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${a}: connection refused`);
    expect(message).toContain(`127.0.0.1:${b}: connection refused`);
    expect(message).toContain(`${silent}: no answer within`);
    expect(message).toContain('check that the cluster is running');
    expect(ms).toBeLessThan(3_000); // it was 15 s
  }, 60_000);

  it('`raftlock counter get` with every endpoint down fails within 3 s, naming each endpoint and its cause', async () => {
    expect(existsSync(DIST_CLI), 'dist/ is missing: run `npm run build`').toBe(true);
    const [a, b] = await freePorts(2);
    const listener = await silentListener();
    const silent = listener.address;
    const endpoints = [`127.0.0.1:${a}`, `127.0.0.1:${b}`, silent].join(',');
    const started = performance.now();
    const child = spawn(process.execPath, [DIST_CLI, 'counter', 'get', 'anything', '--endpoints', endpoints], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RAFTLOCK_TOKEN: '' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const exitedAt = performance.now();
    const ms = exitedAt - started;
    // From the command's first dial (it dials every endpoint at once), so that starting Node on
    // a loaded machine does not count against the command.
    const waited = exitedAt - (listener.acceptedAt[0] ?? started);
    console.log(
      `raftlock counter get with every endpoint down exited ${String(code)} ${Math.round(waited)} ms after its first dial ` +
        `(${Math.round(ms)} ms with the process start): ${stderr.trim()}`,
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`127.0.0.1:${a}: connection refused`);
    expect(stderr).toContain(`127.0.0.1:${b}: connection refused`);
    expect(stderr).toContain(`${silent}: no answer within`);
    expect(stderr).toContain('(UNAVAILABLE)');
    expect(stderr).toContain('raftlock status');
    expect(listener.acceptedAt.length).toBeGreaterThan(0);
    expect(waited).toBeLessThan(3_000); // it was 15 s
    expect(ms).toBeLessThan(10_000); // the process start on a loaded machine included
  }, 60_000);

  it('a node that is up without a leader is waited for until the deadline, not given up on', async () => {
    cluster = await ProcessCluster.create({ nodes: 3, tickMs: 50, electionTicks: 10 });
    const c = cluster;
    c.start(1); // alone, it can never elect a leader
    await waitFor('node 1 to answer', () => c.status(1), 30_000);
    const { ms, error } = await timed(connect({ endpoints: c.endpoints, timeoutMs: 4_000 }));
    console.log(`connect() to a cluster without a leader failed after ${Math.round(ms)} ms: ${(error as Error).message}`);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain('no leader known');
    expect(ms).toBeGreaterThanOrEqual(3_900); // its whole deadline, not the 1.5 s of an unreachable cluster
  }, 60_000);
});
