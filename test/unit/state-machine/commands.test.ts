/**
 * validateCommand (docs/design.md#limits; "Clear errors" in docs/design.md#promises): the gate
 * the server uses before proposing and the machine uses on every entry. Each case names the
 * rule it checks.
 */
import { describe, expect, it } from 'vitest';
import {
  isLeaderCommand,
  isWriteCommand,
  validateCommand,
  validateSessionCommand,
  type Command,
} from '../../../src/state-machine/commands.js';
import { DEFAULT_LIMITS, MAX_TTL_MS, MIN_TTL_MS, resolveLimits } from '../../../src/protocol/index.js';
import { TEST_SECRET } from '../../support/secrets.js';

const W = { session: 7, seq: 3 } as const;

function invalid(v: unknown, pattern: RegExp, limits = DEFAULT_LIMITS): void {
  const r = validateCommand(v, limits);
  if (r.ok) throw new Error(`accepted ${JSON.stringify(v)}`);
  expect(r.code).toBe('INVALID_ARGUMENT');
  expect(r.message).toMatch(pattern);
}

describe('validateCommand: accepts every well-formed command unchanged', () => {
  const good: Command[] = [
    { type: 'open-session', secret: TEST_SECRET, ttlMs: 10_000 },
    { type: 'open-session', secret: TEST_SECRET, ttlMs: MIN_TTL_MS, clientId: 'worker-1' },
    { type: 'keep-alive', session: 1 },
    { type: 'keep-alive', session: 1, ackedSeq: 0 },
    { type: 'expire-sessions', sessions: [] },
    { type: 'expire-sessions', sessions: [1, 2, 3] },
    { type: 'tick' },
    { type: 'close-session', ...W },
    { type: 'acquire', ...W, name: 'orders', waitMs: 0 },
    { type: 'acquire', ...W, name: 'orders', waitMs: DEFAULT_LIMITS.maxWaitMs, ackedSeq: 2, fence: { lock: 'a', token: 9 } },
    { type: 'release', ...W, name: 'orders' },
    { type: 'cancel-wait', ...W, name: 'orders' },
    { type: 'counter-add', ...W, name: 'hits', delta: -Number.MAX_SAFE_INTEGER },
    { type: 'counter-set', ...W, name: 'hits', value: Number.MAX_SAFE_INTEGER },
    { type: 'counter-cas', ...W, name: 'hits', expected: 0, next: 1 },
    { type: 'counter-get', ...W, name: 'hits' },
    { type: 'counter-delete', ...W, name: 'hits', fence: { lock: 'l', token: 1 } },
  ];
  for (const cmd of good) {
    it(`${cmd.type} ${JSON.stringify(cmd).slice(0, 60)}`, () => {
      const r = validateCommand(cmd);
      expect(r).toEqual({ ok: true, value: cmd });
      if (r.ok) expect(r.value).not.toBe(cmd); // a fresh copy, nothing shared with the input
    });
  }

  it('classifies leader commands and writes', () => {
    expect(isLeaderCommand({ type: 'tick' })).toBe(true);
    expect(isLeaderCommand({ type: 'expire-sessions', sessions: [] })).toBe(true);
    expect(isLeaderCommand({ type: 'keep-alive', session: 1 })).toBe(false);
    expect(isWriteCommand({ type: 'release', ...W, name: 'x' })).toBe(true);
    expect(isWriteCommand({ type: 'keep-alive', session: 1 })).toBe(false);
  });
});

