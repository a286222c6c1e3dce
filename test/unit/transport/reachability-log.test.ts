/**
 * ReachabilityLog: a peer that cannot be reached is reported at info once its outage outlasts
 * the grace, then at doubling intervals (not once per redial), and its recovery is reported;
 * a peer merely still starting is not news. Time is a counter the test moves.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../../src/raft/index.js';
import { ReachabilityLog } from '../../../src/transport/reachability-log.js';

interface Line {
  readonly at: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

function harness(): { log: ReachabilityLog; lines: Line[]; advance: (ms: number) => void } {
  let now = 1_000_000;
  const lines: Line[] = [];
  const logger: Logger = { ...silentLogger, info: (msg, fields) => void lines.push({ at: now, msg, fields: fields ?? {} }) };
  const log = new ReachabilityLog(logger, 2, '127.0.0.1:7102', () => now, { graceMs: 5_000, firstRepeatMs: 30_000, maxRepeatMs: 600_000 });
  return { log, lines, advance: (ms) => void (now += ms) };
}

describe('ReachabilityLog', () => {
  it('a dead peer redialled every 2 s for an hour is reported once, then at doubling intervals', () => {
    const { log, lines, advance } = harness();
    for (let dial = 0; dial < 1800; dial++) {
      log.dialFailed('connect ECONNREFUSED 127.0.0.1:7102');
      advance(2_000);
    }
    expect(lines[0]).toMatchObject({
      msg: 'peer unreachable',
      fields: { peer: 2, address: '127.0.0.1:7102', error: 'connect ECONNREFUSED 127.0.0.1:7102' },
    });
    expect(lines[0]?.fields.downMs).toBeGreaterThanOrEqual(5_000);
    expect(lines.slice(1).every((l) => l.msg === 'peer still unreachable')).toBe(true);
    const gaps = lines.slice(1).map((l, k) => l.at - (lines[k]?.at ?? 0));
    // 30 s, 60 s, 2 min, 4 min, 8 min, then every 10 min: 10 lines for 1,800 failed dials.
    expect(gaps).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000, 600_000]);
    expect(lines.at(-1)?.fields.failedDials).toBeGreaterThan(1_600);
  });

  it('recovery after a reported outage says how long it lasted; the next outage starts afresh', () => {
    const { log, lines, advance } = harness();
    for (let dial = 0; dial < 5; dial++) {
      log.dialFailed('connect ECONNREFUSED 127.0.0.1:7102');
      advance(2_000);
    }
    log.up();
    expect(lines.map((l) => l.msg)).toEqual(['peer unreachable', 'peer reachable again']);
    expect(lines[1]?.fields).toMatchObject({ peer: 2, downMs: 10_000, failedDials: 5 });
    log.down(1006, '');
    log.dialFailed('connect ECONNREFUSED 127.0.0.1:7102');
    expect(lines.map((l) => l.msg).slice(2)).toEqual(['peer link down']);
    advance(5_000);
    log.dialFailed('connect ECONNREFUSED 127.0.0.1:7102');
    expect(lines.at(-1)).toMatchObject({ msg: 'peer unreachable', fields: { downMs: 5_000, failedDials: 2 } });
  });

  it('a short outage is logged at both ends: why the link went down, then how long it was down', () => {
    const { log, lines, advance } = harness();
    log.up();
    advance(60_000);
    log.down(1006, '', 'no answer for 1180 ms (bound 1000 ms)');
    advance(250);
    log.dialFailed('TCP connect not complete within 250 ms');
    advance(1_000);
    log.dialFailed('TCP connect not complete within 250 ms');
    advance(300);
    log.up();
    expect(lines.map((l) => l.msg)).toEqual(['peer link up', 'peer link down', 'peer link up']);
    expect(lines[1]?.fields).toEqual({
      peer: 2,
      address: '127.0.0.1:7102',
      code: 1006,
      reason: '',
      cause: 'no answer for 1180 ms (bound 1000 ms)',
    });
    expect(lines[2]?.fields).toEqual({
      peer: 2,
      address: '127.0.0.1:7102',
      downMs: 1_550,
      failedDials: 2,
      cause: 'no answer for 1180 ms (bound 1000 ms)',
    });
  });

  it('a peer still starting when we first dial it is not reported: only "peer link up"', () => {
    const { log, lines, advance } = harness();
    log.dialFailed('connect ECONNREFUSED 127.0.0.1:7102');
    advance(50);
    log.dialFailed('connect ECONNREFUSED 127.0.0.1:7102');
    advance(4_000);
    log.up();
    expect(lines.map((l) => l.msg)).toEqual(['peer link up']);
  });
});
