/**
 * Several locks held as one grant: what {@link RaftlockClient.lockAll} returns
 * (docs/design.md#all-or-nothing-multi-locks).
 */
import { HeldLocks, lockRelease, type LockOwner, type ReleaseBody } from './lock.js';
import type { Session } from './session.js';

/**
 * Several locks taken at once, all or nothing, by this client's session
 * ({@link RaftlockClient.lockAll}): granted in one log entry, with one {@link fencingToken}
 * valid for each of them. Release them together with {@link release} (or `await using`, or
 * {@link RaftlockClient.withLockAll}); watch {@link signal} while working under them.
 *
 * It is lost, and its `signal` fires, when any of its locks is: its session ends or its lease
 * is in doubt (as for a {@link Lock}), or an operator breaks one of them (`breakLock`). After a
 * break, the SDK releases the others in the background (no other caller in this client gets
 * them before that), and {@link release} throws {@link NotHeldError}. The `lockName` of the signal's
 * {@link LockLostError} is the broken lock's name after a break, and otherwise its names joined
 * by `, `.
 */
export class MultiLock extends HeldLocks {
  /** @internal Created by the client, with `names` distinct and in name order. */
  constructor(
    owner: LockOwner,
    session: Session,
    names: readonly string[],
    fencingToken: number,
    onGone: (leftover: readonly string[]) => void,
  ) {
    super(owner, session, Object.freeze([...names]), fencingToken, onGone);
  }

  /** The locks held, distinct and in name order (JavaScript string order, as the cluster sorts them). */
  get names(): readonly string[] {
    return this.lockNames;
  }

  /**
   * The fencing token: the log index of the entry that granted all of them, valid for each of
   * these locks (for a fenced write, `{ lock: anyOfTheNames, token }`). Per lock it is higher
   * than any earlier grant of that lock (docs/design.md#fencing-tokens).
   */
  declare readonly fencingToken: number;

  /** @internal */
  releaseBody(): ReleaseBody {
    return lockRelease(this.lockNames, true);
  }
}
