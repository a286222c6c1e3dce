/**
 * The availability checks of a chaos run (docs/operations.md#chaos-runs), through the run's
 * entry point and its `summary.json`: a 20-second 3-node run with the kill, pause and partition
 * nemeses must pass with the availability figures present (leadership polled, every client's
 * longest no-progress stretch within the bar, every node back within the bar after the final
 * heal, figures per fault kind); and the negative control, the same kind of run with the bars
 * scaled down to 1% (`RAFTLOCK_CHAOS_BAR_SCALE=0.01`, test-only), must fail with a
 * `client-no-progress` anomaly: the checks can fail. Seeds are fixed (or `CHAOS_SEED`) and
 * printed; a failed run's records stay in its temporary folder.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChaos, type ChaosRun } from './run-chaos.js';

const chaos = (name: string, args: readonly string[], env: Record<string, string>, limitMs: number): Promise<ChaosRun> =>
  runChaos(`availability-${name}`, args, limitMs, env);

const ARGS = ['--nodes', '3', '--duration', '20s', '--nemesis', 'kill,pause,partition', '--workload', 'counters,locks', '--clients', '6'];

describe('chaos availability checks', () => {
  it('20 s, 3 nodes, kill + pause + partition: availability figures in the summary, within the bars', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 31);
    const r = await chaos('pass', [...ARGS, '--seed', String(seed)], {}, 150_000);
    const s = r.summary;
    const a = s.availability;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}\n${JSON.stringify(s.anomalies, null, 1)}\n${JSON.stringify(a?.byKind)}`;
    expect(a, context).toBeDefined();
    if (a === undefined) return;
    // Leadership was sampled about every 100 ms through the 20 s.
    expect(a.leaderSamples, context).toBeGreaterThan(50);
    expect(Object.keys(a.clientGaps).sort(), context).toHaveLength(6);
    expect(a.worstGapMs, context).toBeLessThanOrEqual(a.bars.noProgressMs);
    expect(Object.keys(a.rejoinMs).sort(), context).toEqual(['1', '2', '3']);
    expect(a.healToRejoinMs, context).not.toBeNull();
    expect(a.healToRejoinMs ?? Infinity, context).toBeLessThanOrEqual(a.bars.rejoinMs);
    expect(a.faults.length, context).toBe(s.faults);
    expect(
      Object.values(a.byKind).reduce((n, k) => n + k.faults, 0),
      context,
    ).toBe(s.faults);
    expect(s.anomalies, context).toEqual([]);
    expect(s.verdict, context).toBe('pass');
    expect(r.code, context).toBe(0);
    expect(readFileSync(join(r.out, 'report.html'), 'utf8'), context).toContain('<section id="availability">');
    rmSync(r.out, { recursive: true, force: true });
  }, 170_000);

  it('negative control: the same run held to bars of 1% fails with client-no-progress', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 31);
    const r = await chaos('control', [...ARGS, '--seed', String(seed)], { RAFTLOCK_CHAOS_BAR_SCALE: '0.01' }, 150_000);
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}`;
    expect(s.availability?.bars.noProgressMs, context).toBe(20);
    expect(
      s.anomalies.map((x) => x.kind),
      context,
    ).toContain('client-no-progress');
    expect(s.verdict, context).toBe('fail');
    expect(r.code, context).toBe(1);
    rmSync(r.out, { recursive: true, force: true });
  }, 170_000);
});
