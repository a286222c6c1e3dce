/**
 * Durable state of a node: the log with its hard state ({@link DurableLog}: LevelDB, or memory
 * for tests and the simulator) and snapshots ({@link SnapshotStore}: files, or memory). One
 * synced write per Ready; see docs/design.md#storage.
 */
export type { DurableLog, Done, LoadedState, PersistBatch } from './durable-log.js';
export { LevelDurableLog, type LevelDurableLogOptions } from './level-durable-log.js';
export type { KnownPeer } from './records.js';
export { MemoryDurableLog, type WriteScheduler } from './memory-durable-log.js';
export { FileSnapshotStore } from './file-snapshot-store.js';
export { MemorySnapshotStore, type SnapshotStore, type StoredSnapshot } from './snapshot-store.js';
export { StorageError, type StorageErrorCode } from './storage-error.js';
