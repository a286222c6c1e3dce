/**
 * A chaos-run client process: several SDK clients, each running the counter, lock, semaphore or
 * readers-writer lock workload until told to stop, reporting every operation (invoke time,
 * outcome, return time) to the runner over IPC. Lock holders write to the runner's fenced
 * resource with their token; semaphore holders write to a counter of the cluster fenced with
 * their permit (`permit.fence`; unfenced with `--no-fencing`); readers-writer lock holders read
 * or write the runner's readers-writer resource with their grant's token. None of them looks at
 * its grant's signal: a client pause (the nemesis's SIGSTOP) can strike between any check and
 * the use, and it is the fencing that must keep a holder whose lease ran out from doing harm.
 *
 * A grant of a semaphore or a readers-writer lock that ends without a release answered `'ok'`
 * gets an `end-session` in the history (see `PermitInput`): observed, with the moment the client
 * learned that the grant's session had ended, or of unknown outcome.
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
  FencedError,
  LockTimeoutError,
  NotHeldError,
  RaftlockError,
  SessionExpiredError,
  UnavailableError,
  type HeldGrant,
  type RaftlockClient,
} from '../../src/client/index.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { Rng } from '../lib/rng.js';
import type { CounterInput, HistoryOp, LockInput, PermitInput } from '../lib/chaos/types.js';
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

/** Runs one operation and reports it; returns the outcome (and the call time) for the workload's own logic. */
async function record<T>(
  base: Base,
  write: boolean,
  fn: () => Promise<T>,
  output: (v: T) => unknown,
  catchOk?: (err: unknown) => unknown,
): Promise<{ ok: true; value: T | undefined; output: unknown; call: number } | { ok: false; call: number }> {
  const token = {};
  const call = clock();
  pending.set(token, { ...base, call });
  try {
    const v = await fn();
    const out = output(v);
    send({ type: 'op', op: { ...base, call, return: clock(), status: 'ok', output: out } });
    return { ok: true, value: v, output: out, call };
  } catch (err) {
    const mapped = catchOk?.(err);
    if (mapped !== undefined) {
      send({ type: 'op', op: { ...base, call, return: clock(), status: 'ok', output: mapped } });
      return { ok: true, value: undefined, output: mapped, call };
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
    return { ok: false, call };
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

/** Asks the runner's readers-writer resource to take a read or a write under `token`. */
function resourceUse(lock: string, client: string, mode: 'read' | 'write', token: number): Promise<boolean> {
  const req = nextReq++;
  return new Promise((resolve) => {
    writes.set(req, resolve);
    send({ type: 'rw-use', req, lock, client, mode, token });
  });
}

/** A semaphore or readers-writer lock grant whose end the history does not say yet. */
interface OpenGrant {
  readonly base: Base;
  readonly grant: number;
  /** The acquire's call: the grant, and so its session's end, came after it. */
  readonly acquireCall: number;
  /** The id of the session that was granted it (null: it had already ended when the grant was answered). */
  readonly session: number | null;
}

const openGrants = new Set<OpenGrant>();

/**
 * Reports the end of grant `g`'s session: `at` is when the client learned it had ended
 * (observed: it ended between the acquire's call and then), null when it never did (unknown:
 * some time after the acquire's call, or never). Once per grant.
 */
function endSession(g: OpenGrant, at: number | null): void {
  if (!openGrants.delete(g)) return;
  const input: PermitInput = { op: 'end-session', grant: g.grant, session: g.session };
  const op = { ...g.base, input, call: g.acquireCall };
  send({
    type: 'op',
    op: at === null ? { ...op, status: 'unknown', return: null, error: 'NOT_OBSERVED' } : { ...op, status: 'ok', return: at, output: 'ok' },
  });
}

/**
 * Whether the client knows that the session holding `held` (grant `g`) has ended: the SDK
 * marked the grant lost (the cluster answered SESSION_EXPIRED), or it dropped that session
 * (which it does only on SESSION_EXPIRED) and may have opened another one since.
 */
function sessionGone(client: RaftlockClient, g: OpenGrant, held: HeldGrant): boolean {
  return held.state === 'lost' || g.session === null || client.sessionId !== g.session;
}

/** Only the cluster's own "not acquired" is a definite answer (as for locks). */
const notAcquired = (err: unknown): unknown => (err instanceof LockTimeoutError && !err.outcomeUnknown ? { acquired: false } : undefined);

/**
 * Holds a semaphore's permit or a readers-writer lock's grant: `use` it `uses` times (after short
 * pauses, never looking at its signal), then release it. Reports the grant's end when it did not
 * end with a release answered `'ok'`: observed as soon as the client learns its session ended,
 * else unknown.
 */
async function holdGrant(
  client: RaftlockClient,
  g: OpenGrant,
  held: HeldGrant,
  uses: number,
  r: Rng,
  use: () => Promise<void>,
): Promise<void> {
  openGrants.add(g);
  const observe = (): void => {
    if (sessionGone(client, g, held)) endSession(g, clock());
  };
  const { client: name, key } = g.base;
  observe();
  send({ type: 'holding', lock: key, client: name, holding: true });
  for (let k = 0; k < uses; k++) {
    await sleep(20 + r.int(80));
    observe();
    await use();
    observe();
  }
  send({ type: 'holding', lock: key, client: name, holding: false });
  const token = held.fencingToken;
  const input: PermitInput = { op: 'release', grant: g.grant, token };
  const rel = await record(
    { ...g.base, input },
    true,
    () => held.release(),
    () => 'ok',
    (err) => (err instanceof NotHeldError ? 'NOT_HELD' : undefined),
  );
  if (rel.ok && rel.output === 'ok') {
    openGrants.delete(g);
    return;
  }
  observe();
  endSession(g, null);
}

/**
 * The semaphores workload: take `weight` (1 or 2) permits of one of the semaphores, waiting,
 * then write to the semaphore's counter a few times under the permit (`{ fence: permit.fence }`,
 * which the cluster applies only while this session holds that grant; unfenced with
 * `--no-fencing`, recorded as if fenced), then release. A write that was not answered (failed,
 * or its outcome unknown) is tried once more, as an application would.
 */
async function semaphoreClient(name: string, r: Rng): Promise<void> {
  const client = await connectClient(name);
  if (client === undefined) return;
  let grants = 0;
  try {
    while (!stopping) {
      const key = `sem-${r.int(cfg.semaphores)}`;
      const permits = cfg.semaphorePermits;
      const sem = client.semaphore(key, { permits });
      const counter = client.counter(`${key}-writes`);
      const grant = ++grants;
      const weight = 1 + r.int(Math.min(2, permits));
      const waitMs = 300 + r.int(2_200);
      const base = (input: PermitInput): Base => ({ client: name, worker: cfg.worker, kind: 'semaphore', key, input });
      let session: number | null = null;
      const got = await record(
        base({ op: 'acquire', grant, weight, permits, waitMs }),
        true,
        () => sem.acquire({ weight, waitMs }),
        (p) => {
          // Read as the grant's answer resolves (no other call of this client runs meanwhile):
          // the session that was granted it, or none if the SDK has already seen it end.
          session = client.sessionId ?? null;
          return { acquired: true, token: p.fencingToken };
        },
        notAcquired,
      );
      const permit = got.ok ? got.value : undefined;
      if (permit !== undefined) {
        const token = permit.fencingToken;
        const fenced = cfg.fencing;
        const write = async (): Promise<void> => {
          for (let attempt = 0; attempt < 2; attempt++) {
            const res = await record(
              base({ op: 'write', grant, token, fenced }),
              true,
              () => counter.add(1, fenced ? { fence: permit.fence } : {}),
              () => 'applied',
              (err) => (err instanceof FencedError ? 'FENCED' : undefined),
            );
            if (res.ok) return;
          }
        };
        const g: OpenGrant = { base: base({ op: 'end-session', grant, session }), grant, acquireCall: got.call, session };
        await holdGrant(client, g, permit, 2 + r.int(2), r, write);
      }
      await sleep(10 + r.int(40));
    }
  } finally {
    await client.close();
  }
}

/**
 * The rwlocks workload: take a read or the write grant of one of the readers-writer locks,
 * waiting, then read or write the runner's resource with the grant's token a few times, then
 * release.
 */
async function rwlockClient(name: string, r: Rng): Promise<void> {
  const client = await connectClient(name);
  if (client === undefined) return;
  let grants = 0;
  try {
    while (!stopping) {
      const key = `rw-${r.int(cfg.rwlocks)}`;
      const lock = client.rwLock(key);
      const grant = ++grants;
      const mode = r.next() < 0.5 ? 'read' : 'write';
      const waitMs = 300 + r.int(2_200);
      const base = (input: PermitInput): Base => ({ client: name, worker: cfg.worker, kind: 'rwlock', key, input });
      let session: number | null = null;
      const got = await record(
        base({ op: 'acquire', grant, mode, waitMs }),
        true,
        () => (mode === 'read' ? lock.read({ waitMs }) : lock.write({ waitMs })),
        (l) => {
          session = client.sessionId ?? null;
          return { acquired: true, token: l.fencingToken };
        },
        notAcquired,
      );
      const held = got.ok ? got.value : undefined;
      if (held !== undefined) {
        const token = held.fencingToken;
        const g: OpenGrant = { base: base({ op: 'end-session', grant, session }), grant, acquireCall: got.call, session };
        await holdGrant(client, g, held, 2 + r.int(2), r, async () => {
          await resourceUse(key, name, mode, token);
        });
      }
      await sleep(10 + r.int(40));
    }
  } finally {
    await client.close();
  }
}

/**
 * The elections workload: campaign in one of the elections with a value naming this grant
 * (`<client>#<grant>`), waiting; while leading, a few times: write to the election's counter
 * fenced with the leadership's fence (unfenced with `--no-fencing`, recorded as if fenced), then
 * proclaim a new value or read who leads (a linearizable `election-info`); then resign. Pauses
 * make some leaders lose their lease meanwhile: their proclaims must be refused and their
 * fenced writes FENCED, and the history says so to the election model.
 */
async function electionClient(name: string, r: Rng): Promise<void> {
  const client = await connectClient(name);
  if (client === undefined) return;
  let grants = 0;
  try {
    while (!stopping) {
      const key = `elec-${r.int(cfg.elections)}`;
      const election = client.election(key);
      const counter = client.counter(`${key}-writes`);
      const grant = ++grants;
      const value = `${name}#${grant}`;
      const waitMs = 300 + r.int(2_200);
      const base = (input: PermitInput): Base => ({ client: name, worker: cfg.worker, kind: 'election', key, input });
      let session: number | null = null;
      const got = await record(
        base({ op: 'acquire', grant, waitMs, value }),
        true,
        () => election.campaign(value, { waitMs }),
        (l) => {
          session = client.sessionId ?? null;
          return { acquired: true, token: l.token };
        },
        notAcquired,
      );
      const leadership = got.ok ? got.value : undefined;
      if (leadership !== undefined) {
        const token = leadership.token;
        const fenced = cfg.fencing;
        let proclaims = 0;
        // Each use writes first (so a leader paused past its lease writes when it wakes, which
        // fencing must refuse), then proclaims a new value or reads who leads.
        const use = async (): Promise<void> => {
          await record(
            base({ op: 'write', grant, token, fenced }),
            true,
            () => counter.add(1, fenced ? { fence: leadership.fence } : {}),
            () => 'applied',
            (err) => (err instanceof FencedError ? 'FENCED' : undefined),
          );
          if (r.int(2) === 0) {
            const next = `${value}/p${++proclaims}`;
            await record(
              base({ op: 'proclaim', grant, token, value: next }),
              true,
              () => leadership.proclaim(next),
              () => 'ok',
              (err) => (err instanceof NotHeldError ? 'NOT_HELD' : undefined),
            );
          } else {
            await record(
              base({ op: 'read', grant }),
              false,
              () => election.leader(),
              (l) => (l === null ? null : { token: l.token, value: l.value }),
            );
          }
        };
        const g: OpenGrant = { base: base({ op: 'end-session', grant, session }), grant, acquireCall: got.call, session };
        await holdGrant(client, g, leadership, 2 + r.int(3), r, use);
      }
      await sleep(10 + r.int(40));
    }
  } finally {
    await client.close();
  }
}

const CLIENTS = {
  counters: counterClient,
  locks: lockClient,
  semaphores: semaphoreClient,
  rwlocks: rwlockClient,
  elections: electionClient,
} as const;

async function run(start: Start): Promise<void> {
  cfg = start;
  const loops: Promise<void>[] = [];
  for (let k = 0; k < start.clients; k++) {
    const name = `w${start.worker}c${k}`;
    const r = new Rng(start.seed * 1_000_003 + start.worker * 7_919 + k);
    loops.push(
      CLIENTS[start.roles[k] ?? 'counters'](name, r).catch((err: unknown) => {
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
  // Grants still open (their holders did not finish): their sessions end some time, unseen.
  for (const g of [...openGrants]) endSession(g, null);
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
