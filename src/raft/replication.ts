/**
 * Leader-side replication: sending appends (batched, pipelined), heartbeats and snapshots,
 * handling the followers' answers, and advancing commit (Raft §5.3, §5.4.2, §7).
 *
 * Functions over a {@link LeaderContext}: exactly what they need of the node they run in. raft.ts
 * implements it and calls these functions; this file never imports raft.ts, so the dependency
 * runs one way and the context names every piece of the node's state replication may touch.
 */
import type { ResolvedRaftConfig } from './config.js';
import type { Progress } from './progress.js';
import type { RaftLog } from './raft-log.js';
import { COMPACTED } from './storage.js';
import type { ProgressTracker } from './tracker.js';
import { entriesSize, invariant, type AppendResponse, type Message, type NodeId } from './types.js';

/**
 * What leader-side replication needs of a Raft node in the leader role (implemented by `Raft`).
 * Replication only reads the scalar state; it changes the log's commit index, the tracker's
 * Progress records and the outgoing messages, and asks for waiting reads to be served.
 */
export interface LeaderContext {
  readonly id: NodeId;
  /** The leader's term, stamped on everything it sends. */
  readonly term: number;
  /** Logical time in ticks: when each follower was last heard from. */
  readonly ticks: number;
  /** Target of the leadership transfer in progress, or NONE. */
  readonly leadTransferee: NodeId;
  readonly cfg: Pick<ResolvedRaftConfig, 'maxSizePerMsg' | 'logger' | 'unsafeTestingKnobs'>;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Queues `m` for the next Ready. */
  send(m: Message): void;
  /** Whether `pr` was heard from within the last election timeout. */
  recentlyActive(pr: Progress): boolean;
  /** Serves the ReadIndex requests that waited for the leader's first commit in its term. */
  releasePendingReads(): void;
  /** Fields identifying the node in log lines. */
  logFields(): Record<string, unknown>;
}

/** Sends an append (possibly empty) to `to` if its flow control allows. */
export function sendAppend(r: LeaderContext, to: NodeId): boolean {
  return maybeSendAppend(r, to, true);
}

/**
 * Sends the next batch of entries to `to`. With `sendIfEmpty` false, nothing is sent when
 * there is nothing new (used to keep a pipeline full). Falls back to a snapshot when the
 * entries the follower needs are compacted. Returns whether a message was sent.
 */
function maybeSendAppend(r: LeaderContext, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevLogIndex = pr.next - 1;
  const prevLogTerm = r.log.term(prevLogIndex);
  const ents = r.log.entriesFrom(pr.next, r.cfg.maxSizePerMsg);
  if (prevLogTerm === undefined || ents === COMPACTED) return sendSnapshot(r, to);
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({ type: 'append', from: r.id, to, term: r.term, prevLogIndex, prevLogTerm, entries: ents, commit: r.log.committed });
  const last = ents[ents.length - 1];
  pr.sentEntries(ents.length, entriesSize(ents), last === undefined ? prevLogIndex : last.index);
  return true;
}

/**
 * An append with no entries, probing whether `to` holds (prevLogIndex, its term). Returns false
 * (sending nothing) when that term is compacted.
 */
function sendEmptyAppend(r: LeaderContext, to: NodeId, prevLogIndex: number): boolean {
  const prevLogTerm = r.log.term(prevLogIndex);
  if (prevLogTerm === undefined) return false;
  r.send({ type: 'append', from: r.id, to, term: r.term, prevLogIndex, prevLogTerm, entries: [], commit: r.log.committed });
  return true;
}

/**
 * Sends snapshot metadata to a follower that needs compacted entries (§7). Only to a peer we
 * have heard from recently: a snapshot to a dead peer wastes a stream.
 */
function sendSnapshot(r: LeaderContext, to: NodeId): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined || !r.recentlyActive(pr)) return false;
  const snapshot = r.log.snapshot();
  if (snapshot === undefined) return false;
  invariant(snapshot.index > 0, () => `need a snapshot for ${to} but none exists`);
  pr.becomeSnapshot(snapshot.index);
  r.cfg.logger.info('sending snapshot', { ...r.logFields(), to, index: snapshot.index });
  r.send({ type: 'snapshot', from: r.id, to, term: r.term, snapshot });
  return true;
}

/** Sends an append to every other member. */
export function bcastAppend(r: LeaderContext): void {
  for (const id of r.tracker.progress.keys()) {
    if (id !== r.id) sendAppend(r, id);
  }
}

/**
 * Heartbeats to every other member, carrying `context`: the newest pending ReadIndex request's,
 * since a quorum of answers to it confirms every earlier read too. Each carries a commit index
 * the follower is known to match, so it never commits past its own log.
 */
