/**
 * The pure part of peer-link liveness: the timings derived from the election timeout, and the
 * silence clock a link judges its peer by (time is a number the test moves).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_TIMEOUT_MS, SilenceClock, linkTimings } from '../../../src/transport/link-liveness.js';

describe('linkTimings', () => {
  it('derives the defaults from the default election timeout: closed after 1 s of silence, back within ~0.5 s', () => {
    expect(DEFAULT_ELECTION_TIMEOUT_MS).toBe(500);
    expect(linkTimings()).toEqual({
      liveness: true,
      silenceMs: 1_000,
      pingIntervalMs: 250,
      connectTimeoutMs: 250,
      handshakeTimeoutMs: 2_000,
      backoffBaseMs: 50,
      backoffCapMs: 250,
    });
  });

  it('scales with a longer election timeout', () => {
    expect(linkTimings(2_000)).toMatchObject({
      silenceMs: 4_000,
      pingIntervalMs: 1_000,
      connectTimeoutMs: 1_000,
      handshakeTimeoutMs: 8_000,
      backoffCapMs: 1_000,
    });
  });

  it('keeps floors under very short election timeouts, so test clusters do not flap', () => {
    expect(linkTimings(100)).toMatchObject({
      silenceMs: 1_000,
      pingIntervalMs: 250,
      connectTimeoutMs: 250,
      handshakeTimeoutMs: 2_000,
      backoffCapMs: 250,
    });
  });

  it('without liveness: no silence bound, no connect bound, the 5 s handshake and 2 s backoff cap links had before', () => {
    expect(linkTimings(500, false)).toEqual({
      liveness: false,
      silenceMs: 0,
      pingIntervalMs: 0,
      connectTimeoutMs: 0,
      handshakeTimeoutMs: 5_000,
      backoffBaseMs: 50,
      backoffCapMs: 2_000,
    });
  });

  it('refuses an election timeout that is not a positive number, naming it', () => {
    expect(() => linkTimings(0)).toThrow(/election timeout must be a positive number of ms, got 0/);
    expect(() => linkTimings(Number.NaN)).toThrow(/got NaN/);
  });

  it('for any election timeout: pings well inside the bound, and a heal waits at most about one election timeout', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60_000 }), (e) => {
        const t = linkTimings(e);
        expect(t.pingIntervalMs * 4).toBeLessThanOrEqual(t.silenceMs);
        expect(t.silenceMs).toBeGreaterThanOrEqual(Math.max(1_000, 2 * e));
        expect(t.backoffBaseMs).toBeLessThanOrEqual(t.backoffCapMs);
        // The wait after a heal: a dial whose SYN was lost gives up at the connect bound, then
        // waits at most the cap.
        expect(t.connectTimeoutMs + t.backoffCapMs).toBeLessThanOrEqual(Math.max(500, e + 1));
        expect(t.handshakeTimeoutMs).toBeGreaterThan(t.silenceMs);
      }),
    );
  });
});

describe('SilenceClock', () => {
  it('counts silence since the last thing heard', () => {
    const c = new SilenceClock(250, 0);
    expect(c.tick(250)).toEqual({ silentMs: 250, heardSinceLastTick: false });
    c.heard(400);
    expect(c.tick(500)).toEqual({ silentMs: 100, heardSinceLastTick: true });
    expect(c.tick(750)).toEqual({ silentMs: 350, heardSinceLastTick: false });
    expect(c.tick(1_000).silentMs).toBe(600);
    expect(c.silentFor(1_100)).toBe(700);
  });

  it('a peer that answers every ping within the interval is never silent for more than two intervals', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 249 }), { minLength: 1, maxLength: 200 }), (answers) => {
        const c = new SilenceClock(250, 0);
        let worst = 0;
        answers.forEach((rtt, k) => {
          const tickAt = (k + 1) * 250;
          worst = Math.max(worst, c.tick(tickAt).silentMs);
          c.heard(tickAt + rtt); // the pong to the ping sent at this tick
        });
        expect(worst).toBeLessThan(500);
      }),
    );
  });

  it('a tick that comes late does not count the time this process did not run against the peer', () => {
    const c = new SilenceClock(250, 0);
    c.heard(200);
    expect(c.tick(250).silentMs).toBe(50);
    // This process stalls for 3 s: the next tick fires at 3 500 instead of 500.
    const afterStall = c.tick(3_500);
    expect(afterStall.silentMs).toBe(300);
    // What the peer sent meanwhile is read now and counts.
    c.heard(3_501);
    expect(c.tick(3_750).silentMs).toBe(249);
  });

  it('a peer silent while this process runs on time crosses the bound', () => {
    const c = new SilenceClock(250, 0);
    c.heard(100);
    let t = 0;
    let silent = 0;
    while (silent <= 1_000) silent = c.tick((t += 250)).silentMs;
    expect(t).toBe(1_250);
    expect(silent).toBe(1_150);
  });

  it('never reports negative silence or goes back in time', () => {
    const c = new SilenceClock(250, 1_000);
    c.heard(900);
    expect(c.silentFor(1_000)).toBe(0);
    c.heard(2_000);
    c.heard(1_500);
    expect(c.silentFor(2_100)).toBe(100);
  });
});
