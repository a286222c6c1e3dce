/**
 * Locks (docs/design.md#locks, docs/design.md#fencing-tokens): acquire, release, FIFO hand-off
 * in the same apply step with token = that entry's index, waiter timeouts, limits.
 */
import { describe, expect, it } from 'vitest';
import { Driver, failure, value } from './driver.js';

function setup(n = 3, ttl = 60_000): { d: Driver; s: number[] } {
  const d = new Driver();
  const s = Array.from({ length: n }, () => d.open(ttl));
  return { d, s };
}

describe('acquire', () => {
  it('free → granted, token = index of this entry, acquiredAt = its log time, expiresAt = session deadline', () => {
    const { d, s } = setup(1);
    const out = d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    expect(out).toEqual({
      result: { ok: true, value: { status: 'granted', token: d.index, acquiredAt: d.time, expiresAt: d.time + 60_000 } },
      events: [],
    });
  });

  it('held by the same session → held-by-you with the existing grant (idempotent, no new token)', () => {
    const { d, s } = setup(1);
    const first = value<{ token: number }>(d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 }).result);
    d.advance(1_000);
    const again = d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 5_000 });
    expect(value(again.result)).toEqual({ status: 'held-by-you', token: first.token, acquiredAt: 1_000_000, expiresAt: 1_061_000 });
    expect(d.m.lockInfo('L')).toMatchObject({ holder: { fencingToken: first.token }, waiters: 0 });
  });

  it('held by another and waitMs = 0 → not-acquired, no queue', () => {
    const { d, s } = setup(2);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    expect(value(d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 0 }).result)).toEqual({ status: 'not-acquired' });
    expect(d.m.lockInfo('L').waiters).toBe(0);
  });

  it('held by another and waitMs > 0 → queued at the back (FIFO) with deadline = time + waitMs', () => {
    const { d, s } = setup(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    expect(value(d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 5_000 }).result)).toEqual({
      status: 'queued',
      position: 1,
      deadline: 1_005_000,
    });
    expect(value(d.write(s[2]!, { type: 'acquire', name: 'L', waitMs: 1_000 }).result)).toEqual({
      status: 'queued',
      position: 2,
      deadline: 1_001_000,
    });
  });

  it('a session waits at most once per lock: a second acquire while queued → INVALID_ARGUMENT', () => {
    const { d, s } = setup(2);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 5_000 });
    expect(failure(d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 5_000 }).result).message).toMatch(
      /already waits for lock L \(acquire seq 1\)/,
    );
    expect(d.m.lockInfo('L').waiters).toBe(1);
  });

  it('LIMIT_EXCEEDED beyond maxWaitersPerLock, queue unchanged', () => {
    const d = new Driver({ limits: { maxWaitersPerLock: 2 } });
    const s = Array.from({ length: 4 }, () => d.open());
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 5_000 });
    d.write(s[2]!, { type: 'acquire', name: 'L', waitMs: 5_000 });
    expect(failure(d.write(s[3]!, { type: 'acquire', name: 'L', waitMs: 5_000 }).result).code).toBe('LIMIT_EXCEEDED');
    expect(d.m.lockWaiters('L').map((w) => w.session)).toEqual([s[1], s[2]]);
    // A try-lock is not a waiter: still answered.
    expect(value(d.write(s[3]!, { type: 'acquire', name: 'L', waitMs: 0 }).result)).toEqual({ status: 'not-acquired' });
  });
});

describe('release', () => {
  it('by the holder → released; the lock is free (no waiters)', () => {
    const { d, s } = setup(1);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    const out = d.write(s[0]!, { type: 'release', name: 'L' });
    expect(out).toEqual({
      result: { ok: true, value: { status: 'released', token: 2 } },
      events: [{ type: 'lock-released', name: 'L', session: s[0], token: 2 }],
    });
    expect(d.m.lockInfo('L')).toEqual({ waiters: 0 });
  });

  it('by anyone else → NOT_HELD and the lock does not change (a waiter, a stranger, a free lock)', () => {
    const { d, s } = setup(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 5_000 });
    const before = [d.m.lockInfo('L'), d.m.lockWaiters('L')];
    for (const [sess, name] of [
      [s[1]!, 'L'],
      [s[2]!, 'L'],
      [s[0]!, 'free'],
    ] as const) {
      const out = d.write(sess, { type: 'release', name });
      expect(failure(out.result).code).toBe('NOT_HELD');
      expect(out.events).toEqual([]);
    }
    expect([d.m.lockInfo('L'), d.m.lockWaiters('L')]).toEqual(before);
  });

  it('hands the lock to the first waiter in the same step, token = index of the release entry', () => {
    const { d, s } = setup(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 9_000 });
    d.write(s[2]!, { type: 'acquire', name: 'L', waitMs: 9_000 });
    d.advance(100);
    const out = d.write(s[0]!, { type: 'release', name: 'L' });
    expect(out.events).toEqual([
      { type: 'lock-released', name: 'L', session: s[0], token: 4 },
      { type: 'granted', name: 'L', session: s[1], seq: 1, token: d.index, acquiredAt: 1_000_100, expiresAt: 1_060_000 },
    ]);
    expect(d.m.lockInfo('L')).toEqual({
      holder: { sessionId: s[1], fencingToken: d.index, acquiredAt: 1_000_100, expiresAt: 1_060_000 },
      waiters: 1,
    });
    d.write(s[1]!, { type: 'release', name: 'L' });
    expect(d.m.lockInfo('L').holder).toMatchObject({ sessionId: s[2], fencingToken: d.index });
  });
});

