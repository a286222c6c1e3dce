/**
 * LockMachine as a StateMachine: entries without commands, bad entry data, log
 * time, introspection and snapshot/restore. Each case names the rule it checks.
 */
import { describe, expect, it } from 'vitest';
import { pack, unpack } from 'msgpackr';
import { encodeEntry } from '../../../src/state-machine/codec.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import { Driver, failure, value } from './driver.js';
import { TEST_SECRET } from '../../support/secrets.js';

describe('entries without a command', () => {
  it('noop and config entries answer ok(null), pass no time and change nothing but the term', () => {
    const d = new Driver();
    const s = d.open(5_000);
    const before = d.state() as Record<string, unknown>;
    d.advance(60_000); // the clock runs, but a noop carries no stamp
    expect(d.entry('config', new Uint8Array([1, 2, 3]))).toEqual({ result: { ok: true, value: null }, events: [] });
    expect(d.election()).toEqual({ result: { ok: true, value: null }, events: [] });
    expect(d.m.lastTime).toBe(1_000_000);
    expect(d.m.sessionInfo(s)).toBeDefined(); // no expiry without a stamped entry
    expect(d.state()).toEqual({ ...before, lastTerm: 2, gracePending: true });
  });
});

describe('bad entry data: INVALID_ARGUMENT on every replica, nothing changes, nothing thrown', () => {
  it('garbage bytes, wrong envelope, invalid command', () => {
    const d = new Driver();
    const s = d.open();
    d.write(s, { type: 'counter-add', name: 'c', delta: 5 });
    const before = d.state();
    const bad = [
      new Uint8Array([0xff, 0x00, 0x13]),
      new Uint8Array(0),
      encodeEntry(d.time + 99_999, { type: 'acquire', session: s, seq: 2, name: '', waitMs: 0 }),
      encodeEntry(d.time + 99_999, { type: 'open-session', secret: TEST_SECRET, ttlMs: 10 }),
    ];
    for (const data of bad) {
      const out = d.raw(data);
      expect(failure(out.result).code).toBe('INVALID_ARGUMENT');
      expect(out.events).toEqual([]);
    }
    expect(d.state()).toEqual(before); // log time did not move either
  });

  it('limits are the machine’s own: an entry valid under default limits is refused under smaller ones', () => {
    const d = new Driver({ limits: { maxNameBytes: 3 } });
    const s = d.open();
    expect(failure(d.write(s, { type: 'counter-add', name: 'long', delta: 1 }).result).message).toMatch(/longer than 3/);
  });
});

describe('log time', () => {
  it('never goes backwards: an older stamp is applied at the last time', () => {
    const d = new Driver();
    const s = d.open(5_000);
    d.time = 500; // a new leader with a clock far behind
    const out = d.keepAlive(s);
    expect(value(out.result)).toEqual({ expiresAt: 1_005_000 });
    expect(d.m.lastTime).toBe(1_000_000);
  });

  it('expiry follows the entries’ stamps only, whatever the replica', () => {
    const d = new Driver();
    const s = d.open(5_000);
    d.advance(4_999).tick();
    expect(d.m.sessionInfo(s)).toBeDefined();
    d.advance(1).tick();
    expect(d.m.sessionInfo(s)).toBeUndefined();
  });
});

describe('introspection', () => {
  it('lockInfo, lockWaiters, counterValue, sessionInfo, nextDeadline', () => {
    const d = new Driver();
    expect(d.m.nextDeadline()).toBeUndefined();
    const a = d.open(10_000, 'client-a');
    const b = d.open(20_000);
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 3_000 });
    expect(d.m.lockInfo('L')).toEqual({
      holder: { sessionId: a, fencingToken: 3, acquiredAt: 1_000_000, expiresAt: 1_010_000 },
      waiters: 1,
    });
    expect(d.m.lockInfo('free')).toEqual({ waiters: 0 });
    expect(d.m.lockWaiters('L')).toEqual([{ session: b, seq: 1, deadline: 1_003_000, graceExtensions: 0 }]);
    expect(d.m.counterValue('nothing')).toBe(0);
    expect(d.m.sessionInfo(a)).toEqual({
      sessionId: a,
      ttlMs: 10_000,
      clientId: 'client-a',
      lastKeepAlive: 1_000_000,
      expiresAt: 1_010_000,
      graceExtensions: 0,
      ackedSeq: 0,
      storedResults: 1,
      locks: ['L'],
      waits: [],
    });
    expect(d.m.sessionInfo(b)?.waits).toEqual(['L']);
    expect(d.m.sessionInfo(999)).toBeUndefined();
    expect(d.m.nextDeadline()).toBe(1_003_000); // the waiter's deadline comes first
    expect(d.m.appliedIndex).toBe(4);
    expect(d.m.sessionCount).toBe(2);
  });
});

