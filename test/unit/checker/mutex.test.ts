/**
 * Fenced mutex model: hand-written histories, each verdict confirmed by the brute-force
 * reference.
 */
import { describe, expect, it } from 'vitest';
import {
  type MutexInput,
  type MutexOutput,
  type MutexState,
  type Operation,
  bruteForceCheck,
  check,
  mutexModel,
} from '../../../src/checker/index.js';
import { builder, mutexOps } from './support/ops.js';

type Op = Operation<MutexInput, MutexOutput>;
const { acquire, release, granted, refused } = mutexOps;

function verdict(history: Op[]): 'ok' | 'illegal' | 'inconclusive' {
  const fast = check(mutexModel, history);
  expect(bruteForceCheck(mutexModel, history).result, 'brute force agrees').toBe(fast.result);
  return fast.result;
}

describe('fenced mutex model', () => {
  it('accepts successive grants with increasing, not necessarily consecutive, tokens', () => {
    const h = builder<MutexInput, MutexOutput>();
    expect(
      verdict([
        h.ok('a', 0, 1, acquire('a'), granted(3)),
        h.ok('a', 2, 3, release('a', 3), 'ok'),
        h.ok('b', 4, 5, acquire('b'), granted(10)),
        h.ok('b', 6, 7, release('b', 10), 'ok'),
      ]),
    ).toBe('ok');
  });

  it('rejects a double grant', () => {
    const h = builder<MutexInput, MutexOutput>();
    const history = [h.ok('a', 0, 1, acquire('a'), granted(1)), h.ok('b', 2, 3, acquire('b'), granted(2))];
    expect(verdict(history)).toBe('illegal');
    const anomaly = check(mutexModel, history).anomaly;
    expect(anomaly?.stateAfterPrefix).toBe('held by "a" with token 1');
    expect(anomaly?.explanation).toContain('acquire("b") -> token 2: impossible in state held by "a"');
  });

  it('rejects a decreasing or repeated fencing token', () => {
    const h = builder<MutexInput, MutexOutput>();
    const first = [h.ok('a', 0, 1, acquire('a'), granted(5)), h.ok('a', 2, 3, release('a', 5), 'ok')];
    expect(verdict([...first, h.ok('b', 4, 5, acquire('b'), granted(3))])).toBe('illegal');
    expect(verdict([...first, h.ok('b', 4, 5, acquire('b'), granted(5))])).toBe('illegal');
    expect(verdict([...first, h.ok('b', 4, 5, acquire('b'), granted(6))])).toBe('ok');
  });

  it('orders grants by linearization, not by call: concurrent acquires may come either way', () => {
    const h = builder<MutexInput, MutexOutput>();
    // b called first but got the later token: fine if a's grant came first and a released.
    expect(
      verdict([
        h.ok('b', 0, 10, acquire('b'), granted(2)),
        h.ok('a', 1, 3, acquire('a'), granted(1)),
        h.ok('a', 4, 5, release('a', 1), 'ok'),
      ]),
    ).toBe('ok');
    // Without a's release, b's grant can only precede a's, and then tokens decrease.
    expect(verdict([h.ok('b', 0, 10, acquire('b'), granted(2)), h.ok('a', 1, 3, acquire('a'), granted(1))])).toBe('illegal');
  });

  it('lets an acquire overlap the release that made it possible', () => {
    const h = builder<MutexInput, MutexOutput>();
    expect(
      verdict([
        h.ok('a', 0, 1, acquire('a'), granted(1)),
        h.ok('a', 2, 6, release('a', 1), 'ok'),
        h.ok('b', 3, 5, acquire('b'), granted(2)),
      ]),
    ).toBe('ok');
  });

  it('answers not-acquired only while someone (even the caller) holds the lock', () => {
    const h = builder<MutexInput, MutexOutput>();
    expect(verdict([h.ok('a', 0, 1, acquire('a'), refused)])).toBe('illegal');
    const grant = h.ok('a', 0, 1, acquire('a'), granted(1));
    expect(verdict([grant, h.ok('b', 2, 3, acquire('b'), refused)])).toBe('ok');
    expect(verdict([grant, h.ok('a', 2, 3, acquire('a'), refused)])).toBe('ok');
    expect(verdict([grant, h.ok('a', 2, 3, acquire('a'), granted(2))])).toBe('illegal');
  });

  it('release: ok only for the holder with its token, NOT_HELD otherwise', () => {
    const h = builder<MutexInput, MutexOutput>();
    const grant = h.ok('a', 0, 1, acquire('a'), granted(7));
    expect(verdict([grant, h.ok('b', 2, 3, release('b', 7), 'ok')])).toBe('illegal');
    expect(verdict([grant, h.ok('a', 2, 3, release('a', 6), 'ok')])).toBe('illegal');
    expect(verdict([grant, h.ok('a', 2, 3, release('a', 7), 'NOT_HELD')])).toBe('illegal');
    expect(verdict([grant, h.ok('a', 2, 3, release('a', 6), 'NOT_HELD'), h.ok('b', 4, 5, release('b', 7), 'NOT_HELD')])).toBe('ok');
    // A release that answered NOT_HELD freed nothing.
    expect(verdict([grant, h.ok('a', 2, 3, release('a', 6), 'NOT_HELD'), h.ok('b', 4, 5, acquire('b'), granted(8))])).toBe('illegal');
  });

  it('an unknown release may have happened', () => {
    const h = builder<MutexInput, MutexOutput>();
    const grant = h.ok('a', 0, 1, acquire('a'), granted(1));
    expect(verdict([grant, h.unknown('a', 2, release('a', 1)), h.ok('b', 4, 5, acquire('b'), granted(2))])).toBe('ok');
    expect(verdict([grant, h.fail('a', 2, 3, release('a', 1)), h.ok('b', 4, 5, acquire('b'), granted(2))])).toBe('illegal');
  });

  it('an unknown acquire that must not have taken effect', () => {
    const h = builder<MutexInput, MutexOutput>();
    // b got the lock and released it twice over: a's acquire cannot have been granted between.
    expect(
      verdict([
        h.unknown('a', 0, acquire('a')),
        h.ok('b', 1, 2, acquire('b'), granted(1)),
        h.ok('b', 3, 4, release('b', 1), 'ok'),
        h.ok('b', 5, 6, acquire('b'), granted(2)),
      ]),
    ).toBe('ok');
  });

  it('an unknown acquire that must have taken effect, and not before its call', () => {
    const h = builder<MutexInput, MutexOutput>();
    // Nobody else ever got the lock, yet b was refused: a's unknown acquire was granted.
    expect(verdict([h.unknown('a', 0, acquire('a')), h.ok('b', 2, 3, acquire('b'), refused)])).toBe('ok');
    expect(verdict([h.ok('b', 0, 1, acquire('b'), refused), h.unknown('a', 2, acquire('a'))])).toBe('illegal');
  });

  it('an unseen token, revealed by its release, still orders later grants', () => {
    const h = builder<MutexInput, MutexOutput>();
    const unseen = h.unknown('a', 0, acquire('a'));
    const revealed = h.ok('a', 2, 3, release('a', 5), 'ok');
    expect(verdict([unseen, revealed, h.ok('b', 4, 5, acquire('b'), granted(4))])).toBe('illegal');
    expect(verdict([unseen, revealed, h.ok('b', 4, 5, acquire('b'), granted(6))])).toBe('ok');
    // An unseen grant still consumed a token: after it, a grant of token 1 is impossible.
    expect(
      verdict([
        unseen,
        h.unknown('a', 2, release('a', 1)),
        h.ok('c', 4, 5, acquire('c'), refused),
        h.ok('b', 6, 7, acquire('b'), granted(1)),
      ]),
    ).toBe('illegal');
  });

  it('keeps locks of different names apart', () => {
    const h = builder<MutexInput, MutexOutput>();
    expect(verdict([h.ok('a', 0, 1, acquire('a'), granted(1), 'L1'), h.ok('b', 2, 3, acquire('b'), granted(2), 'L2')])).toBe('ok');
  });

  it('hash and equal agree on states', () => {
    const s: MutexState = { holder: 'a', token: null, last: 3 };
    expect(mutexModel.equal(s, { ...s })).toBe(true);
    expect(mutexModel.hash(s)).toBe(mutexModel.hash({ ...s }));
    expect(mutexModel.equal(s, { ...s, token: 3 })).toBe(false);
    expect(mutexModel.hash(s)).not.toBe(mutexModel.hash({ ...s, token: 3 }));
  });
});
