/**
 * Sessions (docs/design.md#sessions-and-leases): open, keep-alive, close, expiry by log time
 * with the leader's re-checked expire-sessions, and the bounded grace period on leader changes.
 */
import { describe, expect, it } from 'vitest';
import { Driver, failure, value } from './driver.js';
import { TEST_SECRET } from '../../support/secrets.js';

describe('open-session', () => {
  it('the session id is the index of the opening entry; deadline = time + ttl', () => {
    const d = new Driver();
    d.tick();
    d.tick();
    const out = d.apply({ type: 'open-session', secret: TEST_SECRET, ttlMs: 7_000, clientId: 'w1' });
    expect(out.result).toEqual({ ok: true, value: { sessionId: 3, ttlMs: 7_000, expiresAt: 1_007_000, secret: TEST_SECRET } });
  });

  it('LIMIT_EXCEEDED beyond maxSessions, nothing created', () => {
    const d = new Driver({ limits: { maxSessions: 2 } });
    d.open();
    d.open();
    const out = d.apply({ type: 'open-session', secret: TEST_SECRET, ttlMs: 5_000 });
    expect(failure(out.result)).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(d.m.sessionCount).toBe(2);
  });
});

describe('keep-alive', () => {
  it('renews: deadline = keep-alive time + ttl', () => {
    const d = new Driver();
    const s = d.open(5_000);
    d.advance(4_000);
    expect(value(d.keepAlive(s).result)).toEqual({ expiresAt: 1_009_000 });
    d.advance(4_999).tick();
    expect(d.m.sessionInfo(s)?.expiresAt).toBe(1_009_000);
  });

  it('on an unknown or expired session → SESSION_EXPIRED (a late keep-alive does not revive it)', () => {
    const d = new Driver();
    expect(failure(d.keepAlive(42).result).code).toBe('SESSION_EXPIRED');
    const s = d.open(5_000);
    d.advance(5_000);
    const out = d.keepAlive(s); // stamped exactly at the deadline: too late
    expect(failure(out.result).code).toBe('SESSION_EXPIRED');
    expect(out.events).toEqual([{ type: 'session-expired', session: s }]);
  });

  it('every write of a live session renews it too', () => {
    const d = new Driver();
    const s = d.open(5_000);
    d.advance(3_000).write(s, { type: 'counter-get', name: 'c' });
    expect(d.m.sessionInfo(s)?.expiresAt).toBe(1_008_000);
  });
});

describe('expiry by log time (alive iff deadline > log time)', () => {
  it('ends the session at the first entry stamped at or after its deadline, releasing its locks', () => {
    const d = new Driver();
    const a = d.open(5_000);
    const b = d.open(60_000);
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 30_000 });
    d.advance(4_999).tick();
    expect(d.m.lockInfo('L').holder?.sessionId).toBe(a);
    d.advance(1);
    const out = d.tick();
    expect(out.events).toEqual([
      { type: 'session-expired', session: a },
      { type: 'lock-released', name: 'L', session: a, token: 3 },
      { type: 'granted', name: 'L', session: b, seq: 1, token: d.index, acquiredAt: 1_005_000, expiresAt: 1_060_000 },
    ]);
    expect(d.m.lockInfo('L').holder).toMatchObject({ sessionId: b, fencingToken: d.index });
    expect(failure(d.write(a, { type: 'counter-get', name: 'c' }).result).code).toBe('SESSION_EXPIRED');
  });

  it('several sessions due at once end in (deadline, id) order, all waits dropped before any hand-off', () => {
    const d = new Driver();
    const a = d.open(5_000); // holds L
    const b = d.open(4_000); // waits for L, expires first
    const c = d.open(30_000); // waits for L behind b
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 20_000 });
    d.write(c, { type: 'acquire', name: 'L', waitMs: 20_000 });
    d.advance(6_000);
    const out = d.tick();
    expect(out.events).toEqual([
      { type: 'session-expired', session: b },
      { type: 'session-expired', session: a },
      { type: 'lock-released', name: 'L', session: a, token: 4 },
      { type: 'granted', name: 'L', session: c, seq: 1, token: d.index, acquiredAt: 1_006_000, expiresAt: 1_030_000 },
    ]);
  });

  it('expiredSessions(now) is a pure query for the leader, in (deadline, id) order', () => {
    const d = new Driver();
    const a = d.open(9_000);
    const b = d.open(5_000);
    const c = d.open(5_000);
    const before = d.m.snapshot();
    expect(d.m.expiredSessions(1_004_999)).toEqual([]);
    expect(d.m.expiredSessions(1_005_000)).toEqual([b, c]);
    expect(d.m.expiredSessions(2_000_000)).toEqual([b, c, a]);
    expect(d.m.expiredSessions(2_000_000, 2)).toEqual([b, c]);
    expect(d.m.snapshot()).toEqual(before);
  });

  it('expire-sessions re-checks by log time: a keep-alive that won the race keeps its session', () => {
    const d = new Driver();
    const a = d.open(5_000);
    const b = d.open(5_000);
    // The leader's clock says both are due and it proposes their expiry...
    const proposal = d.m.expiredSessions(1_005_000);
    expect(proposal).toEqual([a, b]);
    // ...but a keep-alive for b, stamped before the deadline, is committed first.
    d.advance(4_000).keepAlive(b);
    d.advance(1_000);
    const out = d.apply({ type: 'expire-sessions', sessions: proposal });
    expect(value(out.result)).toEqual({ expired: [a], survived: [b] });
    expect(out.events).toEqual([{ type: 'session-expired', session: a }]);
    expect(d.m.sessionInfo(b)).toBeDefined();
  });

  it('expire-sessions cannot end a session early (its stamp is what counts, not the list)', () => {
    const d = new Driver();
    const a = d.open(5_000);
    const out = d.apply({ type: 'expire-sessions', sessions: [a, 999] });
    expect(value(out.result)).toEqual({ expired: [999], survived: [a] });
    expect(d.m.sessionInfo(a)).toBeDefined();
  });
});

