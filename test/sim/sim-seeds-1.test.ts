/**
 * Deterministic simulation, part 1 of 2 (seeds 1–250): whole 3- and 5-node
 * clusters of real hosts over simulated disks and networks with every fault the nemesis knows;
 * safety invariants after every event, linearizability of the register history per seed,
 * liveness after healing in every other seed. Bar (TESTING §2): 500 seeds × 2,000 events, 0
 * violations.
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from './world.js';
import { EVENTS, describeFailure, nodesFor, seedRange } from './sim-support.js';

describe('simulation (part 1)', () => {
  it('runs its seeds with 0 violations', () => {
    const seeds = seedRange(1, 250);
    let events = 0;
    let liveness = 0;
    const failures: string[] = [];
    const started = performance.now();
    for (const seed of seeds) {
      const r = runSeed({ seed, events: EVENTS, nodes: nodesFor(seed) });
      events += r.events + r.livenessEvents;
      if (r.livenessEvents > 0) liveness++;
      if (r.violations.length > 0) failures.push(describeFailure(r));
    }
    const secs = (performance.now() - started) / 1000;
    console.log(`sim part 1: ${seeds.length} seeds, ${events} events (${Math.round(events / secs)} events/s), ${liveness} seeds with a liveness phase, ${failures.length} failing`);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(events).toBeGreaterThanOrEqual(seeds.length * EVENTS);
  });
});
