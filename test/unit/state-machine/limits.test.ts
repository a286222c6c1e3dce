/**
 * Per-client and whole-state limits (docs/design.md#limits): each refusal is LIMIT_EXCEEDED
 * naming the limit and changes no lock, wait or counter; the service's pre-check
 * (`limitRefusal`) says the same before the log, except for a retry, which gets its stored
 * result. A per-session refusal is that seq's answer (stored, like any result); a refusal at
 * the state bound is not stored, since storing it would grow the state.
 */
import { describe, expect, it } from 'vitest';
import type { LockMachineOptions } from '../../../src/state-machine/lock-machine.js';
import { decodeSnapshot } from '../../../src/state-machine/snapshot.js';
import { Driver, failure, value } from './driver.js';

/** The locks, waits and counters of the state (what a refusal must not change). */
function decodeLocks(d: Driver): unknown {
  const s = decodeSnapshot(d.m.snapshot());
  return { locks: s.locks, counters: s.counters };
}

function driver(limits: NonNullable<LockMachineOptions['limits']>): Driver {
  return new Driver({ limits });
}

describe('limits', () => {
  it('maxLocksPerSession counts held locks and queued waits together', () => {
    const d = driver({ maxLocksPerSession: 2 });
    const a = d.open();
    const b = d.open();
    value(d.write(a, { type: 'acquire', name: 'x', waitMs: 0 }).result);
    value(d.write(b, { type: 'acquire', name: 'y', waitMs: 0 }).result);
    expect(value(d.write(a, { type: 'acquire', name: 'y', waitMs: 5_000 }).result)).toMatchObject({ status: 'queued' });
    const before = decodeLocks(d);
    const seq = d.nextSeq(a);
    expect(d.m.limitRefusal({ type: 'acquire', session: a, seq, name: 'z', waitMs: 0 })).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    const r = failure(d.write(a, { type: 'acquire', name: 'z', waitMs: 0 }, seq).result);
    expect(r.code).toBe('LIMIT_EXCEEDED');
    expect(r.message).toContain('limit 2');
    expect(decodeLocks(d)).toEqual(before);
    // A retry gets the same answer; re-acquiring a lock it holds is no new lock.
    expect(failure(d.write(a, { type: 'acquire', name: 'z', waitMs: 0 }, seq).result).code).toBe('LIMIT_EXCEEDED');
    expect(value(d.write(a, { type: 'acquire', name: 'x', waitMs: 0 }).result)).toMatchObject({ status: 'held-by-you' });
    value(d.write(a, { type: 'release', name: 'x' }).result);
    expect(value(d.write(a, { type: 'acquire', name: 'z', waitMs: 0 }).result)).toMatchObject({ status: 'granted' });
  });

  it('maxWaitsPerSession bounds queued acquires across locks', () => {
    const d = driver({ maxWaitsPerSession: 1 });
    const holder = d.open();
    const w = d.open();
    value(d.write(holder, { type: 'acquire', name: 'p', waitMs: 0 }).result);
    value(d.write(holder, { type: 'acquire', name: 'q', waitMs: 0 }).result);
    value(d.write(w, { type: 'acquire', name: 'p', waitMs: 5_000 }).result);
    expect(d.m.limitRefusal({ type: 'acquire', session: w, seq: 99, name: 'q', waitMs: 5_000 })).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    expect(failure(d.write(w, { type: 'acquire', name: 'q', waitMs: 5_000 }).result).message).toContain('waits for 1 locks');
    // A try (waitMs 0) queues nothing: still allowed.
    expect(value(d.write(w, { type: 'acquire', name: 'q', waitMs: 0 }).result)).toEqual({ status: 'not-acquired' });
  });

  it('maxCounters bounds non-zero counters; writes to existing ones and to 0 still run', () => {
    const d = driver({ maxCounters: 2 });
    const s = d.open();
    value(d.write(s, { type: 'counter-add', name: 'a', delta: 1 }).result);
    value(d.write(s, { type: 'counter-set', name: 'b', value: 5 }).result);
    expect(d.m.limitRefusal({ type: 'counter-add', session: s, seq: 50, name: 'c', delta: 1 })).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    expect(failure(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }).result).message).toContain('limit 2');
    expect(failure(d.write(s, { type: 'counter-cas', name: 'c', expected: 0, next: 3 }).result).code).toBe('LIMIT_EXCEEDED');
    expect(value(d.write(s, { type: 'counter-set', name: 'c', value: 0 }).result)).toBe(0);
    expect(value(d.write(s, { type: 'counter-add', name: 'a', delta: 1 }).result)).toBe(2);
    value(d.write(s, { type: 'counter-delete', name: 'b' }).result);
    expect(value(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }).result)).toBe(1);
  });

  it('maxStateBytes: at the bound only what frees room runs; the state stays within a few records of it', () => {
    const d = driver({ maxStateBytes: 1024 * 1024 });
    const s = d.open();
    let refused = 0;
    let k = 0;
    // Long non-ASCII names: the costliest records per byte of request.
    const name = (i: number): string => `€${'é'.repeat(100)}-${i}`;
    for (; k < 10_000 && refused === 0; k++) {
      const seq = d.nextSeq(s);
      const r = d.write(s, { type: 'counter-add', name: name(k), delta: 1, ackedSeq: seq - 1 }, seq).result;
      if (!r.ok) {
        expect(r.code).toBe('LIMIT_EXCEEDED');
        expect(r.message).toContain('state is full');
        refused++;
      }
    }
    expect(refused).toBe(1);
    expect(d.m.stateBytes).toBeGreaterThanOrEqual(1024 * 1024);
    expect(d.m.stateBytes).toBeLessThan(1024 * 1024 + 16 * 1024);
    expect(d.m.snapshot().length).toBeLessThan(d.m.stateBytes);
    expect(d.m.limitRefusal({ type: 'open-session', ttlMs: 5_000 })).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(failure(d.apply({ type: 'open-session', ttlMs: 5_000, secret: '0'.repeat(32) }).result).code).toBe('LIMIT_EXCEEDED');
    expect(failure(d.write(s, { type: 'acquire', name: 'L', waitMs: 0 }).result).code).toBe('LIMIT_EXCEEDED');
    // Deleting frees room, and then writes run again.
    expect(value(d.write(s, { type: 'counter-delete', name: name(0) }).result)).toBe(1);
    expect(value(d.write(s, { type: 'counter-delete', name: name(1) }).result)).toBe(1);
    expect(value(d.write(s, { type: 'acquire', name: 'L', waitMs: 0 }).result)).toMatchObject({ status: 'granted' });
  });

  it('maxSessionsPerOwner bounds the sessions of one client token; unowned sessions are not counted', () => {
    const d = driver({ maxSessionsPerOwner: 2 });
    const open = (owner?: string) =>
      d.apply({ type: 'open-session', ttlMs: 5_000, secret: '0'.repeat(32), ...(owner !== undefined ? { owner } : {}) }).result;
    const first = value<{ sessionId: number }>(open('app')).sessionId;
    value(open('app'));
    expect(d.m.limitRefusal({ type: 'open-session', ttlMs: 5_000 }, 'app')).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(failure(open('app')).message).toContain('token "app" already has 2 sessions');
    value(open('other'));
    value(open());
    value(open());
    value(open());
    // A snapshot keeps the owner; the restored machine counts the same.
    const copy = new Driver({ limits: { maxSessionsPerOwner: 2 } });
    copy.m.restore(d.m.snapshot());
    expect(copy.m.digest()).toBe(d.m.digest());
    expect(copy.m.limitRefusal({ type: 'open-session', ttlMs: 5_000 }, 'app')).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    // Closing one makes room.
    value(d.write(first, { type: 'close-session' }).result);
    expect(d.m.limitRefusal({ type: 'open-session', ttlMs: 5_000 }, 'app')).toBeUndefined();
    value(open('app'));
  });

  it('a retry of an applied write is never refused before the log: it gets its stored result', () => {
    const d = driver({ maxLocksPerSession: 1 });
    const s = d.open();
    const seq = d.nextSeq(s);
    value(d.write(s, { type: 'acquire', name: 'r', waitMs: 0 }, seq).result);
    expect(d.m.limitRefusal({ type: 'acquire', session: s, seq, name: 'r', waitMs: 0 })).toBeUndefined();
    expect(d.m.limitRefusal({ type: 'acquire', session: s, seq: seq + 1, name: 'other', waitMs: 0 })).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
  });
});
