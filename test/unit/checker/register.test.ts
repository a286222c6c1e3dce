/**
 * Register model: hand-written histories whose verdicts can be argued in one line each. Every
 * verdict is also confirmed by the brute-force reference, so a wrong expectation here cannot
 * hide behind a wrong search.
 */
import { describe, expect, it } from 'vitest';
import {
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  bruteForceCheck,
  check,
  createRegisterModel,
  registerModel,
} from '../../../src/checker/index.js';
import { builder } from './support/ops.js';

type Op = Operation<RegisterInput, RegisterOutput>;
const read: RegisterInput = { op: 'read' };
const write = (value: number): RegisterInput => ({ op: 'write', value });
const cas = (expected: number | null, next: number): RegisterInput => ({ op: 'cas', expected, next });

function verdict(history: Op[], model = registerModel): 'ok' | 'illegal' | 'inconclusive' {
  const fast = check(model, history);
  expect(bruteForceCheck(model, history).result, 'brute force agrees').toBe(fast.result);
  return fast.result;
}

describe('register model', () => {
  it('accepts a sequential history', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    expect(verdict([h.ok('a', 0, 1, read, null), h.ok('a', 2, 3, write(1), undefined), h.ok('b', 4, 5, read, 1)])).toBe('ok');
  });

  it('rejects a stale read: the read began after the second write completed', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const history = [h.ok('a', 0, 1, write(1), undefined), h.ok('a', 2, 3, write(2), undefined), h.ok('b', 4, 5, read, 1)];
    expect(verdict(history)).toBe('illegal');
    const anomaly = check(registerModel, history).anomaly;
    expect(anomaly?.stuck.id).toBe(2);
    expect(anomaly?.longestPrefix.map((op) => op.id)).toEqual([0, 1]);
    expect(anomaly?.stateAfterPrefix).toBe('2');
    expect(anomaly?.explanation).toContain('read() -> 1');
  });

  it('lets a read concurrent with a write see either value', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const w1 = h.ok('a', 0, 1, write(1), undefined);
    const w2 = h.ok('a', 2, 6, write(2), undefined);
    expect(verdict([w1, w2, h.ok('b', 3, 4, read, 1)])).toBe('ok');
    expect(verdict([w1, w2, h.ok('b', 3, 4, read, 2)])).toBe('ok');
  });

  it('rejects a read of a value never written', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    expect(verdict([h.ok('a', 0, 1, write(1), undefined), h.ok('b', 0, 2, read, 3)])).toBe('illegal');
  });

  it('rejects reads going back in time during a long write', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    // Once a read saw 1, the write of 1 has happened; a later read cannot see the old null.
    expect(verdict([h.ok('a', 0, 10, write(1), undefined), h.ok('b', 1, 2, read, 1), h.ok('c', 3, 4, read, null)])).toBe('illegal');
    expect(verdict([h.ok('a', 0, 10, write(1), undefined), h.ok('b', 1, 2, read, null), h.ok('c', 3, 4, read, 1)])).toBe('ok');
  });

  it('treats equal timestamps as concurrent', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    // The write returned at 5 and the read was called at 5: either may have come first.
    expect(verdict([h.ok('a', 0, 5, write(1), undefined), h.ok('b', 5, 6, read, null)])).toBe('ok');
    expect(verdict([h.ok('a', 0, 5, write(1), undefined), h.ok('b', 6, 7, read, null)])).toBe('illegal');
  });

  it('compare-and-set: two successful swaps from the same expected value are impossible', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    expect(verdict([h.ok('a', 0, 3, cas(null, 1), true), h.ok('b', 1, 4, cas(null, 2), true)])).toBe('illegal');
    expect(verdict([h.ok('a', 0, 3, cas(null, 1), true), h.ok('b', 1, 4, cas(1, 2), true), h.ok('c', 5, 6, read, 2)])).toBe('ok');
  });

  it('compare-and-set: a refusal must mean the value differed', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    expect(verdict([h.ok('a', 0, 1, write(1), undefined), h.ok('b', 2, 3, cas(1, 2), false)])).toBe('illegal');
    expect(verdict([h.ok('a', 0, 1, write(1), undefined), h.ok('b', 2, 3, cas(0, 2), false), h.ok('b', 4, 5, read, 1)])).toBe('ok');
  });

  it('an unknown write that must have taken effect explains a read', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    expect(verdict([h.ok('a', 0, 1, write(1), undefined), h.unknown('b', 2, write(5)), h.ok('c', 4, 5, read, 5)])).toBe('ok');
  });

  it('an unknown write cannot take effect before it was called', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    expect(verdict([h.ok('c', 0, 1, read, 5), h.unknown('b', 2, write(5))])).toBe('illegal');
  });

  it('an unknown write may not have taken effect, and takes effect at most once', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const w1 = h.ok('a', 0, 1, write(1), undefined);
    const maybe = h.unknown('b', 2, write(2));
    const r1 = h.ok('c', 5, 6, read, 1);
    expect(verdict([w1, maybe, r1])).toBe('ok');
    const r2 = h.ok('c', 7, 8, read, 2);
    expect(verdict([w1, maybe, r1, r2])).toBe('ok');
    // After 2 was seen, nothing can bring back 1: the unknown write cannot happen twice.
    expect(verdict([w1, maybe, r1, r2, h.ok('c', 9, 10, read, 1)])).toBe('illegal');
  });

  it('drops failed operations: a failed write is never seen', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const failed = h.fail('a', 0, 1, write(2));
    expect(verdict([failed, h.ok('b', 2, 3, read, 2)])).toBe('illegal');
    expect(verdict([failed, h.ok('b', 2, 3, read, null)])).toBe('ok');
  });

  it('checks keys independently and reports the illegal one', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const history = [
      h.ok('a', 0, 1, write(1), undefined, 'x'),
      h.ok('a', 2, 3, write(2), undefined, 'y'),
      h.ok('b', 4, 5, read, 1, 'x'),
      h.ok('b', 6, 7, read, 1, 'y'),
    ];
    expect(verdict(history)).toBe('illegal');
    const result = check(registerModel, history);
    expect(result.partitions.map((p) => [p.key, p.result])).toEqual([
      ['x', 'ok'],
      ['y', 'illegal'],
    ]);
    expect(result.anomaly?.key).toBe('y');
  });

  it('honours a configured initial value, and tells 1 from "1"', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const zero = createRegisterModel({ initial: 0 });
    expect(verdict([h.ok('a', 0, 1, read, 0)], zero)).toBe('ok');
    expect(verdict([h.ok('a', 0, 1, read, null)], zero)).toBe('illegal');
    expect(zero.hash(1)).not.toBe(zero.hash('1'));
    expect(verdict([h.ok('a', 2, 3, { op: 'write', value: '1' }, undefined), h.ok('a', 4, 5, read, 1)])).toBe('illegal');
  });
});
