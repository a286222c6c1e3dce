/**
 * `cluster up`'s lifecycle as a user meets it, with real processes:
 * a terminal's Ctrl-C (SIGINT to the whole process group) stops every node once, gracefully,
 * with leadership handed over; nodes do not outlive a SIGKILLed `cluster up`; a taken port or a
 * node that cannot start fails the command at once, naming the node and the cause, with nothing
 * left running; a second cluster on the same ports is refused rather than taken for ours.
 * Plus `start`'s hints and a node whose peers are down saying so at info level.
 *
 * Ports 7711–7791 (a block of ten per test). The CLI runs from source through tsx, like
 * cli.test.ts, so no build is needed; `cluster up` spawns its nodes the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/lib/wait.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'src/cli/main.ts');
/** tsx by absolute URL, so the CLI also runs from a directory outside this checkout. */
const TSX = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const SHIPPED = join(REPO, 'cluster-configs');

/** A process of the CLI with its output collected. */
interface Run {
  readonly child: ChildProcess;
  out: string;
  err: string;
}

const runs: Run[] = [];
const dirs: string[] = [];
const servers: Server[] = [];

afterEach(async () => {
  // Only what this file started, by PID: the CLI processes, then any node they printed.
  for (const r of runs.splice(0)) {
    for (const pid of nodePids(r)) killQuietly(pid);
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  }
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts the CLI with `args`, in a process group of its own (so the test can signal the group). */
function cli(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const run: Run = { child, out: '', err: '' };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (run.out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (run.err += d));
  runs.push(run);
  return run;
}

/** The node PIDs `cluster up` printed (`node N  host:port  pid P …`). */
function nodePids(run: Run): number[] {
  return [...run.out.matchAll(/^ {2}node \d+ +\S+ +pid (\d+)/gm)].map((m) => Number(m[1]));
}

/** Waits for `run` to exit (generous: real processes on a shared 2-core machine). */
async function exitCode(run: Run, timeoutMs = 60_000): Promise<number | null> {
  const { child } = run;
  const what = `exit of raftlock ${child.spawnargs.slice(4).join(' ')}`;
  const ended = await waitFor(
    what,
    () => (child.exitCode !== null || child.signalCode !== null ? { code: child.exitCode } : undefined),
    timeoutMs,
    100,
  );
  return ended.code;
}

/** A fresh data directory and a 3-node loopback config on ports base+1..base+3. */
function tempCluster(base: number, clusterId: string): { configPath: string; dataDir: string; ports: number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'raftlock-cluster-up-'));
  dirs.push(dir);
  const ports = [base + 1, base + 2, base + 3];
  const config = {
    clusterId,
    nodes: ports.map((port, k) => ({ id: k + 1, address: `127.0.0.1:${port}` })),
    dataDir: join(dir, 'data'),
    // Two seconds for a leader's hand-over on a loaded machine before it gives up.
    tickMs: 50,
    electionTicks: 20,
    heartbeatTicks: 1,
  };
  const configPath = join(dir, `${clusterId}.json`);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { configPath, dataDir: config.dataDir, ports };
}

