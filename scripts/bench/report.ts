/**
 * Output of the benchmark: a human table (one line per row as it finishes, the ratio
 * raftlock/etcd under each pair, then a summary against the benchmark targets), or with
 * `--json` exactly one JSON object per row on stdout with the fields `target`, `workload`,
 * `concurrency`, `opsPerSec`, `p50Ms`, `p99Ms`, `p999Ms`, `errors` — everything else goes to
 * stderr.
 */
import type { LoadResult } from './load-loop.js';
import type { Check, TargetName, WorkloadName } from './workload.js';

export interface Row {
  readonly target: TargetName;
  readonly workload: WorkloadName;
  readonly concurrency: number;
  readonly load: LoadResult;
  readonly retries: number;
  readonly check: Check;
}

/** The JSON record of a row: these fields, and only these. */
export function jsonRow(r: Row): string {
  const round = (x: number, d: number): number | null => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
  return JSON.stringify({
    target: r.target,
    workload: r.workload,
    concurrency: r.concurrency,
    opsPerSec: round(r.load.opsPerSec, 1),
    p50Ms: round(r.load.latency.percentileMs(50), 3),
    p99Ms: round(r.load.latency.percentileMs(99), 3),
    p999Ms: round(r.load.latency.percentileMs(99.9), 3),
    errors: r.load.errors,
  });
}

const COLUMNS: ReadonlyArray<readonly [string, number]> = [
  ['target', 12],
  ['workload', 16],
  ['conc', 4],
  ['ops/s', 9],
  ['p50 ms', 8],
  ['p99 ms', 8],
  ['p99.9 ms', 8],
  ['errors', 6],
  ['retry/op', 8],
  ['srv cpu', 7],
  ['cli cpu', 7],
  ['other', 5],
  ['check', 5],
];

function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

export function fmtRate(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-';
}

function line(cells: readonly string[]): string {
  return cells
    .map((c, i) => {
      const [, w] = COLUMNS[i] ?? ['', 0];
      return i < 2 ? c.padEnd(w) : c.padStart(w);
    })
    .join('  ');
}

export function tableHeader(): string {
  return line(COLUMNS.map(([h]) => h));
}

export function tableRow(r: Row): string {
  const l = r.load;
  return line([
    r.target,
    r.workload,
    String(r.concurrency),
    fmtRate(l.opsPerSec),
    fmtMs(l.latency.percentileMs(50)),
    fmtMs(l.latency.percentileMs(99)),
    fmtMs(l.latency.percentileMs(99.9)),
    String(l.errors),
    l.completed > 0 ? (r.retries / l.completed).toFixed(2) : '-',
    l.cpu.servers.toFixed(2),
    l.cpu.client.toFixed(2),
    l.cpu.other.toFixed(1),
    r.check.ok ? 'ok' : 'FAIL',
  ]);
}

function ratio(a: number, b: number): string {
  if (!(a > 0) || !(b > 0)) return '-';
  const x = a / b;
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}x`;
}

/** `ratio raftlock/etcd: 23.1x ops/s (p50 0.05x, p99 0.02x)` (or raftlock-tls/raftlock). */
export function ratioLine(a: Row, b: Row): string {
  const p = (q: number): string => ratio(a.load.latency.percentileMs(q), b.load.latency.percentileMs(q));
  return `  ratio ${a.target}/${b.target} ${a.workload} c=${a.concurrency}: ${ratio(a.load.opsPerSec, b.load.opsPerSec)} ops/s (latency p50 ${p(50)}, p99 ${p(99)})`;
}

/** The benchmark targets (docs/operations.md#benchmarks): 3 raftlock nodes on loopback, fsync on, this machine. */
const TARGETS: ReadonlyArray<{ workload: WorkloadName; opsPerSec: number; vsEtcd?: number }> = [
  { workload: 'counter-hot', opsPerSec: 20_000, vsEtcd: 235 },
  { workload: 'counter-distinct', opsPerSec: 20_000, vsEtcd: 10 },
  { workload: 'lock-distinct', opsPerSec: 8_000, vsEtcd: 9 },
  { workload: 'lock-hot', opsPerSec: 2_000, vsEtcd: 60 },
  { workload: 'get', opsPerSec: 30_000 },
];

/** Lines comparing the measured rows with the targets (only for rows that were run). */
export function targetLines(rows: readonly Row[]): string[] {
  const find = (t: TargetName, w: WorkloadName, c: number): Row | undefined =>
    rows.find((r) => r.target === t && r.workload === w && r.concurrency === c);
  const mark = (ok: boolean): string => (ok ? 'met ' : 'MISS');
  const out: string[] = [];
  for (const t of TARGETS) {
    const r = find('raftlock', t.workload, 64);
    if (r === undefined) continue;
    const e = find('etcd', t.workload, 64);
    let s = `  ${mark(r.load.opsPerSec >= t.opsPerSec)} ${t.workload} c=64: ${fmtRate(r.load.opsPerSec)} ops/s (target >= ${fmtRate(t.opsPerSec)})`;
    if (t.vsEtcd !== undefined && e !== undefined && e.load.opsPerSec > 0) {
      const x = r.load.opsPerSec / e.load.opsPerSec;
      s += `; ${x.toFixed(1)}x etcd (target >= ${t.vsEtcd}x): ${x >= t.vsEtcd ? 'met' : 'MISS'}`;
    }
    out.push(s);
  }
  const writes = rows.filter((r) => r.target === 'raftlock' && r.concurrency === 64 && r.workload !== 'get');
  if (writes.length > 0) {
    const worst = writes.reduce((a, b) => (b.load.latency.percentileMs(99) > a.load.latency.percentileMs(99) ? b : a));
    const p99 = worst.load.latency.percentileMs(99);
    out.push(`  ${mark(p99 <= 15)} p99 at c=64, worst write workload (${worst.workload}): ${fmtMs(p99)} ms (target <= 15 ms)`);
  }
  const one = find('raftlock', 'counter-distinct', 1) ?? find('raftlock', 'counter-hot', 1);
  if (one !== undefined) {
    const p50 = one.load.latency.percentileMs(50);
    out.push(`  ${mark(p50 <= 0.7)} p50 of one increment at c=1 (${one.workload}): ${fmtMs(p50)} ms (target <= 0.7 ms)`);
  }
  return out.length > 0 ? ['targets (raftlock, this run):', ...out] : [];
}
