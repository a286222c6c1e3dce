/** The SVG charts and formatting helpers of the chaos report (timeline, throughput, latency, colours, escaping). */
/**
 * The SVG drawings of the chaos report (`report.ts`): the per-client timeline of operations
 * with fault windows shaded, and the throughput and latency charts. Every drawing shares one
 * horizontal scale (same left margin, same plot width, same time domain), so a fault band lines
 * up across all of them. Everything here returns markup with every run-provided string escaped.
 */
import { isEndSession, type Bucket, type FaultKind, type HistoryOp, type NemesisEvent } from './types.js';

/** Escapes text for HTML text and attribute values (and inline SVG), dropping control characters. */
export function esc(value: unknown): string {
  return (
    String(value)
      // eslint-disable-next-line no-control-regex -- on purpose: control characters are not allowed in XML
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd')
      .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)
  );
}

/** Cuts a string to `max` characters, marking the cut with an ellipsis. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A time since the run's start: `850 ms`, `12.345 s`; `—` when not a finite number. */
export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return Math.abs(ms) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(3)} s`;
}

/** A duration: `850 ms`, `2.4 s`, `1 min 05 s`. */
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * An operation's input (a CounterInput, LockInput or PermitInput) in short form: `add(3)`,
 * `cas(1→2)`, `acquire(wait 500 ms)`, `acquire(2 of 3, wait 500 ms)`, `acquire(read, wait 500 ms)`,
 * `release(#7)`, `write(#7)`, `end-session(grant 4)`.
 */
export function fmtInput(input: unknown): string {
  const i = input as Record<string, unknown> | null;
  switch (i?.['op']) {
    case 'add':
      return `add(${String(i['delta'])})`;
    case 'set':
      return `set(${String(i['value'])})`;
    case 'cas':
      return `cas(${String(i['expected'])}→${String(i['next'])})`;
    case 'get':
      return 'get()';
    case 'acquire': {
      const weight = i['weight'];
      const mode = i['mode'];
      const what = typeof weight === 'number' ? `${weight} of ${String(i['permits'])}, ` : typeof mode === 'string' ? `${mode}, ` : '';
      return `acquire(${what}wait ${String(i['waitMs'])} ms)`;
    }
    case 'release':
      return `release(#${String(i['token'])})`;
    case 'write':
      return `write(#${String(i['token'])}${i['fenced'] === false ? ', unfenced' : ''})`;
    case 'end-session': {
      const session = i['session'];
      return `end-session(grant ${String(i['grant'])}${typeof session === 'number' ? `, session ${session}` : ''})`;
    }
    default:
      return clip(JSON.stringify(input) ?? '—', 80);
  }
}

/** An operation's output in short form: `{acquired, #7}`, `true`, JSON otherwise. */
export function fmtOutput(output: unknown): string {
  if (output === undefined) return '—';
  if (typeof output === 'string') return clip(output, 80);
  const o = output as Record<string, unknown> | null;
  if (o !== null && typeof o === 'object' && 'acquired' in o)
    return o['acquired'] === true ? `acquired #${String(o['token'])}` : 'not acquired';
  return clip(JSON.stringify(output) ?? '—', 80);
}

/** Colours of operation statuses and fault kinds (shared with the HTML legend). */
export const STATUS_COLOR = { ok: '#2f9e44', fail: '#f76707', unknown: '#9c36b5' } as const;
export const FAULT_COLOR: Readonly<Record<FaultKind, string>> = {
  kill: '#e03131',
  pause: '#1c7ed6',
  partition: '#f59f00',
  clock: '#d6336c',
  'pause-client': '#0c8599',
  'member-add': '#2f9e44',
  'member-remove': '#7048e8',
  'member-replace': '#495057',
};
const faultColor = (k: string): string => FAULT_COLOR[k as FaultKind] ?? '#868e96';

/** The horizontal layout every drawing shares. */
export const LEFT = 104;
export const PLOT_W = 1200;
const RIGHT = 20;
const WIDTH = LEFT + PLOT_W + RIGHT;
/** Numbers in the markup: at most one decimal, to keep 20,000-operation timelines small. */
const n1 = (v: number): string => String(Math.round(v * 10) / 10);

/** Maps run time onto the shared horizontal scale, clamped to [0, end]. */
export interface TimeScale {
  readonly end: number;
  x(t: number): number;
}
export function timeScale(end: number): TimeScale {
  const e = Number.isFinite(end) && end > 0 ? end : 1;
  return { end: e, x: (t) => LEFT + (Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), e) / e) * PLOT_W };
}

function niceStep(span: number, target: number): number {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
}

