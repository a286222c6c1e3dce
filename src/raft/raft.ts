/**
 * The Raft protocol as a synchronous state machine (etcd-io/raft's `raft` struct): terms,
 * roles, elections with PreVote and CheckQuorum, log replication, commit, ReadIndex, leadership
 * transfer and snapshot install. It produces messages into `msgs` and never performs I/O;
 * {@link RawNode} turns its state into `Ready` batches for the driver.
 *
 * Leader-side replication (sending appends, heartbeats and snapshots, handling their answers)
 * lives in replication.ts to keep each file about one concern. It sees this class only through
 * the narrow {@link LeaderContext} it declares, so the dependency runs one way: raft.ts calls
 * replication.ts, never the reverse.
 */
import type { ResolvedRaftConfig } from './config.js';
import {
  LEARNER_CATCH_UP_SLACK,
  applyConfChange,
  confProblem,
  encodeConfigEntry,
  type ConfChange,
  type ConfChangeRefusal,
  type IndexedConf,
} from './membership.js';
import { RaftLog } from './raft-log.js';
import { ReadOnlyQueue, type ReadRequest } from './read-only.js';
import * as replication from './replication.js';
import type { LeaderContext } from './replication.js';
import type { Progress } from './progress.js';
import { ProgressTracker } from './tracker.js';
import {
  NONE,
  assertNever,
  invariant,
  type AppendRequest,
  type ConfState,
  type Entry,
  type HardState,
  type Heartbeat,
  type Message,
  type NodeId,
  type ReadIndexResponse,
  type ReadState,
  type Role,
  type SnapshotMeta,
  type SnapshotRequest,
  type SoftState,
  type TimeoutNow,
  type VoteRequest,
} from './types.js';

/** Outcome of a proposal. Expected refusals are values, not exceptions. */
export type ProposeResult =
  | { readonly type: 'accepted'; readonly term: number; readonly firstIndex: number; readonly lastIndex: number }
  | {
      readonly type: 'dropped';
      readonly reason: 'not-leader' | 'transfer-in-progress' | 'empty';
      /** The leader this node knows of (NONE if none): where the client should go. */
      readonly leader: NodeId;
    };

/**
 * Outcome of a membership change proposal (membership.ts). Refusals, besides those of the change
 * itself: `change-pending` (the previous change has not committed), `not-ready` (this leader has
 * not yet committed an entry of its term), `learner-behind` (a promotion of a learner that has
 * not caught up), and those of {@link ProposeResult}.
 */
export type ProposeConfChangeResult =
  | { readonly type: 'accepted'; readonly term: number; readonly index: number }
  | {
      readonly type: 'dropped';
      readonly reason: 'not-leader' | 'transfer-in-progress' | 'change-pending' | 'not-ready' | 'learner-behind' | ConfChangeRefusal;
      readonly leader: NodeId;
    };

/** Outcome of a ReadIndex request. */
export type ReadIndexResult =
  { readonly type: 'accepted'; readonly forwardedTo: NodeId } | { readonly type: 'dropped'; readonly reason: 'no-leader' };

/** Outcome of a leadership transfer request. */
export type TransferResult =
  | { readonly type: 'started' | 'already-pending' }
  | {
      readonly type: 'dropped';
      readonly reason: 'not-leader' | 'already-leader' | 'unknown-node' | 'learner';
      readonly leader: NodeId;
    };

/**
 * Why {@link Raft.step} refused a well-formed peer message (docs/design.md#security):
 * - `misaddressed`: `to` is not this node;
 * - `from-self`: it claims to come from this node;
 * - `not-a-member`: an answer (to an append, heartbeat or vote) or a forwarded read from a node
 *   outside the configuration. Requests are taken from anyone, as the thesis prescribes
 *   (§4.1): a node whose configuration lags must still follow a leader it does not know yet;
 * - `not-a-voter`: a vote answer from a learner;
 * - `second-leader`: a leader's message in a term this node leads, or in which it follows
 *   another leader;
 * - `not-our-leader`: TimeoutNow or a ReadIndex answer of a term this node has not reached
 *   (they answer its own messages);
 * - `commit-beyond-log`: a heartbeat's commit index is beyond this node's log;
 * - `ack-beyond-log`: an acknowledgement of entries beyond the leader's own log;
 * - `foreign-configuration`: a snapshot whose configuration is not a usable one (no voter, a
 *   node listed twice);
 * - `too-many-reads`: forwarded ReadIndex requests beyond {@link MAX_PENDING_READS}.
 */
