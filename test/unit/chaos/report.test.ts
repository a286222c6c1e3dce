/**
 * The chaos report (scripts/lib/chaos/report.ts): one self-contained HTML document with the
 * verdict, a timeline with one band per fault, the anomalies' operations, every run-provided
 * string escaped, and a 20,000-operation history kept well under 5 MB.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReportDir } from '../../../scripts/lib/chaos/render-report.js';
import { renderReport } from '../../../scripts/lib/chaos/report.js';
import { LEFT, PLOT_W } from '../../../scripts/lib/chaos/report-svg.js';
import type { Anomaly, Bucket, HistoryOp, NemesisEvent, ResourceWrite, Summary } from '../../../scripts/lib/chaos/types.js';

function op(id: number, over: Partial<HistoryOp> = {}): HistoryOp {
  return {
    id,
    client: 'w1c1',
    worker: 1,
    kind: 'counter',
    key: 'ctr',
    input: { op: 'add', delta: 1 },
    output: id,
    status: 'ok',
    call: id * 10,
    return: id * 10 + 5,
    ...over,
  };
}

function buckets(history: readonly HistoryOp[], durationMs: number, width = 1000): Bucket[] {
  const out: Bucket[] = [];
  for (let start = 0; start < durationMs; start += width) {
    const done = history.filter((o) => o.return !== null && o.return >= start && o.return < start + width);
    const count = (s: HistoryOp['status']): number => done.filter((o) => o.status === s).length;
    out.push({
      start,
      ok: count('ok'),
      fail: count('fail'),
      unknown: count('unknown'),
      p50Ms: done.length > 0 ? 5 : null,
      p99Ms: done.length > 0 ? 40 : null,
    });
  }
  return out;
}

function summary(history: readonly HistoryOp[], nemesis: readonly NemesisEvent[], over: Partial<Summary> = {}): Summary {
  const durationMs = over.durationMs ?? 1000;
  const count = (s: HistoryOp['status']): number => history.filter((o) => o.status === s).length;
  return {
    verdict: 'pass',
    seed: 7,
    nodes: 3,
    clients: new Set(history.map((o) => o.client)).size,
    workloads: ['counters', 'locks'],
    nemeses: ['kill', 'partition'],
    fencing: true,
    durationMs,
    ops: {
      total: history.length,
      ok: count('ok'),
      fail: count('fail'),
      unknown: count('unknown'),
      checked: history.length - count('fail'),
    },
    faults: nemesis.length,
    anomalies: [],
    resource: { accepted: 0, rejected: 0 },
    leaderAfterHealMs: 420,
    stateHashes: { '1': 'abcdef0123456789', '2': 'abcdef0123456789', '3': 'abcdef0123456789' },
    hashesEqual: true,
    buckets: buckets(history, durationMs),
    startedAt: '2025-01-01T00:00:00.000Z',
    ...over,
  };
}

/** A seeded history of `n` operations over `clients` clients in `durationMs`, mixed statuses and kinds. */
function bigHistory(n: number, clients: number, durationMs: number, randomStatus: boolean): HistoryOp[] {
  let seed = 99;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const perClient = Math.ceil(n / clients);
  const slot = durationMs / perClient;
  const ops: HistoryOp[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % clients;
    const k = Math.floor(i / clients);
    const lock = c % 4 === 3;
    const r = rnd();
    const status: HistoryOp['status'] = randomStatus
      ? r < 0.34
        ? 'ok'
        : r < 0.67
          ? 'fail'
          : 'unknown'
      : r < 0.95
        ? 'ok'
        : r < 0.98
          ? 'fail'
          : 'unknown';
    const call = k * slot + rnd() * slot * 0.2;
    ops.push({
      id: i,
      client: `w${Math.floor(c / 2) + 1}c${(c % 2) + 1}`,
      worker: Math.floor(c / 2) + 1,
      kind: lock ? 'lock' : 'counter',
      key: lock ? `lock-${c % 3}` : `ctr-${c % 5}`,
      input: lock ? { op: 'acquire', waitMs: 500 } : { op: 'add', delta: 1 + (i % 7) },
      ...(status === 'ok' ? { output: lock ? { acquired: true, token: i } : i } : { error: status === 'fail' ? 'UNAVAILABLE' : 'TIMEOUT' }),
      status,
      call,
      return: call + slot * (0.3 + rnd() * 0.5),
    });
  }
  return ops;
}

const timelineOf = (html: string): string => {
  const start = html.indexOf('id="timeline-svg"');
  expect(start).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('</svg>', start));
};
const anomaliesOf = (html: string): string => html.slice(html.indexOf('<section id="anomalies"'));

