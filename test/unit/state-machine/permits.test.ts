/**
 * Semaphores and readers-writer locks in the machine (docs/design.md#semaphores-and-readers-writer-locks):
 * weights within the permit count, strict FIFO (a heavy request or a writer is never starved),
 * several grants per session named by their acquire's seq, the permit count fixed while in use,
 * fences with a kind, and snapshots.
 */
import { describe, expect, it } from 'vitest';
import type { AcquireValue } from '../../../src/protocol/index.js';
import type { WriteBody } from './driver.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import { checkDigestOfState, failure, value, withSessions } from './driver.js';

const sem = (name: string, permits: number, weight: number, waitMs = 0): WriteBody => ({
  type: 'acquire-permit',
  kind: 'semaphore',
  name,
  permits,
  weight,
  waitMs,
});
const rw = (name: string, mode: 'read' | 'write', waitMs = 0): WriteBody => ({
  type: 'acquire-permit',
  kind: 'rwlock',
  name,
  mode,
  waitMs,
});

describe('semaphores', () => {
  it('grants by weight within the count; a heavy waiter is never overtaken by light ones (strict FIFO)', () => {
    const { d, s } = withSessions(3);
    const [a, b, c] = s as [number, number, number];
    expect(value<AcquireValue>(d.write(a, sem('S', 3, 2)).result)).toMatchObject({ status: 'granted', token: d.index });
    // 1 permit is free, but b's weight-2 acquire waits; c's weight-1 acquire queues behind it.
    expect(value<AcquireValue>(d.write(b, sem('S', 3, 2, 30_000)).result)).toMatchObject({ status: 'queued', position: 1 });
    expect(value<AcquireValue>(d.write(c, sem('S', 3, 1, 0)).result)).toEqual({ status: 'not-acquired' });
    expect(value<AcquireValue>(d.write(c, sem('S', 3, 1, 30_000)).result)).toMatchObject({ status: 'queued', position: 2 });
    expect(d.m.semaphoreInfo('S')).toMatchObject({ permits: 3, available: 1, holderCount: 1, waiters: 2 });
    // a gives back its 2: b (2) and then c (1) fit, both granted in this entry with its index.
    const out = d.write(a, { type: 'release-permit', kind: 'semaphore', name: 'S', acquireSeq: 1 });
    const grants = out.events.filter((e) => e.type === 'granted');
    expect(grants.map((e) => [e.session, e.token])).toEqual([
      [b, d.index],
      [c, d.index],
    ]);
    expect(d.m.semaphoreInfo('S')).toMatchObject({ permits: 3, available: 0, holderCount: 2, waiters: 0 });
    checkDigestOfState(d);
  });

  it('a session may hold several grants, each released by its acquire seq; a wrong seq is NOT_HELD', () => {
    const { d, s } = withSessions(1);
    const x = s[0]!;
    d.write(x, sem('S', 5, 1), 1);
    d.write(x, sem('S', 5, 2), 2);
    expect(d.m.semaphoreInfo('S').available).toBe(2);
    expect(failure(d.write(x, { type: 'release-permit', kind: 'semaphore', name: 'S', acquireSeq: 9 }, 3).result).code).toBe('NOT_HELD');
    expect(failure(d.write(x, { type: 'release-permit', kind: 'rwlock', name: 'S', acquireSeq: 1 }, 4).result).code).toBe('NOT_HELD');
    expect(value(d.write(x, { type: 'release-permit', kind: 'semaphore', name: 'S', acquireSeq: 2 }, 5).result)).toMatchObject({
      status: 'released',
    });
    expect(d.m.semaphoreInfo('S')).toMatchObject({ available: 4, holderCount: 1 });
    // The last grant gone, the semaphore is forgotten: its count is no longer fixed.
    d.write(x, { type: 'release-permit', kind: 'semaphore', name: 'S', acquireSeq: 1 }, 6);
    expect(d.m.semaphoreInfo('S')).toEqual({ holders: [], holderCount: 0, waiters: 0 });
    expect(value<AcquireValue>(d.write(x, sem('S', 9, 9), 7).result).status).toBe('granted');
  });

  it('another permit count while in use is INVALID_ARGUMENT naming both', () => {
    const { d, s } = withSessions(2);
    d.write(s[0]!, sem('S', 3, 1));
    const f = failure(d.write(s[1]!, sem('S', 4, 1)).result);
    expect(f.code).toBe('INVALID_ARGUMENT');
    expect(f.message).toMatch(/has 3 permits .* says 4/);
  });

  it('a withdrawn or timed-out head lets the waiters behind it in at once', () => {
    const { d, s } = withSessions(3);
    const [a, b, c] = s as [number, number, number];
    d.write(a, sem('S', 2, 1));
    d.write(b, sem('S', 2, 2, 1_000));
    d.write(c, sem('S', 2, 1, 30_000));
    d.advance(1_000);
    const out = d.tick();
    expect(out.events.map((e) => [e.type, e.session])).toEqual([
      ['wait-timeout', b],
      ['granted', c],
    ]);
    expect(d.m.semaphoreInfo('S')).toMatchObject({ available: 0, holderCount: 2 });
  });

  it('a session end releases its grants and drops its waits; the queue moves', () => {
    const { d, s } = withSessions(2);
    d.write(s[0]!, sem('S', 1, 1));
    d.write(s[1]!, sem('S', 1, 1, 30_000));
    const out = d.write(s[0]!, { type: 'close-session' });
    expect(out.events).toContainEqual(expect.objectContaining({ type: 'lock-released', kind: 'semaphore', name: 'S', session: s[0] }));
    expect(out.events).toContainEqual(expect.objectContaining({ type: 'granted', kind: 'semaphore', session: s[1] }));
  });

  it('a fence with kind semaphore holds only for the writing session with its token', () => {
    const { d, s } = withSessions(2);
    const token = value<{ token: number }>(d.write(s[0]!, sem('S', 2, 1)).result).token;
    const add = (session: number, t: number): boolean =>
      d.write(session, { type: 'counter-add', name: 'c', delta: 1, fence: { lock: 'S', kind: 'semaphore', token: t } }).result.ok;
    expect(add(s[0]!, token)).toBe(true);
    expect(add(s[1]!, token)).toBe(false);
    expect(add(s[0]!, token + 1)).toBe(false);
    // A lock fence of the same name is another namespace: no lock S is held.
    expect(d.write(s[0]!, { type: 'counter-add', name: 'c', delta: 1, fence: { lock: 'S', token } }).result.ok).toBe(false);
  });
});

