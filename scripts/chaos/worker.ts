/**
 * A chaos-run client process: several SDK clients, each running the counter or the lock
 * workload until told to stop, reporting every operation (invoke time, outcome, return time)
 * to the runner over IPC. Lock holders write to the runner's fenced resource with their token.
 *
 * How outcomes are classified (what the checker may assume):
 * - `ok`: the answer came back;
 * - `fail`: definitely not applied: a read that failed, or a write refused by a code that
 *   guarantees nothing changed (`INVALID_ARGUMENT`, `OVERFLOW`, `FENCED`, `LIMIT_EXCEEDED`,
 *   `NOT_HELD`), or `UNAVAILABLE` / `SESSION_EXPIRED` with `outcomeUnknown: false`;
 * - `unknown`: anything else for a write, including `SESSION_EXPIRED` with `outcomeUnknown` (a
 *   retried write on an ended session gets it even if the first attempt was applied: dedup.ts).
 */
import {
  connect,
  LockTimeoutError,
  NotHeldError,
  RaftlockError,
  SessionExpiredError,
  UnavailableError,
  type RaftlockClient,
} from '../../src/client/index.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { Rng } from '../lib/rng.js';
import type { CounterInput, HistoryOp, LockInput } from '../lib/chaos/types.js';
import { sharedNow } from '../lib/chaos/shared-clock.js';
import { sleep } from '../lib/wait.js';

type Start = Extract<ToWorker, { type: 'start' }>;

let finished = false;
const send = (m: FromWorker): void => {
  if (!finished) process.send?.(m);
};

let cfg: Start;
let stopping = false;
const pending = new Map<object, Omit<HistoryOp, 'id' | 'status' | 'return'>>();
const writes = new Map<number, (accepted: boolean) => void>();
let nextReq = 1;

const clock = (): number => sharedNow() - cfg.t0;

type Base = Omit<HistoryOp, 'id' | 'status' | 'return' | 'output' | 'error' | 'call'>;

/** Runs one operation and reports it; returns the outcome for the workload's own logic. */
async function record<T>(
  base: Base,
  write: boolean,
  fn: () => Promise<T>,
  output: (v: T) => unknown,
  catchOk?: (err: unknown) => unknown,
): Promise<{ ok: true; value: T | undefined; output: unknown } | { ok: false }> {
  const token = {};
  const call = clock();
  pending.set(token, { ...base, call });
  try {
    const v = await fn();
    const out = output(v);
    send({ type: 'op', op: { ...base, call, return: clock(), status: 'ok', output: out } });
    return { ok: true, value: v, output: out };
  } catch (err) {
    const mapped = catchOk?.(err);
    if (mapped !== undefined) {
      send({ type: 'op', op: { ...base, call, return: clock(), status: 'ok', output: mapped } });
      return { ok: true, value: undefined, output: mapped };
    }
    const code = err instanceof RaftlockError ? err.code : (err as Error).name;
    const definite =
      !write ||
      (err instanceof UnavailableError || err instanceof SessionExpiredError
        ? !err.outcomeUnknown
        : err instanceof RaftlockError && ['INVALID_ARGUMENT', 'OVERFLOW', 'FENCED', 'LIMIT_EXCEEDED', 'NOT_HELD'].includes(err.code));
    const ret = clock();
    send({ type: 'op', op: { ...base, call, return: ret, status: definite ? 'fail' : 'unknown', error: code } });
    // The client's log (logs/client-N.log): why an operation failed, in the SDK's words (which
    // nodes it tried and what each did), for the availability checks' findings.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `${JSON.stringify({ t: Math.round(ret), client: base.client, kind: base.kind, key: base.key, input: base.input, call: Math.round(call), error: code, message })}\n`,
    );
    return { ok: false };
  } finally {
    pending.delete(token);
  }
}

async function connectClient(name: string): Promise<RaftlockClient | undefined> {
  while (!stopping) {
    try {
      return await connect({
        endpoints: cfg.endpoints,
        ...(cfg.tls !== undefined ? { tls: cfg.tls } : {}),
        sessionTtlMs: cfg.sessionTtlMs,
        timeoutMs: cfg.opTimeoutMs,
        clientId: name,
      });
    } catch {
      await sleep(200);
    }
  }
  return undefined;
}

