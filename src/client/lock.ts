/**
 * Held grants: a {@link Lock} (one lock) and, through the bases they share, a `MultiLock`
 * (several locks taken at once), a `Permit` of a semaphore and a `RwLockGrant` of a
 * readers-writer lock (permit.ts): the fencing token, a signal that fires when the grant is (or
 * may be) lost, and release. Also what the client's one acquire flow asks of each kind of grant
 * ({@link GrantRequest}).
 */
import type { CallOptions } from './cluster-client.js';
import type { Revocation, WatchEvent } from '../protocol/index.js';
import type { StateSource, WriteBody } from './counter.js';
import { ClientClosedError, LockLostError, NotHeldError, type RaftlockError } from './errors.js';
import type { Session } from './session.js';

/** What a held grant needs from its client. @internal */
export interface LockOwner {
  releaseLock(grant: HeldGrant, opts: CallOptions): Promise<void>;
}

/** Where a lock (or a permit, or a readers-writer lock grant) stands, as far as this client knows. */
export type LockState = 'held' | 'released' | 'lost';

/** The acquires of the protocol: of a lock, of several at once, of permits. @internal */
export type AcquireBody = Extract<WriteBody, { readonly op: 'acquire' | 'acquire-all' | 'acquire-permit' }>;
/** The releases of the protocol, as {@link AcquireBody}. @internal */
export type ReleaseBody = Extract<WriteBody, { readonly op: 'release' | 'release-all' | 'release-permit' }>;
/** The withdrawals of a queued acquire, as {@link AcquireBody}. @internal */
export type WithdrawBody = Extract<WriteBody, { readonly op: 'cancel-wait' | 'cancel-permit' }>;

/**
 * What one acquire asks for, as the client's one acquire flow runs it (local gates, the request
 * re-sent with one seq, its withdrawal when abandoned, the release of a grant that beat the
 * withdrawal): a lock, several locks at once, permits of a semaphore, a readers-writer lock in
 * one mode. @internal
 */
export interface GrantRequest<G extends HeldGrant> {
  /**
   * The names whose local gates are entered (in name order) before asking the cluster, so two
   * holders in one client never share a grant: a lock's names. None for permits: several callers
   * of one client may each hold their own.
   */
  readonly gates: readonly string[];
  /** How messages name what is asked for (`lock "a"`, `permit of semaphore "s"`). */
  readonly label: string;
  /** The `lockName` of a {@link LockTimeoutError} about it. */
  readonly errorName: string;
  /** The acquire, queued in the cluster for at most `waitMs` (0: granted now or not at all). */
  acquire(waitMs: number): AcquireBody;
  /** Withdraws acquire `seq` if it is still queued. */
  withdraw(seq: number): WithdrawBody;
  /** Gives back what acquire `seq` was granted. */
  release(seq: number): ReleaseBody;
  /** The held grant of acquire `seq`, with `token`; it calls `onGone` once it is no longer held. */
  grant(s: Session, seq: number, token: number, onGone: (leftover: readonly string[]) => void): G;
}

/**
 * How messages name a set of locks: `lock "a"` for one, `locks "a", "b"` for several. @internal
 */
export function describeLocks(names: readonly string[]): string {
  return names.length === 1 ? `lock ${JSON.stringify(names[0])}` : `locks ${names.map((n) => JSON.stringify(n)).join(', ')}`;
}

/** The release of locks `names`: all of them at once (`release-all`), or its one name. @internal */
export function lockRelease(names: readonly string[], all: boolean): ReleaseBody {
  return all ? { op: 'release-all', names } : { op: 'release', name: names[0] as string };
}

/**
 * What every held grant shares, whatever it holds ({@link Lock}, `MultiLock`, `Permit`,
 * `RwLockGrant`): one grant to this client's session, with one fencing token; a signal that
 * fires when the grant is (or may be) lost (its session ended, or its lease is in doubt:
 * docs/design.md#the-lock-lost-signal); release, with its completion in the background when the
 * outcome is unknown; `await using`. Not constructed directly: the client's acquires return its
 * subclasses.
 */
export abstract class HeldGrant implements AsyncDisposable {
  private readonly controller = new AbortController();
  private current: LockState = 'held';

  /** @internal Created by the client. */
  constructor(
    private readonly owner: LockOwner,
    /** @internal The session holding it. */
    readonly session: Session,
    /**
     * The fencing token: the log index of the entry that made the grant. It only grows from one
     * grant of a name to the next; see each kind for what it is unique among.
     */
    readonly fencingToken: number,
    /**
     * @internal Called once the grant is no longer held here (release, or certain loss), with
     * those of its locks the session may still hold in the cluster (after a revocation of some
     * of them): the client releases those before another holder in this client may take them.
     */
    private readonly onGone: (leftover: readonly string[]) => void,
    /** @internal How messages name it: `lock "a"`, `locks "a", "b"`, `permit of semaphore "s"`. */
    readonly label: string,
    /** @internal The `lockName` of errors about all of it (a lock's names joined by `, `; a semaphore's name). */
    readonly errorName: string,
  ) {
    session.holders.add(this); // a LeaseHolder (not in `implements`: onLeaseLost is internal, left out of the .d.ts)
    if (session.leaseInDoubt) {
      this.onLeaseLost(new LockLostError(this.errorName, `the lease of session ${session.id} may already have run out`), false);
    }
  }