describe('readers-writer locks', () => {
  it('many readers or one writer; a writer is not starved by later readers (FIFO)', () => {
    const { d, s } = withSessions(4);
    const [r1, r2, w, r3] = s as [number, number, number, number];
    expect(value<AcquireValue>(d.write(r1, rw('R', 'read')).result).status).toBe('granted');
    expect(value<AcquireValue>(d.write(r2, rw('R', 'read')).result).status).toBe('granted');
    expect(d.m.rwlockInfo('R')).toMatchObject({ mode: 'read', holderCount: 2 });
    expect(value<AcquireValue>(d.write(w, rw('R', 'write', 30_000)).result).status).toBe('queued');
    // A reader behind the waiting writer waits, though readers hold the lock.
    expect(value<AcquireValue>(d.write(r3, rw('R', 'read', 30_000)).result)).toMatchObject({ status: 'queued', position: 2 });
    d.write(r1, { type: 'release-permit', kind: 'rwlock', name: 'R', acquireSeq: 1 });
    expect(d.m.rwlockInfo('R')).toMatchObject({ mode: 'read', holderCount: 1, waiters: 2 });
    const out = d.write(r2, { type: 'release-permit', kind: 'rwlock', name: 'R', acquireSeq: 1 });
    expect(out.events.filter((e) => e.type === 'granted').map((e) => e.session)).toEqual([w]);
    expect(d.m.rwlockInfo('R')).toMatchObject({ mode: 'write', holders: [{ sessionId: w, mode: 'write' }], waiters: 1 });
    const done = d.write(w, { type: 'release-permit', kind: 'rwlock', name: 'R', acquireSeq: 1 });
    expect(done.events.filter((e) => e.type === 'granted').map((e) => e.session)).toEqual([r3]);
    checkDigestOfState(d);
  });

  it('a fenced write with kind rwlock holds for the writer only, not for readers', () => {
    const { d, s } = withSessions(2);
    const rt = value<{ token: number }>(d.write(s[0]!, rw('R', 'read')).result).token;
    const fence = (t: number) => ({ lock: 'R', kind: 'rwlock' as const, token: t });
    expect(d.write(s[0]!, { type: 'counter-add', name: 'c', delta: 1, fence: fence(rt) }).result.ok).toBe(false);
    d.write(s[0]!, { type: 'release-permit', kind: 'rwlock', name: 'R', acquireSeq: 1 });
    const wt = value<{ token: number }>(d.write(s[1]!, rw('R', 'write')).result).token;
    expect(wt).toBeGreaterThan(rt);
    expect(d.write(s[1]!, { type: 'counter-add', name: 'c', delta: 1, fence: fence(wt) }).result.ok).toBe(true);
  });

  it('semaphores and readers-writer locks survive snapshot and restore, queues and all', () => {
    const { d, s } = withSessions(3);
    d.write(s[0]!, sem('S', 2, 2));
    d.write(s[1]!, sem('S', 2, 1, 30_000));
    d.write(s[0]!, rw('R', 'write'));
    d.write(s[2]!, rw('R', 'read', 30_000));
    const copy = new LockMachine();
    copy.restore(d.m.snapshot());
    expect(copy.snapshot()).toEqual(d.m.snapshot());
    expect(copy.digest()).toBe(d.m.digest());
    expect(copy.semaphoreInfo('S')).toEqual(d.m.semaphoreInfo('S'));
    expect(copy.rwlockInfo('R')).toEqual(d.m.rwlockInfo('R'));
    expect(copy.nextDeadline()).toBe(d.m.nextDeadline());
  });
});
