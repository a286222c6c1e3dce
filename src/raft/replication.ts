/**
 * Leader-side replication: sending appends (batched, pipelined), heartbeats and snapshots, and
 * handling the followers' answers (Raft §5.3, §5.4.2, §7; thesis §6.4 for ReadIndex acks).
 * Functions over a {@link Raft} in the leader role.
 */
import { voteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { COMPACTED } from './storage.js';
import { entriesSize, invariant, type Message, type NodeId, type VoteRequest } from './types.js';

/** Sends an append (possibly empty) to `to` if its flow control allows. */
export function sendAppend(r: Raft, to: NodeId): boolean {
  return maybeSendAppend(r, to, true);
}

/**
 * Sends the next batch of entries to `to`. With `sendIfEmpty` false, nothing is sent when
 * there is nothing new (used to keep a pipeline full). Falls back to a snapshot when the
 * entries the follower needs are compacted. Returns whether a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
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
function sendEmptyAppend(r: Raft, to: NodeId, prevLogIndex: number): boolean {
  const prevLogTerm = r.log.term(prevLogIndex);
  if (prevLogTerm === undefined) return false;
  r.send({ type: 'append', from: r.id, to, term: r.term, prevLogIndex, prevLogTerm, entries: [], commit: r.log.committed });
  return true;
}

/**
 * Sends snapshot metadata to a follower that needs compacted entries (§7). Only to a peer we
 * have heard from recently: a snapshot to a dead peer wastes a stream.
 */
function sendSnapshot(r: Raft, to: NodeId): boolean {
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
export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.progress.keys()) {
    if (id !== r.id) sendAppend(r, id);
  }
}

/**
 * Heartbeats to every other member, carrying the newest pending ReadIndex context (a quorum of
 * answers to it confirms every earlier read too). Each carries a commit index the follower is
 * known to match, so it never commits past its own log.
 */
export function bcastHeartbeat(r: Raft, context?: string): void {
  const ctx = context ?? r.readOnly.lastPendingContext() ?? null;
  for (const [id, pr] of r.tracker.progress) {
    if (id === r.id) continue;
    r.send({ type: 'heartbeat', from: r.id, to: id, term: r.term, commit: Math.min(pr.match, r.log.committed), context: ctx });
  }
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: 'timeout-now', from: r.id, to, term: r.term });
}

/**
 * Advances commit if a majority matched a newer entry of the current term (Figure 8), then
 * tells the followers and serves reads that waited for the first commit of this term.
 */
export function maybeCommitAndBroadcast(r: Raft): boolean {
  const index = r.tracker.committed();
  if (!r.log.maybeCommit(index, r.term, r.cfg.unsafeTestingKnobs.commitPriorTerm === true)) return false;
  r.releasePendingReads();
  bcastAppend(r);
  return true;
}

/** Leader's handling of messages of its own term. */
export function stepLeader(r: Raft, m: Exclude<Message, VoteRequest>): void {
  switch (m.type) {
    case 'append-response':
      handleAppendResponse(r, m.from, m.index, m.reject, m.hintIndex, m.hintTerm);
      return;
    case 'heartbeat-response':
      handleHeartbeatResponse(r, m.from, m.context);
      return;
    case 'read-index':
      if (r.tracker.progress.has(m.from)) r.handleReadIndex(m.from, m.context);
      return;
    case 'append':
    case 'heartbeat':
    case 'snapshot':
      // Election Safety (§5.2): at most one leader per term. Continuing would corrupt logs.
      invariant(false, () => `two leaders in term ${r.term}: ${r.id} and ${m.from}`);
      return;
    case 'vote-response':
    case 'timeout-now':
    case 'read-index-response':
      return;
  }
}

function handleAppendResponse(r: Raft, from: NodeId, index: number, reject: boolean, hintIndex: number, hintTerm: number): void {
  const pr = r.tracker.progress.get(from);
  if (pr === undefined) return;
  pr.lastHeardTick = r.ticks;
  if (reject) {
    // The follower told us the last index where its log may match ours (hintIndex) and its
    // term there; skip every entry of ours that cannot match (§5.3, fast backtracking).
    let probe = hintIndex;
    if (hintTerm > 0) probe = r.log.findConflictByTerm(hintIndex, hintTerm).index;
    if (pr.maybeDecrTo(index, probe)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      sendAppend(r, from);
    }
    return;
  }
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

function handleHeartbeatResponse(r: Raft, from: NodeId, context: string | null): void {
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
  if (context === null) return;
  const acks = r.readOnly.recvAck(from, context);
  if (acks === undefined) return;
  const votes = new Map<NodeId, boolean>();
  for (const id of acks) votes.set(id, true);
  if (voteResult(r.tracker.voters, votes) !== 'won') return;
  // A quorum still recognises us as leader: every read queued up to this one is safe.
  for (const rs of r.readOnly.advance(context)) r.respondRead(rs);
}

/** The transport could not reach `id`: stop pipelining to it until it answers again. */
export function reportUnreachable(r: Raft, id: NodeId): void {
  const pr = r.tracker.progress.get(id);
  if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
}

/**
 * The driver finished (or failed) streaming a snapshot to `id`. Either way the follower goes
 * back to probing; the next heartbeat answer resumes replication from what it holds.
 */
export function reportSnapshot(r: Raft, id: NodeId, ok: boolean): void {
  const pr = r.tracker.progress.get(id);
  if (pr === undefined || pr.state !== 'snapshot') return;
  if (!ok) pr.pendingSnapshot = 0;
  pr.becomeProbe();
  // Wait for a heartbeat response before probing, rather than resending at once.
  pr.probeSent = true;
}
