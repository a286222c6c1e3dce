/**
 * All-or-nothing multi-locks (docs/design.md#all-or-nothing-multi-locks): `acquire-all` takes
 * every named lock in one entry with one token, or waits in each queue holding none, first in
 * line (a lock it is first for stays free for it); `release-all` frees what the session holds.
 * No order of names can deadlock two callers; snapshots and the digest carry the waits.
 */
import { describe, expect, it } from 'vitest';
import type { AcquireValue } from '../../../src/protocol/index.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import { encodeEntry } from '../../../src/state-machine/codec.js';
import { checkDigestOfState, Driver, failure, value, withSessions } from './driver.js';

describe('acquire-all', () => {
  it('takes every lock at once with one token, the entry index; release-all frees them', () => {
    const { d, s } = withSessions(2);
    const out = d.write(s[0]!, { type: 'acquire-all', names: ['b', 'a', 'c'], waitMs: 0 });
    expect(value<AcquireValue>(out.result)).toMatchObject({ status: 'granted', token: d.index });
    for (const n of ['a', 'b', 'c']) expect(d.m.lockInfo(n).holder).toMatchObject({ sessionId: s[0], fencingToken: d.index });
    // Each is an ordinary lock now: a fenced write on any of them with the token applies.
    const token = d.index;
    expect(value(d.write(s[0]!, { type: 'counter-add', name: 'x', delta: 1, fence: { lock: 'c', token } }).result)).toBe(1);
    const rel = d.write(s[0]!, { type: 'release-all', names: ['a', 'c', 'z'] });
    expect(value(rel.result)).toEqual({ released: ['a', 'c'] });
    expect(d.m.lockInfo('b').holder?.sessionId).toBe(s[0]);
    expect(failure(d.write(s[1]!, { type: 'release-all', names: ['b'] }).result).code).toBe('NOT_HELD');
    checkDigestOfState(d);
  });

  it('waits holding none of them, and keeps a lock it is first for (strict FIFO), until all are free', () => {
    const { d, s } = withSessions(3);
    const [x, m, y] = s as [number, number, number];
    d.write(x, { type: 'acquire', name: 'b', waitMs: 0 });
    const queued = value<AcquireValue>(d.write(m, { type: 'acquire-all', names: ['a', 'b'], waitMs: 30_000 }).result);
    expect(queued).toMatchObject({ status: 'queued', position: 1 });
    // `a` is free but kept for the all-or-nothing wait: nobody holds it, one waits, and a newcomer queues.
    expect(d.m.lockInfo('a')).toEqual({ waiters: 1 });
    expect(value<AcquireValue>(d.write(y, { type: 'acquire', name: 'a', waitMs: 0 }).result)).toEqual({ status: 'not-acquired' });
    expect(value<AcquireValue>(d.write(y, { type: 'acquire', name: 'a', waitMs: 30_000 }).result)).toMatchObject({ position: 2 });
    expect(d.m.sessionInfo(m)).toMatchObject({ locks: [], waits: ['a', 'b'] });
    // `b` freed: the wait gets both, in this entry, then `y` waits behind it on `a`.
    const out = d.write(x, { type: 'release', name: 'b' });
    expect(out.events).toContainEqual(
      expect.objectContaining({ type: 'granted', name: 'a', names: ['a', 'b'], session: m, token: d.index }),
    );
    for (const n of ['a', 'b']) expect(d.m.lockInfo(n).holder?.sessionId).toBe(m);
    expect(d.m.lockWaiters('a').map((w) => w.session)).toEqual([y]);
    // A retry of the acquire-all answers its grant.
    checkDigestOfState(d);
  });

  it('two callers naming the same locks in opposite orders never deadlock: one gets both, then the other', () => {
    const { d, s } = withSessions(3);
    d.write(s[2]!, { type: 'acquire', name: 'q', waitMs: 0 });
    d.write(s[0]!, { type: 'acquire-all', names: ['p', 'q'], waitMs: 30_000 });
    d.write(s[1]!, { type: 'acquire-all', names: ['q', 'p'], waitMs: 30_000 });
    d.write(s[2]!, { type: 'release', name: 'q' });
    expect(d.m.lockInfo('p').holder?.sessionId).toBe(s[0]);
    expect(d.m.lockInfo('q').holder?.sessionId).toBe(s[0]);
    const out = d.write(s[0]!, { type: 'release-all', names: ['q', 'p'] });
    expect(out.events).toContainEqual(expect.objectContaining({ type: 'granted', names: ['p', 'q'], session: s[1] }));
  });

  it('a timed-out or withdrawn wait gives the lock it kept to the next in line at once', () => {
    const { d, s } = withSessions(3);
    const [x, m, y] = s as [number, number, number];
    d.write(x, { type: 'acquire', name: 'b', waitMs: 0 });
    d.write(m, { type: 'acquire-all', names: ['a', 'b'], waitMs: 1_000 });
    d.write(y, { type: 'acquire', name: 'a', waitMs: 30_000 });
    d.advance(1_000);
    const out = d.tick();
    expect(out.events).toEqual([
      { type: 'wait-timeout', name: 'a', names: ['a', 'b'], session: m, seq: 1 },
      expect.objectContaining({ type: 'granted', name: 'a', session: y }),
    ]);
    // Withdrawn the same way: cancel-wait on any of its names withdraws the whole wait.
    d.write(m, { type: 'acquire-all', names: ['b', 'c'], waitMs: 30_000 });
    d.write(x, { type: 'acquire', name: 'd', waitMs: 0 });
    const cancelled = d.write(m, { type: 'cancel-wait', name: 'c' });
    expect(value(cancelled.result)).toEqual({ status: 'cancelled' });
    expect(cancelled.events).toEqual([{ type: 'wait-cancelled', name: 'b', names: ['b', 'c'], session: m, seq: 2 }]);
    expect(d.m.lockInfo('c')).toEqual({ waiters: 0 });
    checkDigestOfState(d);
  });

  it('refuses a lock the session holds or waits for, and what limits forbid', () => {
    const { d, s } = withSessions(2);
    d.write(s[0]!, { type: 'acquire', name: 'a', waitMs: 0 });
    expect(failure(d.write(s[0]!, { type: 'acquire-all', names: ['a', 'b'], waitMs: 0 }).result).message).toMatch(/already holds lock a/);
    d.write(s[1]!, { type: 'acquire', name: 'a', waitMs: 30_000 });
    expect(failure(d.write(s[1]!, { type: 'acquire-all', names: ['a', 'b'], waitMs: 5 }).result).message).toMatch(
      /already waits for lock a/,
    );
    for (const names of [[], ['a', 'a'], Array.from({ length: 65 }, (_, k) => `n${k}`)]) {
      expect(failure(d.write(s[1]!, { type: 'acquire-all', names, waitMs: 0 }).result).code).toBe('INVALID_ARGUMENT');
    }
    const tight = new Driver({ limits: { maxLocksPerSession: 2, maxWaitersPerLock: 1 } });
    const t = tight.open(60_000);
    expect(failure(tight.write(t, { type: 'acquire-all', names: ['p', 'q', 'r'], waitMs: 0 }).result).message).toMatch(/limit 2/);
    expect(tight.m.lockInfo('p')).toEqual({ waiters: 0 });
    const u = tight.open(60_000);
    tight.write(u, { type: 'acquire', name: 'q', waitMs: 0 });
    tight.write(tight.open(60_000), { type: 'acquire', name: 'q', waitMs: 30_000 });
    expect(failure(tight.write(t, { type: 'acquire-all', names: ['p', 'q'], waitMs: 10 }).result).message).toMatch(
      /q already has 1 waiters/,
    );
  });

  it('snapshots list a wait under each of its locks, and restore gathers it back', () => {
    const { d, s } = withSessions(3);
    d.write(s[0]!, { type: 'acquire', name: 'b', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire-all', names: ['a', 'b', 'c'], waitMs: 30_000 });
    d.write(s[2]!, { type: 'acquire', name: 'c', waitMs: 30_000 });
    const copy = new LockMachine();
    copy.restore(d.m.snapshot());
    expect(copy.snapshot()).toEqual(d.m.snapshot());
    expect(copy.digest()).toBe(d.m.digest());
    expect(copy.sessionInfo(s[1]!)).toEqual(d.m.sessionInfo(s[1]!));
    expect(copy.listLocks()).toEqual(d.m.listLocks());
    // The restored wait is one wait: freeing `b` grants it all three locks, on both.
    const release = {
      index: d.index + 1,
      term: d.term,
      type: 'normal' as const,
      data: encodeEntry(d.time, { type: 'release', session: s[0]!, seq: 2, name: 'b' }),
    };
    const ctx = { index: release.index, term: release.term };
    expect(copy.apply(release, ctx)).toEqual(d.m.apply(release, ctx));
    for (const n of ['a', 'b', 'c']) expect(copy.lockInfo(n).holder?.sessionId).toBe(s[1]);
  });
});
