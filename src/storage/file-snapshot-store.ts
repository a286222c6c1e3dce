/**
 * A {@link SnapshotStore} on the file system: one file per snapshot in a directory of its own
 * (`<nodeDir>/snapshots/`), named `snapshot-<index as 16 hex digits>.snap` so names sort by
 * index. The file layout (magic, CRC-32 over metadata and data) is in ./records.ts.
 *
 * Durability (written completely and fsynced before the log is compacted behind it;
 * docs/design.md#snapshots): `save` writes a temporary file, fsyncs it, renames it into place
 * and fsyncs the directory (the rename itself must be durable), and only then reports success.
 * A crash at any point leaves either the old snapshot or the new one, plus perhaps a `.tmp`
 * file, which `open` deletes: a torn temporary file is an interrupted save, not corruption. A
 * damaged *final* file is corruption and is refused, never skipped for an older one.
 *
 * `latest()` is synchronous, as the interface requires: the newest snapshot is kept in memory,
 * loaded and verified by the async {@link FileSnapshotStore.open}.
 */
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Done } from './durable-log.js';
import { decodeSnapshotFile, encodeSnapshotFile } from './records.js';
import type { SnapshotStore, StoredSnapshot } from './snapshot-store.js';
import { RecordError, StorageError, describeError, invokeDone } from './storage-error.js';

const NAME = /^snapshot-([0-9a-f]{16})\.snap$/;
const TMP_SUFFIX = '.tmp';

function fileName(index: number): string {
  return `snapshot-${index.toString(16).padStart(16, '0')}.snap`;
}

export class FileSnapshotStore implements SnapshotStore {
  private current: StoredSnapshot | undefined;
  /** Saves run one after another, in submission order. */
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    /** The snapshot directory, named in every error. */
    readonly dir: string,
    current: StoredSnapshot | undefined,
  ) {
    this.current = current;
  }

  /**
   * Opens (creating if missing) the snapshot directory `dir`, removes leftovers of interrupted
   * saves, and reads and verifies the newest snapshot. Rejects with a {@link StorageError}:
   * `STORAGE_CORRUPT` if the newest snapshot file is damaged (bad magic or checksum, torn,
   * metadata disagreeing with its name), `STORAGE_IO` if the directory cannot be read.
   */
  static async open(dir: string): Promise<FileSnapshotStore> {
    let names: string[];
    try {
      await mkdir(dir, { recursive: true });
      names = await readdir(dir);
    } catch (err) {
      throw new StorageError('STORAGE_IO', dir, `cannot open snapshot directory ${dir}: ${describeError(err)}`, { cause: err });
    }
    for (const name of names) {
      if (name.endsWith(TMP_SUFFIX)) await unlink(join(dir, name)).catch(() => undefined);
    }
    let newest: { index: number; name: string } | undefined;
    for (const name of names) {
      const m = NAME.exec(name);
      if (m?.[1] === undefined) continue;
      const index = Number.parseInt(m[1], 16);
      if (newest === undefined || index > newest.index) newest = { index, name };
    }
    if (newest === undefined) return new FileSnapshotStore(dir, undefined);
    return new FileSnapshotStore(dir, await readSnapshot(dir, newest.name, newest.index));
  }

  /**
   * Durably saves `snapshot` (see the module comment), then deletes older snapshot files, then
   * calls `done`. Saves complete in submission order. A snapshot older than the latest one is
   * not written (it could never be used) and succeeds at once, like the memory store.
   */
  save(snapshot: StoredSnapshot, done: Done): void {
    this.chain = this.chain.then(async () => {
      try {
        if (this.current !== undefined && snapshot.meta.index < this.current.meta.index) return invokeDone(done, null);
        await this.write(snapshot);
        this.current = snapshot;
      } catch (err) {
        const e = new StorageError(
          'STORAGE_IO',
          this.dir,
          `saving snapshot ${snapshot.meta.index} in ${this.dir} failed: ${describeError(err)}`,
          { cause: err },
        );
        return invokeDone(done, e);
      }
      await this.removeOlder(snapshot.meta.index);
      invokeDone(done, null);
    });
  }

  /** The newest saved snapshot, if any (from memory; no I/O). */
  latest(): StoredSnapshot | undefined {
    return this.current;
  }

  /** Resolves once every save submitted so far has finished (for an orderly shutdown). */
  async flush(): Promise<void> {
    await this.chain;
  }

  private async write(snapshot: StoredSnapshot): Promise<void> {
    const name = fileName(snapshot.meta.index);
    const tmp = join(this.dir, name + TMP_SUFFIX);
    const bytes = encodeSnapshotFile(snapshot.meta, snapshot.data);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, name));
    // The rename is a change to the directory: without syncing it, a power loss could leave
    // the old directory entry even though the file's bytes are on disk.
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  /**
   * Deletes every snapshot file older than `index`. Best effort: a failure only leaves a file
   * behind, which the next save removes, so it is not worth failing the node over.
   */
  private async removeOlder(index: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = NAME.exec(name);
      if (m?.[1] !== undefined && Number.parseInt(m[1], 16) < index) await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }
}

async function readSnapshot(dir: string, name: string, index: number): Promise<StoredSnapshot> {
  const path = join(dir, name);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new StorageError('STORAGE_IO', path, `cannot read snapshot ${path}: ${describeError(err)}`, { cause: err });
  }
  const fail = (what: string, cause?: unknown): StorageError =>
    new StorageError(
      'STORAGE_CORRUPT',
      path,
      `snapshot ${path} is corrupt: ${what}. Refusing to start rather than restore wrong state; restore this node from a replica or a backup.`,
      cause !== undefined ? { cause } : undefined,
    );
  let decoded: StoredSnapshot;
  try {
    decoded = decodeSnapshotFile(bytes);
  } catch (err) {
    if (err instanceof RecordError) throw fail(err.message, err);
    throw err;
  }
  if (decoded.meta.index !== index) throw fail(`it holds snapshot ${decoded.meta.index}, its name says ${index}`);
  return decoded;
}