describe('validateCommand: refuses malformed input with INVALID_ARGUMENT naming the field', () => {
  it('non-maps and unknown types', () => {
    for (const v of [null, undefined, 3, 'acquire', [], [{ type: 'tick' }], new Date(0), new Map()]) invalid(v, /must be a map/);
    invalid({}, /unknown command type/);
    invalid({ type: 'lock' }, /unknown command type "lock"/);
    invalid({ type: 7 }, /unknown command type/);
  });

  it('unknown and missing fields (strict shape)', () => {
    invalid({ type: 'tick', extra: 1 }, /unknown field "extra"/);
    invalid({ type: 'acquire', ...W, name: 'x', waitMs: 0, wait: 5 }, /unknown field "wait"/);
    invalid({ type: 'acquire', ...W, name: 'x' }, /missing field waitMs/);
    invalid({ type: 'release', session: 1, name: 'x' }, /missing field seq/);
    invalid({ type: 'cancel-wait', ...W }, /missing field name/);
    invalid({ type: 'cancel-wait', ...W, name: 'x', waitMs: 0 }, /unknown field "waitMs"/);
    invalid({ type: 'keep-alive', session: 1, seq: 2 }, /unknown field "seq"/);
    invalid({ type: 'open-session', secret: TEST_SECRET, ttlMs: 5000, fence: { lock: 'a', token: 1 } }, /unknown field "fence"/);
  });

  it('integers: safe, integral, in range', () => {
    invalid({ type: 'release', session: 0, seq: 1, name: 'x' }, /session must be in \[1, /);
    invalid({ type: 'release', session: 1.5, seq: 1, name: 'x' }, /session must be a safe integer/);
    invalid({ type: 'release', session: '1', seq: 1, name: 'x' }, /session must be a safe integer, got a string/);
    invalid({ type: 'release', session: 1, seq: 2 ** 53, name: 'x' }, /seq must be a safe integer/);
    invalid({ type: 'release', session: 1, seq: -1, name: 'x' }, /seq must be in/);
    invalid({ type: 'counter-add', ...W, name: 'c', delta: 2 ** 53 }, /delta must be a safe integer/);
    invalid({ type: 'counter-set', ...W, name: 'c', value: Number.NaN }, /value must be a safe integer/);
    invalid({ type: 'counter-cas', ...W, name: 'c', expected: 0, next: Infinity }, /next must be a safe integer/);
    invalid({ type: 'acquire', ...W, name: 'x', waitMs: -1 }, /waitMs must be in/);
    invalid({ type: 'acquire', ...W, name: 'x', waitMs: DEFAULT_LIMITS.maxWaitMs + 1 }, /waitMs must be in/);
  });

  it('session TTL within 1 s – 10 min', () => {
    invalid({ type: 'open-session', secret: TEST_SECRET, ttlMs: MIN_TTL_MS - 1 }, /ttlMs must be in \[1000, 600000\]/);
    invalid({ type: 'open-session', secret: TEST_SECRET, ttlMs: MAX_TTL_MS + 1 }, /ttlMs must be in/);
    expect(validateCommand({ type: 'open-session', secret: TEST_SECRET, ttlMs: MAX_TTL_MS }).ok).toBe(true);
  });

  it('names: 1–256 UTF-8 bytes, well-formed Unicode', () => {
    const acq = (name: unknown): unknown => ({ type: 'acquire', ...W, name, waitMs: 0 });
    invalid(acq(''), /name must not be empty/);
    invalid(acq(5), /name must be a string/);
    expect(validateCommand(acq('x'.repeat(256))).ok).toBe(true);
    invalid(acq('x'.repeat(257)), /longer than 256/);
    expect(validateCommand(acq('é'.repeat(128))).ok).toBe(true); // 256 bytes
    invalid(acq('é'.repeat(129)), /258 UTF-8 bytes, more than 256/);
    invalid(acq('😀'.repeat(64) + 'x'), /257 UTF-8 bytes/);
    invalid(acq('a\uD800b'), /lone surrogate/);
    invalid(acq('\uDC00'), /lone surrogate/);
    expect(validateCommand(acq('\uD83D\uDE00')).ok).toBe(true);
    invalid({ type: 'open-session', secret: TEST_SECRET, ttlMs: 5000, clientId: '' }, /clientId must not be empty/);
  });

  it('name limit is configurable', () => {
    const small = resolveLimits({ maxNameBytes: 4 });
    expect(validateCommand({ type: 'counter-get', ...W, name: 'abcd' }, small).ok).toBe(true);
    invalid({ type: 'counter-get', ...W, name: 'abcde' }, /longer than 4/, small);
  });

  it('ackedSeq must be below seq (a write cannot have seen its own result)', () => {
    invalid({ type: 'release', session: 1, seq: 3, ackedSeq: 3, name: 'x' }, /ackedSeq \(3\) must be below seq \(3\)/);
    expect(validateCommand({ type: 'release', session: 1, seq: 3, ackedSeq: 2, name: 'x' }).ok).toBe(true);
  });

  it('fence: a map { lock, token }', () => {
    const f = (fence: unknown): unknown => ({ type: 'counter-add', ...W, name: 'c', delta: 1, fence });
    invalid(f([1, 2]), /fence must be a map/);
    invalid(f({ lock: 'a' }), /token must be a safe integer/);
    invalid(f({ lock: '', token: 1 }), /fence.lock must not be empty/);
    invalid(f({ lock: 'a', token: 0 }), /token must be in/);
    invalid(f({ lock: 'a', token: 1, extra: true }), /fence.extra: unknown field/);
  });

  it('expire-sessions: an array of positive ids, at most maxSessions', () => {
    invalid({ type: 'expire-sessions', sessions: 'all' }, /sessions must be an array/);
    invalid({ type: 'expire-sessions', sessions: [1, 0] }, /sessions\[1\] must be a positive safe integer/);
    invalid({ type: 'expire-sessions', sessions: [1, 2, 3] }, /more than 2/, resolveLimits({ maxSessions: 2 }));
  });

  it('resolveLimits refuses nonsense configuration loudly', () => {
    expect(() => resolveLimits({ maxSessions: 0 })).toThrow(/maxSessions/);
    expect(() => resolveLimits({ maxWaitersPerLock: 1.5 })).toThrow(/maxWaitersPerLock/);
    expect(resolveLimits({ maxSessions: 5 }).maxSessions).toBe(5);
  });
});

describe('validateSessionCommand: a command as a client sends it', () => {
  it('open-session carries no secret (the leader draws it); other commands as validateCommand', () => {
    expect(validateSessionCommand({ type: 'open-session', ttlMs: 5000 })).toEqual({
      ok: true,
      value: { type: 'open-session', ttlMs: 5000 },
    });
    const withSecret = validateSessionCommand({ type: 'open-session', ttlMs: 5000, secret: TEST_SECRET });
    expect(withSecret.ok ? 'accepted' : withSecret.message).toMatch(/secret/);
    expect(validateSessionCommand({ type: 'release', ...W, name: 'x' }).ok).toBe(true);
    expect(validateSessionCommand({ type: 'counter-get', ...W, name: 'x' }).ok).toBe(true);
  });

  it('refuses the leader commands: a client cannot stamp time or expire sessions', () => {
    for (const cmd of [{ type: 'tick' }, { type: 'expire-sessions', sessions: [1] }]) {
      const r = validateSessionCommand(cmd);
      expect(r.ok ? 'accepted' : r.message).toMatch(/leader only/);
    }
  });
});
