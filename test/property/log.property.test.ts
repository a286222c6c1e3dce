/**
 * The log layer against plain array models:
 *   (a) MemoryStorage: append (with conflicting suffix), createSnapshot, compact, applySnapshot;
 *   (b) RaftLog (storage + unstable tail) driven like a follower: maybeAppend from a simulated
 *       sequence of leaders, persistence of the unstable tail (synchronously or through a
 *       Ready captured earlier and persisted later), commitTo, appliedTo and compaction;
 *   (b2) RaftLog installing a snapshot (restore), before and after it is persisted;
 *   (c) UnstableLog on its own: truncateAndAppend, stableTo, restore, stableSnapTo.
 *
 * Operation sequences are hand-rolled: each step carries raw random numbers which are mapped
 * onto the current model state (so every step is meaningful and shrinking still works).
 *
 * Negative controls, each a subclass with one deliberate bug that its property must catch:
 * (a) a size limit off by one (`>=` instead of `>`), (b) findConflictByTerm stopping only at a
 * strictly lower term, (c) stableTo ignoring the term.
 *
 * (b2) "before persistence" holds RaftLog.term() to the compaction point: below a pending
 * snapshot it answers nothing, never a stale storage term.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { UnstableLog } from '../../src/raft/log-unstable.js';
import { MemoryStorage } from '../../src/raft/memory-storage.js';
import { NO_LIMIT, RaftLog } from '../../src/raft/raft-log.js';
import { COMPACTED, UNAVAILABLE } from '../../src/raft/storage.js';
import { ENTRY_OVERHEAD_BYTES, entrySize, type ConfState, type Entry } from '../../src/raft/types.js';
import { expectCaught, holds, same, throwsInvariant } from './check.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers.

/** An entry as the models see it: `size` is the payload length. */
interface MEntry {
  readonly index: number;
  readonly term: number;
  readonly size: number;
}

function toEntry(e: MEntry): Entry {
  return { index: e.index, term: e.term, type: 'normal', data: new Uint8Array(e.size) };
}

function view(e: Entry): MEntry {
  return { index: e.index, term: e.term, size: e.data.byteLength };
}

function at<T>(xs: readonly T[], i: number): T {
  const v = xs[i];
  if (v === undefined) throw new Error(`test bug: no element ${i} of ${xs.length}`);
  return v;
}

/** Maps a raw random number onto [lo, hi]; an empty range is a bug in the test itself. */
function pickIn(r: number, lo: number, hi: number): number {
  if (hi < lo) throw new Error(`test bug: empty range [${lo}, ${hi}]`);
  return lo + (r % (hi - lo + 1));
}

function sizeOf(ents: readonly MEntry[]): number {
  return ents.reduce((s, e) => s + e.size + ENTRY_OVERHEAD_BYTES, 0);
}

/**
 * Reference for every size-limited read: the longest prefix whose total size is ≤ maxBytes,
 * but never fewer than one entry (brute force over prefix lengths, longest first).
 */
function refLimit(ents: readonly MEntry[], maxBytes: number): MEntry[] {
  for (let k = ents.length; k >= 1; k--) {
    if (sizeOf(ents.slice(0, k)) <= maxBytes) return ents.slice(0, k);
  }
  return ents.slice(0, 1);
}

/** Checks the size-limit contract directly too, not only equality with the reference. */
function expectLimited(got: readonly Entry[], want: readonly MEntry[], maxBytes: number): void {
  same(got.map(view), want, `size-limited read (maxBytes ${maxBytes})`);
  holds(want.length === 0 || got.length >= 1, () => 'a non-empty range must yield at least one entry');
  holds(got.length <= 1 || got.reduce((s, e) => s + entrySize(e), 0) <= maxBytes, () => `read exceeds maxBytes ${maxBytes}`);
}

/** A size limit chosen to hit the interesting boundaries of `ents` often. */
function chooseMaxBytes(mode: number, r: number, ents: readonly MEntry[]): number {
  switch (mode % 4) {
    case 0:
      return NO_LIMIT;
    case 1:
      return 0;
    case 2: {
      // Exactly at, one below or one above the size of some prefix.
      const k = pickIn(r, 1, Math.max(1, ents.length));
      return Math.max(0, sizeOf(ents.slice(0, k)) + (Math.floor(r / 7) % 3) - 1);
    }
    default:
      return r % 300;
  }
}

/** A range query: raw numbers mapped onto lo, hi and a size limit. */
interface Query {
  readonly lo: number;
  readonly hi: number;
  readonly mode: number;
  readonly r: number;
}
const queryArb: fc.Arbitrary<Query> = fc.record({ lo: fc.nat(), hi: fc.nat(), mode: fc.nat(3), r: fc.nat() });

