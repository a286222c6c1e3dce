/**
 * The durable log a node's host writes each Ready to (docs/design.md#storage). Implementations:
 * the in-memory log (tests, simulator) and the LevelDB log. Both must pass
 * test/contract/durable-log.contract.ts.
 *
 * The interface is callback-based, not Promise-based, on purpose: the host and the simulator
 * drive it synchronously event by event, so completion order is decided by the caller (or the
 * simulated disk), never by microtask scheduling.
 */
import type { Entry, HardState, SnapshotMeta } from '../raft/index.js';

/** One Ready's worth of durable state, written atomically. */
export interface PersistBatch {
  /** New hard state, if it changed. */
  readonly hardState?: HardState;
  /** A snapshot to install: every stored entry is discarded and the log restarts after it. */
  readonly snapshot?: SnapshotMeta;
  /**
   * Entries to store, contiguous. Any stored entry at or after the first one's index is
   * replaced (the conflicting suffix is deleted in the same atomic write).
   */
  readonly entries: readonly Entry[];
  /** Must be durable (fsynced) before `done` is called. */
  readonly sync: boolean;
}

/** What a node finds on disk at boot. */
export interface LoadedState {
  readonly hardState: HardState;
  /** The latest snapshot the log was compacted to (index 0 when none). */
  readonly snapshot: SnapshotMeta;
  /** Every entry after the snapshot, in order. */
  readonly entries: readonly Entry[];
}

/** Completion callback: `null` on success. An error is fatal to the node (fail-stop). */
export type Done = (error: Error | null) => void;

export interface DurableLog {
  /** Reads everything back (boot). */
  load(): LoadedState | Promise<LoadedState>;
  /**
   * Writes `batch` atomically: after a crash either all of it or none of it is visible. With
   * `sync`, `done` is called only once it is durable. Batches complete in submission order.
   */
  persist(batch: PersistBatch, done: Done): void;
  /**
   * Records `snapshot` as the log's base and deletes entries up to its index. The caller must
   * have made the snapshot's data durable first (snapshot store), or a crash would lose state.
   */
  compact(snapshot: SnapshotMeta, done: Done): void;
  /** Releases resources; pending callbacks may never fire. */
  close(): void | Promise<void>;
}