export type RefusalReason =
  | 'misaddressed'
  | 'from-self'
  | 'not-a-member'
  | 'not-a-voter'
  | 'second-leader'
  | 'not-our-leader'
  | 'commit-beyond-log'
  | 'ack-beyond-log'
  | 'foreign-configuration'
  | 'too-many-reads';

/** Outcome of stepping a peer message: taken into the protocol, or refused untouched. */
export type StepResult = { readonly type: 'stepped' } | { readonly type: 'refused'; readonly reason: RefusalReason };

const STEPPED: StepResult = { type: 'stepped' };

/**
 * Most ReadIndex requests a leader holds (queued before its first commit, or awaiting a
 * quorum). A host has one round out at a time, so members need a handful; this bounds what a
 * faulty one can make the leader hold.
 */
export const MAX_PENDING_READS = 4096;

/** The one check that holds even with `skipPeerMessageChecks`: a message for another node. */
function misaddressed(m: Message, id: NodeId): RefusalReason | undefined {
  return m.to === id ? undefined : 'misaddressed';
}

const EMPTY = new Uint8Array(0);

/**
 * One node's protocol state. Only {@link RawNode} drives it; the state is private and changes
 * only through the protocol operations below, so every change is one the protocol makes.
 */
export class Raft implements LeaderContext {
  readonly id: NodeId;
  readonly cfg: ResolvedRaftConfig;
  /** The log: durable entries in storage and the unstable tail not yet persisted. */
  readonly log: RaftLog;
  /** The configuration, each member's Progress (meaningful while leader) and election votes. */
  readonly tracker: ProgressTracker;
  private termValue = 0;
  private voteValue: NodeId = NONE;
  private roleValue: Role = 'follower';
  private leadValue: NodeId = NONE;
  private leadTransfereeValue: NodeId = NONE;
  private ticksValue = 0;
  private readonly readOnly = new ReadOnlyQueue();
  /** Reads that arrived before this leader committed an entry of its term (thesis §6.4). */
  private pendingReads: Array<{ readonly from: NodeId; readonly context: string }> = [];
  /** Messages produced since they were last taken. */
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** The configuration the tracker holds: the latest in the log (membership.ts). */
  private trackedConf: IndexedConf;

  constructor(cfg: ResolvedRaftConfig) {
    this.id = cfg.id;
    this.cfg = cfg;
    this.log = new RaftLog(cfg.storage, cfg.applied);
    this.tracker = new ProgressTracker(cfg.maxInflightMsgs, cfg.maxInflightBytes);
    const { hardState } = cfg.storage.initialState();
    this.trackedConf = this.log.configs.latest();
    this.tracker.reset(this.trackedConf.conf, this.log.lastIndex() + 1);
    this.loadHardState(hardState);
    invariant(this.log.applied <= this.log.committed, () => `applied ${this.log.applied} beyond committed ${this.log.committed} at boot`);
    this.becomeFollower(this.term, NONE);
  }

  /** Current term (Figure 2 currentTerm). */
  get term(): number {
    return this.termValue;
  }

  /** Who this node voted for in the current term, or NONE (Figure 2 votedFor). */
  get vote(): NodeId {
    return this.voteValue;
  }

  get role(): Role {
    return this.roleValue;
  }

  /** The leader of the current term as far as this node knows, or NONE. */
  get lead(): NodeId {
    return this.leadValue;
  }

  /** Target of a leadership transfer in progress (thesis §3.10), or NONE. */
  get leadTransferee(): NodeId {
    return this.leadTransfereeValue;
  }

  /** Ticks since this node started: the clock of CheckQuorum's "last heard" stamps. */
  get ticks(): number {
    return this.ticksValue;
  }

  private loadHardState(hs: HardState): void {
    invariant(
      hs.commit <= this.log.lastIndex(),
      () => `stored commit ${hs.commit} beyond last index ${this.log.lastIndex()}: log truncated or lost?`,
    );
    this.log.commitTo(hs.commit);
    this.termValue = hs.term;
    this.voteValue = hs.vote;
  }

