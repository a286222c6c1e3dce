/**
 * What applying an entry hands back: the command's result (for the proposer, if it waits on
 * this node) and events (for requests blocked elsewhere: a queued acquire granted or timed out,
 * sessions that ended). Every replica computes the same output for the same entry; only the
 * node holding the matching pending requests acts on it.
 */
import type {
  AcquireValue,
  BreakLockValue,
  CancelWaitValue,
  CloseSessionValue,
  KeepAliveValue,
  OpenSessionValue,
  OpValues,
  PermitKind,
  ReleaseAllValue,
  ReleaseValue,
} from '../protocol/index.js';
import type { CommandType } from './commands.js';
import type { Result } from './errors.js';

export type {
  AcquireValue,
  BreakLockValue,
  CancelWaitValue,
  CloseSessionValue,
  Grant,
  KeepAliveValue,
  OpenSessionValue,
  ReleaseAllValue,
  ReleaseValue,
} from '../protocol/index.js';

export interface ExpireSessionsValue {
  /** Listed sessions that no longer exist (expired now or earlier, closed, or never opened). */
  readonly expired: readonly number[];
  /** Listed sessions still alive by log time (a keep-alive won the race, or a grace period). */
  readonly survived: readonly number[];
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
  readonly 'acquire-all': AcquireValue;
  readonly 'release-all': ReleaseAllValue;
  readonly 'cancel-wait': CancelWaitValue;
  readonly 'break-lock': BreakLockValue;
  readonly 'acquire-permit': AcquireValue;
  readonly 'release-permit': ReleaseValue;
  readonly 'cancel-permit': CancelWaitValue;
  /** Nothing: the leader's value changed. */
  readonly proclaim: null;
  /** The new value. */
  readonly 'counter-add': OpValues['counter-add'];
  readonly 'counter-set': OpValues['counter-set'];
  readonly 'counter-cas': OpValues['counter-cas'];
  /** The value at this entry's index. */
  readonly 'counter-get': number;
  readonly 'counter-delete': OpValues['counter-delete'];
}

/** Value of any command, or `null` for entries without a command (`noop`, `config`). */
export type CommandValue = CommandValues[CommandType] | null;

export type CommandResult = Result<CommandValue>;

/**
 * Events of one apply step, in the order they happened. The events of a wait name its lock;
 * those of an all-or-nothing wait (`acquire-all`) also list all its locks in `names` (`name` is
 * then the first of them). Events of a semaphore or readers-writer lock carry its `kind`
 * (absent: a lock); `granted`, `wait-timeout`, `wait-cancelled` and `lock-released` are theirs
 * too. Of an election, `granted` makes a candidate the leader and `lock-released` says the
 * leader resigned or its session ended; a `proclaim` has no event (its command and result say
 * it all).
 * - `granted`: a release, close or expiry handed `name` to the waiting acquire `(session, seq)`
 *   in this same step; `token` is this entry's index. Hand-offs come last in the step, after
 *   the command's own events (see lock-machine.ts). A grant to a free lock is in the acquire's
 *   result instead, with no event.
 * - `wait-timeout`: the queued acquire `(session, seq)` reached its deadline and left the queue.
 * - `wait-cancelled`: the queued acquire `(session, seq)` was withdrawn by its session's
 *   `cancel-wait` and left the queue.
 * - `session-expired` / `session-closed`: the session ended; its waits are gone (no separate
 *   events for them) and its locks are released (one `lock-released` each, after this event).
 * - `lock-broken`: an operator's `break-lock` revoked the grant `token` of `session` on `name`
 *   (with its `reason`, if given); a `lock-released` for it follows.
 * - `lock-released`: `session` no longer holds `name` (token `token`): release, close, expiry
 *   or break.
 */
export type MachineEvent =
  | {
      readonly type: 'granted';
      readonly kind?: PermitKind;
      readonly name: string;
      readonly names?: readonly string[];
      readonly session: number;
      readonly seq: number;
      readonly token: number;
      readonly acquiredAt: number;
      readonly expiresAt: number;
    }
  | {
      readonly type: 'wait-timeout' | 'wait-cancelled';
      readonly kind?: PermitKind;
      readonly name: string;
      readonly names?: readonly string[];
      readonly session: number;
      readonly seq: number;
    }
  | { readonly type: 'session-expired'; readonly session: number }
  | { readonly type: 'session-closed'; readonly session: number }
  | { readonly type: 'lock-broken'; readonly name: string; readonly session: number; readonly token: number; readonly reason?: string }
  | { readonly type: 'lock-released'; readonly kind?: PermitKind; readonly name: string; readonly session: number; readonly token: number };

/** What `apply` returns. */
export interface ApplyOutput {
  readonly result: CommandResult;
  readonly events: readonly MachineEvent[];
}
