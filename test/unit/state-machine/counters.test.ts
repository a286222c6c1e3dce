/**
 * Counters (docs/design.md#counters) and fenced writes (docs/design.md#fenced-writes).
 */
import { describe, expect, it } from 'vitest';
import { Driver, failure, value } from './driver.js';

const MAX = Number.MAX_SAFE_INTEGER;

describe('counters', () => {
  it('default 0; add → new value, set → previous, cas → boolean, get → value, delete → previous', () => {
    const d = new Driver();
    const s = d.open();
    const r = (body: Parameters<Driver['write']>[1]): unknown => value(d.write(s, body).result);
    expect(r({ type: 'counter-get', name: 'c' })).toBe(0);
    expect(r({ type: 'counter-add', name: 'c', delta: 5 })).toBe(5);
    expect(r({ type: 'counter-add', name: 'c', delta: -7 })).toBe(-2);
    expect(r({ type: 'counter-set', name: 'c', value: 10 })).toBe(-2);
    expect(r({ type: 'counter-cas', name: 'c', expected: 9, next: 1 })).toBe(false);
    expect(d.m.counterValue('c')).toBe(10);
    expect(r({ type: 'counter-cas', name: 'c', expected: 10, next: 1 })).toBe(true);
    expect(r({ type: 'counter-get', name: 'c' })).toBe(1);
    expect(r({ type: 'counter-delete', name: 'c' })).toBe(1);
    expect(r({ type: 'counter-get', name: 'c' })).toBe(0);
    expect(r({ type: 'counter-delete', name: 'never' })).toBe(0);
  });

  it('counters are independent by name, and a counter named like a lock is unrelated to it', () => {
    const d = new Driver();
    const s = d.open();
    d.write(s, { type: 'acquire', name: 'x', waitMs: 0 });
    d.write(s, { type: 'counter-add', name: 'x', delta: 1 });
    d.write(s, { type: 'counter-add', name: 'y', delta: 2 });
    expect([d.m.counterValue('x'), d.m.counterValue('y')]).toEqual([1, 2]);
    expect(d.m.lockInfo('x').holder?.sessionId).toBe(s);
  });

  it('OVERFLOW outside ±(2^53 − 1), value unchanged', () => {
    const d = new Driver();
    const s = d.open();
    d.write(s, { type: 'counter-set', name: 'c', value: MAX });
    expect(failure(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }).result).code).toBe('OVERFLOW');
    expect(d.m.counterValue('c')).toBe(MAX);
    d.write(s, { type: 'counter-set', name: 'c', value: -MAX });
    expect(failure(d.write(s, { type: 'counter-add', name: 'c', delta: -MAX }).result).code).toBe('OVERFLOW');
    expect(d.m.counterValue('c')).toBe(-MAX);
    expect(value(d.write(s, { type: 'counter-add', name: 'c', delta: MAX }).result)).toBe(0);
  });
});

describe('fenced writes', () => {
  it('applied while the lock is held with exactly that token', () => {
    const d = new Driver();
    const s = d.open();
    const { token } = value<{ token: number }>(d.write(s, { type: 'acquire', name: 'L', waitMs: 0 }).result);
    expect(value(d.write(s, { type: 'counter-add', name: 'c', delta: 3, fence: { lock: 'L', token } }).result)).toBe(3);
  });

  it('FENCED and no change: wrong token, free lock, lock since re-granted to someone else', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    const t1 = value<{ token: number }>(d.write(a, { type: 'acquire', name: 'L', waitMs: 0 }).result).token;
    const add = (who: number, token: number, lock = 'L') =>
      d.write(who, { type: 'counter-add', name: 'c', delta: 1, fence: { lock, token } });
    expect(failure(add(a, t1 + 1).result).code).toBe('FENCED');
    expect(failure(add(a, t1, 'other').result).code).toBe('FENCED');
    d.write(b, { type: 'acquire', name: 'L', waitMs: 9_000 });
    d.write(a, { type: 'release', name: 'L' }); // b now holds L with a newer token
    const t2 = d.m.lockInfo('L').holder?.fencingToken ?? 0;
    expect(t2).toBeGreaterThan(t1);
    const stale = add(a, t1);
    expect(failure(stale.result)).toEqual({ ok: false, code: 'FENCED', message: `lock L is not held with token ${t1}` });
    expect(d.m.counterValue('c')).toBe(0);
    // The token is what matters, not who writes: anyone holding the current token passes.
    expect(value(add(a, t2).result)).toBe(1);
  });

  it('any write may be fenced: acquire, release, set, cas, delete', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    const t = value<{ token: number }>(d.write(a, { type: 'acquire', name: 'guard', waitMs: 0 }).result).token;
    const bad = { lock: 'guard', token: t + 100 };
    for (const body of [
      { type: 'acquire', name: 'M', waitMs: 0, fence: bad },
      { type: 'release', name: 'guard', fence: bad },
      { type: 'counter-set', name: 'c', value: 5, fence: bad },
      { type: 'counter-cas', name: 'c', expected: 0, next: 5, fence: bad },
      { type: 'counter-delete', name: 'c', fence: bad },
    ] as const) {
      expect(failure(d.write(b, body).result).code).toBe('FENCED');
    }
    expect(d.m.lockInfo('M')).toEqual({ waiters: 0 });
    expect(d.m.lockInfo('guard').holder?.sessionId).toBe(a);
  });
});