async function counterClient(name: string, r: Rng): Promise<void> {
  const client = await connectClient(name);
  if (client === undefined) return;
  const seen = new Map<string, number>();
  try {
    while (!stopping) {
      const key = `c${Math.floor(clock() / cfg.keyEpochMs)}-${r.int(cfg.counterKeys)}`;
      const c = client.counter(key);
      const p = r.next();
      const base = (input: CounterInput): Base => ({ client: name, worker: cfg.worker, kind: 'counter', key, input });
      if (p < 0.35) {
        const delta = 1 + r.int(5);
        const res = await record(
          base({ op: 'add', delta }),
          true,
          () => c.add(delta),
          (v) => v,
        );
        if (res.ok) seen.set(key, res.output as number);
      } else if (p < 0.45) {
        const delta = -(1 + r.int(3));
        const res = await record(
          base({ op: 'add', delta }),
          true,
          () => c.add(delta),
          (v) => v,
        );
        if (res.ok) seen.set(key, res.output as number);
      } else if (p < 0.55) {
        const value = r.int(100);
        const res = await record(
          base({ op: 'set', value }),
          true,
          () => c.set(value),
          (v) => v,
        );
        if (res.ok) seen.set(key, value);
      } else if (p < 0.7) {
        const expected = seen.get(key) ?? 0;
        const next = expected + 1 + r.int(3);
        const res = await record(
          base({ op: 'cas', expected, next }),
          true,
          () => c.compareAndSet(expected, next),
          (v) => v,
        );
        if (res.ok && res.output === true) seen.set(key, next);
      } else {
        const res = await record(
          base({ op: 'get' }),
          false,
          () => c.get(),
          (v) => v,
        );
        if (res.ok) seen.set(key, res.output as number);
      }
      await sleep(5 + r.int(20));
    }
  } finally {
    await client.close();
  }
}

/** Asks the runner's fenced resource to take a write under `token`. */
function resourceWrite(lock: string, client: string, token: number): Promise<boolean> {
  const req = nextReq++;
  return new Promise((resolve) => {
    writes.set(req, resolve);
    send({ type: 'write', req, lock, client, token });
  });
}

async function lockClient(name: string, r: Rng): Promise<void> {
  const client = await connectClient(name);
  if (client === undefined) return;
  try {
    while (!stopping) {
      const key = `lock-${r.int(cfg.locks)}`;
      const waitMs = 500 + r.int(2_500);
      const base = (input: LockInput): Base => ({ client: name, worker: cfg.worker, kind: 'lock', key, input });
      const got = await record(
        base({ op: 'acquire', waitMs }),
        true,
        () => client.lock(key, { waitMs }),
        (l) => ({ acquired: true, token: l.fencingToken }),
        // Only the cluster's own "not acquired" is a definite answer; a wait the call's deadline
        // cut short may have been granted (and released) meanwhile: recorded as unknown.
        (err) => (err instanceof LockTimeoutError && !err.outcomeUnknown ? { acquired: false } : undefined),
      );
      const lock = got.ok ? got.value : undefined;
      if (lock !== undefined) {
        send({ type: 'holding', lock: key, client: name, holding: true });
        // The work: two writes to the fenced resource with a pause between them. The holder does
        // not look at lock.signal on purpose: a pause can strike between any check and the
        // write, and it is the resource's fencing that must keep a stale holder out.
        await resourceWrite(key, name, lock.fencingToken);
        await sleep(20 + r.int(80));
        await resourceWrite(key, name, lock.fencingToken);
        send({ type: 'holding', lock: key, client: name, holding: false });
        await record(
          base({ op: 'release', token: lock.fencingToken }),
          true,
          () => lock.release(),
          () => 'ok',
          (err) => (err instanceof NotHeldError ? 'NOT_HELD' : undefined),
        );
      }
      await sleep(10 + r.int(40));
    }
  } finally {
    await client.close();
  }
}

async function run(start: Start): Promise<void> {
  cfg = start;
  const loops: Promise<void>[] = [];
  for (let k = 0; k < start.clients; k++) {
    const name = `w${start.worker}c${k}`;
    const r = new Rng(start.seed * 1_000_003 + start.worker * 7_919 + k);
    loops.push(
      (start.roles[k] === 'locks' ? lockClient : counterClient)(name, r).catch((err: unknown) => {
        send({ type: 'error', message: `${name}: ${(err as Error).stack ?? String(err)}` });
      }),
    );
  }
  send({ type: 'ready' });
  await stopped;
  // Give in-flight operations a bounded time to finish; whatever is still out is unknown.
  await Promise.race([Promise.all(loops), sleep(start.opTimeoutMs + 5_000)]);
  for (const op of pending.values()) send({ type: 'op', op: { ...op, status: 'unknown', return: null, error: 'NO_ANSWER' } });
  pending.clear();
  send({ type: 'done' });
  finished = true; // operations that come back later are not part of the history any more
  setTimeout(() => process.exit(0), 200).unref();
}

let stop: () => void = () => {};
const stopped = new Promise<void>((r) => (stop = r));

process.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'start':
      void run(m);
      break;
    case 'stop':
      stopping = true;
      stop();
      break;
    case 'write-result':
      writes.get(m.req)?.(m.accepted);
      writes.delete(m.req);
      break;
  }
});
process.on('disconnect', () => process.exit(0));
