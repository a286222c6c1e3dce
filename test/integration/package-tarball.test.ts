/**
 * The package as a user gets it: `npm pack` (which builds through `prepack`) in a copy of this
 * working tree without `dist/`, as a fresh clone has it, then `npm install <tarball>` into a new
 * CommonJS project made by `npm init -y`. Checked: what the tarball holds (LICENSE, no source
 * maps, nothing that runs at install), that installing it warns about nothing of ours, that
 * `require()` works there, and that the README's two plain-JavaScript examples run as written
 * against a cluster of the installed package's own `raftlock start` processes (ports 7900–7999).
 *
 * npm installs the tarball's dependencies with `--prefer-offline`: from the npm cache that
 * `npm ci` filled, going to the registry only for what the cache lacks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../scripts/lib/build.js';
import { ServerProcess } from '../../scripts/lib/processes.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { runNode, runReadmeExample } from './support/readme.js';

/** The top-level entries of the working tree a fresh clone would not have (see .gitignore). */
const NOT_IN_A_CLONE = new Set(['.git', 'node_modules', 'dist', 'data', 'chaos-runs', 'tmp']);
/** The lifecycle scripts npm runs (or warns about) when the package is installed. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];
const PORT_RANGE = { from: 7900, to: 7999 } as const;

let work: string;
/** The new project the tarball is installed into. */
let app: string;
/** The tarball's entries, `package/` prefix removed. */
let entries: string[];
let packStderr: string;
let installStderr: string;
const nodes: ServerProcess[] = [];
let endpoints: string[];

/** The environment of a shell, not of an npm script: npm's own npm_* variables would steer the child npm. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
}

/** Runs npm with `args` in `cwd`; throws with its output if it fails; returns its stderr. */
function npm(args: readonly string[], cwd: string): string {
  const r = spawnSync('npm', [...args], { cwd, env: userEnv(), encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${String(r.status ?? r.error)}):\n${r.stdout}\n${r.stderr}`);
  return r.stderr;
}

/** Whether `port` on 127.0.0.1 can be bound now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first `count` free ports of {@link PORT_RANGE}, the range set aside for this test. */
async function freePortsInRange(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let p = PORT_RANGE.from; p <= PORT_RANGE.to && ports.length < count; p++) if (await isFree(p)) ports.push(p);
  if (ports.length < count) throw new Error(`fewer than ${count} free ports in ${PORT_RANGE.from}-${PORT_RANGE.to}`);
  return ports;
}

/** Copies the working tree as a clone has it, packs it there, and returns the tarball's path. */
function pack(): string {
  const source = join(work, 'source');
  cpSync(REPO, source, {
    recursive: true,
    filter: (from) => {
      const top = relative(REPO, from).split(sep)[0] as string;
      return !NOT_IN_A_CLONE.has(top);
    },
  });
  symlinkSync(join(REPO, 'node_modules'), join(source, 'node_modules'), 'dir');
  packStderr = npm(['pack', '--pack-destination', work], source);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball:\n${packStderr}`);
  return join(work, tarball);
}

/** Starts a 3-node cluster of the installed package's CLI; resolves once a node reports a leader. */
async function startCluster(): Promise<void> {
  const ports = await freePortsInRange(3);
  endpoints = ports.map((p) => `127.0.0.1:${p}`);
  const config = join(app, 'cluster.json');
  const nodeList = endpoints.map((address, k) => ({ id: k + 1, address }));
  writeFileSync(config, JSON.stringify({ clusterId: 'tarball', nodes: nodeList, dataDir: join(app, 'data') }));
  const cli = join(app, 'node_modules/raftlock/dist/cli/main.js');
  for (const { id } of nodeList) {
    const args = [cli, 'start', '--config', config, '--id', String(id)];
    nodes.push(ServerProcess.start(`node ${id}`, process.execPath, args, join(app, `node-${id}.log`), userEnv(), app));
  }
  const leaderKnown = async (): Promise<boolean> => {
    for (const e of endpoints) {
      const res = await fetch(`http://${e}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      if (res?.ok === true) return true;
    }
    return false;
  };
  await waitFor('a leader in the cluster of the installed package', leaderKnown, 60_000, 200).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${nodes.map((n) => `${n.label}:\n${n.logTail(10)}`).join('\n')}`);
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'raftlock-tarball-'));
  const tarball = pack();
  entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter((e) => e !== '')
    .map((e) => e.replace(/^package\//, ''));
  app = join(work, 'app');
  mkdirSync(app);
  npm(['init', '-y'], app);
  installStderr = npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
  await startCluster();
}, 240_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the build, the shipped configs, README and LICENSE; no source, no source maps', () => {
    for (const file of ['package.json', 'README.md', 'LICENSE', 'dist/client/index.js', 'dist/client/index.d.ts', 'dist/cli/main.js'])
      expect(entries, file).toContain(file);
    expect(entries).toContain('cluster-configs/three-node.json');
    expect(entries.filter((e) => !/^(dist|cluster-configs)\//.test(e) && !['package.json', 'README.md', 'LICENSE'].includes(e))).toEqual(
      [],
    );
    expect(entries.filter((e) => e.endsWith('.map'))).toEqual([]);
    const installed = join(app, 'node_modules/raftlock');
    const mapped = entries.filter((e) => e.endsWith('.js') && readFileSync(join(installed, e), 'utf8').includes('sourceMappingURL'));
    expect(mapped, 'compiled files pointing at a source map').toEqual([]);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the raftlock authors\n/);
  });

  it('runs nothing at install, so installing it warns about nothing of ours', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/raftlock/package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    expect(INSTALL_SCRIPTS.filter((s) => manifest.scripts?.[s] !== undefined)).toEqual([]);
    // Dependencies' own warnings (e.g. level's native build step) are theirs; a line naming
    // raftlock is one we cause: an install script, an engines mismatch, a deprecation…
    const ours = (stderr: string): string[] => stderr.split('\n').filter((l) => /warn/i.test(l) && /raftlock/i.test(l));
    expect(ours(installStderr), installStderr).toEqual([]);
    expect(ours(packStderr), packStderr).toEqual([]);
  });

  it("require('raftlock') and require('raftlock/server') work in the new CommonJS project", async () => {
    expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'))).toMatchObject({ type: 'commonjs' });
    const script =
      "const c = require('raftlock'); const s = require('raftlock/server'); console.log(typeof c.connect, typeof s.startNode, typeof c.RaftlockError);";
    const r = await runNode(['-e', script], app);
    expect(r.err).toBe('');
    expect(r.out.trim()).toBe('function function function');
  }, 60_000);

  // The two run one after the other on the test's cluster, so the counter counts on from the first.
  it("the README's plain-JavaScript quick start (quickstart.mjs) runs as written", async () => {
    const lines = await runReadmeExample('quickstart.mjs', app, endpoints);
    expect(lines).toEqual([expect.stringMatching(/^processed 1 orders under fencing token \d+$/), 'hits 1']);
  }, 60_000);

  it("the README's CommonJS example (app.cjs) runs as written", async () => {
    expect(await runReadmeExample('app.cjs', app, endpoints)).toEqual(['processed 2 orders']);
  }, 60_000);

  it('the installed `raftlock` command answers for the cluster', () => {
    const bin = join(app, 'node_modules/.bin/raftlock');
    const r = spawnSync(bin, ['status', '--endpoints', endpoints.join(',')], {
      cwd: app,
      env: userEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\bleader\b/);
  }, 60_000);
});
