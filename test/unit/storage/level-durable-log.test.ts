/**
 * LevelDurableLog beyond the shared contract: ownership checks, locking, corruption detection,
 * restarts after long random histories (checked against the memory log as an oracle), and
 * large batches.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRandom, type Entry } from '../../../src/raft/index.js';
import type { PersistBatch } from '../../../src/storage/durable-log.js';
import { LevelDurableLog } from '../../../src/storage/level-durable-log.js';
import { MemoryDurableLog } from '../../../src/storage/memory-durable-log.js';
import { BASE_KEY, HARD_STATE_KEY, KNOWN_PEERS_KEY, META_KEY, encodeEntry, encodeMeta, entryKey } from '../../../src/storage/records.js';
import { StorageError } from '../../../src/storage/storage-error.js';
import { compact, entry, persist } from '../../contract/durable-log.contract.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlock-level-unit-'));
  dirs.push(dir);
  return join(dir, 'node-1');
}

const ids = { clusterId: 'alpha', nodeId: 1 };

/** A raw LevelDB handle on the same directory, to damage records behind the log's back. */
async function withRaw(path: string, f: (db: Level<Buffer, Buffer>) => Promise<void>): Promise<void> {
  const db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    await f(db);
  } finally {
    await db.close();
  }
}

async function openError(p: Promise<unknown>): Promise<StorageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}

/** A log of entries 1..n (term 1) and a hard state, closed again. */
async function seeded(n: number): Promise<string> {
  const path = await tempPath();
  const log = await LevelDurableLog.open({ path, ...ids });
  await persist(log, {
    entries: Array.from({ length: n }, (_, k) => entry(k + 1, 1)),
    hardState: { term: 1, vote: 1, commit: 1 },
    sync: true,
  });
  await log.close();
  return path;
}

const view = (entries: readonly Entry[]): string[] =>
  entries.map((e) => `${e.index}/${e.term}/${e.type}/${Buffer.from(e.data).toString('hex')}`);

