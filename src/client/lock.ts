/**
 * A held lock: its fencing token, a signal that fires when it is (or may be) lost, and release.
 */
import type { CallOptions } from './cluster-client.js';
import type { Revocation } from '../protocol/index.js';
import { LockLostError, NotHeldError, type RaftlockError } from './errors.js';
import type { Session } from './session.js';

/** What a {@link Lock} needs from its client. @internal */
export interface LockOwner {
  releaseLock(lock: Lock, opts: CallOptions): Promise<void>;
}

/** Where a lock stands, as far as this client knows. */
export type LockState = 'held' | 'released' | 'lost';

/**
 * A lock held by this client's session. Release it with {@link release} (or `await using`,
 * or {@link RaftlockClient.withLock}); watch {@link signal} while working under it.
 *
 * The lease can run out under a paused or cut-off holder; pass {@link fencingToken} to the
 * resource you protect (or use fenced counter writes) so that a stale holder is refused.
 */
export class Lock implements AsyncDisposable {
  private readonly controller = new AbortController();
  private current: LockState = 'held';

  /** @internal Created by the client. */
  constructor(
    private readonly owner: LockOwner,
    /** @internal The session holding it. */
    readonly session: Session,
    /** The lock's name. */
    readonly name: string,
    /**
     * The fencing token: the log index of the grant. Per lock it is unique and strictly
     * increasing over the cluster's whole history; across locks it never decreases but one
     * entry can grant several locks the same token, so a resource remembers the highest token
     * per lock name (docs/design.md#fencing-tokens).
     */
    readonly fencingToken: number,
    /** @internal Called once the lock is no longer held (release, or certain loss). */
    private readonly onGone: () => void,
  ) {
    session.holders.add(this); // a LeaseHolder (not in `implements`: onLeaseLost is internal, left out of the .d.ts)
    if (session.leaseInDoubt) {
      this.onLeaseLost(new LockLostError(name, `the lease of session ${session.id} may already have run out`), false);
    }
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

  /** `held`, `released` (by this client), or `lost` (its session ended). */
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
    if (this.current === 'released')
      throw new NotHeldError(`lock ${JSON.stringify(this.name)} (token ${this.fencingToken}) was already released`);
    if (this.current === 'lost') {
      this.markGone('released');
      throw new NotHeldError(
        `lock ${JSON.stringify(this.name)} (token ${this.fencingToken}) was lost: ${String((this.signal.reason as Error | undefined)?.message)}`,
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
        ? new LockLostError(this.name, `lock ${JSON.stringify(this.name)}: ${reason.message}`, { cause: reason.cause })
        : reason;
    if (!this.controller.signal.aborted) this.controller.abort(err);
    if (certain && this.current === 'held') {
      this.current = 'lost';
      this.session.holders.delete(this);
      this.onGone();
    }
  }

  /**
   * @internal The session's keep-alive listed revoked grants: if this one is among them (same
   * name and token), an operator broke it and it is lost.
   */
  onRevoked(revoked: readonly Revocation[]): void {
    const r = revoked.find((x) => x.name === this.name && x.token === this.fencingToken);
    if (r === undefined) return;
    const why = r.reason === undefined ? 'no reason given' : `reason: ${r.reason}`;
    const message = `lock ${JSON.stringify(this.name)} (token ${this.fencingToken}) was broken by an operator (${why})`;
    this.onLeaseLost(new LockLostError(this.name, message), true);
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

  private markGone(state: LockState): void {
    const wasHeld = this.current === 'held';
    this.current = state;
    this.session.holders.delete(this);
    if (wasHeld) this.onGone();
  }
}
