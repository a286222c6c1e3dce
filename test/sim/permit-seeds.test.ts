/**
 * Deterministic simulation of semaphores and readers-writer locks (seeds 1–500, the 'permits'
 * workload): the lock/counter clients of lock-seeds-*.test.ts, half of whose cycles take a
 * permit of a semaphore of 2 or 3 permits (weight 1 or 2) or a read or write grant of a
 * readers-writer lock, waiting or not, write fenced with `{ lock, kind, token }` while holding
 * (readers' writes must be FENCED, and so must writes with an old token), stall past their TTL
 * sometimes, and release by the acquire's seq. Per seed: everything the lock seeds check, and
 * each resource's history with the checker's semaphore or readers-writer lock model (at most N
 * permits held, one writer or many readers, tokens that only grow, fenced writes applied only
 * for a holder with its token). Bar: ≥ 500 seeds, 0 violations, every kind of grant and fenced
 * write seen. Replay one seed: `SIM_SEED=… npx vitest run test/sim/permit-seeds` or the printed
 * command.
 */
import { describe, it } from 'vitest';
import { expectSeedsClean } from './support.js';

describe('semaphore and readers-writer lock simulation', () => {
  it('runs its seeds with 0 violations', { timeout: 300_000 }, () => expectSeedsClean('permits sim', 1, 500, 'permits'));
});
