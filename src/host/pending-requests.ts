/**
 * Bookkeeping for client requests waiting on the ready loop: proposals waiting for their entry
 * to be applied, and reads waiting for a confirmed read point and then for the state machine to
 * reach it.
 */
import { NONE, type NodeId, type ReadState } from '../raft/index.js';

/** How a proposal ended. Exactly one is delivered per proposal. */
export type ProposeOutcome<R> =
  | { readonly type: 'applied'; readonly index: number; readonly term: number; readonly result: R }
  | {
      readonly type: 'failed';
      /**
       * Definitely not applied, now or later. NOT_LEADER / TRANSFER_IN_PROGRESS: refused on
       * arrival. SUPERSEDED: an entry of another term was committed at its index, so it can
       * never be (Log Matching). STOPPED: the node was stopping.
       */
      readonly code: 'NOT_LEADER' | 'TRANSFER_IN_PROGRESS' | 'SUPERSEDED' | 'STOPPED';
      /** Where to retry, if known. */
      readonly leader: NodeId;
    }
  | {
      /** May or may not be applied: retry with the same (session, seq) to find out safely. */
      readonly type: 'unknown';
      readonly reason: 'leadership-lost' | 'stopped';
    };

/** How a read ended. */
export type ReadOutcome =
  | { readonly type: 'ready'; readonly index: number }
  | {
      readonly type: 'failed';
      readonly code: 'NO_LEADER' | 'LEADERSHIP_CHANGED' | 'TIMEOUT' | 'STOPPED';
      readonly leader: NodeId;
    };

export class ProposalTracker<R> {
  private readonly byIndex = new Map<number, { readonly term: number; readonly done: (o: ProposeOutcome<R>) => void }>();

  get size(): number {
    return this.byIndex.size;
  }

  add(index: number, term: number, done: (o: ProposeOutcome<R>) => void): void {
    const previous = this.byIndex.get(index);
    // A new leader term reusing an index means the old proposal there was superseded.
    if (previous !== undefined) previous.done({ type: 'failed', code: 'SUPERSEDED', leader: NONE });
    this.byIndex.set(index, { term, done });
  }

  /** The entry at `index` with `term` was applied with `result`. */
  resolve(index: number, term: number, result: R): void {
    const p = this.byIndex.get(index);
    if (p === undefined) return;
    this.byIndex.delete(index);
    // Only the same (index, term) is our entry; another term's entry there means ours is gone.
    if (p.term === term) p.done({ type: 'applied', index, term, result });
    else p.done({ type: 'failed', code: 'SUPERSEDED', leader: NONE });
  }

  /** Proposals at or below `index` were covered by an installed snapshot: outcome unknown. */
  failUpTo(index: number): void {
    for (const [i, p] of this.byIndex) {
      if (i <= index) {
        this.byIndex.delete(i);
        p.done({ type: 'unknown', reason: 'leadership-lost' });
      }
    }
  }

  failAll(outcome: ProposeOutcome<R>): void {
    const all = [...this.byIndex.values()];
    this.byIndex.clear();
    for (const p of all) p.done(outcome);
  }
}

interface WaitingRead {
  readonly done: (o: ReadOutcome) => void;
  age: number;
  /** Confirmed read point, once the ReadState arrived. */
  index: number | undefined;
}

export class ReadTracker {
  private readonly waiting = new Map<string, WaitingRead>();
  private seq = 0;

  constructor(
    private readonly prefix: string,
    private readonly timeoutTicks: number,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  nextContext(): string {
    return `${this.prefix}.${(this.seq++).toString(36)}`;
  }

  add(context: string, done: (o: ReadOutcome) => void): void {
    this.waiting.set(context, { done, age: 0, index: undefined });
  }

  addReadStates(states: readonly ReadState[]): void {
    for (const rs of states) {
      const w = this.waiting.get(rs.context);
      if (w !== undefined && w.index === undefined) w.index = rs.index;
    }
  }

  /** Answers every confirmed read whose point the state machine has reached. */
  serve(applied: number): void {
    for (const [ctx, w] of this.waiting) {
      if (w.index !== undefined && w.index <= applied) {
        this.waiting.delete(ctx);
        w.done({ type: 'ready', index: w.index });
      }
    }
  }

  /** Fails reads that have no confirmed point yet (their request may be lost with the leader). */
  failUnconfirmed(code: 'LEADERSHIP_CHANGED'): void {
    for (const [ctx, w] of this.waiting) {
      if (w.index === undefined) {
        this.waiting.delete(ctx);
        w.done({ type: 'failed', code, leader: NONE });
      }
    }
  }

  tick(): void {
    for (const [ctx, w] of this.waiting) {
      w.age++;
      if (w.age > this.timeoutTicks) {
        this.waiting.delete(ctx);
        w.done({ type: 'failed', code: 'TIMEOUT', leader: NONE });
      }
    }
  }

  failAll(code: 'STOPPED'): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.done({ type: 'failed', code, leader: NONE });
  }
}
