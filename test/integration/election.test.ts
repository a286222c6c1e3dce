/**
 * Leader elections against a real 3-node cluster of `raftlock start` processes
 * (docs/design.md#leader-elections): the SDK's campaign, leader, observe, proclaim and resign;
 * failover with real processes (a leader's client process and the cluster's leader node killed
 * with SIGKILL: a waiting candidate leads within TTL + election time, and a leader cut off from
 * the cluster sees its signal fire before the next leader is elected, both timed on this test's
 * one clock from the children's reports); and the CLI's `elect -- CMD` (CMD stopped when the
 * leadership is lost), `elect show` and `elect observe`.
 *
 * Real processes and real time: deadlines are generous, and only orders and bounds far above
 * what the contract needs are asserted. The leader children run the built SDK (`npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  FencedError,
  InvalidArgumentError,
  LockTimeoutError,
  NotHeldError,
  type ConnectOptions,
  type LeaderChange,
  type RaftlockClient,
} from '../../src/client/index.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { CLI, REPO, runCli } from './support/cli.js';

const DIST_CLIENT = fileURLToPath(new URL('../../dist/client/index.js', import.meta.url));
/** The session TTL of the failover tests' leaders and candidates. */
const TTL_MS = 3_000;

let cluster: ProcessCluster;
const clients: RaftlockClient[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, tickMs: 25, electionTicks: 10 });
  cluster.startAll();
  await cluster.waitForLeader(cluster.ids, 30_000);
}, 60_000);

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(clients.splice(0).map((c) => c.close({ timeoutMs: 2_000 })));
  // A test may have stopped or frozen nodes: every node runs again before the next one.
  for (const id of cluster.ids) {
    if (cluster.isPaused(id)) cluster.resume(id);
    if (!cluster.isRunning(id)) cluster.start(id);
  }
  await cluster.waitForLeader(cluster.ids, 30_000);
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

async function client(extra: Partial<ConnectOptions> = {}): Promise<RaftlockClient> {
  const c = await connect({ endpoints: cluster.endpoints, sessionTtlMs: 10_000, timeoutMs: 30_000, ...extra });
  clients.push(c);
  return c;
}

/** The lines a child printed, each stamped on this process's clock as it arrived. */
class Lines {
  readonly seen: Array<{ readonly line: string; readonly at: number }> = [];
  private rest = '';

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      const at = performance.now();
      const parts = (this.rest + d).split('\n');
      this.rest = parts.pop() ?? '';
      for (const line of parts) this.seen.push({ line, at });
    });
  }

  /** The first line matching `re` (waiting up to `timeoutMs` for it). */
  async wait(re: RegExp, timeoutMs = 30_000): Promise<{ readonly line: string; readonly at: number; readonly match: RegExpExecArray }> {
    return waitFor(
      `a line matching ${String(re)} (so far: ${JSON.stringify(this.seen.map((s) => s.line).slice(-5))})`,
      () => {
        for (const s of this.seen) {
          const match = re.exec(s.line);
          if (match !== null) return { ...s, match };
        }
        return undefined;
      },
      timeoutMs,
    );
  }
}

/**
 * A child process that campaigns in `name` with `value` through the built SDK, reaching the
 * cluster only at `endpoints`, and reports on stdout: `leader TOKEN` once elected, `lost MESSAGE`
 * when its leadership's signal fires. It stays alive until killed.
 */