describe('LevelDurableLog: data identity and known peers', () => {
  it('a new directory gets a random data identity that survives reopening; another directory gets another', async () => {
    const path = await seeded(1);
    const first = await LevelDurableLog.open({ path, ...ids });
    const dataId = first.dataId;
    expect(dataId).toMatch(/^[0-9a-f]{32}$/);
    await first.close();
    const again = await LevelDurableLog.open({ path, ...ids });
    expect(again.dataId).toBe(dataId);
    await again.close();
    // The same cluster and node id in a wiped (new) directory: a different identity.
    const wiped = await LevelDurableLog.open({ path: await tempPath(), ...ids });
    expect(wiped.dataId).not.toBe(dataId);
    await wiped.close();
  });

  it('a version 1 directory is upgraded: it gets an identity and keeps its log', async () => {
    const path = await seeded(3);
    await withRaw(path, (db) => db.put(META_KEY, encodeMeta({ formatVersion: 1, clusterId: 'alpha', nodeId: 1 })));
    const log = await LevelDurableLog.open({ path, ...ids });
    expect(log.meta).toMatchObject({ formatVersion: 2 });
    expect(log.dataId).toMatch(/^[0-9a-f]{32}$/);
    expect((await log.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
    await log.close();
    const again = await LevelDurableLog.open({ path, ...ids });
    expect(again.dataId).toBe(log.dataId);
    await again.close();
  });

  it('known peers are written durably, in order with the log, and read back on reopen', async () => {
    const path = await seeded(1);
    const log = await LevelDurableLog.open({ path, ...ids });
    expect(log.knownPeers().size).toBe(0);
    const peers = new Map([
      [2, { dataId: 'a'.repeat(32), admission: '' }],
      [7, { dataId: 'b'.repeat(32), admission: '0f3c' }],
    ]);
    await new Promise<void>((resolve, reject) => log.rememberPeers(peers, (err) => (err === null ? resolve() : reject(err))));
    expect(log.knownPeers()).toEqual(peers);
    // Entries after it are unaffected, and the record is not taken for an entry.
    await persist(log, { entries: [entry(2, 1)], sync: true });
    await log.close();
    const again = await LevelDurableLog.open({ path, ...ids });
    expect(again.knownPeers()).toEqual(peers);
    expect((await again.load()).entries.map((e) => e.index)).toEqual([1, 2]);
    await again.close();
  });

  it('a damaged known-peers record is reported by name', async () => {
    const path = await seeded(1);
    const log = await LevelDurableLog.open({ path, ...ids });
    await new Promise<void>((resolve) => log.rememberPeers(new Map([[2, { dataId: 'x', admission: '' }]]), () => resolve()));
    await log.close();
    await withRaw(path, async (db) => {
      const v = Buffer.from(await db.get(KNOWN_PEERS_KEY));
      v.writeUInt8(v.readUInt8(v.length - 1) ^ 0xff, v.length - 1);
      await db.put(KNOWN_PEERS_KEY, v);
    });
    const err = await openError(LevelDurableLog.open({ path, ...ids }));
    expect(err.code).toBe('STORAGE_CORRUPT');
    expect(err.message).toContain('known peers record');
  });
});

describe('LevelDurableLog: ownership and locking', () => {
  it('records cluster and node id on first open and refuses another cluster', async () => {
    const path = await seeded(1);
    const err = await openError(LevelDurableLog.open({ path, clusterId: 'beta', nodeId: 1 }));
    expect(err.code).toBe('STORAGE_MISMATCH');
    expect(err.message).toContain(path);
    expect(err.message).toContain('"alpha"');
    expect(err.message).toContain('"beta"');
    // The refused open released the database: the right identity still opens it.
    const log = await LevelDurableLog.open({ path, ...ids });
    expect(log.meta).toMatchObject({ formatVersion: 2, clusterId: 'alpha', nodeId: 1 });
    await log.close();
  });

  it('refuses another node id', async () => {
    const path = await seeded(1);
    const err = await openError(LevelDurableLog.open({ path, clusterId: 'alpha', nodeId: 2 }));
    expect(err.code).toBe('STORAGE_MISMATCH');
    expect(err.message).toMatch(/node 1.*node 2/);
  });

  it('refuses a second open of the same directory with a clear message', async () => {
    const path = await tempPath();
    const log = await LevelDurableLog.open({ path, ...ids });
    const err = await openError(LevelDurableLog.open({ path, ...ids }));
    expect(err.code).toBe('STORAGE_LOCKED');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/in use/);
    await log.close();
    // Released on close.
    await (await LevelDurableLog.open({ path, ...ids })).close();
  });
});

describe('LevelDurableLog: corruption is detected on open, never repaired', () => {
  it('a garbage entry value is reported with its index and the path', async () => {
    const path = await seeded(5);
    await withRaw(path, (db) => db.put(entryKey(3), Buffer.from('garbage!')));
    const err = await openError(LevelDurableLog.open({ path, ...ids }));
    expect(err.code).toBe('STORAGE_CORRUPT');
    expect(err.message).toContain('entry 3');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/checksum/);
  });

  it('a single flipped bit in an entry fails its checksum', async () => {
    const path = await seeded(5);
    await withRaw(path, async (db) => {
      const value = await db.get(entryKey(4));
      if (value === undefined) throw new Error('entry 4 missing');
      value[value.length - 1] = (value[value.length - 1] ?? 0) ^ 0x01;
      await db.put(entryKey(4), value);
    });
    const err = await openError(LevelDurableLog.open({ path, ...ids }));
    expect(err.code).toBe('STORAGE_CORRUPT');
    expect(err.message).toMatch(/entry 4 .*checksum mismatch/);
  });

  it('a missing entry is a gap, named', async () => {
    const path = await seeded(5);
    await withRaw(path, (db) => db.del(entryKey(2)));
    const err = await openError(LevelDurableLog.open({ path, ...ids }));
    expect(err.code).toBe('STORAGE_CORRUPT');
    expect(err.message).toMatch(/gap.*expected entry 2, found entry 3/);
  });

  it('a valid record under the wrong key is caught', async () => {
    const path = await seeded(5);
    await withRaw(path, (db) => db.put(entryKey(3), encodeEntry(entry(4, 1))));
    const err = await openError(LevelDurableLog.open({ path, ...ids }));
    expect(err.message).toMatch(/entry 3 .*holds the record of entry 4/);
  });

  it('a key of no record kind is reported, among the fixed records and after the entries alike', async () => {
    for (const key of [Buffer.from([0x07]), Buffer.from([0x10]), Buffer.from([0x20, 0x01])]) {
      const path = await seeded(5);
      await withRaw(path, (db) => db.put(key, Buffer.from('x')));
      const err = await openError(LevelDurableLog.open({ path, ...ids }));
      expect(err.code).toBe('STORAGE_CORRUPT');
      expect(err.message).toContain(`unexpected key ${key.toString('hex')}`);
    }
  });

  it('terms going down is caught', async () => {
    const path = await tempPath();
    const log = await LevelDurableLog.open({ path, ...ids });
    await persist(log, { entries: [entry(1, 2), entry(2, 2)], sync: true });
    await log.close();
    await withRaw(path, (db) => db.put(entryKey(2), encodeEntry(entry(2, 1))));
    const err = await openError(LevelDurableLog.open({ path, ...ids }));
    expect(err.message).toMatch(/entry 2 has term 1, lower than the 2/);
  });

  it('damaged hard state, base or metadata records are reported by name', async () => {
    for (const [key, name] of [
      [HARD_STATE_KEY, 'hard state'],
      [BASE_KEY, 'base'],
      [META_KEY, 'metadata'],
    ] as const) {
      const path = await seeded(2);
      await withRaw(path, (db) => db.put(key, Buffer.from([1, 2, 3, 4, 5, 6, 7])));
      const err = await openError(LevelDurableLog.open({ path, ...ids }));
      expect(err.code).toBe('STORAGE_CORRUPT');
      expect(err.message).toContain(name);
    }
  });

  it('log records without metadata are refused (not taken for a new directory)', async () => {
    const path = await seeded(2);
    await withRaw(path, (db) => db.del(META_KEY));
    const err = await openError(LevelDurableLog.open({ path, ...ids }));
    expect(err.code).toBe('STORAGE_CORRUPT');
    expect(err.message).toMatch(/metadata record .* is missing/);
  });
});