export function bcastHeartbeat(r: LeaderContext, context: string | null): void {
  for (const [id, pr] of r.tracker.progress) {
    if (id === r.id) continue;
    r.send({ type: 'heartbeat', from: r.id, to: id, term: r.term, commit: Math.min(pr.match, r.log.committed), context });
  }
}

/** Tells `to` to campaign at once (the last step of a leadership transfer, thesis §3.10). */
export function sendTimeoutNow(r: LeaderContext, to: NodeId): void {
  r.send({ type: 'timeout-now', from: r.id, to, term: r.term });
}

/**
 * Advances commit if a majority matched a newer entry of the current term (Figure 8), then
 * tells the followers and serves reads that waited for the first commit of this term.
 */
export function maybeCommitAndBroadcast(r: LeaderContext): boolean {
  const index = r.tracker.committed();
  if (!r.log.maybeCommit(index, r.term, r.cfg.unsafeTestingKnobs.commitPriorTerm === true)) return false;
  r.releasePendingReads();
  bcastAppend(r);
  return true;
}

/**
 * An append's answer (§5.3): on rejection, back off to where the follower's log may match; on
 * success, advance its Progress and commit, refill its pipeline, and finish a leadership
 * transfer once the target has caught up.
 */
export function handleAppendResponse(r: LeaderContext, m: AppendResponse): void {
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  pr.lastHeardTick = r.ticks;
  if (m.reject) backOff(r, m, pr);
  else handleAppendAccepted(r, m.from, m.index, pr);
}

function backOff(r: LeaderContext, m: AppendResponse, pr: Progress): void {
  // The follower told us the last index where its log may match ours (hintIndex) and its
  // term there; skip every entry of ours that cannot match (§5.3, fast backtracking).
  let probe = m.hintIndex;
  if (m.hintTerm > 0) probe = r.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
  if (pr.maybeDecrTo(m.index, probe)) {
    if (pr.state === 'replicate') pr.becomeProbe();
    sendAppend(r, m.from);
  }
}

function handleAppendAccepted(r: LeaderContext, from: NodeId, index: number, pr: Progress): void {
  const wasPaused = pr.isPaused();
  const progressed = pr.maybeUpdate(index) || (pr.match === index && pr.state === 'probe');
  if (!progressed) return;
  if (pr.state === 'probe') pr.becomeReplicate();
  else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
    // The snapshot (or enough of the log) arrived: continue with entries.
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === 'replicate') pr.inflights.freeLE(index);

  if (!maybeCommitAndBroadcast(r) && wasPaused) sendAppend(r, from);
  // Keep the pipeline full while the window has room.
  while (maybeSendAppend(r, from, false)) {
    /* send more */
  }
  if (from === r.leadTransferee && pr.match === r.log.lastIndex()) {
    r.cfg.logger.info('transferee caught up; sending TimeoutNow', { ...r.logFields(), target: from });
    sendTimeoutNow(r, from);
  }
}

/**
 * A heartbeat's answer from `from`: it is alive, so resume sending to it if it lags or its
 * window may be stuck. The ReadIndex context the answer carries is the caller's business.
 */
export function handleHeartbeatResponse(r: LeaderContext, from: NodeId): void {
  const pr = r.tracker.progress.get(from);
  if (pr === undefined) return;
  pr.lastHeardTick = r.ticks;
  pr.probeSent = false;
  if (pr.state === 'replicate' && pr.inflights.full() && pr.match < r.log.lastIndex()) {
    // Every append filling the window may have been lost (a transport may drop under load);
    // nothing would ever free it. An empty append at next-1 makes the follower either
    // acknowledge (freeing the window) or reject (so we fall back to probing).
    if (!sendEmptyAppend(r, from, pr.next - 1)) {
      // next-1 was compacted meanwhile: probe from what matches (which sends the snapshot).
      pr.becomeProbe();
      sendAppend(r, from);
    }
  } else if (pr.match < r.log.lastIndex() || pr.state === 'probe') sendAppend(r, from);
}

/** The transport could not reach `id`: stop pipelining to it until it answers again. */
export function reportUnreachable(r: LeaderContext, id: NodeId): void {
  const pr = r.tracker.progress.get(id);
  if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
}

/**
 * The driver finished (or failed) streaming a snapshot to `id`. Either way the follower goes
 * back to probing; the next heartbeat answer resumes replication from what it holds.
 */
export function reportSnapshot(r: LeaderContext, id: NodeId, ok: boolean): void {
  const pr = r.tracker.progress.get(id);
  if (pr === undefined || pr.state !== 'snapshot') return;
  if (!ok) pr.pendingSnapshot = 0;
  pr.becomeProbe();
  // Wait for a heartbeat response before probing, rather than resending at once.
  pr.probeSent = true;
}
