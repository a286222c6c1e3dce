/**
 * The closed-loop load generator: `concurrency` async workers in this one process, each
 * starting its next operation as soon as the last one ends. A warm-up, then a measured window:
 * throughput and latency count only operations that complete inside the window. Bounded in
 * time (no operation starts after the window; a watchdog gives up on stuck ones) and in count
 * (`maxOps` operations per run at most). Also measures the CPU used meanwhile by this process,
 * by the servers and by the whole machine (the rest is other load on the box).
 */
import { LatencyHistogram } from './histogram.js';
import { cpuSeconds, machineCpuSeconds } from '../lib/processes.js';
import { sleep } from '../lib/wait.js';

export interface LoadOptions {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** At most this many operations are started in the whole run (warm-up included). */
  readonly maxOps: number;
  /** How long after the window to wait for operations still running before giving up on them. */
  readonly graceMs: number;
  /** Server PIDs whose CPU use to report. */
  readonly serverPids: readonly number[];
  /** Called every ~second with the operations completed so far (progress). */
  readonly progress?: (done: number, elapsedMs: number) => void;
}

export interface LoadResult {
  /** Operations completed inside the measured window. */
  readonly ops: number;
  readonly opsPerSec: number;
  readonly latency: LatencyHistogram;
  /** Operations that failed (whole run, warm-up included), plus operations still stuck at the end. */
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Operations acknowledged in the whole run (warm-up included). */
  readonly completed: number;
  /** Operations still running when the grace period ran out. */
  readonly stuck: number;
  /** CPU cores used during the window: this process, the servers, everything else on the box. */
  readonly cpu: { readonly client: number; readonly servers: number; readonly other: number; readonly boxBusyPct: number };
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return String(err).slice(0, 300);
}

interface CpuSnap {
  readonly t: number;
  readonly self: NodeJS.CpuUsage;
  readonly servers: number;
  readonly box: { total: number; busy: number };
}

function snap(pids: readonly number[]): CpuSnap {
  return { t: performance.now(), self: process.cpuUsage(), servers: pids.reduce((a, p) => a + cpuSeconds(p), 0), box: machineCpuSeconds() };
}

export async function runLoad(op: (worker: number) => Promise<void>, o: LoadOptions): Promise<LoadResult> {
  const latency = new LatencyHistogram();
  const start = performance.now();
  const tMeasure = start + o.warmupMs;
  const tEnd = tMeasure + o.durationMs;
  let started = 0;
  let completed = 0;
  let inWindow = 0;
  let errors = 0;
  let running = 0;
  let firstError: string | undefined;
  let cpuA: CpuSnap | undefined;
  let cpuB: CpuSnap | undefined;
  const timers = [
    setTimeout(() => (cpuA = snap(o.serverPids)), o.warmupMs),
    setTimeout(() => (cpuB = snap(o.serverPids)), o.warmupMs + o.durationMs),
    setInterval(() => o.progress?.(completed, performance.now() - start), 1_000),
  ];

  const worker = async (w: number): Promise<void> => {
    while (performance.now() < tEnd && started < o.maxOps) {
      started++;
      running++;
      const t0 = performance.now();
      try {
        await op(w);
      } catch (err) {
        running--;
        errors++;
        firstError ??= describeError(err);
        await sleep(5); // do not spin on a broken cluster
        continue;
      }
      running--;
      const t1 = performance.now();
      completed++;
      if (t1 >= tMeasure && t1 <= tEnd) {
        inWindow++;
        latency.recordMs(t1 - t0);
      }
    }
  };

  const all = Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  let watchdog: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([
    all.then(() => false),
    new Promise<boolean>((resolve) => {
      // No operation starts after tEnd, so waiting graceMs past it bounds the run.
      watchdog = setTimeout(() => resolve(true), Math.max(0, tEnd + o.graceMs - performance.now()));
    }),
  ]);
  clearTimeout(watchdog);
  for (const t of timers) clearTimeout(t);
  cpuB ??= snap(o.serverPids);
  cpuA ??= cpuB;
  const secs = Math.max(1e-9, (cpuB.t - cpuA.t) / 1000);
  const client = (cpuB.self.user - cpuA.self.user + cpuB.self.system - cpuA.self.system) / 1e6 / secs;
  const servers = (cpuB.servers - cpuA.servers) / secs;
  const boxTotal = cpuB.box.total - cpuA.box.total;
  const boxBusy = cpuB.box.busy - cpuA.box.busy;
  const stuck = gaveUp ? running : 0;
  return {
    ops: inWindow,
    opsPerSec: inWindow / (o.durationMs / 1000),
    latency,
    errors: errors + stuck,
    firstError: gaveUp && firstError === undefined ? `${running} operations still running ${o.graceMs} ms after the window` : firstError,
    completed,
    stuck,
    cpu: {
      client,
      servers,
      other: Math.max(0, boxBusy / secs - client - servers),
      boxBusyPct: boxTotal > 0 ? (boxBusy / boxTotal) * 100 : NaN,
    },
  };
}