describe('LevelDurableLog: writes', () => {
  it('restarting after many random batches (truncations, snapshots, compactions) gives exactly the expected log', async () => {
    const seed = 20240611;
    const rng = new SeededRandom(seed);
    const path = await tempPath();
    let log = await LevelDurableLog.open({ path, ...ids });
    const oracle = new MemoryDurableLog();
    let term = 1;
    let counter = 0;
    let reopens = 0;
    const pending: Array<Promise<void>> = [];
    for (let round = 0; round < 300; round++) {
      const s = oracle.load();
      const base = s.snapshot.index;
      const last = base + s.entries.length;
      const roll = rng.nextInt(100);
      if (roll < 5 && last > base) {
        const meta = { index: base + 1 + rng.nextInt(last - base), term, confState: { voters: [1, 2, 3], learners: [] } };
        // The term recorded must be the entry's own term for the log to stay consistent.
        const at = s.entries[meta.index - base - 1];
        const snap = { ...meta, term: at?.term ?? term };
        pending.push(compact(log, snap));
        await compact(oracle, snap);
        continue;
      }
      const batch: PersistBatch = (() => {
        if (roll < 8) {
          term++;
          const index = last + 1 + rng.nextInt(5);
          return {
            snapshot: { index, term, confState: { voters: [1, 2], learners: [3] } },
            entries: [],
            hardState: { term, vote: 0, commit: index },
            sync: true,
          };
        }
        // Truncate sometimes (a new leader's term overwrites a suffix), else append.
        const truncate = roll < 30 && last > base;
        if (truncate) term++;
        const from = truncate ? base + 1 + rng.nextInt(last - base) : last + 1;
        const n = 1 + rng.nextInt(12);
        const entries = Array.from({ length: n }, (_, k) => entry(from + k, term, `r${round}-${counter++}`));
        const hs = rng.nextInt(2) === 0 ? { hardState: { term, vote: 1 + rng.nextInt(3), commit: Math.max(base, from - 1) } } : {};
        return { entries, ...hs, sync: rng.nextInt(3) !== 0 };
      })();
      // Submit without waiting, a few at a time: the write queue must keep them in order.
      pending.push(persist(log, batch));
      await persist(oracle, batch);
      if (rng.nextInt(4) === 0) await Promise.all(pending.splice(0));
      if (rng.nextInt(20) === 0) {
        await Promise.all(pending.splice(0));
        log = await reopen(log);
        reopens++;
      }
    }
    await Promise.all(pending.splice(0));
    log = await reopen(log);
    const got = await log.load();
    const want = oracle.load();
    expect(got.hardState).toEqual(want.hardState);
    expect(got.snapshot).toEqual(want.snapshot);
    expect(view(got.entries)).toEqual(view(want.entries));
    expect(want.entries.length).toBeGreaterThan(20);
    expect(want.snapshot.index).toBeGreaterThan(0);
    expect(reopens).toBeGreaterThan(5);
    await log.close();
  });

  it("a compaction keeps the members' host contexts of its configuration across a reopen", async () => {
    const path = await seeded(5);
    let log = await LevelDurableLog.open({ path, ...ids });
    const contexts = [{ id: 4, context: new TextEncoder().encode('10.0.0.4:7104') }];
    const base = { index: 3, term: 1, confState: { voters: [1, 2, 3], learners: [4], contexts } };
    await compact(log, base);
    log = await reopen(log);
    expect((await log.load()).snapshot).toEqual(base);
    await log.close();
  });

  it('a batch of 1,000 entries round-trips byte for byte', async () => {
    const path = await tempPath();
    let log = await LevelDurableLog.open({ path, ...ids });
    const rng = new SeededRandom(7);
    const types = ['normal', 'noop', 'config'] as const;
    const entries: Entry[] = Array.from({ length: 1000 }, (_, k) => ({
      index: k + 1,
      term: 1 + Math.floor(k / 100),
      type: types[k % 3] ?? 'normal',
      data: Uint8Array.from({ length: rng.nextInt(2000) }, () => rng.nextInt(256)),
    }));
    await persist(log, { entries, hardState: { term: 10, vote: 3, commit: 999 }, sync: true });
    log = await reopen(log);
    const s = await log.load();
    expect(s.entries.length).toBe(1000);
    expect(view(s.entries)).toEqual(view(entries));
    expect(s.entries[0]?.data).toBeInstanceOf(Uint8Array);
    // Truncating most of it is one batch too.
    await persist(log, { entries: [entry(2, 10)], sync: true });
    log = await reopen(log);
    expect((await log.load()).entries.map((e) => e.index)).toEqual([1, 2]);
    await log.close();
  });

  it('callbacks fire in order and never inside persist()', async () => {
    const log = await LevelDurableLog.open({ path: await tempPath(), ...ids });
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      for (let k = 1; k <= 20; k++) {
        log.persist({ entries: [entry(k, 1)], sync: k % 5 === 0 }, (err) => {
          order.push(err === null ? `ok${k}` : `err${k}`);
          if (k === 21) resolve();
        });
        order.push(`submitted${k}`);
      }
      // A refused batch in the middle of the queue fails alone and in its place.
      log.persist({ entries: [entry(30, 1)], sync: true }, (err) => order.push(err instanceof StorageError ? err.code : 'no error'));
      log.persist({ entries: [entry(21, 1)], sync: true }, () => {
        order.push('ok21');
        resolve();
      });
    });
    const submitted = order.indexOf('submitted20');
    expect(order.slice(0, submitted + 1).every((s) => s.startsWith('submitted'))).toBe(true);
    expect(order.slice(submitted + 1)).toEqual([...Array.from({ length: 20 }, (_, k) => `ok${k + 1}`), 'STORAGE_GAP', 'ok21']);
    expect((await log.load()).entries.length).toBe(21);
    await log.close();
  });

  it('refuses malformed batches without writing anything', async () => {
    const log = await LevelDurableLog.open({ path: await tempPath(), ...ids });
    await persist(log, { entries: [entry(1, 2)], sync: true });
    const refused = async (b: PersistBatch): Promise<string> => {
      const err = await persist(log, b).then(
        () => undefined,
        (e: unknown) => e,
      );
      return err instanceof StorageError ? `${err.code}: ${err.message}` : 'accepted';
    };
    expect(await refused({ entries: [entry(2, 2), entry(4, 2)], sync: true })).toMatch(/STORAGE_INVALID.*not contiguous/);
    expect(await refused({ entries: [entry(2, 3), entry(3, 2)], sync: true })).toMatch(/STORAGE_INVALID.*term decreases/);
    expect(await refused({ entries: [entry(2, 2)], hardState: { term: -1, vote: 0, commit: 0 }, sync: true })).toMatch(/STORAGE_INVALID/);
    expect((await log.load()).entries.map((e) => e.index)).toEqual([1]);
    await log.close();
  });

  it('after close, writes fail with STORAGE_CLOSED and load rejects', async () => {
    const log = await LevelDurableLog.open({ path: await tempPath(), ...ids });
    await log.close();
    await expect(persist(log, { entries: [entry(1, 1)], sync: true })).rejects.toMatchObject({ code: 'STORAGE_CLOSED' });
    await expect(log.load()).rejects.toMatchObject({ code: 'STORAGE_CLOSED' });
    await log.close(); // idempotent
  });
});

async function reopen(log: LevelDurableLog): Promise<LevelDurableLog> {
  await log.close();
  return LevelDurableLog.open({ path: log.path, ...ids });
}