async function occupy(port: number): Promise<void> {
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
}

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('raftlock cluster up', () => {
  it('Ctrl-C to its process group stops each node once, the leader handing over; a second cluster on the ports is refused', async () => {
    const c = tempCluster(7710, 'cu-sigint');
    const up = cli(['cluster', 'up', '--config', c.configPath]);
    await waitFor('cluster ready', () => /^cluster ready: leader is node \d/m.test(up.out) || up.child.exitCode !== null, 60_000, 100);
    expect(up.out).toMatch(/^cluster ready: leader is node \d/m);
    const pids = nodePids(up);
    expect(pids).toHaveLength(3);

    // Another cluster on the same ports (its own data): refused at once, naming the port and who holds it.
    const other = tempCluster(7710, 'cu-other');
    const second = cli(['cluster', 'up', '--config', other.configPath]);
    expect(await exitCode(second)).toBe(1);
    expect(second.out).not.toMatch(/cluster ready/);
    expect(second.err).toMatch(
      /node 1: port 7711 is in use \(127\.0\.0\.1:7711, EADDRINUSE\): raftlock node 1 of cluster "cu-sigint" \(pid \d+\)/,
    );

    // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    process.kill(-(up.child.pid as number), 'SIGINT');
    expect(await exitCode(up)).toBe(0);
    for (const pid of pids) expect(alive(pid), `node pid ${pid} still running`).toBe(false);

    const log = jsonLines(up.err); // stderr is only JSON lines: this throws on any other line
    const msgs = log.map((l) => String(l.msg));
    expect(msgs).not.toContain('second signal: exiting without a graceful stop');
    expect(log.filter((l) => l.msg === 'stopping')).toHaveLength(3); // one signal each
    expect(msgs).toContain('leadership handed over');
    expect(log.filter((l) => l.msg === 'node stopped')).toHaveLength(3);
    // One 'became leader' per election (per term), across the whole cluster.
    const terms = log.filter((l) => l.msg === 'became leader').map((l) => l.term);
    expect(new Set(terms).size).toBe(terms.length);
    // stdout is the command's own lines, none of them a log line.
    expect(up.out).toMatch(/stopping all nodes \(SIGINT\)/);
    expect(up.out.split('\n').some((l) => l.startsWith('{'))).toBe(false);
  }, 180_000);

  it('a SIGKILLed cluster up does not leave its nodes running: they stop on their own', async () => {
    const c = tempCluster(7720, 'cu-orphans');
    const up = cli(['cluster', 'up', '--config', c.configPath]);
    await waitFor('cluster ready', () => /^cluster ready/m.test(up.out) || up.child.exitCode !== null, 60_000, 100);
    const pids = nodePids(up);
    expect(pids).toHaveLength(3);
    up.child.kill('SIGKILL');
    await waitFor('every node gone', () => pids.every((pid) => !alive(pid)), 30_000, 100);
  }, 120_000);

  it("a node's port taken: exits 1 at once, naming the node and the port, starting nothing", async () => {
    const c = tempCluster(7730, 'cu-taken');
    await occupy(c.ports[1] as number);
    const up = cli(['cluster', 'up', '--config', c.configPath]);
    expect(await exitCode(up, 30_000)).toBe(1);
    expect(up.err).toMatch(
      /node 2: port 7732 is in use \(127\.0\.0\.1:7732, EADDRINUSE\): another raftlock cluster or program is running there/,
    );
    expect(nodePids(up)).toEqual([]);
    expect(up.out + up.err).not.toMatch(/no agreed leader/);
  }, 60_000);

  it('a node that fails to start stops the others: exit 1 naming the node and its own error, nothing left running', async () => {
    const c = tempCluster(7740, 'cu-fails');
    // node 2's data directory cannot be created: a file is in its place.
    mkdirSync(c.dataDir, { recursive: true });
    writeFileSync(join(c.dataDir, 'node-2'), 'not a directory');
    const up = cli(['cluster', 'up', '--config', c.configPath]);
    expect(await exitCode(up)).toBe(1);
    const pids = nodePids(up);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(alive(pid), `node pid ${pid} still running`).toBe(false);
    expect(up.out).toMatch(/node 2 \(127\.0\.0\.1:7742\) failed to start: EEXIST.*node-2.*\(exit code 1\)/);
    expect(up.out).toMatch(/stopping the other nodes/);
    expect(up.out).not.toMatch(/cluster ready|no agreed leader/);
    // The node's own error line reached stderr as a JSON line naming it.
    expect(jsonLines(up.err).some((l) => l.node === 2 && l.level === 'error' && /EEXIST/.test(String(l.msg)))).toBe(true);
  }, 120_000);

  it('an unknown RAFTLOCK_LOG_LEVEL is refused before any node starts, naming the levels', async () => {
    const c = tempCluster(7750, 'cu-level');
    const up = cli(['cluster', 'up', '--config', c.configPath], { env: { RAFTLOCK_LOG_LEVEL: 'verbose' } });
    expect(await exitCode(up)).toBe(1);
    expect(up.err).toMatch(/RAFTLOCK_LOG_LEVEL: unknown level "verbose"; use one of debug, info, warn, error/);
    expect(nodePids(up)).toEqual([]);
  }, 60_000);
});

