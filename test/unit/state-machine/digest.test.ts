/**
 * The state digest (docs/design.md#the-state-digest), record by record: every field a snapshot
 * carries is hashed (changing any one of them, or dropping any element of any list, changes
 * the digest), a snapshot field that no record covers is refused, and a restored machine starts
 * from the digest of the restored state. A session's secret enters it only through SHA-256
 * (sha256.ts, checked against node:crypto). That the machine keeps its digest up to date through
 * every kind of entry is the property test (test/property/state-digest.property.test.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestOfState } from '../../../src/state-machine/digest.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import { sha256Words } from '../../../src/state-machine/sha256.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotState } from '../../../src/state-machine/snapshot.js';
import { Driver } from './driver.js';

/** A state with something in every kind of record and every field set. */
function richState(): { d: Driver; state: SnapshotState } {
  const d = new Driver();
  const a = d.open(10_000, 'client-a');
  const b = d.open(20_000);
  const c = d.open(30_000);
  d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
  d.write(b, { type: 'acquire', name: 'L', waitMs: 5_000 });
  d.write(c, { type: 'acquire', name: 'L', waitMs: 6_000 });
  d.write(a, { type: 'acquire', name: 'M', waitMs: 0 });
  d.write(a, { type: 'counter-add', name: 'x', delta: 7 });
  d.write(b, { type: 'counter-set', name: 'y', value: -3 });
  // A semaphore and an election, each with a grant and a wait; the leader's value proclaimed.
  d.write(a, { type: 'acquire-permit', kind: 'semaphore', name: 'S', permits: 2, weight: 2, waitMs: 0 });
  d.write(c, { type: 'acquire-permit', kind: 'semaphore', name: 'S', permits: 2, waitMs: 7_000 });
  d.write(b, { type: 'acquire-permit', kind: 'election', name: 'E', value: '', waitMs: 0 });
  d.write(b, { type: 'proclaim', name: 'E', token: d.index, value: 'leader-b' });
  d.write(c, { type: 'acquire-permit', kind: 'election', name: 'E', value: 'candidate-c', waitMs: 8_000 });
  // A leader change with a jump of log time: the waits get grace (a grace count of 1), the
  // sessions a grace extension; then another, still pending.
  d.election();
  d.advance(2_000).tick();
  d.election();
  return { d, state: decodeSnapshot(d.m.snapshot()) };
}

type Path = ReadonlyArray<string | number>;

/**
 * Paths of every scalar in `v`, and of every element of its lists (as [list path, index]). A
 * list is an array under a named field; an array inside a list is a tuple (`[name, value]`,
 * `[seq, result]`), whose elements cannot be dropped.
 */
function walk(v: unknown, path: Path, scalars: Path[], elements: Path[]): void {
  if (Array.isArray(v)) {
    const list = typeof path.at(-1) === 'string';
    v.forEach((x, k) => {
      if (list) elements.push([...path, k]);
      walk(x, [...path, k], scalars, elements);
    });
  } else if (typeof v === 'object' && v !== null) {
    for (const [key, x] of Object.entries(v)) walk(x, [...path, key], scalars, elements);
  } else {
    scalars.push(path);
  }
}

/** A deep copy of `state` with `change` applied to the member at `path` of it. */
function edited(
  state: SnapshotState,
  path: Path,
  change: (parent: Record<string | number, unknown>, key: string | number) => void,
): SnapshotState {
  const copy = structuredClone(state) as unknown as Record<string | number, unknown>;
  let parent = copy;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  change(parent, path.at(-1)!);
  return copy as unknown as SnapshotState;
}

function bump(x: unknown): unknown {
  if (typeof x === 'number') return x + 1;
  if (typeof x === 'string') return `${x}!`;
  if (typeof x === 'boolean') return !x;
  return 1;
}

/**
 * The edits of `state` (each scalar changed, each list element dropped) after which `digest`
 * stays the same, or gives a value another edit gave too: what it does not see.
 */