const payloadSize = fc.integer({ min: 0, max: 30 });

const confOf = (i: number): ConfState => ({ voters: [1 + (i % 3)], learners: [] });

// ---------------------------------------------------------------------------------------------
// (a) MemoryStorage vs array model.

interface StorageModel {
  /** The dummy entry: the compaction point, whose term is still answered. */
  dummy: { index: number; term: number };
  /** Entries after the dummy, contiguous. */
  ents: MEntry[];
  /** What snapshot() reports (createSnapshot may be ahead of the dummy until compact). */
  meta: { index: number; term: number; confState: ConfState };
  commit: number;
}

const sLast = (m: StorageModel): number => m.dummy.index + m.ents.length;

function sTerm(m: StorageModel, i: number): number | typeof COMPACTED | typeof UNAVAILABLE {
  if (i < m.dummy.index) return COMPACTED;
  if (i === m.dummy.index) return m.dummy.term;
  if (i > sLast(m)) return UNAVAILABLE;
  return at(m.ents, i - m.dummy.index - 1).term;
}

type StorageOp =
  | { kind: 'append'; start: number; terms: number[]; sizes: number[]; qs: Query[] }
  | { kind: 'createSnapshot'; r: number; qs: Query[] }
  | { kind: 'compact'; r: number; qs: Query[] }
  | { kind: 'applySnapshot'; r: number; term: number; qs: Query[] }
  | { kind: 'setCommit'; r: number; qs: Query[] };

const qsArb = fc.array(queryArb, { minLength: 2, maxLength: 2 });

const storageOpArb: fc.Arbitrary<StorageOp> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      start: fc.nat(),
      terms: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }),
      sizes: fc.array(payloadSize, { minLength: 6, maxLength: 6 }),
      qs: qsArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('createSnapshot' as const), r: fc.nat(), qs: qsArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), r: fc.nat(), qs: qsArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('applySnapshot' as const), r: fc.nat(), term: fc.integer({ min: 1, max: 9 }), qs: qsArb }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setCommit' as const), r: fc.nat(), qs: qsArb }) },
);

function checkStorage(m: StorageModel, s: MemoryStorage, qs: readonly Query[]): void {
  const last = sLast(m);
  same(s.firstIndex(), m.dummy.index + 1, 'firstIndex');
  same(s.lastIndex(), last, 'lastIndex');
  for (let i = m.dummy.index - 2; i <= last + 2; i++) same(s.term(i), sTerm(m, i), `term(${i})`);
  const snap = s.snapshot();
  same({ index: snap.index, term: snap.term, confState: snap.confState }, m.meta, 'snapshot()');
  same(s.confState(), m.meta.confState, 'confState()');
  same(s.getHardState().commit, m.commit, 'hard state commit');
  same(s.initialState().hardState.commit, m.commit, 'initialState commit');
  // The whole log, unlimited.
  const all = s.entries(m.dummy.index + 1, last + 1, NO_LIMIT);
  same(all === COMPACTED ? all : all.map(view), m.ents, 'all entries');
  for (const q of qs) {
    const lo = pickIn(q.lo, m.dummy.index - 1, last + 1);
    const hi = pickIn(q.hi, lo, last + 2);
    const inRange = m.ents.filter((e) => e.index >= lo && e.index < hi);
    const maxBytes = chooseMaxBytes(q.mode, q.r, inRange);
    if (lo <= m.dummy.index) {
      same(s.entries(lo, hi, maxBytes), COMPACTED, `entries(${lo}, ${hi})`);
    } else if (hi > last + 1) {
      throwsInvariant(() => s.entries(lo, hi, maxBytes), `entries(${lo}, ${hi}) beyond last ${last}`);
    } else {
      const got = s.entries(lo, hi, maxBytes);
      if (got === COMPACTED) throw new Error(`entries(${lo}, ${hi}): unexpected COMPACTED`);
      expectLimited(got, refLimit(inRange, maxBytes), maxBytes);
    }
  }
}

