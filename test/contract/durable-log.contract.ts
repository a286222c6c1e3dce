/**
 * The contract every DurableLog must meet (the unstorage pattern: one suite, every driver).
 * The in-memory log runs it now (memory-durable-log.test.ts); the LevelDB log must run it too.
 */
import { describe, expect, it } from 'vitest';
import type { Entry, HardState, SnapshotMeta } from '../../src/raft/index.js';
import type { DurableLog, PersistBatch } from '../../src/storage/durable-log.js';

export interface DurableLogFactory {
  /** A new, empty log. */
  create(): Promise<DurableLog>;
  /** Closes `log` and opens the same storage again (a clean restart). */
  reopen(log: DurableLog): Promise<DurableLog>;
}

const enc = new TextEncoder();
const conf = { voters: [1, 2, 3], learners: [] };

export function entry(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: 'normal', data: enc.encode(text) };
}

export function persist(log: DurableLog, batch: PersistBatch): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      log.persist(batch, (err) => (err === null ? resolve() : reject(err)));
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

export function compact(log: DurableLog, snapshot: SnapshotMeta): Promise<void> {
  return new Promise((resolve, reject) => log.compact(snapshot, (err) => (err === null ? resolve() : reject(err))));
}

function summary(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.term}/${e.index}:${new TextDecoder().decode(e.data)}`);
}

export function durableLogContract(name: string, factory: DurableLogFactory): void {
  describe(`DurableLog contract: ${name}`, () => {
    it('a new log is empty', async () => {
      const log = await factory.create();
      const s = await log.load();
      expect(s.hardState).toEqual({ term: 0, vote: 0, commit: 0 });
      expect(s.snapshot.index).toBe(0);
      expect(s.entries).toEqual([]);
      await log.close();
    });

    it('persists entries and hard state together and reads them back after reopening', async () => {
      let log = await factory.create();
      const hs: HardState = { term: 2, vote: 1, commit: 1 };
      await persist(log, { hardState: hs, entries: [entry(1, 1), entry(2, 2)], sync: true });
      log = await factory.reopen(log);
      const s = await log.load();
      expect(s.hardState).toEqual(hs);
      expect(summary(s.entries)).toEqual(['1/1:e1t1', '2/2:e2t2']);
      await log.close();
    });

    it('replaces a conflicting suffix: everything from the first new index on', async () => {
      let log = await factory.create();
      await persist(log, { entries: [1, 2, 3, 4, 5].map((i) => entry(i, 1)), sync: true });
      await persist(log, { entries: [entry(3, 2, 'new3')], sync: true });
      log = await factory.reopen(log);
      expect(summary((await log.load()).entries)).toEqual(['1/1:e1t1', '1/2:e2t1', '2/3:new3']);
      await log.close();
    });

    it('a batch with only a hard state keeps the entries', async () => {
      let log = await factory.create();
      await persist(log, { entries: [entry(1, 1)], sync: true });
      await persist(log, { hardState: { term: 3, vote: 2, commit: 1 }, entries: [], sync: false });
      log = await factory.reopen(log);
      const s = await log.load();
      expect(s.hardState).toEqual({ term: 3, vote: 2, commit: 1 });
      expect(s.entries.length).toBe(1);
      await log.close();
    });

    it('installing a snapshot discards the whole log; later entries follow it', async () => {
      let log = await factory.create();
      await persist(log, { entries: [1, 2, 3].map((i) => entry(i, 1)), sync: true });
      const snapshot: SnapshotMeta = { index: 10, term: 4, confState: conf };
      await persist(log, { snapshot, hardState: { term: 4, vote: 0, commit: 10 }, entries: [entry(11, 4)], sync: true });
      log = await factory.reopen(log);
      const s = await log.load();
      expect(s.snapshot).toEqual(snapshot);
      expect(summary(s.entries)).toEqual(['4/11:e11t4']);
      await log.close();
    });

    it('compaction drops entries up to the snapshot and records it', async () => {
      let log = await factory.create();
      await persist(log, { entries: [1, 2, 3, 4].map((i) => entry(i, 1)), sync: true });
      const snapshot: SnapshotMeta = { index: 2, term: 1, confState: conf };
      await compact(log, snapshot);
      await persist(log, { entries: [entry(5, 2)], sync: true });
      log = await factory.reopen(log);
      const s = await log.load();
      expect(s.snapshot).toEqual(snapshot);
      expect(summary(s.entries)).toEqual(['1/3:e3t1', '1/4:e4t1', '2/5:e5t2']);
      await log.close();
    });

    it('completes batches in submission order', async () => {
      const log = await factory.create();
      const order: number[] = [];
      await new Promise<void>((resolve) => {
        for (let k = 1; k <= 5; k++) {
          log.persist({ entries: [entry(k, 1)], sync: k % 2 === 0 }, () => {
            order.push(k);
            if (k === 5) resolve();
          });
        }
      });
      expect(order).toEqual([1, 2, 3, 4, 5]);
      expect((await log.load()).entries.length).toBe(5);
      await log.close();
    });

    it('batches submitted without waiting, truncations included, give the log of applying them in order', async () => {
      let log = await factory.create();
      const batches: PersistBatch[] = [
        { entries: [1, 2, 3, 4].map((i) => entry(i, 1)), sync: false },
        { entries: [entry(3, 2, 'b3'), entry(4, 2, 'b4'), entry(5, 2, 'b5')], hardState: { term: 2, vote: 1, commit: 2 }, sync: true },
        { entries: [entry(6, 2)], sync: false },
        { entries: [entry(5, 3, 'c5')], hardState: { term: 3, vote: 2, commit: 4 }, sync: true },
      ];
      const done: number[] = [];
      await Promise.all(batches.map((b, k) => persist(log, b).then(() => done.push(k))));
      expect(done).toEqual([0, 1, 2, 3]);
      log = await factory.reopen(log);
      const s = await log.load();
      expect(summary(s.entries)).toEqual(['1/1:e1t1', '1/2:e2t1', '2/3:b3', '2/4:b4', '3/5:c5']);
      expect(s.hardState).toEqual({ term: 3, vote: 2, commit: 4 });
      await log.close();
    });

    it('compacting beyond the last entry leaves an empty log that continues after the base', async () => {
      let log = await factory.create();
      await persist(log, { entries: [entry(1, 1), entry(2, 1)], sync: true });
      const snapshot: SnapshotMeta = { index: 7, term: 3, confState: conf };
      await compact(log, snapshot);
      await persist(log, { entries: [entry(8, 3)], sync: true });
      log = await factory.reopen(log);
      const s = await log.load();
      expect(s.snapshot).toEqual(snapshot);
      expect(summary(s.entries)).toEqual(['3/8:e8t3']);
      await log.close();
    });

    it('a snapshot or compaction not newer than the base changes nothing', async () => {
      let log = await factory.create();
      await persist(log, { entries: [1, 2, 3, 4].map((i) => entry(i, 1)), sync: true });
      const snapshot: SnapshotMeta = { index: 3, term: 1, confState: conf };
      await compact(log, snapshot);
      await compact(log, { index: 2, term: 1, confState: conf });
      await persist(log, { snapshot: { index: 3, term: 1, confState: { voters: [9], learners: [] } }, entries: [], sync: true });
      log = await factory.reopen(log);
      const s = await log.load();
      expect(s.snapshot).toEqual(snapshot);
      expect(summary(s.entries)).toEqual(['1/4:e4t1']);
      await log.close();
    });

    it('refuses a batch that would leave a gap, and changes nothing', async () => {
      const log = await factory.create();
      await persist(log, { entries: [entry(1, 1)], sync: true });
      await expect(persist(log, { entries: [entry(3, 1)], sync: true })).rejects.toThrow(/gap/);
      expect((await log.load()).entries.length).toBe(1);
      await log.close();
    });
  });
}
