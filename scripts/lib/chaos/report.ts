/** The chaos run's `report.html` drawn from its records: `renderReport(input)` returns one self-contained, escaped HTML document. */
/**
 * The chaos run's `report.html`: one self-contained HTML document — inline CSS and
 * inline SVG, no script, no external resource — that shows the verdict and the run's figures,
 * a timeline of every client's operations with the fault windows shaded, throughput and latency
 * over time, the faults, and each anomaly with the operations (and fenced-resource writes) it
 * involves. Everything the run recorded is treated as untrusted text and escaped.
 */
import {
  FAULT_COLOR,
  STATUS_COLOR,
  clip,
  esc,
  fmtDuration,
  fmtInput,
  fmtOutput,
  fmtTime,
  latencySvg,
  outcomeText,
  throughputSvg,
  timeScale,
  timelineSvg,
} from './report-svg.js';
import type {
  Anomaly,
  AvailabilitySummary,
  FaultKind,
  HistoryOp,
  MembershipSummary,
  NemesisEvent,
  ResourceWrite,
  RwLockFigures,
  RwResourceUse,
  SemaphoreFigures,
  Summary,
} from './types.js';

/**
 * What the report is drawn from: the contents of `summary.json`, `history.json`, `nemesis.json`,
 * `resource.json` and `rw-resource.json` (the readers-writer locks' resource; absent in older records).
 */
export interface ReportInput {
  readonly summary: Summary;
  readonly history: readonly HistoryOp[];
  readonly nemesis: readonly NemesisEvent[];
  readonly resource: readonly ResourceWrite[];
  readonly rwResource?: readonly RwResourceUse[];
}

/** At most this many operations are listed per anomaly (the rest are counted). */
const MAX_ANOMALY_OPS = 200;
/** At most this many anomalies are shown in full. */
const MAX_ANOMALIES = 100;
/** Resource writes shown either side of each interesting write of a stale-write anomaly. */
const WRITE_CONTEXT = 3;
const MAX_WRITES = 80;

