/**
 * The package as a user's project sees it: `import { connect } from 'raftlock'`
 * and `import { startNode } from 'raftlock/server'` resolve through package.json `exports` to the
 * built `dist/` with its declarations, type-check under strict NodeNext, and load at runtime;
 * from CommonJS, `require()` gives the same modules and TypeScript finds the same types.
 * Needs `dist/` (`npm run build`; `npm test` and `npm start` build it first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');
let project: string;

const CONSUMER = `
import { connect, RaftlockError, LockTimeoutError, UnavailableError, type Lock, type RaftlockErrorCode } from 'raftlock';
import { startNode } from 'raftlock/server';

export async function demo(): Promise<number> {
  const client = await connect({ endpoints: ['127.0.0.1:7101'], sessionTtlMs: 10_000 });
  try {
    await using lock = await client.lock('orders', { waitMs: 5_000 });
    const held: Lock = lock;
    const signal: AbortSignal = held.signal;
    void signal;
    return await client.counter('hits').add(1, { fence: { lock: 'orders', token: lock.fencingToken } });
  } catch (err) {
    if (err instanceof LockTimeoutError) return -1;
    if (err instanceof UnavailableError && err.outcomeUnknown) return -2;
    if (err instanceof RaftlockError) { const code: RaftlockErrorCode = err.code; void code; }
    throw err;
  } finally {
    await client.close();
  }
}
export const start: typeof startNode = startNode;
`;

const MISUSE = `
import { connect } from 'raftlock';
const client = await connect({ endpoints: ['127.0.0.1:7101'] });
// A counter takes integers, and a lock's token is read-only: both must be type errors.
await client.counter('hits').add('1');
const lock = await client.lock('orders');
lock.fencingToken = 5;
`;

/** A CommonJS consumer: under `nodenext` it is CommonJS by its `.cts` extension. */
const CJS_CONSUMER = `
import { connect, LockTimeoutError, type Lock } from 'raftlock';
import raftlock = require('raftlock');
import { startNode } from 'raftlock/server';

export async function demo(): Promise<number> {
  const client = await connect({ endpoints: ['127.0.0.1:7101'] });
  try {
    const lock: Lock = await client.lock('orders', { waitMs: 5_000 });
    return await client.counter('hits').add(1, { fence: { lock: 'orders', token: lock.fencingToken } });
  } catch (err) {
    if (err instanceof LockTimeoutError || err instanceof raftlock.UnavailableError) return -1;
    throw err;
  } finally {
    await client.close();
  }
}
export const start: typeof startNode = startNode;
`;

/** Type-checks `file` of the consumer project under strict NodeNext, or with `options` overriding it. */
function tsc(file: string, options: Readonly<Record<string, unknown>> = {}): { status: number | null; out: string } {
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2022', 'ESNext.Disposable', 'DOM'],
        types: ['node'],
        noEmit: true,
        skipLibCheck: false,
        ...options,
      },
      files: [file],
    }),
  );
  const r = spawnSync(process.execPath, [TSC, '-p', project], { cwd: project, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist/client/index.d.ts'))) throw new Error('dist/ is missing: run `npm run build` (`npm test` does)');
  project = mkdtempSync(join(tmpdir(), 'raftlock-consumer-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
  mkdirSync(join(project, 'node_modules/@types'), { recursive: true });
  symlinkSync(REPO, join(project, 'node_modules/raftlock'), 'dir');
  symlinkSync(join(REPO, 'node_modules/@types/node'), join(project, 'node_modules/@types/node'), 'dir');
});

afterAll(() => {
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

describe('package exports', () => {
  it("`import { connect } from 'raftlock'` type-checks in a strict NodeNext project", () => {
    writeFileSync(join(project, 'consumer.ts'), CONSUMER);
    const r = tsc('consumer.ts');
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('a CommonJS TypeScript file type-checks, under nodenext and under the older commonjs resolution', () => {
    writeFileSync(join(project, 'consumer.cts'), CJS_CONSUMER);
    const nodenext = tsc('consumer.cts');
    expect(nodenext.out).toBe('');
    expect(nodenext.status).toBe(0);
    // `"module": "commonjs"` resolves like Node 10: no `exports`, only package.json's `types` and
    // `typesVersions`. Such projects set esModuleInterop (tsc --init does), which the
    // declarations of raftlock/server need for their default import of `ws`.
    const node10 = tsc('consumer.cts', { module: 'CommonJS', moduleResolution: 'node10', esModuleInterop: true });
    expect(node10.out).toBe('');
    expect(node10.status).toBe(0);
  }, 120_000);

  it('misuse is a type error there (so the check above can fail)', () => {
    writeFileSync(join(project, 'misuse.ts'), MISUSE);
    const r = tsc('misuse.ts');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/misuse\.ts\(5,.*not assignable to parameter of type 'number'/);
    expect(r.out).toMatch(/misuse\.ts\(7,.*read-only property/);
  }, 60_000);

  it('the SDK declarations leave out what src/client marks @internal (stripInternal)', () => {
    const dir = join(REPO, 'dist/client');
    // Per file, the @internal declarations of src/client: members of RaftlockClient, Lock and
    // Counter, and the types only they use.
    const internal: Readonly<Record<string, readonly string[]>> = {
      'client.d.ts': ['open', 'releaseLock', 'write', 'read'],
      'lock.d.ts': ['LockOwner', 'session', 'onGone', 'onLeaseLost', 'releasedInBackground', 'closed'],
      'counter.d.ts': ['SessionWriteOp', 'WriteBody', 'ReadBody', 'CounterOwner'],
      'detached-session.d.ts': ['DetachedSessions'],
    };
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.d.ts'))) {
      const dts = readFileSync(join(dir, file), 'utf8');
      expect(dts, file).not.toContain('@internal'); // a stripped declaration takes its comment along
      for (const name of internal[file] ?? []) {
        const declared = new RegExp(`^\\s*(?:export |declare |private |readonly |get |class |interface |type )*${name}\\b`, 'm');
        expect(dts, `${file} declares ${name}`).not.toMatch(declared);
      }
    }
  });

  it('both entry points load at runtime from the built package', () => {
    const script =
      "const c = await import('raftlock'); const s = await import('raftlock/server'); console.log(typeof c.connect, typeof c.RaftlockError, typeof s.startNode);";
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function function');
  }, 60_000);

  it('both entry points load with require() from CommonJS, as the very modules import gives', () => {
    // require(esm) (Node >= 20.19) returns the ES module's namespace, so there is one copy of
    // each class: an error thrown by the SDK passes `instanceof` whichever way it was loaded.
    const script = [
      "const c = require('raftlock'); const s = require('raftlock/server');",
      "import('raftlock').then((m) => console.log(typeof c.connect, typeof s.startNode, m.RaftlockError === c.RaftlockError));",
    ].join(' ');
    const r = spawnSync(process.execPath, ['--input-type=commonjs', '-e', script], { cwd: project, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function true');
  }, 60_000);
});
