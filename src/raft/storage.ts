/**
 * The read-only view of durable state the core consults (etcd-io/raft's `Storage`). The driver
 * owns the real storage: it persists what `Ready` hands it, then records it here. The core
 * never writes through this interface, which is what keeps it free of I/O.
 */
import type { ConfState, Entry, HardState, SnapshotMeta } from './types.js';

/** Result of asking for entries or a term that the log no longer has. */
export const COMPACTED = 'compacted' as const;
/** Result of asking for a term beyond the end of the log. */
export const UNAVAILABLE = 'unavailable' as const;

export interface Storage {
  /** Hard state and configuration as of the last persisted state (at boot). */
  initialState(): { readonly hardState: HardState; readonly confState: ConfState };
  /**
   * Entries in [lo, hi), truncated so the total {@link entrySize} stays ≤ `maxBytes` (always at
   * least one entry when any exist). `COMPACTED` when lo ≤ the snapshot index. Asking beyond
   * lastIndex() + 1 is a caller bug and throws.
   */
  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | typeof COMPACTED;
  /**
   * Term of the entry at index `i`. The snapshot index has its snapshot's term. `COMPACTED`
   * below that, `UNAVAILABLE` beyond lastIndex().
   */
  term(i: number): number | typeof COMPACTED | typeof UNAVAILABLE;
  /** Index of the first entry still available (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry (the snapshot index when the log behind it is empty). */
  lastIndex(): number;
  /** Metadata of the most recent snapshot; `UNAVAILABLE` while one is being produced. */
  snapshot(): SnapshotMeta | typeof UNAVAILABLE;
}