const CSS = `
:root{--ok:${STATUS_COLOR.ok};--fail:${STATUS_COLOR.fail};--unknown:${STATUS_COLOR.unknown};--bad:#c92a2a;--fg:#212529;--muted:#6c757d;--line:#dee2e6}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#f8f9fa}
main{max-width:1440px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:0 0 6px}
.mono,code,td.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
header.top{display:flex;gap:24px;align-items:center;flex-wrap:wrap;background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 20px}
.verdict{font-size:44px;font-weight:800;letter-spacing:2px;color:#fff;border-radius:10px;padding:6px 26px}
.verdict.pass{background:var(--ok)}.verdict.fail{background:var(--bad)}
.sub{color:var(--muted)}
.headline{font-size:16px;margin-top:4px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin-top:14px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.card .k{font-size:11.5px;text-transform:uppercase;letter-spacing:.5px;color:var(--muted)}
.card .v{font-size:20px;font-weight:650}
.card .d{font-size:12px;color:var(--muted)}
.card.bad{border-color:var(--bad);background:#fff5f5}.card.bad .v{color:var(--bad)}
.card.good .v{color:var(--ok)}
.card.wide{grid-column:span 2}
nav{margin-top:12px;font-size:13px}nav a{margin-right:14px;color:#1864ab}
.panel{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 12px}
svg.chart{display:block;font-family:inherit}
svg .grid{stroke:#e9ecef;stroke-width:1}svg .hgrid{stroke:#e9ecef}
svg .tick{font-size:10px;fill:var(--muted)}svg .lbl{font-size:11px;fill:#343a40}svg .ctitle{font-size:12px;font-weight:600;fill:#343a40}
svg .flbl{font-size:10px;fill:#fff;font-weight:600;pointer-events:none}
svg .frame{fill:none;stroke:#adb5bd}
svg .row{fill:#fff}svg .row.r-counter{fill:#f1f5fb}svg .row.r-counter.odd{fill:#e7eef8}
svg .row.r-lock{fill:#fdf6ea}svg .row.r-lock.odd{fill:#f8ecd6}svg .row.r-mixed{fill:#f3f0f7}svg .row.r-mixed.odd{fill:#e9e4f0}
svg .row.r-semaphore{fill:#ebfbee}svg .row.r-semaphore.odd{fill:#d3f9d8}svg .row.r-rwlock{fill:#fff0f6}svg .row.r-rwlock.odd{fill:#ffdeeb}
svg .s-ok{fill:var(--ok)}svg .s-fail{fill:var(--fail)}svg .s-unknown{fill:var(--unknown)}
svg .open{fill-opacity:.12;stroke-width:1.2;stroke-dasharray:4 3}svg .open.s-unknown{stroke:var(--unknown)}svg .open.s-ok{stroke:var(--ok)}svg .open.s-fail{stroke:var(--fail)}
svg .band{fill-opacity:.2;pointer-events:none}svg .cband{fill-opacity:.18}svg .edge{stroke-width:1.2;stroke-opacity:.85;pointer-events:none}svg .edge.dash{stroke-dasharray:3 2}
svg .anom rect{fill:none;stroke:var(--bad);stroke-width:1.5}svg .anom path{fill:var(--bad)}
svg .p50{fill:none;stroke:#1971c2;stroke-width:1.6}svg circle.p50{fill:#1971c2;stroke:none}
svg .p99{fill:none;stroke:#c2255c;stroke-width:1.6}svg circle.p99{fill:#c2255c;stroke:none}
svg rect:hover,svg .fault:hover rect{stroke:#000;stroke-width:.8}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12px;color:#495057;margin:6px 0 2px}
.sw{display:inline-block;width:14px;height:10px;border-radius:2px;vertical-align:-1px;margin-right:4px}
.note{font-size:12px;color:var(--muted)}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.stale td{background:#fff0f0}tr.rej td{background:#fff9db}
.st-ok{color:var(--ok);font-weight:600}.st-fail{color:var(--fail);font-weight:600}.st-unknown{color:var(--unknown);font-weight:600}
.anomaly{border:1px solid #ffc9c9;border-left:5px solid var(--bad);background:#fff;border-radius:6px;padding:10px 14px;margin:12px 0}
.kind{display:inline-block;font-size:12px;font-weight:700;color:#fff;background:var(--bad);border-radius:4px;padding:1px 7px;margin-right:8px}
.none{font-size:16px;color:var(--ok);font-weight:600}
details summary{cursor:pointer;color:#1864ab;margin:6px 0}
.hash-diff{color:var(--bad);font-weight:700}
`;

