/**
 * One cluster session as the SDK sees it: its id, the sequence numbers of its writes and the
 * acknowledgement of their results (`ackedSeq`), the background keep-alive, and the lease
 * watchdog that tells lock holders when their locks are lost or may be lost.
 *
 * The watchdog runs on the client's own monotonic clock: each renewal the cluster acknowledged
 * counts from the moment its request was *sent* (the server renewed no earlier than that), and
 * the locks' signals fire at `lastRenewal + ttl − safetyMargin`, before the cluster could
 * expire the session even if the clocks drift apart by up to the margin.
 */
import type { Revocation } from '../protocol/index.js';
import { now, RemoteError, type ClusterClient } from './cluster-client.js';
import { LockLostError, SessionExpiredError, type RaftlockError } from './errors.js';

/** Something to tell when the session's locks are (or may be) lost. */
export interface LeaseHolder {
  /** Lost for sure (`certain`: the session ended) or maybe (no renewal acknowledged in time). */
  onLeaseLost(reason: RaftlockError, certain: boolean): void;
  /** The cluster reports grants of this session that an operator revoked (`break-lock`). */
  onRevoked?(revoked: readonly Revocation[]): void;
}

/** A session of the cluster, kept alive in the background until closed or expired. */
export class Session {
  private nextSeq = 1;
  /** Seqs finished (answered or given up) above {@link ackedSeq}. */
  private readonly finished = new Set<number>();
  private acked = 0;
  private lastRenewal: number;
  private watchdog: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private expiredError: SessionExpiredError | undefined;
  private mayBeLost = false;
  /** Holders of this session's locks. */
  readonly holders = new Set<LeaseHolder>();

  constructor(
    private readonly cluster: ClusterClient,
    /** The session id (the index of the entry that opened it). */
    readonly id: number,
    /** The lease length the cluster granted. */
    readonly ttlMs: number,
    /** The moment the open-session request was sent (client clock). */
    openedAt: number,
    private readonly safetyMarginMs: number,
    private readonly onExpired: (s: Session) => void,
  ) {
    this.lastRenewal = openedAt;
    this.armWatchdog();
    this.scheduleKeepAlive(ttlMs / 3);
  }

  /** The highest seq up to which every result has been seen (or given up on). */
  get ackedSeq(): number {
    return this.acked;
  }

  /** Set once the cluster said the session ended. */
  get expired(): SessionExpiredError | undefined {
    return this.expiredError;
  }

  /** Whether the lease may have run out (no renewal acknowledged within ttl − margin). */
  get leaseInDoubt(): boolean {
    return this.expiredError !== undefined || now() >= this.lastRenewal + this.ttlMs - this.safetyMarginMs;
  }

  /** A fresh seq for a new write. */
  allocSeq(): number {
    return this.nextSeq++;
  }

  /**
   * Marks `seq` done: its result was seen or will never be asked for again. The contiguous
   * prefix of done seqs becomes `ackedSeq`, letting the cluster drop their stored results and
   * refuse a late duplicate of any of them.
   */
  finish(seq: number): void {
    if (seq <= this.acked) return;
    this.finished.add(seq);
    while (this.finished.delete(this.acked + 1)) this.acked++;
  }

  /** The cluster renewed the session in answer to a request sent at `sentAt`. */
  renewed(sentAt: number): void {
    if (sentAt <= this.lastRenewal) return;
    this.lastRenewal = sentAt;
    this.mayBeLost = false;
    this.armWatchdog();
  }

  /** The cluster said the session ended: every lock is lost, and the session is unusable. */
  markExpired(err: SessionExpiredError): void {
    if (this.expiredError !== undefined) return;
    this.expiredError = err;
    this.stop();
    for (const h of [...this.holders])
      h.onLeaseLost(new LockLostError('', `session ${this.id} ended: ${err.message}`, { cause: err }), true);
    this.holders.clear();
    this.onExpired(this);
  }

  /** Stops the keep-alive and the watchdog (close, or expiry). */
  stop(): void {
    this.stopped = true;
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    if (this.keepAliveTimer !== undefined) clearTimeout(this.keepAliveTimer);
  }

  private armWatchdog(): void {
    if (this.stopped) return;
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    const due = this.lastRenewal + this.ttlMs - this.safetyMarginMs;
    this.watchdog = setTimeout(() => this.checkLease(), Math.max(0, due - now()));
    this.watchdog.unref();
  }

  private checkLease(): void {
    if (this.stopped || this.mayBeLost) return;
    if (!this.leaseInDoubt) {
      this.armWatchdog();
      return;
    }
    this.mayBeLost = true;
    const silentFor = Math.round(now() - this.lastRenewal);
    for (const h of [...this.holders]) {
      h.onLeaseLost(
        new LockLostError(
          '',
          `no keep-alive of session ${this.id} acknowledged for ${silentFor} ms (ttl ${this.ttlMs} ms): the lock may be lost`,
        ),
        false,
      );
    }
  }

  private scheduleKeepAlive(delayMs: number): void {
    if (this.stopped) return;
    this.keepAliveTimer = setTimeout(() => void this.keepAlive(), delayMs);
    this.keepAliveTimer.unref();
  }

  private async keepAlive(): Promise<void> {
    if (this.stopped) return;
    const interval = this.ttlMs / 3;
    const started = now();
    try {
      const r = await this.cluster.call({
        build: () => ({ op: 'keep-alive', session: this.id, ackedSeq: this.acked }),
        write: false,
        deadline: started + interval,
      });
      this.renewed(r.sentAt);
      const revoked = r.value.revoked;
      if (revoked !== undefined) for (const h of [...this.holders]) h.onRevoked?.(revoked);
    } catch (err) {
      if (err instanceof RemoteError && err.error.code === 'SESSION_EXPIRED') {
        this.markExpired(new SessionExpiredError(err.message));
        return;
      }
      // Unavailable or closing: try again at once (the watchdog warns holders meanwhile).
      if (this.cluster.closed) return;
      this.scheduleKeepAlive(50);
      return;
    }
    this.scheduleKeepAlive(Math.max(0, started + interval - now()));
  }
}
