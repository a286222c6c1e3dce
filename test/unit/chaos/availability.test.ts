/**
 * The chaos run's availability checks (scripts/chaos/availability.ts) on made-up histories and
 * leadership samples: the majority-agreed leader, each client's longest stretch without
 * progress while it could reach a leader, the time to a leader per fault, heal-to-rejoin, and
 * the anomalies against the bars, including histories that must fail.
 */
import { describe, expect, it } from 'vitest';
import {
  agreedLeader,
  availabilityBars,
  checkAvailability,
  clientGaps,
  DEFAULT_BARS,
  faultAvailability,
  leaderIntervals,
  rejoinTimes,
} from '../../../scripts/lib/chaos/availability.js';
import { renderReport } from '../../../scripts/lib/chaos/report.js';
import type { HistoryOp, LeaderSample, NemesisEvent, RejoinSample, Summary } from '../../../scripts/lib/chaos/types.js';

const MEMBERS = [1, 2, 3];

/** A sample every 100 ms from `from` to `to` (exclusive) in which `leader` (0: nobody) is agreed by all three. */
function samples(from: number, to: number, leader: number, term = 1): LeaderSample[] {
  const out: LeaderSample[] = [];
  for (let t = from; t < to; t += 100) {
    const views: Record<string, LeaderSample['views'][string]> = {};
    for (const id of MEMBERS)
      views[String(id)] = {
        role: id === leader ? 'leader' : 'follower',
        term,
        leader,
      };
    out.push({ time: t, members: MEMBERS, views });
  }
  return out;
}

let nextId = 0;
/** An ok counter get of `client` (worker 0) from `call` to `ret`. */
function ok(client: string, call: number, ret: number, worker = 0): HistoryOp {
  return {
    id: nextId++,
    client,
    worker,
    kind: 'counter',
    key: 'c',
    input: { op: 'get' },
    output: 0,
    status: 'ok',
    call,
    return: ret,
  };
}

/** Ops of `client` every `every` ms in [from, to). */
function steady(client: string, from: number, to: number, every = 50, worker = 0): HistoryOp[] {
  const out: HistoryOp[] = [];
  for (let t = from; t < to; t += every) out.push(ok(client, t, t + 10, worker));
  return out;
}

function event(id: number, kind: NemesisEvent['kind'], start: number, end: number, over: Partial<NemesisEvent> = {}): NemesisEvent {
  return {
    id,
    kind,
    description: `${kind} ${id}`,
    nodes: [1],
    start,
    end,
    ...over,
  };
}

describe('agreedLeader', () => {
  it('needs the leader itself and a majority naming it at its term', () => {
    const [s] = samples(0, 100, 2);
    expect(agreedLeader(s as LeaderSample)).toBe(2);
    const silentLeader: LeaderSample = {
      ...(s as LeaderSample),
      views: { ...(s as LeaderSample).views, '2': null },
    };
    expect(agreedLeader(silentLeader)).toBeUndefined();
    const split: LeaderSample = {
      time: 0,
      members: MEMBERS,
      views: {
        '1': { role: 'leader', term: 3, leader: 1 },
        '2': { role: 'follower', term: 2, leader: 1 },
        '3': { role: 'candidate', term: 4, leader: 0 },
      },
    };
    expect(agreedLeader(split)).toBeUndefined();
    expect(
      agreedLeader({
        ...split,
        views: {
          ...split.views,
          '2': { role: 'follower', term: 3, leader: 1 },
        },
      }),
    ).toBe(1);
  });
});

