/**
 * Typed errors of the raftlock SDK. Every error the SDK throws for a reason of the
 * cluster or of a lock is a {@link RaftlockError} with a stable {@link RaftlockErrorCode};
 * aborts through a caller's `AbortSignal` reject with the signal's `reason`, as the platform does.
 */
import { SDK_ERROR_CODES, type SdkErrorCode } from '../protocol/index.js';

/** The stable error codes of the SDK: the protocol's list, less the codes the SDK handles itself. */
export const RAFTLOCK_ERROR_CODES = SDK_ERROR_CODES;

/** A code of {@link RAFTLOCK_ERROR_CODES}. */
export type RaftlockErrorCode = SdkErrorCode;

/** Base class of every raftlock SDK error; `code` says what happened. */
export abstract class RaftlockError extends Error {
  /** The stable code of this error. */
  abstract readonly code: RaftlockErrorCode;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * `lock(name, { waitMs, timeoutMs })` did not get the lock in time: the wait ran out, or the
 * call's `timeoutMs` ended it while it was waiting (then `cause` is the {@link UnavailableError}
 * of the cut-short request, and the SDK has withdrawn the wait).
 */
export class LockTimeoutError extends RaftlockError {
  override readonly name = 'LockTimeoutError';
  readonly code = 'LOCK_TIMEOUT' as const;
  constructor(
    /** The lock waited for. */
    readonly lockName: string,
    message = `timed out waiting for lock ${JSON.stringify(lockName)}`,
    options?: ErrorOptions,
    /**
     * False when the cluster said the lock was not acquired. True when the call's own deadline
     * ended the wait before the cluster answered: this client does not hold the lock, but the
     * cluster may have granted it just before the withdrawal and then had it released again (a
     * fencing token was used up, and for that moment nobody else could have it).
     */
    readonly outcomeUnknown = false,
  ) {
    super(message, options);
  }
}

/** A release (or a fenced write) of a lock this session does not hold (any more). */
export class NotHeldError extends RaftlockError {
  override readonly name = 'NotHeldError';
  readonly code = 'NOT_HELD' as const;
}

/**
 * The session ended (expired or closed) before or while the call ran; its locks are gone.
 * `outcomeUnknown` is true for a write whose earlier attempt may have been applied before the
 * session ended (the cluster forgets a session's results with the session).
 */
export class SessionExpiredError extends RaftlockError {
  override readonly name = 'SessionExpiredError';
  readonly code = 'SESSION_EXPIRED' as const;
  constructor(
    message: string,
    /** Whether the write may nevertheless have been applied (at most once). */
    readonly outcomeUnknown = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A lock is lost or may be lost: its session expired, or no keep-alive was acknowledged for so
 * long that the cluster may already have expired it. The reason of an aborted `Lock.signal`.
 */
export class LockLostError extends RaftlockError {
  override readonly name = 'LockLostError';
  readonly code = 'LOCK_LOST' as const;
  constructor(
    /** The lock concerned. */
    readonly lockName: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A fenced write was refused: the fence's lock is not held with that token any more. */
export class FencedError extends RaftlockError {
  override readonly name = 'FencedError';
  readonly code = 'FENCED' as const;
}

/**
 * No leader answered before the call's deadline (or the client is closed). `outcomeUnknown`
 * says whether a write may nevertheless have taken effect (at most once).
 */
export class UnavailableError extends RaftlockError {
  override readonly name: string = 'UnavailableError';
  readonly code = 'UNAVAILABLE' as const;
  constructor(
    message: string,
    /** Whether the write may have been applied (never more than once). False for reads. */
    readonly outcomeUnknown: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The client was closed: every later call (and every call still running) rejects with this. */
export class ClientClosedError extends UnavailableError {
  override readonly name = 'ClientClosedError';
  constructor(outcomeUnknown = false) {
    super('the raftlock client is closed; create a new one with connect()', outcomeUnknown);
  }
}

/** Bad input: wrong types, out-of-range values, empty or oversize names. */
export class InvalidArgumentError extends RaftlockError {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'INVALID_ARGUMENT' as const;
  constructor(
    message: string,
    /** The offending field, when known. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A limit of the cluster (sessions, waiters per lock, unacknowledged results...) was reached. */
export class LimitExceededError extends RaftlockError {
  override readonly name = 'LimitExceededError';
  readonly code = 'LIMIT_EXCEEDED' as const;
}

/** A counter operation would leave the safe-integer range. */
export class OverflowError extends RaftlockError {
  override readonly name = 'OverflowError';
  readonly code = 'OVERFLOW' as const;
}

/**
 * A watch asked for events the cluster no longer keeps: it went on from an index older than the
 * oldest the answering node holds (it was away too long, or started from an old index). Events
 * between that index and {@link resyncFrom} are gone, so the watch cannot go on without a gap:
 * read the state again (`lockInfo`, `counter(…).get()`, `election(…).leader()`…), then watch
 * from `resyncFrom`.
 */
export class CompactedError extends RaftlockError {
  override readonly name = 'CompactedError';
  readonly code = 'COMPACTED' as const;
  constructor(
    message: string,
    /** The oldest index a watch can start from now. */
    readonly resyncFrom: number,
  ) {
    super(message);
  }
}

/**
 * The cluster refused a credential: the client token, or (`field: 'session'`) the proof that
 * this client owns the session it named (docs/design.md#sessions-are-capabilities).
 */
export class AuthError extends RaftlockError {
  override readonly name = 'AuthError';
  readonly code = 'AUTH' as const;
  constructor(
    message: string,
    /** What was refused: `session` for a session's secret; undefined for the client token. */
    readonly field?: string,
  ) {
    super(message);
  }
}
