/**
 * One clock for every process of a chaos run, so that operations recorded by different client
 * processes can be ordered in real time.
 *
 * `performance.timeOrigin + performance.now()` is not that clock: a process's wall-clock origin
 * and its monotonic zero are read at different moments. Started with `--import tsx` on a busy
 * machine (as the chaos workers are), 16 processes disagreed by up to 22 ms, and the
 * linearizability checker saw a release called after the grant that the release itself caused.
 * `Date.now()` only has millisecond steps. The monotonic clock `process.hrtime` reads
 * (CLOCK_MONOTONIC on Linux, counted from boot) is one clock for the whole machine, with
 * nanosecond steps, and never jumps.
 */

/** Milliseconds on a clock every process on this machine shares (since boot on Linux); never decreases. */
export function sharedNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
