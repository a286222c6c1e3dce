/**
 * Negative controls of the lock/counter simulation (docs/testing.md#negative-controls): with the lock
 * machine's deliberate bugs switched on, the locks workload must report a violation within 500
 * seeds. `dedup-off`: a retried write is executed again (caught by the counter or lock history
 * of clients retrying through failovers). `local-clock-expiry`: expiry is computed from each
 * replica's own (skewed) clock during apply (caught by replicas diverging at equal indexes).
 * `no-wait-grace`: queued waits get no leader-change grace, so a new leader whose clock is
 * ahead times them out early (caught by a client's `timed-out` coming before its `waitMs`).
 * `lock-all-first-only`: `acquire-all` decides on an immediate grant by its first lock alone and
 * takes the others even when held (caught by the lock history of one of those others: two
 * holders at once, or the first holder's fenced write refused or its release answered NOT_HELD
 * while the model says it holds the lock). `release-extra-permit` (the permits workload): every
 * release of a semaphore permit or a readers-writer lock grant frees one permit more than it
 * held, so more are granted than the resource has (caught by a semaphore's or readers-writer
 * lock's history: a writer granted while a reader holds, weights above the permit count; or by
 * what follows from the miscount: a snapshot refused on restore, replicas diverging).
 * `two-leaders` (the elections workload): elections are resources of two permits, so a second
 * candidate leads while the first still does (caught by an election's history: a campaign
 * granted while another session leads).
 */
import { describe, expect, it } from 'vitest';
import type { BugName, Workload } from '../../scripts/lib/sim/world.js';
import { firstFailing, seedRange } from './support.js';

const CASES: ReadonlyArray<{ readonly bug: BugName; readonly workload: Workload }> = [
  { bug: 'dedup-off', workload: 'locks' },
  { bug: 'local-clock-expiry', workload: 'locks' },
  { bug: 'no-wait-grace', workload: 'locks' },
  { bug: 'lock-all-first-only', workload: 'locks' },
  { bug: 'release-extra-permit', workload: 'permits' },
  { bug: 'two-leaders', workload: 'elections' },
];

describe('lock negative controls: the simulator catches each deliberate machine bug within 500 seeds', () => {
  for (const { bug, workload } of CASES) {
    it(`--bug ${bug} (--workload ${workload})`, () => {
      const { result, ran, events } = firstFailing(seedRange(1, 500), { bug, workload });
      console.log(
        `--bug ${bug} --workload ${workload}: caught at seed ${result?.seed ?? 'none'} after ${ran} seeds, ${events} events: ${result?.violations[0]?.split('\n')[0] ?? ''}`,
      );
      expect(result, `--bug ${bug} was not caught in 500 seeds`).toBeDefined();
    });
  }
});
