/**
 * The chaos run in CI (issue 7 §3): a 30-second 3-node run with the kill, pause and partition
 * nemeses must pass (history linearizable, no stale write through the fenced resource,
 * replicas converged, a leader within 3 s of the last heal); and the negative control, the same
 * kind of run with fencing off under client pauses, must report the stale write.
 * Seeds are fixed and printed; the run's records stay in a temporary folder on failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChaos, type ChaosOptions } from '../../scripts/chaos/run.js';

async function run(name: string, o: Omit<ChaosOptions, 'out' | 'log'>): Promise<{ summary: Awaited<ReturnType<typeof runChaos>>; out: string; lines: string[] }> {
  const out = mkdtempSync(join(tmpdir(), `raftlock-chaos-${name}-`));
  const lines: string[] = [];
  const summary = await runChaos({ ...o, out, log: (l) => lines.push(l) });
  return { summary, out, lines };
}

describe('chaos', () => {
  it('30 s, 3 nodes, kill + pause + partition: linearizable, fenced, converged, leader after heal', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 30);
    const r = await run('ci', { nodes: 3, durationMs: 30_000, nemeses: ['kill', 'pause', 'partition'], workloads: ['counters', 'locks'], clients: 8, seed, fencing: true });
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.lines.join('\n')}\n${JSON.stringify(s.anomalies, null, 1)}`;
    expect(s.anomalies, context).toEqual([]);
    expect(s.verdict, context).toBe('pass');
    expect(s.faults, context).toBeGreaterThanOrEqual(5);
    expect(s.ops.checked, context).toBeGreaterThan(1_000);
    expect(s.hashesEqual, context).toBe(true);
    expect(s.resource.accepted, context).toBeGreaterThan(0);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);

  it('negative control: with fencing off, client pauses let a stale holder write, and the run says so', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 31);
    const r = await run('no-fencing', { nodes: 3, durationMs: 20_000, nemeses: ['pause'], workloads: ['locks'], clients: 8, seed, fencing: false });
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.lines.join('\n')}`;
    expect(s.verdict, context).toBe('fail');
    expect(s.anomalies.filter((a) => a.kind === 'stale-write').length, context).toBeGreaterThan(0);
    // The stale write is the only kind of anomaly: the cluster itself stayed correct.
    expect(s.anomalies.filter((a) => a.kind !== 'stale-write'), context).toEqual([]);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);
});
