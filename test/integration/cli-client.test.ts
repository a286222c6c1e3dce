/**
 * The CLI's client commands (docs/operations.md#client-commands) against a real 3-node cluster of
 * `raftlock start` processes: `counter get|add|set|cas|delete`, `lock acquire|release|show|run`,
 * `--endpoints` / RAFTLOCK_ENDPOINTS, `--token` / RAFTLOCK_TOKEN, `--json`, durations, one-line
 * errors with their codes, and `lock run` passing the token, returning the child's exit code and
 * stopping the child when the lock is lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/server/index.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'src/cli/main.ts');
const TOKEN = 'cli-test-client-token';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let cluster: ProcessCluster;
let env: NodeJS.ProcessEnv;

/** Starts `raftlock ARGS` with the cluster's endpoints and token in its environment. */
function startCli(
  args: readonly string[],
  extraEnv: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<Run>; out: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, ...extraEnv },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done, out: () => stdout };
}

function cli(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return startCli(args, extraEnv).done;
}

/** Runs a command that must succeed; returns its trimmed stdout. */
async function ok(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await cli(args, extraEnv);
  expect(r.code, `raftlock ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

/** Runs a command that must fail with `code`: one line on stderr (or a JSON error with --json). */
async function fails(args: readonly string[], code: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  const r = await cli(args, extraEnv);
  expect(r.code, `raftlock ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(1);
  if (args.includes('--json')) {
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe(code);
  } else {
    const lines = r.stderr.trim().split('\n');
    expect(lines.length, r.stderr).toBe(1);
    expect(lines[0]).toContain(`(${code});`);
  }
  return r;
}

/** A `read` token minted by `raftlock token create`, listed in the cluster's configuration. */
let minted: { token: string; entry: { name: string; role: string; hash: string } };

beforeAll(async () => {
  env = { ...process.env };
  minted = JSON.parse(await ok(['token', 'create', '--role', 'read', '--name', 'reader', '--json'])) as typeof minted;
  cluster = await ProcessCluster.create({
    nodes: 3,
    clientToken: TOKEN,
    extraTokens: [{ name: minted.entry.name, role: 'read', token: minted.token }],
  });
  cluster.startAll();
  await cluster.waitForLeader();
  env = { ...process.env, RAFTLOCK_ENDPOINTS: cluster.endpoints.join(','), RAFTLOCK_TOKEN: TOKEN };
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe('raftlock token create and roles', () => {
  it('mints a token whose printed entry is its hash; the token has exactly its role', async () => {
    expect(minted.token).toMatch(/^rlt_[A-Za-z0-9_-]{43}$/);
    expect(minted.entry).toEqual({ name: 'reader', role: 'read', hash: hashToken(minted.token) });
    const human = await ok(['token', 'create', '--role', 'admin']);
    expect(human).toMatch(/^token: rlt_\S{43}\n/);
    expect(human).toMatch(/"role":"admin","hash":"sha256:[0-9a-f]{64}"/);
    const badRole = await cli(['token', 'create', '--role', 'root']);
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toMatch(/root.*read, write, admin/s);

    const reader = { RAFTLOCK_TOKEN: minted.token };
    await ok(['counter', 'add', 'role-c', '2']);
    expect(await ok(['counter', 'get', 'role-c'], reader)).toBe('2');
    const refused = await fails(['counter', 'add', 'role-c', '1'], 'AUTH', reader);
    expect(refused.stderr).toContain('needs role write');
    expect(await ok(['status'], reader)).toMatch(/leader/);
    const anonymous = await cli(['status'], { RAFTLOCK_TOKEN: '' });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('AUTH');
    expect(await ok(['counter', 'get', 'role-c'])).toBe('2');
  }, 60_000);
});

describe('raftlock counter', () => {
  it('get, add (also negative), set, cas, delete, with --json and --stale', async () => {
    expect(await ok(['counter', 'get', 'c1'])).toBe('0');
    expect(await ok(['counter', 'add', 'c1', '5'])).toBe('5');
    expect(await ok(['counter', 'add', 'c1', '-2'])).toBe('3');
    expect(await ok(['counter', 'set', 'c1', '10'])).toBe('3'); // the previous value
    expect(await ok(['counter', 'cas', 'c1', '10', '11'])).toBe('true');
    const miss = await cli(['counter', 'cas', 'c1', '10', '12']);
    expect([miss.code, miss.stdout.trim(), miss.stderr]).toEqual([1, 'false', '']);
    expect(JSON.parse(await ok(['counter', 'get', 'c1', '--json']))).toEqual({ name: 'c1', value: 11 });
    expect(JSON.parse(await ok(['counter', 'add', 'c1', '1', '--json']))).toEqual({ name: 'c1', value: 12 });
    expect(JSON.parse(await ok(['counter', 'delete', 'c1', '--json']))).toEqual({ name: 'c1', previous: 12 });
    await waitFor('a stale read of 0', async () => ((await ok(['counter', 'get', 'c1', '--stale'])) === '0' ? true : undefined));
  }, 60_000);

  it('get of a counter that is not set prints 0 and says so on stderr; stdout and --json stay the bare value', async () => {
    const unset = await cli(['counter', 'get', 'never-set']);
    expect([unset.code, unset.stdout]).toEqual([0, '0\n']);
    expect(unset.stderr).toBe(
      'raftlock counter get: counter "never-set" is not set: it reads 0, the default (a counter at 0 is not stored; check the name\'s spelling)\n',
    );
    const json = await cli(['counter', 'get', 'never-set', '--json']);
    expect([json.code, JSON.parse(json.stdout), json.stderr]).toEqual([0, { name: 'never-set', value: 0 }, '']);

    await ok(['counter', 'add', 'set-then-deleted', '3']);
    const set = await cli(['counter', 'get', 'set-then-deleted']);
    expect([set.stdout, set.stderr]).toEqual(['3\n', '']);
    await ok(['counter', 'delete', 'set-then-deleted']);
    expect((await cli(['counter', 'get', 'set-then-deleted'])).stderr).toContain('is not set');
  }, 60_000);

  it('--endpoints on the command line overrides RAFTLOCK_ENDPOINTS', async () => {
    const [dead] = await freePorts(1);
    const args = ['counter', 'add', 'c2', '1', '--timeout', '1s'];
    await fails(args, 'UNAVAILABLE', { RAFTLOCK_ENDPOINTS: `127.0.0.1:${dead}` });
    expect(await ok([...args, '--endpoints', cluster.endpoints.join(',')], { RAFTLOCK_ENDPOINTS: `127.0.0.1:${dead}` })).toBe('1');
  }, 60_000);

  it('errors are one line with the code and what to do, or JSON with --json; nothing changes', async () => {
    await ok(['counter', 'set', 'big', String(Number.MAX_SAFE_INTEGER)]);
    const over = await fails(['counter', 'add', 'big', '1'], 'OVERFLOW');
    expect(over.stderr).toMatch(/^raftlock counter add: .*nothing changed\n$/);
    const overJson = await fails(['counter', 'add', 'big', '1', '--json'], 'OVERFLOW');
    expect(JSON.parse(overJson.stdout)).toMatchObject({
      error: { code: 'OVERFLOW', message: expect.any(String) as string, hint: expect.any(String) as string },
    });
    expect(await ok(['counter', 'get', 'big'])).toBe(String(Number.MAX_SAFE_INTEGER));

    await fails(['counter', 'add', 'big', '1.5'], 'INVALID_ARGUMENT');
    await fails(['counter', 'add', 'x'.repeat(300), '1'], 'INVALID_ARGUMENT');
    await fails(['lock', 'acquire', 'l0', '--wait', '10'], 'INVALID_ARGUMENT'); // a duration needs a unit
    await fails(['counter', 'get', 'big', '--timeout', 'soon'], 'INVALID_ARGUMENT');

    const [dead] = await freePorts(1);
    const down = await fails(['counter', 'get', 'big', '--endpoints', `127.0.0.1:${dead}`, '--timeout', '1s'], 'UNAVAILABLE');
    expect(down.stderr).toContain('raftlock status');
    expect(down.stderr).toContain('`raftlock cluster up`, or `npm start` in a raftlock checkout'); // installed users have no npm scripts

    const noToken = await fails(['counter', 'get', 'big'], 'AUTH', { RAFTLOCK_TOKEN: '' });
    expect(noToken.stderr).toContain('RAFTLOCK_TOKEN');
    await fails(['counter', 'add', 'big', '-1', '--token', 'wrong-token-123', '--json'], 'AUTH');
    expect(await ok(['counter', 'get', 'big'])).toBe(String(Number.MAX_SAFE_INTEGER));
  }, 60_000);

  it('--fence LOCK:TOKEN writes only while the lock is held with that token (FENCED after)', async () => {
    const g = JSON.parse(await ok(['lock', 'acquire', 'fence-lock', '--json'])) as {
      fencingToken: number;
      sessionId: number;
      session: string;
    };
    const fence = `fence-lock:${g.fencingToken}`;
    expect(await ok(['counter', 'add', 'fenced', '1', '--fence', fence])).toBe('1');
    await fails(['counter', 'add', 'fenced', '1', '--fence', `fence-lock:${g.fencingToken - 1}`], 'FENCED');
    await ok(['lock', 'release', 'fence-lock', '--session', g.session]);
    await fails(['counter', 'add', 'fenced', '1', '--fence', fence], 'FENCED');
    await fails(['counter', 'add', 'fenced', '1', '--fence', 'no-colon'], 'INVALID_ARGUMENT');
    expect(await ok(['counter', 'get', 'fenced'])).toBe('1');
  }, 60_000);
});

describe('raftlock lock acquire | release | show', () => {
  it('acquire prints token and session; show tells the holder; release frees it; errors name the case', async () => {
    const human = await ok(['lock', 'acquire', 'l1', '--ttl', '30s']);
    const m = /fencing token (\d+), session (\d+)/.exec(human);
    expect(m, human).not.toBeNull();
    const [token, session] = [Number(m?.[1]), Number(m?.[2])];
    const h = new RegExp(`raftlock lock release l1 --session (${session}:[0-9a-f]{32})`).exec(human);
    expect(h, human).not.toBeNull();
    const handle = h?.[1] ?? '';

    const shown = await ok(['lock', 'show', 'l1']);
    expect(shown).toContain(`held by session ${session} with fencing token ${token}`);
    const info = JSON.parse(await ok(['lock', 'show', 'l1', '--json'])) as {
      holder: { sessionId: number; fencingToken: number; expiresAt: number };
      waiters: number;
    };
    expect(info).toMatchObject({ name: 'l1', holder: { sessionId: session, fencingToken: token }, waiters: 0 });
    expect(info.holder.expiresAt).toBeGreaterThan(Date.now());

    await fails(['lock', 'acquire', 'l1', '--wait', '0'], 'LOCK_TIMEOUT');
    await fails(['lock', 'acquire', 'l1', '--wait', '300ms', '--json'], 'LOCK_TIMEOUT');
    await fails(['lock', 'release', 'l1', '--session', `${session + 100_000}:${handle.split(':')[1] ?? ''}`], 'SESSION_EXPIRED');
    // The session is a capability: its id alone, or a wrong secret, releases nothing.
    const bare = await fails(['lock', 'release', 'l1', '--session', String(session)], 'INVALID_ARGUMENT');
    expect(bare.stderr).toContain('a bare session id is not enough');
    await fails(['lock', 'release', 'l1', '--session', `${session}:${'0'.repeat(32)}`], 'AUTH');
    expect(JSON.parse(await ok(['lock', 'show', 'l1', '--json']))).toMatchObject({ holder: { sessionId: session } });

    expect(await ok(['lock', 'release', 'l1', '--session', handle])).toContain(`released lock "l1" (fencing token ${token}`);
    await fails(['lock', 'release', 'l1', '--session', handle], 'NOT_HELD');
    expect(await ok(['lock', 'show', 'l1'])).toBe('lock "l1": free; 0 waiting');
    expect(JSON.parse(await ok(['lock', 'show', 'l1', '--json']))).toEqual({ name: 'l1', waiters: 0 });

    const again = JSON.parse(await ok(['lock', 'acquire', 'l1', '--json'])) as { fencingToken: number; sessionId: number; session: string };
    expect(again.fencingToken).toBeGreaterThan(token);
    await ok(['lock', 'release', 'l1', '--session', again.session]);
  }, 60_000);

  it("a queued acquire is granted when the holder's TTL runs out (no keep-alive)", async () => {
    // The lease must outlast starting the waiter's process and one poll (each a tsx start, over
    // a second apiece on a loaded 2-core machine), or the waiter is granted before it queues.
    const first = JSON.parse(await ok(['lock', 'acquire', 'l2', '--ttl', '6s', '--json'])) as {
      fencingToken: number;
      sessionId: number;
      session: string;
    };
    const waiter = startCli(['lock', 'acquire', 'l2', '--wait', '30s', '--ttl', '30s', '--json']);
    await waitFor(
      'the second acquire queued',
      async () => ((JSON.parse(await ok(['lock', 'show', 'l2', '--json'])) as { waiters: number }).waiters === 1 ? true : undefined),
      20_000,
    );
    // Nobody releases: the first session's 6 s TTL runs out and the waiter is granted.
    const r = await waiter.done;
    expect(r.code, r.stderr).toBe(0);
    const second = JSON.parse(r.stdout) as { fencingToken: number; sessionId: number; session: string };
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await fails(['lock', 'release', 'l2', '--session', first.session], 'SESSION_EXPIRED');
    await ok(['lock', 'release', 'l2', '--session', second.session]);
  }, 60_000);

  it('SIGINT during a wait closes the waiting session: it never gets the lock later', async () => {
    const holder = JSON.parse(await ok(['lock', 'acquire', 'l3', '--json'])) as { sessionId: number; session: string };
    const waiter = startCli(['lock', 'acquire', 'l3', '--wait', '30s']);
    await waitFor(
      'the acquire queued',
      async () => ((JSON.parse(await ok(['lock', 'show', 'l3', '--json'])) as { waiters: number }).waiters === 1 ? true : undefined),
      20_000,
    );
    waiter.child.kill('SIGINT');
    const r = await waiter.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted by SIGINT \(INTERRUPTED\)/);
    expect(JSON.parse(await ok(['lock', 'show', 'l3', '--json']))).toMatchObject({ waiters: 0 });
    await ok(['lock', 'release', 'l3', '--session', holder.session]);
    expect(JSON.parse(await ok(['lock', 'show', 'l3', '--json']))).toEqual({ name: 'l3', waiters: 0 });
  }, 60_000);
});

describe('raftlock lock run', () => {
  it("a command's options without `--` before it: the error says to put `--` there", async () => {
    const r = await cli(['lock', 'run', 'l-dash', 'sh', '-c', 'echo ran']);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('ran');
    expect(r.stderr).toMatch(
      /^error: unknown option '-c'\nput `--` before the command, so its options are not taken for raftlock's: raftlock lock run NAME \[options\] -- CMD ARGS…/,
    );
    // Before the command's first word, an unknown option is a misspelt raftlock option, `--` or
    // not: no `--` hint, commander's "Did you mean".
    for (const args of [
      ['--wiat', '1s', '--', 'true'],
      ['--wiat', '1s', 'sh', '-c', 'true'],
    ]) {
      const typo = await cli(['lock', 'run', 'l-dash', ...args]);
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain("error: unknown option '--wiat'\n(Did you mean --wait?)");
      expect(typo.stderr).not.toContain('put `--`');
    }
  }, 60_000);

  it('passes the token and lock name to CMD, exits with its code, and releases the lock', async () => {
    const script = 'echo "token=$RAFTLOCK_FENCING_TOKEN lock=$RAFTLOCK_LOCK_NAME"; exit 7';
    const r = await cli(['lock', 'run', 'l4', '--', 'sh', '-c', script]);
    expect(r.code, r.stderr).toBe(7);
    const m = /^token=(\d+) lock=l4$/.exec(r.stdout.trim());
    expect(m, r.stdout).not.toBeNull();
    expect(await ok(['lock', 'show', 'l4'])).toBe('lock "l4": free; 0 waiting');

    // A second run gets a higher token; CMD can write fenced through the CLI with it.
    const fenced = `${process.execPath} --import tsx ${CLI} counter add runs 1 --fence "$RAFTLOCK_LOCK_NAME:$RAFTLOCK_FENCING_TOKEN"`;
    const r2 = await cli(['lock', 'run', 'l4', '--', 'sh', '-c', `echo "token=$RAFTLOCK_FENCING_TOKEN"; ${fenced}`]);
    expect(r2.code, r2.stderr).toBe(0);
    const t2 = Number(/token=(\d+)/.exec(r2.stdout)?.[1]);
    expect(t2).toBeGreaterThan(Number(m?.[1]));
    expect(await ok(['counter', 'get', 'runs'])).toBe('1');

    const sig = await cli(['lock', 'run', 'l4', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(sig.code).toBe(128 + 15); // as a shell reports a child ended by SIGTERM
  }, 60_000);

  it('exits 127 when CMD does not exist, and never starts CMD when the lock is not granted', async () => {
    const missing = await cli(['lock', 'run', 'l5', '--', 'no-such-command-raftlock']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('no-such-command-raftlock');

    const holder = JSON.parse(await ok(['lock', 'acquire', 'l5', '--json'])) as { sessionId: number; session: string };
    const r = await fails(['lock', 'run', 'l5', '--wait', '200ms', '--', 'sh', '-c', 'echo ran'], 'LOCK_TIMEOUT');
    expect(r.stdout).toBe('');
    await ok(['lock', 'release', 'l5', '--session', holder.session]);
  }, 60_000);

  it('stops CMD when the lock may be lost (cluster frozen): SIGTERM, then SIGKILL after --grace', async () => {
    const dir = cluster.dir;
    const termFile = join(dir, 'run-term');
    const pidFile = join(dir, 'run-pid');
    // The child ignores SIGTERM after noting it, so only SIGKILL can end it.
    const grandchildFile = join(dir, 'run-grandchild');
    // A grandchild that ignores SIGTERM too: it must not outlive the lock either.
    const script =
      `echo $$ > ${pidFile}; trap 'echo term > ${termFile}' TERM; ` +
      `sh -c 'trap "" TERM; while true; do sleep 0.05; done' & echo $! > ${grandchildFile}; ` +
      `echo started; while true; do sleep 0.05; done`;
    const run = startCli(['lock', 'run', 'l6', '--ttl', '2s', '--grace', '500ms', '--', 'sh', '-c', script]);
    await waitFor('CMD started', () => (run.out().includes('started') ? true : undefined), 20_000);
    for (const id of cluster.ids) cluster.pause(id);
    let r: Run;
    try {
      r = await run.done;
    } finally {
      for (const id of cluster.ids) cluster.resume(id);
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(LOCK_LOST\)/);
    expect(existsSync(termFile)).toBe(true); // SIGTERM first…
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(() => process.kill(pid, 0)).toThrow(); // …then SIGKILL: the child is gone
    const grandchild = Number(readFileSync(grandchildFile, 'utf8').trim());
    expect(() => process.kill(grandchild, 0)).toThrow(); // and so is its whole process group
    await cluster.waitForLeader();
  }, 60_000);

  it('what CMD leaves running is stopped before the lock is released; SIGTERM to raftlock reaches the whole group', async () => {
    const dir = cluster.dir;
    const left = join(dir, 'run-left-behind');
    // CMD exits at once, leaving a background process that would run on without the lock.
    const r = await cli(['lock', 'run', 'l7', '--grace', '500ms', '--', 'sh', '-c', `sleep 60 & echo $! > ${left}; exit 3`]);
    expect(r.code, r.stderr).toBe(3);
    const orphan = Number(readFileSync(left, 'utf8').trim());
    expect(() => process.kill(orphan, 0)).toThrow();
    expect(JSON.parse(await ok(['lock', 'show', 'l7', '--json']))).toEqual({ name: 'l7', waiters: 0 });

    const pids = join(dir, 'run-pids');
    const run = startCli(['lock', 'run', 'l8', '--grace', '500ms', '--', 'sh', '-c', `sleep 60 & echo $! > ${pids}; echo started; wait`]);
    await waitFor('CMD started', () => (run.out().includes('started') ? true : undefined), 20_000);
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code).toBe(128 + 15);
    expect(() => process.kill(Number(readFileSync(pids, 'utf8').trim()), 0)).toThrow();
    expect(JSON.parse(await ok(['lock', 'show', 'l8', '--json']))).toEqual({ name: 'l8', waiters: 0 });
  }, 60_000);
});
