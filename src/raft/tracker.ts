/**
 * The cluster configuration (voters and learners) with one {@link Progress} per member and the
 * votes of the current election. Kept apart from the protocol logic so that membership change
 * is an edit of this tracker, not of the state machine in raft.ts.
 */
import { Progress } from './progress.js';
import { committedIndex, voteResult, type VoteResult } from './quorum.js';
import { invariant, type ConfState, type NodeId } from './types.js';

export class ProgressTracker {
  private votersSet = new Set<NodeId>();
  private learnersSet = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();

  constructor(
    private readonly maxInflightMsgs: number,
    private readonly maxInflightBytes: number,
  ) {}

  /** Replaces the configuration; every member gets a fresh Progress with `next` = `nextIndex`. */
  reset(conf: ConfState, nextIndex: number): void {
    for (const id of conf.voters) {
      invariant(!conf.learners.includes(id), () => `node ${id} is both voter and learner`);
    }
    this.votersSet = new Set(conf.voters);
    this.learnersSet = new Set(conf.learners);
    this.progress.clear();
    for (const id of conf.voters) this.progress.set(id, this.newProgress(nextIndex, false));
    for (const id of conf.learners) this.progress.set(id, this.newProgress(nextIndex, true));
    this.votes.clear();
  }

  /**
   * Moves to the next configuration of a membership change (membership.ts): members that stay
   * keep their Progress (a promoted learner becomes a voter with what it has matched), new ones
   * start probing at `nextIndex`, removed ones are forgotten. Votes of an election under way
   * are kept; the tally counts only the new voters.
   */
  applyConf(conf: ConfState, nextIndex: number): void {
    const members = new Set([...conf.voters, ...conf.learners]);
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    this.votersSet = new Set(conf.voters);
    this.learnersSet = new Set(conf.learners);
    for (const id of members) {
      const pr = this.progress.get(id);
      if (pr === undefined) this.progress.set(id, this.newProgress(nextIndex, this.learnersSet.has(id)));
      else pr.isLearner = this.learnersSet.has(id);
    }
  }

  /** Gives every member a fresh Progress (new leader), keeping the configuration. */
  resetProgress(nextIndex: number): void {
    for (const [id, pr] of this.progress) {
      this.progress.set(id, this.newProgress(nextIndex, pr.isLearner));
    }
  }

  private newProgress(nextIndex: number, isLearner: boolean): Progress {
    return new Progress(nextIndex, this.maxInflightMsgs, this.maxInflightBytes, isLearner);
  }

  get voters(): ReadonlySet<NodeId> {
    return this.votersSet;
  }

  get learners(): ReadonlySet<NodeId> {
    return this.learnersSet;
  }

  confState(): ConfState {
    return {
      voters: [...this.votersSet].sort((a, b) => a - b),
      learners: [...this.learnersSet].sort((a, b) => a - b),
    };
  }

  isVoter(id: NodeId): boolean {
    return this.votersSet.has(id);
  }

  isSingleton(): boolean {
    return this.votersSet.size === 1;
  }

  /** The index a majority of voters have matched (before the leader's current-term check). */
  committed(): number {
    return committedIndex(this.votersSet, (id) => this.progress.get(id)?.match);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records `id`'s vote unless it already voted this election (first answer wins). */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tally(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, v] of this.votes) {
      if (!this.votersSet.has(id)) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: voteResult(this.votersSet, this.votes) };
  }

  /**
   * CheckQuorum (thesis §6.2): true when a majority of voters (counting `self`) are active by
   * `isActive` (heard from within the last election timeout).
   */
  quorumActive(self: NodeId, isActive: (pr: Progress) => boolean): boolean {
    const active = new Map<NodeId, boolean>();
    for (const id of this.votersSet) {
      const pr = this.progress.get(id);
      active.set(id, id === self || (pr !== undefined && isActive(pr)));
    }
    return voteResult(this.votersSet, active) === 'won';
  }
}