describe('waiter timeouts (checked at every stamped entry, in deadline order)', () => {
  it('waiters whose deadline ≤ log time leave the queue with wait-timeout events', () => {
    const { d, s } = setup(4);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 3_000 });
    d.write(s[2]!, { type: 'acquire', name: 'L', waitMs: 2_000 });
    d.write(s[3]!, { type: 'acquire', name: 'L', waitMs: 9_000 });
    d.advance(2_999);
    expect(d.tick().events).toEqual([{ type: 'wait-timeout', name: 'L', session: s[2], seq: 1 }]);
    d.advance(1);
    expect(d.tick().events).toEqual([{ type: 'wait-timeout', name: 'L', session: s[1], seq: 1 }]);
    expect(d.m.lockWaiters('L').map((w) => w.session)).toEqual([s[3]]);
  });

  it('equal deadlines time out in queueing order', () => {
    const { d, s } = setup(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[2]!, { type: 'acquire', name: 'L', waitMs: 1_000 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 1_000 });
    d.advance(1_000);
    expect(d.tick().events.map((e) => 'session' in e && e.session)).toEqual([s[2], s[1]]);
  });

  it('a release at a time when the first waiter has timed out grants the next live waiter', () => {
    const { d, s } = setup(3);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 1_000 });
    d.write(s[2]!, { type: 'acquire', name: 'L', waitMs: 5_000 });
    d.advance(1_000);
    const out = d.write(s[0]!, { type: 'release', name: 'L' });
    expect(out.events).toEqual([
      { type: 'wait-timeout', name: 'L', session: s[1], seq: 1 },
      { type: 'lock-released', name: 'L', session: s[0], token: 4 },
      // The grantee's lease is its session's: a grant does not renew it.
      { type: 'granted', name: 'L', session: s[2], seq: 1, token: d.index, acquiredAt: 1_001_000, expiresAt: 1_060_000 },
    ]);
  });

  it('a blocked acquire keeps its place across leader changes (it is replicated state)', () => {
    const { d, s } = setup(2);
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 30_000 });
    d.election();
    d.advance(1_000).tick();
    // The 1 s jump across the leader change is not charged to the wait (grace, below).
    expect(d.m.lockWaiters('L')).toEqual([{ session: s[1], seq: 1, deadline: 1_031_000, graceExtensions: 1 }]);
  });
});

