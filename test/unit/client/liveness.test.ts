/**
 * The client's silence rules (src/client/liveness.ts) on an injected clock: a connection is
 * pinged after half the timeout of silence, given up after the whole timeout, kept while
 * anything (an answer, a pong) arrives, and not blamed for the client's own stalls.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SilenceWatch, type SilenceVerdict } from '../../../src/client/liveness.js';

/** Checks `w` every `checkEveryMs` from `from` to `to` (inclusive), returning each verdict with its time. */
function checks(w: SilenceWatch, from: number, to: number): Array<[number, SilenceVerdict]> {
  const out: Array<[number, SilenceVerdict]> = [];
  for (let t = from; t <= to; t += w.checkEveryMs) out.push([t, w.check(t)]);
  return out;
}

describe('SilenceWatch', () => {
  it('checks every quarter of the timeout', () => {
    expect(new SilenceWatch(1_000, 0).checkEveryMs).toBe(250);
    expect(new SilenceWatch(2, 0).checkEveryMs).toBe(1); // never a zero interval
  });

  it('refuses a timeout that is not positive', () => {
    expect(() => new SilenceWatch(0, 0)).toThrow(/positive/);
    expect(() => new SilenceWatch(Number.NaN, 0)).toThrow(/positive/);
  });

  it('a node that says nothing is pinged after half the timeout and given up after the whole', () => {
    const w = new SilenceWatch(1_000, 0);
    expect(checks(w, 250, 1_000)).toEqual([
      [250, 'quiet'],
      [500, 'ping'],
      [750, 'ping'],
      [1_000, 'silent'],
    ]);
    expect(w.silentFor(1_000)).toBe(1_000);
  });

  it('a pong (or any answer) keeps the connection: a node that answers pings is never given up', () => {
    const w = new SilenceWatch(1_000, 0);
    const verdicts: SilenceVerdict[] = [];
    for (let t = 250; t <= 60_000; t += 250) {
      const v = w.check(t);
      verdicts.push(v);
      if (v === 'ping') w.heard(t + 3); // the pong, 3 ms later
    }
    expect(verdicts).not.toContain('silent');
    expect(verdicts).toContain('ping');
  });

  it('an answer late in the silence restarts it', () => {
    const w = new SilenceWatch(1_000, 0);
    w.check(250);
    w.check(500);
    w.check(750);
    w.heard(900);
    expect(w.check(1_000)).toBe('quiet');
    expect(w.check(1_250)).toBe('quiet');
    expect(w.check(1_500)).toBe('ping');
    expect(w.check(1_750)).toBe('ping');
    expect(w.check(2_000)).toBe('silent');
  });

  it("a check that comes late (this process stalled) pings instead of blaming the node for the client's own stall", () => {
    const w = new SilenceWatch(1_000, 0);
    // The event loop was blocked for 5 s: whatever the node sent is still unread.
    expect(w.check(5_000)).toBe('ping');
    expect(w.check(5_250)).toBe('quiet');
    // If the node really is gone, the next timeout finds it.
    expect(checks(w, 5_500, 6_000).map(([, v]) => v)).toEqual(['ping', 'ping', 'silent']);
  });

  it('property: with checks on time, a node silent since t is given up within timeout + one check interval, never before the timeout', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 10_000 }), fc.integer({ min: 0, max: 50_000 }), (timeoutMs, lastAnswer) => {
        const w = new SilenceWatch(timeoutMs, 0);
        let t = 0;
        let heardLast = 0;
        let silentAt: number | undefined;
        while (silentAt === undefined && t < lastAnswer + 3 * timeoutMs) {
          t += w.checkEveryMs;
          const v = w.check(t);
          if (t <= lastAnswer) {
            // The node answers (each check's ping) until lastAnswer.
            w.heard(t);
            heardLast = t;
          } else if (v === 'silent') silentAt = t;
        }
        expect(silentAt).toBeDefined();
        expect(silentAt as number).toBeGreaterThanOrEqual(heardLast + timeoutMs);
        expect(silentAt as number).toBeLessThanOrEqual(heardLast + timeoutMs + w.checkEveryMs);
      }),
    );
  });
});