function card(k: string, v: string, d = '', cls = ''): string {
  return `<div class="card${cls ? ` ${cls}` : ''}"><div class="k">${esc(k)}</div><div class="v">${v}</div>${d ? `<div class="d">${d}</div>` : ''}</div>`;
}
const num = (n: unknown): string => (typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US') : esc(n));
const list = (xs: readonly unknown[]): string => (xs.length > 0 ? xs.map((x) => esc(x)).join(', ') : '—');

function header(s: Summary, end: number): string {
  const pass = s.verdict === 'pass';
  const hashes = Object.entries(s.stateHashes ?? {}).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  const tally = new Map<string, number>();
  for (const [, h] of hashes) tally.set(h, (tally.get(h) ?? 0) + 1);
  const common = [...tally.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const hashList = hashes
    .map(
      ([node, h]) =>
        `<span class="mono${h !== common ? ' hash-diff' : ''}" title="${esc(h)}">n${esc(node)}: ${esc(clip(String(h), 11))}</span>`,
    )
    .join('<br>');
  const leader = s.leaderAfterHealMs;
  const cards = [
    card(
      'Operations',
      num(s.ops.total),
      `<span class="st-ok">${num(s.ops.ok)} ok</span> · <span class="st-fail">${num(s.ops.fail)} fail</span> · <span class="st-unknown">${num(s.ops.unknown)} unknown</span>`,
    ),
    card('Checked', num(s.ops.checked), 'operations in the linearizability check'),
    card('Faults', num(s.faults), list(s.nemeses)),
    card(
      'Anomalies',
      num(s.anomalies.length),
      s.anomalies.length > 0 ? list([...new Set(s.anomalies.map((a) => a.kind))]) : 'none found',
      s.anomalies.length > 0 ? 'bad' : 'good',
    ),
    card('Fenced resource', `${num(s.resource.accepted)} / ${num(s.resource.rejected)}`, 'accepted / rejected writes'),
    ...(s.workloadVerdicts !== undefined ? [workloadsCard(s)] : []),
    ...(s.semaphores !== undefined ? [semaphoresCard(s.semaphores)] : []),
    ...(s.rwlocks !== undefined ? [rwlocksCard(s.rwlocks)] : []),
    card(
      'Fencing',
      s.fencing ? 'on' : 'off',
      s.fencing ? 'stale tokens rejected' : 'negative control: any write accepted',
      s.fencing ? '' : 'bad',
    ),
    card('Cluster', `${num(s.nodes)} nodes`, `${num(s.clients)} clients · ${list(s.workloads)}`),
    ...(s.membership !== undefined ? [membershipCard(s.membership)] : []),
    card('Duration', esc(fmtDuration(s.durationMs)), `started ${esc(s.startedAt)}`),
    card(
      'Leader after heal',
      leader === null ? 'never' : esc(fmtDuration(leader)),
      'from the last heal until all nodes agree',
      leader === null ? 'bad' : '',
    ),
    ...(s.availability !== undefined ? availabilityCards(s.availability) : []),
    card('State hashes', s.hashesEqual ? 'equal' : 'DIFFER', hashList, `wide ${s.hashesEqual ? 'good' : 'bad'}`),
    card('Seed', num(s.seed), `replay with --seed ${num(s.seed)}`),
  ];
  return `<header class="top"><div class="verdict ${pass ? 'pass' : 'fail'}">${pass ? 'PASS' : 'FAIL'}</div><div><h1>raftlock chaos run</h1>
<div class="headline">chaos: ${esc(s.verdict)}, ${num(s.ops.checked)} ops checked, ${num(s.faults)} faults, ${num(s.anomalies.length)} anomalies</div>
<div class="sub">${num(s.nodes)} nodes · ${num(s.clients)} clients · ${esc(fmtDuration(end))} · seed ${num(s.seed)} · ${esc(s.startedAt)}</div></div></header>
<div class="cards">${cards.join('')}</div>
<nav><a href="#timeline">Timeline</a><a href="#throughput">Throughput &amp; latency</a><a href="#faults">Faults (${num(s.faults)})</a>${s.availability !== undefined ? '<a href="#availability">Availability</a>' : ''}<a href="#anomalies">Anomalies (${num(s.anomalies.length)})</a></nav>`;
}

/** Each workload's own verdict: failed when one of its checks found an anomaly. */
function workloadsCard(s: Summary): string {
  const v = Object.entries(s.workloadVerdicts ?? {});
  const failed = v.filter(([, x]) => x === 'fail').map(([w]) => w);
  const detail = v
    .map(([w, x]) => {
      const n = s.anomalies.filter((a) => a.workload === w).length;
      return `${esc(w)}: <span class="${x === 'pass' ? 'st-ok' : 'st-fail'}">${esc(x)}</span>${n > 0 ? ` (${num(n)} anomalies)` : ''}`;
    })
    .join('<br>');
  return card('Workloads', failed.length === 0 ? 'all pass' : `${num(failed.length)} failed`, detail, failed.length > 0 ? 'bad' : 'good');
}

/** The semaphores workload's card: grants and the writes under them. */
function semaphoresCard(f: SemaphoreFigures): string {
  const a = f.acquires;
  const w = f.writes;
  const detail = [
    `${num(f.semaphores)} × ${num(f.permits)} permits · acquires: ${num(a.notAcquired)} not acquired, ${num(a.failed)} failed, ${num(a.unknown)} unknown`,
    `${w.fenced ? 'fenced' : '<b>unfenced</b>'} writes: ${num(w.applied)} applied, ${num(w.refused)} FENCED, ${num(w.failed)} failed, ${num(w.unknown)} unknown`,
    `sessions seen ending ${num(f.sessionEnds.observed)}, ended unseen ${num(f.sessionEnds.unknown)}`,
  ].join('<br>');
  return card('Semaphore grants', num(a.granted), detail, 'wide');
}

/** The rwlocks workload's card: grants by mode and the resource's reads and writes. */
function rwlocksCard(f: RwLockFigures): string {
  const a = f.acquires;
  const r = f.resource;
  const detail = [
    `${num(f.locks)} locks · acquires: ${num(a.read)} read, ${num(a.write)} write; ${num(a.notAcquired)} not acquired, ${num(a.failed)} failed, ${num(a.unknown)} unknown`,
    `resource: reads ${num(r.readsAccepted)} accepted / ${num(r.readsRejected)} rejected, writes ${num(r.writesAccepted)} / ${num(r.writesRejected)}`,
    `sessions seen ending ${num(f.sessionEnds.observed)}, ended unseen ${num(f.sessionEnds.unknown)}`,
  ].join('<br>');
  return card('Readers-writer grants', num(a.granted), detail, 'wide');
}

/** The membership nemesis's card: the members at the start and at the end, and the changes that committed or not. */
function membershipCard(m: MembershipSummary): string {
  const failed = Object.entries(m.notCommitted)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${esc(k)} ×${num(n)}`);
  const detail = [
    `committed: ${num(m.committed.add)} add · ${num(m.committed.remove)} remove · ${num(m.committed.replace)} replace`,
    `removed: ${list(m.removed)}`,
    `not committed (retried): ${failed.length > 0 ? failed.join(', ') : 'none'}`,
  ].join('<br>');
  return card('Members', `${list(m.initial)} → ${list(m.final)}`, detail, 'wide');
}

const sw = (color: string, extra = ''): string => `<span class="sw" style="background:${color}${extra}"></span>`;

function faultLegend(faults: readonly NemesisEvent[]): string {
  const kinds = [...new Set(faults.map((f) => f.kind))];
  return kinds.map((k) => `<span>${sw(FAULT_COLOR[k] ?? '#868e96', ';opacity:.55')}${esc(k)}</span>`).join('');
}

function timelineSection(input: ReportInput, end: number, anomalous: ReadonlyMap<number, string>): string {
  const s = timeScale(end);
  const legend = [
    `<span>${sw(STATUS_COLOR.ok)}ok</span>`,
    `<span>${sw(STATUS_COLOR.fail)}fail (not applied)</span>`,
    `<span>${sw(STATUS_COLOR.unknown)}unknown (maybe applied)</span>`,
    `<span>${sw('transparent', `;border:1.5px dashed ${STATUS_COLOR.unknown}`)}never returned</span>`,
    `<span>${sw('#e7eef8', ';border:1px solid #adb5bd')}counter client (short bars)</span>`,
    `<span>${sw('#f8ecd6', ';border:1px solid #adb5bd')}lock client (tall bars)</span>`,
    `<span>${sw('#d3f9d8', ';border:1px solid #adb5bd')}semaphore client (tall bars)</span>`,
    `<span>${sw('#ffdeeb', ';border:1px solid #adb5bd')}readers-writer lock client (tall bars)</span>`,
    `<span>${sw('transparent', ';border:1.5px solid #c92a2a')}operation in an anomaly</span>`,
    `<span><b>faults:</b></span>${faultLegend(input.nemesis)}`,
  ];
  return `<section id="timeline"><h2>Timeline of operations</h2>
<div class="legend">${legend.join('')}</div>
<div class="panel">${timelineSvg(input.history, input.nemesis, anomalous, s)}</div>
<p class="note">Each bar runs from an operation's call to its return; a client's consecutive operations with the same status less than two pixels apart are merged, and operations inside one pixel column are merged (a merged bar takes the worst status in it; hover for counts). Fault windows are shaded across every client; hover a fault in the top lane for its description.</p></section>`;
}

function chartsSection(input: ReportInput, end: number): string {
  const s = timeScale(end);
  const b = input.summary.buckets ?? [];
  const legend = `<div class="legend"><span>${sw(STATUS_COLOR.ok)}ok</span><span>${sw(STATUS_COLOR.fail)}fail</span><span>${sw(STATUS_COLOR.unknown)}unknown</span><span>${sw('#1971c2')}p50 latency</span><span>${sw('#c2255c')}p99 latency</span><span><b>faults:</b></span>${faultLegend(input.nemesis)}</div>`;
  const body =
    b.length === 0
      ? '<p class="note">No buckets in summary.json.</p>'
      : `${throughputSvg(b, input.nemesis, s)}${latencySvg(b, input.nemesis, s)}`;
  return `<section id="throughput"><h2>Throughput and latency over time</h2>${legend}<div class="panel">${body}</div></section>`;
}

function faultsSection(faults: readonly NemesisEvent[], end: number): string {
  if (faults.length === 0) return '<section id="faults"><h2>Faults</h2><p>No faults were injected.</p></section>';
  const rows = [...faults]
    .sort((a, b) => a.start - b.start || a.id - b.id)
    .map((f) => {
      const stop = f.end ?? end;
      return `<tr><td class="num">${esc(f.id)}</td><td>${sw(FAULT_COLOR[f.kind] ?? '#868e96')}${esc(f.kind)}</td><td>${esc(f.description + outcomeText(f))}</td><td>${f.nodes.length > 0 ? esc(f.nodes.join(', ')) : '—'}</td><td class="num">${esc(fmtTime(f.start))}</td><td class="num">${f.end === null ? 'end of run' : esc(fmtTime(f.end))}</td><td class="num">${esc(fmtDuration(stop - f.start))}</td></tr>`;
    });
  return `<section id="faults"><h2>Faults (${faults.length})</h2><table><thead><tr><th>#</th><th>kind</th><th>description</th><th>nodes</th><th>start</th><th>end</th><th>duration</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

/** The header cards of the availability checks: the worst no-progress stretch and heal-to-rejoin, red past their bars. */
function availabilityCards(a: AvailabilitySummary): string[] {
  const rejoin = a.healToRejoinMs;
  return [
    card(
      'Worst no-progress',
      esc(fmtDuration(a.worstGapMs)),
      `a client that could reach a leader (bar ${esc(fmtDuration(a.bars.noProgressMs))})`,
      a.worstGapMs > a.bars.noProgressMs ? 'bad' : '',
    ),
    card(
      'Heal to rejoin',
      rejoin === null ? 'never' : esc(fmtDuration(rejoin)),
      `every node caught up after the final heal (bar ${esc(fmtDuration(a.bars.rejoinMs))})`,
      rejoin === null || rejoin > a.bars.rejoinMs ? 'bad' : '',
    ),
  ];
}

const ms = (v: number | null, bar?: number): string =>
  v === null ? '—' : `<span${bar !== undefined && v > bar ? ' class="st-fail"' : ''}>${esc(fmtDuration(v))}</span>`;

/**
 * The availability section: per fault kind the worst no-progress stretch, the slowest leader
 * and rejoin after a heal; per fault its own figures; per node its rejoin after the final heal.
 */
function availabilitySection(a: AvailabilitySummary): string {
  const kinds = Object.entries(a.byKind).sort(([x], [y]) => x.localeCompare(y));
  const kindRows = kinds.map(
    ([kind, k]) =>
      `<tr><td>${sw(FAULT_COLOR[kind as FaultKind] ?? '#868e96')}${esc(kind)}</td><td class="num">${num(k.faults)}</td><td class="num">${ms(k.worstGapMs, a.bars.noProgressMs)}</td><td class="num">${ms(k.worstLeaderAfterHealMs, a.bars.leaderAfterHealMs)}</td><td class="num">${ms(k.worstRejoinAfterHealMs)}</td></tr>`,
  );
  const faultRows = a.faults.map(
    (f) =>
      `<tr><td class="num">${esc(f.id)}</td><td>${esc(f.kind)}</td><td class="num">${esc(fmtTime(f.start))}</td><td class="num">${esc(fmtTime(f.end))}</td><td class="num">${ms(f.leaderFromStartMs)}</td><td class="num">${f.cutShort ? 'next fault first' : ms(f.leaderAfterHealMs, a.bars.leaderAfterHealMs)}</td><td class="num">${ms(f.rejoinAfterHealMs)}</td><td class="num">${ms(f.worstGapMs, a.bars.noProgressMs)}</td><td class="mono">${esc(f.worstGapClient ?? '—')}</td></tr>`,
  );
  const nodes = Object.entries(a.rejoinMs)
    .sort(([x], [y]) => Number(x) - Number(y))
    .map(([id, v]) => `node ${esc(id)}: ${v === null ? '<span class="st-fail">not back</span>' : ms(v, a.bars.rejoinMs)}`)
    .join(' · ');
  const byKind =
    kinds.length === 0
      ? '<p>No faults were injected.</p>'
      : `<table><thead><tr><th>fault kind</th><th>faults</th><th>worst no-progress gap</th><th>slowest leader after heal</th><th>slowest heal to rejoin</th></tr></thead><tbody>${kindRows.join('')}</tbody></table>`;
  return `<section id="availability"><h2>Availability</h2>
<p class="sub">Bars: a leader agreed by a majority within ${esc(fmtDuration(a.bars.leaderAfterHealMs))} of each heal; every node back within ${esc(fmtDuration(a.bars.rejoinMs))} of the final heal; no client that can reach a leader without a successful operation for more than ${esc(fmtDuration(a.bars.noProgressMs))}. Leadership polled ${num(a.leaderSamples)} times.</p>
${byKind}
<p>After the final heal: ${nodes || '—'} (slowest ${a.healToRejoinMs === null ? 'never' : esc(fmtDuration(a.healToRejoinMs))}).</p>
${
  faultRows.length > 0
    ? `<details><summary>Per fault</summary><table><thead><tr><th>#</th><th>kind</th><th>start</th><th>heal</th><th>leader from start</th><th>leader after heal</th><th>rejoin after heal</th><th>worst no-progress gap</th><th>client</th></tr></thead><tbody>${faultRows.join('')}</tbody></table></details>`
    : ''
}</section>`;
}

function opsTable(ids: readonly number[], byId: ReadonlyMap<number, HistoryOp>): string {
  const shown = ids.slice(0, MAX_ANOMALY_OPS);
  const rows = shown.map((id) => {
    const op = byId.get(id);
    if (op === undefined) return `<tr><td class="num">${esc(id)}</td><td colspan="9" class="note">not in history.json</td></tr>`;
    return `<tr><td class="num">${esc(op.id)}</td><td class="mono">${esc(op.client)}</td><td>${esc(op.kind)}</td><td class="mono">${esc(op.key)}</td><td class="mono">${esc(fmtInput(op.input))}</td><td class="mono">${esc(fmtOutput(op.output))}</td><td class="st-${esc(op.status)}">${esc(op.status)}</td><td class="num">${esc(fmtTime(op.call))}</td><td class="num">${op.return === null ? 'never' : esc(fmtTime(op.return))}</td><td class="mono">${esc(op.error ?? '')}</td></tr>`;
  });
  const more = ids.length > shown.length ? `<p class="note">… and ${num(ids.length - shown.length)} more operations.</p>` : '';
  return `<table><thead><tr><th>op</th><th>client</th><th>kind</th><th>key</th><th>input</th><th>output</th><th>status</th><th>call</th><th>return</th><th>error</th></tr></thead><tbody>${rows.join('')}</tbody></table>${more}`;
}

/** Tokens an anomaly's operations name: granted by an acquire, or handed to a release. */
function tokensOf(ops: readonly HistoryOp[]): Set<number> {
  const tokens = new Set<number>();
  for (const o of ops) {
    const out = o.output as { token?: unknown } | null | undefined;
    if (o.input.op === 'release' || o.input.op === 'write') tokens.add(o.input.token);
    else if (typeof out === 'object' && out !== null && typeof out.token === 'number') tokens.add(out.token);
  }
  return tokens;
}

/**
 * The fenced resource's writes on the anomaly's lock that matter: those carrying a token the
 * anomaly's operations name, and the stale ones (token below the highest accepted) while those
 * operations ran (any time, if none are named), each with a few writes either side.
 */
function writesTable(a: Anomaly, ops: readonly HistoryOp[], resource: readonly ResourceWrite[]): string {
  const locks = new Set(a.key !== undefined ? [a.key] : ops.filter((o) => o.kind === 'lock').map((o) => o.key));
  const writes = resource.filter((w) => locks.has(w.lock)).sort((x, y) => x.time - y.time);
  const where = esc([...locks].join(', ') || 'this anomaly');
  if (writes.length === 0) return `<p class="note">No fenced-resource writes recorded on ${where}.</p>`;
  const tokens = tokensOf(ops);
  const t0 = ops.length > 0 ? Math.min(...ops.map((o) => o.call)) - 1000 : -Infinity;
  const t1 = ops.length > 0 ? Math.max(...ops.map((o) => o.return ?? Infinity)) + 1000 : Infinity;
  const keep = new Set<number>();
  writes.forEach((w, i) => {
    if (!tokens.has(w.token) && !(w.token < w.highest && w.time >= t0 && w.time <= t1)) return;
    for (let j = Math.max(0, i - WRITE_CONTEXT); j <= Math.min(writes.length - 1, i + WRITE_CONTEXT); j++) keep.add(j);
  });
  const idx = [...keep].sort((x, y) => x - y);
  const shown = idx.slice(0, MAX_WRITES);
  const rows = shown.map((i, k) => {
    const w = writes[i] as ResourceWrite;
    const stale = w.token < w.highest;
    const cls = stale ? (w.accepted ? ' class="stale"' : ' class="rej"') : '';
    const what = stale
      ? w.accepted
        ? '<b style="color:var(--bad)">stale write ACCEPTED</b>'
        : 'stale write rejected'
      : w.accepted
        ? 'accepted'
        : 'rejected';
    const gap = k > 0 && i !== (shown[k - 1] ?? i) + 1 ? '<tr><td colspan="6" class="note">⋯</td></tr>' : '';
    const mark = tokens.has(w.token) ? ' <span class="sub">(token of an operation above)</span>' : '';
    return `${gap}<tr${cls}><td class="num">${esc(fmtTime(w.time))}</td><td class="mono">${esc(w.lock)}</td><td class="mono">${esc(w.client)}</td><td class="num">${esc(w.token)}${mark}</td><td class="num">${esc(w.highest)}</td><td>${what}</td></tr>`;
  });
  if (rows.length === 0)
    return `<p class="note">None of the ${num(writes.length)} fenced-resource writes on ${where} carries a token of these operations or is stale.</p>`;
  const cut = idx.length > shown.length ? `<p class="note">Showing ${MAX_WRITES} of ${num(idx.length)} relevant writes.</p>` : '';
  return `<h3 style="margin-top:10px">Fenced-resource writes on ${where}</h3><table><thead><tr><th>time</th><th>lock</th><th>client</th><th>token</th><th>highest before</th><th>outcome</th></tr></thead><tbody>${rows.join('')}</tbody></table>${cut}`;
}

/**
 * The readers-writer locks' resource uses on the anomaly's lock that matter: those with a token
 * the anomaly's operations name, and the stale ones accepted, each with a few uses either side.
 */
function rwUsesTable(a: Anomaly, ops: readonly HistoryOp[], log: readonly RwResourceUse[]): string {
  const uses = log.filter((u) => u.lock === a.key).sort((x, y) => x.time - y.time);
  const where = esc(a.key ?? 'this anomaly');
  if (uses.length === 0) return `<p class="note">No resource uses recorded on ${where}.</p>`;
  const tokens = tokensOf(ops);
  const stale = (u: RwResourceUse): boolean => (u.mode === 'write' ? u.token < u.highest : u.token <= u.highestWrite);
  const keep = new Set<number>();
  uses.forEach((u, i) => {
    if (!tokens.has(u.token) && !(stale(u) && u.accepted)) return;
    for (let j = Math.max(0, i - WRITE_CONTEXT); j <= Math.min(uses.length - 1, i + WRITE_CONTEXT); j++) keep.add(j);
  });
  const idx = [...keep].sort((x, y) => x - y);
  const shown = idx.slice(0, MAX_WRITES);
  const rows = shown.map((i, k) => {
    const u = uses[i] as RwResourceUse;
    const bad = stale(u);
    const cls = bad ? (u.accepted ? ' class="stale"' : ' class="rej"') : '';
    const what = bad
      ? u.accepted
        ? `<b style="color:var(--bad)">stale ${esc(u.mode)} ACCEPTED</b>`
        : `stale ${esc(u.mode)} rejected`
      : u.accepted
        ? 'accepted'
        : 'rejected';
    const gap = k > 0 && i !== (shown[k - 1] ?? i) + 1 ? '<tr><td colspan="7" class="note">⋯</td></tr>' : '';
    return `${gap}<tr${cls}><td class="num">${esc(fmtTime(u.time))}</td><td class="mono">${esc(u.client)}</td><td>${esc(u.mode)}</td><td class="num">${esc(u.token)}</td><td class="num">${esc(u.highestWrite)}</td><td class="num">${esc(u.highest)}</td><td>${what}</td></tr>`;
  });
  if (rows.length === 0)
    return `<p class="note">None of the ${num(uses.length)} resource uses on ${where} carries a token of these operations or is stale.</p>`;
  const cut = idx.length > shown.length ? `<p class="note">Showing ${MAX_WRITES} of ${num(idx.length)} relevant uses.</p>` : '';
  return `<h3 style="margin-top:10px">Readers-writer resource uses on ${where}</h3><table><thead><tr><th>time</th><th>client</th><th>mode</th><th>token</th><th>highest write before (W)</th><th>highest before (T)</th><th>outcome</th></tr></thead><tbody>${rows.join('')}</tbody></table>${cut}`;
}

function anomaliesSection(input: ReportInput, byId: ReadonlyMap<number, HistoryOp>): string {
  const all = input.summary.anomalies;
  if (all.length === 0) return '<section id="anomalies"><h2>Anomalies</h2><p class="none">No anomalies.</p></section>';
  const cards = all.slice(0, MAX_ANOMALIES).map((a, i) => {
    const ops = a.ops.map((id) => byId.get(id)).filter((o): o is HistoryOp => o !== undefined);
    const key = `${a.key !== undefined ? ` <span class="sub">on</span> <code>${esc(a.key)}</code>` : ''}${a.workload !== undefined ? ` <span class="sub">(${esc(a.workload)})</span>` : ''}`;
    const table =
      a.ops.length > 0
        ? `<h3>Operations involved (${num(a.ops.length)})</h3>${opsTable(a.ops, byId)}`
        : '<p class="note">No operations named.</p>';
    const writes =
      a.workload === 'rwlocks' && (a.kind === 'stale-write' || a.kind === 'stale-read')
        ? rwUsesTable(a, ops, input.rwResource ?? [])
        : a.kind === 'stale-write'
          ? writesTable(a, ops, input.resource)
          : '';
    return `<div class="anomaly" id="anomaly-${i + 1}"><h3><span class="kind">${esc(a.kind)}</span>#${i + 1}${key}</h3><p>${esc(a.message)}</p>${table}${writes}</div>`;
  });
  const more =
    all.length > MAX_ANOMALIES ? `<p class="note">… and ${num(all.length - MAX_ANOMALIES)} more anomalies (see summary.json).</p>` : '';
  return `<section id="anomalies"><h2>Anomalies (${all.length})</h2>${cards.join('')}${more}</section>`;
}

