/**
 * The {@link DurableLog} of a real node: one LevelDB per node (docs/design.md#storage), laid
 * out as in ./records.ts (fixed-width big-endian entry keys, hard state, base and metadata
 * beside them, a CRC-32 in every record).
 *
 * Write discipline:
 * - every `persist` / `compact` is exactly ONE LevelDB batch, so a crash leaves all of it or none
 *   of it (LevelDB's write-ahead log makes a batch atomic); `clear()` is never used because it
 *   is not atomic;
 * - writes run strictly one at a time, in submission order, from an explicit queue: LevelDB runs
 *   each write on a libuv worker thread, and two writes submitted together may complete in
 *   either order. The queue is also where the host's group commit happens: while one batch
 *   syncs, the host gathers the next;
 * - the shape of the log (base, last index, hard state) is kept in memory, so a batch knows
 *   which stored keys it supersedes without reading the disk.
 *
 * Read discipline: `open` reads every record and verifies it (checksums, kinds, contiguity,
 * terms never decreasing); anything wrong stops the node with a `STORAGE_CORRUPT` error naming
 * the record and the path. Nothing is ever truncated or repaired silently.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import type { Entry, HardState, SnapshotMeta } from '../raft/index.js';
import type { Done, DurableLog, LoadedState, PersistBatch } from './durable-log.js';
import {
  BASE_KEY,
  FORMAT_VERSION,
  HARD_STATE_KEY,
  META_KEY,
  decodeBase,
  decodeEntry,
  decodeHardState,
  decodeKnownPeers,
  decodeMeta,
  encodeBase,
  encodeEntry,
  encodeHardState,
  encodeKnownPeers,
  encodeMeta,
  entryKey,
  keyHex,
  parseEntryKey,
  KNOWN_PEERS_KEY,
  type KnownPeer,
  type StorageMeta,
} from './records.js';
import { RecordError, StorageError, describeError, invokeDone } from './storage-error.js';

/** Where and whose: see {@link LevelDurableLog.open}. */
export interface LevelDurableLogOptions {
  /** The database directory (created if missing), e.g. `<dataDir>/node-<id>/log`. */
  readonly path: string;
  /** The cluster this node belongs to; must match what the directory records. */
  readonly clusterId: string;
  /** This node's id; must match what the directory records. */
  readonly nodeId: number;
}

type Db = Level<Buffer, Buffer>;
type Op = { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer } | { readonly type: 'del'; readonly key: Buffer };

/** The shape of the stored log, kept in memory so writes need no reads. */
interface Shape {
  readonly base: SnapshotMeta;
  /** Index of the last stored entry (`base.index` when none). */
  readonly lastIndex: number;
  readonly hardState: HardState;
}

/** One queued operation. `abort` runs instead of `run` when the log is closed first. */
interface Task {
  run(): Promise<void>;
  abort(): void;
}

const ZERO_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };
const ZERO_BASE: SnapshotMeta = { index: 0, term: 0, confState: { voters: [], learners: [] } };

