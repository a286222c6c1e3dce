/**
 * Quorum arithmetic (src/raft/quorum.ts) against naive, obviously-correct references.
 *
 * The optimised code sorts matches and picks one by position, and tallies votes with early
 * arithmetic; the references below brute-force the definitions instead. Each property also runs
 * against a deliberately broken copy (negative control) to show that it can fail.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { committedIndex, majority, voteResult, type VoteResult } from '../../src/raft/quorum.js';
import type { NodeId } from '../../src/raft/types.js';
import { expectCaught } from './check.js';

type CommittedIndexFn = (voters: ReadonlySet<NodeId>, matchOf: (id: NodeId) => number | undefined) => number;
type VoteResultFn = (voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>) => VoteResult;

// ---------------------------------------------------------------------------------------------
// References: straight from the definitions, no cleverness.

/** Smallest k with 2k > n: the smallest group that overlaps every other group of that size. */
function refMajority(n: number): number {
  let k = 0;
  while (2 * k <= n) k++;
  return k;
}

/**
 * Largest i such that at least a majority of voters have match ≥ i (missing reports count as 0).
 * The answer is always 0 or one of the reported values, so those are the only candidates tried.
 */
function refCommittedIndex(voters: ReadonlySet<NodeId>, matchOf: (id: NodeId) => number | undefined): number {
  if (voters.size === 0) return Number.POSITIVE_INFINITY;
  const matches = [...voters].map((id) => matchOf(id) ?? 0);
  const candidates = [0, ...matches];
  let best = -1;
  for (const i of candidates) {
    const atLeast = matches.filter((m) => m >= i).length;
    if (atLeast >= refMajority(voters.size) && i > best) best = i;
  }
  return best;
}

function refVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'won';
  const q = refMajority(voters.size);
  const granted = [...voters].filter((id) => votes.get(id) === true).length;
  const rejected = [...voters].filter((id) => votes.get(id) === false).length;
  if (granted >= q) return 'won';
  if (voters.size - rejected < q) return 'lost';
  return 'pending';
}

// ---------------------------------------------------------------------------------------------
// Negative controls: copies of the production code with one deliberate off-by-one each.

const brokenCommittedIndex: CommittedIndexFn = (voters, matchOf) => {
  const n = voters.size;
  if (n === 0) return Number.POSITIVE_INFINITY;
  const matched = [...voters].map((id) => matchOf(id) ?? 0).sort((a, b) => b - a);
  return matched[majority(n)] ?? 0; // BUG: should be majority(n) - 1
};

const brokenVoteResult: VoteResultFn = (voters, votes) => {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = majority(voters.size);
  if (granted > q) return 'won'; // BUG: should be >=
  if (voters.size - rejected < q) return 'lost';
  return 'pending';
};

// ---------------------------------------------------------------------------------------------
// Arbitraries.

const nodeId = fc.integer({ min: 1, max: 20 });
const voterIds = fc.uniqueArray(nodeId, { minLength: 1, maxLength: 9 });

const nonVoterId = fc.integer({ min: 21, max: 40 });

/**
 * A voter set plus match reports: each voter reports a match or nothing (counts as 0), and some
 * non-voters (learners, removed nodes) report too, which must be ignored.
 */
const matchScenario = voterIds.chain((voters) =>
  fc.record({
    voters: fc.constant(voters),
    // Small index range so ties and equal values are common.
    reports: fc
      .tuple(
        fc.array(fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }), { minLength: voters.length, maxLength: voters.length }),
        fc.array(fc.tuple(nonVoterId, fc.integer({ min: 0, max: 12 })), { maxLength: 4 }),
      )
      .map(([own, others]) => [
        ...voters.flatMap((id, k): Array<[NodeId, number]> => {
          const m = own[k];
          return m === undefined ? [] : [[id, m]];
        }),
        ...others,
      ]),
  }),
);