  /** The state that must be durable before this node speaks (Figure 2 "persistent state"). */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Volatile state the driver may want to watch: role and known leader. */
  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  /** Queues `m` for the next Ready (or {@link takeMessages}). */
  send(m: Message): void {
    this.msgs.push(m);
  }

  /** Whether messages wait to be taken. */
  hasMessages(): boolean {
    return this.msgs.length > 0;
  }

  /**
   * Removes and returns the queued messages, in order. Those `holdBack` selects stay queued,
   * in order, for a later call.
   */
  takeMessages(holdBack?: (m: Message) => boolean): Message[] {
    const all = this.msgs;
    this.msgs = [];
    if (holdBack === undefined) return all;
    const taken: Message[] = [];
    for (const m of all) (holdBack(m) ? this.msgs : taken).push(m);
    return taken;
  }

  /** Whether ReadIndex results wait to be taken. */
  hasReadStates(): boolean {
    return this.readStates.length > 0;
  }

  /** Removes and returns the ReadIndex results produced since the last call, in order. */
  takeReadStates(): ReadState[] {
    const rs = this.readStates;
    this.readStates = [];
    return rs;
  }

  // ---- time -------------------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    this.ticksValue++;
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    // CheckQuorum (thesis §6.2): a leader that has not heard from a majority for a whole
    // election timeout steps down, so clients stop waiting on it and a majority elsewhere can
    // make progress. Checked every tick, so it happens within one election timeout.
    if (this.cfg.checkQuorum && !this.tracker.quorumActive(this.id, (pr) => this.recentlyActive(pr))) {
      this.cfg.logger.info('stepping down: quorum not active', this.logFields());
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      // A transfer that has not finished within an election timeout is abandoned (§3.10).
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer('timed out');
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      replication.bcastHeartbeat(this, this.readOnly.lastPendingContext() ?? null);
    }
  }

  /** Heard from within the last election timeout. */
  recentlyActive(pr: Progress): boolean {
    return this.ticks - pr.lastHeardTick < this.cfg.electionTick;
  }

  /** A voter with no snapshot being installed may stand for election. */
  private promotable(): boolean {
    return this.tracker.isVoter(this.id) && !this.log.hasPendingSnapshot();
  }

  private resetRandomizedElectionTimeout(): void {
    // Raft §5.2: timeouts drawn from [T, 2T) so that split votes are rare and resolve quickly.
    this.randomizedElectionTimeout = this.cfg.electionTick + this.cfg.random.nextInt(this.cfg.electionTick);
  }

  // ---- roles ------------------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      invariant(term > this.term, () => `term going backwards: ${this.term} → ${term}`);
      this.termValue = term;
      this.voteValue = NONE;
      // Acknowledgements queued in an older term and not yet in a Ready may claim entries a
      // newer leader is about to truncate before they are ever persisted: a false "durable"
      // claim. They are useless to the deposed leader anyway. (Acks already handed out in a
      // Ready were durable when sent.)
      this.msgs = this.msgs.filter((m) => m.type !== 'append-response' || m.term >= term);
    }
    this.leadValue = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransfereeValue = NONE;
    this.tracker.resetVotes();
    this.tracker.resetProgress(this.log.lastIndex() + 1);
    this.readOnly.reset();
    this.pendingReads = [];
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.leadValue = lead;
    this.roleValue = 'follower';
  }

  /** PreVote (thesis §9.6): ask whether we could win before disturbing anyone's term. */
  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', () => 'leader cannot become pre-candidate');
    // Term and vote are untouched: a pre-candidate that loses leaves no trace.
    this.tracker.resetVotes();
    this.leadValue = NONE;
    this.roleValue = 'pre-candidate';
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', () => 'leader cannot become candidate');
    // Raft §5.2: increment currentTerm, vote for self.
    this.reset(this.term + 1);
    this.voteValue = this.id;
    this.roleValue = 'candidate';
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate' || this.role === 'leader', () => `${this.role} cannot become leader`);
    this.reset(this.term);
    this.leadValue = this.id;
    this.roleValue = 'leader';
    const self = this.tracker.progress.get(this.id);
    invariant(self !== undefined, () => 'leader is not in its own configuration');
    // The leader counts itself only for what it has durably written (persist before counting).
    self.match = this.log.lastStableIndex();
    self.becomeReplicate();
    for (const pr of this.tracker.progress.values()) pr.lastHeardTick = this.ticks;
    // Raft §8 / thesis §6.4: commit an entry of our own term at once, which commits everything
    // before it and lets ReadIndex serve reads.
    this.appendEntries([{ type: 'noop', data: EMPTY }]);
    this.cfg.logger.info('became leader', this.logFields());
  }

  // ---- elections --------------------------------------------------------------------------

  /** Starts an election (or a pre-election). `transfer`: at the leader's request, §3.10. */
  hup(transfer: boolean): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) return;
    // Leadership transfer skips PreVote: we are not recovering from a partition (etcd-io/raft).
    if (this.cfg.preVote && !transfer) this.campaign('pre', false);
    else this.campaign('election', transfer);
  }

  private campaign(kind: 'pre' | 'election', transfer: boolean): void {
    let voteTerm: number;
    if (kind === 'pre') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    // Our own vote counts at once. Nothing leaves before the new term and vote are durable:
    // RawNode holds every message of a Ready that changes them until after it is persisted.
    this.tracker.recordVote(this.id, true);
    if (this.tallyAndAct()) return;
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.send({ type: 'vote', from: this.id, to: id, term: voteTerm, pre: kind === 'pre', lastLogIndex, lastLogTerm, transfer });
    }
  }

  /** Acts on the current tally; returns true when the election is decided. */
  private tallyAndAct(): boolean {
    const { result } = this.tracker.tally();
    if (result === 'won') {
      if (this.role === 'pre-candidate') this.campaign('election', false);
      else {
        this.becomeLeader();
        replication.bcastAppend(this);
      }
      return true;
    }
    if (result === 'lost') {
      // The rejections tell us nothing about a leader; wait for one or time out again.
      this.becomeFollower(this.term, NONE);
      return true;
    }
    return false;
  }

  // ---- step -------------------------------------------------------------------------------

  /**
   * Processes one message from a peer, or refuses it untouched (see {@link refusal}): a refused
   * message changes nothing, not even the term.
   */
  step(m: Message): StepResult {
    const reason = this.cfg.unsafeTestingKnobs.skipPeerMessageChecks === true ? misaddressed(m, this.id) : this.refusal(m);
    if (reason !== undefined) return { type: 'refused', reason };
    this.stepChecked(m);
    return STEPPED;
  }

  /**
   * Why `m` must not be stepped, or undefined. A peer is authenticated as a member, not trusted
   * to be correct (docs/design.md#security): these are the well-formed messages that no correct
   * member sends in our current state, each of which would otherwise reach a fail-stop
   * invariant (kept for this node's own corruption) or act on a claim nobody made. Pure and
   * cheap: a lookup and a few comparisons, no allocation.
   */
  private refusal(m: Message): RefusalReason | undefined {
    if (m.to !== this.id) return 'misaddressed';
    if (m.from === this.id) return 'from-self';
    switch (m.type) {
      case 'append-response':
        if (!this.tracker.progress.has(m.from)) return 'not-a-member';
        // A leader's log only grows within its term: an acknowledgement beyond its end is of
        // entries it never sent, and would send Progress past the log.
        if (m.term === this.term && this.role === 'leader' && !m.reject && m.index > this.log.lastIndex()) return 'ack-beyond-log';
        return undefined;
      case 'heartbeat-response':
        return this.tracker.progress.has(m.from) ? undefined : 'not-a-member';
      case 'read-index':
        if (!this.tracker.progress.has(m.from)) return 'not-a-member';
        if (m.term === this.term && this.role === 'leader' && this.pendingReads.length + this.readOnly.size >= MAX_PENDING_READS) {
          return 'too-many-reads';
        }
        return undefined;
      case 'vote-response':
        if (!this.tracker.progress.has(m.from)) return 'not-a-member';
        return this.tracker.isVoter(m.from) ? undefined : 'not-a-voter';
      case 'vote':
        return undefined;
      default:
        return this.leaderMessageRefusal(m);
    }
  }

  /** {@link refusal} of what only a leader sends. */
  private leaderMessageRefusal(m: AppendRequest | Heartbeat | SnapshotRequest | TimeoutNow | ReadIndexResponse): RefusalReason | undefined {
    // Election Safety (§5.2): one leader per term, so none but us if we lead this term, and
    // none but the one we follow in it.
    if (m.term === this.term && (this.role === 'leader' || (this.lead !== NONE && this.lead !== m.from))) return 'second-leader';
    switch (m.type) {
      case 'heartbeat':
        // The leader sends at most what we acknowledged as durable (replication.ts), which our
        // log still holds: beyond it, commitTo would fail stop on a claim, not on our disk.
        return m.commit > this.log.lastIndex() ? 'commit-beyond-log' : undefined;
      case 'snapshot':
        // Its configuration replaces ours, so it must be one. It may leave us out: a leader
        // sends its latest snapshot, which can predate the entry that added (or re-added) us;
        // that entry follows in the log.
        return confProblem(m.snapshot.confState) === undefined ? undefined : 'foreign-configuration';
      case 'timeout-now':
      case 'read-index-response':
        // Sent in the term of the message they answer (an acknowledgement, a forwarded read),
        // so never in one we have not reached; an older term's are stale and dropped later.
        return m.term > this.term ? 'not-our-leader' : undefined;
      case 'append':
        return undefined;
      default:
        return assertNever(m, 'message');
    }
  }

  private stepChecked(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'vote') {
        // With CheckQuorum, a node that heard from a live leader within the minimum election
        // timeout ignores votes (thesis §4.2.3): a removed or partitioned node cannot depose it.
        const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTick;
        if (!m.transfer && inLease) return;
      }
      if (m.type === 'vote' && m.pre) {
        // A pre-vote never changes our term.
      } else if (m.type === 'vote-response' && m.pre && !m.reject) {
        // Granted pre-votes carry the term we would campaign in; we adopt it only on winning.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A stale leader whose messages we ignore would never learn of our term, and with
        // CheckQuorum or PreVote nobody might depose it: answer so that it steps down.
        this.send({
          type: 'append-response',
          from: this.id,
          to: m.from,
          term: this.term,
          index: 0,
          reject: false,
          hintIndex: 0,
          hintTerm: 0,
        });
      } else if (m.type === 'vote' && m.pre) {
        // Tell the pre-candidate our term so it stops probing with a stale one.
        this.send({ type: 'vote-response', from: this.id, to: m.from, term: this.term, pre: true, reject: true });
      }
      return;
    }

    if (m.type === 'vote') {
      this.handleVote(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
      default:
        assertNever(this.role, 'role');
    }
  }

  /** RequestVote receiver (Figure 2; election restriction §5.4.1). */
  private handleVote(m: VoteRequest): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      // A pre-vote for a future term does not bind our vote in the current one.
      (m.pre && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      this.send({ type: 'vote-response', from: this.id, to: m.from, term: m.term, pre: m.pre, reject: false });
      if (!m.pre) {
        // Raft §5.2: granting a vote resets our election timer; the vote is hard state.
        this.electionElapsed = 0;
        this.voteValue = m.from;
      }
    } else {
      this.send({ type: 'vote-response', from: this.id, to: m.from, term: this.term, pre: m.pre, reject: true });
    }
  }

  /** Leader's handling of messages of its own term. */
  private stepLeader(m: Exclude<Message, VoteRequest>): void {
    switch (m.type) {
      case 'append-response':
        replication.handleAppendResponse(this, m);
        this.stepDownIfRemoved();
        return;
      case 'heartbeat-response':
        replication.handleHeartbeatResponse(this, m.from);
        if (m.context === null) return;
        // Every read the answer confirms (a quorum's answers) is safe to serve.
        for (const rs of this.readOnly.confirm(m.from, m.context, this.tracker.voters)) this.respondRead(rs);
        return;
      case 'read-index':
        if (this.tracker.progress.has(m.from)) this.handleReadIndex(m.from, m.context);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Election Safety (§5.2): at most one leader per term. Continuing would corrupt logs.
        // refusal() turns such a message away first; reaching this is our own state's fault.
        invariant(false, () => `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
        return;
      case 'vote-response':
      case 'timeout-now':
      case 'read-index-response':
        return;
      default:
        assertNever(m, 'message');
    }
  }

  private stepCandidate(m: Exclude<Message, VoteRequest>): void {
    switch (m.type) {
      case 'append':
        // §5.2: an AppendEntries from a leader of our term means we lost; follow it.
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'vote-response': {
        const mine = m.pre ? this.role === 'pre-candidate' : this.role === 'candidate';
        if (!mine) return;
        this.tracker.recordVote(m.from, !m.reject);
        this.tallyAndAct();
        return;
      }
      case 'timeout-now':
      case 'read-index':
      case 'read-index-response':
      case 'append-response':
      case 'heartbeat-response':
        return;
      default:
        assertNever(m, 'message');
    }
  }

  private stepFollower(m: Exclude<Message, VoteRequest>): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leadValue = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leadValue = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leadValue = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeout-now':
        // Thesis §3.10: the leader asks us to campaign now; voters honour the transfer flag.
        this.cfg.logger.info('campaigning at leader request (transfer)', this.logFields());
        this.hup(true);
        return;
      case 'read-index-response':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      case 'read-index':
      case 'vote-response':
      case 'append-response':
      case 'heartbeat-response':
        return;
      default:
        assertNever(m, 'message');
    }
  }

  /** AppendEntries receiver (Figure 2 rules 1–5; fast backtracking hint, §5.3). */
  private handleAppend(m: AppendRequest): void {
    const reply = (index: number, reject: boolean, hintIndex: number, hintTerm: number): void =>
      this.send({ type: 'append-response', from: this.id, to: m.from, term: this.term, index, reject, hintIndex, hintTerm });
    if (m.prevLogIndex < this.log.committed) {
      // Everything up to commit already matches any leader's log (Leader Completeness).
      reply(this.log.committed, false, 0, 0);
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.syncConfig();
      reply(lastNew, false, 0, 0);
      return;
    }
    // Find where our log could still match: the last index ≤ prevLogIndex whose term is not
    // above the leader's term there. The leader skips straight to it.
    const hint = this.log.findConflictByTerm(Math.min(m.prevLogIndex, this.log.lastIndex()), m.prevLogTerm);
    reply(m.prevLogIndex, true, hint.index, hint.term);
  }

  private handleHeartbeat(m: Heartbeat): void {
    // The leader sends at most what we durably acknowledged, so this never passes our log; if
    // it does, our log was lost or truncated behind Raft's back: commitTo fails stop.
    this.log.commitTo(m.commit);
    this.send({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.term, context: m.context });
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const reply = (index: number): void =>
      this.send({ type: 'append-response', from: this.id, to: m.from, term: this.term, index, reject: false, hintIndex: 0, hintTerm: 0 });
    if (this.restore(m.snapshot)) {
      this.cfg.logger.info('installing snapshot', { ...this.logFields(), index: m.snapshot.index, snapshotTerm: m.snapshot.term });
      reply(this.log.lastIndex());
    } else {
      reply(this.log.committed);
    }
  }

  /**
   * InstallSnapshot receiver (§7). Returns true when the snapshot replaces our log. A snapshot
   * at or behind our commit is ignored; one whose last entry we already hold only advances
   * commit (the entries after it stay); any other replaces the whole log, conflicting suffix
   * included.
   */
  private restore(s: SnapshotMeta): boolean {
    if (s.index <= this.log.committed) return false;
    invariant(this.role === 'follower', () => `restore snapshot as ${this.role}`);
    if (this.log.matchTerm(s.index, s.term)) {
      this.log.commitTo(s.index);
      return false;
    }
    this.log.restore(s);
    this.trackedConf = this.log.configs.latest();
    this.tracker.reset(this.trackedConf.conf, this.log.lastIndex() + 1);
    return true;
  }

  // ---- application requests ---------------------------------------------------------------

  /** Appends entries to the leader's log, stamped with the current term. */
  private appendEntries(items: ReadonlyArray<Pick<Entry, 'type' | 'data'>>): { firstIndex: number; lastIndex: number } {
    const first = this.log.lastIndex() + 1;
    const ents: Entry[] = items.map((it, k) => ({ index: first + k, term: this.term, type: it.type, data: it.data }));
    const last = this.log.append(ents);
    this.syncConfig();
    return { firstIndex: first, lastIndex: last };
  }

  /** Appends and replicates `datas` if this node leads and no transfer is under way. */
  propose(datas: readonly Uint8Array[]): ProposeResult {
    if (this.role !== 'leader') return { type: 'dropped', reason: 'not-leader', leader: this.lead };
    // Thesis §3.10: a transferring leader stops accepting writes so the target can catch up.
    if (this.leadTransferee !== NONE) return { type: 'dropped', reason: 'transfer-in-progress', leader: this.lead };
    if (datas.length === 0) return { type: 'dropped', reason: 'empty', leader: this.lead };
    const { firstIndex, lastIndex } = this.appendEntries(datas.map((data) => ({ type: 'normal' as const, data })));
    replication.bcastAppend(this);
    return { type: 'accepted', term: this.term, firstIndex, lastIndex };
  }

  /**
   * Proposes one membership change (membership.ts). Only a leader with no change pending that
   * has committed an entry of its term accepts; the new configuration is in force here at once
   * (it is in the log), and on each follower as its entry arrives.
   */
  proposeConfChange(cc: ConfChange): ProposeConfChangeResult {
    const drop = (reason: Extract<ProposeConfChangeResult, { type: 'dropped' }>['reason']): ProposeConfChangeResult => ({
      type: 'dropped',
      reason,
      leader: this.lead,
    });
    if (this.role !== 'leader') return drop('not-leader');
    if (this.leadTransferee !== NONE) return drop('transfer-in-progress');
    const oneAtATime = this.cfg.unsafeTestingKnobs.concurrentConfChanges !== true;
    if (oneAtATime && this.log.configs.latest().index > this.log.committed) return drop('change-pending');
    // Thesis §4.1 (the fix to single-server changes): a change from an earlier term that this
    // leader does not know committed could otherwise combine with this one.
    if (oneAtATime && !this.committedEntryInCurrentTerm()) return drop('not-ready');
    const next = applyConfChange(this.log.configs.latest().conf, cc);
    if (typeof next === 'string') return drop(next);
    if (cc.type === 'promote') {
      const pr = this.tracker.progress.get(cc.node);
      // Caught up, and heard from lately: a learner that never answered has match 0, which a
      // short log would take for caught up, and promoting it could leave the leader without an
      // active quorum (it steps down at once under CheckQuorum).
      const behind = pr === undefined || pr.match + LEARNER_CATCH_UP_SLACK < this.log.committed || !this.recentlyActive(pr);
      if (behind) return drop('learner-behind');
    }
    const { firstIndex } = this.appendEntries([{ type: 'config', data: encodeConfigEntry({ change: cc, conf: next }) }]);
    this.cfg.logger.info('membership change proposed', { ...this.logFields(), change: cc.type, member: cc.node, index: firstIndex });
    replication.bcastAppend(this);
    return { type: 'accepted', term: this.term, index: firstIndex };
  }

  /** The configuration in force at `index` (for the snapshot the driver takes there). */
  confStateAt(index: number): ConfState {
    return this.log.configs.at(index).conf;
  }

  /** The configuration in force here and the index that set it. */
  get config(): IndexedConf {
    return this.trackedConf;
  }

  /**
   * Puts the latest configuration in the log into force, after the log changed: an appended
   * change, or one truncated away (the one before it is back).
   */
  private syncConfig(): void {
    const latest = this.log.configs.latest();
    if (latest === this.trackedConf) return;
    this.trackedConf = latest;
    this.tracker.applyConf(latest.conf, this.log.lastIndex() + 1);
    this.cfg.logger.info('configuration changed', {
      ...this.logFields(),
      index: latest.index,
      voters: latest.conf.voters,
      learners: latest.conf.learners,
    });
    if (this.leadTransferee !== NONE && !this.tracker.isVoter(this.leadTransferee)) this.abortLeaderTransfer('transferee removed');
  }

  /**
   * A leader that removed itself leads until the change commits (thesis §4.2.2: it does not
   * count itself meanwhile), then hands over to the most up-to-date voter and steps down.
   */
  private stepDownIfRemoved(): void {
    if (this.role !== 'leader' || this.tracker.isVoter(this.id)) return;
    if (this.log.committed < this.trackedConf.index) return;
    let best: Progress | undefined;
    let bestId = NONE;
    for (const id of this.tracker.voters) {
      const pr = this.tracker.progress.get(id);
      if (pr !== undefined && (best === undefined || pr.match > best.match)) [best, bestId] = [pr, id];
    }
    this.cfg.logger.info('removed from the configuration: stepping down', { ...this.logFields(), handOverTo: bestId });
    if (best !== undefined && best.match === this.log.lastIndex()) replication.sendTimeoutNow(this, bestId);
    this.becomeFollower(this.term, NONE);
  }

  /** Starts a ReadIndex request: served here if leader, else forwarded to the leader. */
  readIndex(context: string): ReadIndexResult {
    if (this.role === 'leader') {
      this.handleReadIndex(this.id, context);
      return { type: 'accepted', forwardedTo: NONE };
    }
    if (this.lead === NONE || this.role !== 'follower') return { type: 'dropped', reason: 'no-leader' };
    this.send({ type: 'read-index', from: this.id, to: this.lead, term: this.term, context });
    return { type: 'accepted', forwardedTo: this.lead };
  }

  /** Leader side of ReadIndex (thesis §6.4), for itself or a follower. */
  private handleReadIndex(from: NodeId, context: string): void {
    if (!this.committedEntryInCurrentTerm()) {
      // Until our no-op commits, our commit index may lag the true one: queue the read.
      this.pendingReads.push({ from, context });
      return;
    }
    if (this.tracker.isSingleton() && this.tracker.isVoter(this.id)) {
      this.respondRead({ context, index: this.log.committed, from, acks: new Set() });
      return;
    }
    if (!this.readOnly.add(this.log.committed, context, from)) return;
    this.readOnly.recvAck(this.id, context);
    replication.bcastHeartbeat(this, context);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Serves reads queued before the no-op committed. */
  releasePendingReads(): void {
    if (this.pendingReads.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReads;
    this.pendingReads = [];
    for (const r of pending) this.handleReadIndex(r.from, r.context);
  }

  private respondRead(rs: ReadRequest): void {
    if (rs.from === this.id) this.readStates.push({ index: rs.index, context: rs.context });
    else this.send({ type: 'read-index-response', from: this.id, to: rs.from, term: this.term, index: rs.index, context: rs.context });
  }

  /** Hands leadership to `target` once its log is up to date (thesis §3.10). */
  transferLeader(target: NodeId): TransferResult {
    if (this.role !== 'leader') return { type: 'dropped', reason: 'not-leader', leader: this.lead };
    if (target === this.id) return { type: 'dropped', reason: 'already-leader', leader: this.lead };
    const pr = this.tracker.progress.get(target);
    if (pr === undefined) return { type: 'dropped', reason: 'unknown-node', leader: this.lead };
    if (pr.isLearner) return { type: 'dropped', reason: 'learner', leader: this.lead };
    if (this.leadTransferee === target) return { type: 'already-pending' };
    if (this.leadTransferee !== NONE) this.abortLeaderTransfer('superseded');
    // The transfer must finish within one election timeout (tickHeartbeat aborts it).
    this.electionElapsed = 0;
    this.leadTransfereeValue = target;
    this.cfg.logger.info('transferring leadership', { ...this.logFields(), target });
    if (pr.match === this.log.lastIndex()) replication.sendTimeoutNow(this, target);
    else replication.sendAppend(this, target);
    return { type: 'started' };
  }

  private abortLeaderTransfer(why: string): void {
    if (this.leadTransferee !== NONE) {
      this.cfg.logger.info('leadership transfer aborted', { ...this.logFields(), target: this.leadTransferee, why });
    }
    this.leadTransfereeValue = NONE;
  }

  /**
   * The driver persisted the log up to `lastStableIndex()`. A leader may now count itself for
   * those entries (it never counts what is not on its own disk).
   */
  onPersisted(): void {
    if (this.role !== 'leader') return;
    const self = this.tracker.progress.get(this.id);
    if (self === undefined) return;
    if (self.maybeUpdate(this.log.lastStableIndex())) replication.maybeCommitAndBroadcast(this);
  }

  /** Sends an append to `to` now if this node leads (tests and diagnostics). */
  forceAppend(to: NodeId): void {
    if (this.role === 'leader' && to !== NONE) replication.sendAppend(this, to);
  }

  /** The transport could not reach `id`: a leader stops pipelining to it. */
  reportUnreachable(id: NodeId): void {
    if (this.role === 'leader') replication.reportUnreachable(this, id);
  }

  /** The driver finished (`ok`) or failed streaming a snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.role === 'leader') replication.reportSnapshot(this, id, ok);
  }

  /** Fields identifying this node in log lines. */
  logFields(): Record<string, unknown> {
    return { id: this.id, term: this.term, role: this.role, leader: this.lead };
  }
}