export class LevelDurableLog implements DurableLog {
  /** Storage metadata as found (or created) at open. */
  readonly meta: StorageMeta & { readonly dataId: string };
  private shape: Shape;
  /** The peers this node knows by data identity, as last written. */
  private known: ReadonlyMap<number, KnownPeer>;
  /** What `open` read, handed to the first `load` if nothing was written in between. */
  private boot: LoadedState | undefined;
  private readonly queue: Task[] = [];
  /** The running queue pump, if any (`close` waits for it). */
  private pump: Promise<void> | undefined;
  /** Set by the first failed write: the disk state is then unknown, so every later one fails. */
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly db: Db,
    /** The database directory, named in every error. */
    readonly path: string,
    meta: StorageMeta & { readonly dataId: string },
    loaded: VerifiedState,
  ) {
    this.meta = meta;
    this.known = loaded.knownPeers;
    this.shape = { base: loaded.snapshot, lastIndex: loaded.lastIndex, hardState: loaded.hardState };
    this.boot = { hardState: loaded.hardState, snapshot: loaded.snapshot, entries: loaded.entries };
  }

  /**
   * Opens (creating on first use) the log at `opts.path` and verifies everything in it.
   *
   * Rejects with a {@link StorageError}:
   * - `STORAGE_LOCKED` if another process or handle has the directory open;
   * - `STORAGE_MISMATCH` if it records another cluster id or node id (or a newer format);
   * - `STORAGE_CORRUPT` if any record is damaged or the log is inconsistent;
   * - `STORAGE_IO` for other failures.
   * On rejection the database is closed again (the lock is released).
   */
  static async open(opts: LevelDurableLogOptions): Promise<LevelDurableLog> {
    const { path } = opts;
    try {
      await mkdir(path, { recursive: true });
    } catch (err) {
      throw new StorageError('STORAGE_IO', path, `cannot create storage directory ${path}: ${describeError(err)}`, { cause: err });
    }
    const db: Db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      throw openError(path, err);
    }
    try {
      let state = await readAll(db, path);
      let meta = state.meta;
      if (meta !== undefined) checkMeta(path, meta, opts);
      if (meta?.dataId === undefined) {
        // A brand-new directory: claim it before anything else is written. One of an older
        // format gets its data identity now (nothing else changed between the formats).
        meta = { formatVersion: FORMAT_VERSION, clusterId: opts.clusterId, nodeId: opts.nodeId, dataId: newDataId() };
        await db.batch([{ type: 'put', key: META_KEY, value: encodeMeta(meta) }], { sync: true });
        state = { ...state, meta };
      }
      return new LevelDurableLog(db, path, meta as StorageMeta & { dataId: string }, state);
    } catch (err) {
      await db.close().catch(() => undefined);
      if (err instanceof StorageError) throw err;
      throw new StorageError('STORAGE_IO', path, `cannot read storage at ${path}: ${describeError(err)}`, { cause: err });
    }
  }

  /**
   * Everything stored, after every write submitted before this call. The first call after
   * `open` returns what `open` read and verified; later calls read and verify the disk again.
   */
  load(): Promise<LoadedState> {
    if (this.closing !== undefined) return Promise.reject(closedError(this.path));
    return new Promise((resolve, reject) => {
      this.enqueue({
        run: async () => {
          try {
            if (this.boot !== undefined) {
              resolve(this.boot);
              this.boot = undefined;
              return;
            }
            const s = await readAll(this.db, this.path);
            if (s.lastIndex !== this.shape.lastIndex || s.snapshot.index !== this.shape.base.index) {
              throw corrupt(
                this.path,
                `log ends at ${s.lastIndex} (base ${s.snapshot.index}) but ${this.shape.lastIndex} (base ${this.shape.base.index}) was written`,
              );
            }
            resolve({ hardState: s.hardState, snapshot: s.snapshot, entries: s.entries });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
        abort: () => reject(closedError(this.path)),
      });
    });
  }

  /**
   * Writes `batch` as one LevelDB batch (synced when `batch.sync`): deletion of the superseded
   * suffix (or, with a snapshot newer than the base, of every entry), the new base, the new
   * entries and the hard state. `done` is called in submission order, never synchronously.
   * A batch that would leave a gap (`STORAGE_GAP`) or is malformed (`STORAGE_INVALID`) is
   * refused with nothing written, and the log stays usable; a failed write fails this and every
   * later call (fail-stop).
   */
  persist(batch: PersistBatch, done: Done): void {
    this.boot = undefined;
    this.write(done, batch.sync, (shape) => planPersist(this.path, shape, batch));
  }

  /**
   * Records `snapshot` as the base and deletes the entries up to its index, in one synced
   * batch. A snapshot not newer than the base changes nothing. The snapshot's data must already
   * be durable (docs/design.md#snapshots).
   */
  compact(snapshot: SnapshotMeta, done: Done): void {
    this.boot = undefined;
    this.write(done, true, (shape) => planCompact(shape, snapshot));
  }

  /** This directory's data identity (see {@link StorageMeta.dataId}). */
  get dataId(): string {
    return this.meta.dataId;
  }

  /** The peers this node knows by data identity (docs/design.md#data-identity), as last written. */
  knownPeers(): ReadonlyMap<number, KnownPeer> {
    return this.known;
  }

  /**
   * Replaces the known peers with `peers`, synced, in order with the log's other writes; `done`
   * once durable. A failure is a storage failure like any other (every later write fails).
   */
  rememberPeers(peers: ReadonlyMap<number, KnownPeer>, done: Done): void {
    const copy = new Map(peers);
    const written: Done = (err) => {
      if (err === null) this.known = copy;
      done(err);
    };
    this.write(written, true, (shape) => ({ ops: [{ type: 'put', key: KNOWN_PEERS_KEY, value: encodeKnownPeers(copy) }], next: shape }));
  }

  /**
   * Waits for the write in progress, drops queued ones (their callbacks never fire, as after a
   * crash; queued `load`s reject) and closes the database. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const task of this.queue.splice(0)) task.abort();
      await this.pump;
      await this.db.close();
    })();
    return this.closing;
  }

  // ---- the write queue ------------------------------------------------------------------------

  private write(done: Done, sync: boolean, plan: (shape: Shape) => { ops: Op[]; next: Shape }): void {
    if (this.closing !== undefined) {
      const err = closedError(this.path);
      queueMicrotask(() => invokeDone(done, err));
      return;
    }
    this.enqueue({
      run: async () => {
        if (this.failure !== undefined) return invokeDone(done, this.failure);
        let planned: { ops: Op[]; next: Shape };
        try {
          planned = plan(this.shape);
        } catch (err) {
          // Refused before touching the disk: this call fails, the log is unchanged.
          return invokeDone(done, err instanceof Error ? err : new Error(String(err)));
        }
        const { ops, next } = planned;
        // An empty synced write must still sync: it promises that earlier unsynced writes are
        // durable too. Rewriting the unchanged hard state makes LevelDB write (and sync) its log.
        if (ops.length === 0) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(next.hardState) });
        try {
          await writeBatch(this.db, ops, sync);
        } catch (err) {
          this.failure = new StorageError('STORAGE_IO', this.path, `write to ${this.path} failed: ${describeError(err)}`, { cause: err });
          return invokeDone(done, this.failure);
        }
        this.shape = next;
        invokeDone(done, null);
      },
      abort: () => undefined,
    });
  }

  private enqueue(task: Task): void {
    this.queue.push(task);
    this.pump ??= this.drain();
  }

  /** Runs queued tasks one at a time. Starts after a microtask so callbacks never fire inside
   * the call that submitted them. */
  private async drain(): Promise<void> {
    await Promise.resolve();
    for (let task = this.queue.shift(); task !== undefined; task = this.queue.shift()) {
      await task.run(); // never rejects: every task reports its own errors
    }
    this.pump = undefined;
  }
}

/**
 * Writes `ops` as one atomic LevelDB batch. A chained batch, not `db.batch(array)`: for the same
 * atomic write, abstract-level's array form copies, validates and re-encodes every operation on
 * the event loop (~5 µs each, measured: 500 µs of main-thread time per 64-put batch against
 * 130 µs chained), which cost a fifth of a follower's CPU under benchmark load.
 */
async function writeBatch(db: Db, ops: readonly Op[], sync: boolean): Promise<void> {
  const batch = db.batch();
  for (const op of ops) {
    if (op.type === 'put') batch.put(op.key, op.value);
    else batch.del(op.key);
  }
  await batch.write({ sync });
}

// ---- planning writes (pure) ---------------------------------------------------------------------

/** The batch `persist` writes, and the log's shape after it. Throws if `b` must be refused. */
function planPersist(path: string, s: Shape, b: PersistBatch): { ops: Op[]; next: Shape } {
  const ops: Op[] = [];
  let { base, lastIndex } = s;
  if (b.snapshot !== undefined && b.snapshot.index > base.index) {
    // Installing a snapshot discards the whole log; the log restarts after it.
    deleteRange(ops, base.index + 1, lastIndex);
    base = b.snapshot;
    lastIndex = base.index;
    ops.push({ type: 'put', key: BASE_KEY, value: encodeBase(base) });
  }
  const first = b.entries[0];
  if (first !== undefined) {
    checkEntries(path, b.entries, base);
    if (first.index > lastIndex + 1) {
      throw new StorageError('STORAGE_GAP', path, `log ${path}: gap, last stored index ${lastIndex}, batch starts at ${first.index}`);
    }
    // Entries at or below the base are already covered by the snapshot: skip them.
    const fresh = b.entries.filter((e) => e.index > base.index);
    const newLast = fresh.length > 0 ? first.index + b.entries.length - 1 : base.index;
    // Stored entries from the first new index on are replaced: the ones the new entries do not
    // overwrite must be deleted in this same batch (the conflicting suffix).
    deleteRange(ops, Math.max(newLast + 1, first.index, base.index + 1), lastIndex);
    for (const e of fresh) ops.push({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) });
    lastIndex = newLast;
  }
  const hardState = b.hardState ?? s.hardState;
  if (b.hardState !== undefined) {
    checkHardState(path, b.hardState);
    ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(b.hardState) });
  }
  return { ops, next: { base, lastIndex, hardState } };
}

