/**
 * The README's SDK quick starts, run as written against a real 3-node cluster, so the README
 * never shows an example that does not work: each block is taken from README.md, only its
 * endpoint list is pointed at the test cluster's free ports, and it runs in a user-like project
 * where `raftlock` resolves through the package's `exports` to this checkout's built `dist/`.
 * The TypeScript one runs through tsx; the plain-JavaScript ones (`quickstart.mjs`, `app.cjs`)
 * run with bare `node`, as Node 20 runs them (package-tarball.test.ts runs those two again from
 * the packed package).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../scripts/lib/build.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { PRIMITIVES_SECTION, runReadmeExample } from './support/readme.js';

/** The README section of leader elections and watches. */
const ELECTIONS_SECTION = '## Leader election and watches';

const TSX = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;

let cluster: ProcessCluster | undefined;
let project: string | undefined;

beforeAll(async () => {
  if (!existsSync(join(REPO, 'dist/client/index.js'))) throw new Error('dist/ is missing: run `npm run build` (`npm test` does)');
  project = mkdtempSync(join(tmpdir(), 'raftlock-readme-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme', type: 'module', private: true }));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(REPO, join(project, 'node_modules/raftlock'), 'dir');
  cluster = await ProcessCluster.create({ nodes: 3 });
  cluster.startAll();
  // Generous: the nodes start from source through tsx, on a machine other suites keep busy.
  await cluster.waitForLeader(cluster.ids, 60_000);
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

/** Runs the README example saved as `file` in the project, against the test cluster. */
function run(file: string, nodeArgs: readonly string[] = [], section?: string): Promise<string[]> {
  if (cluster === undefined || project === undefined) throw new Error('no cluster or project: beforeAll failed (see its error)');
  return runReadmeExample(file, project, cluster.endpoints, nodeArgs, section);
}

// They run one after the other on one cluster, so the counters count on from the first.
describe('README', () => {
  it('the TypeScript quick start runs as written and prints what it promises', async () => {
    const lines = await run('quickstart.ts', ['--import', TSX]);
    expect(lines[0]).toMatch(/^processed 1 orders under fencing token \d+$/);
    expect(lines.slice(1)).toEqual(['hits 1', 'cas false', expect.stringMatching(/^ran under token \d+$/), '{ waiters: 0 }']);
  }, 60_000);

  it('the plain-JavaScript quick start (quickstart.mjs) runs as written with bare node', async () => {
    expect(await run('quickstart.mjs')).toEqual([expect.stringMatching(/^processed 2 orders under fencing token \d+$/), 'hits 2']);
  }, 60_000);

  it('the CommonJS example (app.cjs) runs as written with bare node', async () => {
    expect(await run('app.cjs')).toEqual(['processed 3 orders']);
  }, 60_000);

  it('the semaphores, readers-writer locks, multi-locks and listing example runs as written', async () => {
    const lines = await run('primitives.ts', ['--import', TSX], PRIMITIVES_SECTION);
    expect(lines).toEqual([
      expect.stringMatching(/^permit with token \d+; 1 of 2 permits free$/),
      expect.stringMatching(/^read under token \d+$/),
      'config version 1',
      expect.stringMatching(/^moved money under token \d+ \(accounts\/alice, accounts\/bob\)$/),
      expect.stringMatching(/^accounts\/alice held by session \d+, accounts\/bob held by session \d+$/),
      'gpu-jobs 1',
      expect.stringMatching(/^lost: lock "nightly-report" \(token \d+\) was broken by an operator \(reason: hung for an hour\)$/),
    ]);
  }, 60_000);

  it('the leader election and watches example runs as written', async () => {
    const lines = await run('elections.ts', ['--import', TSX], ELECTIONS_SECTION);
    expect(lines).toEqual([
      'leader: none',
      expect.stringMatching(/^leading as host-a:8080 with token \d+$/),
      'then: host-a:8080, host-a:9090, none',
      expect.stringMatching(/^#\d+ granted orders\/42$/),
      expect.stringMatching(/^#\d+ counter-changed orders\/shipped$/),
      expect.stringMatching(/^#\d+ released orders\/42$/),
      'then orders/shipped = 2',
      expect.stringMatching(/^deploy free at #\d+$/),
      'visits = 0',
      'visits = 5',
    ]);
  }, 60_000);
});
