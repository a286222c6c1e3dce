/**
 * The chaos run in CI (docs/testing.md#chaos), driven through its entry point as a user
 * runs it (`npm run chaos`, here `tsx scripts/chaos.ts`): a 30-second 3-node run with the kill,
 * pause and partition nemeses must pass (history linearizable, no stale write through the
 * fenced resource, replicas converged, a leader within 3 s of the last heal); and the negative
 * control (docs/testing.md#negative-controls), the same kind of run with fencing off under
 * client pauses, must report the stale write. Seeds are fixed and printed; a failed run's
 * records stay in its temporary folder.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../scripts/lib/chaos/types.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface ChaosRun {
  readonly code: number | null;
  readonly summary: Summary;
  readonly out: string;
  /** The run's progress lines (stderr) and its verdict line (stdout), for failure messages. */
  readonly log: string;
}

/** Runs `scripts/chaos.ts ARGS --out <temp>`; interrupted (SIGTERM) if it outlives `limitMs`. */
async function chaos(name: string, args: readonly string[], limitMs: number): Promise<ChaosRun> {
  const out = mkdtempSync(join(tmpdir(), `raftlock-chaos-${name}-`));
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/chaos.ts'), ...args, '--out', out], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const limit = setTimeout(() => child.kill('SIGTERM'), limitMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(limit);
  let summary: Summary;
  try {
    summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
  } catch (err) {
    throw new Error(`chaos ${args.join(' ')} exited with ${code} and wrote no summary (${String(err)}); records in ${out}\n${log}`);
  }
  return { code, summary, out, log };
}

describe('chaos', () => {
  it('30 s, 3 nodes, kill + pause + partition: linearizable, fenced, converged, leader after heal', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 30);
    const r = await chaos(
      'ci',
      [
        '--nodes',
        '3',
        '--duration',
        '30s',
        '--nemesis',
        'kill,pause,partition',
        '--workload',
        'counters,locks',
        '--clients',
        '8',
        '--seed',
        String(seed),
      ],
      170_000,
    );
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}\n${JSON.stringify(s.anomalies, null, 1)}`;
    expect(s.anomalies, context).toEqual([]);
    expect(s.verdict, context).toBe('pass');
    expect(r.code, context).toBe(0);
    expect(s.faults, context).toBeGreaterThanOrEqual(5);
    expect(s.ops.checked, context).toBeGreaterThan(1_000);
    expect(s.hashesEqual, context).toBe(true);
    expect(s.resource.accepted, context).toBeGreaterThan(0);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);

  it('negative control: with fencing off, client pauses let a stale holder write, and the run says so', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 31);
    const r = await chaos(
      'no-fencing',
      [
        '--nodes',
        '3',
        '--duration',
        '20s',
        '--nemesis',
        'pause',
        '--workload',
        'locks',
        '--clients',
        '8',
        '--seed',
        String(seed),
        '--no-fencing',
      ],
      170_000,
    );
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}`;
    expect(s.verdict, context).toBe('fail');
    expect(r.code, context).toBe(1);
    expect(s.anomalies.filter((a) => a.kind === 'stale-write').length, context).toBeGreaterThan(0);
    // The stale write is the only kind of anomaly: the cluster itself stayed correct.
    expect(
      s.anomalies.filter((a) => a.kind !== 'stale-write'),
      context,
    ).toEqual([]);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);
});
