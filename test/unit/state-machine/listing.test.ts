/**
 * Listing (docs/design.md#listing): pages of held-or-awaited locks and of non-zero counters, in
 * name order, by prefix and cursor, bounded by the limit and by the bytes of names; the walk
 * over every page sees each name exactly once; the order survives snapshot and restore.
 */
import { describe, expect, it } from 'vitest';
import { MAX_LIST_NAME_BYTES } from '../../../src/protocol/index.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import { Driver } from './driver.js';

function walk(list: (after: string | undefined) => { items: readonly { name: string }[]; next?: string }): string[] {
  const names: string[] = [];
  for (let after: string | undefined, pages = 0; pages < 10_000; pages++) {
    const page = list(after);
    names.push(...page.items.map((i) => i.name));
    if (page.next === undefined) return names;
    after = page.next;
  }
  throw new Error('the walk did not end');
}

describe('listing', () => {
  it('lists held and awaited locks with holder and waiters, in name order', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.write(a, { type: 'acquire', name: 'jobs/b', waitMs: 0 });
    d.write(a, { type: 'acquire', name: 'jobs/a', waitMs: 0 });
    d.write(a, { type: 'acquire', name: 'other', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'jobs/a', waitMs: 5_000 });
    const page = d.m.listLocks({ prefix: 'jobs/' });
    expect(page.next).toBeUndefined();
    expect(page.items.map((l) => [l.name, l.holder?.sessionId, l.waiters])).toEqual([
      ['jobs/a', a, 1],
      ['jobs/b', a, 0],
    ]);
    expect(page.items[0]).toEqual({ name: 'jobs/a', ...d.m.lockInfo('jobs/a') });
    // A released lock with nobody waiting is not stored, so not listed.
    d.write(a, { type: 'release', name: 'jobs/b' });
    expect(d.m.listLocks().items.map((l) => l.name)).toEqual(['jobs/a', 'other']);
  });

  it('lists the semaphores, readers-writer locks or elections in use, each with its info', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.write(a, { type: 'acquire-permit', kind: 'election', name: 'svc/b', value: 'host-a', waitMs: 0 });
    d.write(a, { type: 'acquire-permit', kind: 'election', name: 'svc/a', value: 'host-a', waitMs: 0 });
    d.write(b, { type: 'acquire-permit', kind: 'election', name: 'svc/a', value: 'host-b', waitMs: 5_000 });
    d.write(a, { type: 'acquire-permit', kind: 'election', name: 'other', value: '', waitMs: 0 });
    d.write(a, { type: 'acquire-permit', kind: 'semaphore', name: 'svc/a', permits: 3, waitMs: 0 });
    d.write(b, { type: 'acquire-permit', kind: 'rwlock', name: 'svc/r', mode: 'write', waitMs: 0 });
    const page = d.m.listPermits('election', { prefix: 'svc/', limit: 1 });
    expect(page).toEqual({ items: [{ name: 'svc/a', ...d.m.electionInfo('svc/a') }], next: 'svc/a' });
    expect(page.items[0]?.leader?.value).toBe('host-a');
    expect(d.m.listPermits('election', { prefix: 'svc/', after: 'svc/a' })).toEqual({
      items: [{ name: 'svc/b', ...d.m.electionInfo('svc/b') }],
    });
    // Each kind its own namespace.
    expect(d.m.listPermits('semaphore')).toEqual({ items: [{ name: 'svc/a', ...d.m.semaphoreInfo('svc/a') }] });
    expect(d.m.listPermits('rwlock')).toEqual({ items: [{ name: 'svc/r', ...d.m.rwlockInfo('svc/r') }] });
    // An election nobody leads or awaits is not stored, so not listed.
    d.write(a, { type: 'release-permit', kind: 'election', name: 'other', acquireSeq: 3 });
    expect(walk((after) => d.m.listPermits('election', after === undefined ? { limit: 1 } : { after, limit: 1 }))).toEqual([
      'svc/a',
      'svc/b',
    ]);
  });

  it('lists non-zero counters; a counter set back to 0 or deleted leaves the list', () => {
    const d = new Driver();
    const s = d.open();
    for (const [name, delta] of [
      ['c', 3],
      ['a', 1],
      ['b', -2],
    ] as const)
      d.write(s, { type: 'counter-add', name, delta });
    expect(d.m.listCounters().items).toEqual([
      { name: 'a', value: 1 },
      { name: 'b', value: -2 },
      { name: 'c', value: 3 },
    ]);
    d.write(s, { type: 'counter-add', name: 'b', delta: 2 });
    d.write(s, { type: 'counter-delete', name: 'c' });
    expect(d.m.listCounters().items).toEqual([{ name: 'a', value: 1 }]);
  });

  it('pages by limit and cursor: every name once, in order, across 2,500 counters', () => {
    const d = new Driver({ limits: { maxUnackedResults: 10_000 } });
    const s = d.open();
    const names = Array.from({ length: 2_500 }, (_, k) => `n${String((k * 7_919) % 2_500).padStart(4, '0')}`);
    for (const name of names) d.write(s, { type: 'counter-set', name, value: 1 });
    for (const limit of [1, 7, 100, 1_000]) {
      const seen = walk((after) => d.m.listCounters({ limit, ...(after !== undefined ? { after } : {}) }));
      expect(seen).toEqual([...names].sort());
    }
    const first = d.m.listCounters({ limit: 3 });
    expect(first.items.map((c) => c.name)).toEqual(['n0000', 'n0001', 'n0002']);
    expect(first.next).toBe('n0002');
    // The default page is 100; the last page carries no cursor.
    expect(d.m.listCounters().items).toHaveLength(100);
    expect(d.m.listCounters({ after: 'n2497' })).toEqual({
      items: [
        { name: 'n2498', value: 1 },
        { name: 'n2499', value: 1 },
      ],
    });
    // A cursor need not be a name that exists, and may lie outside the prefix.
    expect(d.m.listCounters({ prefix: 'n001', after: 'n0015' }).items.map((c) => c.name)).toEqual(['n0016', 'n0017', 'n0018', 'n0019']);
    expect(d.m.listCounters({ prefix: 'n001', after: 'a' }).items).toHaveLength(10);
    expect(d.m.listCounters({ prefix: 'n001', after: 'z' }).items).toHaveLength(0);
  });

  it('ends a page early at the byte bound of its names', () => {
    const d = new Driver({ limits: { maxNameBytes: 65_536 } });
    const s = d.open();
    const long = (k: number): string => `${k}`.padEnd(60_000, 'x');
    for (let k = 0; k < 10; k++) d.write(s, { type: 'counter-set', name: long(k), value: k + 1 });
    const page = d.m.listCounters({ limit: 1_000 });
    const perPage = Math.ceil(MAX_LIST_NAME_BYTES / 60_000);
    expect(page.items).toHaveLength(perPage);
    expect(page.next).toBe(long(perPage - 1));
    expect(walk((after) => d.m.listCounters({ limit: 1_000, ...(after !== undefined ? { after } : {}) }))).toHaveLength(10);
  });

  it('restores the order from a snapshot', () => {
    const d = new Driver();
    const s = d.open();
    for (const name of ['q', 'b', 'x', 'a']) {
      d.write(s, { type: 'counter-add', name, delta: 1 });
      d.write(s, { type: 'acquire', name: `L/${name}`, waitMs: 0 });
    }
    const copy = new LockMachine();
    copy.restore(d.m.snapshot());
    expect(copy.listCounters()).toEqual(d.m.listCounters());
    expect(copy.listLocks({ prefix: 'L/', limit: 2 })).toEqual(d.m.listLocks({ prefix: 'L/', limit: 2 }));
    expect(copy.listLocks().items.map((l) => l.name)).toEqual(['L/a', 'L/b', 'L/q', 'L/x']);
  });
});