describe('close-session (releases its locks, drops its waits)', () => {
  it('releases every lock (name order), grants each to its next waiter, drops the session’s waits', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    const c = d.open();
    d.write(a, { type: 'acquire', name: 'y', waitMs: 0 });
    d.write(a, { type: 'acquire', name: 'x', waitMs: 0 });
    d.write(c, { type: 'acquire', name: 'z', waitMs: 0 });
    d.write(a, { type: 'acquire', name: 'z', waitMs: 9_000 }); // a waits for z
    d.write(b, { type: 'acquire', name: 'x', waitMs: 9_000 });
    d.write(b, { type: 'acquire', name: 'y', waitMs: 9_000 });
    const out = d.write(a, { type: 'close-session' });
    const idx = d.index;
    expect(value(out.result)).toEqual({ released: ['x', 'y'] });
    expect(out.events).toEqual([
      { type: 'session-closed', session: a },
      { type: 'lock-released', name: 'x', session: a, token: 5 },
      { type: 'lock-released', name: 'y', session: a, token: 4 },
      // Hand-offs at the end of the step, in name order, both with this entry's index.
      { type: 'granted', name: 'x', session: b, seq: 1, token: idx, acquiredAt: d.time, expiresAt: d.time + 10_000 },
      { type: 'granted', name: 'y', session: b, seq: 2, token: idx, acquiredAt: d.time, expiresAt: d.time + 10_000 },
    ]);
    expect(d.m.lockInfo('z')).toMatchObject({ holder: { sessionId: c }, waiters: 0 });
    expect(d.m.sessionInfo(a)).toBeUndefined();
  });

  it('a fenced close whose fence fails is FENCED, the session stays, and the refusal is stored', () => {
    const d = new Driver();
    const a = d.open();
    const out = d.apply({ type: 'close-session', session: a, seq: 1, fence: { lock: 'L', token: 9 } });
    expect(failure(out.result).code).toBe('FENCED');
    expect(d.m.sessionInfo(a)?.storedResults).toBe(1);
  });

  it('a retried close answers SESSION_EXPIRED (the session and its table are gone)', () => {
    const d = new Driver();
    const a = d.open();
    d.write(a, { type: 'close-session' }, 1);
    expect(failure(d.write(a, { type: 'close-session' }, 1).result).code).toBe('SESSION_EXPIRED');
  });
});

describe('grace on leader change, bounded', () => {
  it('pushes every session to at least the new leader’s first stamped entry + ttl', () => {
    const d = new Driver();
    const a = d.open(5_000);
    const b = d.open(60_000);
    d.advance(3_000);
    d.election(); // no-op: no time, grace pending
    d.advance(10_000); // the leaderless gap outlasted a's deadline (1_005_000)
    const out = d.tick(); // first stamped entry of the new term, at 1_013_000
    expect(out.events).toEqual([]);
    expect(d.m.sessionInfo(a)).toMatchObject({ expiresAt: 1_018_000, graceExtensions: 1 });
    // b's deadline was already beyond 1_013_000 + 60_000? No: 1_060_000 < 1_073_000, so raised too.
    expect(d.m.sessionInfo(b)).toMatchObject({ expiresAt: 1_073_000, graceExtensions: 1 });
  });

  it('only a real raise counts as an extension', () => {
    const d = new Driver();
    const a = d.open(60_000);
    d.advance(50_000).keepAlive(a); // deadline 1_110_000
    d.election();
    d.tick(); // 1_050_000 + 60_000 = 1_110_000: nothing to raise
    expect(d.m.sessionInfo(a)).toMatchObject({ expiresAt: 1_110_000, graceExtensions: 0 });
  });

  it('at most maxGraceExtensions (3) consecutive extensions without a renewal: repeated elections cannot keep a dead session alive', () => {
    const d = new Driver();
    const a = d.open(5_000);
    for (let k = 1; k <= 3; k++) {
      d.advance(4_000).election();
      d.tick();
      expect(d.m.sessionInfo(a)?.graceExtensions).toBe(k);
    }
    const last = d.m.sessionInfo(a)?.expiresAt ?? 0;
    d.advance(4_000).election();
    d.tick();
    expect(d.m.sessionInfo(a)).toMatchObject({ expiresAt: last, graceExtensions: 3 });
    d.time = last;
    expect(d.tick().events).toEqual([{ type: 'session-expired', session: a }]);
  });

  it('a renewal resets the count', () => {
    const d = new Driver({ limits: { maxGraceExtensions: 1 } });
    const a = d.open(5_000);
    d.advance(4_000).election();
    d.tick();
    expect(d.m.sessionInfo(a)?.graceExtensions).toBe(1);
    d.keepAlive(a);
    expect(d.m.sessionInfo(a)?.graceExtensions).toBe(0);
    d.advance(4_000).election();
    d.tick();
    expect(d.m.sessionInfo(a)?.graceExtensions).toBe(1);
  });

  it('several term changes before a stamped entry give one grace; it survives snapshot/restore', () => {
    const d = new Driver();
    const a = d.open(5_000);
    d.election();
    d.election();
    const copy = new Driver();
    copy.m.restore(d.m.snapshot());
    const [index, term, time] = [d.index, d.term, d.time + 8_000];
    for (const x of [d, copy]) {
      x.index = index;
      x.term = term;
      x.time = time;
      x.tick();
      expect(x.m.sessionInfo(a)).toMatchObject({ expiresAt: 1_013_000, graceExtensions: 1 });
    }
  });
});
