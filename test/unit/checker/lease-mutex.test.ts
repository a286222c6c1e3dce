/**
 * The lease-lock model used by chaos runs: a grant may displace a holder whose lease ran out
 * (legal here, illegal for the plain mutex), but tokens must still strictly increase, a release
 * answered 'ok' proves the holder still held, and "not acquired" needs a holder. Each verdict is
 * confirmed by the brute-force reference.
 */
import { describe, expect, it } from 'vitest';
import {
  type MutexInput,
  type MutexOutput,
  type Operation,
  bruteForceCheck,
  check,
  leaseMutexModel,
  mutexModel,
} from '../../../src/checker/index.js';
import { builder, mutexOps } from './support/ops.js';

type Op = Operation<MutexInput, MutexOutput>;
const { acquire, release, granted, refused } = mutexOps;

function verdict(history: Op[]): 'ok' | 'illegal' | 'inconclusive' {
  const fast = check(leaseMutexModel, history);
  expect(bruteForceCheck(leaseMutexModel, history).result, 'brute force agrees').toBe(fast.result);
  return fast.result;
}

describe('lease-mutex model', () => {
  it('a grant may displace a holder whose lease ran out (the plain mutex refuses this)', () => {
    const h = builder<MutexInput, MutexOutput>();
    const history = [
      h.ok('a', 0, 1, acquire('a'), granted(3)),
      h.ok('b', 2, 3, acquire('b'), granted(7)),
      h.ok('a', 4, 5, release('a', 3), 'NOT_HELD'),
    ];
    expect(verdict(history)).toBe('ok');
    expect(check(mutexModel, history).result).toBe('illegal');
  });

  it('refuses a token that does not increase, even across a displaced holder', () => {
    const h = builder<MutexInput, MutexOutput>();
    expect(verdict([h.ok('a', 0, 1, acquire('a'), granted(9)), h.ok('b', 2, 3, acquire('b'), granted(7))])).toBe('illegal');
    const g = builder<MutexInput, MutexOutput>();
    expect(verdict([g.ok('a', 0, 1, acquire('a'), granted(5)), g.ok('b', 2, 3, acquire('b'), granted(5))])).toBe('illegal');
  });

  it("refuses a release answered 'ok' after another grant (the lease had not run out, so no grant could come)", () => {
    const h = builder<MutexInput, MutexOutput>();
    expect(
      verdict([
        h.ok('a', 0, 1, acquire('a'), granted(3)),
        h.ok('b', 2, 3, acquire('b'), granted(7)),
        h.ok('a', 4, 5, release('a', 3), 'ok'),
      ]),
    ).toBe('illegal');
  });

  it('refuses "not acquired" when nobody can hold the lock, accepts it while someone does', () => {
    const h = builder<MutexInput, MutexOutput>();
    expect(
      verdict([h.ok('a', 0, 1, acquire('a'), granted(3)), h.ok('a', 2, 3, release('a', 3), 'ok'), h.ok('b', 4, 5, acquire('b'), refused)]),
    ).toBe('illegal');
    const g = builder<MutexInput, MutexOutput>();
    expect(
      verdict([g.ok('a', 0, 1, acquire('a'), granted(3)), g.ok('b', 2, 3, acquire('b'), refused), g.ok('a', 4, 5, release('a', 3), 'ok')]),
    ).toBe('ok');
  });

  it('an acquire of unknown outcome may or may not have granted', () => {
    const h = builder<MutexInput, MutexOutput>();
    expect(
      verdict([h.unknown('a', 0, acquire('a')), h.ok('b', 2, 3, acquire('b'), granted(4)), h.ok('b', 4, 5, release('b', 4), 'ok')]),
    ).toBe('ok');
  });
});