describe('clientGaps', () => {
  it('a steady client under a steady leader has only short gaps', () => {
    const [g] = clientGaps(steady('a', 0, 10_000), samples(0, 10_000, 1), [], ['a'], 10_000);
    expect(g?.gapMs).toBeLessThanOrEqual(50);
  });

  it('finds a 4 s stall while a leader existed (a client stuck on a hung node)', () => {
    const history = [...steady('a', 0, 3_000), ...steady('a', 7_000, 10_000)];
    const [g] = clientGaps(history, samples(0, 10_000, 1), [], ['a'], 10_000);
    // From the last success before the stall (2,960 ms) to the first after it (7,010 ms).
    expect(g).toEqual({
      client: 'a',
      gapMs: 4_050,
      from: 2_960,
      to: 7_010,
      countedFrom: 2_960,
    });
  });

  it('does not count time without a leader', () => {
    // Leader gone from 3 s to 6.5 s; the client is back 0.3 s after the new leader.
    const history = [...steady('a', 0, 3_000), ...steady('a', 6_800, 10_000)];
    const s = [...samples(0, 3_000, 1), ...samples(3_000, 6_500, 0), ...samples(6_500, 10_000, 2, 2)];
    const [g] = clientGaps(history, s, [], ['a'], 10_000);
    expect(g?.gapMs).toBeLessThan(400);
    expect(g?.gapMs).toBeGreaterThan(250);
  });

  it('sums the time with a leader across a short leaderless moment: a flicker does not restart the stretch', () => {
    // Last success at 960 ms, next at 3,510 ms; no leader from 2,000 to 2,200 ms.
    const history = [...steady('a', 0, 1_000), ...steady('a', 3_500, 5_000)];
    const s = [...samples(0, 2_000, 1), ...samples(2_000, 2_200, 0), ...samples(2_200, 5_000, 2, 2)];
    const [g] = clientGaps(history, s, [], ['a'], 5_000);
    expect(g).toEqual({
      client: 'a',
      gapMs: 1_040 + 1_310,
      from: 960,
      to: 3_510,
      countedFrom: 960,
    });
  });

  it('does not count the window of a fault that stopped the client process, nor its own lock waits', () => {
    const history = [...steady('a', 0, 2_000, 50, 3), ...steady('a', 6_000, 8_000, 50, 3)];
    const pause = event(1, 'pause-client', 2_000, 5_900, {
      nodes: [],
      description: 'SIGSTOP client process 3 (holding lock-0) for 3900 ms',
    });
    expect(clientGaps(history, samples(0, 8_000, 1), [pause], ['a'], 8_000)[0]?.gapMs).toBeLessThan(200);
    // The same stall with the pause on another process is a stall.
    const other = {
      ...pause,
      description: 'SIGSTOP client process 2 (holding lock-0) for 3900 ms',
    };
    expect(clientGaps(history, samples(0, 8_000, 1), [other], ['a'], 8_000)[0]?.gapMs).toBeGreaterThan(3_500);

    // A 2.8 s acquire that asked to wait 3 s is a wait, not a stall; one that asked for 0.5 s is.
    const acquire = (waitMs: number): HistoryOp => ({
      id: nextId++,
      client: 'b',
      worker: 0,
      kind: 'lock',
      key: 'lock-0',
      input: { op: 'acquire', waitMs },
      output: { acquired: false },
      status: 'ok',
      call: 1_000,
      return: 3_800,
    });
    const lockHistory = (waitMs: number): HistoryOp[] => [...steady('b', 0, 1_000), acquire(waitMs), ...steady('b', 3_850, 6_000)];
    expect(clientGaps(lockHistory(3_000), samples(0, 6_000, 1), [], ['b'], 6_000)[0]?.gapMs).toBeLessThan(100);
    expect(clientGaps(lockHistory(500), samples(0, 6_000, 1), [], ['b'], 6_000)[0]?.gapMs).toBeGreaterThan(2_200);
    // So is one that ended UNAVAILABLE (its leader failed): the 3 s asked for are a wait, the 2 s after are not.
    const unanswered: HistoryOp[] = [
      ...steady('b', 0, 1_000),
      { ...acquire(3_000), status: 'unknown', output: undefined, error: 'UNAVAILABLE', return: 6_000 },
      ...steady('b', 6_050, 8_000),
    ];
    const gap = clientGaps(unanswered, samples(0, 8_000, 1), [], ['b'], 8_000)[0]?.gapMs ?? 0;
    expect(gap).toBeGreaterThan(1_900);
    expect(gap).toBeLessThan(2_200);
    // The cluster does not charge a queued wait while it has no leader: a 3 s wait called at 1 s,
    // with no leader from 1.5 to 5 s, waits until 7.5 s; answered "not acquired" at 7.2 s, it
    // was a wait throughout. Answered at 9 s, the last 1.5 s are not.
    const outage = [...samples(0, 1_500, 1), ...samples(1_500, 5_000, 0), ...samples(5_000, 11_000, 2, 2)];
    const acrossOutage = (ret: number): HistoryOp[] => [
      ...steady('b', 0, 1_000),
      { ...acquire(3_000), return: ret },
      ...steady('b', ret + 10, 11_000),
    ];
    expect(clientGaps(acrossOutage(7_200), outage, [], ['b'], 11_000)[0]?.gapMs).toBeLessThan(100);
    const late = clientGaps(acrossOutage(9_000), outage, [], ['b'], 11_000)[0]?.gapMs ?? 0;
    expect(late).toBeGreaterThan(1_400);
    expect(late).toBeLessThan(1_600);
    // Holding a lock 2.5 s (its own work, then the release) is not a stall; the same 2.5 s with
    // no lock held is.
    const held = (kind: 'lock' | 'counter'): HistoryOp[] => [
      ...steady('c', 0, 1_000),
      { ...acquire(100), client: 'c', kind, call: 1_000, return: 1_050, output: { acquired: true, token: 7 } },
      { ...ok('c', 3_550, 3_560), kind: 'lock', input: { op: 'release', token: 7 }, output: 'ok' },
      ...steady('c', 3_600, 6_000),
    ];
    expect(clientGaps(held('lock'), samples(0, 6_000, 1), [], ['c'], 6_000)[0]?.gapMs).toBeLessThan(100);
    expect(clientGaps(held('counter'), samples(0, 6_000, 1), [], ['c'], 6_000)[0]?.gapMs).toBeGreaterThan(2_400);
  });

  it('failed and unknown operations are no progress', () => {
    const fails: HistoryOp[] = [];
    for (let t = 1_000; t < 4_000; t += 100)
      fails.push({
        ...ok('a', t, t + 50),
        status: 'fail',
        error: 'UNAVAILABLE',
      });
    const history = [...steady('a', 0, 1_000), ...fails, ...steady('a', 4_000, 5_000)];
    expect(clientGaps(history, samples(0, 5_000, 1), [], ['a'], 5_000)[0]?.gapMs).toBeGreaterThan(2_900);
  });

  it('a client that never succeeds is stalled for all the time it could reach a leader', () => {
    const history: HistoryOp[] = [{ ...ok('a', 500, 4_500), status: 'unknown', error: 'TIMEOUT' }];
    expect(clientGaps(history, samples(0, 5_000, 1), [], ['a'], 5_000)[0]?.gapMs).toBe(4_500);
  });
});

