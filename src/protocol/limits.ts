/**
 * Bounds of what a request may carry and the state machine may hold (docs/design.md#limits).
 * They live in the protocol layer because both sides need them: the edge refuses a request
 * beyond them before it reaches the log, and the machine applies the same bounds to entries.
 *
 * Two kinds:
 * - **Fixed ranges** that are part of the contract or keep arithmetic exact: session TTL
 *   1 s – 10 min, log time within [0, 2^50] ms (≈ 35,000 years, so `time + ttl` and
 *   `time + waitMs` stay far inside the safe-integer range), counter values within ±(2^53 − 1).
 * - **Configurable limits** ({@link Limits}) with the documented defaults. They change what the
 *   machine accepts, so every replica of a cluster must run with the same values (they belong
 *   in the cluster configuration, never in one node's): two replicas with different limits
 *   would diverge on the same log.
 */

/** Shortest session TTL. */
export const MIN_TTL_MS = 1_000;
/** Longest session TTL. */
export const MAX_TTL_MS = 600_000;
/** Largest log time stamp accepted in an entry (ms since the epoch, or any monotonic origin). */
export const MAX_LOG_TIME = 2 ** 50;
/** Largest magnitude of a counter value and of any integer operand (JavaScript safe integers). */
export const MAX_COUNTER_MAGNITUDE = Number.MAX_SAFE_INTEGER;

export interface Limits {
  /** Lock, counter and client-id names: 1 to this many UTF-8 bytes (default 256). */
  readonly maxNameBytes: number;
  /** Live sessions in the cluster (default 100,000). Opening one more → `LIMIT_EXCEEDED`. */
  readonly maxSessions: number;
  /** Waiters queued on one lock (default 10,000). Queueing one more → `LIMIT_EXCEEDED`. */
  readonly maxWaitersPerLock: number;
  /**
   * Results a session may keep unacknowledged in its exactly-once table. A new write beyond it
   * is refused with `LIMIT_EXCEEDED` (never by forgetting an unacknowledged result, which would
   * let a retry apply twice). Default 1,024: far above any sane pipeline depth.
   */
  readonly maxUnackedResults: number;
  /**
   * Consecutive leader-change grace extensions a session may receive without renewing itself
   * in between, so repeated elections cannot keep a dead session alive. Default 3.
   */
  readonly maxGraceExtensions: number;
  /** Longest `waitMs` of an acquire. Default 24 h. */
  readonly maxWaitMs: number;
  /**
   * Live sessions opened with one client token (their owner), default 10,000, so one
   * application cannot take every session of the cluster. In a cluster without tokens
   * sessions have no owner and count only towards `maxSessions`.
   */
  readonly maxSessionsPerOwner: number;
  /** Locks one session may hold at once (default 1,000). */
  readonly maxLocksPerSession: number;
  /** Acquires one session may have queued at once, across all locks (default 1,000). */
  readonly maxWaitsPerSession: number;
  /** Counters with a non-zero value in the cluster (default 1,000,000); a counter at 0 is none. */
  readonly maxCounters: number;
  /**
   * The replicated state's accounted size (an upper bound of its snapshot's bytes), default
   * 256 MiB. At or above it, commands that could add to the state are refused, so the state
   * never outgrows what a snapshot can carry to a follower (at most
   * {@link MAX_INCOMING_SNAPSHOT_BYTES}); the range keeps a margin below that.
   */
  readonly maxStateBytes: number;
}

/** Largest snapshot a node accepts from its leader (the peer transport's bound). */
export const MAX_INCOMING_SNAPSHOT_BYTES = 512 * 1024 * 1024;

export const DEFAULT_LIMITS: Limits = {
  maxNameBytes: 256,
  maxSessions: 100_000,
  maxWaitersPerLock: 10_000,
  maxUnackedResults: 1_024,
  maxGraceExtensions: 3,
  maxWaitMs: 86_400_000,
  maxSessionsPerOwner: 10_000,
  maxLocksPerSession: 1_000,
  maxWaitsPerSession: 1_000,
  maxCounters: 1_000_000,
  maxStateBytes: 256 * 1024 * 1024,
} as const;

/** The range each limit may be configured to (inclusive). */
export const LIMIT_RANGES: { readonly [K in keyof Limits]: readonly [min: number, max: number] } = {
  maxNameBytes: [1, 65_536],
  maxSessions: [1, 100_000_000],
  maxWaitersPerLock: [1, 100_000_000],
  maxUnackedResults: [1, 1_000_000],
  maxGraceExtensions: [0, 1_000],
  maxWaitMs: [1, MAX_LOG_TIME],
  maxSessionsPerOwner: [1, 100_000_000],
  maxLocksPerSession: [1, 1_000_000],
  maxWaitsPerSession: [1, 1_000_000],
  maxCounters: [1, 100_000_000],
  // 64 MiB below the incoming snapshot bound: room for the snapshot's header and for what the
  // commands applied at the bound add (each adds a few records of at most a few KiB).
  maxStateBytes: [1024 * 1024, MAX_INCOMING_SNAPSHOT_BYTES - 64 * 1024 * 1024],
};

/** Names of the {@link Limits} fields. */
export const LIMIT_NAMES = Object.keys(LIMIT_RANGES) as ReadonlyArray<keyof Limits>;

/**
 * The defaults overridden by `partial`. Throws a `RangeError` naming the field for a value
 * outside {@link LIMIT_RANGES}: limits come from configuration at start-up, where failing
 * loudly is right (never from the log).
 */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const out: { -readonly [K in keyof Limits]: number } = { ...DEFAULT_LIMITS };
  for (const field of LIMIT_NAMES) {
    const given = partial[field];
    if (given !== undefined) out[field] = given;
  }
  for (const field of LIMIT_NAMES) {
    const [min, max] = LIMIT_RANGES[field];
    const v = out[field];
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new RangeError(`limit ${field} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  }
  return out;
}
