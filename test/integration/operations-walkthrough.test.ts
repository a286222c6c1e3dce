/**
 * The walkthrough of docs/operations.md#changing-the-members, run exactly as written: its
 * marked ```sh blocks are read from the document, typed in order into one bash in a scratch
 * directory (where `raftlock` runs this checkout's dist/cli/main.js, as `npm link` would make
 * it, and `cluster-configs/` is this checkout's), and after each block the test checks what the
 * text around it promises, through `raftlock member list --json`, `raftlock counter get` and the
 * nodes' /status. The commands live only in the document: change it and this runs the new text.
 * Each block's name must have a check here, and each check a block, so a step cannot be added
 * to the walkthrough unverified.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../../scripts/lib/build.js';
import { tailOfFile } from '../../scripts/lib/processes.js';
import { waitFor, WaitTimeout } from '../../scripts/lib/wait.js';
import type { MembersView } from '../../src/server/member-routes.js';
import { markedBlocks, runningWith, StepFailed, WalkthroughShell } from './support/walkthrough.js';
import { statusAt } from './support/status.js';

const DOC = join(REPO, 'docs/operations.md');
const TAG = 'walkthrough';
const CLI = join(REPO, 'dist/cli/main.js');
/** The walkthrough's own ports, apart from every other test's (free ports are ephemeral, 32768 and up). */
const PORTS = { from: 7800, to: 7899 };
/** Generous, for real processes on a machine other suites keep busy. */
const STEP_MS = 120_000;
const SETTLE_MS = 45_000;

let dir: string | undefined;
let shell: WalkthroughShell | undefined;

/** Stops, by PID, every node the walkthrough's shell started that is still running. */
async function stopLeftovers(): Promise<void> {
  const pids = [...(shell?.pids ?? [])].filter((pid) => runningWith(pid, CLI));
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  await waitFor('the walkthrough nodes to stop', () => pids.every((pid) => !runningWith(pid, CLI)), 15_000).catch(() => {
    for (const pid of pids) if (runningWith(pid, CLI)) process.kill(pid, 'SIGKILL');
  });
}
// If the worker goes before afterAll runs, its nodes must not outlive it.
process.once('exit', () => {
  for (const pid of shell?.pids ?? []) if (runningWith(pid, CLI)) process.kill(pid, 'SIGKILL');
});