function applyStorageOp(m: StorageModel, s: MemoryStorage, op: StorageOp): void {
  const last = sLast(m);
  const first = m.dummy.index + 1;
  switch (op.kind) {
    case 'append': {
      // Starts anywhere from below the compaction point to a gap past the end.
      const start = pickIn(op.start, Math.max(1, m.dummy.index - 2), last + 3);
      const ents = op.terms.map((term, k) => ({ index: start + k, term, size: at(op.sizes, k) }));
      const lastNew = start + ents.length - 1;
      const kept = ents.filter((e) => e.index >= first);
      if (lastNew < first) {
        s.append(ents.map(toEntry)); // entirely covered by the snapshot: ignored
      } else if (at(kept, 0).index > last + 1) {
        throwsInvariant(() => s.append(ents.map(toEntry)), `append at ${start} after last ${last}`); // a gap
      } else {
        s.append(ents.map(toEntry));
        m.ents = m.ents.filter((e) => e.index < at(kept, 0).index).concat(kept);
      }
      return;
    }
    case 'createSnapshot': {
      const index = pickIn(op.r, m.meta.index - 2, Math.max(last, m.meta.index) + 2);
      if (index < m.meta.index || index > last) {
        throwsInvariant(() => s.createSnapshot(index, confOf(index)), `createSnapshot(${index})`);
      } else {
        const term = sTerm(m, index);
        if (typeof term !== 'number') throw new Error('test bug: snapshot term');
        m.meta = { index, term, confState: confOf(index) };
        same(s.createSnapshot(index, confOf(index)), m.meta, `createSnapshot(${index})`);
      }
      return;
    }
    case 'compact': {
      const c = pickIn(op.r, m.dummy.index - 1, last + 2);
      if (c <= m.dummy.index) {
        s.compact(c); // already compacted: no-op
      } else if (c > last || c > m.meta.index) {
        throwsInvariant(() => s.compact(c), `compact(${c})`);
      } else {
        const term = sTerm(m, c);
        if (typeof term !== 'number') throw new Error('test bug: compact term');
        s.compact(c);
        m.ents = m.ents.filter((e) => e.index > c);
        m.dummy = { index: c, term };
      }
      return;
    }
    case 'applySnapshot': {
      // `last` may be below the snapshot index: appends may overwrite snapshotted, uncompacted entries.
      const index = pickIn(op.r, Math.max(0, m.meta.index - 2), Math.max(last, m.meta.index) + 4);
      const meta = { index, term: op.term, confState: confOf(index + 1) };
      const ok = s.applySnapshot(meta);
      if (index < m.meta.index) {
        same(ok, false, `applySnapshot(${index}) older than ${m.meta.index}`);
      } else {
        same(ok, true, `applySnapshot(${index})`);
        m.dummy = { index, term: op.term };
        m.ents = [];
        m.meta = meta;
        m.commit = Math.max(m.commit, index);
      }
      return;
    }
    case 'setCommit': {
      const commit = pickIn(op.r, 0, last + 3);
      s.setHardState({ term: 1, vote: 0, commit });
      m.commit = commit;
      return;
    }
  }
}

