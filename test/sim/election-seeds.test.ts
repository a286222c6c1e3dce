/**
 * Deterministic simulation of leader elections (seeds 1–500, the 'elections' workload): the
 * lock/counter clients of lock-seeds-*.test.ts, half of whose cycles campaign in one of two
 * elections, waiting or not (and sometimes withdraw while waiting), proclaim new values while
 * leading, read who leads (a linearizable `election-info`), write fenced with `{ lock, kind:
 * 'election', token }`, stall past their TTL sometimes, try tokens they held before (which must
 * be refused), and resign. Per seed: everything the lock seeds check, and each election's
 * history with the checker's election model (one leader at a time, tokens that only grow, a
 * leader's value one it campaigned with or proclaimed, proclaims and fenced writes accepted only
 * from the leader with its token). Bar: ≥ 500 seeds, 0 violations, every kind of outcome seen.
 * Replay one seed: `SIM_SEED=… npx vitest run test/sim/election-seeds` or the printed command.
 */
import { describe, it } from 'vitest';
import { expectSeedsClean } from './support.js';

describe('leader election simulation', () => {
  it('runs its seeds with 0 violations', { timeout: 300_000 }, () => expectSeedsClean('elections sim', 1, 500, 'elections'));
});
