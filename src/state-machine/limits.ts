/**
 * Bounds of the lock/counter state machine (DESIGN §2.7, §2.4).
 *
 * Two kinds:
 * - **Fixed ranges** that are part of the contract or keep arithmetic exact: session TTL
 *   1 s – 10 min (§2.4), log time within [0, 2^50] ms (≈ 35,000 years, so `time + ttl` and
 *   `time + waitMs` stay far inside the safe-integer range), counter values within ±(2^53 − 1).
 * - **Configurable limits** ({@link Limits}) with the defaults of §2.7. They change what the
 *   machine accepts, so every replica of a cluster must run with the same values (they belong
 *   in the cluster configuration, never in one node's): two replicas with different limits
 *   would diverge on the same log.
 */

/** Shortest session TTL (DESIGN §2.4). */
export const MIN_TTL_MS = 1_000;
/** Longest session TTL (DESIGN §2.4). */
export const MAX_TTL_MS = 600_000;
/** Largest log time stamp accepted in an entry (ms since the epoch, or any monotonic origin). */
export const MAX_LOG_TIME = 2 ** 50;
/** Largest magnitude of a counter value and of any integer operand (JavaScript safe integers). */
export const MAX_COUNTER_MAGNITUDE = Number.MAX_SAFE_INTEGER;

export interface Limits {
  /** Lock, counter and client-id names: 1 to this many UTF-8 bytes (§2.7: 256). */
  readonly maxNameBytes: number;
  /** Live sessions in the cluster (§2.7: 100,000). Opening one more → `LIMIT_EXCEEDED`. */
  readonly maxSessions: number;
  /** Waiters queued on one lock (§2.7: 10,000). Queueing one more → `LIMIT_EXCEEDED`. */
  readonly maxWaitersPerLock: number;
  /**
   * Results a session may keep unacknowledged in its exactly-once table. A new write beyond it
   * is refused with `LIMIT_EXCEEDED` (never by forgetting an unacknowledged result, which would
   * let a retry apply twice). Default 1,024: far above any sane pipeline depth.
   */
  readonly maxUnackedResults: number;
  /**
   * Consecutive leader-change grace extensions a session may receive without renewing itself
   * in between (DESIGN §2.4 "bound this"). Default 3.
   */
  readonly maxGraceExtensions: number;
  /** Longest `waitMs` of an acquire. Default 24 h. */
  readonly maxWaitMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxNameBytes: 256,
  maxSessions: 100_000,
  maxWaitersPerLock: 10_000,
  maxUnackedResults: 1_024,
  maxGraceExtensions: 3,
  maxWaitMs: 86_400_000,
} as const;

/**
 * The defaults overridden by `partial`. Throws a `RangeError` naming the field for a value that
 * is not a sane integer: limits come from configuration at start-up, where failing loudly is
 * right (never from the log).
 */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const out: Limits = { ...DEFAULT_LIMITS, ...partial };
  const check = (field: keyof Limits, min: number, max: number): void => {
    const v = out[field];
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new RangeError(`state machine limit ${field} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  };
  check('maxNameBytes', 1, 65_536);
  check('maxSessions', 1, 100_000_000);
  check('maxWaitersPerLock', 1, 100_000_000);
  check('maxUnackedResults', 1, 1_000_000);
  check('maxGraceExtensions', 0, 1_000);
  check('maxWaitMs', 1, MAX_LOG_TIME);
  return out;
}