function storageProperty(make: () => MemoryStorage) {
  return fc.property(fc.array(storageOpArb, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => {
    const s = make();
    const m: StorageModel = {
      dummy: { index: 0, term: 0 },
      ents: [],
      meta: { index: 0, term: 0, confState: { voters: [], learners: [] } },
      commit: 0,
    };
    checkStorage(m, s, []);
    for (const op of ops) {
      applyStorageOp(m, s, op);
      checkStorage(m, s, op.qs);
    }
  });
}

/** Negative control: a size limit that stops one entry early when the total lands exactly on maxBytes. */
class OffByOneLimitStorage extends MemoryStorage {
  override entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | typeof COMPACTED {
    const all = super.entries(lo, hi, NO_LIMIT);
    if (all === COMPACTED) return all;
    const out: Entry[] = [];
    let size = 0;
    for (const e of all) {
      size += entrySize(e);
      if (out.length > 0 && size >= maxBytes) break; // BUG: should be >
      out.push(e);
    }
    return out;
  }
}

describe('(a) MemoryStorage vs array model', () => {
  it('agrees on first/last index, term (incl. compacted/unavailable), entries with size limits and snapshots', () => {
    fc.assert(
      storageProperty(() => new MemoryStorage()),
      { numRuns: 1000 },
    );
  });

  it('negative control: finds an off-by-one in the size limit', () => {
    const out = fc.check(
      storageProperty(() => new OffByOneLimitStorage()),
      { numRuns: 500, endOnFailure: true },
    );
    expectCaught(out, /size-limited read/);
  });
});

// ---------------------------------------------------------------------------------------------
// (b) RaftLog driven as a follower by a simulated sequence of leaders.
//
// The world keeps one current leader log. Appends to the follower are slices of it. A new leader
// (term above every term so far) starts from a prefix of either the old leader's log or the
// follower's log that still contains everything the follower has committed (Leader Completeness)
// and appends a no-op in its term. So every history is one Raft could produce: Log Matching
// holds, which is what UnstableLog.stableTo(index, term) relies on, and a conflicting suffix is
// never at or below the follower's commit index.

interface World {
  storage: MemoryStorage;
  log: RaftLog;
  /** Follower model: entry k has index k + 1 (compacted ones kept: we still know them). */
  ents: MEntry[];
  compacted: number;
  committed: number;
  applied: number;
  /** lastStableIndex(): the prefix known durable in storage. */
  stable: number;
  leaderTerm: number;
  leader: MEntry[];
  /** Entries of a Ready handed out and not yet persisted. */
  pending: Entry[] | undefined;
}

const wLast = (w: World): number => w.ents.length;

/** What the follower's RaftLog must answer for term(i). */
function wTerm(w: World, i: number): number | undefined {
  if (i === 0) return 0;
  if (i < w.compacted || i > wLast(w)) return undefined;
  return at(w.ents, i - 1).term;
}

/** Length of the longest prefix the follower's log shares with the current leader's. */
function matchLength(w: World): number {
  let n = 0;
  while (n < Math.min(wLast(w), w.leader.length) && at(w.ents, n).term === at(w.leader, n).term) n++;
  return n;
}

function leaderTermAt(w: World, i: number): number {
  return i === 0 ? 0 : at(w.leader, i - 1).term;
}

/** Reference: the largest j ≤ min(index, last) whose term is ≤ term, an unknown (compacted) term
 *  counting as a possible match reported with term 0. */
function refFindConflictByTerm(w: World, index: number, term: number): { index: number; term: number } {
  const top = Math.min(index, wLast(w));
  const candidates: number[] = [];
  for (let j = 0; j <= top; j++) {
    const t = wTerm(w, j);
    if (t === undefined || t <= term) candidates.push(j);
  }
  const j = Math.max(...candidates);
  return { index: j, term: wTerm(w, j) ?? 0 };
}

type LogOp =
  | { kind: 'leaderAppend'; sizes: number[] }
  | { kind: 'newLeader'; fromFollower: boolean; r: number; size: number }
  | { kind: 'send'; near: boolean; p: number; n: number; commit: number }
  | { kind: 'persistNow'; r: number }
  | { kind: 'ready' }
  | { kind: 'advance' }
  | { kind: 'commitTo'; r: number; beyond: boolean }
  | { kind: 'appliedTo'; r: number; beyond: boolean }
  | { kind: 'compact'; r: number };

interface LogStep {
  readonly op: LogOp;
  readonly qs: Query[];
  /** findConflictByTerm / isUpToDate queries: raw (index, term) pairs. */
  readonly probes: Array<[number, number]>;
}

const logOpArb: fc.Arbitrary<LogOp> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('leaderAppend' as const), sizes: fc.array(payloadSize, { minLength: 1, maxLength: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('newLeader' as const), fromFollower: fc.boolean(), r: fc.nat(), size: payloadSize }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('send' as const), near: fc.boolean(), p: fc.nat(), n: fc.nat(), commit: fc.nat() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('persistNow' as const), r: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ready' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('commitTo' as const), r: fc.nat(), beyond: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('appliedTo' as const), r: fc.nat(), beyond: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), r: fc.nat() }) },
);

const logStepArb: fc.Arbitrary<LogStep> = fc.record({
  op: logOpArb,
  qs: qsArb,
  probes: fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 3, maxLength: 3 }),
});

