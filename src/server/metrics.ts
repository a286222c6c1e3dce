/**
 * A small Prometheus text-format registry (counters, gauges, histograms): enough for
 * `GET /metrics` without a dependency that would also export dozens of process metrics we do
 * not want to promise.
 *
 * The classes enforce the naming rules `promtool check metrics` lints (docs/operations.md#http-endpoints):
 * a counter's name ends in `_total` and nothing else's does; every series of a family has the
 * same label names, declared up front, so a family never mixes shapes. A mistake there is a
 * programming error and throws when the metric is created, not when it is scraped.
 */

/** Label values of one series, by label name. */
export type Labels = Readonly<Record<string, string>>;

/** One series of a family read from elsewhere: its label values and current value. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/** What a {@link Counter} or {@link Gauge} reads at scrape time instead of keeping values itself. */
export type ReadSamples = () => number | readonly Sample[];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Suffixes the exposition format gives histogram series: no other family may end in them. */
const RESERVED_SUFFIXES = ['_bucket', '_count', '_sum'];

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the text format spells it (`+Inf`, `-Inf`, `NaN` included). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function checkName(name: string, type: 'counter' | 'gauge' | 'histogram'): void {
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  if (type === 'counter' && !name.endsWith('_total')) throw new Error(`counter ${name}: a counter's name must end in _total`);
  if (type !== 'counter' && name.endsWith('_total')) throw new Error(`${type} ${name}: only counters' names end in _total`);
  if (type !== 'histogram' && RESERVED_SUFFIXES.some((s) => name.endsWith(s))) {
    throw new Error(`${type} ${name}: names ending in ${RESERVED_SUFFIXES.join(', ')} are reserved for histograms`);
  }
}

function checkLabelNames(metric: string, labelNames: readonly string[]): void {
  for (const l of labelNames) {
    if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`${metric}: invalid label name ${JSON.stringify(l)}`);
  }
  if (new Set(labelNames).size !== labelNames.length) throw new Error(`${metric}: a label name is repeated`);
}

/**
 * The `{a="x",b="y"}` text of `labels` in the declared order, and a check that they are exactly
 * the declared names: a series with other labels would make the family mix shapes.
 */
function labelText(metric: string, labelNames: readonly string[], labels: Labels, extra = ''): string {
  const keys = Object.keys(labels);
  if (keys.length !== labelNames.length || keys.some((k) => !labelNames.includes(k))) {
    throw new Error(`${metric}: labels {${keys.join(',')}} are not the declared {${labelNames.join(',')}}`);
  }
  const parts = labelNames.map((k) => `${k}="${escapeLabelValue(labels[k] ?? '')}"`);
  if (extra !== '') parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/**
 * The map key of a series: its label values in the declared order. Cheap, because counters and
 * histograms are updated on every request; the full check of the label names (labelText) runs
 * when a key is first seen, which is when a series is created.
 */
function seriesKey(metric: string, labelNames: readonly string[], labels: Labels): string {
  let given = 0;
  for (const _ in labels) given++;
  // One label too many or too few: refused below, as on first use (no allocation here).
  if (given !== labelNames.length) labelText(metric, labelNames, labels);
  if (labelNames.length === 0) return '';
  if (labelNames.length === 1) return labels[labelNames[0] as string] ?? '';
  return labelNames.map((k) => labels[k] ?? '').join('\u0000');
}

/** One metric family: its name, help, type, and the text of its series. */
export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** Names of the series this family writes (a histogram writes three), for duplicate checks. */
  readonly seriesNames: readonly string[];
  render(): string[];
}

function header(m: Metric): string[] {
  return [`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`];
}

/** Options of a {@link Counter} or {@link Gauge}. */
export interface FamilyOptions {
  /** The label names every series has (default none). */
  readonly labelNames?: readonly string[];
  /**
   * Read the value(s) at scrape time from elsewhere (a host's or transport's counters) instead
   * of keeping them here; `inc` is then refused.
   */
  readonly read?: ReadSamples;
}

/** A family whose series are either kept here (by label values) or read at scrape time. */
abstract class SimpleFamily implements Metric {
  readonly labelNames: readonly string[];
  readonly seriesNames: readonly string[];
  protected readonly values = new Map<string, { labels: Labels; value: number }>();
  private readonly read: ReadSamples | undefined;

  constructor(
    readonly type: 'counter' | 'gauge',
    readonly name: string,
    readonly help: string,
    opts: FamilyOptions,
  ) {
    checkName(name, type);
    this.labelNames = opts.labelNames ?? [];
    checkLabelNames(name, this.labelNames);
    this.read = opts.read;
    this.seriesNames = [name];
  }

  /** The value of the series with `labels` (0 if it has none yet). */
  get(labels: Labels = {}): number {
    if (this.read !== undefined) throw new Error(`${this.name} is read at scrape time; it keeps no values`);
    return this.values.get(seriesKey(this.name, this.labelNames, labels))?.value ?? 0;
  }

  protected update(labels: Labels, f: (cur: number) => number): void {
    if (this.read !== undefined) throw new Error(`${this.name} is read at scrape time; it cannot be updated`);
    const key = seriesKey(this.name, this.labelNames, labels);
    const cur = this.values.get(key);
    if (cur === undefined) {
      labelText(this.name, this.labelNames, labels); // throws on labels other than the declared
      this.values.set(key, { labels, value: f(0) });
    } else cur.value = f(cur.value);
  }

