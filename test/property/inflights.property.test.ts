/**
 * Inflights (src/raft/inflights.ts), a growable ring buffer limited by count and bytes, against a
 * plain array model, with fast-check's model-based testing (fc.commands + fc.modelRun).
 *
 * After every command the real window must report the model's count, bytes, full() and
 * snapshot(). Commands that the contract forbids (adding to a full window, adding a
 * non-increasing index) must throw and leave the window unchanged.
 *
 * Negative controls: the same command property run against deliberately broken copies (an
 * off-by-one in full(), and a grow() that forgets the ring has wrapped) must fail.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Inflights } from '../../src/raft/inflights.js';
import { RaftInvariantError } from '../../src/raft/types.js';
import { expectCaught, same, throwsInvariant } from './check.js';

/** What the tests need of an inflights implementation. */
interface Window {
  readonly count: number;
  readonly bytes: number;
  full(): boolean;
  add(index: number, bytes: number): void;
  freeLE(index: number): void;
  reset(): void;
  snapshot(): number[];
}

interface Model {
  readonly maxCount: number;
  readonly maxBytes: number;
  items: Array<{ index: number; bytes: number }>;
}

function modelBytes(m: Readonly<Model>): number {
  return m.items.reduce((s, it) => s + it.bytes, 0);
}

function modelFull(m: Readonly<Model>): boolean {
  return m.items.length >= m.maxCount || (m.maxBytes > 0 && modelBytes(m) >= m.maxBytes);
}

function modelLast(m: Readonly<Model>): number | undefined {
  return m.items[m.items.length - 1]?.index;
}

function checkAgainst(m: Readonly<Model>, r: Window): void {
  same(r.count, m.items.length, 'count');
  same(r.bytes, modelBytes(m), 'bytes');
  same(r.full(), modelFull(m), 'full()');
  same(
    r.snapshot(),
    m.items.map((it) => it.index),
    'snapshot()',
  );
}

type Cmd = fc.Command<Model, Window>;

/** Adds the next message: `gap` above the last index in flight (or at `base` when empty). */
class AddCommand implements Cmd {
  constructor(
    readonly base: number,
    readonly gap: number,
    readonly bytes: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return !modelFull(m);
  }
  run(m: Model, r: Window): void {
    const last = modelLast(m);
    const index = last === undefined ? this.base : last + this.gap;
    r.add(index, this.bytes);
    m.items.push({ index, bytes: this.bytes });
    checkAgainst(m, r);
  }
  toString(): string {
    return `add(base=${this.base}, gap=${this.gap}, bytes=${this.bytes})`;
  }
}

/** Adding to a full window is a caller bug: it throws and changes nothing. */
class AddWhenFullCommand implements Cmd {
  constructor(readonly gap: number) {}
  check(m: Readonly<Model>): boolean {
    return modelFull(m);
  }
  run(m: Model, r: Window): void {
    const index = (modelLast(m) ?? 0) + this.gap;
    throwsInvariant(() => r.add(index, 1), `add(${index}) to a full window`);
    checkAgainst(m, r);
  }
  toString(): string {
    return `addWhenFull(gap=${this.gap})`;
  }
}

/** Indexes must increase: adding one not above the last in flight throws and changes nothing. */
class AddStaleCommand implements Cmd {
  constructor(readonly back: number) {}
  check(m: Readonly<Model>): boolean {
    return m.items.length > 0 && !modelFull(m);
  }
  run(m: Model, r: Window): void {
    const index = (modelLast(m) ?? 0) - this.back;
    throwsInvariant(() => r.add(index, 1), `add(${index}) not above the last index`);
    checkAgainst(m, r);
  }
  toString(): string {
    return `addStale(back=${this.back})`;
  }
}

/** Frees up to an index picked relative to the window (below, inside or above it). */
class FreeLECommand implements Cmd {
  constructor(
    readonly pick: number,
    readonly offset: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Window): void {
    const indexes = m.items.map((it) => it.index);
    const anchor = indexes.length === 0 ? 0 : (indexes[this.pick % indexes.length] ?? 0);
    const index = anchor + this.offset;
    r.freeLE(index);
    m.items = m.items.filter((it) => it.index > index);
    checkAgainst(m, r);
  }
  toString(): string {
    return `freeLE(pick=${this.pick}, offset=${this.offset})`;
  }
}

class ResetCommand implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Window): void {
    r.reset();
    m.items = [];
    checkAgainst(m, r);
  }
  toString(): string {
    return 'reset()';
  }
}

