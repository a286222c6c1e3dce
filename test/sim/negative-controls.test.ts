/**
 * Negative controls (docs/testing.md#negative-controls): each test-only bug breaks one rule, and the simulator must
 * report a violation within 500 seeds. The persistence bugs are also shown caught by their
 * consequences alone (lost commits, two leaders), with the direct persist-before-send check off.
 */
import { describe, expect, it } from 'vitest';
import { World, refusalViolations, type BugName } from '../../scripts/lib/sim/world.js';
import { firstFailing, seedRange } from './support.js';

const CASES: ReadonlyArray<{ bug: BugName; checkDurableClaims: boolean }> = [
  { bug: 'commit-prior-term', checkDurableClaims: true },
  { bug: 'vote-not-persisted', checkDurableClaims: true },
  { bug: 'ack-before-sync', checkDurableClaims: true },
  { bug: 'read-without-readindex', checkDurableClaims: true },
  { bug: 'vote-not-persisted', checkDurableClaims: false },
  { bug: 'ack-before-sync', checkDurableClaims: false },
];

describe('negative control: membership changes one at a time', () => {
  // The bug churns membership on its own; "consequences only" turns the direct check off, so a
  // committed entry put at risk or two leaders in a term must show it.
  for (const checkOneChangeAtATime of [true, false]) {
    const how = checkOneChangeAtATime ? 'all invariants' : 'consequences only';
    it(`--bug concurrent-conf-changes (${how})`, () => {
      const { result, ran, events } = firstFailing(seedRange(1, 500), { bug: 'concurrent-conf-changes', checkOneChangeAtATime });
      console.log(
        `--bug concurrent-conf-changes (${how}): caught at seed ${result?.seed ?? 'none'} after ${ran} seeds, ${events} events: ${result?.violations[0]?.split('\n')[0] ?? ''}`,
      );
      expect(result, 'concurrent membership changes were not caught in 500 seeds').toBeDefined();
      if (!checkOneChangeAtATime) expect(result?.violations.join('\n')).not.toMatch(/uncommitted configuration entries/);
    });
  }
});

describe('negative controls: the simulator catches each deliberate bug within 500 seeds', () => {
  for (const c of CASES) {
    const how = c.checkDurableClaims ? 'all invariants' : 'consequences only';
    it(`--bug ${c.bug} (${how})`, () => {
      const { result, ran, events } = firstFailing(seedRange(1, 500), c);
      console.log(
        `--bug ${c.bug} (${how}): caught at seed ${result?.seed ?? 'none'} after ${ran} seeds, ${events} events: ${result?.violations[0]?.split('\n')[0] ?? ''}`,
      );
      expect(result, `--bug ${c.bug} was not caught in 500 seeds`).toBeDefined();
    });
  }
});

// A run without a bug reports every peer message a node refused (docs/design.md#security): no
// correct member's message may be refused. This shows that report fires.
describe('negative control: a refused peer message is reported as a violation', () => {
  it('a heartbeat committing beyond the receiver’s log, delivered in a run without bugs', () => {
    const world = new World({ seed: 1, nodes: 3, events: 0 });
    expect(refusalViolations(world.nodes)).toEqual([]);
    world.network.deliver({ kind: 'message', message: { type: 'heartbeat', from: 2, to: 1, term: 5, commit: 99, context: null } });
    expect(refusalViolations(world.nodes)).toEqual([
      expect.stringMatching(/^node 1 refused 1 peer messages: t=0\.00: node 1 refused heartbeat from 2 in term 5 \(commit-beyond-log\)$/),
    ]);
  });
});
