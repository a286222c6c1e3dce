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
import type { CommandResult } from './results.js';
import type { Session } from './sessions.js';

export type DedupVerdict =
  | { readonly kind: 'new' }
  | { readonly kind: 'retry'; readonly stored: CommandResult }
  | { readonly kind: 'stale' }
  | { readonly kind: 'full' };

/** Raises the session's acknowledged seq to `ackedSeq` and drops the results it covers. */
export function acknowledge(s: Session, ackedSeq: number | undefined): void {
  if (ackedSeq === undefined || ackedSeq <= s.ackedSeq) return;
  s.ackedSeq = ackedSeq;
  for (const seq of [...s.results.keys()]) if (seq <= ackedSeq) s.results.delete(seq);
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

export function record(s: Session, seq: number, result: CommandResult): void {
  s.results.set(seq, result);
}

/** Replaces a stored result (a queued acquire's final outcome), if it is still stored. */
export function updateStored(s: Session, seq: number, result: CommandResult): void {
  if (s.results.has(seq)) s.results.set(seq, result);
}