function blindSpots(state: SnapshotState, digest: (s: SnapshotState) => string): string[] {
  const scalars: Path[] = [];
  const elements: Path[] = [];
  walk(state, [], scalars, elements);
  const edits = [
    ...scalars.map((p) => ({ what: `change ${p.join('.')}`, s: edited(state, p, (o, k) => (o[k] = bump(o[k]))) })),
    ...elements.map((p) => ({
      what: `drop ${p.join('.')}`,
      s: edited(state, p, (o, k) => (o as unknown as unknown[]).splice(k as number, 1)),
    })),
  ];
  expect(edits.length).toBeGreaterThan(60);
  const seen = new Map<string, string>([[digest(state), 'nothing']]);
  const blind: string[] = [];
  for (const e of edits) {
    const d = digest(e.s);
    const other = seen.get(d);
    if (other !== undefined) blind.push(`${e.what} (same as ${other})`);
    else seen.set(d, e.what);
  }
  return blind;
}

describe('state digest: what it covers', () => {
  it('every field of every record counts: any one changed, or any list element dropped, gives a digest of its own', () => {
    const { state } = richState();
    // Every kind of record is there, with the fields that are optional or start at 0 set.
    expect(state.sessions.some((s) => s.clientId !== undefined && s.results.length > 0 && s.graceCount > 0)).toBe(true);
    expect(state.locks.some((l) => l.waiters.length === 2 && l.waiters.every((w) => w.graceCount === 1))).toBe(true);
    expect(state.counters.length).toBe(2);
    expect(state.semaphores.map((r) => [r.holders.length, r.waiters.length])).toEqual([[1, 1]]);
    expect(state.elections.map((r) => [r.holders[0]?.value, r.waiters[0]?.value])).toEqual([['leader-b', 'candidate-c']]);
    expect(state.gracePending).toBe(true);
    expect(blindSpots(state, digestOfState)).toEqual([]);
  });

  it('negative control: a digest blind to the waits’ grace counts is caught by the same check', () => {
    const { state } = richState();
    const blind = (s: SnapshotState): string =>
      digestOfState({ ...s, locks: s.locks.map((l) => ({ ...l, waiters: l.waiters.map((w) => ({ ...w, graceCount: 0 })) })) });
    expect(blindSpots(state, blind)).toEqual([
      'change locks.0.waiters.0.graceCount (same as nothing)',
      'change locks.0.waiters.1.graceCount (same as nothing)',
    ]);
  });

  it('refuses a snapshot field that no record covers (a field added to snapshots must be added to the digest)', () => {
    const { state } = richState();
    const [first, ...rest] = state.sessions;
    expect(() => digestOfState({ ...state, sessions: [{ ...first!, color: 'red' } as never, ...rest] })).toThrow(/session field color/);
    expect(() => digestOfState({ ...state, epoch: 1 } as never)).toThrow(/root field epoch/);
    const [lock] = state.locks;
    expect(() => digestOfState({ ...state, locks: [{ ...lock!, waiters: [{ ...lock!.waiters[0]!, extra: 0 } as never] }] })).toThrow(
      /waiter field extra/,
    );
  });
});

describe('state digest of a machine', () => {
  it('is the digest of its snapshot, 32 hex digits; a restored machine has the same', () => {
    const { d, state } = richState();
    const digest = d.m.digest();
    expect(digest).toMatch(/^[0-9a-f]{32}$/);
    expect(digest).toBe(digestOfState(state));
    const restored = new LockMachine();
    restored.restore(d.m.snapshot());
    expect(restored.digest()).toBe(digest);
    expect(new LockMachine().digest()).toBe(digestOfState(decodeSnapshot(new LockMachine().snapshot())));
  });

  it('restore refuses a queue out of waiter-id order (the digest stands for a queue by its waiters)', () => {
    const { state } = richState();
    const locks = state.locks.map((l) => ({ ...l, waiters: [...l.waiters].reverse() }));
    const m = new LockMachine();
    expect(() => m.restore(encodeSnapshot({ ...state, locks }))).toThrow(/queued after waiter/);
  });
});

describe('SHA-256 of a session secret (sha256.ts)', () => {
  it('equals node:crypto on every length across the padding boundaries, and on non-ASCII text', () => {
    const texts = Array.from({ length: 140 }, (_, n) => 'abcdef0123456789'.repeat(9).slice(0, n));
    texts.push('0123456789abcdef0123456789abcdef', 'é∑😀', 'x'.repeat(1_000));
    for (const text of texts) {
      const words = sha256Words(text);
      const hex = words.map((w) => w.toString(16).padStart(8, '0')).join('');
      expect(hex, `length ${text.length}`).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
  });
});
