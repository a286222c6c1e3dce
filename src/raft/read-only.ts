/**
 * The leader's queue of ReadIndex requests awaiting a quorum of heartbeat acknowledgements
 * (Raft thesis §6.4). A request records the commit index at the time it arrived; once a
 * majority confirms the leader is still the leader, that request and every earlier one may be
 * served at their recorded index.
 */
import { voteResult } from './quorum.js';
import type { NodeId } from './types.js';

/** One pending read. */
export interface ReadRequest {
  readonly context: string;
  /** Commit index when the request arrived: the read point. */
  readonly index: number;
  /** Who asked: the leader itself, or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly acks: Set<NodeId>;
}

export class ReadOnlyQueue {
  private pending = new Map<string, ReadRequest>();
  private queue: string[] = [];

  get size(): number {
    return this.queue.length;
  }

  /** Queues a request unless one with the same context is already pending. */
  add(index: number, context: string, from: NodeId): boolean {
    if (this.pending.has(context)) return false;
    this.pending.set(context, { context, index, from, acks: new Set() });
    this.queue.push(context);
    return true;
  }

  /** Records `id`'s acknowledgement of `context`; returns the acks so far (undefined if unknown). */
  recvAck(id: NodeId, context: string): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(context);
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /**
   * Records `id`'s acknowledgement of `context`. Once a majority of `voters` has acknowledged
   * it, a quorum still recognised the leader after the request arrived: returns it and every
   * earlier request, removed from the queue, to be served. Otherwise returns none.
   */
  confirm(id: NodeId, context: string, voters: ReadonlySet<NodeId>): ReadRequest[] {
    const acks = this.recvAck(id, context);
    if (acks === undefined) return [];
    const votes = new Map<NodeId, boolean>();
    for (const a of acks) votes.set(a, true);
    if (voteResult(voters, votes) !== 'won') return [];
    return this.advance(context);
  }

  /**
   * Removes and returns every request up to and including `context` (confirmed by a quorum; a
   * later confirmation also confirms every earlier request).
   */
  private advance(context: string): ReadRequest[] {
    const pos = this.queue.indexOf(context);
    if (pos < 0) return [];
    const done = this.queue.splice(0, pos + 1);
    const out: ReadRequest[] = [];
    for (const ctx of done) {
      const rs = this.pending.get(ctx);
      this.pending.delete(ctx);
      if (rs !== undefined) out.push(rs);
    }
    return out;
  }

  /** Context of the newest pending request, if any (re-sent with heartbeats). */
  lastPendingContext(): string | undefined {
    return this.queue[this.queue.length - 1];
  }

  /** Drops everything (leadership lost). */
  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
