/** FileSnapshotStore: durable save, synchronous latest(), reopen, and corruption detection. */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SnapshotMeta } from '../../../src/raft/index.js';
import { FileSnapshotStore } from '../../../src/storage/file-snapshot-store.js';
import type { StoredSnapshot } from '../../../src/storage/snapshot-store.js';
import { StorageError } from '../../../src/storage/storage-error.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlock-snap-unit-'));
  dirs.push(dir);
  return join(dir, 'node-1', 'snapshots');
}

function snap(index: number, text = `state@${index}`): StoredSnapshot {
  const meta: SnapshotMeta = { index, term: 2, confState: { voters: [1, 2, 3], learners: [4] } };
  return { meta, data: new TextEncoder().encode(text) };
}

function save(store: FileSnapshotStore, s: StoredSnapshot): Promise<void> {
  return new Promise((resolve, reject) => store.save(s, (err) => (err === null ? resolve() : reject(err))));
}

async function openError(dir: string): Promise<StorageError> {
  const err = await FileSnapshotStore.open(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}

describe('FileSnapshotStore', () => {
  it('starts empty, saves, serves latest() synchronously, and reads it back after reopening', async () => {
    const dir = await tempDir();
    const store = await FileSnapshotStore.open(dir);
    expect(store.latest()).toBeUndefined();
    await save(store, snap(10));
    expect(store.latest()?.meta.index).toBe(10);
    const again = await FileSnapshotStore.open(dir);
    const got = again.latest();
    expect(got?.meta).toEqual(snap(10).meta);
    expect(new TextDecoder().decode(got?.data)).toBe('state@10');
  });

  it("keeps the members' host contexts of the configuration (and reads metadata without them)", async () => {
    const dir = await tempDir();
    const store = await FileSnapshotStore.open(dir);
    const context = new TextEncoder().encode('10.0.0.4:7104');
    const meta: SnapshotMeta = { index: 30, term: 2, confState: { voters: [1, 2, 3], learners: [4], contexts: [{ id: 4, context }] } };
    await save(store, { meta, data: new Uint8Array([1]) });
    expect((await FileSnapshotStore.open(dir)).latest()?.meta).toEqual(meta);
    await save(store, snap(40));
    expect((await FileSnapshotStore.open(dir)).latest()?.meta).toEqual(snap(40).meta);
  });

  it('keeps only the newest file; an older save neither replaces it nor writes', async () => {
    const dir = await tempDir();
    const store = await FileSnapshotStore.open(dir);
    await Promise.all([save(store, snap(5)), save(store, snap(20)), save(store, snap(12))]);
    expect(store.latest()?.meta.index).toBe(20);
    expect(await readdir(dir)).toEqual(['snapshot-0000000000000014.snap']);
    expect((await FileSnapshotStore.open(dir)).latest()?.meta.index).toBe(20);
  });

  it('round-trips a large binary snapshot and an empty one', async () => {
    const dir = await tempDir();
    const store = await FileSnapshotStore.open(dir);
    const data = Uint8Array.from({ length: 3_000_000 }, (_, k) => (k * 31) & 0xff);
    await save(store, { meta: snap(1).meta, data });
    expect(Buffer.from((await FileSnapshotStore.open(dir)).latest()?.data ?? []).equals(Buffer.from(data))).toBe(true);
    await save(store, { meta: snap(2).meta, data: new Uint8Array(0) });
    expect((await FileSnapshotStore.open(dir)).latest()?.data.length).toBe(0);
  });

  it('a leftover temporary file (interrupted save) is removed, not mistaken for a snapshot', async () => {
    const dir = await tempDir();
    const store = await FileSnapshotStore.open(dir);
    await save(store, snap(3));
    await writeFile(join(dir, 'snapshot-0000000000000009.snap.tmp'), 'half a snapsh');
    const again = await FileSnapshotStore.open(dir);
    expect(again.latest()?.meta.index).toBe(3);
    expect(await readdir(dir)).toEqual(['snapshot-0000000000000003.snap']);
  });

  it('a flipped byte in the data is detected on open, naming the file', async () => {
    const dir = await tempDir();
    await save(await FileSnapshotStore.open(dir), snap(7));
    const file = join(dir, 'snapshot-0000000000000007.snap');
    const bytes = await readFile(file);
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0x40;
    await writeFile(file, bytes);
    const err = await openError(dir);
    expect(err.code).toBe('STORAGE_CORRUPT');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/checksum mismatch/);
  });

  it('a truncated file, a foreign file, and a file whose name lies are all corrupt', async () => {
    const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
      ['truncated', (b) => b.subarray(0, b.length - 5), /checksum|truncated/],
      ['foreign', () => Buffer.from('{"not":"a snapshot"}'), /bad magic/],
      ['renamed', (b) => b, /holds snapshot 7, its name says 8/],
    ];
    for (const [what, damage, message] of cases) {
      const dir = await tempDir();
      await save(await FileSnapshotStore.open(dir), snap(7));
      const file = join(dir, 'snapshot-0000000000000007.snap');
      const bytes = damage(await readFile(file));
      await rm(file);
      await writeFile(what === 'renamed' ? join(dir, 'snapshot-0000000000000008.snap') : file, bytes);
      const err = await openError(dir);
      expect(err.code, what).toBe('STORAGE_CORRUPT');
      expect(err.message, what).toMatch(message);
    }
  });

  it('a failed save reports STORAGE_IO and keeps the previous latest', async () => {
    const dir = await tempDir();
    const store = await FileSnapshotStore.open(dir);
    await save(store, snap(1));
    await rm(dir, { recursive: true });
    await expect(save(store, snap(2))).rejects.toMatchObject({ code: 'STORAGE_IO' });
    expect(store.latest()?.meta.index).toBe(1);
  });
});
