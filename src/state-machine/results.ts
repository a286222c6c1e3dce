/**
 * What applying an entry hands back: the command's result (for the proposer, if it waits on
 * this node) and events (for requests blocked elsewhere: a queued acquire granted or timed out,
 * sessions that ended). Every replica computes the same output for the same entry; only the
 * node holding the matching pending requests acts on it.
 */
import type { CommandType } from './commands.js';
import type { Result } from './errors.js';

export interface OpenSessionValue {
  /** The session's id: the index of the entry that opened it (unique for all time). */
  readonly sessionId: number;
  readonly ttlMs: number;
  /** Log time at which the session expires unless renewed. */
  readonly expiresAt: number;
}

export interface KeepAliveValue {
  readonly expiresAt: number;
}

export interface CloseSessionValue {
  /** Locks the session held and released, in name order. */
  readonly released: readonly string[];
}

export interface ExpireSessionsValue {
  /** Listed sessions that no longer exist (expired now or earlier, closed, or never opened). */
  readonly expired: readonly number[];
  /** Listed sessions still alive by log time (a keep-alive won the race, or a grace period). */
  readonly survived: readonly number[];
}

/** A lock grant. `token` is the index of the granting entry (the fencing token, DESIGN §1). */
export interface Grant {
  readonly token: number;
  /** Log time of the grant. */
  readonly acquiredAt: number;
  /** The holder session's deadline when this value was produced (the lease ends with it). */
  readonly expiresAt: number;
}

/**
 * Outcomes of `acquire`:
 * - `granted`: the lock was free, or (as the stored result of a queued acquire, seen by a
 *   retry) it was later handed to this wait;
 * - `held-by-you`: the session already holds it; the existing grant, unchanged (idempotent);
 * - `not-acquired`: held by another session and `waitMs` was 0;
 * - `queued`: held by another; the session waits at `position` (1 = next) until `deadline`;
 * - `timed-out`: (retry of a queued acquire only) the wait ended at its deadline ungranted.
 */
export type AcquireValue =
  | ({ readonly status: 'granted' } & Grant)
  | ({ readonly status: 'held-by-you' } & Grant)
  | { readonly status: 'not-acquired' }
  | { readonly status: 'queued'; readonly position: number; readonly deadline: number }
  | { readonly status: 'timed-out' };

export interface ReleaseValue {
  readonly status: 'released';
  readonly token: number;
}

/** The value type of each command's successful result. */
export interface CommandValues {
  readonly 'open-session': OpenSessionValue;
  readonly 'keep-alive': KeepAliveValue;
  readonly 'expire-sessions': ExpireSessionsValue;
  readonly tick: null;
  readonly 'close-session': CloseSessionValue;
  readonly acquire: AcquireValue;
  readonly release: ReleaseValue;
  /** The new value. */
  readonly 'counter-add': number;
  /** The previous value. */
  readonly 'counter-set': number;
  /** Whether the swap happened. */
  readonly 'counter-cas': boolean;
  readonly 'counter-get': number;
  /** The previous value (the counter reads 0 afterwards). */
  readonly 'counter-delete': number;
}

/** Value of any command, or `null` for entries without a command (`noop`, `config`). */
export type CommandValue = CommandValues[CommandType] | null;

export type CommandResult = Result<CommandValue>;

/**
 * Events of one apply step, in the order they happened:
 * - `granted`: a release, close or expiry handed `name` to the waiting acquire `(session, seq)`
 *   in this same step; `token` is this entry's index. Hand-offs come last in the step, after
 *   the command's own events (see lock-machine.ts). A grant to a free lock is in the acquire's
 *   result instead, with no event.
 * - `wait-timeout`: the queued acquire `(session, seq)` reached its deadline and left the queue.
 * - `session-expired` / `session-closed`: the session ended; its waits are gone (no separate
 *   events for them) and its locks are released (one `lock-released` each, after this event).
 * - `lock-released`: `session` no longer holds `name` (token `token`): release, close or expiry.
 */
export type MachineEvent =
  | { readonly type: 'granted'; readonly name: string; readonly session: number; readonly seq: number; readonly token: number; readonly acquiredAt: number; readonly expiresAt: number }
  | { readonly type: 'wait-timeout'; readonly name: string; readonly session: number; readonly seq: number }
  | { readonly type: 'session-expired'; readonly session: number }
  | { readonly type: 'session-closed'; readonly session: number }
  | { readonly type: 'lock-released'; readonly name: string; readonly session: number; readonly token: number };

/** What `apply` returns. */
export interface ApplyOutput {
  readonly result: CommandResult;
  readonly events: readonly MachineEvent[];
}
