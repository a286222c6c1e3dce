/**
 * Runs `npm run chaos` (scripts/chaos.ts) as a child process for the chaos tests, and reads back
 * its summary: the tests judge a run by what a user would see of it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../../scripts/lib/build.js';
import type { RunConditions, Summary } from '../../scripts/lib/chaos/types.js';

/** A finished run: exit code, summary.json, where its records are, and its output. */
export interface ChaosRun {
  readonly code: number | null;
  readonly summary: Summary & RunConditions;
  readonly out: string;
  /** The run's progress lines (stderr) and its verdict line (stdout), for failure messages. */
  readonly log: string;
}

/**
 * Runs `scripts/chaos.ts ARGS --out <temp dir named after name>` with `env` added; interrupted
 * (SIGTERM) if it outlives `limitMs`. Throws, with the output, when it wrote no summary.
 */
export async function runChaos(
  name: string,
  args: readonly string[],
  limitMs: number,
  env: Record<string, string> = {},
): Promise<ChaosRun> {
  const out = mkdtempSync(join(tmpdir(), `raftlock-chaos-${name}-`));
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/chaos.ts'), ...args, '--out', out], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const limit = setTimeout(() => child.kill('SIGTERM'), limitMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(limit);
  let summary: Summary & RunConditions;
  try {
    summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary & RunConditions;
  } catch (err) {
    throw new Error(`chaos ${args.join(' ')} exited with ${code} and wrote no summary (${String(err)}); records in ${out}\n${log}`);
  }
  return { code, summary, out, log };
}