/** Vertical grid lines and time labels under a plot spanning y0..y1. */
function timeAxis(s: TimeScale, y0: number, y1: number): string {
  const step = niceStep(s.end, 12);
  const out: string[] = [];
  for (let t = 0; t <= s.end + 1e-9; t += step) {
    const x = n1(s.x(t));
    const label = step >= 1000 ? `${Math.round(t / 100) / 10} s` : `${Math.round(t)} ms`;
    out.push(
      `<line class="grid" x1="${x}" x2="${x}" y1="${y0}" y2="${y1}"/><text class="tick" x="${x}" y="${y1 + 13}" text-anchor="middle">${label}</text>`,
    );
  }
  return out.join('');
}

const faultEnd = (f: NemesisEvent, s: TimeScale): number => (f.end === null ? s.end : f.end);

/** A membership change's outcome, as ` · committed` or ` · refused (change-pending), retried later`; empty for other faults. */
export function outcomeText(f: NemesisEvent): string {
  if (f.outcome === undefined) return '';
  const why = f.reason !== undefined ? ` (${f.reason})` : '';
  return ` · ${f.outcome}${why}${f.outcome === 'committed' ? '' : ', retried later'}`;
}

function faultTitle(f: NemesisEvent): string {
  const nodes = f.nodes.length > 0 ? ` · nodes ${f.nodes.join(',')}` : '';
  const end = f.end === null ? 'end of run (healed then)' : fmtTime(f.end);
  return `fault #${f.id} ${f.kind}: ${f.description}${nodes} · ${fmtTime(f.start)} → ${end}${outcomeText(f)}`;
}

/** Translucent fault bands spanning y0..y1; `attr` marks timeline bands for tests and styling. */
function faultBands(faults: readonly NemesisEvent[], s: TimeScale, y0: number, y1: number, cls: string): string {
  return faults
    .map((f) => {
      const x0 = s.x(f.start);
      const w = Math.max(s.x(faultEnd(f, s)) - x0, 1);
      const c = faultColor(f.kind);
      const rect = `<rect class="${cls}"${cls === 'band' ? ` data-fault="${esc(f.id)}"` : ''} x="${n1(x0)}" y="${y0}" width="${n1(w)}" height="${y1 - y0}" fill="${c}"/>`;
      const edge = (x: number, dash: boolean): string =>
        `<line class="edge${dash ? ' dash' : ''}" x1="${n1(x)}" x2="${n1(x)}" y1="${y0}" y2="${y1}" stroke="${c}"/>`;
      return `${rect}${edge(x0, false)}${f.end === null ? '' : edge(x0 + w, true)}`;
    })
    .join('');
}

/** Greedy interval packing of faults into lanes so overlapping windows get lanes of their own. */
function packLanes(faults: readonly NemesisEvent[], s: TimeScale): { lane: number; f: NemesisEvent }[] {
  const laneEnds: number[] = [];
  return [...faults]
    .sort((a, b) => a.start - b.start)
    .map((f) => {
      const x0 = s.x(f.start);
      const x1 = Math.max(s.x(faultEnd(f, s)), x0 + 2);
      let lane = laneEnds.findIndex((e) => e + 2 <= x0);
      if (lane < 0) lane = laneEnds.push(0) - 1;
      laneEnds[lane] = x1;
      return { lane, f };
    });
}
const faultLabel = (f: NemesisEvent): string => `#${f.id} ${f.kind}${f.nodes.length > 0 ? ` n${f.nodes.join(',')}` : ''}`;

/** Operations drawn tall: those of grants (locks, semaphores, readers-writer locks). */
const isGrantOp = (op: HistoryOp): boolean => op.kind !== 'counter';

/** A drawn piece of a client's row: one operation, or several adjacent ones merged at this scale. */
interface Run {
  x0: number;
  x1: number;
  lock: boolean;
  status: HistoryOp['status'];
  first: HistoryOp;
  last: HistoryOp;
  counts: Record<HistoryOp['status'], number>;
}
const SEVERITY = { ok: 0, fail: 1, unknown: 2 } as const;
/** Merge an operation into the run before it if it has the same status and kind and starts within this many units of it… */
const JOIN = 2;
/** …or, whatever its status, if it touches a run still narrower than COLUMN (one pixel column). */
const TOUCH = 0.6;
const COLUMN = 1.5;
const MIN_W = 0.8;

function opTitle(op: HistoryOp): string {
  const ret = op.return === null ? 'never returned' : fmtTime(op.return);
  const err = op.error !== undefined ? ` ${clip(op.error, 40)}` : '';
  return `#${op.id} ${clip(op.client, 24)} ${op.kind} ${clip(op.key, 32)} ${fmtInput(op.input)} → ${op.status === 'ok' ? fmtOutput(op.output) : op.status}${err} · ${fmtTime(op.call)} → ${ret}`;
}

