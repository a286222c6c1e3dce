/**
 * Watches in the deterministic simulation (docs/testing.md#simulation, scripts/lib/sim/watchers.ts):
 * the locks and permits workloads (odd seeds locks, even seeds permits) with five watchers,
 * one per selection, that follow watches across nodes through crashes, partitions, leader
 * changes and random moves, resuming from the index after the last event they received, and
 * resyncing on `COMPACTED` (the nodes keep histories of 20, 60 or 100,000 events). Each
 * watcher's stream must equal, segment by segment, the events derived from the committed log
 * applied again to a fresh machine: no gap, no duplicate, in order. Bar: 300 seeds, 0
 * violations, resumes, node switches and resyncs all seen. The negative control (a watch
 * resumed from the history loses its first event) must be caught.
 *
 * 1,500 events per seed keeps the file near 15 s of CPU. Replay one seed with the printed
 * command, or `SIM_SEED=… npx vitest run test/sim/watch-seeds`.
 */
import { describe, expect, it } from 'vitest';
import type { WatchStats } from '../../scripts/lib/sim/watchers.js';
import { runSeed, type SimResult, type Workload } from '../../scripts/lib/sim/world.js';
import { nodesFor, seedRange } from './support.js';

const EVENTS = 1500;
const WATCHERS = 5;

function workloadOf(seed: number): Workload {
  return seed % 2 === 1 ? 'locks' : 'permits';
}

function run(seed: number, dropOneOnResume = false): SimResult {
  return runSeed({
    seed,
    events: EVENTS,
    nodes: nodesFor(seed),
    workload: workloadOf(seed),
    watch: { watchers: WATCHERS, dropOneOnResume },
  });
}

function replay(r: SimResult, drop: boolean): string {
  return `npm run sim -- --seed ${r.seed} --nodes ${r.nodes} --events ${EVENTS} --workload ${r.workload} --watchers ${WATCHERS}${drop ? ' --watch-drop-one' : ''}`;
}

describe('watch simulation', () => {
  it('every watcher receives the committed log’s events, across resumes, node switches and resyncs', { timeout: 300_000 }, () => {
    const total: WatchStats = { subscribes: 0, resumes: 0, switches: 0, resyncs: 0, progress: 0, events: 0 };
    const failures: string[] = [];
    const seeds = seedRange(1, 300);
    const started = performance.now();
    for (const seed of seeds) {
      const r = run(seed);
      for (const k of Object.keys(total) as Array<keyof WatchStats>) total[k] += r.watch?.[k] ?? 0;
      if (r.violations.length > 0)
        failures.push(`seed ${seed} failed; replay with: ${replay(r, false)}\n  ${r.violations.slice(0, 5).join('\n  ')}`);
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `watch sim: ${seeds.length} seeds in ${secs} s, ${total.subscribes} watches started (${total.resumes} resumed), ` +
        `${total.switches} node switches, ${total.resyncs} resyncs, ${total.progress} progress frames, ${total.events} events checked, ${failures.length} failing`,
    );
    expect(failures, failures.join('\n')).toEqual([]);
    if (seeds.length > 1) {
      // A run where watchers stopped moving or never fell behind would pass vacuously.
      for (const [what, n] of Object.entries({
        resumes: total.resumes,
        switches: total.switches,
        resyncs: total.resyncs,
        progress: total.progress,
        events: total.events,
      }))
        expect(n, `no ${what} in ${seeds.length} seeds`).toBeGreaterThan(0);
    }
  });

  it('negative control: a resumed watch that loses one event is caught', () => {
    let caught: SimResult | undefined;
    for (const seed of seedRange(1, 100)) {
      caught = run(seed, true);
      if (caught.violations.length > 0) break;
      caught = undefined;
    }
    console.log(`--watch-drop-one: caught at seed ${caught?.seed ?? 'none'}: ${caught?.violations[0] ?? ''}`);
    expect(caught, 'dropping one event on resume was not caught in 100 seeds').toBeDefined();
    expect(caught?.violations.join('\n')).toMatch(/watcher \d+, segment \d+ .*received .* the committed log has/);
  });
});
