/**
 * The checks of a chaos run's history: every counter key against the counter model, every lock
 * against the lease-lock model, every semaphore against the semaphore model and every
 * readers-writer lock against the readers-writer lock model, with the WGL checker
 * (src/checker). Failed operations are left out (they did not take effect); unknown ones may or
 * may not have. An inconclusive check is an anomaly, never a pass.
 *
 * Semaphores and readers-writer locks: the checker's holder is the grant (`<client>#<grant>`),
 * not the client, so a client that lost a grant with its session and took another on a new
 * session is two holders. A lease that ran out silently is in the history as the grant's
 * `end-session`, observed (when the client learned of it) or unknown (any time after the
 * acquire's call), which frees the grant in the model; so the models' exclusion and permit
 * counts hold whatever the leases did, and a semaphore write recorded as applied must come while
 * its grant can still be held: with `--no-fencing` a write by a holder that had seen its session
 * end, or whose permits a later grant needed, cannot be placed.
 */
import {
  check,
  counterModel,
  electionModel,
  leaseMutexModel,
  rwlockModel,
  semaphoreModel,
  type CheckResult,
  type CounterInput as CheckerCounterInput,
  type CounterOutput,
  type ElectionInput,
  type ElectionOutput,
  type MutexInput,
  type MutexOutput,
  type Operation,
  type RwLockInput,
  type RwLockOutput,
  type SemaphoreInput,
  type SemaphoreOutput,
} from '../../src/checker/index.js';
import {
  isEndSession,
  type Anomaly,
  type Bucket,
  type CounterInput,
  type HistoryOp,
  type LockInput,
  type PermitInput,
  type Workload,
} from '../lib/chaos/types.js';

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

/** The checker's holder of a semaphore or readers-writer lock operation: its grant. */
function holderOf(op: HistoryOp): string {
  return `${op.client}#${(op.input as PermitInput).grant}`;
}

/** The checker's inputs for the semaphore operations of a run (`write` is a fenced write). */
export function semaphoreOperations(history: readonly HistoryOp[]): Operation<SemaphoreInput, SemaphoreOutput>[] {
  return history
    .filter((op) => op.kind === 'semaphore' && op.status !== 'fail')
    .map((op) => {
      const p = op.input as PermitInput;
      const client = holderOf(op);
      const input: SemaphoreInput =
        p.op === 'acquire'
          ? { op: 'acquire', client, weight: p.weight ?? 1, permits: p.permits ?? 1 }
          : p.op === 'write'
            ? { op: 'fenced-write', client, token: p.token }
            : p.op === 'release'
              ? { op: 'release', client, token: p.token }
              : { op: 'end-session', client };
      return toOperation<SemaphoreInput, SemaphoreOutput>(op, input);
    });
}

/** The checker's inputs for the readers-writer lock operations of a run (their resource's uses are checked apart). */
export function rwlockOperations(history: readonly HistoryOp[]): Operation<RwLockInput, RwLockOutput>[] {
  return history
    .filter((op) => op.kind === 'rwlock' && op.status !== 'fail')
    .flatMap((op): Operation<RwLockInput, RwLockOutput>[] => {
      const p = op.input as PermitInput;
      const client = holderOf(op);
      if (p.op === 'write') return []; // not recorded for readers-writer locks
      const input: RwLockInput =
        p.op === 'acquire'
          ? { op: 'acquire', client, mode: p.mode ?? 'write' }
          : p.op === 'release'
            ? { op: 'release', client, token: p.token }
            : { op: 'end-session', client };
      return [toOperation<RwLockInput, RwLockOutput>(op, input)];
    });
}

/**
 * The checker's inputs for the election operations of a run: a campaign's holder is its grant
 * (`<client>#<grant>`, also the value it campaigns with), so a leader read names its holder by
 * the value it shows (a proclaimed value is `<client>#<grant>/p<k>`); a release is a
 * resignation.
 */
export function electionOperations(history: readonly HistoryOp[]): Operation<ElectionInput, ElectionOutput>[] {
  return history
    .filter((op) => op.kind === 'election' && op.status !== 'fail')
    .map((op) => {
      const p = op.input as PermitInput;
      const client = holderOf(op);
      const input: ElectionInput =
        p.op === 'acquire'
          ? { op: 'campaign', client, value: p.value ?? client }
          : p.op === 'proclaim'
            ? { op: 'proclaim', client, token: p.token, value: p.value }
            : p.op === 'read'
              ? { op: 'read' }
              : p.op === 'write'
                ? { op: 'fenced-write', client, token: p.token }
                : p.op === 'release'
                  ? { op: 'resign', client, token: p.token }
                  : { op: 'end-session', client };
      const o = toOperation<ElectionInput, ElectionOutput>(op, input);
      if (p.op !== 'read' || op.status !== 'ok') return o;
      const seen = op.output as { token: number; value: string } | null;
      const output: ElectionOutput =
        seen === null ? null : { session: seen.value.split('/')[0] ?? seen.value, token: seen.token, value: seen.value };
      return { ...o, output };
    });
}