  /**
   * Aborted (with a {@link LockLostError}) when the grant is lost or **may** be lost: its
   * session expired, an operator broke it (locks only: `breakLock`; its reason is in the error's
   * message), or no keep-alive was acknowledged for so long that the cluster could expire the
   * session before this client hears of it. Stop working under it when it fires. It is not
   * aborted by {@link release}.
   */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** `held`, `released` (by this client), or `lost` (its session ended, or an operator broke it). */
  get state(): LockState {
    return this.current;
  }

  /**
   * Releases the grant (a write through the leader). Throws {@link NotHeldError} when it is no
   * longer held: released before, or lost with its session. If it throws
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

  /** For `await using`: releases the grant unless it was released already or its loss was signalled. */
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

  /** @internal The write that gives the grant back. */
  abstract releaseBody(): ReleaseBody;

  /** @internal The session's lease ended or may have ended. */
  onLeaseLost(reason: RaftlockError, certain: boolean): void {
    const err =
      reason instanceof LockLostError && reason.lockName === ''
        ? new LockLostError(this.errorName, `${this.label}: ${reason.message}`, { cause: reason.cause })
        : reason;
    this.lose(err, certain, []);
  }

  /** @internal A release left in doubt was completed in the background (or its session ended). */
  releasedInBackground(): void {
    if (this.current === 'held') this.markGone('released');
  }

  /** @internal The client closed: the session (and so the grant) is gone. */
  closed(): void {
    if (this.current !== 'held') return;
    this.markGone('released');
  }

  /** @internal Fires the signal; when `certain`, the grant is lost, and `leftover` goes to the client. */
  protected lose(err: RaftlockError, certain: boolean, leftover: readonly string[]): void {
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
 * What {@link Lock} and `MultiLock` add to {@link HeldGrant}: the names of the locks, and
 * revocation by an operator (`breakLock`), which matches a grant by name and token. Not
 * constructed directly: {@link RaftlockClient.lock} and {@link RaftlockClient.lockAll} return
 * its subclasses.
 */
export abstract class HeldLocks extends HeldGrant {
  /** @internal Created by the client. */
  constructor(
    owner: LockOwner,
    session: Session,
    /** @internal Its locks, in name order. */
    readonly lockNames: readonly string[],
    fencingToken: number,
    onGone: (leftover: readonly string[]) => void,
  ) {
    super(owner, session, fencingToken, onGone, describeLocks(lockNames), lockNames.join(', '));
  }

  /**
   * The fencing token: the log index of the grant. Per lock it is unique and strictly
   * increasing over the cluster's whole history; across locks it never decreases but one
   * entry can grant several locks the same token, so a resource remembers the highest token
   * per lock name (docs/design.md#fencing-tokens).
   */
  declare readonly fencingToken: number;

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
}

/**
 * @internal What `withLock`, `withLockAll`, `withPermit`, `withRead` and `withWrite` share: `fn`
 * under `grant`, then its release, whatever happens. If `fn` succeeded but the grant turned out
 * to be lost before the release, {@link LockLostError}.
 */
export async function runHolding<G extends HeldGrant, T>(grant: G, fn: (grant: G) => Promise<T> | T, caller: string): Promise<T> {
  let result: T;
  try {
    result = await fn(grant);
  } catch (err) {
    await grant.release().catch(() => {});
    throw err;
  }
  try {
    await grant.release();
  } catch (err) {
    if (err instanceof NotHeldError) {
      const were = grant instanceof HeldLocks && grant.lockNames.length > 1 ? 'were' : 'was';
      throw new LockLostError(grant.errorName, `${grant.label} ${were} lost before ${caller} released it`, { cause: err });
    }
    throw err;
  }
  return result;
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

  /** @internal */
  releaseBody(): ReleaseBody {
    return lockRelease(this.lockNames, false);
  }
}

/**
 * Resolves, with the log index it was seen at, once lock `name` is free: at once if nobody holds
 * it now (a linearizable read), else at the end of the first later log entry after which nobody
 * does (a watch of its events from the index after that read). A lock handed straight to its next
 * waiter in the entry that freed it is never free: this waits for its queue to drain. Rejects
 * with `signal`'s reason when it aborts. @internal
 */
export async function lockFreed(source: StateSource, name: string, signal: AbortSignal): Promise<number> {
  const call = { signal };
  const first = await source.readIndexed({ op: 'lock-info', name }, call);
  if (first.value.holder === undefined) return first.index;
  const watch = source.watch({ prefix: name, kinds: ['lock'], fromIndex: first.index + 1, signal });
  try {
    let held = true;
    for (;;) {
      const r = await watch.nextEntry();
      // Only our own return() ends it without an error, and that comes after this loop.
      if (r.done === true) throw new ClientClosedError();
      for (const ev of r.value) {
        if (ev.name !== name) continue;
        if (ev.type === 'granted') held = true;
        else if (ev.type === 'released' || ev.type === 'expired' || ev.type === 'broken') held = false;
      }
      if (!held) return (r.value[0] as WatchEvent).index;
    }
  } finally {
    await watch.return();
  }
}
