/**
 * Sessions (docs/design.md#sessions-and-leases): a client's lease on its locks and waits, and
 * the home of its exactly-once table.
 *
 * - A session is **alive at log time t iff `deadline > t`**. Its deadline is
 *   `lastKeepAlive + ttlMs`, except while a leader-change grace period holds it later.
 * - Every command naming a live session renews it (keep-alive, and every write, retried or
 *   not): the client is evidently alive. Renewal resets the grace counter.
 * - **Grace** ({@link SessionTable.grace}): at the first time-stamped entry of a new term, every
 *   session's deadline is raised to at least `t + ttlMs`, where `t` is that entry's log time —
 *   but a session that has already had `maxGraceExtensions` consecutive extensions without
 *   renewing in between gets none. A dead client therefore outlives its last renewal by at most
 *   `maxGraceExtensions` elections, each worth at most one TTL past that election's first entry.
 *   Only an actual raise counts as an extension.
 */
import { MAX_REVOCATIONS_KEPT } from '../protocol/index.js';
import type { CommandResult } from './results.js';
import { DeadlineQueue } from './deadline-queue.js';
import { acknowledge } from './dedup.js';
import type { StateDigest } from './digest.js';

export interface Session {
  readonly id: number;
  readonly ttlMs: number;
  readonly clientId: string | undefined;
  /**
   * The client token's name that opened it, when the cluster has tokens: sessions are bounded
   * per owner (docs/design.md#limits).
   */
  readonly owner: string | undefined;
  /** Proves the session (`bind`); never shown by introspection. */
  readonly secret: string;
  /** Log time of the last renewal (or of opening). */
  lastKeepAlive: number;
  /** The session is alive while log time is below this. */
  deadline: number;
  /** Grace extensions received since the last renewal. */
  graceCount: number;
  /** Highest seq whose result the client has acknowledged; results ≤ it are dropped. */
  ackedSeq: number;
  /** Exactly-once table: result of each applied write by seq (see dedup.ts). */
  readonly results: Map<number, CommandResult>;
  /**
   * The latest of its grants an operator revoked (`break-lock`), oldest first, at most
   * `MAX_REVOCATIONS_KEPT`: what its keep-alives answer, so its client learns of them.
   */
  readonly revoked: RevocationRecord[];
}

/** A revoked grant as a session keeps it: `at` is the index of the `break-lock` entry. */
export interface RevocationRecord {
  readonly at: number;
  readonly name: string;
  readonly token: number;
  readonly reason?: string;
}

interface SessionDeadline {
  readonly at: number;
  readonly tie: number;
}

export class SessionTable {
  private readonly sessions = new Map<number, Session>();
  /** Live sessions per owner (only owners with at least one). */
  private readonly owned = new Map<string, number>();
  private readonly due = new DeadlineQueue<SessionDeadline>((d) => this.sessions.get(d.tie)?.deadline === d.at);

  /**
   * @param digest the state digest, told of every change to a session (digest.ts); dedup.ts
   *   tells it of changes to the stored results.
   */
  constructor(private readonly digest: StateDigest) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Live sessions opened with the token named `owner`. O(1). */
  ownedBy(owner: string): number {
    return this.owned.get(owner) ?? 0;
  }

  get(id: number): Session | undefined {
    return this.sessions.get(id);
  }

  /** Sessions in id order (deterministic iteration for snapshots and grace). */
  sorted(): Session[] {
    return [...this.sessions.values()].sort((a, b) => a.id - b.id);
  }

  open(id: number, ttlMs: number, clientId: string | undefined, owner: string | undefined, secret: string, now: number): Session {
    const s: Session = {
      id,
      ttlMs,
      clientId,
      owner,
      secret,
      lastKeepAlive: now,
      deadline: now + ttlMs,
      graceCount: 0,
      ackedSeq: 0,
      results: new Map(),
      revoked: [],
    };
    this.insert(s);
    return s;
  }

  /** Adds a session as it is (restore), with its stored results. */
  insert(s: Session): void {
    this.sessions.set(s.id, s);
    if (s.owner !== undefined) this.owned.set(s.owner, this.ownedBy(s.owner) + 1);
    this.due.push({ at: s.deadline, tie: s.id });
    this.digest.session(1, s);
    this.digest.sessionState(1, s);
    for (const [seq, r] of s.results) this.digest.result(1, s.id, seq, r);
    for (const r of s.revoked) this.digest.revocation(1, s.id, r);
  }

  remove(id: number): void {
    const s = this.sessions.get(id);
    if (s === undefined) return;
    this.digest.session(-1, s);
    this.digest.sessionState(-1, s);
    for (const [seq, r] of s.results) this.digest.result(-1, s.id, seq, r);
    for (const r of s.revoked) this.digest.revocation(-1, s.id, r);
    this.sessions.delete(id);
    if (s.owner !== undefined) {
      const left = this.ownedBy(s.owner) - 1;
      if (left > 0) this.owned.set(s.owner, left);
      else this.owned.delete(s.owner);
    }
    this.compact();
  }

  /**
   * Renews `s` at log time `now` and takes the client's acknowledgement `ackedSeq` (dedup.ts):
   * every command naming a live session does both, and together they change the session's
   * state record once (one update of the digest instead of two).
   */
  renew(s: Session, now: number, ackedSeq: number | undefined): void {
    this.digest.sessionState(-1, s);
    s.lastKeepAlive = now;
    s.graceCount = 0;
    this.setDeadline(s, now + s.ttlMs);
    acknowledge(s, ackedSeq, this.digest);
    this.digest.sessionState(1, s);
  }

  /** Remembers that a grant of `s` was revoked; the oldest memory goes beyond the bound. */
  revoke(s: Session, r: RevocationRecord): void {
    s.revoked.push(r);
    this.digest.revocation(1, s.id, r);
    while (s.revoked.length > MAX_REVOCATIONS_KEPT) this.digest.revocation(-1, s.id, s.revoked.shift() as RevocationRecord);
  }

  /** Leader-change grace at log time `now` (see the module comment). */
  grace(now: number, maxExtensions: number): void {
    for (const s of this.sessions.values()) {
      const target = now + s.ttlMs;
      if (s.deadline >= target || s.graceCount >= maxExtensions) continue;
      this.digest.sessionState(-1, s);
      s.graceCount++;
      this.setDeadline(s, target);
      this.digest.sessionState(1, s);
    }
  }

  /**
   * The next session with `deadline ≤ now`, in (deadline, id) order. Its queue entry is
   * consumed: the caller must remove the session.
   */
  popDue(now: number): Session | undefined {
    const d = this.due.popDue(now);
    return d === undefined ? undefined : this.sessions.get(d.tie);
  }

  /** Ids of sessions with `deadline ≤ now`, in (deadline, id) order, at most `limit`. */
  expiredAt(now: number, limit?: number): number[] {
    return this.due.collectDue(now, limit).map((d) => d.tie);
  }

  /** The earliest deadline of any session. */
  nextDeadline(): number | undefined {
    return this.due.peek()?.at;
  }

  private setDeadline(s: Session, deadline: number): void {
    if (deadline === s.deadline) return;
    s.deadline = deadline;
    this.due.push({ at: deadline, tie: s.id });
    this.compact();
  }

  /** Keeps the heap within a constant factor of the live sessions (stale entries dropped). */
  private compact(): void {
    if (this.due.size > 2 * this.sessions.size + 64) {
      this.due.rebuild([...this.sessions.values()].map((s) => ({ at: s.deadline, tie: s.id })));
    }
  }
}