  render(): string[] {
    const lines = header(this);
    let samples: Iterable<Sample>;
    if (this.read !== undefined) {
      const v = this.read();
      samples = typeof v === 'number' ? [{ labels: {}, value: v }] : v;
    } else if (this.values.size === 0 && this.labelNames.length === 0) {
      // An unlabelled series exists from the start: 0 until something happens.
      samples = [{ labels: {}, value: 0 }];
    } else {
      samples = this.values.values();
    }
    for (const { labels, value } of samples)
      lines.push(`${this.name}${labelText(this.name, this.labelNames, labels)} ${formatValue(value)}`);
    return lines;
  }
}

/** A monotonic count; its name must end in `_total`. */
export class Counter extends SimpleFamily {
  constructor(name: string, help: string, opts: FamilyOptions = {}) {
    super('counter', name, help, opts);
  }

  /** Adds `by` (≥ 0: a counter never goes down) to the series with `labels`. */
  inc(by = 1, labels: Labels = {}): void {
    if (!(by >= 0)) throw new RangeError(`${this.name}: a counter cannot be increased by ${by}`);
    this.update(labels, (cur) => cur + by);
  }
}

/** A value that goes up and down; read at scrape time, or set here. */
export class Gauge extends SimpleFamily {
  /** `read` may be given directly, as the common case, or in `opts`. */
  constructor(name: string, help: string, read?: ReadSamples | FamilyOptions) {
    super('gauge', name, help, typeof read === 'function' ? { read } : (read ?? {}));
  }

  /** Sets the series with `labels` to `value`. */
  set(value: number, labels: Labels = {}): void {
    this.update(labels, () => value);
  }
}

/** Options of a {@link Histogram}. */
export interface HistogramOptions {
  /** The label names every series has (default none; `le` is the histogram's own). */
  readonly labelNames?: readonly string[];
}

/** The observations of one histogram series, bucket counts cumulative as in the text format. */
interface HistogramSeries {
  readonly labels: Labels;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into fixed buckets (upper bounds, increasing), with their sum and count. */
export class Histogram implements Metric {
  readonly type = 'histogram';
  readonly labelNames: readonly string[];
  readonly seriesNames: readonly string[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    opts: HistogramOptions = {},
  ) {
    checkName(name, 'histogram');
    this.labelNames = opts.labelNames ?? [];
    checkLabelNames(name, this.labelNames);
    if (this.labelNames.includes('le')) throw new Error(`${name}: "le" is the histogram's own label`);
    if (buckets.length === 0 || buckets.some((b, k) => !Number.isFinite(b) || (k > 0 && b <= (buckets[k - 1] ?? b)))) {
      throw new Error(`${name}: buckets must be finite and strictly increasing (+Inf is implied)`);
    }
    this.seriesNames = RESERVED_SUFFIXES.map((s) => `${name}${s}`);
    if (this.labelNames.length === 0) this.init({});
  }

  /**
   * Creates the series with `labels` at zero, so a known label value is exported before its
   * first observation (rates over it then start from a sample, not from nothing).
   */
  init(labels: Labels): void {
    this.seriesFor(labels);
  }

  /** Counts `value` into the series with `labels`. */
  observe(value: number, labels: Labels = {}): void {
    const s = this.seriesFor(labels);
    s.sum += value;
    s.count++;
    for (let k = 0; k < this.buckets.length; k++) if (value <= (this.buckets[k] as number)) s.counts[k] = (s.counts[k] ?? 0) + 1;
  }

  private seriesFor(labels: Labels): HistogramSeries {
    const key = seriesKey(this.name, this.labelNames, labels);
    let s = this.series.get(key);
    if (s === undefined) {
      labelText(this.name, this.labelNames, labels); // throws on labels other than the declared
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  render(): string[] {
    const lines = header(this);
    const text = (labels: Labels, le?: string): string =>
      labelText(this.name, this.labelNames, labels, le === undefined ? '' : `le="${le}"`);
    for (const s of this.series.values()) {
      this.buckets.forEach((b, k) => lines.push(`${this.name}_bucket${text(s.labels, formatValue(b))} ${s.counts[k] ?? 0}`));
      lines.push(
        `${this.name}_bucket${text(s.labels, '+Inf')} ${s.count}`,
        `${this.name}_sum${text(s.labels)} ${formatValue(s.sum)}`,
        `${this.name}_count${text(s.labels)} ${s.count}`,
      );
    }
    return lines;
  }
}

/** The families of one `/metrics` page, in the order added. */
export class Registry {
  private readonly metrics: Metric[] = [];
  private readonly names = new Set<string>();

  /** Adds `m`; a name (or a histogram's series name) already taken throws. */
  add<M extends Metric>(m: M): M {
    const taken = [m.name, ...m.seriesNames].filter((n) => this.names.has(n));
    if (taken.length > 0) throw new Error(`metric name ${taken[0]} is already registered`);
    this.metrics.push(m);
    for (const n of [m.name, ...m.seriesNames]) this.names.add(n);
    return m;
  }

  /** The exposition text (`text/plain; version=0.0.4`). */
  render(): string {
    return `${this.metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }
}