function applyLogOp(w: World, op: LogOp): void {
  const { log, storage } = w;
  switch (op.kind) {
    case 'leaderAppend': {
      for (const size of op.sizes) w.leader.push({ index: w.leader.length + 1, term: w.leaderTerm, size });
      return;
    }
    case 'newLeader': {
      const base = op.fromFollower ? w.ents : w.leader;
      const cut = pickIn(op.r, w.committed, base.length);
      w.leaderTerm++;
      w.leader = base.slice(0, cut);
      w.leader.push({ index: cut + 1, term: w.leaderTerm, size: op.size });
      return;
    }
    case 'send': {
      const L = w.leader.length;
      // Either anywhere, or (like a leader's next index converging) around where the logs agree.
      const p = op.near ? Math.min(L, Math.max(w.compacted, matchLength(w) - 2 + (op.p % 4))) : pickIn(op.p, w.compacted, L);
      const n = pickIn(op.n, 0, Math.min(5, L - p));
      const prevTerm = leaderTermAt(w, p);
      const sent = w.leader.slice(p, p + n);
      // The leader's commit index: usually most of its log, sometimes far behind.
      const commit = op.commit % 3 === 0 ? pickIn(op.commit, 0, L) : pickIn(op.commit, Math.max(0, L - 3), L);
      const got = log.maybeAppend(p, prevTerm, commit, sent.map(toEntry));
      // Model: Figure 2 receiver rules 2–5.
      if (wTerm(w, p) !== prevTerm) {
        same(got, undefined, `maybeAppend(${p}, ${prevTerm}) must reject`);
        return;
      }
      const conflict = sent.find((e) => wTerm(w, e.index) !== e.term);
      if (conflict !== undefined) {
        if (conflict.index <= w.committed) throw new Error('test bug: the world produced a conflict at a committed index');
        w.ents = w.ents.slice(0, conflict.index - 1).concat(sent.filter((e) => e.index >= conflict.index));
        w.stable = Math.min(w.stable, conflict.index - 1);
      }
      const lastNew = p + n;
      w.committed = Math.max(w.committed, Math.min(commit, lastNew));
      same(got, lastNew, `maybeAppend(${p}, ${prevTerm}, ${commit}, ${n} entries)`);
      return;
    }
    case 'persistNow': {
      // The driver persists a prefix of the unstable tail, then reports it stable.
      if (w.pending !== undefined || w.stable >= wLast(w)) return;
      const k = pickIn(op.r, w.stable + 1, wLast(w));
      const ents = log.unstable.slice(log.unstable.offset, k + 1);
      storage.append(ents);
      log.unstable.stableTo(k, at(ents, ents.length - 1).term);
      w.stable = k;
      return;
    }
    case 'ready': {
      // Like RawNode.ready(): hand out the whole unstable tail; steps may continue meanwhile.
      if (w.pending === undefined && log.unstable.entries.length > 0) w.pending = [...log.unstable.entries];
      return;
    }
    case 'advance': {
      // Like RawNode.advance(): the Ready is durable. It may be stale by now (a conflicting
      // append arrived during the write): then stableTo must ignore it.
      const rd = w.pending;
      if (rd === undefined) return;
      w.pending = undefined;
      storage.append(rd);
      const lastEnt = at(rd, rd.length - 1);
      log.unstable.stableTo(lastEnt.index, lastEnt.term);
      if (lastEnt.index > w.stable && wTerm(w, lastEnt.index) === lastEnt.term) w.stable = lastEnt.index;
      return;
    }
    case 'commitTo': {
      if (op.beyond) {
        const index = wLast(w) + 1 + (op.r % 3);
        throwsInvariant(() => log.commitTo(index), `commitTo(${index}) beyond last`);
        return;
      }
      // Safe: within the prefix the follower shares with the current leader.
      const index = pickIn(op.r, 0, matchLength(w));
      log.commitTo(index);
      w.committed = Math.max(w.committed, index);
      return;
    }
    case 'appliedTo': {
      if (op.beyond) {
        throwsInvariant(() => log.appliedTo(w.committed + 1 + (op.r % 3)), 'appliedTo beyond committed');
        return;
      }
      const index = pickIn(op.r, w.applied, w.committed);
      log.appliedTo(index);
      if (index !== 0) w.applied = index;
      return;
    }
    case 'compact': {
      // The application snapshotted at an applied index that is durable; the storage drops the
      // entries up to it.
      const limit = Math.min(w.applied, w.stable);
      if (limit <= w.compacted) return;
      const c = pickIn(op.r, w.compacted + 1, limit);
      storage.createSnapshot(c, confOf(c));
      storage.compact(c);
      w.compacted = c;
      return;
    }
  }
}

