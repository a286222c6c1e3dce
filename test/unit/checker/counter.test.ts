/**
 * Counter model: hand-written histories, each verdict confirmed by the brute-force reference.
 */
import { describe, expect, it } from 'vitest';
import { type CounterInput, type CounterOutput, type Operation, bruteForceCheck, check, counterModel } from '../../../src/checker/index.js';
import { builder } from './support/ops.js';

type Op = Operation<CounterInput, CounterOutput>;
const add = (delta: number): CounterInput => ({ op: 'add', delta });
const set = (value: number): CounterInput => ({ op: 'set', value });
const cas = (expected: number, next: number): CounterInput => ({ op: 'cas', expected, next });
const get: CounterInput = { op: 'get' };
const del: CounterInput = { op: 'delete' };
const MAX = Number.MAX_SAFE_INTEGER;

function verdict(history: Op[]): 'ok' | 'illegal' | 'inconclusive' {
  const fast = check(counterModel, history);
  expect(bruteForceCheck(counterModel, history).result, 'brute force agrees').toBe(fast.result);
  return fast.result;
}

describe('counter model', () => {
  it('accepts concurrent increments in either order', () => {
    const h = builder<CounterInput, CounterOutput>();
    expect(verdict([h.ok('a', 0, 3, add(1), 2), h.ok('b', 1, 4, add(1), 1), h.ok('c', 5, 6, get, 2)])).toBe('ok');
  });

  it('rejects a lost increment: two increments both answered 1', () => {
    const h = builder<CounterInput, CounterOutput>();
    const history = [h.ok('a', 0, 3, add(1), 1), h.ok('b', 1, 4, add(1), 1)];
    expect(verdict(history)).toBe('illegal');
    const anomaly = check(counterModel, history).anomaly;
    expect(anomaly?.longestPrefix).toHaveLength(1);
    expect(anomaly?.stateAfterPrefix).toBe('1');
  });

  it('rejects a lost increment seen by a later get', () => {
    const h = builder<CounterInput, CounterOutput>();
    expect(verdict([h.ok('a', 0, 3, add(5), 5), h.ok('b', 1, 4, add(3), 8), h.ok('c', 5, 6, get, 5)])).toBe('illegal');
  });

  it('set returns the previous value', () => {
    const h = builder<CounterInput, CounterOutput>();
    expect(verdict([h.ok('a', 0, 1, set(5), 0), h.ok('a', 2, 3, get, 5), h.ok('b', 4, 5, set(7), 5)])).toBe('ok');
    expect(verdict([h.ok('a', 0, 1, set(5), 0), h.ok('b', 4, 5, set(7), 0)])).toBe('illegal');
  });

  it('compare-and-set succeeds only from the expected value, and only once', () => {
    const h = builder<CounterInput, CounterOutput>();
    expect(verdict([h.ok('a', 0, 3, cas(0, 1), true), h.ok('b', 1, 4, cas(0, 2), true)])).toBe('illegal');
    expect(verdict([h.ok('a', 0, 3, cas(0, 1), true), h.ok('b', 1, 4, cas(0, 2), false), h.ok('c', 5, 6, get, 1)])).toBe('ok');
    expect(verdict([h.ok('a', 0, 1, add(1), 1), h.ok('b', 2, 3, cas(1, 2), false)])).toBe('illegal');
  });

  it('delete brings the value back to 0', () => {
    const h = builder<CounterInput, CounterOutput>();
    const setup = [h.ok('a', 0, 1, add(5), 5), h.ok('a', 2, 3, del, undefined)];
    expect(verdict([...setup, h.ok('b', 4, 5, get, 0), h.ok('b', 6, 7, add(1), 1)])).toBe('ok');
    expect(verdict([...setup, h.ok('b', 4, 5, get, 5)])).toBe('illegal');
  });

  it('an unknown increment that must have taken effect', () => {
    const h = builder<CounterInput, CounterOutput>();
    // b's increment answered 2: a's increment, outcome unknown, must have happened first.
    expect(verdict([h.unknown('a', 0, add(1)), h.ok('b', 2, 3, add(1), 2)])).toBe('ok');
    expect(verdict([h.unknown('a', 0, add(10)), h.ok('b', 5, 6, get, 0), h.ok('b', 7, 8, get, 10)])).toBe('ok');
  });

  it('an unknown increment cannot take effect before its call, nor twice', () => {
    const h = builder<CounterInput, CounterOutput>();
    expect(verdict([h.ok('b', 0, 2, get, 10), h.unknown('a', 3, add(10))])).toBe('illegal');
    expect(verdict([h.unknown('a', 0, add(10)), h.ok('b', 1, 2, get, 10), h.ok('b', 3, 4, get, 20)])).toBe('illegal');
  });

  it('an unknown operation that must not have taken effect', () => {
    const h = builder<CounterInput, CounterOutput>();
    // Every later read sees 0: the unknown increment never happened (or not yet).
    expect(verdict([h.unknown('a', 0, add(10)), h.ok('b', 5, 6, get, 0), h.ok('b', 7, 8, add(1), 1)])).toBe('ok');
    // A failed one definitely did not: a read seeing it is a violation.
    expect(verdict([h.fail('a', 0, 1, add(10)), h.ok('b', 5, 6, get, 10)])).toBe('illegal');
  });

  it('values stay safe integers: an overflowing add cannot have succeeded', () => {
    const h = builder<CounterInput, CounterOutput>();
    const atMax = h.ok('a', 0, 1, set(MAX), 0);
    expect(verdict([atMax, h.ok('a', 2, 3, add(1), MAX + 1)])).toBe('illegal');
    expect(verdict([atMax, h.fail('a', 2, 3, add(1)), h.ok('a', 4, 5, get, MAX)])).toBe('ok');
    // Unknown and overflowing: it cannot have taken effect, so a later value of MAX + 1 is impossible.
    expect(verdict([atMax, h.unknown('a', 2, add(1)), h.ok('b', 4, 5, get, MAX)])).toBe('ok');
    expect(verdict([atMax, h.unknown('a', 2, add(1)), h.ok('b', 4, 5, get, MAX + 1)])).toBe('illegal');
    expect(verdict([atMax, h.unknown('a', 2, add(-1)), h.ok('b', 4, 5, get, MAX - 1)])).toBe('ok');
    expect(verdict([h.ok('a', 0, 1, set(-MAX), 0), h.ok('a', 2, 3, add(-1), -MAX - 1)])).toBe('illegal');
    expect(verdict([h.ok('a', 0, 1, set(1.5), 0)])).toBe('illegal');
  });

  it('keeps counters of different keys apart', () => {
    const h = builder<CounterInput, CounterOutput>();
    const history = [h.ok('a', 0, 1, add(1), 1, 'x'), h.ok('b', 0, 1, add(1), 1, 'y'), h.ok('c', 2, 3, get, 1, 'x')];
    expect(verdict(history)).toBe('ok');
    expect(check(counterModel, history).partitions.map((p) => p.key)).toEqual(['x', 'y']);
  });
});
