/**
 * The checks of a chaos run's history: every counter key against the counter model and every
 * lock against the lease-lock model, with the WGL checker (src/checker). Failed operations are
 * left out (they did not take effect); unknown ones may or may not have. An inconclusive check
 * is an anomaly, never a pass.
 */
import {
  check,
  counterModel,
  leaseMutexModel,
  type CounterInput as CheckerCounterInput,
  type CounterOutput,
  type MutexInput,
  type MutexOutput,
  type Operation,
} from '../../src/checker/index.js';
import type { Anomaly, Bucket, CounterInput, HistoryOp, LockInput } from '../lib/chaos/types.js';

function toOperation<I, O>(op: HistoryOp, input: I): Operation<I, O> {
  return {
    id: op.id,
    client: op.client,
    key: op.key,
    input,
    ...(op.status === 'ok' ? { output: op.output as O } : {}),
    call: op.call,
    return: op.status === 'unknown' || op.return === null ? Infinity : op.return,
    status: op.status,
  };
}

/** The checker's inputs for the counter operations of a run. */
export function counterOperations(history: readonly HistoryOp[]): Operation<CheckerCounterInput, CounterOutput>[] {
  return history
    .filter((op) => op.kind === 'counter' && op.status !== 'fail')
    .map((op) => toOperation<CheckerCounterInput, CounterOutput>(op, op.input as CounterInput));
}

/** The checker's inputs for the lock operations of a run (the client becomes part of the input). */
export function lockOperations(history: readonly HistoryOp[]): Operation<MutexInput, MutexOutput>[] {
  return history
    .filter((op) => op.kind === 'lock' && op.status !== 'fail')
    .map((op) => {
      const li = op.input as LockInput;
      const input: MutexInput =
        li.op === 'acquire' ? { op: 'acquire', client: op.client } : { op: 'release', client: op.client, token: li.token };
      return toOperation<MutexInput, MutexOutput>(op, input);
    });
}

/** Checks counters and locks; returns the anomalies (empty when linearizable) and the count checked. */
export function checkHistory(history: readonly HistoryOp[], budgetMs: number): { anomalies: Anomaly[]; checked: number } {
  const anomalies: Anomaly[] = [];
  let checked = 0;
  const runs = [
    { name: 'counter', result: check(counterModel, counterOperations(history), { timeoutMs: budgetMs / 2 }) },
    { name: 'lock', result: check(leaseMutexModel, lockOperations(history), { timeoutMs: budgetMs / 2 }) },
  ];
  for (const { name, result } of runs) {
    for (const p of result.partitions) {
      checked += p.operations;
      if (p.result === 'ok') continue;
      if (p.result === 'inconclusive') {
        anomalies.push({
          kind: 'inconclusive',
          key: p.key,
          message: `the ${name} history of ${p.key} could not be checked within the time budget (${p.operations} operations)`,
          ops: [],
        });
        continue;
      }
      const a = p.anomaly;
      anomalies.push({
        kind: 'not-linearizable',
        key: p.key,
        message: `${name} ${p.key} is not linearizable: ${a?.explanation.split('\n')[0] ?? 'no linearization exists'}`,
        ops: (a?.involved ?? []).map((o) => Number(o.id)),
      });
    }
  }
  return { anomalies, checked };
}

function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Per-second (or `bucketMs`) counts of outcomes and latency percentiles of completed operations. */
export function buckets(history: readonly HistoryOp[], durationMs: number, bucketMs = 1_000): Bucket[] {
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const out = Array.from({ length: n }, (_, k) => ({ start: k * bucketMs, ok: 0, fail: 0, unknown: 0, lat: [] as number[] }));
  for (const op of history) {
    const at = op.return ?? op.call;
    const b = out[Math.min(n - 1, Math.max(0, Math.floor(at / bucketMs)))];
    if (b === undefined) continue;
    b[op.status]++;
    if (op.status === 'ok' && op.return !== null) b.lat.push(op.return - op.call);
  }
  return out.map((b) => {
    const sorted = b.lat.sort((x, y) => x - y);
    return { start: b.start, ok: b.ok, fail: b.fail, unknown: b.unknown, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  });
}