function checkLog(w: World, step: LogStep | undefined): void {
  const { log, storage } = w;
  const last = wLast(w);
  same(log.firstIndex(), w.compacted + 1, 'firstIndex');
  same(log.lastIndex(), last, 'lastIndex');
  same(log.committed, w.committed, 'committed');
  same(log.applied, w.applied, 'applied');
  same(log.lastStableIndex(), w.stable, 'lastStableIndex');
  for (let i = 0; i <= last + 2; i++) same(log.term(i), wTerm(w, i), `term(${i})`);
  same(log.lastTerm(), wTerm(w, last), 'lastTerm');
  // Durability: what the log reports stable really is in storage, with the right terms.
  for (let i = storage.firstIndex(); i <= w.stable; i++) same(storage.term(i), wTerm(w, i), `durable term(${i})`);
  // Committed, unapplied entries.
  const unapplied = w.ents.filter((e) => e.index > w.applied && e.index <= w.committed);
  same(log.nextCommittedEntries(NO_LIMIT).map(view), unapplied, 'nextCommittedEntries');
  same(log.hasNextCommittedEntries(), unapplied.length > 0, 'hasNextCommittedEntries');
  // The whole log from firstIndex.
  const all = log.entriesFrom(w.compacted + 1, NO_LIMIT);
  same(
    all === COMPACTED ? all : all.map(view),
    w.ents.filter((e) => e.index > w.compacted),
    'entriesFrom(firstIndex)',
  );
  if (step === undefined) return;
  for (const q of step.qs) {
    const lo = pickIn(q.lo, w.compacted, last + 1);
    const hi = pickIn(q.hi, lo, last + 1);
    const inRange = w.ents.filter((e) => e.index >= lo && e.index < hi);
    const maxBytes = chooseMaxBytes(q.mode, q.r, inRange);
    const got = log.slice(lo, hi, maxBytes);
    if (lo === hi) same(got, [], `slice(${lo}, ${hi})`);
    else if (lo <= w.compacted) same(got, COMPACTED, `slice(${lo}, ${hi})`);
    else {
      if (got === COMPACTED) throw new Error(`slice(${lo}, ${hi}): unexpected COMPACTED`);
      expectLimited(got, refLimit(inRange, maxBytes), maxBytes);
    }
  }
  for (const [ri, rt] of step.probes) {
    const index = pickIn(ri, 0, last + 3);
    const term = pickIn(rt, 0, w.leaderTerm + 1);
    const got = log.findConflictByTerm(index, term);
    const want = refFindConflictByTerm(w, index, term);
    same(got, want, `findConflictByTerm(${index}, ${term})`);
    // Restated from the definition: nothing between the answer and the query qualifies.
    for (let j = got.index + 1; j <= Math.min(index, last); j++)
      holds((wTerm(w, j) ?? -1) > term, () => `findConflictByTerm(${index}, ${term}) = ${got.index} skipped ${j}`);
    // Election restriction (§5.4.1) against the model's last entry.
    const lastTerm = wTerm(w, last) ?? -1;
    same(log.isUpToDate(index, term), term > lastTerm || (term === lastTerm && index >= last), `isUpToDate(${index}, ${term})`);
  }
}

/** A follower booted from storage holding a snapshot at `snapIndex` (0: empty log). */
type MakeLog = (storage: MemoryStorage, applied: number) => RaftLog;

function newWorld(snapIndex: number, snapTerm: number, makeLog: MakeLog): World {
  const storage = new MemoryStorage();
  // The history behind the snapshot: terms rising to snapTerm at snapIndex.
  const ents: MEntry[] = [];
  for (let i = 1; i <= snapIndex; i++) ents.push({ index: i, term: Math.max(1, snapTerm - (snapIndex - i)), size: 0 });
  if (snapIndex > 0) storage.applySnapshot({ index: snapIndex, term: snapTerm, confState: confOf(snapIndex) });
  const log = makeLog(storage, 0);
  return {
    storage,
    log,
    ents,
    compacted: snapIndex,
    committed: snapIndex,
    applied: snapIndex,
    stable: snapIndex,
    leaderTerm: snapIndex > 0 ? snapTerm : 1,
    leader: [...ents],
    pending: undefined,
  };
}

function raftLogProperty(makeLog: MakeLog) {
  return fc.property(
    // Boot from an empty log, or from storage holding a snapshot.
    fc.oneof(fc.constant<[number, number]>([0, 0]), fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }))),
    fc.array(logStepArb, { minLength: 1, maxLength: 80, size: 'max' }),
    ([snapIndex, snapTerm], steps) => {
      const w = newWorld(snapIndex, snapTerm, makeLog);
      checkLog(w, undefined);
      for (const step of steps) {
        applyLogOp(w, step.op);
        checkLog(w, step);
      }
    },
  );
}

/** Negative control: findConflictByTerm that stops only at a strictly lower term. */
class StrictConflictLog extends RaftLog {
  override findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t < term || i === 0) return { index: i, term: t }; // BUG: should be t <= term
      i--;
    }
  }
}

describe('(b) RaftLog as a follower vs array model', () => {
  it('maybeAppend/persist/commitTo/appliedTo/compact agree with the model; findConflictByTerm finds the largest index ≤ i with term ≤ t', () => {
    fc.assert(
      raftLogProperty((s, a) => new RaftLog(s, a)),
      { numRuns: 1000 },
    );
  });

  it('negative control: finds a findConflictByTerm off by one term', () => {
    const out = fc.check(
      raftLogProperty((s, a) => new StrictConflictLog(s, a)),
      { numRuns: 300, endOnFailure: true },
    );
    expectCaught(out, /findConflictByTerm/);
  });
});

// ---------------------------------------------------------------------------------------------
// (c) UnstableLog vs array model.

interface UnstableModel {
  offset: number;
  ents: Array<{ index: number; term: number }>;
  snapshot: { index: number; term: number } | undefined;
}

type UnstableOp =
  | { kind: 'truncateAndAppend'; r: number; terms: number[] }
  | { kind: 'stableTo'; r: number; rightTerm: boolean; term: number }
  | { kind: 'restore'; r: number; term: number }
  | { kind: 'stableSnapTo'; r: number };

