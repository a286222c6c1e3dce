/**
 * What a held grant does on its own (src/client/lock.ts, src/client/multi-lock.ts), with a fake
 * owner and session: a `Lock` and a `MultiLock` share one base, so a lease in doubt, a session
 * that ended and an operator's break act alike on both; a break of one lock of a MultiLock loses
 * it whole and hands the client its other locks to release.
 */
import { describe, expect, it } from 'vitest';
import { Lock, type LockOwner } from '../../../src/client/lock.js';
import { MultiLock } from '../../../src/client/multi-lock.js';
import { LockLostError, NotHeldError } from '../../../src/client/errors.js';
import type { Session } from '../../../src/client/session.js';

/** The parts of a Session a grant uses. */
function fakeSession(leaseInDoubt = false): Session {
  return { id: 9, holders: new Set(), leaseInDoubt } as unknown as Session;
}

/** An owner whose releases succeed, counting them. */
function fakeOwner(): LockOwner & { releases: number } {
  const owner = {
    releases: 0,
    releaseLock: async (): Promise<void> => {
      owner.releases++;
    },
  };
  return owner;
}

describe('MultiLock', () => {
  it('lists its names in order and joins the session holders; release calls the owner once and tells the client', async () => {
    const s = fakeSession();
    const owner = fakeOwner();
    const gone: Array<readonly string[]> = [];
    const m = new MultiLock(owner, s, ['a', 'b', 'c'], 12, (left) => gone.push(left));
    expect(m.names).toEqual(['a', 'b', 'c']);
    expect(Object.isFrozen(m.names)).toBe(true);
    expect(m.fencingToken).toBe(12);
    expect(s.holders.has(m)).toBe(true);
    await m.release();
    expect(owner.releases).toBe(1);
    expect(m.state).toBe('released');
    expect(m.signal.aborted).toBe(false);
    expect(gone).toEqual([[]]);
    expect(s.holders.has(m)).toBe(false);
    await expect(m.release()).rejects.toThrow(/^locks "a", "b", "c" \(token 12\) was already released/);
    expect(owner.releases).toBe(1);
  });

  it('a break of any one of its locks (same name and token) loses it whole; the others are handed back for release', async () => {
    const s = fakeSession();
    const owner = fakeOwner();
    const gone: Array<readonly string[]> = [];
    const m = new MultiLock(owner, s, ['a', 'b', 'c'], 12, (left) => gone.push(left));
    m.onRevoked([
      { name: 'b', token: 11 },
      { name: 'x', token: 12 },
    ]); // an older grant of b; another lock
    expect(m.signal.aborted).toBe(false);
    m.onRevoked([
      { name: 'a', token: 3 },
      { name: 'b', token: 12, reason: 'stuck' },
    ]);
    expect(m.signal.aborted).toBe(true);
    const why = m.signal.reason as LockLostError;
    expect(why).toBeInstanceOf(LockLostError);
    expect(why.lockName).toBe('b');
    expect(why.message).toBe('lock "b" of locks "a", "b", "c" (token 12) was broken by an operator (reason: stuck)');
    expect(m.state).toBe('lost');
    expect(gone).toEqual([['a', 'c']]);
    expect(s.holders.has(m)).toBe(false);
    // Told once: a later keep-alive listing it again changes nothing.
    m.onRevoked([{ name: 'c', token: 12 }]);
    expect(gone).toHaveLength(1);
    const err = await m.release().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotHeldError);
    expect((err as Error).message).toMatch(/was lost: lock "b" of locks/);
    expect(owner.releases).toBe(0);
    // `await using` does not mask the block's outcome once the loss was signalled.
    await expect(m[Symbol.asyncDispose]()).resolves.toBeUndefined();
  });

  it('two of its locks broken in one keep-alive: only the rest are handed back', () => {
    const gone: Array<readonly string[]> = [];
    const m = new MultiLock(fakeOwner(), fakeSession(), ['a', 'b', 'c'], 5, (left) => gone.push(left));
    m.onRevoked([
      { name: 'c', token: 5 },
      { name: 'a', token: 5 },
    ]);
    expect(gone).toEqual([['b']]);
  });

  it('a lease in doubt fires the signal but keeps it held; a session that ended loses it, with nothing to release', () => {
    const gone: Array<readonly string[]> = [];
    const m = new MultiLock(fakeOwner(), fakeSession(), ['a', 'b'], 5, (left) => gone.push(left));
    m.onLeaseLost(new LockLostError('', 'no keep-alive acknowledged'), false);
    expect(m.signal.aborted).toBe(true);
    expect((m.signal.reason as LockLostError).lockName).toBe('a, b');
    expect((m.signal.reason as Error).message).toBe('locks "a", "b": no keep-alive acknowledged');
    expect(m.state).toBe('held');
    expect(gone).toEqual([]);
    m.onLeaseLost(new LockLostError('', 'session 9 ended'), true);
    expect(m.state).toBe('lost');
    expect(gone).toEqual([[]]);
  });

  it('granted while the lease is already in doubt: the signal fires at once', () => {
    const m = new MultiLock(fakeOwner(), fakeSession(true), ['a', 'b'], 5, () => {});
    expect(m.signal.aborted).toBe(true);
    expect((m.signal.reason as Error).message).toBe('the lease of session 9 may already have run out');
  });
});

describe('Lock (the one-lock case of the same base)', () => {
  it('a break of its lock loses it with nothing left to release; its messages name the one lock', async () => {
    const gone: Array<readonly string[]> = [];
    const l = new Lock(fakeOwner(), fakeSession(), 'orders', 7, (left) => gone.push(left));
    expect(l.name).toBe('orders');
    l.onRevoked([{ name: 'orders', token: 7 }]);
    expect((l.signal.reason as LockLostError).lockName).toBe('orders');
    expect((l.signal.reason as Error).message).toBe('lock "orders" (token 7) was broken by an operator (no reason given)');
    expect(l.state).toBe('lost');
    expect(gone).toEqual([[]]);
    await expect(l.release()).rejects.toThrow(/^lock "orders" \(token 7\) was lost: /);
  });
});
