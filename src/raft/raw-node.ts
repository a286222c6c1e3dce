/**
 * The core's public face (etcd-io/raft's RawNode): a synchronous object the driver calls with
 * ticks, peer messages and client requests, and from which it takes {@link Ready} batches.
 *
 * Contract with the driver:
 * - Call `tick()` at a fixed interval; `step()` for each peer message; `propose()`,
 *   `readIndex()`, `transferLeader()` for requests.
 * - When `hasReady()`, take `ready()`, do what it says in the order ready.ts documents, then
 *   call `advance()`. Steps and proposals may continue while a Ready is being persisted; they
 *   are gathered into the next one (group commit). A second `ready()` before `advance()` is a
 *   driver bug and throws. Committed entries and read states learnt meanwhile may be taken at
 *   once with `takeCommitted()` / `takeReadStates()`.
 */
import { validateRaftConfig, type ConfigError, type RaftConfig } from './config.js';
import { NO_LIMIT } from './raft-log.js';
import type { ConfChange } from './membership.js';
import {
  Raft,
  type ProposeConfChangeResult,
  type ProposeResult,
  type ReadIndexResult,
  type StepResult,
  type TransferResult,
} from './raft.js';
import { claimsDurableState, splitMessages, type Ready } from './ready.js';
import type { ProgressState } from './progress.js';
import {
  invariant,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type ReadState,
  type NodeId,
  type Role,
  type SnapshotMeta,
  type SoftState,
} from './types.js';

/** One follower as the leader sees it. */
export interface PeerStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly paused: boolean;
  readonly inflight: number;
  readonly recentActive: boolean;
}

/** A point-in-time view for observability (`/status`, logs, tests). */
export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  /** Highest index handed to the driver for applying (the driver's own applied index may lag). */
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly leadTransferee: NodeId;
  /** The configuration in force here: the latest in the log, committed or not. */
  readonly config: ConfState;
  /** The index of the entry (or snapshot) that set {@link config}. */
  readonly configIndex: number;
  /** Per-member progress; empty unless this node is the leader. */
  readonly progress: readonly PeerStatus[];
}