const unstableOpArb: fc.Arbitrary<UnstableOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('truncateAndAppend' as const),
      r: fc.nat(),
      terms: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('stableTo' as const),
      r: fc.nat(),
      rightTerm: fc.boolean(),
      term: fc.integer({ min: 1, max: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restore' as const), r: fc.nat(), term: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stableSnapTo' as const), r: fc.nat() }) },
);

const uEnd = (m: UnstableModel): number => m.offset + m.ents.length;

function uTerm(m: UnstableModel, i: number): number | undefined {
  const e = m.ents.find((x) => x.index === i);
  if (e !== undefined) return e.term;
  return m.snapshot !== undefined && m.snapshot.index === i ? m.snapshot.term : undefined;
}

function applyUnstableOp(m: UnstableModel, u: UnstableLog, op: UnstableOp): void {
  switch (op.kind) {
    case 'truncateAndAppend': {
      // Precondition (what RaftLog.append guarantees): no gap after the tail, and never below a
      // pending snapshot (the snapshot index is committed).
      const low = m.snapshot !== undefined ? m.snapshot.index + 1 : Math.max(1, m.offset - 3);
      const after = pickIn(op.r, low, uEnd(m));
      const ents = op.terms.map((term, k) => ({ index: after + k, term }));
      u.truncateAndAppend(ents.map((e) => toEntry({ ...e, size: 0 })));
      // Model: keep what precedes `after`, then the new entries.
      m.ents = m.ents.filter((e) => e.index < after).concat(ents);
      m.offset = Math.min(m.offset, after);
      return;
    }
    case 'stableTo': {
      const index = pickIn(op.r, Math.max(0, m.offset - 2), uEnd(m) + 1);
      const actual = uTerm(m, index);
      const term = op.rightTerm && actual !== undefined ? actual : op.term;
      u.stableTo(index, term);
      if (m.ents.some((e) => e.index === index && e.term === term)) {
        m.ents = m.ents.filter((e) => e.index > index);
        m.offset = index + 1;
      }
      return;
    }
    case 'restore': {
      const index = pickIn(op.r, 0, uEnd(m) + 4);
      u.restore({ index, term: op.term, confState: confOf(index) });
      m.offset = index + 1;
      m.ents = [];
      m.snapshot = { index, term: op.term };
      return;
    }
    case 'stableSnapTo': {
      const index = m.snapshot !== undefined && op.r % 2 === 0 ? m.snapshot.index : op.r % 20;
      u.stableSnapTo(index);
      if (m.snapshot?.index === index) m.snapshot = undefined;
      return;
    }
  }
}

function checkUnstable(m: UnstableModel, u: UnstableLog): void {
  same(u.offset, m.offset, 'offset');
  same(
    u.entries.map((e) => ({ index: e.index, term: e.term })),
    m.ents,
    'entries',
  );
  same(u.maybeFirstIndex(), m.snapshot === undefined ? undefined : m.snapshot.index + 1, 'maybeFirstIndex');
  const lastEnt = m.ents[m.ents.length - 1];
  same(u.maybeLastIndex(), lastEnt !== undefined ? lastEnt.index : m.snapshot?.index, 'maybeLastIndex');
  for (let i = Math.max(0, m.offset - 3); i <= uEnd(m) + 2; i++) same(u.maybeTerm(i), uTerm(m, i), `maybeTerm(${i})`);
  same(
    u.slice(m.offset, uEnd(m)).map((e) => e.index),
    m.ents.map((e) => e.index),
    'slice(all)',
  );
  throwsInvariant(() => u.slice(m.offset, uEnd(m) + 1), 'slice past the end');
  if (m.offset > 0) throwsInvariant(() => u.slice(m.offset - 1, uEnd(m)), 'slice before offset');
}

function unstableProperty(make: (offset: number) => UnstableLog) {
  return fc.property(
    fc.integer({ min: 1, max: 10 }),
    fc.array(unstableOpArb, { minLength: 1, maxLength: 40, size: 'max' }),
    (offset, ops) => {
      const u = make(offset);
      const m: UnstableModel = { offset, ents: [], snapshot: undefined };
      checkUnstable(m, u);
      for (const op of ops) {
        applyUnstableOp(m, u, op);
        checkUnstable(m, u);
      }
    },
  );
}

/** Negative control: stableTo that trusts the index alone (a replaced entry would be dropped). */
class IndexOnlyStableTo extends UnstableLog {
  override stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || index < this.offset) return;
    super.stableTo(index, t); // BUG: ignores `term`
    void term;
  }
}

