/**
 * Exactly-once writes (docs/design.md#exactly-once-writes): retries return the first result
 * without applying again; acknowledged results are dropped; the table is bounded by refusal,
 * never by forgetting.
 */
import { describe, expect, it } from 'vitest';
import { Driver, failure, value } from './driver.js';

describe('exactly-once', () => {
  it('a retried add returns the first result and is counted once', () => {
    const d = new Driver();
    const s = d.open();
    expect(value(d.write(s, { type: 'counter-add', name: 'c', delta: 5 }, 1).result)).toBe(5);
    d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 2);
    const retry = d.write(s, { type: 'counter-add', name: 'c', delta: 5 }, 1);
    expect(retry).toEqual({ result: { ok: true, value: 5 }, events: [] });
    expect(d.m.counterValue('c')).toBe(6);
  });

  it('a retry survives snapshot/restore and a leader change (the table is replicated state)', () => {
    const d = new Driver();
    const s = d.open();
    d.write(s, { type: 'counter-add', name: 'c', delta: 5 }, 1);
    const copy = new Driver();
    copy.m.restore(d.m.snapshot());
    copy.index = d.index;
    copy.term = d.term;
    copy.election();
    expect(value(copy.write(s, { type: 'counter-add', name: 'c', delta: 5 }, 1).result)).toBe(5);
    expect(copy.m.counterValue('c')).toBe(5);
  });

  it('refusals that depend on state are stored too: a retried OVERFLOW stays OVERFLOW', () => {
    const d = new Driver();
    const s = d.open();
    d.write(s, { type: 'counter-set', name: 'c', value: Number.MAX_SAFE_INTEGER }, 1);
    expect(failure(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 2).result).code).toBe('OVERFLOW');
    d.write(s, { type: 'counter-set', name: 'c', value: 0 }, 3);
    expect(failure(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 2).result).code).toBe('OVERFLOW');
    expect(d.m.counterValue('c')).toBe(0);
  });

  it('a retried acquire that was granted returns the same grant (no second token)', () => {
    const d = new Driver();
    const s = d.open();
    const first = d.write(s, { type: 'acquire', name: 'L', waitMs: 0 }, 1);
    expect(d.write(s, { type: 'acquire', name: 'L', waitMs: 0 }, 1).result).toEqual(first.result);
  });

  it('a retried queued acquire returns its current place, then its grant (failover)', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()];
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 20_000 }, 1);
    d.write(c, { type: 'acquire', name: 'L', waitMs: 20_000 }, 1);
    expect(value(d.write(c, { type: 'acquire', name: 'L', waitMs: 20_000 }, 1).result)).toEqual({
      status: 'queued',
      position: 2,
      deadline: 1_020_000,
    });
    d.write(a, { type: 'release', name: 'L' });
    const grantIndex = d.index;
    d.election();
    expect(value(d.write(c, { type: 'acquire', name: 'L', waitMs: 20_000 }, 1).result)).toEqual({
      status: 'queued',
      position: 1,
      deadline: 1_020_000,
    });
    expect(value(d.write(b, { type: 'acquire', name: 'L', waitMs: 20_000 }, 1).result)).toEqual({
      status: 'granted',
      token: grantIndex,
      acquiredAt: 1_000_000,
      expiresAt: 1_010_000,
    });
    expect(d.m.lockInfo('L').holder).toMatchObject({ sessionId: b, fencingToken: grantIndex });
  });

  it('a retried queued acquire whose wait ended answers timed-out', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()];
    d.write(a, { type: 'acquire', name: 'L', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'L', waitMs: 1_000 }, 1);
    d.advance(1_000).tick();
    expect(d.write(b, { type: 'acquire', name: 'L', waitMs: 1_000 }, 1)).toEqual({
      result: { ok: true, value: { status: 'timed-out' } },
      events: [],
    });
    expect(d.m.lockInfo('L').waiters).toBe(0);
  });

  it('ackedSeq drops results at or below it; an unstored seq at or below it → STALE_SEQUENCE, no change', () => {
    const d = new Driver();
    const s = d.open();
    for (let seq = 1; seq <= 4; seq++) d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, seq);
    expect(d.m.sessionInfo(s)?.storedResults).toBe(4);
    d.apply({ type: 'counter-add', session: s, seq: 5, ackedSeq: 3, name: 'c', delta: 1 });
    expect(d.m.sessionInfo(s)).toMatchObject({ storedResults: 2, ackedSeq: 3 });
    const out = d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 2);
    expect(failure(out.result).code).toBe('STALE_SEQUENCE');
    expect(d.m.counterValue('c')).toBe(5);
    // Unacknowledged results stay: seq 4 is still answered from the table.
    expect(value(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 4).result)).toBe(4);
    // ackedSeq never goes back, and a keep-alive may carry it.
    d.apply({ type: 'keep-alive', session: s, ackedSeq: 5 });
    d.apply({ type: 'counter-get', session: s, seq: 6, ackedSeq: 1, name: 'c' });
    expect(d.m.sessionInfo(s)).toMatchObject({ ackedSeq: 5, storedResults: 1 });
  });

  it('seqs need not arrive in order: a lower, unacknowledged seq after a higher one still applies once', () => {
    const d = new Driver();
    const s = d.open();
    d.write(s, { type: 'counter-add', name: 'c', delta: 10 }, 2);
    expect(value(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 1).result)).toBe(11);
  });

  it('the table is bounded by refusing new writes (LIMIT_EXCEEDED, not stored), never by forgetting', () => {
    const d = new Driver({ limits: { maxUnackedResults: 2 } });
    const s = d.open();
    d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 1);
    d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 2);
    expect(failure(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 3).result).code).toBe('LIMIT_EXCEEDED');
    expect(d.m.counterValue('c')).toBe(2);
    expect(value(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 1).result)).toBe(1); // retries still answered
    d.apply({ type: 'counter-add', session: s, seq: 3, ackedSeq: 1, name: 'c', delta: 1 });
    expect(d.m.counterValue('c')).toBe(3);
  });

  it('writes on an unknown or ended session → SESSION_EXPIRED, not stored', () => {
    const d = new Driver();
    expect(failure(d.write(77, { type: 'counter-add', name: 'c', delta: 1 }).result).code).toBe('SESSION_EXPIRED');
    const s = d.open(5_000);
    d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 1);
    d.advance(5_000);
    expect(failure(d.write(s, { type: 'counter-add', name: 'c', delta: 1 }, 1).result).code).toBe('SESSION_EXPIRED');
    expect(d.m.counterValue('c')).toBe(1);
  });
});