function runTitle(r: Run): string {
  const n = r.counts.ok + r.counts.fail + r.counts.unknown;
  if (n === 1) return opTitle(r.first);
  const parts = (['ok', 'fail', 'unknown'] as const).filter((k) => r.counts[k] > 0).map((k) => `${r.counts[k]} ${k}`);
  return `${n} ops #${r.first.id}…#${r.last.id} (${parts.join(', ')}) · ${fmtTime(r.first.call)} → ${fmtTime(r.last.return)}`;
}

/** Merges a client's operations (sorted by call) into runs no finer than the drawing can show. */
function mergeRuns(ops: readonly HistoryOp[], s: TimeScale): Run[] {
  const runs: Run[] = [];
  let cur: Run | undefined;
  for (const op of ops) {
    const x0 = s.x(op.call);
    const x1 = Math.max(s.x(op.return ?? op.call), x0 + MIN_W);
    const lock = isGrantOp(op);
    const same = cur !== undefined && cur.status === op.status && cur.lock === lock;
    if (cur !== undefined && ((same && x0 <= cur.x1 + JOIN) || (x0 <= cur.x1 + TOUCH && cur.x1 - cur.x0 < COLUMN))) {
      cur.x1 = Math.max(cur.x1, x1);
      cur.lock ||= lock;
      if (SEVERITY[op.status] > SEVERITY[cur.status]) cur.status = op.status;
      cur.counts[op.status]++;
      cur.last = op;
      continue;
    }
    cur = { x0, x1, lock, status: op.status, first: op, last: op, counts: { ok: 0, fail: 0, unknown: 0 } };
    cur.counts[op.status]++;
    runs.push(cur);
  }
  return runs;
}

/** Sorts client names by worker, then naturally (`w2c10` after `w2c9`). */
export function clientOrder(history: readonly HistoryOp[]): { client: string; worker: number; ops: HistoryOp[] }[] {
  const by = new Map<string, { client: string; worker: number; ops: HistoryOp[] }>();
  for (const op of history) {
    let row = by.get(op.client);
    if (row === undefined) by.set(op.client, (row = { client: op.client, worker: op.worker, ops: [] }));
    row.ops.push(op);
  }
  const rows = [...by.values()];
  for (const r of rows) r.ops.sort((a, b) => a.call - b.call || a.id - b.id);
  return rows.sort((a, b) => a.worker - b.worker || a.client.localeCompare(b.client, 'en', { numeric: true }));
}

/**
 * The timeline: a lane of labelled fault windows on top, then one row per client (sorted by
 * worker, then client) with each operation a bar from call to return coloured by status — tall
 * for lock operations, short for counter operations, on a row tinted by the client's workload;
 * operations that never returned are dashed to the end of the run; operations named by an
 * anomaly are ringed in red. Fault windows are shaded across every row.
 */
