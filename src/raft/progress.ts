/**
 * The leader's view of one follower's log (Raft Figure 2: nextIndex and matchIndex), plus the
 * flow-control state of etcd-io/raft's tracker: how aggressively the leader may send.
 *
 * - `probe`: we do not know where the follower's log ends. Send one append at a time and wait
 *   for its answer (or a heartbeat response) before the next.
 * - `replicate`: the follower is in sync. Send optimistically, advancing `next` as we send, as
 *   long as the inflight window has room (pipelining).
 * - `snapshot`: the follower needs entries we have compacted; a snapshot is on its way and no
 *   appends are sent until it is reported done.
 */
import { Inflights } from './inflights.js';
import { invariant } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to be durably replicated on this peer. */
  match = 0;
  /** Index of the next entry to send. Always > match. */
  next: number;
  state: ProgressState = 'probe';
  /** In `snapshot` state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /**
   * The leader's tick count when this peer last answered (CheckQuorum, thesis §6.2). A new
   * leader starts every peer at its election tick: a full election timeout of grace.
   */
  lastHeardTick = Number.NEGATIVE_INFINITY;
  /** In `probe` state: an append was sent and its answer is awaited. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflightMsgs: number,
    maxInflightBytes: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Enter probe state: resend from just after what we know matches. */
  becomeProbe(): void {
    if (this.state === 'snapshot') {
      // After a snapshot, the follower holds at least the snapshot's index.
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  /** Enter replicate state: the follower matches up to `match`; pipeline from there. */
  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  /** Enter snapshot state for a snapshot at `snapshotIndex`. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /**
   * Records a successful append acknowledgement up to `index`. Returns false when it tells us
   * nothing new (a stale or duplicated acknowledgement).
   */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * Bookkeeping after sending an append whose entries end at `lastIndex` (`count` entries,
   * `bytes` payload). In replicate state the window advances optimistically; in probe state we
   * wait for the answer.
   */
  sentEntries(count: number, bytes: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        invariant(lastIndex + 1 > this.next - 1, () => `progress: sent ${lastIndex} behind next ${this.next}`);
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * Handles a rejection of the append whose prevLogIndex was `rejected`, with the leader-side
   * probe point `probeHint` computed from the follower's reject hint (§5.3 optimisation).
   * Returns false when the rejection is stale (already superseded) and must be ignored.
   */
  maybeDecrTo(rejected: number, probeHint: number): boolean {
    if (this.state === 'replicate') {
      // A rejection at or below match is a stale answer to an old message.
      if (rejected <= this.match) return false;
      // Pipelined messages after a rejection are all doomed; restart from what matches.
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the answer to the probe we sent (prevLogIndex = next-1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** True when no append may be sent to this peer now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