afterAll(async () => {
  await stopLeftovers();
  await shell?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** `raftlock ARGS…` in the scratch directory, as the walkthrough's shell runs it. */
function raftlock(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(cwd, 'bin/raftlock'), [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** What the checks read the cluster through. */
interface Cluster {
  /** `raftlock member list --json`, given every address the walkthrough has used. */
  members(): Promise<MembersView>;
  /** Polls {@link members} until `ok` holds; the timeout names `what` and the last view. */
  until(what: string, ok: (v: MembersView) => boolean): Promise<MembersView>;
  /** The walkthrough's counter, read linearizably with `raftlock counter get --json`. */
  counter(): Promise<number>;
  /** The PID node `id` reports on /status (polled until it answers). */
  pidOf(id: number): Promise<number>;
  /** The PID each node had when a check last recorded it. */
  readonly pids: Map<number, number>;
  /** The shell's background jobs so far. */
  readonly jobs: ReadonlySet<number>;
  readonly dataDir: string;
}

const voters = (v: MembersView): number[] =>
  v.members
    .filter((m) => m.role === 'voter')
    .map((m) => m.id)
    .sort((a, b) => a - b);
const member = (v: MembersView, id: number) => v.members.find((m) => m.id === id);
/** Every member a voter, reachable from a leader that is one of them, and no change pending. */
const settled = (v: MembersView, ids: readonly number[]): boolean =>
  voters(v).join() === ids.join() &&
  v.members.length === ids.length &&
  ids.includes(v.leader) &&
  !v.changePending &&
  v.members.every((m) => m.reachable === true);
/** The last line a step printed on stdout. */
const lastLine = (out: string): string => out.trimEnd().split('\n').at(-1) ?? '';

/** Node `id` runs as a new process (not `before`), and the leader sees it reachable and caught up. */
async function restarted(c: Cluster, id: number): Promise<void> {
  const before = c.pids.get(id);
  expect(before, `node ${id}'s PID before the restart`).toBeDefined();
  await waitFor(
    `node ${id} to answer from a new process`,
    async () => {
      const pid = await c.pidOf(id).catch(() => undefined);
      return pid !== undefined && pid !== before;
    },
    SETTLE_MS,
  );
  expect(runningWith(before ?? 0, CLI), `node ${id}'s old process ${before} still runs`).toBe(false);
  c.pids.set(id, await c.pidOf(id));
  await c.until(`node ${id} reachable with lag 0`, (v) => member(v, id)?.reachable === true && member(v, id)?.lag === 0);
}

/** What each step of the walkthrough promises, in the document's order. */
const CHECKS: Record<string, (c: Cluster, out: string) => Promise<void>> = {
  start: async (c) => {
    await c.until('three voters, a leader among them, all reachable', (v) => settled(v, [1, 2, 3]));
    // `node1=$!` and the others are the nodes' PIDs: the later steps stop the nodes with them.
    for (const id of [1, 2, 3]) {
      c.pids.set(id, await c.pidOf(id));
      expect(c.jobs).toContain(c.pids.get(id));
    }
  },
  write: async (c, out) => {
    expect(lastLine(out)).toBe('1');
    expect(await c.counter()).toBe(1);
  },
  'grow-4': async (c) => {
    await c.until('four voters', (v) => settled(v, [1, 2, 3, 4]));
    c.pids.set(4, await c.pidOf(4));
  },
  'grow-5': async (c) => {
    await c.until('five voters', (v) => settled(v, [1, 2, 3, 4, 5]));
    c.pids.set(5, await c.pidOf(5));
  },
  fail: async (c) => {
    expect(runningWith(c.pids.get(3) ?? 0, CLI), 'node 3 still runs after kill -9').toBe(false);
    const v = await c.until(
      'a leader among the other four, node 3 an unreachable voter',
      (x) => [1, 2, 4, 5].includes(x.leader) && member(x, 3)?.role === 'voter' && member(x, 3)?.reachable === false,
    );
    expect(voters(v)).toEqual([1, 2, 3, 4, 5]);
  },
  replace: async (c, out) => {
    await c.until('node 6 in node 3’s place', (v) => settled(v, [1, 2, 4, 5, 6]));
    expect(lastLine(out)).toBe('1');
    c.pids.set(6, await c.pidOf(6));
    // Node 6 started empty: it holds the whole state once it has applied what the others have.
    const v = await c.members();
    await waitFor('the five members at one state', async () => {
      const sts = await Promise.all(v.members.map((m) => statusAt(m.address ?? '')));
      return sts.every((s) => s !== undefined) && new Set(sts.map((s) => `${s?.applied}/${s?.digest}`)).size === 1;
    });
  },
  'shrink-5': async (c) => {
    await c.until('four voters without node 5', (v) => settled(v, [1, 2, 4, 6]));
    expect(runningWith(c.pids.get(5) ?? 0, CLI), 'node 5 still runs').toBe(false);
  },
  'shrink-4': async (c) => {
    await c.until('three voters: 1, 2 and 6', (v) => settled(v, [1, 2, 6]));
    expect(runningWith(c.pids.get(4) ?? 0, CLI), 'node 4 still runs').toBe(false);
    expect(await c.counter()).toBe(1);
  },
  'lead-1': async (c) => {
    expect((await c.members()).leader).toBe(1);
  },
  'restart-2': (c) => restarted(c, 2),
  'restart-6': (c) => restarted(c, 6),
  'restart-1': async (c, out) => {
    // `leader transfer 2` printed the members with node 2 leading, before node 1 stopped.
    expect(out).toMatch(/^2\*\s/m);
    await restarted(c, 1);
    await c.until('voters 1, 2 and 6 again', (v) => settled(v, [1, 2, 6]));
  },
  stop: async (c, out) => {
    expect(lastLine(out)).toBe('1');
    expect([...c.jobs].filter((pid) => runningWith(pid, CLI))).toEqual([]);
    expect(existsSync(c.dataDir)).toBe(false);
  },
};

describe('the walkthrough parser', () => {
  it('takes only marked ```sh blocks, in order and dedented, and refuses markers it cannot follow', () => {
    const doc = [
      '```sh',
      'echo unmarked',
      '```',
      '1. first',
      '',
      '   <!-- walkthrough: one -->',
      '',
      '   ```sh',
      '   echo one',
      '     indented',
      '   ```',
      '<!-- other: x -->',
      '```sh',
      'echo other tag',
      '```',
      '<!-- walkthrough: two -->',
      '```sh',
      'echo two',
      '```',
    ].join('\n');
    expect(markedBlocks(doc, TAG)).toEqual([
      { name: 'one', text: 'echo one\n  indented\n', line: 8 },
      { name: 'two', text: 'echo two\n', line: 17 },
    ]);
    expect(() => markedBlocks('<!-- walkthrough: a -->\n```ts\nx\n```', TAG)).toThrow('not followed by a ```sh block');
    expect(() => markedBlocks('<!-- walkthrough: a -->\nprose\n```sh\nx\n```', TAG)).toThrow('not followed by a ```sh block');
    expect(() => markedBlocks('<!-- walkthrough: a -->\n```sh\nx\n', TAG)).toThrow('never closed');
    expect(() => markedBlocks('<!-- walkthrough: a -->\n```sh\nx\n```\n<!-- walkthrough: a -->\n```sh\ny\n```', TAG)).toThrow('used twice');
  });
});

describe('docs/operations.md, changing the members', () => {
  it('runs as written: grow 3 → 5, replace a failed machine, shrink to 3, rolling restarts', { timeout: 300_000 }, async () => {
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (`npm test` does)');
    const blocks = markedBlocks(readFileSync(DOC, 'utf8'), TAG);
    expect(
      blocks.map((b) => b.name),
      'each marked block of docs/operations.md needs its check here, in order',
    ).toEqual(Object.keys(CHECKS));
    const text = blocks.map((b) => b.text).join('');

    // The scratch directory: `raftlock` on PATH, and the checkout's cluster-configs/.
    const d = mkdtempSync(join(tmpdir(), 'raftlock-walkthrough-'));
    dir = d;
    mkdirSync(join(d, 'bin'));
    writeFileSync(join(d, 'bin/raftlock'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
    symlinkSync(join(REPO, 'cluster-configs'), join(d, 'cluster-configs'), 'dir');
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAFTLOCK_')));
    env.PATH = `${join(d, 'bin')}:${env.PATH ?? ''}`;

    // What the blocks use: configuration files, the counter, and every address.
    const configs = [...new Set([...text.matchAll(/--config\s+(\S+)/g)].map((m) => m[1] ?? ''))];
    expect(configs.length, 'the walkthrough names its configuration file with --config').toBeGreaterThan(0);
    const files = configs.map(
      (p) => JSON.parse(readFileSync(join(d, p), 'utf8')) as { dataDir: string; nodes: Array<{ address: string }> },
    );
    const counterName = /raftlock counter add (\S+)/.exec(text)?.[1];
    if (counterName === undefined) throw new Error('the walkthrough writes no counter (`raftlock counter add NAME …`)');
    const addresses = new Set([...text.matchAll(/\b127\.0\.0\.1:\d+\b/g)].map((m) => m[0]));
    for (const f of files) for (const n of f.nodes) addresses.add(n.address);
    for (const a of addresses) {
      const port = Number(a.split(':')[1]);
      expect(port >= PORTS.from && port <= PORTS.to, `${a}: the walkthrough's ports are ${PORTS.from}–${PORTS.to}`).toBe(true);
      if (!(await portFree(port))) throw new Error(`port ${port} is taken: the walkthrough needs ${[...addresses].join(', ')} free`);
    }
    const endpoints = [...addresses].join(',');
    const dataDir = join(d, files[0]?.dataDir ?? '');

    const sh = new WalkthroughShell(d, env);
    shell = sh;
    const parse = async <T>(args: readonly string[]): Promise<T> => {
      const r = await raftlock([...args, '--json', '--endpoints', endpoints], d, env);
      if (r.code !== 0) throw new Error(`raftlock ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout) as T;
    };
    const members = (): Promise<MembersView> => parse<MembersView>(['member', 'list']);
    const cluster: Cluster = {
      members,
      until: async (what, ok) => {
        let last: unknown;
        try {
          return await waitFor(
            what,
            async () => {
              last = await members().catch((err: unknown) => String(err));
              return typeof last === 'object' && ok(last as MembersView) ? (last as MembersView) : undefined;
            },
            SETTLE_MS,
            250,
          );
        } catch (err) {
          throw err instanceof WaitTimeout ? new Error(`${err.message}; the last member list: ${JSON.stringify(last)}`) : err;
        }
      },
      counter: async () => (await parse<{ value: number }>(['counter', 'get', counterName])).value,
      pidOf: async (id) => {
        const address = (await members()).members.find((m) => m.id === id)?.address;
        if (address === null || address === undefined) throw new Error(`node ${id} is not a member`);
        const st = await waitFor(`node ${id} to answer /status`, () => statusAt(address), SETTLE_MS);
        return st.pid;
      },
      pids: new Map(),
      jobs: sh.pids,
      dataDir,
    };

    const logs = (): string =>
      (existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f.endsWith('.log')) : [])
        .map((f) => `--- ${f}\n${tailOfFile(join(dataDir, f), 5)}`)
        .join('\n');
    for (const block of blocks) {
      const check = CHECKS[block.name] as (c: Cluster, out: string) => Promise<void>;
      try {
        await check(cluster, await sh.run(block, STEP_MS));
      } catch (err) {
        // A failed command already names its step; a failed check gets the step's name here.
        const step = err instanceof StepFailed ? '' : `step "${block.name}" (docs/operations.md line ${block.line}): `;
        if (err instanceof Error) err.message = `${step}${err.message}\n${logs()}`;
        throw err;
      }
    }
  });
});
