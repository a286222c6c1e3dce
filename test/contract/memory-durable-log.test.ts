/** The in-memory DurableLog against the shared contract, plus its crash semantics. */
import { describe, expect, it } from 'vitest';
import { MemoryDurableLog } from '../../src/storage/memory-durable-log.js';
import { durableLogContract, entry, persist } from './durable-log.contract.js';

durableLogContract('MemoryDurableLog', {
  create: () => Promise.resolve(new MemoryDurableLog()),
  // The same object is the "disk": reopening is reading it again.
  reopen: (log) => Promise.resolve(log),
});

describe('MemoryDurableLog crash semantics (what the simulator relies on)', () => {
  it('a crash keeps synced writes and loses unsynced and in-flight ones', async () => {
    const pending: Array<() => void> = [];
    const log = new MemoryDurableLog((complete) => pending.push(complete));
    const done: number[] = [];
    log.persist({ entries: [entry(1, 1)], sync: true }, () => done.push(1));
    log.persist({ entries: [entry(2, 1)], sync: false }, () => done.push(2));
    log.persist({ entries: [entry(3, 1)], sync: true }, () => done.push(3));
    pending.shift()?.(); // 1 synced
    pending.shift()?.(); // 2 written, not synced
    expect(log.hasUnsyncedWrites()).toBe(true);
    log.crash(); // 3 still in flight
    pending.shift()?.(); // completes after the crash: ignored
    expect(done).toEqual([1, 2]);
    expect(log.load().entries.map((e) => e.index)).toEqual([1]);
  });

  it('a sync makes earlier unsynced writes durable too (fsync flushes everything)', async () => {
    const log = new MemoryDurableLog();
    await persist(log, { entries: [entry(1, 1)], sync: false });
    await persist(log, { hardState: { term: 1, vote: 1, commit: 0 }, entries: [], sync: true });
    log.crash();
    expect(log.load().entries.length).toBe(1);
    expect(log.load().hardState.vote).toBe(1);
  });
});