describe('leader-change grace for queued waits (docs/design.md#time-in-the-state-machine)', () => {
  /** s[0] holds L; s[1] waits 5 s from 1_000_000, then 2 s pass: 3 s left at log time 1_002_000. */
  function queued(options: ConstructorParameters<typeof Driver>[0] = {}): { d: Driver; s: number[] } {
    const d = new Driver(options);
    const s = [d.open(60_000), d.open(60_000)];
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 5_000 });
    d.advance(2_000).tick();
    return { d, s };
  }

  it('a new leader whose clock is 10 s ahead does not time a wait out: it keeps the 3 s it had left', () => {
    const { d, s } = queued();
    d.election();
    d.advance(10_000); // the new leader's first stamp, 1_012_000, is past the wait's deadline
    expect(d.tick().events).toEqual([]);
    expect(d.m.lockWaiters('L')).toEqual([{ session: s[1], seq: 1, deadline: 1_015_000, graceExtensions: 1 }]);
    expect(d.m.nextDeadline()).toBe(1_015_000);
    d.advance(2_999);
    expect(d.tick().events).toEqual([]);
    d.advance(1);
    expect(d.tick().events).toEqual([{ type: 'wait-timeout', name: 'L', session: s[1], seq: 1 }]);
  });

  it('negative control (noWaitGrace): the same history times the wait out at the new leader’s first entry', () => {
    const { d, s } = queued({ unsafeTestingKnobs: { noWaitGrace: true } });
    d.election();
    d.advance(10_000);
    expect(d.tick().events).toEqual([{ type: 'wait-timeout', name: 'L', session: s[1], seq: 1 }]);
  });

  it('no jump, no grace: a new leader whose clock lags (log time stays) changes nothing and counts nothing', () => {
    const { d, s } = queued();
    d.election();
    d.advance(-1_500).tick();
    expect(d.m.lockWaiters('L')).toEqual([{ session: s[1], seq: 1, deadline: 1_005_000, graceExtensions: 0 }]);
  });

  it('anchored at the first stamped entry of the term: several term changes and no-ops before it give one grace', () => {
    const { d, s } = queued();
    d.election();
    d.entry('config', new Uint8Array([1]));
    d.election();
    d.advance(4_000).tick();
    expect(d.m.lockWaiters('L')).toEqual([{ session: s[1], seq: 1, deadline: 1_009_000, graceExtensions: 1 }]);
    d.advance(1_000).tick(); // later entries of the same term are charged
    expect(d.m.lockWaiters('L')[0]?.deadline).toBe(1_009_000);
  });

  it('bounded: at most maxGraceExtensions (3) in a wait’s life, renewals of its session notwithstanding', () => {
    const { d, s } = queued();
    let deadline = 1_005_000;
    for (let k = 1; k <= 3; k++) {
      d.keepAlive(s[1]!);
      d.election();
      d.advance(4_000).tick();
      deadline += 4_000;
      expect(d.m.lockWaiters('L')).toEqual([{ session: s[1], seq: 1, deadline, graceExtensions: k }]);
    }
    d.keepAlive(s[1]!);
    d.election();
    d.advance(1_000).tick(); // the fourth jump is charged
    expect(d.m.lockWaiters('L')).toEqual([{ session: s[1], seq: 1, deadline, graceExtensions: 3 }]);
    d.time = deadline;
    expect(d.tick().events).toEqual([{ type: 'wait-timeout', name: 'L', session: s[1], seq: 1 }]);
  });

  it('FIFO is kept: every wait moves by the same jump, the queue keeps its order and the first waiter gets the lock', () => {
    const d = new Driver();
    const s = Array.from({ length: 4 }, () => d.open(60_000));
    d.write(s[0]!, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(s[1]!, { type: 'acquire', name: 'L', waitMs: 20_000 });
    d.advance(1_000).write(s[2]!, { type: 'acquire', name: 'L', waitMs: 2_000 });
    d.write(s[3]!, { type: 'acquire', name: 'L', waitMs: 9_000 });
    d.election();
    d.advance(5_000).tick(); // all three deadlines (1_020_000, 1_003_000, 1_010_000) move by 5 s
    expect(d.m.lockWaiters('L')).toEqual([
      { session: s[1], seq: 1, deadline: 1_025_000, graceExtensions: 1 },
      { session: s[2], seq: 1, deadline: 1_008_000, graceExtensions: 1 },
      { session: s[3], seq: 1, deadline: 1_015_000, graceExtensions: 1 },
    ]);
    // The old deadline of s[2], 1_003_000, is long past and is no longer due; the new one is.
    expect(d.m.nextDeadline()).toBe(1_008_000);
    d.time = 1_008_000;
    expect(d.tick().events).toEqual([{ type: 'wait-timeout', name: 'L', session: s[2], seq: 1 }]);
    const out = d.write(s[0]!, { type: 'release', name: 'L' });
    expect(out.events.filter((e) => e.type === 'granted').map((e) => 'session' in e && e.session)).toEqual([s[1]]);
    expect(d.m.lockWaiters('L').map((w) => w.session)).toEqual([s[3]]);
  });

  it('the grace count is replicated state: it survives snapshot/restore, and a pending grace does too', () => {
    const { d, s } = queued();
    d.election();
    d.advance(1_000).tick();
    d.election(); // grace pending again, taken in the snapshot
    const copy = new Driver();
    copy.m.restore(d.m.snapshot());
    expect(copy.m.snapshot()).toEqual(d.m.snapshot());
    const [index, term, time] = [d.index, d.term, d.time + 2_000];
    for (const x of [d, copy]) {
      x.index = index;
      x.term = term;
      x.time = time;
      x.tick();
      expect(x.m.lockWaiters('L')).toEqual([{ session: s[1], seq: 1, deadline: 1_008_000, graceExtensions: 2 }]);
    }
    expect(copy.m.snapshot()).toEqual(d.m.snapshot());
  });
});