/** The batch `compact` writes: entries up to the snapshot go, the snapshot becomes the base. */
function planCompact(s: Shape, snapshot: SnapshotMeta): { ops: Op[]; next: Shape } {
  if (snapshot.index <= s.base.index) return { ops: [], next: s };
  const ops: Op[] = [];
  deleteRange(ops, s.base.index + 1, Math.min(snapshot.index, s.lastIndex));
  ops.push({ type: 'put', key: BASE_KEY, value: encodeBase(snapshot) });
  return { ops, next: { base: snapshot, lastIndex: Math.max(s.lastIndex, snapshot.index), hardState: s.hardState } };
}

function deleteRange(ops: Op[], from: number, to: number): void {
  for (let i = from; i <= to; i++) ops.push({ type: 'del', key: entryKey(i) });
}

/** Entries must be contiguous with safe-integer indexes and terms that never decrease: the
 * same rules `open` enforces, so a write is refused rather than making the log unreadable. */
function checkEntries(path: string, entries: readonly Entry[], base: SnapshotMeta): void {
  let prev: Entry | undefined;
  for (const e of entries) {
    const bad =
      !Number.isSafeInteger(e.index) || e.index < 1 || !Number.isSafeInteger(e.term) || e.term < 0
        ? 'index and term must be safe integers'
        : prev !== undefined && e.index !== prev.index + 1
          ? `entries not contiguous (${prev.index} then ${e.index})`
          : prev !== undefined && e.term < prev.term
            ? `term decreases (${prev.term} at ${prev.index}, ${e.term} at ${e.index})`
            : e.index > base.index && e.term < base.term
              ? `entry ${e.index} has term ${e.term}, below the base's term ${base.term}`
              : undefined;
    if (bad !== undefined) throw new StorageError('STORAGE_INVALID', path, `log ${path}: refused batch: ${bad}`);
    prev = e;
  }
}