describe('leader per fault', () => {
  it('measures the time to a leader from the start and from the heal', () => {
    // Leader 1 killed at 2 s, leader 3 from 2.7 s; the fault heals at 4 s, the leader holds.
    const s = [...samples(0, 2_000, 1), ...samples(2_000, 2_700, 0), ...samples(2_700, 8_000, 3, 2)];
    const [f] = faultAvailability(s, [event(1, 'kill', 2_000, 4_000)], [], 8_000);
    expect(f?.leaderFromStartMs).toBe(700);
    expect(f?.leaderAfterHealMs).toBe(0);
    expect(leaderIntervals(s, 8_000)).toEqual([
      [0, 2_000],
      [2_700, 8_000],
    ]);
  });

  it('a leader 3.5 s after a heal is an anomaly; 1 s is not; after a heal that restarts nodes it is only reported', () => {
    const run = (leaderAt: number, kind: 'partition' | 'kill' = 'partition'): ReturnType<typeof checkAvailability> => {
      const s = [...samples(0, 2_000, 1), ...samples(2_000, leaderAt, 0), ...samples(leaderAt, 10_000, 2, 2)];
      const history = [...steady('a', 0, 2_000), ...steady('a', leaderAt, 10_000)];
      return checkAvailability({
        history,
        leaderSamples: s,
        rejoinSamples: [],
        events: [event(1, kind, 2_000, 3_000)],
        clients: ['a'],
        members: [],
        healedAt: 10_000,
        endMs: 10_000,
      });
    };
    // Restarted processes must start first: judged at the final heal, reported here.
    const killed = run(6_500, 'kill');
    expect(killed.anomalies).toEqual([]);
    expect(killed.summary.faults[0]?.leaderAfterHealMs).toBe(3_500);
    expect(run(4_000).anomalies).toEqual([]);
    expect(run(4_000).summary.faults[0]?.leaderAfterHealMs).toBe(1_000);
    const slow = run(6_500);
    expect(slow.anomalies.map((a) => a.kind)).toEqual(['no-leader-after-heal']);
    expect(slow.anomalies[0]?.message).toContain('3500 ms');
  });

  it('a heal whose leader waited on nodes still restarting is only reported; once they answer, the next is judged', () => {
    // Nodes 1 and 2 killed at 1 s and restarted at 1.5 s; they answer from 4 s (3 is up all along).
    // A partition from 2 s to 3 s; the leader comes at 6.5 s.
    const run = (upAt: number): ReturnType<typeof checkAvailability> => {
      const s = [...samples(0, 1_000, 1), ...samples(1_000, 6_500, 0), ...samples(6_500, 12_000, 3, 2)].map((x) =>
        x.time >= 1_000 && x.time < upAt ? { ...x, views: { ...x.views, '1': null, '2': null } } : x,
      );
      return checkAvailability({
        history: [...steady('a', 0, 1_000), ...steady('a', 6_500, 12_000)],
        leaderSamples: s,
        rejoinSamples: [],
        events: [event(1, 'kill', 1_000, 1_500, { nodes: [1, 2] }), event(2, 'partition', 2_000, 3_000, { nodes: [3] })],
        clients: ['a'],
        members: [],
        healedAt: 12_000,
        endMs: 12_000,
      });
    };
    expect(run(4_000).anomalies).toEqual([]);
    expect(run(4_000).summary.faults[1]?.leaderAfterHealMs).toBe(3_500);
    // Had the restarted nodes answered before the partition began, its heal is judged.
    expect(run(1_900).anomalies.map((a) => a.kind)).toEqual(['no-leader-after-heal']);
  });
});

