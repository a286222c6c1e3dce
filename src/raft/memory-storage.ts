/**
 * An in-memory {@link Storage}, also the write-side mirror a driver keeps of its durable log:
 * the driver persists a Ready, then records the same hard state, entries and snapshot here.
 *
 * Layout: `ents[0]` is a dummy entry at the snapshot's index and term, so `term(snapshotIndex)`
 * answers without a special case and `ents[k]` has index `ents[0].index + k`.
 */
import { COMPACTED, UNAVAILABLE, type Storage } from './storage.js';
import { entrySize, invariant, type ConfState, type Entry, type HardState, type SnapshotMeta } from './types.js';

const EMPTY_DATA = new Uint8Array(0);

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snapshotMeta: SnapshotMeta;
  private ents: Entry[];

  /** A fresh, empty log whose configuration is `confState` (the bootstrap configuration). */
  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.snapshotMeta = { index: 0, term: 0, confState };
    this.ents = [{ index: 0, term: 0, type: 'noop', data: EMPTY_DATA }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.confState() };
  }

  /** The configuration in force: the snapshot's (config entries are not yet interpreted). */
  confState(): ConfState {
    return this.snapshotMeta.confState;
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  getHardState(): HardState {
    return this.hardState;
  }

  private offset(): number {
    return this.dummy().index;
  }

  private dummy(): Entry {
    const d = this.ents[0];
    invariant(d !== undefined, () => 'memory storage lost its dummy entry');
    return d;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number | typeof COMPACTED | typeof UNAVAILABLE {
    const off = this.offset();
    if (i < off) return COMPACTED;
    if (i > this.lastIndex()) return UNAVAILABLE;
    const e = this.ents[i - off];
    invariant(e !== undefined, () => `memory storage: no entry at ${i}`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | typeof COMPACTED {
    const off = this.offset();
    if (lo <= off) return COMPACTED;
    invariant(hi <= this.lastIndex() + 1, () => `memory storage: entries hi ${hi} beyond last ${this.lastIndex()}`);
    invariant(lo <= hi, () => `memory storage: entries lo ${lo} > hi ${hi}`);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - off];
      invariant(e !== undefined, () => `memory storage: no entry at ${i}`);
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): SnapshotMeta {
    return this.snapshotMeta;
  }

  /**
   * Replaces the whole log with a snapshot (a follower installing one). Older snapshots are
   * ignored: returns false and changes nothing.
   */
  applySnapshot(meta: SnapshotMeta): boolean {
    if (meta.index < this.snapshotMeta.index) return false;
    this.snapshotMeta = meta;
    this.ents = [{ index: meta.index, term: meta.term, type: 'noop', data: EMPTY_DATA }];
    if (this.hardState.commit < meta.index) this.hardState = { ...this.hardState, commit: meta.index };
    return true;
  }

  /**
   * Records that the application took a snapshot of its state at `index` (which must be
   * applied, hence in the log). Does not compact; call {@link compact} once the snapshot's data
   * is durable.
   */
  createSnapshot(index: number, confState: ConfState): SnapshotMeta {
    invariant(index >= this.snapshotMeta.index, () => `createSnapshot ${index} older than ${this.snapshotMeta.index}`);
    invariant(index <= this.lastIndex(), () => `createSnapshot ${index} beyond last index ${this.lastIndex()}`);
    const t = this.term(index);
    invariant(typeof t === 'number', () => `createSnapshot: no term for ${index}`);
    this.snapshotMeta = { index, term: t, confState };
    return this.snapshotMeta;
  }

  /** Discards entries up to and including `compactIndex` (≤ the snapshot index). */
  compact(compactIndex: number): void {
    const off = this.offset();
    if (compactIndex <= off) return;
    invariant(compactIndex <= this.lastIndex(), () => `compact ${compactIndex} beyond last ${this.lastIndex()}`);
    invariant(
      compactIndex <= this.snapshotMeta.index,
      () => `compact ${compactIndex} beyond snapshot ${this.snapshotMeta.index}: entries would be lost`,
    );
    const kept = this.ents.slice(compactIndex - off);
    const head = kept[0];
    invariant(head !== undefined, () => 'compact: nothing left');
    kept[0] = { index: head.index, term: head.term, type: 'noop', data: EMPTY_DATA };
    this.ents = kept;
  }

  /**
   * Appends entries, replacing any existing suffix they conflict with. Entries must be
   * contiguous and must not leave a gap after the current last index.
   */
  append(entries: readonly Entry[]): void {
    const firstNew = entries[0];
    if (firstNew === undefined) return;
    for (let k = 1; k < entries.length; k++) {
      invariant(entries[k]?.index === firstNew.index + k, () => 'memory storage: appended entries not contiguous');
    }
    const first = this.firstIndex();
    const lastNew = firstNew.index + entries.length - 1;
    // Entries entirely covered by the snapshot are already applied everywhere; skip them.
    if (lastNew < first) return;
    const toAppend = firstNew.index < first ? entries.slice(first - firstNew.index) : entries;
    const start = toAppend[0];
    invariant(start !== undefined, () => 'memory storage: nothing to append');
    invariant(start.index <= this.lastIndex() + 1, () => `memory storage: gap, last ${this.lastIndex()}, appending ${start.index}`);
    // In place, so an append costs its own length, not the log's (which holds up to a
    // snapshot interval of entries). Nothing outside holds the array.
    this.ents.length = start.index - this.offset();
    for (const e of toAppend) this.ents.push(e);
  }
}