function checkHardState(path: string, hs: HardState): void {
  for (const v of [hs.term, hs.vote, hs.commit]) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new StorageError('STORAGE_INVALID', path, `log ${path}: refused hard state ${JSON.stringify(hs)}`);
    }
  }
}

// ---- reading and verifying ----------------------------------------------------------------------

interface VerifiedState extends LoadedState {
  /** Undefined only for a brand-new (empty) database. */
  readonly meta: StorageMeta | undefined;
  readonly knownPeers: ReadonlyMap<number, KnownPeer>;
  readonly lastIndex: number;
}

/**
 * Reads every record in key order and verifies it. Keys sort as meta, hard state, base,
 * entries, so the base is known before the first entry is checked against it.
 */
async function readAll(db: Db, path: string): Promise<VerifiedState> {
  let meta: StorageMeta | undefined;
  let knownPeers: ReadonlyMap<number, KnownPeer> = new Map();
  let hardState = ZERO_HARD_STATE;
  let base = ZERO_BASE;
  const entries: Entry[] = [];
  let sawOther = false;
  let prevTerm = 0;
  try {
    // The fixed records first (their keys sort before every entry's), then the entries after the
    // base only: a seek past the compacted ones, whose deletion markers LevelDB would otherwise
    // step over one by one until its own compaction drops them (90,000 of them took most of
    // the 260 ms of opening a default node's 10,000-entry log). Compaction deletes them in the
    // batch that moves the base, so none is left to check.
    for await (const batch of batches(db, { lt: entryKey(0) }))
      for (const [key, value] of batch) {
        if (key.equals(META_KEY)) {
          meta = decodeAt(path, 'metadata record', () => decodeMeta(value));
          continue;
        }
        sawOther = true;
        if (key.equals(HARD_STATE_KEY)) hardState = decodeAt(path, 'hard state record', () => decodeHardState(value));
        else if (key.equals(KNOWN_PEERS_KEY)) knownPeers = decodeAt(path, 'known peers record', () => decodeKnownPeers(value));
        else if (key.equals(BASE_KEY)) {
          base = decodeAt(path, 'base (snapshot metadata) record', () => decodeBase(value));
          prevTerm = base.term;
        } else throw corrupt(path, `unexpected key ${keyHex(key)}`);
      }
    for await (const batch of batches(db, { gt: entryKey(base.index) }))
      for (const [key, value] of batch) {
        sawOther = true;
        const index = parseEntryKey(key);
        if (index === undefined) throw corrupt(path, `unexpected key ${keyHex(key)}`);
        const e = decodeAt(
          path,
          () => `entry ${index} (key ${keyHex(key)})`,
          () => decodeEntry(value),
        );
        const expected = base.index + entries.length + 1;
        if (e.index !== index) throw corrupt(path, `entry ${index} (key ${keyHex(key)}) holds the record of entry ${e.index}`);
        if (index !== expected) throw corrupt(path, `gap in the log: expected entry ${expected}, found entry ${index}`);
        if (e.term < prevTerm) throw corrupt(path, `entry ${index} has term ${e.term}, lower than the ${prevTerm} before it`);
        prevTerm = e.term;
        entries.push(e);
      }
  } catch (err) {
    if (err instanceof StorageError) throw err;
    // LevelDB's own checksums (blocks, write-ahead log) also surface here.
    const e = err as { code?: unknown; cause?: { code?: unknown } };
    if (e.code === 'LEVEL_CORRUPTION' || e.cause?.code === 'LEVEL_CORRUPTION')
      throw corrupt(path, `LevelDB reports corruption: ${describeError(err)}`, err);
    throw new StorageError('STORAGE_IO', path, `cannot read storage at ${path}: ${describeError(err)}`, { cause: err });
  }
  if (meta === undefined && sawOther) throw corrupt(path, 'log records present but the metadata record (cluster id, node id) is missing');
  return { meta, knownPeers, hardState, snapshot: base, entries, lastIndex: base.index + entries.length };
}

