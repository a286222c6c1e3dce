/**
 * The log as the protocol sees it: durable entries (through {@link Storage}) followed by the
 * unstable tail, with the commit and applied indexes. The unstable tail shadows storage: after a
 * conflicting append it may start below storage's last index, and then it is the truth.
 */
import { UnstableLog } from './log-unstable.js';
import { ConfigHistory } from './membership.js';
import { COMPACTED, type Storage } from './storage.js';
import { entrySize, invariant, type Entry, type SnapshotMeta } from './types.js';

/** No size limit for entry slices. */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export class RaftLog {
  readonly unstable: UnstableLog;
  /** Highest index known committed (Figure 2, commitIndex). */
  committed: number;
  /** Highest index handed to the application and acknowledged by `advance()`. */
  applied: number;
  /**
   * The configurations this log holds (membership.ts): kept in step with every append,
   * truncation and snapshot install, so the one in force is always the latest in the log.
   */
  readonly configs: ConfigHistory;

  constructor(
    readonly storage: Storage,
    applied: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new UnstableLog(last + 1);
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = first - 1;
    this.applied = first - 1;
    if (applied > this.applied) this.applied = applied;
    // The snapshot's configuration, then every config entry after it (entries it covers are
    // ignored by the history).
    const snap = storage.snapshot();
    const base = typeof snap === 'string' ? first - 1 : snap.index;
    this.configs = new ConfigHistory({ index: base, conf: storage.initialState().confState });
    if (last >= first) {
      const ents = storage.entries(first, last + 1, NO_LIMIT);
      invariant(ents !== COMPACTED, () => `stored entries ${first}..${last} unreadable at boot`);
      this.configs.appended(ents);
    }
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Last index the driver has confirmed durable (what a leader may count for itself). */
  lastStableIndex(): number {
    if (this.unstable.snapshot !== undefined) return Math.min(this.storage.lastIndex(), this.lastIndex());
    return Math.min(this.unstable.offset - 1, this.lastIndex());
  }

  /** Term at `i`; undefined when compacted or beyond the end. Index 0 has term 0. */
  term(i: number): number | undefined {
    if (i === 0) return 0;
    // Below the first index's predecessor the log is compacted, even if storage still holds
    // stale entries there (a snapshot install not yet persisted).
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    const u = this.unstable.maybeTerm(i);
    if (u !== undefined) return u;
    if (i >= this.unstable.offset) return undefined;
    const t = this.storage.term(i);
    return typeof t === 'number' ? t : undefined;
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    invariant(t !== undefined, () => `no term for last index ${this.lastIndex()}`);
    return t;
  }

  matchTerm(i: number, term: number): boolean {
    const t = this.term(i);
    return t !== undefined && t === term;
  }

  /**
   * Election restriction (Raft §5.4.1): a log ending in (`lastIndex`, `term`) is at least as up
   * to date as ours if its last term is higher, or equal with an index at least as large.
   */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * AppendEntries receiver rules 2–5 (Figure 2). Returns the index of the last new entry when
   * (prevIndex, prevTerm) matches, else undefined (reply false). Deletes a conflicting suffix
   * (never a committed entry: that would be a broken invariant) and advances commit to
   * min(commit, last new entry).
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      invariant(conflict > this.committed, () => `entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      const first = ents[0];
      invariant(first !== undefined, () => 'conflict without entries');
      this.append(ents.slice(conflict - first.index));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Appends after any conflicting suffix; returns the new last index. */
  append(ents: readonly Entry[]): number {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    invariant(first.index - 1 >= this.committed, () => `append at ${first.index} would overwrite committed ${this.committed}`);
    invariant(first.index <= this.lastIndex() + 1, () => `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(ents);
    this.configs.appended(ents);
    return this.lastIndex();
  }

  /**
   * Index of the first entry in `ents` whose term differs from ours (or that we lack), or 0 if
   * we hold all of them already (Log Matching, §5.3).
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with its term: where a leader whose log
   * has `term` at `index` should probe next. Skips a whole divergent term per round trip.
   * Returns term 0 when the search runs into the compacted part of the log.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /** Entries in [lo, hi) with at most `maxBytes` (at least one), or COMPACTED. */
  slice(lo: number, hi: number, maxBytes: number): readonly Entry[] | typeof COMPACTED {
    if (lo === hi) return [];
    invariant(lo < hi, () => `slice lo ${lo} > hi ${hi}`);
    if (lo < this.firstIndex()) return COMPACTED;
    invariant(hi <= this.lastIndex() + 1, () => `slice hi ${hi} beyond last ${this.lastIndex()}`);
    const out: Entry[] = [];
    const uOff = this.unstable.offset;
    if (lo < uOff) {
      const stored = this.storage.entries(lo, Math.min(hi, uOff), maxBytes);
      if (stored === COMPACTED) return COMPACTED;
      out.push(...stored);
      if (stored.length < Math.min(hi, uOff) - lo) return out; // size limit hit
    }
    if (hi > uOff) {
      const tail = this.unstable.slice(Math.max(lo, uOff), hi);
      return limitSize(out, tail, maxBytes);
    }
    return out;
  }

  /** Entries from `lo` to the end, at most `maxBytes`. */
  entriesFrom(lo: number, maxBytes: number): readonly Entry[] | typeof COMPACTED {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    invariant(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}: log corrupted, truncated or lost?`);
    this.committed = index;
  }

  /**
   * Leader commit rule (Raft §5.4.2, Figure 8): advance commit to `index` only if that entry is
   * from the current `term`; earlier-term entries are committed indirectly. `allowPriorTerm`
   * disables the check (negative-control switch for tests only).
   */
  maybeCommit(index: number, term: number, allowPriorTerm: boolean): boolean {
    if (index > this.committed && (allowPriorTerm || this.term(index) === term)) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    invariant(
      index <= this.committed && index >= this.applied,
      () => `applied(${index}) outside [applied ${this.applied}, committed ${this.committed}]`,
    );
    this.applied = index;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /**
   * Committed entries not yet handed out for applying, at most `maxBytes` (none while a snapshot
   * is pending). With `durableOnly`, only entries already durable in this node's log: a leader
   * can see an entry committed by its followers' acknowledgements before its own write of it
   * completes, and a follower can learn the commit of entries it is still writing. Without it
   * (a Ready, whose driver persists the Ready's entries before applying), those come too.
   */
  nextCommittedEntries(maxBytes: number, durableOnly = false): readonly Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    const hi = this.applyLimit(durableOnly);
    if (lo > hi) return [];
    const ents = this.slice(lo, hi + 1, maxBytes);
    invariant(ents !== COMPACTED, () => `unapplied committed entries from ${lo} were compacted`);
    return ents;
  }

  hasNextCommittedEntries(durableOnly = false): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.applyLimit(durableOnly) > Math.max(this.applied, this.firstIndex() - 1);
  }

  private applyLimit(durableOnly: boolean): number {
    return durableOnly ? Math.min(this.committed, this.lastStableIndex()) : this.committed;
  }

  snapshot(): SnapshotMeta | undefined {
    if (this.unstable.snapshot !== undefined) return this.unstable.snapshot;
    const s = this.storage.snapshot();
    return typeof s === 'string' ? undefined : s;
  }

  /** Replaces the log with a snapshot (follower install, §7). */
  restore(snapshot: SnapshotMeta): void {
    this.configs.restore({ index: snapshot.index, conf: snapshot.confState }, this.committed);
    this.committed = snapshot.index;
    this.unstable.restore(snapshot);
  }
}

function limitSize(head: Entry[], tail: readonly Entry[], maxBytes: number): Entry[] {
  let size = 0;
  for (const e of head) size += entrySize(e);
  for (const e of tail) {
    size += entrySize(e);
    if (head.length > 0 && size > maxBytes) break;
    head.push(e);
  }
  return head;
}
