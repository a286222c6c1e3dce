/**
 * Deterministic simulation, part 1 of 4 (seeds 1–250): whole 3- and 5-node clusters of
 * real hosts over simulated disks and networks with every fault the nemesis knows; safety
 * invariants after every event, linearizability of the register history per seed, liveness
 * after healing in every other seed. Bar (docs/testing.md#simulation): ≥ 500 seeds × 2,000 events, 0
 * violations; CI runs 1,000.
 */
import { describe, it } from 'vitest';
import { expectSeedsClean } from './support.js';

describe('simulation (part 1)', () => {
  it('runs its seeds with 0 violations', () => expectSeedsClean('sim part 1', 1, 250));
});