describe('per-fault figures', () => {
  it('a stall is charged to the fault it overlaps, not to later ones', () => {
    const history = [...steady('a', 0, 2_500), ...steady('a', 5_000, 20_000)];
    const events = [event(1, 'pause', 2_000, 3_000), event(2, 'kill', 10_000, 11_000)];
    const f = faultAvailability(samples(0, 20_000, 1), events, [], 20_000);
    expect(f.map((x) => x.worstGapMs)).toEqual([0, 0]);
    const r = checkAvailability({
      history,
      leaderSamples: samples(0, 20_000, 1),
      rejoinSamples: [],
      events,
      clients: ['a'],
      members: [],
      healedAt: 20_000,
      endMs: 20_000,
    });
    // The kill's window only holds the client's usual 50 ms between operations.
    expect(r.summary.faults[0]?.worstGapMs).toBe(2_550);
    expect(r.summary.faults[1]?.worstGapMs).toBeLessThanOrEqual(50);
    expect(r.summary.faults[0]?.worstGapClient).toBe('a');
  });

  it('a stretch is charged from its first counted moment: not to a fault healed long before that', () => {
    // A partition healed at 1.5 s; client process 0 stopped 2-6 s right after a success at
    // 2 s; its next success at 9 s: 3 s counted, from 6 s. The partition is not charged.
    const history = [...steady('a', 0, 1_950), ok('a', 1_990, 2_000), ...steady('a', 9_000, 12_000)];
    const events = [
      event(1, 'partition', 1_000, 1_500),
      event(2, 'pause-client', 2_000, 6_000, { nodes: [], description: 'SIGSTOP client process 0 (holding lock-0) for 4000 ms' }),
      event(3, 'kill', 11_000, 11_500),
    ];
    const r = checkAvailability({
      history,
      leaderSamples: samples(0, 12_000, 1),
      rejoinSamples: [],
      events,
      clients: ['a'],
      members: [],
      healedAt: 12_000,
      endMs: 12_000,
    });
    expect(r.summary.clientGaps.a).toBe(3_010);
    expect(r.summary.faults.map((f) => f.worstGapMs)).toEqual([90, 3_010, 50]);
  });

  it('measures the time until the nodes a fault struck follow the leader again after its heal', () => {
    // Node 3 restarted at the heal (5 s) answers from 5.8 s, following leader 1 from 6.2 s.
    const s = samples(0, 10_000, 1).map((x) => {
      if (x.time < 5_000 || x.time >= 6_200) return x;
      const v3 = x.time < 5_800 ? null : { role: 'follower', term: 0, leader: 0 };
      return { ...x, views: { ...x.views, '3': v3 } };
    });
    const [f] = faultAvailability(s, [event(1, 'kill', 4_000, 5_000, { nodes: [3] })], [], 10_000);
    expect(f?.rejoinAfterHealMs).toBe(1_200);
    expect(f?.leaderAfterHealMs).toBe(0);
    // A fault on another node 0.3 s after the heal does not hide node 3's return; one on node 3 does.
    const other = faultAvailability(
      s,
      [event(1, 'kill', 4_000, 5_000, { nodes: [3] }), event(2, 'pause', 5_300, 6_000, { nodes: [2] })],
      [],
      10_000,
    );
    expect(other[0]?.rejoinAfterHealMs).toBe(1_200);
    const same = faultAvailability(
      s,
      [event(1, 'kill', 4_000, 5_000, { nodes: [3] }), event(2, 'pause', 5_300, 6_000, { nodes: [3] })],
      [],
      10_000,
    );
    expect(same[0]?.rejoinAfterHealMs).toBeNull();
    // Time without any leader (here 5.2-5.9 s, another fault's doing) is not counted.
    const leaderless = s.map((x) => (x.time >= 5_200 && x.time < 5_900 ? { ...x, views: { ...x.views, '1': null } } : x));
    const [g] = faultAvailability(leaderless, [event(1, 'kill', 4_000, 5_000, { nodes: [3] })], [], 10_000);
    expect(g?.rejoinAfterHealMs).toBe(500);
  });
});