const faults: NemesisEvent[] = [
  { id: 1, kind: 'kill', description: 'kill leader (node 2)', nodes: [2], start: 100, end: 300 },
  { id: 2, kind: 'partition', description: 'partition majority/minority {1,2} | {3}', nodes: [3], start: 250, end: 600 },
  { id: 3, kind: 'pause-client', description: 'pause client worker 3 (holds lock-a)', nodes: [], start: 700, end: null },
];
const small: HistoryOp[] = [
  op(1),
  op(2, { client: 'w2c1', worker: 2, status: 'fail', error: 'UNAVAILABLE', output: undefined }),
  op(3, { client: 'w1c2', kind: 'lock', key: 'lock-a', input: { op: 'acquire', waitMs: 500 }, output: { acquired: true, token: 5 } }),
  op(40, { status: 'unknown', return: null, error: 'TIMEOUT', output: undefined }),
  op(60, { client: 'w1c2', kind: 'lock', key: 'lock-a', input: { op: 'release', token: 5 }, output: 'ok' }),
];

describe('renderReport', () => {
  it('returns a single self-contained HTML document', () => {
    const html = renderReport({ summary: summary(small, faults), history: small, nemesis: faults, resource: [] });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    for (const tag of ['<html', '</html>', '<head>', '<body>', '<style>']) expect(html.split(tag).length - 1, tag).toBe(1);
    expect(html).not.toMatch(/<(script|link|iframe|img|object|embed)\b/i);
    expect(html).not.toMatch(/\b(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(|@import/i);
    const hrefs = [...html.matchAll(/\bhref="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs.length).toBeGreaterThan(0);
    for (const h of hrefs) expect(h).toMatch(/^#[\w-]+$/);
  });

  it('shows the verdict and the figures', () => {
    const pass = renderReport({ summary: summary(small, faults), history: small, nemesis: faults, resource: [] });
    expect(pass).toContain('class="verdict pass">PASS<');
    expect(pass).not.toContain('>FAIL<');
    expect(pass).toContain(`chaos: pass, ${small.length - 1} ops checked, 3 faults, 0 anomalies`);
    const s = summary(small, faults, {
      verdict: 'fail',
      hashesEqual: false,
      leaderAfterHealMs: null,
      fencing: false,
      stateHashes: { '1': 'aaaaaaaaaaaaaaaa', '2': 'bbbbbbbbbbbbbbbb', '3': 'aaaaaaaaaaaaaaaa' },
    });
    const fail = renderReport({ summary: s, history: small, nemesis: faults, resource: [] });
    expect(fail).toContain('class="verdict fail">FAIL<');
    expect(fail).not.toContain('>PASS<');
    expect(fail).toContain('DIFFER');
    expect(fail).toMatch(/hash-diff" title="bbbbbbbbbbbbbbbb">n2: /);
    expect(fail).toContain('>never<');
  });

  it('draws one band per fault across the timeline, an unhealed one to the end of the run', () => {
    const html = renderReport({ summary: summary(small, faults), history: small, nemesis: faults, resource: [] });
    const tl = timelineOf(html);
    for (const f of faults) expect(tl.split(`data-fault="${f.id}"`).length - 1, `fault ${f.id}`).toBe(1);
    expect(tl.match(/class="band"/g)).toHaveLength(faults.length);
    const band = /data-fault="3" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(tl);
    expect(band).not.toBeNull();
    expect(Number(band?.[1]) + Number(band?.[2])).toBeCloseTo(LEFT + PLOT_W, 0);
    for (const f of faults) expect(html).toContain(f.description);
    const rows = html.slice(html.indexOf('<section id="faults"')).split('</section>')[0] ?? '';
    expect(rows.match(/<tr><td class="num">/g)).toHaveLength(faults.length);
    // Each operation drawn separately at this scale, the one that never returned dashed.
    for (const o of small) expect(tl).toContain(`<title>#${o.id} `);
    expect(tl).toMatch(/class="open s-unknown"[^>]*><title>#40 /);
    expect(html).toContain('No anomalies');
  });

  it('lists each anomaly with its operations and, for a stale write, the fenced writes', () => {
    const anomalies: Anomaly[] = [
      { kind: 'stale-write', key: 'lock-a', message: 'token 5 written after token 6', ops: [3, 60, 999] },
      { kind: 'not-linearizable', key: 'ctr', message: 'no order explains get() = 12', ops: [1, 40] },
    ];
    const resource: ResourceWrite[] = [
      { time: 35, lock: 'lock-a', client: 'w1c2', token: 5, accepted: true, highest: 4 },
      ...[6, 7, 8, 9, 10].map((token) => ({ time: token * 50, lock: 'lock-a', client: 'w3c1', token, accepted: true, highest: token - 1 })),
      { time: 590, lock: 'lock-a', client: 'w1c2', token: 5, accepted: true, highest: 10 },
      { time: 595, lock: 'lock-b', client: 'w9c9', token: 77, accepted: true, highest: 76 },
    ];
    const s = summary(small, faults, { verdict: 'fail', anomalies });
    const html = renderReport({ summary: s, history: small, nemesis: faults, resource });
    const section = anomaliesOf(html);
    expect(section).not.toContain('No anomalies');
    expect(section).toContain('stale-write');
    expect(section).toContain('token 5 written after token 6');
    expect(section).toContain('acquire(wait 500 ms)');
    expect(section).toContain('acquired #5');
    expect(section).toContain('release(#5)');
    expect(section).toContain('not in history.json');
    expect(section).toContain('no order explains get() = 12');
    expect(section).toContain('TIMEOUT');
    expect(section).toContain('stale write ACCEPTED');
    expect(section.match(/<tr class="stale">/g)).toHaveLength(1);
    // Both writes with the operations' token 5 are listed, the first one far from the stale one.
    expect(section.match(/\(token of an operation above\)/g)).toHaveLength(2);
    expect(section).toContain('>35 ms<');
    expect(section).toContain('w3c1');
    expect(section).not.toContain('w9c9');
    // The operations are ringed in the timeline too.
    expect(timelineOf(html).match(/class="anom"/g)).toHaveLength(4);
  });

  it('escapes every string that comes from the run', () => {
    const evil = '<script>x</script>';
    const history = [
      op(1, { key: evil, client: 'w1"c1', error: '<b>E</b>', status: 'fail', output: undefined }),
      op(2, { output: '<i>out</i>' }),
    ];
    const nemesis: NemesisEvent[] = [{ id: 1, kind: 'kill', description: '<img src=x onerror=alert(1)>', nodes: [1], start: 1, end: 5 }];
    const s = summary(history, nemesis, {
      verdict: 'fail',
      anomalies: [{ kind: 'not-linearizable', key: evil, message: '</table><h1>pwn</h1>', ops: [1, 2] }],
      workloads: ['<u>w</u>'],
      stateHashes: { '<i>1</i>': '"><svg onload=1>' },
      startedAt: '<marquee>',
    });
    const html = renderReport({ summary: s, history, nemesis, resource: [] });
    for (const raw of [
      evil,
      '<img',
      '<b>E</b>',
      '<i>out</i>',
      '</table><h1>',
      '<u>w</u>',
      '<i>1</i>',
      '"><svg onload',
      '<marquee>',
      'w1"c1',
    ])
      expect(html, raw).not.toContain(raw);
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('w1&quot;c1');
    expect(html).toContain('&lt;/table&gt;&lt;h1&gt;pwn&lt;/h1&gt;');
  });

  it('keeps unknown operations visible when dense operations are merged', () => {
    const unknown = { status: 'unknown' as const, error: 'TIMEOUT', output: undefined };
    const dense = Array.from({ length: 2000 }, (_, i) => op(i, { call: i * 2, return: i * 2 + 1.5, ...(i === 1000 ? unknown : {}) }));
    // An ok operation and, within the same pixel column, an unknown one: merged, shown as unknown.
    dense.push(op(5000, { call: 5000, return: 5001 }), op(5001, { call: 5001, return: 5002, ...unknown }));
    const html = renderReport({ summary: summary(dense, [], { durationMs: 6000 }), history: dense, nemesis: [], resource: [] });
    const tl = timelineOf(html);
    expect(tl.match(/class="s-unknown"/g)).toHaveLength(2);
    expect(tl).toContain('2 ops #5000…#5001 (1 ok, 1 unknown)');
    expect((tl.match(/class="s-ok"/g) ?? []).length).toBeLessThan(50);
  });

  it('renders 20,000 operations in well under 5 MB, even with statuses at random', () => {
    for (const random of [false, true]) {
      const history = bigHistory(20_000, 16, 60_000, random);
      const html = renderReport({ summary: summary(history, faults, { durationMs: 60_000 }), history, nemesis: faults, resource: [] });
      expect(html.length, random ? 'random statuses' : 'mostly ok').toBeLessThan(5_000_000);
      const tl = timelineOf(html);
      expect(tl.match(/<rect class="row /g)).toHaveLength(16);
      expect(tl).toContain('s-fail');
      expect(tl).toContain('s-unknown');
    }
  });
});

describe('renderReportDir (npm run chaos:report)', () => {
  it('renders DIR/report.html from the JSON records', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaos-report-'));
    try {
      writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary(small, faults)));
      writeFileSync(join(dir, 'history.json'), JSON.stringify(small));
      writeFileSync(join(dir, 'nemesis.json'), JSON.stringify(faults));
      writeFileSync(join(dir, 'resource.json'), JSON.stringify([]));
      expect(renderReportDir(dir)).toBe(join(dir, 'report.html'));
      const html = readFileSync(join(dir, 'report.html'), 'utf8');
      expect(html).toContain('PASS');
      expect(html.split('data-fault=').length - 1).toBe(faults.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