/** A voter set plus votes: each voter granted, rejected or has not answered; non-voters vote too. */
const voteScenario = voterIds.chain((voters) =>
  fc.record({
    voters: fc.constant(voters),
    votes: fc
      .tuple(
        fc.array(fc.option(fc.boolean(), { nil: undefined }), { minLength: voters.length, maxLength: voters.length }),
        fc.array(fc.tuple(nonVoterId, fc.boolean()), { maxLength: 4 }),
      )
      .map(([own, others]) => [
        ...voters.flatMap((id, k): Array<[NodeId, boolean]> => {
          const v = own[k];
          return v === undefined ? [] : [[id, v]];
        }),
        ...others,
      ]),
  }),
);

function committedProperty(impl: CommittedIndexFn) {
  return fc.property(matchScenario, ({ voters, reports }) => {
    const set = new Set(voters);
    const matches = new Map(reports); // last report per id wins; unreported voters are absent
    const matchOf = (id: NodeId): number | undefined => matches.get(id);
    expect(impl(set, matchOf)).toBe(refCommittedIndex(set, matchOf));
  });
}

function voteProperty(impl: VoteResultFn) {
  return fc.property(voteScenario, ({ voters, votes }) => {
    const set = new Set(voters);
    const map = new Map(votes);
    expect(impl(set, map)).toBe(refVoteResult(set, map));
  });
}

describe('quorum: majority', () => {
  it('equals the smallest k with 2k > n, and two majorities always intersect', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (n) => {
        const q = majority(n);
        expect(q).toBe(refMajority(n));
        expect(2 * q).toBeGreaterThan(n); // any two quorums overlap
        if (n >= 1) expect(q).toBeLessThanOrEqual(n); // a quorum exists
      }),
      { numRuns: 1000 },
    );
  });
});

describe('quorum: committedIndex', () => {
  it('matches the brute-force reference for 1–9 voters with missing and non-voter reports', () => {
    fc.assert(committedProperty(committedIndex), { numRuns: 2000 });
  });

  it('is +Infinity for an empty voter set (an absent configuration never restricts)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(nodeId, fc.nat(100))), (reports) => {
        const m = new Map(reports);
        expect(committedIndex(new Set(), (id) => m.get(id))).toBe(Number.POSITIVE_INFINITY);
      }),
      { numRuns: 200 },
    );
  });

  it('is monotone: raising one voter’s match never lowers the committed index', () => {
    fc.assert(
      fc.property(matchScenario, fc.nat(8), fc.integer({ min: 1, max: 5 }), ({ voters, reports }, pick, raise) => {
        const set = new Set(voters);
        const before = new Map(reports);
        const id = voters[pick % voters.length] ?? 1;
        const after = new Map(before).set(id, (before.get(id) ?? 0) + raise);
        expect(committedIndex(set, (v) => after.get(v))).toBeGreaterThanOrEqual(committedIndex(set, (v) => before.get(v)));
      }),
      { numRuns: 1000 },
    );
  });

  it('negative control: the property finds an off-by-one copy', () => {
    const out = fc.check(committedProperty(brokenCommittedIndex), { numRuns: 2000, endOnFailure: true });
    expectCaught(out);
  });
});

describe('quorum: voteResult', () => {
  it('matches naive counting, ignoring votes from non-voters', () => {
    fc.assert(voteProperty(voteResult), { numRuns: 2000 });
  });

  it('an empty voter set wins, whatever votes arrived', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(nodeId, fc.boolean())), (votes) => {
        expect(voteResult(new Set(), new Map(votes))).toBe('won');
      }),
      { numRuns: 200 },
    );
  });

  it('votes from non-voters never change the outcome', () => {
    fc.assert(
      fc.property(voteScenario, fc.array(fc.tuple(nonVoterId, fc.boolean())), ({ voters, votes }, extra) => {
        const set = new Set(voters);
        const base = new Map(votes);
        const withOutsiders = new Map([...base, ...extra]);
        expect(voteResult(set, withOutsiders)).toBe(voteResult(set, base));
      }),
      { numRuns: 500 },
    );
  });

  it('negative control: the property finds an off-by-one copy', () => {
    const out = fc.check(voteProperty(brokenVoteResult), { numRuns: 2000, endOnFailure: true });
    expectCaught(out);
  });
});