/**
 * Every record in key order, in batches: one `nextv` round trip per thousand records rather
 * than one per record (a third of the time of opening a 100,000-entry log went to iterating
 * record by record). The next batch is asked for before this one is handed out, so LevelDB
 * reads it on its worker thread while the caller verifies this one.
 */
async function* batches(db: Db, range: { readonly lt?: Buffer; readonly gt?: Buffer }): AsyncGenerator<Array<[Buffer, Buffer]>> {
  const it = db.iterator(range);
  try {
    let next = it.nextv(1000);
    for (;;) {
      const batch = await next;
      if (batch.length === 0) return;
      next = it.nextv(1000);
      // Settled by the next round of the loop, or here if the caller stops early or throws.
      next.catch(() => {});
      yield batch;
    }
  } finally {
    await it.close();
  }
}

/** `decode()`, a record error turned into STORAGE_CORRUPT naming `what` (built only then). */
function decodeAt<T>(path: string, what: string | (() => string), decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof RecordError) throw corrupt(path, `${typeof what === 'string' ? what : what()}: ${err.message}`, err);
    throw err;
  }
}

function corrupt(path: string, what: string, cause?: unknown): StorageError {
  return new StorageError(
    'STORAGE_CORRUPT',
    path,
    `storage at ${path} is corrupt: ${what}. Refusing to start rather than serve wrong data; replace this node from the others (see docs/operations.md#a-nodes-data-is-damaged) or restore it from a backup.`,
    cause !== undefined ? { cause } : undefined,
  );
}

/** A fresh data identity: 128 random bits, hex. */
function newDataId(): string {
  return randomBytes(16).toString('hex');
}

function closedError(path: string): StorageError {
  return new StorageError('STORAGE_CLOSED', path, `log ${path} is closed`);
}

function checkMeta(path: string, stored: StorageMeta, opts: LevelDurableLogOptions): void {
  if (stored.formatVersion > FORMAT_VERSION) {
    throw new StorageError(
      'STORAGE_MISMATCH',
      path,
      `storage at ${path} has format version ${stored.formatVersion}; this build reads up to ${FORMAT_VERSION}`,
    );
  }
  if (stored.clusterId !== opts.clusterId || stored.nodeId !== opts.nodeId) {
    throw new StorageError(
      'STORAGE_MISMATCH',
      path,
      `storage at ${path} belongs to cluster ${JSON.stringify(stored.clusterId)} node ${stored.nodeId}, ` +
        `but this node is configured as cluster ${JSON.stringify(opts.clusterId)} node ${opts.nodeId}; refusing to start (wrong data directory or configuration?)`,
    );
  }
}

/** Maps a failed `db.open()`; abstract-level wraps the real reason in `cause`. */
function openError(path: string, err: unknown): StorageError {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  const code = e.cause?.code ?? e.code;
  if (code === 'LEVEL_LOCKED') {
    return new StorageError(
      'STORAGE_LOCKED',
      path,
      `storage at ${path} is in use by another process (or is already open in this one): is another raftlock node running with this data directory?`,
      { cause: err },
    );
  }
  if (code === 'LEVEL_CORRUPTION') return corrupt(path, `LevelDB cannot open it: ${describeError(err)}`, err);
  return new StorageError('STORAGE_IO', path, `cannot open storage at ${path}: ${describeError(err)}`, { cause: err });
}
