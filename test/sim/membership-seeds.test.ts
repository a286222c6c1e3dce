/**
 * Deterministic simulation under membership churn (docs/testing.md#simulation): the clusters of
 * the other seed files plus two spare nodes, and a leader asked for random changes (add a
 * learner, promote it, remove a member, the leader included) while the nemesis strikes. The
 * safety invariants count quorums in each candidate's own configuration, and no log may hold
 * two uncommitted configuration entries. Register seeds 1–250 and lock seeds 1–100, 0 violations,
 * and the leaders must really have taken changes.
 */
import { describe, expect, it } from 'vitest';
import { expectSeedsClean, EVENTS } from './support.js';

describe('simulation under membership churn', () => {
  // CPU-bound and longer than most: their own time limit, generous for a loaded 2-core machine.
  it('register workload: its seeds run with 0 violations, changes taken in every run on average', { timeout: 300_000 }, () => {
    const changes = expectSeedsClean('membership sim (register)', 1, 250, 'register', EVENTS, true);
    expect(changes).toBeGreaterThan(process.env.SIM_SEED !== undefined ? 0 : 250);
  });

  it('locks workload: its seeds run with 0 violations, with changes taken', { timeout: 300_000 }, () => {
    const changes = expectSeedsClean('membership sim (locks)', 1, 100, 'locks', EVENTS, true);
    expect(changes).toBeGreaterThan(process.env.SIM_SEED !== undefined ? 0 : 100);
  });
});
