/**
 * Deterministic simulation of the lock/counter service, part 1 of 2 (seeds 1–250): real hosts
 * running LockMachine through LockService on 3- and 5-node clusters under every fault the
 * nemesis knows; clients retry the same (session, seq) through failovers. Per seed: Raft
 * invariants after every event, replica states identical at equal applied indexes, counter
 * histories linearizable (unique deltas: exactly-once) with a final read of every counter,
 * lock histories with the fenced-mutex model (exclusive grants, increasing tokens, fenced
 * writes applied only with the holder's token). Bar: ≥ 500 seeds, 0 violations.
 * Replay one seed: `SIM_SEED=… npx vitest run test/sim/lock-seeds` or the printed command.
 */
import { describe, it } from 'vitest';
import { expectSeedsClean } from './support.js';

describe('lock/counter simulation (part 1)', () => {
  it('runs its seeds with 0 violations', () => expectSeedsClean('locks sim part 1', 1, 250, 'locks'));
});
