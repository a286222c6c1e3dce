/**
 * A {@link DurableLog} in memory that models a disk honestly enough for the simulator:
 * - a batch becomes *visible* when its write completes, and *durable* only when a synced batch
 *   completes (an fsync flushes every earlier write too);
 * - `crash()` keeps only what was durable: in-flight writes and completed unsynced writes are
 *   lost, which is the worst a real disk may do;
 * - when writes complete is decided by an injected scheduler (immediately by default), so the
 *   simulator can hold an fsync open while more proposals arrive, or crash in the middle.
 */
import type { Entry, HardState, SnapshotMeta } from '../raft/index.js';
import type { Done, DurableLog, LoadedState, PersistBatch } from './durable-log.js';

/** Decides when a submitted write completes; must call `complete` exactly once, in order. */
export type WriteScheduler = (complete: () => void) => void;

interface DiskState {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta;
  readonly entries: readonly Entry[];
}

const EMPTY_STATE: DiskState = {
  hardState: { term: 0, vote: 0, commit: 0 },
  snapshot: { index: 0, term: 0, confState: { voters: [], learners: [] } },
  entries: [],
};

export class MemoryDurableLog implements DurableLog {
  private visible: DiskState = EMPTY_STATE;
  private durable: DiskState = EMPTY_STATE;
  /** Bumped by crash(): completions of writes submitted before it are ignored. */
  private epoch = 0;
  /** Counts of completed writes, for tests and metrics. */
  syncs = 0;
  writes = 0;
  /** Writes submitted and not yet complete. */
  inFlight = 0;

  constructor(private readonly scheduler: WriteScheduler = (complete) => complete()) {}

  load(): LoadedState {
    return { hardState: this.visible.hardState, snapshot: this.visible.snapshot, entries: [...this.visible.entries] };
  }

  persist(batch: PersistBatch, done: Done): void {
    const epoch = this.epoch;
    this.inFlight++;
    this.scheduler(() => {
      if (epoch !== this.epoch) return; // the process crashed before the write completed
      this.inFlight--;
      this.visible = applyBatch(this.visible, batch);
      this.writes++;
      if (batch.sync) {
        this.durable = this.visible;
        this.syncs++;
      }
      done(null);
    });
  }

  compact(snapshot: SnapshotMeta, done: Done): void {
    const epoch = this.epoch;
    this.scheduler(() => {
      if (epoch !== this.epoch) return;
      this.visible = compactTo(this.visible, snapshot);
      // Compaction is a synced write too: it is only issued after the snapshot is durable.
      this.durable = this.visible;
      done(null);
    });
  }

  /** Simulates a power loss / kill -9: only durable state survives; pending callbacks never fire. */
  crash(): void {
    this.epoch++;
    this.inFlight = 0;
    this.visible = this.durable;
  }

  /** True when a crash now would lose something: writes in flight or completed unsynced. */
  hasUnsyncedWrites(): boolean {
    return this.inFlight > 0 || this.visible !== this.durable;
  }

  close(): void {
    this.epoch++;
  }

  /** Durable state, for invariant checks (what a crash right now would leave). */
  durableState(): LoadedState {
    return { hardState: this.durable.hardState, snapshot: this.durable.snapshot, entries: this.durable.entries };
  }
}

function applyBatch(s: DiskState, b: PersistBatch): DiskState {
  let { hardState, snapshot, entries } = s;
  if (b.snapshot !== undefined && b.snapshot.index > snapshot.index) {
    snapshot = b.snapshot;
    entries = [];
  }
  const first = b.entries[0];
  if (first !== undefined) {
    const base = snapshot.index;
    if (first.index > base + entries.length + 1) {
      throw new Error(`memory log: gap, last stored index ${base + entries.length}, batch starts at ${first.index}`);
    }
    // Keep stored entries before the first new one; replace everything from it on.
    const keep = Math.max(0, Math.min(entries.length, first.index - base - 1));
    const fresh = b.entries.filter((e) => e.index > base);
    entries = entries.slice(0, keep).concat(fresh);
  }
  if (b.hardState !== undefined) hardState = b.hardState;
  return { hardState, snapshot, entries };
}

function compactTo(s: DiskState, snapshot: SnapshotMeta): DiskState {
  if (snapshot.index <= s.snapshot.index) return s;
  return { hardState: s.hardState, snapshot, entries: s.entries.filter((e) => e.index > snapshot.index) };
}
