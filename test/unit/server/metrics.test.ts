/**
 * The Prometheus text registry (src/server/metrics.ts): HELP and TYPE lines, the naming rules
 * `promtool check metrics` lints (counters end in `_total`, nothing else does), one label shape
 * per family, histogram buckets, escaping; and the node's whole `/metrics` page keeping those
 * rules (the live page is checked by promtool itself in test/integration/metrics.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { Counter, formatValue, Gauge, Histogram, Registry } from '../../../src/server/metrics.js';
import { NodeMetrics } from '../../../src/server/node-metrics.js';
import type { Status } from '../../../src/raft/index.js';

const render = (...metrics: Array<Counter | Gauge | Histogram>): string[] => {
  const r = new Registry();
  for (const m of metrics) r.add(m);
  return r.render().trimEnd().split('\n');
};

describe('metrics registry', () => {
  it('writes HELP and TYPE before the samples, and an unlabelled counter from 0', () => {
    const c = new Counter('x_events_total', 'Events seen');
    expect(render(c)).toEqual(['# HELP x_events_total Events seen', '# TYPE x_events_total counter', 'x_events_total 0']);
    c.inc();
    c.inc(2);
    expect(render(c)[2]).toBe('x_events_total 3');
    expect(c.get()).toBe(3);
  });

  it('refuses a counter not named *_total, and *_total or histogram suffixes on anything else', () => {
    expect(() => new Counter('x_events', 'h')).toThrow(/_total/);
    expect(() => new Gauge('x_things_total', 'h', () => 1)).toThrow(/_total/);
    expect(() => new Histogram('x_seconds_total', 'h', [1])).toThrow(/_total/);
    expect(() => new Gauge('x_things_count', 'h', () => 1)).toThrow(/reserved/);
    expect(() => new Gauge('x-things', 'h', () => 1)).toThrow(/invalid metric name/);
    expect(() => new Counter('x_total', 'h', { labelNames: ['__reserved'] })).toThrow(/invalid label name/);
    expect(() => new Counter('x_total', 'h', { labelNames: ['a', 'a'] })).toThrow(/repeated/);
  });

  it('keeps one label shape per family, in the declared order whatever the object order', () => {
    const c = new Counter('x_requests_total', 'Requests', { labelNames: ['op', 'code'] });
    // A labelled family has no series until one is counted: no unlabelled 0 to mix in.
    expect(render(c)).toHaveLength(2);
    c.inc(1, { code: 'OK', op: 'acquire' });
    c.inc(1, { op: 'acquire', code: 'OK' });
    c.inc(0, { op: 'release', code: 'NOT_HELD' });
    expect(render(c).slice(2)).toEqual(['x_requests_total{op="acquire",code="OK"} 2', 'x_requests_total{op="release",code="NOT_HELD"} 0']);
    expect(() => c.inc(1, { op: 'acquire' })).toThrow(/not the declared/);
    expect(() => c.inc(1, { op: 'acquire', code: 'OK', node: '1' })).toThrow(/not the declared/);
    expect(() => c.inc(-1, { op: 'acquire', code: 'OK' })).toThrow(RangeError);
  });

  it('reads counters and gauges at scrape time, and refuses to update what it reads', () => {
    let n = 5;
    const c = new Counter('x_read_total', 'Read elsewhere', { read: () => n });
    const g = new Gauge('x_role', 'Role', {
      labelNames: ['role'],
      read: () => [
        { labels: { role: 'leader' }, value: 1 },
        { labels: { role: 'follower' }, value: 0 },
      ],
    });
    n = 7;
    expect(render(c, g)).toEqual([
      '# HELP x_read_total Read elsewhere',
      '# TYPE x_read_total counter',
      'x_read_total 7',
      '# HELP x_role Role',
      '# TYPE x_role gauge',
      'x_role{role="leader"} 1',
      'x_role{role="follower"} 0',
    ]);
    expect(() => c.inc()).toThrow(/read at scrape time/);
    const set = new Gauge('x_level', 'Level');
    set.set(3);
    set.set(2);
    expect(render(set)[2]).toBe('x_level 2');
  });

  it('writes histogram buckets cumulative, then +Inf, sum and count', () => {
    const h = new Histogram('x_wait_seconds', 'Waits', [0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 3, 30]) h.observe(v);
    expect(render(h)).toEqual([
      '# HELP x_wait_seconds Waits',
      '# TYPE x_wait_seconds histogram',
      'x_wait_seconds_bucket{le="0.1"} 2',
      'x_wait_seconds_bucket{le="1"} 3',
      'x_wait_seconds_bucket{le="10"} 4',
      'x_wait_seconds_bucket{le="+Inf"} 5',
      'x_wait_seconds_sum 33.65',
      'x_wait_seconds_count 5',
    ]);
  });

  it('puts a labelled histogram’s labels before le, and exports initialised series at zero', () => {
    const h = new Histogram('x_wait_seconds', 'Waits', [1], { labelNames: ['outcome'] });
    expect(render(h)).toHaveLength(2);
    h.init({ outcome: 'timed_out' });
    h.observe(0.5, { outcome: 'granted' });
    expect(render(h).slice(2)).toEqual([
      'x_wait_seconds_bucket{outcome="timed_out",le="1"} 0',
      'x_wait_seconds_bucket{outcome="timed_out",le="+Inf"} 0',
      'x_wait_seconds_sum{outcome="timed_out"} 0',
      'x_wait_seconds_count{outcome="timed_out"} 0',
      'x_wait_seconds_bucket{outcome="granted",le="1"} 1',
      'x_wait_seconds_bucket{outcome="granted",le="+Inf"} 1',
      'x_wait_seconds_sum{outcome="granted"} 0.5',
      'x_wait_seconds_count{outcome="granted"} 1',
    ]);
    expect(() => new Histogram('x_seconds', 'h', [1], { labelNames: ['le'] })).toThrow(/le/);
  });

  it('refuses buckets that are empty, unsorted, repeated or infinite', () => {
    for (const buckets of [[], [1, 0.5], [1, 1], [1, Number.POSITIVE_INFINITY]]) {
      expect(() => new Histogram('x_seconds', 'h', buckets)).toThrow(/buckets/);
    }
  });

  it('escapes label values and help text, and spells special values as the format does', () => {
    const c = new Counter('x_total', 'a \\ b\nc', { labelNames: ['v'] });
    c.inc(1, { v: 'q"\\\n' });
    expect(render(c)).toEqual(['# HELP x_total a \\\\ b\\nc', '# TYPE x_total counter', 'x_total{v="q\\"\\\\\\n"} 1']);
    expect([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e21, 0.25].map(formatValue)).toEqual([
      '+Inf',
      '-Inf',
      'NaN',
      '1e+21',
      '0.25',
    ]);
  });

  it('refuses a name registered twice, a histogram’s series names included', () => {
    const r = new Registry();
    r.add(new Counter('x_total', 'h'));
    expect(() => r.add(new Counter('x_total', 'h'))).toThrow(/already registered/);
    r.add(new Histogram('x_seconds', 'h', [1]));
    expect(() => r.add(new Histogram('x_seconds', 'h', [2]))).toThrow(/already registered/);
  });
});

/** The families of an exposition text: type, and the label names of each sample line. */
function families(text: string): Map<string, { type: string; samples: Array<{ name: string; labels: string[] }> }> {
  const out = new Map<string, { type: string; samples: Array<{ name: string; labels: string[] }> }>();
  let current: string | undefined;
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      const name = type[1] ?? '';
      expect(out.has(name), `TYPE of ${name} twice`).toBe(false);
      current = name;
      out.set(name, { type: type[2] ?? '', samples: [] });
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    expect(sample, line).not.toBeNull();
    const labels = [...(sample?.[2] ?? '').matchAll(/([a-zA-Z_]\w*)="/g)].map((m) => m[1] as string).filter((l) => l !== 'le');
    expect(current, `${line} before any TYPE`).toBeDefined();
    out.get(current as string)?.samples.push({ name: sample?.[1] as string, labels });
  }
  return out;
}

describe("the node's /metrics page", () => {
  const page = (): string => {
    const m = new NodeMetrics(() => undefined);
    // Something in every labelled family, so its label shape shows.
    m.writes.inc(1, { sync: 'true' });
    m.attachClients({
      metrics: {
        connections: 1,
        connectionsTotal: 2,
        frames: 3,
        requests: 3,
        answers: { acquire: { OK: 2, NOT_LEADER: 1 } },
        malformed: 0,
        errors: {},
        oversize: 0,
        slowConsumers: 0,
        refusedUpgrades: 0,
      },
      requestSeconds: new Histogram('raftlock_client_request_duration_seconds', 'h', [1], { labelNames: ['op'] }),
    });
    return m.render();
  };

  it('types every *_total family as a counter and names every counter *_total', () => {
    const fams = families(page());
    expect(fams.size).toBeGreaterThan(20);
    for (const [name, f] of fams) {
      expect(f.type === 'counter', `${name} is a ${f.type}`).toBe(name.endsWith('_total'));
    }
  });

  it('gives each family one label shape, and names its samples after it', () => {
    for (const [name, f] of families(page())) {
      const shapes = new Set(f.samples.map((s) => s.labels.join(',')));
      expect(shapes.size, `${name} mixes label sets ${[...shapes].join(' | ')}`).toBeLessThanOrEqual(1);
      const allowed = f.type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
      for (const s of f.samples) expect(allowed, `${s.name} under ${name}`).toContain(s.name);
    }
  });

  it('has the domain families, with a closed set of label names (never a lock or session)', () => {
    const fams = families(page());
    const expected: Record<string, string> = {
      raftlock_sessions_open: 'gauge',
      raftlock_sessions_expired_total: 'counter',
      raftlock_locks_held: 'gauge',
      raftlock_lock_waiters: 'gauge',
      raftlock_lock_grants_total: 'counter',
      raftlock_lock_wait_seconds: 'histogram',
      raftlock_lock_hold_seconds: 'histogram',
      raftlock_client_requests_total: 'counter',
      raftlock_client_connections: 'gauge',
      raftlock_proposal_apply_seconds: 'histogram',
      raftlock_apply_lag_entries: 'gauge',
      raftlock_peer_messages_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected)) expect(fams.get(name)?.type, name).toBe(type);
    const labelNames = new Set([...fams.values()].flatMap((f) => f.samples.flatMap((s) => s.labels)));
    expect([...labelNames].sort()).toEqual(['code', 'direction', 'kind', 'op', 'outcome', 'role', 'sync']);
  });

  it('shows the membership: members by role, a pending change, and each member’s lag on the leader', () => {
    const peer = (id: number, match: number, isLearner: boolean): Status['progress'][number] => ({
      id,
      match,
      next: match + 1,
      state: 'replicate',
      isLearner,
      paused: false,
      inflight: 0,
      recentActive: true,
    });
    const status: Status = {
      id: 1,
      role: 'leader',
      term: 3,
      vote: 1,
      leader: 1,
      commit: 40,
      applied: 40,
      firstIndex: 1,
      lastIndex: 42,
      leadTransferee: 0,
      config: { voters: [1, 2, 3], learners: [4] },
      configIndex: 42,
      progress: [peer(1, 42, false), peer(2, 42, false), peer(3, 30, false), peer(4, 2, true)],
    };
    const host = {
      status: () => status,
      stats: { proposals: 0, entriesPersisted: 0, applied: 0, readies: 0, elections: 0 },
      appliedIndex: 40,
    };
    const text = new NodeMetrics(() => host as never).render();
    expect(text).toContain('raftlock_members{role="voter"} 3');
    expect(text).toContain('raftlock_members{role="learner"} 1');
    expect(text).toContain('raftlock_config_index 42');
    expect(text).toContain('raftlock_membership_change_pending 1');
    expect(text).toContain('raftlock_member_lag_entries{member="3",role="voter"} 12');
    expect(text).toContain('raftlock_member_lag_entries{member="4",role="learner"} 40');
    expect(text).not.toContain('raftlock_member_lag_entries{member="1"');
  });
});