describe('hand-offs happen at the end of the step: a lock is granted at most once per entry', () => {
  // docs/design.md#fencing-tokens: per lock, tokens are unique and strictly increasing; across
  // locks they never decrease but may be equal, which is why a resource keeps the highest token
  // per lock name. This pins the documented behaviour so code and docs cannot drift apart.
  it('one entry freeing two locks grants both waiters the same token: unique per lock, not across locks', () => {
    const d = new Driver();
    const holder = d.open(5_000);
    const w1 = d.open(60_000);
    const w2 = d.open(60_000);
    const a = value<{ token: number }>(d.write(holder, { type: 'acquire', name: 'A', waitMs: 0 }).result).token;
    const b = value<{ token: number }>(d.write(holder, { type: 'acquire', name: 'B', waitMs: 0 }).result).token;
    d.write(w1, { type: 'acquire', name: 'A', waitMs: 30_000 });
    d.write(w2, { type: 'acquire', name: 'B', waitMs: 30_000 });
    d.advance(5_000);
    const grants = d.tick().events.filter((e) => e.type === 'granted');
    expect(grants.map((g) => [g.name, g.token])).toEqual([
      ['A', d.index],
      ['B', d.index],
    ]);
    expect(d.index).toBeGreaterThan(Math.max(a, b));
  });

  // The holder expires at the very entry where the first waiter closes its session. Handing
  // off at once would grant the lock to the closing waiter and then, on its close, to the next
  // waiter — two grants sharing one token.
  it('holder expires and first waiter closes in the same entry → one grant, to the second waiter', () => {
    const d = new Driver();
    const holder = d.open(5_000);
    const w1 = d.open(60_000);
    const w2 = d.open(60_000);
    d.write(holder, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(w1, { type: 'acquire', name: 'L', waitMs: 30_000 });
    d.write(w2, { type: 'acquire', name: 'L', waitMs: 30_000 });
    d.advance(5_000);
    const out = d.write(w1, { type: 'close-session' });
    expect(value(out.result)).toEqual({ released: [] });
    expect(out.events).toEqual([
      { type: 'session-expired', session: holder },
      { type: 'lock-released', name: 'L', session: holder, token: 4 },
      { type: 'session-closed', session: w1 },
      { type: 'granted', name: 'L', session: w2, seq: 1, token: d.index, acquiredAt: d.time, expiresAt: 1_060_000 },
    ]);
  });

  it('a waiter cannot release, in the entry that frees it, a lock not yet handed to it (NOT_HELD)', () => {
    const d = new Driver();
    const holder = d.open(5_000);
    const w1 = d.open(60_000);
    d.write(holder, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(w1, { type: 'acquire', name: 'L', waitMs: 30_000 });
    d.advance(5_000);
    const out = d.write(w1, { type: 'release', name: 'L' });
    expect(failure(out.result).code).toBe('NOT_HELD');
    expect(out.events.filter((e) => e.type === 'granted')).toEqual([expect.objectContaining({ session: w1, token: d.index })]);
  });

  it('an acquire in the entry that frees a lock with waiters queues behind them (FIFO), a fence on it fails', () => {
    const d = new Driver();
    const holder = d.open(5_000);
    const w1 = d.open(60_000);
    const late = d.open(60_000);
    d.write(holder, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(w1, { type: 'acquire', name: 'L', waitMs: 30_000 });
    d.advance(5_000);
    expect(value(d.write(late, { type: 'acquire', name: 'L', waitMs: 0 }).result)).toEqual({ status: 'not-acquired' });
    expect(d.m.lockInfo('L').holder?.sessionId).toBe(w1);
    const d2 = new Driver();
    const h2 = d2.open(5_000);
    const v2 = d2.open(60_000);
    const l2 = d2.open(60_000);
    d2.write(h2, { type: 'acquire', name: 'L', waitMs: 0 });
    d2.write(v2, { type: 'acquire', name: 'L', waitMs: 30_000 });
    d2.advance(5_000);
    expect(value(d2.write(l2, { type: 'acquire', name: 'L', waitMs: 9_000 }).result)).toEqual({
      status: 'queued',
      position: 2,
      deadline: 1_014_000,
    });
    const d3 = new Driver();
    const h3 = d3.open(5_000);
    const v3 = d3.open(60_000);
    const t3 = value<{ token: number }>(d3.write(h3, { type: 'acquire', name: 'L', waitMs: 0 }).result).token;
    d3.write(v3, { type: 'acquire', name: 'L', waitMs: 30_000 });
    d3.advance(5_000);
    // The expired holder's token is dead from the start of the step that frees its lock.
    expect(failure(d3.write(v3, { type: 'counter-add', name: 'c', delta: 1, fence: { lock: 'L', token: t3 } }).result).code).toBe('FENCED');
    expect(d3.m.lockInfo('L').holder?.sessionId).toBe(v3);
  });
});

describe('fencing tokens', () => {
  it('strictly increase per lock over successive grants', () => {
    const { d, s } = setup(2);
    const tokens: number[] = [];
    for (let k = 0; k < 4; k++) {
      const who = s[k % 2]!;
      tokens.push(value<{ token: number }>(d.write(who, { type: 'acquire', name: 'L', waitMs: 0 }).result).token);
      d.write(who, { type: 'release', name: 'L' });
    }
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(4);
  });
});