describe('(c) UnstableLog vs array model', () => {
  it('truncateAndAppend/stableTo/restore/stableSnapTo agree with the model', () => {
    fc.assert(
      unstableProperty((o) => new UnstableLog(o)),
      { numRuns: 1000 },
    );
  });

  it('negative control: finds a stableTo that ignores the term', () => {
    const out = fc.check(
      unstableProperty((o) => new IndexOnlyStableTo(o)),
      { numRuns: 1000, endOnFailure: true },
    );
    expectCaught(out);
  });
});

// ---------------------------------------------------------------------------------------------
// (b2) RaftLog while a snapshot from the leader is being installed (restore, then persist).
//
// A follower's stored log: `terms` (non-decreasing, all durable), `c` of it committed. The leader
// sends a snapshot at s > c (raft.ts restores only above commit, and only when it does not
// already hold (s, t)). Until the driver persists it, the log must look like a log compacted up
// to s: firstIndex s + 1, lastIndex s, term(s) = t and every earlier index unknown.

const installArb = fc
  .array(fc.integer({ min: 0, max: 1 }), { minLength: 0, maxLength: 8 })
  .map((steps) => {
    let t = 1;
    return steps.map((d) => (t += d)); // non-decreasing terms from 1
  })
  .chain((terms) =>
    fc.record({
      terms: fc.constant(terms),
      c: fc.integer({ min: 0, max: terms.length }),
      sOffset: fc.integer({ min: 1, max: 4 }),
      tBump: fc.integer({ min: 0, max: 2 }),
    }),
  )
  .map(({ terms, c, sOffset, tBump }) => {
    const s = c + sOffset;
    const base = c > 0 ? at(terms, c - 1) : 1;
    let t = base + tBump;
    // Holding (s, t) already would only advance commit; make it a real install.
    if (s <= terms.length && at(terms, s - 1) === t) t++;
    return { terms, c, s, t };
  });

function followerWithStoredLog(terms: readonly number[], c: number): { storage: MemoryStorage; log: RaftLog } {
  const storage = new MemoryStorage();
  storage.append(terms.map((term, k) => toEntry({ index: k + 1, term, size: 0 })));
  const log = new RaftLog(storage, 0);
  log.commitTo(c);
  return { storage, log };
}

function checkInstalled(log: RaftLog, s: number, t: number, stored: number): void {
  same(log.firstIndex(), s + 1, 'firstIndex');
  same(log.lastIndex(), s, 'lastIndex');
  same(log.committed, s, 'committed');
  same(log.lastTerm(), t, 'lastTerm');
  same(log.term(s), t, `term(${s}) (the snapshot)`);
  for (let i = 1; i < Math.max(s, stored + 2); i++) {
    if (i !== s) same(log.term(i), undefined, `term(${i}) with the log compacted to ${s}`);
  }
  for (let i = 1; i <= s; i++) same(log.slice(i, s + 1, NO_LIMIT), COMPACTED, `slice(${i}, ${s + 1})`);
}

describe('(b2) RaftLog installing a snapshot', () => {
  // While a restored snapshot is pending (not yet persisted), term(i) below the snapshot index
  // must not fall through to storage and return the stale stored term: firstIndex() already
  // says those indexes are compacted. Minimal case: storage holds [1/1], nothing committed,
  // restore({ index: 2, term: 1 }) → term(1) must be undefined, not 1.
  it('before persistence: looks like a log compacted up to the snapshot', () => {
    fc.assert(
      fc.property(installArb, ({ terms, c, s, t }) => {
        const { log } = followerWithStoredLog(terms, c);
        log.restore({ index: s, term: t, confState: confOf(s) });
        checkInstalled(log, s, t, terms.length);
      }),
      { numRuns: 300 },
    );
  });

  it('after persistence (storage.applySnapshot, stableSnapTo): looks like a log compacted up to the snapshot', () => {
    fc.assert(
      fc.property(installArb, ({ terms, c, s, t }) => {
        const { storage, log } = followerWithStoredLog(terms, c);
        const meta = { index: s, term: t, confState: confOf(s) };
        log.restore(meta);
        same(log.hasPendingSnapshot(), true, 'pending snapshot');
        same(log.nextCommittedEntries(NO_LIMIT), [], 'nothing to apply while a snapshot is pending');
        same(storage.applySnapshot(meta), true, 'storage accepts the snapshot');
        log.unstable.stableSnapTo(s);
        same(log.hasPendingSnapshot(), false, 'snapshot persisted');
        checkInstalled(log, s, t, terms.length);
        same(log.lastStableIndex(), s, 'lastStableIndex');
      }),
      { numRuns: 300 },
    );
  });
});