describe('snapshot / restore', () => {
  it('restore(snapshot) reproduces the state byte for byte, and the same future', () => {
    const d = new Driver();
    const a = d.open(10_000);
    const b = d.open(10_000);
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 5_000 });
    d.write(a, { type: 'counter-add', name: 'c', delta: 42 });
    d.election();
    const snap = d.m.snapshot();
    const copy = new LockMachine();
    copy.restore(snap);
    expect(copy.snapshot()).toEqual(snap);
    expect(copy.lockInfo('L')).toEqual(d.m.lockInfo('L'));
    // The same next entry gives the same output on both.
    const e = {
      index: d.index + 1,
      term: d.term,
      type: 'normal' as const,
      data: encodeEntry(d.time + 100, { type: 'release', session: a, seq: 3, name: 'L' }),
    };
    expect(copy.apply(e, { index: e.index, term: e.term })).toEqual(d.m.apply(e, { index: e.index, term: e.term }));
    expect(copy.snapshot()).toEqual(d.m.snapshot());
  });

  it('restore replaces the whole state', () => {
    const d = new Driver();
    const s = d.open();
    d.write(s, { type: 'acquire', name: 'L', waitMs: 0 });
    d.m.restore(new LockMachine().snapshot());
    expect(d.m.lockInfo('L')).toEqual({ waiters: 0 });
    expect(d.m.sessionCount).toBe(0);
    expect(d.m.lastTime).toBe(0);
  });

  it('restore throws on bytes that are not a snapshot (fail-stop, never a wrong state)', () => {
    const m = new LockMachine();
    expect(() => m.restore(new Uint8Array([1, 2, 3]))).toThrow(/snapshot/);
    expect(() => m.restore(encodeEntry(1, { type: 'tick' }))).toThrow(/snapshot/);
  });

  it('a version-1 snapshot (no session secrets) is refused, saying to start afresh', () => {
    const current = unpack(new LockMachine().snapshot()) as Record<string, unknown>;
    expect(current['v']).toBe(5);
    expect(() => new LockMachine().restore(pack({ ...current, v: 1 }))).toThrow(/fresh data directory/);
  });

  it('a version-2 snapshot (waiters without a grace count) restores with no grace given yet', () => {
    const d = new Driver();
    const a = d.open(10_000);
    const b = d.open(10_000);
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 5_000 });
    const v3 = unpack(d.m.snapshot()) as { locks: Array<{ waiters: Array<Record<string, unknown>> }> };
    // What version 2 wrote: the same, less each waiter's grace count.
    const locks = v3.locks.map((l) => ({ ...l, waiters: l.waiters.map(({ graceCount: _dropped, ...w }) => w) }));
    const m = new LockMachine();
    m.restore(pack({ ...v3, v: 2, locks }));
    expect(m.lockWaiters('L')).toEqual([{ session: b, seq: 1, deadline: 1_005_000, graceExtensions: 0 }]);
    expect(m.snapshot()).toEqual(d.m.snapshot());
  });

  it('a version-4 snapshot (no elections) restores with none, everything else as it was', () => {
    const d = new Driver();
    const a = d.open(10_000);
    const b = d.open(10_000);
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 5_000 });
    d.write(a, { type: 'acquire-permit', kind: 'semaphore', name: 'S', permits: 2, weight: 2, waitMs: 0 });
    d.write(b, { type: 'acquire-permit', kind: 'rwlock', name: 'R', mode: 'read', waitMs: 0 });
    d.write(a, { type: 'counter-add', name: 'c', delta: 3 });
    // What version 4 wrote: the same, without the elections.
    const { elections, ...v4 } = unpack(d.m.snapshot()) as Record<string, unknown>;
    expect(elections).toEqual([]);
    const m = new LockMachine();
    m.restore(pack({ ...v4, v: 4 }));
    expect(m.snapshot()).toEqual(d.m.snapshot());
    expect(m.digest()).toBe(d.m.digest());
    expect(m.semaphoreInfo('S')).toEqual(d.m.semaphoreInfo('S'));
    expect(m.listPermits('election')).toEqual({ items: [] });
    // Version 4 had no elections: an `elections` field there is not read.
    m.restore(pack({ ...v4, v: 4, elections: 'ignored' }));
    expect(m.snapshot()).toEqual(d.m.snapshot());
  });
});