const commandArbs = [
  // Weighted towards adds and frees so windows fill, wrap around and grow.
  fc
    .tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 40 }))
    .map(([base, gap, bytes]) => new AddCommand(base, gap, bytes)),
  fc
    .tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 40 }))
    .map(([base, gap, bytes]) => new AddCommand(base, gap, bytes)),
  fc
    .tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 40 }))
    .map(([base, gap, bytes]) => new AddCommand(base, gap, bytes)),
  fc.tuple(fc.nat(20), fc.integer({ min: -2, max: 2 })).map(([pick, offset]) => new FreeLECommand(pick, offset)),
  fc.tuple(fc.nat(20), fc.integer({ min: -2, max: 2 })).map(([pick, offset]) => new FreeLECommand(pick, offset)),
  fc.constant(new ResetCommand()),
  fc.integer({ min: 1, max: 3 }).map((gap) => new AddWhenFullCommand(gap)),
  fc.integer({ min: 0, max: 3 }).map((back) => new AddStaleCommand(back)),
];

const limits = fc.record({
  maxCount: fc.integer({ min: 1, max: 12 }),
  // 0 means unlimited; make it common so the count limit is exercised on its own too.
  maxBytes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 150 })),
});

function inflightsProperty(make: (maxCount: number, maxBytes: number) => Window) {
  return fc.property(limits, fc.commands(commandArbs, { maxCommands: 60, size: 'max' }), ({ maxCount, maxBytes }, cmds) => {
    const setup = () => {
      const model: Model = { maxCount, maxBytes, items: [] };
      const real = make(maxCount, maxBytes);
      checkAgainst(model, real);
      return { model, real };
    };
    fc.modelRun(setup, cmds);
  });
}

// ---------------------------------------------------------------------------------------------
// Negative controls.

/** full() with `>` instead of `>=` on the count: one message too many may be in flight. */
class OffByOneFullInflights extends Inflights {
  override full(): boolean {
    return this.count > this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }
}

/**
 * A copy of the ring buffer whose grow() copies slots 0..count-1 instead of unrolling from
 * `start`: correct until the ring has wrapped around before it grows.
 */
class UnwrapBugInflights implements Window {
  private indexes: number[] = [];
  private sizes: number[] = [];
  private start = 0;
  count = 0;
  bytes = 0;
  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}
  full(): boolean {
    return this.count >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }
  add(index: number, bytes: number): void {
    if (this.full()) throw new RaftInvariantError('full');
    if (this.count > 0) {
      const last = this.indexes[(this.start + this.count - 1) % this.indexes.length];
      if (last === undefined || index <= last) throw new RaftInvariantError('stale');
    }
    if (this.count === this.indexes.length) this.grow();
    const slot = (this.start + this.count) % this.indexes.length;
    this.indexes[slot] = index;
    this.sizes[slot] = bytes;
    this.count++;
    this.bytes += bytes;
  }
  freeLE(index: number): void {
    while (this.count > 0) {
      const i = this.indexes[this.start];
      if (i === undefined || i > index) break;
      this.bytes -= this.sizes[this.start] ?? 0;
      this.start = (this.start + 1) % this.indexes.length;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }
  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
  snapshot(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.count; k++) out.push(this.indexes[(this.start + k) % this.indexes.length] ?? -1);
    return out;
  }
  private grow(): void {
    const capacity = Math.min(Math.max(this.indexes.length * 2, 4), this.maxCount);
    const indexes = new Array<number>(capacity);
    const sizes = new Array<number>(capacity);
    for (let k = 0; k < this.count; k++) {
      indexes[k] = this.indexes[k] ?? 0; // BUG: should read slot (start + k) % length
      sizes[k] = this.sizes[k] ?? 0;
    }
    this.indexes = indexes;
    this.sizes = sizes;
    this.start = 0;
  }
}

describe('Inflights vs array model', () => {
  it('agrees on count, bytes, full() and snapshot() after every command', () => {
    fc.assert(
      inflightsProperty((c, b) => new Inflights(c, b)),
      { numRuns: 1000 },
    );
  });

  it('rejects invalid limits', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 0 }), fc.integer({ min: -5, max: -1 }), (badCount, badBytes) => {
        expect(() => new Inflights(badCount, 0)).toThrow(RaftInvariantError);
        expect(() => new Inflights(1, badBytes)).toThrow(RaftInvariantError);
        expect(() => new Inflights(1.5, 0)).toThrow(RaftInvariantError);
      }),
      { numRuns: 50 },
    );
  });

  it('negative control: finds an off-by-one in full()', () => {
    const out = fc.check(
      inflightsProperty((c, b) => new OffByOneFullInflights(c, b)),
      { numRuns: 1000, endOnFailure: true },
    );
    expectCaught(out);
  });

  it('negative control: finds a grow() that ignores wrap-around', () => {
    // Sanity: the broken copy passes the model when the ring never wraps before growing.
    const plain = new UnwrapBugInflights(8, 0);
    for (const i of [1, 2, 3, 4, 5, 6]) plain.add(i, 1);
    expect(plain.snapshot()).toEqual([1, 2, 3, 4, 5, 6]);
    const out = fc.check(
      inflightsProperty((c, b) => new UnwrapBugInflights(c, b)),
      { numRuns: 1000, endOnFailure: true },
    );
    expectCaught(out);
  });
});