export type CreateResult = { readonly ok: true; readonly node: RawNode } | { readonly ok: false; readonly errors: readonly ConfigError[] };

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** The Ready handed out and not yet advanced. */
  private pending: Ready | undefined;

  private constructor(raft: Raft) {
    this.raft = raft;
    this.prevSoftState = raft.softState();
    this.prevHardState = raft.hardState();
  }

  /** Builds a node from `config`, or explains every invalid field. */
  static create(config: RaftConfig): CreateResult {
    const v = validateRaftConfig(config);
    if (!v.ok) return { ok: false, errors: v.errors };
    return { ok: true, node: new RawNode(new Raft(v.config)) };
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Advances logical time by one tick (elections, heartbeats, CheckQuorum, transfer timeout). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (tests, operators). Uses PreVote when enabled. */
  campaign(): void {
    this.raft.hup(false);
  }

  /**
   * Processes one message received from a peer. A well-formed message that no correct member
   * could send in this node's state is refused untouched, never thrown on
   * (docs/design.md#security): the driver counts and logs the refusal.
   */
  step(m: Message): StepResult {
    return this.raft.step(m);
  }

  /**
   * The snapshot the core has accepted to install and the driver has not yet reported
   * persisted (`advance()`), if any. A driver holding snapshot data compares this before and
   * after stepping a snapshot message to learn whether the core took that message's snapshot.
   */
  pendingSnapshot(): SnapshotMeta | undefined {
    return this.raft.log.unstable.snapshot;
  }

  /** Proposes entries (a batch is appended contiguously). Only a leader accepts. */
  propose(datas: readonly Uint8Array[]): ProposeResult {
    return this.raft.propose(datas);
  }

  /**
   * Proposes one membership change: add a learner, promote one, or remove a member
   * (membership.ts). Accepted only by a leader with no other change pending; the change is in
   * force once its entry is in the log and done once it commits.
   */
  proposeConfChange(cc: ConfChange): ProposeConfChangeResult {
    return this.raft.proposeConfChange(cc);
  }

  /**
   * The configuration in force at `index`, for a snapshot taken there. `index` must not be
   * below the log's last snapshot.
   */
  confStateAt(index: number): ConfState {
    return this.raft.confStateAt(index);
  }

  /**
   * Requests a linearizable read point; the answer arrives as a ReadState with `context`
   * in a later Ready. Contexts must be unique among outstanding reads.
   */
  readIndex(context: string): ReadIndexResult {
    return this.raft.readIndex(context);
  }

  /** Asks the leader to hand leadership to `target` (thesis §3.10). */
  transferLeader(target: NodeId): TransferResult {
    return this.raft.transferLeader(target);
  }

  /** The transport could not reach `id`: stop pipelining to it until it answers again. */
  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  /**
   * The driver finished (or failed) streaming a snapshot to `id`. Either way the follower goes
   * back to probing; the next heartbeat answer resumes replication from what it holds.
   */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  hasReady(): boolean {
    if (this.pending !== undefined) return false;
    const r = this.raft;
    const ss = r.softState();
    if (ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role) return true;
    if (!sameHardState(r.hardState(), this.prevHardState)) return true;
    if (r.log.hasPendingSnapshot()) return true;
    if (r.hasMessages() || r.hasReadStates()) return true;
    if (r.log.unstable.entries.length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /** Takes the next batch of work. Call `advance()` when it is done. */
  ready(): Ready {
    invariant(this.pending === undefined, () => 'ready() called again before advance()');
    const r = this.raft;
    const ss = r.softState();
    const hs = r.hardState();
    const softChanged = ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role;
    const hardChanged = !sameHardState(hs, this.prevHardState);
    const termOrVoteChanged = this.termOrVoteUndurable();
    const snapshot: SnapshotMeta | undefined = r.log.unstable.snapshot;
    const entries = [...r.log.unstable.entries];
    const { messages, persistedMessages } = splitMessages(r.takeMessages(), termOrVoteChanged);
    const readStates = r.takeReadStates();
    const committedEntries = this.handOutCommitted();
    const rd: Ready = {
      ...(softChanged ? { softState: ss } : {}),
      ...(hardChanged ? { hardState: hs } : {}),
      ...(snapshot !== undefined ? { snapshot } : {}),
      entries,
      committedEntries,
      messages,
      persistedMessages,
      readStates,
      mustSync: termOrVoteChanged || entries.length > 0 || snapshot !== undefined,
    };
    if (softChanged) this.prevSoftState = ss;
    this.pending = rd;
    return rd;
  }

  /**
   * Reports the last Ready done: its state is durable, its committed entries applied and its
   * snapshot installed. A leader then counts its own durable entries toward commit.
   */
  advance(): void {
    const rd = this.pending;
    invariant(rd !== undefined, () => 'advance() without a pending Ready');
    this.pending = undefined;
    const log = this.raft.log;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    if (rd.snapshot !== undefined) {
      log.unstable.stableSnapTo(rd.snapshot.index);
      log.appliedTo(Math.max(log.applied, rd.snapshot.index));
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) log.unstable.stableTo(lastEntry.index, lastEntry.term);
    this.raft.onPersisted();
  }

  /**
   * Whether {@link takeCommitted} has entries: committed, durable here, not yet handed out. For
   * a driver with a Ready in flight (`hasReady()` is false until it advances).
   */
  hasCommittedToTake(): boolean {
    if (this.pending?.snapshot !== undefined) return false;
    return this.raft.log.hasNextCommittedEntries(true);
  }

  /**
   * Hands out committed entries while a Ready is still being persisted, so that entries whose
   * commitment was learnt during the write (an acknowledgement arrived) are applied now rather
   * than after it. Only entries already durable here come out, so applying them needs nothing
   * from the write in flight; and none while the pending Ready still has committed entries
   * waiting for that write (they come first: the core's applied index is past them, beyond the
   * durable end). Call only after applying the pending Ready's durable committed entries; apply
   * the result in order, at once. Empty while the pending Ready installs a snapshot.
   */
  takeCommitted(): readonly Entry[] {
    if (this.pending?.snapshot !== undefined) return [];
    return this.handOutCommitted(true);
  }

  /**
   * Messages that may be sent while a Ready is being persisted: those produced since it that
   * claim nothing durable (heartbeats and their answers, ReadIndex traffic, appends carrying
   * entries the leader is still writing, §10.2.1). Append and vote answers stay for the next
   * Ready, and so does everything while the term or vote differs from the durable one (a
   * message must never speak for a term this node has not durably adopted, ready.ts).
   */
  takeMessages(): readonly Message[] {
    if (!this.raft.hasMessages() || this.termOrVoteUndurable()) return [];
    return this.raft.takeMessages(claimsDurableState);
  }

  /**
   * Whether the core's term or vote differs from the durable one (the last Ready advanced):
   * then no message may leave before the next Ready's write, since every message speaks for
   * the current term.
   */
  private termOrVoteUndurable(): boolean {
    const r = this.raft;
    return r.term !== this.prevHardState.term || r.vote !== this.prevHardState.vote;
  }

  /** Whether read states were produced since the last Ready. */
  hasReadStates(): boolean {
    return this.raft.hasReadStates();
  }

  /** Read states produced since the last Ready (for a driver with a Ready in flight). */
  takeReadStates(): readonly ReadState[] {
    return this.raft.takeReadStates();
  }

  /**
   * The next committed entries, marked handed out: the core's `applied` index means "given to
   * the driver to apply", which is all the core needs it for (never hand an entry out twice).
   */
  private handOutCommitted(durableOnly = false): readonly Entry[] {
    const ents = this.raft.log.nextCommittedEntries(this.raft.cfg.maxCommittedSizePerReady, durableOnly);
    const last = ents[ents.length - 1];
    if (last !== undefined) this.raft.log.appliedTo(last.index);
    return ents;
  }

  /**
   * Observability snapshot; cheap enough to call per request. `withProgress: false` skips the
   * per-peer table (for callers that poll after every event).
   */
  status(withProgress = true): Status {
    const r = this.raft;
    const progress: PeerStatus[] = [];
    if (withProgress && r.role === 'leader') {
      for (const [id, pr] of r.tracker.progress) {
        progress.push({
          id,
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          paused: pr.isPaused(),
          inflight: pr.inflights.count,
          recentActive: id === r.id || r.recentlyActive(pr),
        });
      }
      progress.sort((a, b) => a.id - b.id);
    }
    return {
      id: r.id,
      role: r.role,
      term: r.term,
      vote: r.vote,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      leadTransferee: r.leadTransferee,
      config: r.config.conf,
      configIndex: r.config.index,
      progress,
    };
  }

  /** Sends an append to `to` now (tests and diagnostics; normal flow needs no help). */
  forceAppend(to: NodeId): void {
    this.raft.forceAppend(to);
  }

  /** Entries in [lo, hi) as the core sees them (durable and unstable), for tests and tools. */
  entries(lo: number, hi: number): readonly Entry[] {
    const s = this.raft.log.slice(lo, hi, NO_LIMIT);
    return s === 'compacted' ? [] : s;
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