export function timelineSvg(
  history: readonly HistoryOp[],
  faults: readonly NemesisEvent[],
  anomalous: ReadonlyMap<number, string>,
  s: TimeScale,
): string {
  // A grant's end-session is what a client saw of a session, not a call: listed with anomalies, not drawn.
  const rows = clientOrder(history.filter((op) => !isEndSession(op)));
  const rowH = Math.max(6, Math.min(18, Math.floor(720 / Math.max(rows.length, 1))));
  const lanes = packLanes(faults, s);
  const laneCount = Math.max(1, ...lanes.map((l) => l.lane + 1));
  const laneH = 15;
  const top = 8;
  const rowsTop = top + laneCount * laneH + 6;
  const rowsBottom = rowsTop + Math.max(rows.length, 1) * rowH;
  const height = rowsBottom + 22;
  const out: string[] = [];
  out.push(
    `<svg class="chart" id="timeline-svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="Timeline of operations per client with fault windows">`,
  );
  out.push(`<text class="lbl" x="${LEFT - 8}" y="${top + 11}" text-anchor="end">faults</text>`);
  for (const { lane, f } of lanes) {
    const x0 = s.x(f.start);
    const w = Math.max(s.x(faultEnd(f, s)) - x0, 2);
    const y = top + lane * laneH;
    const label = clip(faultLabel(f), 28);
    const text = w >= label.length * 6 + 4 ? `<text class="flbl" x="${n1(x0 + 3)}" y="${y + 10.5}">${esc(label)}</text>` : '';
    const open = f.end === null ? ' stroke-dasharray="3 2" stroke="#333"' : '';
    out.push(
      `<g class="fault"><title>${esc(faultTitle(f))}</title><rect x="${n1(x0)}" y="${y}" width="${n1(w)}" height="${laneH - 2}" rx="2" fill="${faultColor(f.kind)}"${open}/>${text}</g>`,
    );
  }
  out.push(timeAxis(s, rowsTop, rowsBottom));
  rows.forEach((row, i) => {
    const y = rowsTop + i * rowH;
    const kinds = new Set(row.ops.map((o) => o.kind));
    const kind = kinds.size === 1 ? [...kinds][0] : 'mixed';
    out.push(`<rect class="row r-${kind}${i % 2 === 1 ? ' odd' : ''}" x="${LEFT}" y="${y}" width="${PLOT_W}" height="${rowH}"/>`);
    const fs = Math.min(11, rowH - 1);
    out.push(
      `<text class="lbl" x="${LEFT - 6}" y="${n1(y + rowH / 2 + fs * 0.35)}" font-size="${fs}" text-anchor="end">${esc(clip(row.client, 14))}<title>${esc(`${row.client} · worker ${row.worker} · ${row.ops.length} ops (${kind})`)}</title></text>`,
    );
    const tall = { y: n1(y + 1), h: n1(rowH - 2) };
    const short = { y: n1(y + rowH * 0.25), h: n1(rowH * 0.5) };
    for (const r of mergeRuns(
      row.ops.filter((o) => o.return !== null),
      s,
    )) {
      const g = r.lock ? tall : short;
      out.push(
        `<rect class="s-${r.status}" x="${n1(r.x0)}" y="${g.y}" width="${n1(r.x1 - r.x0)}" height="${g.h}"><title>${esc(runTitle(r))}</title></rect>`,
      );
    }
    for (const op of row.ops.filter((o) => o.return === null)) {
      const x0 = s.x(op.call);
      const g = isGrantOp(op) ? tall : short;
      out.push(
        `<rect class="open s-${op.status}" x="${n1(x0)}" y="${g.y}" width="${n1(Math.max(s.x(s.end) - x0, MIN_W))}" height="${g.h}"><title>${esc(opTitle(op))}</title></rect>`,
      );
    }
    for (const op of row.ops) {
      const note = anomalous.get(op.id);
      if (note === undefined) continue;
      const x0 = s.x(op.call);
      const x1 = Math.max(s.x(op.return ?? s.end), x0 + MIN_W);
      out.push(
        `<g class="anom"><title>${esc(`${note}: ${opTitle(op)}`)}</title><rect x="${n1(x0 - 1)}" y="${y}" width="${n1(x1 - x0 + 2)}" height="${rowH}"/><path d="M${n1(x0 - 4)} ${y - 5}h8l-4 5z"/></g>`,
      );
    }
  });
  if (rows.length === 0)
    out.push(`<text class="lbl" x="${LEFT + PLOT_W / 2}" y="${rowsTop + rowH * 0.75}" text-anchor="middle">no operations recorded</text>`);
  out.push(faultBands(faults, s, top + laneCount * laneH + 2, rowsBottom, 'band'));
  out.push(`<rect class="frame" x="${LEFT}" y="${rowsTop}" width="${PLOT_W}" height="${rowsBottom - rowsTop}"/>`);
  out.push('</svg>');
  return out.join('');
}

function plotFrame(
  title: string,
  s: TimeScale,
  faults: readonly NemesisEvent[],
  h: number,
  yTicks: string,
): { head: string; y0: number; y1: number } {
  const y0 = 20;
  const y1 = y0 + h;
  const head = [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${y1 + 22}" width="100%" role="img" aria-label="${esc(title)}">`,
    `<text class="ctitle" x="${LEFT}" y="13">${esc(title)}</text>`,
    faultBands(faults, s, y0, y1, 'cband'),
    timeAxis(s, y0, y1),
    yTicks,
    `<rect class="frame" x="${LEFT}" y="${y0}" width="${PLOT_W}" height="${h}"/>`,
  ].join('');
  return { head, y0, y1 };
}

function bucketWidth(buckets: readonly Bucket[], s: TimeScale): number {
  const gaps = buckets
    .slice(1)
    .map((b, i) => b.start - (buckets[i]?.start ?? 0))
    .filter((g) => g > 0);
  return gaps.length > 0 ? Math.min(...gaps) : s.end / Math.max(buckets.length, 1);
}

