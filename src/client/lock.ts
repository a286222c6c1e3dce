/**
 * Held locks: a {@link Lock} (one lock) and, through the base they share, a `MultiLock` (several
 * taken at once): the fencing token, a signal that fires when they are (or may be) lost, and
 * release.
 */
import type { CallOptions } from './cluster-client.js';
import type { Revocation } from '../protocol/index.js';
import { LockLostError, NotHeldError, type RaftlockError } from './errors.js';
import type { Session } from './session.js';

/** What a held lock needs from its client. @internal */
export interface LockOwner {
  releaseLock(lock: HeldLocks, opts: CallOptions): Promise<void>;
}

/** Where a lock stands, as far as this client knows. */
export type LockState = 'held' | 'released' | 'lost';

/**
 * How messages name a set of locks: `lock "a"` for one, `locks "a", "b"` for several. @internal
 */
export function describeLocks(names: readonly string[]): string {
  return names.length === 1 ? `lock ${JSON.stringify(names[0])}` : `locks ${names.map((n) => JSON.stringify(n)).join(', ')}`;
}

/**
 * What {@link Lock} and `MultiLock` share: one grant of one or more locks to this client's
 * session, with one fencing token; a signal that fires when the grant is (or may be) lost;
 * release, `await using`. Not constructed directly: {@link RaftlockClient.lock} and
 * {@link RaftlockClient.lockAll} return its subclasses.
 */
export abstract class HeldLocks implements AsyncDisposable {
  private readonly controller = new AbortController();
  private current: LockState = 'held';

  /** @internal Created by the client. */
  constructor(
    private readonly owner: LockOwner,
    /** @internal The session holding it. */
    readonly session: Session,
    /** @internal Its locks, in name order. */
    readonly lockNames: readonly string[],
    /**
     * The fencing token: the log index of the grant. Per lock it is unique and strictly
     * increasing over the cluster's whole history; across locks it never decreases but one
     * entry can grant several locks the same token, so a resource remembers the highest token
     * per lock name (docs/design.md#fencing-tokens).
     */
    readonly fencingToken: number,
    /**
     * @internal Called once the grant is no longer held here (release, or certain loss), with
     * those of its locks the session may still hold in the cluster (after a revocation of some
     * of them): the client releases those before another holder in this client may take them.
     */
    private readonly onGone: (leftover: readonly string[]) => void,
  ) {
    session.holders.add(this); // a LeaseHolder (not in `implements`: onLeaseLost is internal, left out of the .d.ts)
    if (session.leaseInDoubt) {
      this.onLeaseLost(new LockLostError(this.errorName, `the lease of session ${session.id} may already have run out`), false);
    }
  }

  /** @internal How messages name it: `lock "a"`, or `locks "a", "b"`. */
  get label(): string {
    return describeLocks(this.lockNames);
  }

  /** @internal The `lockName` of errors about all of it: its names, joined by `, `. */
  get errorName(): string {
    return this.lockNames.join(', ');
  }

  /**
   * Aborted (with a {@link LockLostError}) when the lock is lost or **may** be lost: its session
   * expired, an operator broke it (`breakLock`; its reason is in the error's message), or no
   * keep-alive was acknowledged for so long that the cluster could expire the session before
   * this client hears of it. Stop working under the lock when it fires. It is
   * not aborted by {@link release}.
   */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** `held`, `released` (by this client), or `lost` (its session ended, or an operator broke it). */
  get state(): LockState {
    return this.current;
  }

  /**
   * Releases the lock (a write through the leader). Throws {@link NotHeldError} when the lock
   * is no longer held: released before, or lost with its session. If it throws
   * {@link UnavailableError} (no leader in time), the SDK goes on releasing in the background
   * (at most once) until the cluster answers or the session ends.
   */
  async release(opts: CallOptions = {}): Promise<void> {
    if (this.current === 'released') throw new NotHeldError(`${this.label} (token ${this.fencingToken}) was already released`);
    if (this.current === 'lost') {
      this.markGone('released');
      throw new NotHeldError(
        `${this.label} (token ${this.fencingToken}) was lost: ${String((this.signal.reason as Error | undefined)?.message)}`,
      );
    }
    try {
      await this.owner.releaseLock(this, opts);
      this.markGone('released');
    } catch (err) {
      if (err instanceof NotHeldError) this.markGone('released');
      throw err;
    }
  }

  /** For `await using`: releases the lock unless it was released already or its loss was signalled. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.current === 'released') return;
    try {
      await this.release();
    } catch (err) {
      // The holder was told through `signal` already; do not mask the block's own outcome.
      if (err instanceof NotHeldError && this.signal.aborted) return;
      throw err;
    }
  }

  /** @internal The session's lease ended or may have ended. */
  onLeaseLost(reason: RaftlockError, certain: boolean): void {
    const err =
      reason instanceof LockLostError && reason.lockName === ''
        ? new LockLostError(this.errorName, `${this.label}: ${reason.message}`, { cause: reason.cause })
        : reason;
    this.lose(err, certain, []);
  }

  /**
   * @internal The session's keep-alive listed revoked grants: if one of its locks is among them
   * (same name and token), an operator broke it and the grant is lost. The session may still
   * hold its other locks: they are handed to `onGone`, for the client to release.
   */
  onRevoked(revoked: readonly Revocation[]): void {
    const mine = (x: Revocation): boolean => x.token === this.fencingToken && this.lockNames.includes(x.name);
    const r = revoked.find(mine);
    if (r === undefined) return;
    const why = r.reason === undefined ? 'no reason given' : `reason: ${r.reason}`;
    const of = this.lockNames.length > 1 ? ` of ${this.label}` : '';
    const message = `lock ${JSON.stringify(r.name)}${of} (token ${this.fencingToken}) was broken by an operator (${why})`;
    const leftover = this.lockNames.filter((name) => !revoked.some((x) => mine(x) && x.name === name));
    this.lose(new LockLostError(r.name, message), true, leftover);
  }

  /** @internal A release left in doubt was completed in the background (or its session ended). */
  releasedInBackground(): void {
    if (this.current === 'held') this.markGone('released');
  }

  /** @internal The client closed: the session (and so the lock) is gone. */
  closed(): void {
    if (this.current !== 'held') return;
    this.markGone('released');
  }

  private lose(err: RaftlockError, certain: boolean, leftover: readonly string[]): void {
    if (!this.controller.signal.aborted) this.controller.abort(err);
    if (certain && this.current === 'held') {
      this.current = 'lost';
      this.session.holders.delete(this);
      this.onGone(leftover);
    }
  }

  private markGone(state: LockState): void {
    const wasHeld = this.current === 'held';
    this.current = state;
    this.session.holders.delete(this);
    if (wasHeld) this.onGone([]);
  }
}

/**
 * A lock held by this client's session. Release it with {@link release} (or `await using`,
 * or {@link RaftlockClient.withLock}); watch {@link signal} while working under it.
 *
 * The lease can run out under a paused or cut-off holder; pass {@link fencingToken} to the
 * resource you protect (or use fenced counter writes) so that a stale holder is refused.
 */
export class Lock extends HeldLocks {
  /** @internal Created by the client. */
  constructor(
    owner: LockOwner,
    session: Session,
    /** The lock's name. */
    readonly name: string,
    fencingToken: number,
    onGone: (leftover: readonly string[]) => void,
  ) {
    super(owner, session, [name], fencingToken, onGone);
  }
}
