/**
 * The unstable tail of the log: entries (and possibly a snapshot) the core has accepted but the
 * driver has not yet confirmed durable. Everything here is handed out in the next Ready and
 * leaves this structure only when `advance()` reports it persisted.
 */
import { invariant, type Entry, type SnapshotMeta } from './types.js';

export class UnstableLog {
  /** A snapshot received from the leader and not yet persisted. */
  snapshot: SnapshotMeta | undefined;
  /** Entries not yet persisted; `entries[k]` has index `offset + k`. */
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** First index known here: only when a pending snapshot defines it. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.index + 1;
  }

  /** Last index known here, from entries or a pending snapshot. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.index;
  }

  /** Term of index `i` if this tail knows it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.index === i) return this.snapshot.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]?.term;
  }

  /**
   * Entries up to (`index`, `term`) are durable: drop them. Ignored if the entry at `index` was
   * replaced since the Ready that carried it (a conflicting append arrived during the fsync):
   * what was persisted is then not what we hold.
   */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || t !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  /** The snapshot at `index` is durable. */
  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.index === index) this.snapshot = undefined;
  }

  /** Replaces everything with a snapshot to install. */
  restore(snapshot: SnapshotMeta): void {
    this.offset = snapshot.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends `ents`, replacing any conflicting suffix (they start at most one past the end). */
  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    const after = first.index;
    if (after === this.offset + this.entries.length) {
      // Directly after the tail.
      this.entries.push(...ents);
    } else if (after <= this.offset) {
      // Replaces the whole tail; the durable log behind it is overwritten from `after` too.
      this.offset = after;
      this.entries = [...ents];
    } else {
      // Truncate to [offset, after) and append.
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  /** Entries in [lo, hi), which must lie within the tail. */
  slice(lo: number, hi: number): Entry[] {
    invariant(
      lo >= this.offset && hi <= this.offset + this.entries.length && lo <= hi,
      () => `unstable.slice(${lo}, ${hi}) out of [${this.offset}, ${this.offset + this.entries.length})`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
