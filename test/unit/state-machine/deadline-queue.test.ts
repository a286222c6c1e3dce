/**
 * DeadlineQueue: the derived index that finds due sessions and waiters. Its output order must
 * depend only on (at, tie), never on push history, since restore rebuilds it differently.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../../../src/state-machine/deadline-queue.js';

type D = { at: number; tie: number };

describe('DeadlineQueue', () => {
  it('pops due entries in (at, tie) order and skips stale ones', () => {
    const live = new Map<number, number>(); // tie → current deadline
    const q = new DeadlineQueue<D>((d) => live.get(d.tie) === d.at);
    const set = (tie: number, at: number): void => {
      live.set(tie, at);
      q.push({ at, tie });
    };
    set(3, 100);
    set(1, 100);
    set(2, 50);
    set(2, 200); // the entry at 50 is now stale
    expect(q.peek()).toEqual({ at: 100, tie: 1 });
    expect(q.collectDue(150)).toEqual([
      { at: 100, tie: 1 },
      { at: 100, tie: 3 },
    ]);
    expect(q.collectDue(1_000, 2)).toEqual([
      { at: 100, tie: 1 },
      { at: 100, tie: 3 },
    ]);
    expect(q.popDue(99)).toBeUndefined();
    expect(q.popDue(100)).toEqual({ at: 100, tie: 1 });
    expect(q.popDue(100)).toEqual({ at: 100, tie: 3 });
    expect(q.popDue(100)).toBeUndefined();
    expect(q.popDue(200)).toEqual({ at: 200, tie: 2 });
  });

  it('lists an owner pushed twice with the same deadline once', () => {
    const q = new DeadlineQueue<D>(() => true);
    q.push({ at: 5, tie: 1 });
    q.push({ at: 5, tie: 1 });
    expect(q.collectDue(5)).toEqual([{ at: 5, tie: 1 }]);
  });

  it('order is independent of push order and of rebuilds (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ at: fc.nat({ max: 20 }), tie: fc.nat({ max: 1000 }) }), { selector: (d) => d.tie }),
        fc.nat({ max: 25 }),
        (items, now) => {
          const a = new DeadlineQueue<D>(() => true);
          for (const d of items) a.push(d);
          const b = new DeadlineQueue<D>(() => true);
          b.rebuild([...items].reverse());
          const expected = items.filter((d) => d.at <= now).sort((x, y) => x.at - y.at || x.tie - y.tie);
          expect(a.collectDue(now)).toEqual(expected);
          const popped: D[] = [];
          for (let d = b.popDue(now); d !== undefined; d = b.popDue(now)) popped.push(d);
          expect(popped).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