/**
 * Renders a chaos run as one self-contained HTML document (inline CSS and SVG, no script, no
 * external resource): the verdict and counts, a per-client timeline of operations with fault
 * windows shaded, throughput and latency per time bucket, the fault table, and each anomaly
 * with the operations it names (and, for stale writes, the fenced resource's writes on that
 * lock). Large histories are drawn merged at pixel resolution, so 20,000 operations stay well
 * under 5 MB. All run-provided text is escaped.
 */
export function renderReport(input: ReportInput): string {
  const { summary, history, nemesis } = input;
  const byId = new Map(history.map((o) => [o.id, o]));
  const anomalous = new Map<number, string>();
  summary.anomalies.forEach((a, i) => {
    for (const id of a.ops) if (!anomalous.has(id)) anomalous.set(id, `anomaly #${i + 1} ${a.kind}`);
  });
  let end = Number.isFinite(summary.durationMs) ? summary.durationMs : 0;
  for (const o of history) end = Math.max(end, o.call, o.return ?? 0);
  for (const f of nemesis) end = Math.max(end, f.start, f.end ?? 0);
  const title = `raftlock chaos: ${summary.verdict === 'pass' ? 'PASS' : 'FAIL'} · seed ${summary.seed}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>
${header(summary, end)}
${timelineSection(input, end, anomalous)}
${chartsSection(input, end)}
${faultsSection(nemesis, end)}
${summary.availability !== undefined ? availabilitySection(summary.availability) : ''}
${anomaliesSection(input, byId)}
<p class="note" style="margin-top:28px">Times are milliseconds since the run started, on one clock shared by every process. Generated by scripts/lib/chaos/report.ts.</p>
</main></body></html>
`;
}
