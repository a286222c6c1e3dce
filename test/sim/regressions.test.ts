/**
 * Seeds that once found a bug, replayed on every run beyond the regular 1–500 range. Each
 * names the bug it found.
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../scripts/lib/sim/world.js';
import { describeFailure, nodesFor } from './support.js';

const REGRESSIONS: ReadonlyArray<{ seed: number; bug: string }> = [
  { seed: 945, bug: 'host recovery adopted a newer installed snapshot in memory only: gap in the durable log' },
  { seed: 4326, bug: 'an ack queued in an older term was sent after a newer leader truncated its never-persisted entries' },
];

describe('simulation regressions', () => {
  for (const r of REGRESSIONS) {
    it(`seed ${r.seed}: ${r.bug}`, () => {
      const result = runSeed({ seed: r.seed, events: 2000, nodes: nodesFor(r.seed) });
      expect(result.violations, describeFailure(result)).toEqual([]);
    });
  }
});
