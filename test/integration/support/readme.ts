/**
 * The README's code blocks as the tests run them: taken from README.md as written, with only the
 * endpoint list pointed at the test cluster, and run as a user would, in a child `node`.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { REPO } from '../../../scripts/lib/build.js';

/** The endpoint list every README example connects to (`npm start`'s cluster). */
const README_ENDPOINTS = "['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103']";

/** The README section whose SDK examples (the TypeScript quick start, `quickstart.mjs`, `app.cjs`) the tests run. */
export const SDK_SECTION = '## Using locks and counters from TypeScript';

/** The README section of semaphores, readers-writer locks, multi-locks, listing and breaking locks. */
export const PRIMITIVES_SECTION = '## Semaphores, readers-writer locks, multi-locks, listing';

/** The section of README.md under `heading`, up to the next heading of any level. */
function readmeSection(heading: string): string {
  const text = readFileSync(join(REPO, 'README.md'), 'utf8');
  const at = text.indexOf(`${heading}\n`);
  if (at < 0) throw new Error(`README.md has no heading ${JSON.stringify(heading)}`);
  const body = text.slice(at + heading.length + 1);
  const next = /^#{1,6} /m.exec(body);
  return next === null ? body : body.slice(0, next.index);
}

/**
 * A code block of the README section under `heading`: the first ```ts block, or the ```js block
 * whose first line is `// <file>` (the file name the README tells the reader to save it as).
 */
function readmeBlock(heading: string, block: { readonly ts: true } | { readonly js: string }): string {
  const fences = [...readmeSection(heading).matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)];
  const found =
    'ts' in block
      ? fences.find((m) => m[1] === 'ts')
      : fences.find((m) => m[1] === 'js' && (m[2] as string).startsWith(`// ${block.js}\n`));
  const what = 'ts' in block ? 'a ```ts block' : `a \`\`\`js block starting with "// ${block.js}"`;
  if (found === undefined) throw new Error(`README.md section ${JSON.stringify(heading)} has no ${what}`);
  return found[2] as string;
}

/** `block` with {@link README_ENDPOINTS} replaced by `endpoints`; throws if the block does not list them. */
function pointAt(block: string, endpoints: readonly string[]): string {
  if (!block.includes(README_ENDPOINTS)) throw new Error(`the README block does not connect to ${README_ENDPOINTS}:\n${block}`);
  return block.replace(README_ENDPOINTS, `[${endpoints.map((e) => `'${e}'`).join(', ')}]`);
}

/** What a child process printed, and how it ended. */
export interface RunResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs `node ...args` in `cwd` to its end (no deadline: the caller's test timeout bounds it). */
export function runNode(args: readonly string[], cwd: string): Promise<RunResult> {
  const child = spawn(process.execPath, [...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * Runs one SDK example of the README as a user would: saves its block of `section` as
 * `file` in `dir` (a `.ts` file gets the section's ```ts block, any other file the ```js block
 * headed `// <file>`), pointed at `endpoints`, and runs `node ...nodeArgs file` there to its end.
 * Fails the calling test unless the example exits 0 with nothing on stderr; returns the lines it
 * printed on stdout.
 */
export async function runReadmeExample(
  file: string,
  dir: string,
  endpoints: readonly string[],
  nodeArgs: readonly string[] = [],
  section = SDK_SECTION,
): Promise<string[]> {
  const block = readmeBlock(section, file.endsWith('.ts') ? { ts: true } : { js: file });
  writeFileSync(join(dir, file), pointAt(block, endpoints));
  const r = await runNode([...nodeArgs, file], dir);
  expect(r.err, `${file} wrote to stderr`).toBe('');
  expect(r.code, `${file}'s exit code (stdout: ${r.out})`).toBe(0);
  return r.out.trim().split('\n');
}