function leaderChild(endpoints: readonly string[], name: string, value: string): { child: ChildProcess; out: Lines; err: Lines } {
  const script = `
    import { connect } from ${JSON.stringify(DIST_CLIENT)};
    const client = await connect({ endpoints: ${JSON.stringify(endpoints)}, sessionTtlMs: ${TTL_MS}, timeoutMs: 60000, discoverMembers: false });
    const leadership = await client.election(${JSON.stringify(name)}).campaign(${JSON.stringify(value)});
    console.log('leader ' + leadership.token);
    leadership.signal.addEventListener('abort', () => console.log('lost ' + leadership.signal.reason.message));
    setInterval(() => {}, 60000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return { child, out: new Lines(child.stdout as NodeJS.ReadableStream), err: new Lines(child.stderr as NodeJS.ReadableStream) };
}

/** Candidates waiting in `name`, as the cluster says. */
async function candidates(observer: RaftlockClient, name: string): Promise<number> {
  return (await observer.election(name).info()).candidates;
}

describe('SDK: campaign, leader, observe, proclaim, resign', () => {
  it('one leader at a time, FIFO candidates, tokens strictly increasing, fenced writes, observed in order', async () => {
    const [a, b, o] = [await client(), await client(), await client()];
    const election = a.election('sdk');
    expect(await election.leader()).toBeNull();
    const observed: LeaderChange[] = [];
    const ac = new AbortController();
    const observing = (async () => {
      for await (const change of o.election('sdk').observe({ signal: ac.signal })) observed.push(change);
    })().catch((err: unknown) => err);
    await waitFor('the first observation', () => observed.length >= 1 || undefined, 20_000);

    const la = await election.campaign('host-a');
    expect(await o.election('sdk').leader()).toEqual({ sessionId: a.sessionId, token: la.token, value: 'host-a' });
    // A second campaign of the same client waits here, locally; b waits in the cluster's queue.
    await expect(a.election('sdk').campaign('again', { waitMs: 200 })).rejects.toBeInstanceOf(LockTimeoutError);
    const bWins = b.election('sdk').campaign('host-b');
    await waitFor('b queued', async () => ((await candidates(o, 'sdk')) === 1 ? true : undefined), 20_000);

    expect(await a.counter('sdk-fenced').increment({ fence: la.fence })).toBe(1);
    await la.proclaim('host-a2');
    expect((await o.election('sdk').info()).leader?.value).toBe('host-a2');
    await la.resign();
    const lb = await bWins;
    expect(lb.token).toBeGreaterThan(la.token);
    await expect(a.counter('sdk-fenced').increment({ fence: la.fence })).rejects.toBeInstanceOf(FencedError);
    await expect(la.proclaim('late')).rejects.toBeInstanceOf(NotHeldError);
    await expect(la.resign()).rejects.toBeInstanceOf(NotHeldError);
    await expect(b.election('sdk').campaign('x'.repeat(1025))).rejects.toBeInstanceOf(InvalidArgumentError);
    await lb.resign();
    await waitFor('every change observed', () => observed.length >= 5 || undefined, 20_000);
    ac.abort(new Error('done'));
    await observing;
    expect(observed.map((c) => c.leader?.value ?? null)).toEqual([null, 'host-a', 'host-a2', 'host-b', null]);
    const indices = observed.map((c) => c.index);
    expect([...indices].sort((x, y) => x - y)).toEqual(indices);
    expect(observed[1]?.leader?.token).toBe(la.token);
    expect(observed[3]?.leader?.token).toBe(lb.token);
  }, 60_000);
});

describe('failover with real processes', () => {
  it('a leader cut off from the cluster sees its signal fire before the next leader is elected; a killed leader process is replaced within TTL + election time', async () => {
    expect(existsSync(DIST_CLIENT), 'dist/ is missing: run `npm run build`').toBe(true);
    const observer = await client();
    const changes: LeaderChange[] = [];
    const ac = new AbortController();
    const observing = (async () => {
      for await (const change of observer.election('fo').observe({ signal: ac.signal })) changes.push(change);
    })().catch((err: unknown) => err);

    // Round 1: the leader's process reaches the cluster only through the cluster's leader node,
    // which is SIGKILLed: cut off, its lease lapses.
    const node = await cluster.waitForLeader(cluster.ids, 30_000);
    const a = leaderChild([cluster.address(node.id)], 'fo', 'A');
    const tokenA = Number((await a.out.wait(/^leader (\d+)$/)).match[1]);
    const b = await client({ sessionTtlMs: TTL_MS });
    let grantedB = 0;
    const bWins = b
      .election('fo')
      .campaign('B')
      .then((l) => {
        grantedB = performance.now();
        return l;
      });
    await waitFor('B queued', async () => ((await candidates(observer, 'fo')) === 1 ? true : undefined), 20_000);
    const killedNode = performance.now();
    await cluster.kill(node.id, 'SIGKILL');
    const lost = await a.out.wait(/^lost /, 60_000);
    const lb = await bWins;
    expect(lost.at, `A's signal (${lost.line}) fired before B was elected`).toBeLessThan(grantedB);
    expect(lb.token).toBeGreaterThan(tokenA);
    // Within TTL + election time (generously: a lease may be extended by one TTL at the new leader's first entry).
    expect(grantedB - killedNode).toBeLessThan(3 * TTL_MS + 10_000);
    cluster.start(node.id);
    await cluster.waitForLeader(cluster.ids, 30_000);

    // Round 2: a leader's client process and the cluster's leader node, both SIGKILLed at once.
    const c = leaderChild(cluster.endpoints, 'fo', 'C');
    await waitFor('C queued', async () => ((await candidates(observer, 'fo')) === 1 ? true : undefined), 20_000);
    await lb.resign();
    const tokenC = Number((await c.out.wait(/^leader (\d+)$/)).match[1]);
    expect(tokenC).toBeGreaterThan(lb.token);
    const d = await client({ sessionTtlMs: TTL_MS });
    const dWins = d.election('fo').campaign('D');
    await waitFor('D queued', async () => ((await candidates(observer, 'fo')) === 1 ? true : undefined), 20_000);
    const leaderNode = await cluster.waitForLeader(cluster.ids, 30_000);
    const killed = performance.now();
    c.child.kill('SIGKILL');
    await cluster.kill(leaderNode.id, 'SIGKILL');
    const ld = await dWins;
    expect(performance.now() - killed).toBeLessThan(3 * TTL_MS + 10_000);
    expect(ld.token).toBeGreaterThan(tokenC);
    expect(await observer.election('fo').leader()).toEqual({ sessionId: d.sessionId, token: ld.token, value: 'D' });

    // The observer rode out both node kills: every leader once, in order, tokens strictly increasing.
    await waitFor('D observed', () => (changes.some((ch) => ch.leader?.value === 'D') ? true : undefined), 30_000);
    ac.abort(new Error('done'));
    await observing;
    const leaders = changes.flatMap((ch) => (ch.leader === null ? [] : [ch.leader]));
    expect(leaders.map((l) => l.value)).toEqual(['A', 'B', 'C', 'D']);
    const tokens = leaders.map((l) => l.token);
    expect(tokens).toEqual([tokenA, lb.token, tokenC, ld.token]);
    await ld.resign();
  }, 180_000);
});

