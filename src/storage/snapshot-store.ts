/**
 * Where a node keeps snapshot data (docs/design.md#snapshots): written completely and synced
 * before the log is compacted behind it. Callback-based for the same reason as
 * {@link DurableLog}.
 */
import type { SnapshotMeta } from '../raft/index.js';
import type { Done } from './durable-log.js';

export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export interface SnapshotStore {
  /** Durably saves a snapshot; `done` once it is synced. Older snapshots may then be deleted. */
  save(snapshot: StoredSnapshot, done: Done): void;
  /** The newest saved snapshot, if any. */
  latest(): StoredSnapshot | undefined;
}

/** A snapshot store in memory, with the same crash semantics switch as the memory log. */
export class MemorySnapshotStore implements SnapshotStore {
  private current: StoredSnapshot | undefined;

  save(snapshot: StoredSnapshot, done: Done): void {
    if (this.current === undefined || snapshot.meta.index >= this.current.meta.index) this.current = snapshot;
    done(null);
  }

  latest(): StoredSnapshot | undefined {
    return this.current;
  }
}