/** Stacked bars of ok / fail / unknown operations per time bucket, fault windows shaded. */
export function throughputSvg(buckets: readonly Bucket[], faults: readonly NemesisEvent[], s: TimeScale): string {
  const h = 150;
  const bw = bucketWidth(buckets, s);
  const max = Math.max(1, ...buckets.map((b) => b.ok + b.fail + b.unknown));
  const step = niceStep(max, 4);
  const top = Math.ceil(max / step) * step;
  const yOf = (v: number): number => 20 + h - (v / top) * h;
  let ticks = '';
  for (let v = 0; v <= top; v += step)
    ticks += `<line class="hgrid" x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${n1(yOf(v))}" y2="${n1(yOf(v))}"/><text class="tick" x="${LEFT - 6}" y="${n1(yOf(v) + 4)}" text-anchor="end">${v}</text>`;
  const title = `Operations completed per ${fmtDuration(bw)} bucket (ok / fail / unknown)`;
  const { head } = plotFrame(title, s, faults, h, ticks);
  const bars = buckets.map((b) => {
    const x0 = s.x(b.start) + 0.5;
    const w = Math.max(s.x(b.start + bw) - x0 - 0.5, 0.5);
    let base = 0;
    const segs = (['ok', 'fail', 'unknown'] as const).map((k) => {
      const v = b[k];
      if (!(v > 0)) return '';
      const seg = `<rect class="s-${k}" x="${n1(x0)}" y="${n1(yOf(base + v))}" width="${n1(w)}" height="${n1(yOf(base) - yOf(base + v))}"/>`;
      base += v;
      return seg;
    });
    return `<g><title>${esc(`${fmtTime(b.start)}: ${b.ok} ok, ${b.fail} fail, ${b.unknown} unknown`)}</title>${segs.join('')}</g>`;
  });
  return `${head}${bars.join('')}</svg>`;
}

/** p50 and p99 latency per bucket as lines (log scale when they span decades), faults shaded. */
export function latencySvg(buckets: readonly Bucket[], faults: readonly NemesisEvent[], s: TimeScale): string {
  const h = 150;
  const bw = bucketWidth(buckets, s);
  const vals = buckets.flatMap((b) => [b.p50Ms, b.p99Ms]).filter((v): v is number => v !== null && Number.isFinite(v));
  const maxV = Math.max(1, ...vals);
  const minPos = Math.min(maxV, ...vals.filter((v) => v > 0));
  const log = maxV / minPos > 30;
  let yOf: (v: number) => number;
  const tickVals: number[] = [];
  if (log) {
    const lo = Math.floor(Math.log10(minPos));
    const hi = Math.ceil(Math.log10(maxV));
    yOf = (v) => 20 + h - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(hi - lo, 1)) * h;
    for (let e = lo; e <= hi; e++) tickVals.push(10 ** e);
  } else {
    const step = niceStep(maxV, 4);
    const top = Math.ceil(maxV / step) * step;
    yOf = (v) => 20 + h - (Math.max(v, 0) / top) * h;
    for (let v = 0; v <= top; v += step) tickVals.push(v);
  }
  const ticks = tickVals
    .map(
      (v) =>
        `<line class="hgrid" x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${n1(yOf(v))}" y2="${n1(yOf(v))}"/><text class="tick" x="${LEFT - 6}" y="${n1(yOf(v) + 4)}" text-anchor="end">${esc(fmtDuration(v))}</text>`,
    )
    .join('');
  const title = `Latency per bucket: p50 and p99 of completed operations${log ? ' (log scale)' : ''}`;
  const { head } = plotFrame(title, s, faults, h, ticks);
  const line = (key: 'p50Ms' | 'p99Ms', cls: string): string => {
    const segs: string[] = [];
    let cur: string[] = [];
    const dots: string[] = [];
    for (const b of buckets) {
      const v = b[key];
      if (v === null || !Number.isFinite(v)) {
        if (cur.length > 0) segs.push(cur.join(' '));
        cur = [];
        continue;
      }
      const x = n1(s.x(b.start + bw / 2));
      const y = n1(yOf(v));
      cur.push(`${cur.length === 0 ? 'M' : 'L'}${x} ${y}`);
      dots.push(
        `<circle class="${cls}" cx="${x}" cy="${y}" r="2"><title>${esc(`${fmtTime(b.start)}: ${key === 'p50Ms' ? 'p50' : 'p99'} ${fmtDuration(v)}`)}</title></circle>`,
      );
    }
    if (cur.length > 0) segs.push(cur.join(' '));
    return segs.map((d) => `<path class="${cls}" d="${d}"/>`).join('') + dots.join('');
  };
  return `${head}${line('p99Ms', 'p99')}${line('p50Ms', 'p50')}</svg>`;
}
