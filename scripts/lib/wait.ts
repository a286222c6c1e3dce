/**
 * `waitFor(what, check, timeoutMs, everyMs)` polls `check` until it yields a value, or rejects
 * with a {@link WaitTimeout} naming `what`; and `sleep`.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What {@link waitFor} rejects with when its deadline passes (a failing `check` rejects with its own error). */
export class WaitTimeout extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly checks: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what} (checked ${checks} times)`);
    this.name = 'WaitTimeout';
  }
}

/** The first pause between checks; it doubles up to `everyMs`. */
const FIRST_PAUSE_MS = 5;

/**
 * Calls `check` until it returns something other than `undefined` or `false`, and resolves
 * with that. The first check is immediate; the pauses between checks grow from 5 ms to
 * `everyMs`, so a condition met soon is seen soon and a long wait does not hammer what it
 * polls (a benchmark timing the wait passes a small `everyMs` for resolution). Rejects
 * with {@link WaitTimeout} once `timeoutMs` (monotonic clock) has passed after a failed check,
 * and at once with the error of a `check` that throws.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | PromiseLike<T>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<Exclude<T, undefined | false>> {
  const deadline = performance.now() + timeoutMs;
  let pause = Math.min(FIRST_PAUSE_MS, everyMs);
  for (let checks = 1; ; checks++) {
    const v = await check();
    if (v !== undefined && v !== false) return v as Exclude<T, undefined | false>;
    if (performance.now() >= deadline) throw new WaitTimeout(what, timeoutMs, checks);
    await sleep(Math.min(pause, Math.max(1, deadline - performance.now())));
    pause = Math.min(everyMs, pause * 2);
  }
}
