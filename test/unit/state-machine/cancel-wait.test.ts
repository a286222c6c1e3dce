/**
 * `cancel-wait` (docs/design.md#locks): a session withdraws its queued acquire. The wait leaves
 * the queue in that entry, its parked request learns it from a `wait-cancelled` event, and the
 * acquire's stored result becomes `cancelled`, so a retry of its seq is never granted.
 */
import { describe, expect, it } from 'vitest';
import { checkDigestOfState, Driver, value, withSessions } from './driver.js';

describe('cancel-wait', () => {
  it('a queued acquire leaves the queue: cancelled, a wait-cancelled event, the others keep their places', () => {
    const { d, s } = withSessions(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    d.write(s[2]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    const out = d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 2);
    expect(out).toEqual({
      result: { ok: true, value: { status: 'cancelled' } },
      events: [{ type: 'wait-cancelled', name: 'L', session: s[1], seq: 1 }],
    });
    expect(d.m.lockWaiters('L').map((w) => w.session)).toEqual([s[2]]);
    expect(d.m.lockInfo('L')).toMatchObject({ holder: { sessionId: s[0] }, waiters: 1 });
    expect(d.m.sessionInfo(s[1]!)?.waits).toEqual([]);
    checkDigestOfState(d);
  });

  it('a retry of the withdrawn acquire (same seq) answers cancelled, even after the lock is freed', () => {
    const { d, s } = withSessions(2);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 2);
    expect(value(d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1).result)).toEqual({ status: 'cancelled' });
    d.write(s[0]!, { type: 'release', name: 'L' });
    expect(d.m.lockInfo('L')).toEqual({ waiters: 0 });
    const retry = d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    expect(retry).toEqual({ result: { ok: true, value: { status: 'cancelled' } }, events: [] });
    expect(d.m.lockInfo('L')).toEqual({ waiters: 0 });
    checkDigestOfState(d);
  });

  it('the snapshot carries the outcome: restored elsewhere, a retry of the withdrawn acquire still answers cancelled', () => {
    const { d, s } = withSessions(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    d.write(s[2]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 2);
    const copy = new Driver();
    copy.m.restore(d.m.snapshot());
    copy.index = d.index;
    copy.time = d.time;
    expect(copy.m.digest()).toBe(d.m.digest());
    expect(copy.m.lockWaiters('L').map((w) => w.session)).toEqual([s[2]]);
    for (const x of [d, copy]) {
      expect(x.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1)).toEqual({
        result: { ok: true, value: { status: 'cancelled' } },
        events: [],
      });
      // The holder lets go: the lock goes to the waiter left, never to the withdrawn one.
      expect(x.write(s[0]!, { type: 'release', name: 'L' }, 2).events).toContainEqual(
        expect.objectContaining({ type: 'granted', session: s[2] }),
      );
    }
    expect(copy.m.snapshot()).toEqual(d.m.snapshot());
  });

  it('not-waiting when the session holds the lock, never queued, or its wait already ended; nothing changes', () => {
    const { d, s } = withSessions(2);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    const before = d.state();
    // The holder: granted, not waiting.
    expect(d.write(s[0]!, { type: 'cancel-wait', name: 'L' }, 2)).toEqual({
      result: { ok: true, value: { status: 'not-waiting' } },
      events: [],
    });
    // Never queued, on a held lock and on a lock nobody has.
    expect(value(d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 1).result)).toEqual({ status: 'not-waiting' });
    expect(value(d.write(s[1]!, { type: 'cancel-wait', name: 'nobody' }, 2).result)).toEqual({ status: 'not-waiting' });
    expect(d.m.lockInfo('L')).toMatchObject({ holder: { sessionId: s[0] }, waiters: 0 });
    // Only the sessions' renewals and stored results moved.
    const after = d.state() as { locks: unknown; counters: unknown };
    expect(after.locks).toEqual((before as { locks: unknown }).locks);
    // Granted before the cancel arrives: the grant stands.
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 3);
    d.write(s[0]!, { type: 'release', name: 'L' }, 3);
    expect(value(d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 4).result)).toEqual({ status: 'not-waiting' });
    expect(d.m.lockInfo('L').holder?.sessionId).toBe(s[1]);
    expect(value(d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 3).result)).toMatchObject({ status: 'granted' });
    checkDigestOfState(d);
  });

  it('after a timeout the wait is gone: not-waiting, and the acquire stays timed-out', () => {
    const { d, s } = withSessions(2);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 1_000 }, 1);
    d.advance(1_000);
    const out = d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 2);
    expect(out.events).toEqual([{ type: 'wait-timeout', name: 'L', session: s[1], seq: 1 }]);
    expect(value(out.result)).toEqual({ status: 'not-waiting' });
    expect(value(d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 1_000 }, 1).result)).toEqual({ status: 'timed-out' });
  });

  it('a retried cancel-wait answers its stored result and withdraws nothing more', () => {
    const { d, s } = withSessions(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 2);
    // The session queues again with a new acquire; the retried cancel must not withdraw it.
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 3);
    const retry = d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 2);
    expect(retry).toEqual({ result: { ok: true, value: { status: 'cancelled' } }, events: [] });
    expect(d.m.lockWaiters('L')).toEqual([expect.objectContaining({ session: s[1], seq: 3 })]);
    checkDigestOfState(d);
  });

  it('withdrawing the last waiter of a lock freed in the same step leaves the lock free, granted to nobody', () => {
    const { d, s } = withSessions(2, 5_000);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.advance(2_000);
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    // s[0] expires at this entry (step 6), which frees L with s[1] waiting; s[1]'s cancel runs
    // in step 7, before the hand-off at the end of the step.
    d.advance(3_000);
    const out = d.write(s[1]!, { type: 'cancel-wait', name: 'L' }, 2);
    expect(out.events).toEqual([
      { type: 'session-expired', session: s[0] },
      { type: 'lock-released', name: 'L', session: s[0], token: 3 },
      { type: 'wait-cancelled', name: 'L', session: s[1], seq: 1 },
    ]);
    expect(value(out.result)).toEqual({ status: 'cancelled' });
    expect(d.m.lockInfo('L')).toEqual({ waiters: 0 });
    expect(d.m.sessionInfo(s[1]!)?.locks).toEqual([]);
    checkDigestOfState(d);
  });

  it('runs when the state is at its size bound (it only frees room)', () => {
    const d = new Driver({ limits: { maxStateBytes: 1024 * 1024 } });
    const [a, b] = [d.open(), d.open()];
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 30_000 }, 1);
    let full = false;
    for (let k = 0; k < 10_000 && !full; k++) {
      const seq = d.nextSeq(a);
      const r = d.write(a, { type: 'counter-add', name: `€${'é'.repeat(100)}-${k}`, delta: 1, ackedSeq: seq - 1 }, seq).result;
      full = !r.ok && r.code === 'LIMIT_EXCEEDED';
    }
    expect(full).toBe(true);
    expect(d.m.limitRefusal({ type: 'cancel-wait', session: b, seq: 2, name: 'L' })).toBeUndefined();
    expect(value(d.write(b, { type: 'cancel-wait', name: 'L' }, 2).result)).toEqual({ status: 'cancelled' });
    expect(d.m.lockInfo('L').waiters).toBe(0);
  });
});
