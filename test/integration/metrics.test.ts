/**
 * `GET /metrics` of a live 3-node process cluster, after SDK traffic (sessions, a contended
 * lock with a waiter, try-locks, counters), passes `promtool check metrics` on every node with
 * no problem reported, and its domain metrics add up: grants at least the locks taken, the
 * waiter counted then gone, requests counted by op and code (docs/operations.md#http-endpoints).
 *
 * promtool comes with Debian's `prometheus` package (.ci/run installs it when missing). Without
 * it this test fails, saying so: a metrics page nobody checked is what this test exists to stop.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type RaftlockClient } from '../../src/client/index.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';

let cluster: ProcessCluster | undefined;
const clients: RaftlockClient[] = [];

/** Runs `promtool check metrics` on `text`: its exit status and what it printed. */
function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      "promtool is not installed: install Debian's `prometheus` package, which ships it (apt-get install -y prometheus; .ci/run does this when promtool is missing)",
    );
  }
  if (r.error !== undefined) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The samples of an exposition text, by series (`name{labels}` exactly as written). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The sum of every series of `name` whose label text contains each of `having`. */
function total(s: Map<string, number>, name: string, ...having: string[]): number {
  let sum = 0;
  for (const [series, v] of s) {
    const base = series.split('{')[0];
    if (base === name && having.every((h) => series.includes(h))) sum += v;
  }
  return sum;
}

async function scrape(c: ProcessCluster, id: number): Promise<string> {
  const res = await fetch(`http://${c.address(id)}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return res.text();
}

async function client(c: ProcessCluster): Promise<RaftlockClient> {
  const cl = await connect({ endpoints: c.endpoints, sessionTtlMs: 10_000, timeoutMs: 30_000 });
  clients.push(cl);
  return cl;
}

afterAll(async () => {
  await Promise.all(clients.splice(0).map((cl) => cl.close({ timeoutMs: 2_000 }).catch(() => {})));
  await cluster?.destroy();
  cluster = undefined;
});

describe('/metrics on a live cluster', () => {
  it('passes promtool check metrics on every node, and the domain metrics add up', { timeout: 180_000 }, async () => {
    // First, before starting anything: without promtool the test fails here, saying what to install.
    expect(promtoolCheck('').status).toBe(0);
    const c = await ProcessCluster.create({ nodes: 3 });
    cluster = c;
    c.startAll();
    await c.waitForLeader(c.ids, 30_000);

    const a = await client(c);
    const b = await client(c);
    const LOCKS_TAKEN = 5;
    const ADDS = 10;
    for (let k = 0; k < ADDS; k++) await a.counter('hits').increment();
    expect(await b.counter('hits').get()).toBe(ADDS);

    // A contended lock: b queues behind a, and is granted when a releases.
    const held = await a.lock('contended', { waitMs: 5_000 });
    const waiting = b.lock('contended', { waitMs: 60_000 });
    await waitFor(
      'a node counting the waiter',
      async () => {
        for (const id of c.ids) if (total(samples(await scrape(c, id)), 'raftlock_lock_waiters') === 1) return true;
        return undefined;
      },
      30_000,
    );
    await held.release();
    const granted = await waiting;
    await granted.release();
    // A watch counts on the node that serves it, until its client goes.
    const watch = b.watch({ prefix: 'k' });
    await watch.ready;
    await waitFor(
      'a node counting the watch',
      async () => {
        let n = 0;
        for (const id of c.ids) n += total(samples(await scrape(c, id)), 'raftlock_watches');
        return n === 1 ? true : undefined;
      },
      30_000,
    );
    for (const name of ['k1', 'k2', 'k3']) await (await a.lock(name, { waitMs: 5_000 })).release();
    await Promise.all(clients.splice(0).map((cl) => cl.close()));

    // Every node applies the same entries: wait until each has applied them all, then check.
    const pages = await waitFor(
      'every node caught up with no session, lock or waiter left',
      async () => {
        const texts = await Promise.all(c.ids.map((id) => scrape(c, id)));
        const ss = texts.map(samples);
        const applied = new Set(ss.map((s) => total(s, 'raftlock_applied_index')));
        const settled = ss.every(
          (s) =>
            total(s, 'raftlock_apply_lag_entries') === 0 &&
            total(s, 'raftlock_lock_waiters') === 0 &&
            total(s, 'raftlock_locks_held') === 0 &&
            total(s, 'raftlock_sessions_open') === 0 &&
            total(s, 'raftlock_watches') === 0,
        );
        return applied.size === 1 && settled ? texts : undefined;
      },
      30_000,
    );

    for (const [k, text] of pages.entries()) {
      const check = promtoolCheck(text);
      expect(check.output, `promtool on node ${c.ids[k]}'s /metrics`).toBe('');
      expect(check.status, `promtool exit status on node ${c.ids[k]}`).toBe(0);
    }

    const all = pages.map(samples);
    for (const s of all) {
      expect(total(s, 'raftlock_lock_grants_total')).toBeGreaterThanOrEqual(LOCKS_TAKEN);
      expect(total(s, 'raftlock_lock_wait_seconds_count', 'outcome="granted"')).toBeGreaterThanOrEqual(1);
      expect(total(s, 'raftlock_lock_hold_seconds_count')).toBeGreaterThanOrEqual(LOCKS_TAKEN);
      expect(total(s, 'raftlock_sessions_expired_total')).toBe(0);
      expect(total(s, 'raftlock_parked_acquires')).toBe(0);
      expect(total(s, 'raftlock_watch_history_indices')).toBeGreaterThan(0);
    }
    const sum = (name: string, ...having: string[]): number => all.reduce((acc, s) => acc + total(s, name, ...having), 0);
    expect(sum('raftlock_role', 'role="leader"')).toBe(1);
    // At least: an SDK retry of a write in doubt is answered (and counted) again.
    expect(sum('raftlock_client_requests_total', 'op="counter-add"', 'code="OK"')).toBeGreaterThanOrEqual(ADDS);
    expect(sum('raftlock_client_requests_total', 'op="acquire"', 'code="OK"')).toBeGreaterThanOrEqual(LOCKS_TAKEN);
    expect(sum('raftlock_client_requests_total', 'op="release"', 'code="OK"')).toBeGreaterThanOrEqual(LOCKS_TAKEN);
    expect(sum('raftlock_client_requests_total', 'op="open-session"', 'code="OK"')).toBeGreaterThanOrEqual(2);
    expect(sum('raftlock_client_requests_total', 'op="close-session"', 'code="OK"')).toBeGreaterThanOrEqual(2);
    expect(sum('raftlock_client_request_duration_seconds_count', 'op="counter-add"')).toBeGreaterThanOrEqual(ADDS);
    expect(sum('raftlock_proposal_apply_seconds_count')).toBeGreaterThanOrEqual(ADDS + LOCKS_TAKEN);
  });
});
