/**
 * Quorum arithmetic as pure functions (the etcd-io/raft `quorum/` split): given a voter set and
 * what each voter reported, what is committed and who won. Property-tested against naive
 * references in test/property.
 */
import type { NodeId } from './types.js';

/** Outcome of counting votes. */
export type VoteResult = 'won' | 'lost' | 'pending';

/** Size of a majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The highest index that a majority of `voters` have durably matched (Raft §5.3, §5.4.2: an
 * entry is committed once stored on a majority; the leader also checks its term separately).
 * Voters with no report count as 0. An empty voter set returns +Infinity, so that an absent
 * configuration never restricts (needed for joint configurations later).
 */
export function committedIndex(voters: ReadonlySet<NodeId>, matchOf: (id: NodeId) => number | undefined): number {
  const n = voters.size;
  if (n === 0) return Number.POSITIVE_INFINITY;
  const matched: number[] = [];
  for (const id of voters) matched.push(matchOf(id) ?? 0);
  // Sort descending; the majority-th highest value is matched by at least a majority.
  matched.sort((a, b) => b - a);
  const value = matched[majority(n) - 1];
  return value ?? 0;
}

/**
 * Tallies votes (Raft §5.2: a candidate wins with votes from a majority of the voters). Votes
 * from non-voters are ignored. An empty voter set wins, by the same convention as above.
 */
export function voteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = majority(voters.size);
  if (granted >= q) return 'won';
  if (voters.size - rejected < q) return 'lost';
  return 'pending';
}