describe('CLI: elect', () => {
  const env = (): NodeJS.ProcessEnv => ({ RAFTLOCK_ENDPOINTS: cluster.endpoints.join(',') });

  it('elect -- CMD runs CMD as leader with the token and value, and exits with its code; elect show prints the leader', async () => {
    const r = await runCli(
      [
        'elect',
        'cli-run',
        '--value',
        'worker-1',
        '--',
        'sh',
        '-c',
        `echo "leading as $RAFTLOCK_ELECTION_VALUE with token $RAFTLOCK_FENCING_TOKEN ($RAFTLOCK_LOCK_KIND)"; node --import tsx ${CLI} elect show cli-run; exit 4`,
      ],
      env(),
    );
    expect(r.code, r.stderr).toBe(4);
    const [first, show] = r.stdout.trim().split('\n');
    expect(first).toMatch(/^leading as worker-1 with token \d+ \(election\)$/);
    const token = /token (\d+)/.exec(first ?? '')?.[1];
    expect(show).toMatch(
      new RegExp(
        `^election "cli-run": led by session \\d+ with value "worker-1" and fencing token ${token} since \\S+; expires \\S+ \\(in [\\d.]+s\\) unless renewed; 0 candidates waiting$`,
      ),
    );
    const after = await runCli(['elect', 'show', 'cli-run', '--json'], env());
    expect(JSON.parse(after.stdout)).toEqual({ name: 'cli-run', leader: null, candidates: 0 });
    const bad = await runCli(['elect', 'cli-run', '--value', 'x'.repeat(1025), '--', 'true'], env());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--value is 1025 characters long; at most 1024 \(INVALID_ARGUMENT\)/);
  }, 60_000);

  it('elect -- CMD stops CMD (its whole process group) when the leadership is lost, and exits 1 with LOCK_LOST', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'elect',
        'cli-lost',
        '--value',
        'v',
        '--ttl',
        '3s',
        '--grace',
        '1s',
        '--',
        'sh',
        '-c',
        'echo "pid $$"; sleep 300 & wait',
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env() } },
    );
    children.push(child);
    const out = new Lines(child.stdout as NodeJS.ReadableStream);
    const err = new Lines(child.stderr as NodeJS.ReadableStream);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const pid = Number((await out.wait(/^pid (\d+)$/)).match[1]);
    // Every node frozen: no keep-alive is acknowledged, the lease lapses.
    for (const id of cluster.ids) cluster.pause(id);
    try {
      expect(await exited).toBe(1);
    } finally {
      for (const id of cluster.ids) cluster.resume(id);
    }
    const line = await err.wait(/LOCK_LOST/);
    expect(line.line).toMatch(/^raftlock elect: leadership of election "cli-lost": no keep-alive of session \d+ acknowledged/);
    // CMD's process group is gone: the shell and its sleep.
    expect(() => process.kill(-pid, 0)).toThrow();
  }, 60_000);

  it('elect observe prints the leader now, then one line per change (JSON lines with --json), and ends cleanly on SIGINT', async () => {
    const a = await client();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'elect', 'observe', 'cli-obs', '--json'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env() },
    });
    children.push(child);
    const out = new Lines(child.stdout as NodeJS.ReadableStream);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await out.wait(/"leader":null/);
    const l = await a.election('cli-obs').campaign('one');
    await out.wait(/"value":"one"/);
    await l.proclaim('two');
    await out.wait(/"value":"two"/);
    await l.resign();
    await waitFor('three changes', () => (out.seen.length >= 4 ? true : undefined), 20_000);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const lines = out.seen.map((s) => JSON.parse(s.line) as { name: string; index: number; leader: unknown });
    expect(lines.map((x) => x.leader)).toEqual([
      null,
      { sessionId: a.sessionId, token: l.token, value: 'one' },
      { sessionId: a.sessionId, token: l.token, value: 'two' },
      null,
    ]);
    expect(lines.every((x) => x.name === 'cli-obs')).toBe(true);
  }, 60_000);
});