describe('raftlock start: what it says when it cannot start', () => {
  it('a taken port: the hint says who is likely there and what to do', async () => {
    const c = tempCluster(7770, 'start-port');
    await occupy(c.ports[0] as number);
    const r = cli(['start', '--config', c.configPath, '--id', '1']);
    expect(await exitCode(r)).toBe(1);
    expect(r.err).toMatch(
      /port 7771 is in use \(127\.0\.0\.1:7771, EADDRINUSE\): another raftlock cluster or program is running there; stop it or pick other addresses in the configuration \(nodes\[id=1\]\.address\)/,
    );
  }, 60_000);

  it("a config path that does not exist here: names the shipped configurations' folder", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'raftlock-elsewhere-'));
    dirs.push(elsewhere);
    const r = cli(['start', '--config', 'cluster-configs/three-node.json', '--id', '1'], { cwd: elsewhere });
    expect(await exitCode(r)).toBe(1);
    expect(r.err).toContain(
      `${join(elsewhere, 'cluster-configs/three-node.json')} does not exist; the shipped configurations are in ${SHIPPED}`,
    );
    expect(r.err).not.toMatch(/ENOENT/);
  }, 60_000);

  it('an unknown RAFTLOCK_LOG_LEVEL: exit 1 naming the levels', async () => {
    const c = tempCluster(7780, 'start-level');
    const r = cli(['start', '--config', c.configPath, '--id', '1'], { env: { RAFTLOCK_LOG_LEVEL: 'verbose' } });
    expect(await exitCode(r)).toBe(1);
    expect(r.err).toMatch(/unknown level "verbose"; use one of debug, info, warn, error/);
  }, 60_000);

  it('--help marks the required options', async () => {
    const r = cli(['start', '--help']);
    expect(await exitCode(r)).toBe(0);
    expect(r.out).toMatch(/--config <file> +cluster configuration file \(required;/);
    expect(r.out).toMatch(/--id <n> +this node's id in the configuration \(required\)/);
  }, 60_000);

  it('peers that cannot be reached are reported at info, once each, not once per redial; stdin closing stops the node', async () => {
    const c = tempCluster(7760, 'start-alone');
    // stdin is a pipe this test holds, as `cluster up` does.
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'start', '--config', c.configPath, '--id', '1', '--stop-on-stdin-close'], {
      cwd: REPO,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    const run: Run = { child, out: '', err: '' };
    runs.push(run);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (run.err += d));
    const unreachable = (): Array<Record<string, unknown>> => jsonLines(run.err).filter((l) => l.msg === 'peer unreachable');
    await waitFor('both peers reported unreachable', () => unreachable().length >= 2, 60_000, 100);
    expect(
      unreachable()
        .map((l) => l.peer)
        .sort(),
    ).toEqual([2, 3]);
    expect(unreachable().every((l) => l.level === 'info' && Number(l.failedDials) > 1)).toBe(true);
    child.stdin?.end();
    expect(await exitCode(run)).toBe(0);
    const log = jsonLines(run.err);
    expect(log.filter((l) => l.msg === 'peer unreachable')).toHaveLength(2);
    expect(log.some((l) => l.msg === 'stopping' && /stdin closed/.test(String(l.reason)))).toBe(true);
    expect(log.at(-1)?.msg).toBe('node stopped');
  }, 120_000);
});

describe('raftlock status', () => {
  it('a port that accepts and drops connections is reported unreachable (exit 1), not a silent exit 0', async () => {
    await occupy(7791); // `cluster up` polls /status the same way: it used to end mid-wait, code 0
    const r = cli(['status', '--endpoints', '127.0.0.1:7791']);
    expect(await exitCode(r)).toBe(1);
    expect(r.out).toMatch(/127\.0\.0\.1:7791 .* no \((ECONNRESET|TIMEOUT)\)/);
    expect(r.err).toMatch(/no node reachable at 127\.0\.0\.1:7791/);
  }, 60_000);
});
