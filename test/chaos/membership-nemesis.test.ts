/**
 * The membership nemesis's decisions (scripts/lib/chaos/membership-plan.ts), without processes: which
 * step a change still needs given the leader's configuration, which kind of change comes next
 * (voters kept within 3–5, the kind committed least first), and how a failed `raftlock member`
 * command's message maps to an outcome (the refusal reasons the nemesis records and retries).
 */
import { describe, expect, it } from 'vitest';
import { chooseKind, classifyCliFailure, nextStep } from '../../scripts/lib/chaos/membership-plan.js';
import { Rng } from '../../scripts/lib/rng.js';
import type { MembersView } from '../../src/server/index.js';
import { refusalMessage } from '../../src/server/member-routes.js';

function view(voters: readonly number[], learners: readonly number[] = [], changePending = false): MembersView {
  const row = (id: number, role: 'voter' | 'learner'): MembersView['members'][number] => ({
    id,
    address: `127.0.0.1:${7700 + id}`,
    role,
    match: null,
    lag: null,
    reachable: null,
  });
  return {
    from: voters[0] ?? 0,
    leader: voters[0] ?? 0,
    leaderAddress: null,
    term: 1,
    configIndex: 1,
    changePending,
    members: [...voters.map((id) => row(id, 'voter')), ...learners.map((id) => row(id, 'learner'))],
  };
}

describe('nextStep', () => {
  it('adds the newcomer as a learner, promotes it, then removes the node that leaves, and is done after', () => {
    const replace = { join: 4, leave: 2 };
    expect(nextStep(replace, view([1, 2, 3]))).toEqual({ action: 'add-learner', id: 4 });
    expect(nextStep(replace, view([1, 2, 3], [4]))).toEqual({ action: 'promote', id: 4 });
    expect(nextStep(replace, view([1, 2, 3, 4]))).toEqual({ action: 'remove', id: 2 });
    expect(nextStep(replace, view([1, 3, 4]))).toBeUndefined();
  });

  it('an add ends with the newcomer a voter; a remove with the node gone, learner or voter', () => {
    expect(nextStep({ join: 5 }, view([1, 2, 3], [5]))).toEqual({ action: 'promote', id: 5 });
    expect(nextStep({ join: 5 }, view([1, 2, 3, 5]))).toBeUndefined();
    expect(nextStep({ leave: 5 }, view([1, 2, 3], [5]))).toEqual({ action: 'remove', id: 5 });
    expect(nextStep({ leave: 1 }, view([2, 3]))).toBeUndefined();
  });
});

describe('chooseKind', () => {
  const none = { add: 0, remove: 0, replace: 0 };

  it('keeps the voters between 3 and 5', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = new Rng(seed);
      expect(['add', 'replace']).toContain(chooseKind(3, true, none, r));
      expect(chooseKind(5, true, none, r)).toBe('remove');
      expect(['add', 'replace', 'remove']).toContain(chooseKind(4, true, none, r));
    }
  });

  it('without a spare slot, only removes (and nothing at 3 voters)', () => {
    const r = new Rng(1);
    expect(chooseKind(3, false, none, r)).toBeUndefined();
    expect(chooseKind(4, false, none, r)).toBe('remove');
  });

  it('takes the kind committed the fewest times, so that a short run makes every kind', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = new Rng(seed);
      expect(chooseKind(4, true, { add: 1, remove: 0, replace: 1 }, r)).toBe('remove');
      expect(chooseKind(4, true, { add: 1, remove: 1, replace: 0 }, r)).toBe('replace');
      expect(chooseKind(3, true, { add: 2, remove: 0, replace: 1 }, r)).toBe('replace');
    }
  });

  it('breaks ties with its random source: both kinds come up', () => {
    const seen = new Set<string | undefined>();
    for (let seed = 1; seed <= 50; seed++) seen.add(chooseKind(3, true, none, new Rng(seed)));
    expect([...seen].sort()).toEqual(['add', 'replace']);
  });
});

describe('classifyCliFailure', () => {
  it("maps the leader's refusal, as the command prints it, to its reason", () => {
    for (const reason of ['change-pending', 'not-ready', 'learner-behind', 'transfer-in-progress'] as const) {
      const stderr = `raftlock: promote 4: CHANGE_REFUSED: ${refusalMessage(reason, 4)}\n`;
      expect(classifyCliFailure(stderr, [4, 2])).toEqual({ outcome: 'refused', reason });
    }
  });

  it('a learner that did not catch up in time, or no leader, are refusals to retry', () => {
    expect(classifyCliFailure('raftlock: node 4 has not caught up within 10000 ms (lag 900): …\n', [4])).toEqual({
      outcome: 'refused',
      reason: 'learner-behind',
    });
    expect(classifyCliFailure('raftlock: no leader is known: is a majority of the voters up? (raftlock status)\n', [4])).toEqual({
      outcome: 'refused',
      reason: 'leader-unknown',
    });
  });

  it('UNAVAILABLE leaves the outcome unknown; anything else is a failure, with its message', () => {
    const unknown = classifyCliFailure(
      'replacing node 2 by node 4\nraftlock: remove 2: UNAVAILABLE: leadership changed (term 3)\n',
      [2, 4],
    );
    expect(unknown).toEqual({ outcome: 'unknown', reason: 'remove 2: UNAVAILABLE: leadership changed (term 3)' });
    expect(classifyCliFailure('raftlock: fetch failed\n', [4])).toEqual({ outcome: 'failed', reason: 'fetch failed' });
  });
});
