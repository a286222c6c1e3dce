/**
 * Typed errors of the storage layer. Each carries a stable `code` (for callers and tests to
 * branch on) and the `path` it concerns, and its message says what and where in words an
 * operator can act on: a node stops with a clear message rather than serve wrong data
 * (docs/design.md#storage).
 */
import type { Done } from './durable-log.js';

/**
 * - `STORAGE_LOCKED`: another process (or another open handle) has the directory open.
 * - `STORAGE_MISMATCH`: the directory belongs to another cluster or node, or to a newer format.
 * - `STORAGE_CORRUPT`: a record failed its checksum, could not be decoded, or the log is not
 *   contiguous / consistent. Never repaired silently.
 * - `STORAGE_GAP`: a write would leave a hole in the log (refused, nothing written).
 * - `STORAGE_INVALID`: a write is malformed (entries not contiguous, not safe integers...).
 * - `STORAGE_IO`: the underlying database or file system failed.
 * - `STORAGE_CLOSED`: used after `close()`.
 */
export type StorageErrorCode =
  'STORAGE_LOCKED' | 'STORAGE_MISMATCH' | 'STORAGE_CORRUPT' | 'STORAGE_GAP' | 'STORAGE_INVALID' | 'STORAGE_IO' | 'STORAGE_CLOSED';

/** An error of the storage layer; `message` already names `path`. */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** The directory or file concerned. */
  readonly path: string;

  constructor(code: StorageErrorCode, path: string, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'StorageError';
    this.code = code;
    this.path = path;
  }
}

/** A decoding failure inside one record; the caller adds which record and where. */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

/** Best-effort text of an unknown thrown value, for messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? ` (${describeError(err.cause)})` : '';
    return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}${cause}`;
  }
  return String(err);
}

/**
 * Calls a completion callback so that an exception thrown by it cannot break the caller's
 * write queue: the exception is rethrown on a fresh stack, where it is an uncaught exception
 * like any thrown by a Node callback (the host's fail-stop relies on exactly that).
 */
export function invokeDone(done: Done, error: Error | null): void {
  try {
    done(error);
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown;
    });
  }
}
