/**
 * Exactly-once writes (docs/design.md#exactly-once-writes): each session keeps the result of
 * its recent writes by `seq`.
 *
 * Policy:
 * - A write's result is stored when it is executed — successes and state-dependent refusals
 *   alike (`NOT_HELD`, `FENCED`, `OVERFLOW`, waiters `LIMIT_EXCEEDED`...): re-executing a refused
 *   write later could succeed, which would be a second, different outcome.
 * - A write that finds its `seq` stored is a **retry**: it gets the stored result and is not
 *   executed again. A stored `queued` acquire is live: a retry sees its current position, and
 *   the stored result is replaced by the final outcome (`granted` / `timed-out`) when the wait
 *   ends, so a retry after failover finds its place or its grant (docs/design.md#locks).
 * - The client sends `ackedSeq`, the highest seq whose result it has seen; the session keeps
 *   the maximum ever received and drops every result at or below it. A write with
 *   `seq ≤ ackedSeq` that is not stored is `STALE_SEQUENCE`: its result is gone, and applying it
 *   again could apply it twice. Results above `ackedSeq` are never dropped, so exactly-once
 *   holds for every seq the client has not acknowledged.
 * - The table is bounded by refusing, not forgetting: a new write while `maxUnackedResults` are
 *   stored gets `LIMIT_EXCEEDED` (not stored, nothing executed; a retry may succeed later).
 * - Refusals about the session itself (`SESSION_EXPIRED`, `STALE_SEQUENCE`, table full) are not
 *   stored: nothing was executed. A write on a session that has ended gets `SESSION_EXPIRED`
 *   even if it had been applied: the table died with the session (as in ZooKeeper).
 */
import type { StateDigest } from './digest.js';
import type { CommandResult } from './results.js';
import type { Session } from './sessions.js';

export type DedupVerdict =
  | { readonly kind: 'new' }
  | { readonly kind: 'retry'; readonly stored: CommandResult }
  | { readonly kind: 'stale' }
  | { readonly kind: 'full' };

// Each change below is also a change of the state digest (digest.ts): a record's hash is taken
// out before it changes and put back after.

/**
 * Raises the session's acknowledged seq to `ackedSeq` and drops the results it covers. The
 * session's state record (which holds `ackedSeq`) is the caller's to update in the digest:
 * `SessionTable.renew`, the one caller, renews the session in the same breath.
 */
export function acknowledge(s: Session, ackedSeq: number | undefined, digest: StateDigest): void {
  if (ackedSeq === undefined || ackedSeq <= s.ackedSeq) return;
  s.ackedSeq = ackedSeq;
  for (const [seq, r] of [...s.results]) {
    if (seq > ackedSeq) continue;
    s.results.delete(seq);
    digest.result(-1, s.id, seq, r);
  }
}

/**
 * How a write with `seq` must be treated. `disabled` is the dedup-off negative control: a retry
 * is not recognised and counts as new (results are still stored; only the lookup is missing).
 */
export function classify(s: Session, seq: number, maxUnacked: number, disabled = false): DedupVerdict {
  const stored = disabled ? undefined : s.results.get(seq);
  if (stored !== undefined) return { kind: 'retry', stored };
  if (seq <= s.ackedSeq) return { kind: 'stale' };
  if (s.results.size >= maxUnacked) return { kind: 'full' };
  return { kind: 'new' };
}

/** Stores the result of write `seq` (replacing one stored under it: the dedup-off control). */
export function record(s: Session, seq: number, result: CommandResult, digest: StateDigest): void {
  const prev = s.results.get(seq);
  if (prev !== undefined) digest.result(-1, s.id, seq, prev);
  s.results.set(seq, result);
  digest.result(1, s.id, seq, result);
}

/** Replaces a stored result (a queued acquire's final outcome), if it is still stored. */
export function updateStored(s: Session, seq: number, result: CommandResult, digest: StateDigest): void {
  const prev = s.results.get(seq);
  if (prev === undefined) return;
  digest.result(-1, s.id, seq, prev);
  s.results.set(seq, result);
  digest.result(1, s.id, seq, result);
}
