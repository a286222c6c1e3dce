/**
 * The README's SDK quick start, run as written against a real 3-node cluster, so the README
 * never shows an example that does not work: the block is taken from README.md, only its
 * endpoint list is pointed at the test cluster's free ports, and it runs in a user-like project
 * where `raftlock` resolves through the package's `exports` to the built `dist/`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../scripts/lib/cluster.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const README_ENDPOINTS = "['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103']";

/** The first ```ts block after `heading` in README.md. */
function readmeBlock(heading: string): string {
  const text = readFileSync(join(REPO, 'README.md'), 'utf8');
  const at = text.indexOf(heading);
  if (at < 0) throw new Error(`README.md has no heading ${JSON.stringify(heading)}`);
  const m = /```ts\n([\s\S]*?)```/.exec(text.slice(at));
  if (m === null) throw new Error(`no ts block after ${heading}`);
  return m[1] as string;
}

let cluster: ProcessCluster | undefined;
let project: string | undefined;
afterAll(async () => {
  await cluster?.destroy();
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

describe('README', () => {
  it('the SDK quick start runs as written and prints what it promises', async () => {
    if (!existsSync(join(REPO, 'dist/client/index.js'))) throw new Error('dist/ is missing: run `npm run build`');
    const block = readmeBlock('## Using locks and counters from TypeScript');
    expect(block).toContain(README_ENDPOINTS);
    cluster = await ProcessCluster.create({ nodes: 3 });
    cluster.startAll();
    await cluster.waitForLeader();
    const endpoints = `[${cluster.endpoints.map((e) => `'${e}'`).join(', ')}]`;
    project = mkdtempSync(join(tmpdir(), 'raftlock-readme-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme', type: 'module', private: true }));
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(REPO, join(project, 'node_modules/raftlock'), 'dir');
    writeFileSync(join(project, 'quickstart.ts'), block.replace(README_ENDPOINTS, endpoints));

    const child = spawn(process.execPath, ['--import', TSX, 'quickstart.ts'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^processed 1 orders under fencing token \d+$/);
    expect(lines.slice(1)).toEqual(['hits 1', 'cas false', expect.stringMatching(/^ran under token \d+$/), '{ waiters: 0 }']);
  }, 90_000);
});
