/**
 * `break-lock` (docs/design.md#forced-release): an operator revokes a grant. The lock goes to
 * its next waiter with a higher token in the same entry, the old holder's fenced writes and
 * release are refused from then on, and its session remembers the revocation (bounded), which
 * its keep-alives report. Snapshots and the digest carry the memory.
 */
import { describe, expect, it } from 'vitest';
import { MAX_REVOCATIONS_KEPT, type KeepAliveValue } from '../../../src/protocol/index.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import { checkDigestOfState, failure, value, withSessions } from './driver.js';

describe('break-lock', () => {
  it('revokes the grant, hands the lock to the next waiter with this entry as token, and tells the old holder', () => {
    const { d, s } = withSessions(3);
    const [holder, waiter, operator] = s as [number, number, number];
    const granted = value<{ token: number }>(d.write(holder, { type: 'acquire', name: 'L', waitMs: 0 }).result).token;
    d.write(waiter, { type: 'acquire', name: 'L', waitMs: 30_000 });
    const out = d.write(operator, { type: 'break-lock', name: 'L', reason: 'stuck job' });
    expect(out.result).toEqual({ ok: true, value: { status: 'broken', session: holder, token: granted } });
    expect(out.events).toEqual([
      { type: 'lock-broken', name: 'L', session: holder, token: granted, reason: 'stuck job' },
      { type: 'lock-released', name: 'L', session: holder, token: granted },
      expect.objectContaining({ type: 'granted', name: 'L', session: waiter, token: d.index }),
    ]);
    expect(d.m.lockInfo('L').holder).toMatchObject({ sessionId: waiter, fencingToken: d.index });
    // The old holder's session lives on, and learns of the revocation from its keep-alives.
    const ka = value<KeepAliveValue>(d.keepAlive(holder).result);
    expect(ka.revoked).toEqual([{ name: 'L', token: granted, reason: 'stuck job' }]);
    expect(value<KeepAliveValue>(d.keepAlive(waiter).result).revoked).toBeUndefined();
    // Its fenced writes and its release are refused.
    expect(failure(d.write(holder, { type: 'counter-add', name: 'c', delta: 1, fence: { lock: 'L', token: granted } }).result).code).toBe(
      'FENCED',
    );
    expect(failure(d.write(holder, { type: 'release', name: 'L' }).result).code).toBe('NOT_HELD');
    checkDigestOfState(d);
  });

  it('a free lock has nothing to break: NOT_HELD, and nothing changes', () => {
    const { d, s } = withSessions(1);
    const before = d.m.digest();
    const out = d.write(s[0]!, { type: 'break-lock', name: 'free' });
    expect(failure(out.result).code).toBe('NOT_HELD');
    expect(failure(out.result).message).toMatch(/free is not held/);
    expect(out.events).toEqual([]);
    // Only the session's renewal and its stored result changed: the locks did not.
    expect(d.m.lockInfo('free')).toEqual({ waiters: 0 });
    expect(d.m.digest()).not.toBe(before);
  });

  it('a retry of the break answers the same and breaks nothing more (exactly once)', () => {
    const { d, s } = withSessions(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    const first = d.write(s[2]!, { type: 'break-lock', name: 'L' }, 1);
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 0 });
    const retry = d.write(s[2]!, { type: 'break-lock', name: 'L' }, 1);
    expect(retry.result).toEqual(first.result);
    expect(retry.events).toEqual([]);
    expect(d.m.lockInfo('L').holder?.sessionId).toBe(s[1]);
  });

  it(`a session remembers its latest ${MAX_REVOCATIONS_KEPT} revocations, oldest first; close forgets them`, () => {
    const { d, s } = withSessions(2);
    const tokens: number[] = [];
    for (let k = 0; k < MAX_REVOCATIONS_KEPT + 3; k++) {
      tokens.push(value<{ token: number }>(d.write(s[0]!, { type: 'acquire', name: `L${k}`, waitMs: 0 }).result).token);
      d.write(s[1]!, { type: 'break-lock', name: `L${k}` });
    }
    const revoked = value<KeepAliveValue>(d.keepAlive(s[0]!).result).revoked ?? [];
    expect(revoked.map((r) => r.token)).toEqual(tokens.slice(3));
    expect(revoked.every((r) => r.reason === undefined)).toBe(true);
    checkDigestOfState(d);
    const copy = new LockMachine();
    copy.restore(d.m.snapshot());
    expect(copy.digest()).toBe(d.m.digest());
    expect(copy.snapshot()).toEqual(d.m.snapshot());
    d.write(s[0]!, { type: 'close-session' });
    checkDigestOfState(d);
  });

  it('the reason is checked like a name: not empty, at most 256 UTF-8 bytes', () => {
    const { d, s } = withSessions(1);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    // (A lone surrogate cannot reach an entry: MessagePack encodes it as U+FFFD; the request
    // parser refuses it, test/unit/protocol.)
    for (const reason of ['', 'x'.repeat(257), 'é'.repeat(129)]) {
      expect(failure(d.write(s[0]!, { type: 'break-lock', name: 'L', reason }).result).code).toBe('INVALID_ARGUMENT');
    }
    expect(d.m.lockInfo('L').holder?.sessionId).toBe(s[0]);
  });
});