/**
 * Checks counters, locks, semaphores, readers-writer locks and elections within `budgetMs` in all; returns
 * the anomalies (empty when linearizable), each with the workload it belongs to, and the count
 * checked.
 */
export function checkHistory(history: readonly HistoryOp[], budgetMs: number): { anomalies: Anomaly[]; checked: number } {
  const anomalies: Anomaly[] = [];
  let checked = 0;
  const started = Date.now();
  const budget = (share: number): { timeoutMs: number } => ({ timeoutMs: Math.max(1_000, (budgetMs - (Date.now() - started)) * share) });
  const runs: { name: string; workload: Workload; result: CheckResult<unknown, unknown> }[] = [];
  const add = <I, O>(name: string, workload: Workload, result: CheckResult<I, O>): void => {
    runs.push({ name, workload, result });
  };
  // Each takes at most its share of what is left, so a slow one leaves the others their time.
  add('counter', 'counters', check(counterModel, counterOperations(history), budget(1 / 4)));
  add('lock', 'locks', check(leaseMutexModel, lockOperations(history), budget(1 / 3)));
  add('semaphore', 'semaphores', check(semaphoreModel, semaphoreOperations(history), budget(1 / 2)));
  add('election', 'elections', check(electionModel, electionOperations(history), budget(1 / 2)));
  add('readers-writer lock', 'rwlocks', check(rwlockModel, rwlockOperations(history), budget(1)));
  for (const { name, workload, result } of runs) {
    for (const p of result.partitions) {
      checked += p.operations;
      if (p.result === 'ok') continue;
      if (p.result === 'inconclusive') {
        anomalies.push({
          kind: 'inconclusive',
          key: p.key,
          workload,
          message: `the ${name} history of ${p.key} could not be checked within the time budget (${p.operations} operations)`,
          ops: [],
        });
        continue;
      }
      const a = p.anomaly;
      // The explanation's first line only names the partition; its line about the operation the
      // search could not place (and the state it could not be placed in) says what went wrong.
      const lines = a?.explanation.split('\n') ?? [];
      const stuck = (lines.find((l) => l.startsWith('Then ')) ?? lines[0] ?? 'no linearization exists')
        .replace(/^Then /, '')
        .replace(/ returned before it could be linearized.*$/, ' cannot be linearized');
      const state = lines.find((l) => l.startsWith('State after the prefix: '))?.replace(/^State after the prefix: /, '');
      anomalies.push({
        kind: 'not-linearizable',
        key: p.key,
        workload,
        message: `${name} ${p.key} is not linearizable: ${stuck}${state !== undefined ? ` (after the longest linearizable prefix: ${state})` : ''}`,
        ops: involved(
          history,
          (a?.involved ?? []).map((o) => Number(o.id)),
          a === undefined ? undefined : Number(a.stuck.id),
        ),
      });
    }
  }
  return { anomalies, checked };
}

/**
 * The operations an anomaly names: those the checker found involved and, for a semaphore or a
 * readers-writer lock, the acquire and the `end-session` of the grant whose operation could not be
 * placed (`stuck`): what says when that grant began and when its session was seen to end.
 */
function involved(history: readonly HistoryOp[], ids: readonly number[], stuck: number | undefined): number[] {
  const s = stuck === undefined ? undefined : history[stuck];
  if (s === undefined || (s.kind !== 'semaphore' && s.kind !== 'rwlock')) return [...ids];
  const grant = (s.input as PermitInput).grant;
  const own = history.filter(
    (op) =>
      op.kind === s.kind &&
      op.key === s.key &&
      op.client === s.client &&
      (op.input as PermitInput).grant === grant &&
      (op.input.op === 'acquire' || op.input.op === 'end-session'),
  );
  return [...new Set([...own.map((op) => op.id), ...ids])];
}

function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Per-second (or `bucketMs`) counts of outcomes and latency percentiles of completed operations (grants' session ends left out). */
export function buckets(history: readonly HistoryOp[], durationMs: number, bucketMs = 1_000): Bucket[] {
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const out = Array.from({ length: n }, (_, k) => ({ start: k * bucketMs, ok: 0, fail: 0, unknown: 0, lat: [] as number[] }));
  for (const op of history) {
    if (isEndSession(op)) continue;
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