describe('rejoinTimes', () => {
  const node = (id: number, applied: number, leader = 1, term = 2): RejoinSample['nodes'][number] => ({
    id,
    role: id === leader ? 'leader' : 'follower',
    term,
    leader,
    commit: id === leader ? applied : applied,
    applied,
  });

  it('a node is back once it names the leader and applied what the leader had committed a poll earlier', () => {
    const rs: RejoinSample[] = [
      { time: 10_000, nodes: [node(1, 100), node(2, 100)] },
      { time: 10_100, nodes: [node(1, 110), node(2, 105), node(3, 50, 0, 1)] },
      { time: 10_200, nodes: [node(1, 120), node(2, 118), node(3, 90)] },
      { time: 10_300, nodes: [node(1, 130), node(2, 128), node(3, 121)] },
    ];
    expect(rejoinTimes(rs, [1, 2, 3], 10_000)).toEqual({
      '1': 100,
      '2': 100,
      '3': 300,
    });
    expect(rejoinTimes(rs.slice(0, 3), [1, 2, 3], 10_000)['3']).toBeNull();
  });

  it('late or missing rejoins fail the verdict', () => {
    const rs: RejoinSample[] = [];
    for (let t = 10_000; t <= 13_000; t += 100)
      rs.push({
        time: t,
        nodes: [node(1, 100), node(2, 100), ...(t >= 12_500 ? [node(3, 100)] : [])],
      });
    const base = {
      history: steady('a', 0, 13_000),
      leaderSamples: samples(0, 13_000, 1, 2),
      events: [],
      clients: ['a'],
      members: [1, 2, 3],
      healedAt: 10_000,
      endMs: 13_000,
    };
    const late = checkAvailability({ ...base, rejoinSamples: rs });
    expect(late.summary.rejoinMs).toEqual({ '1': 100, '2': 100, '3': 2_500 });
    expect(late.summary.healToRejoinMs).toBe(2_500);
    expect(late.anomalies.map((a) => a.kind)).toEqual(['slow-rejoin']);
    const never = checkAvailability({
      ...base,
      rejoinSamples: rs.filter((s) => s.time < 12_500),
    });
    expect(never.summary.healToRejoinMs).toBeNull();
    expect(never.anomalies[0]?.message).toContain('node 3 not within the polls');
    // Node 3 back 1.5 s after the heal: within the bar.
    const early = rs.map((s) => (s.time >= 11_500 ? { ...s, nodes: [node(1, 100), node(2, 100), node(3, 100)] } : s));
    const inTime = checkAvailability({ ...base, rejoinSamples: early });
    expect(inTime.summary.rejoinMs['3']).toBe(1_500);
    expect(inTime.anomalies).toEqual([]);
  });
});

describe('checkAvailability', () => {
  it('a client stalled 3 s under a reachable leader fails with the ops involved, per fault kind in the summary', () => {
    const history = [...steady('a', 0, 10_000), ...steady('b', 0, 2_500), ...steady('b', 5_500, 10_000)];
    const r = checkAvailability({
      history,
      leaderSamples: [...samples(0, 2_000, 1), ...samples(2_000, 2_500, 0), ...samples(2_500, 10_000, 2, 2)],
      rejoinSamples: [],
      events: [event(1, 'pause', 2_000, 3_000)],
      clients: ['a', 'b'],
      members: [],
      healedAt: 9_000,
      endMs: 10_000,
    });
    expect(r.anomalies.map((a) => a.kind)).toEqual(['client-no-progress']);
    expect(r.anomalies[0]?.message).toContain('b ');
    expect(r.anomalies[0]?.ops.length).toBeGreaterThan(0);
    expect(r.summary.clientGaps.a).toBeLessThanOrEqual(50);
    expect(r.summary.clientGaps.b).toBeGreaterThan(2_900);
    expect(r.summary.byKind.pause).toEqual({
      faults: 1,
      worstGapMs: r.summary.clientGaps.b,
      worstLeaderAfterHealMs: 0,
      worstRejoinAfterHealMs: 0,
    });
  });

  it('the negative-control scale shifts every bar, and a bad value is refused', () => {
    expect(availabilityBars({})).toEqual(DEFAULT_BARS);
    expect(availabilityBars({ RAFTLOCK_CHAOS_BAR_SCALE: '0.01' }).noProgressMs).toBe(20);
    expect(() => availabilityBars({ RAFTLOCK_CHAOS_BAR_SCALE: 'x' })).toThrow(/RAFTLOCK_CHAOS_BAR_SCALE=x is not a positive number/);
    // A history that passes the real bars fails the scaled ones.
    const input = {
      history: steady('a', 0, 5_000, 100),
      leaderSamples: samples(0, 5_000, 1),
      rejoinSamples: [],
      events: [],
      clients: ['a'],
      members: [],
      healedAt: 5_000,
      endMs: 5_000,
    };
    expect(checkAvailability(input).anomalies).toEqual([]);
    expect(
      checkAvailability({
        ...input,
        bars: availabilityBars({ RAFTLOCK_CHAOS_BAR_SCALE: '0.01' }),
      }).anomalies.map((a) => a.kind),
    ).toEqual(['client-no-progress']);
  });
});

describe('report', () => {
  it('shows the availability table per fault kind and marks the figures past their bars', () => {
    const history = [...steady('a', 0, 2_500), ...steady('a', 5_000, 10_000)];
    const events = [event(1, 'pause', 2_000, 3_000), event(2, 'kill', 6_000, 7_000, { description: '<b>kill</b>' })];
    const checked = checkAvailability({
      history,
      leaderSamples: samples(0, 10_000, 1),
      rejoinSamples: [9_100, 9_200].map((time) => ({
        time,
        nodes: [1, 2, 3].map((id) => ({
          id,
          role: id === 1 ? 'leader' : 'follower',
          term: 1,
          leader: 1,
          commit: 5,
          applied: 5,
        })),
      })),
      events,
      clients: ['a'],
      members: [1, 2, 3],
      healedAt: 9_000,
      endMs: 10_000,
    });
    const summary: Summary = {
      verdict: 'fail',
      seed: 1,
      nodes: 3,
      clients: 1,
      workloads: ['counters'],
      nemeses: ['kill', 'pause'],
      fencing: true,
      durationMs: 10_000,
      ops: {
        total: history.length,
        ok: history.length,
        fail: 0,
        unknown: 0,
        checked: history.length,
      },
      faults: events.length,
      anomalies: checked.anomalies,
      resource: { accepted: 0, rejected: 0 },
      leaderAfterHealMs: 100,
      stateHashes: {},
      hashesEqual: true,
      buckets: [],
      startedAt: '2026-01-01T00:00:00.000Z',
      availability: checked.summary,
    };
    const html = renderReport({
      summary,
      history,
      nemesis: events,
      resource: [],
    });
    const section = html.slice(html.indexOf('<section id="availability">'));
    expect(section).toContain('<th>worst no-progress gap</th>');
    // The pause row: its 2.55 s stall is past the 2 s bar and marked; the kill row is not.
    expect(section).toMatch(/pause<\/td><td class="num">1<\/td><td class="num"><span class="st-fail">2\.55 s<\/span>/);
    expect(section).toMatch(/kill<\/td><td class="num">1<\/td><td class="num"><span>50 ms<\/span>/);
    expect(section).toContain('node 3: <span>200 ms</span>');
    expect(html).not.toContain('<b>kill</b>');
  });
});
