/** The checker's mutex model plus fenced writes, session ends and all-or-nothing waits, for the simulator's lock histories. */
/**
 * The checker's fenced-mutex model (src/checker/models/mutex.ts) extended with what the lock
 * workload adds to a lock's history:
 *
 * - `fenced-write(client, token)`: a write to the lock's protected counter carrying
 *   `{ lock, token }`. Answered `'applied'`, it is legal only while `client` holds the lock
 *   with exactly `token` (the resource never accepts a stale token); answered `'FENCED'`,
 *   only while it does not. When the holder's token was never seen (an unknown-outcome
 *   grant), an applied write with a token at or above the least possible one reveals it, and
 *   `'FENCED'` is accepted.
 * - `end-session(client)`: the session ended (expired or closed) and every lock it held was
 *   freed, and every wait it had withdrawn. The workload records it for each session that may
 *   hold the lock, with an unknown outcome from the last moment the session was known alive:
 *   the search may place it at any point after that, or leave it out.
 * - `acquire-all(client, names)`: this lock's share of an all-or-nothing `acquire-all` of
 *   `names` (docs/design.md#all-or-nothing-multi-locks). Granted, it is an `acquire` granted
 *   with the command's one token (free lock, token above every earlier one). Not granted
 *   (`not-acquired`, `timed-out`), it says nothing about this lock alone: another lock of the
 *   set may have been the one held, so it is always legal here.
 * - `wait-all(client, names)`: an `acquire-all` that may wait (`waitMs` > 0) joined this
 *   lock's queue, which the machine then keeps for it: a lock with an all-or-nothing waiter
 *   first in its queue stays free (unheld) while another of the waiter's locks is held, and an
 *   `acquire` of it is not granted. It spans the same interval as the `acquire-all`, whose
 *   answer must come after it (that answer ends the wait). So a plain `acquire` answered "not
 *   acquired" is legal while the lock is held, or while some all-or-nothing wait may be in
 *   its queue.
 *
 * acquire/release are delegated to the checker's mutex model, except that a not-acquired
 * `acquire` is also legal while an all-or-nothing wait is in the lock's queue.
 */
import {
  formatOperation,
  mutexModel,
  partitionByKey,
  show,
  type AcquireOutput,
  type Model,
  type MutexInput,
  type MutexOutput,
  type MutexState,
} from '../../../src/checker/index.js';

export type FencedMutexInput =
  | MutexInput
  | { readonly op: 'fenced-write'; readonly client: string; readonly token: number }
  | { readonly op: 'end-session'; readonly client: string }
  | { readonly op: 'acquire-all'; readonly client: string; readonly names: readonly string[]; readonly waits: boolean }
  | { readonly op: 'wait-all'; readonly client: string; readonly names: readonly string[] };

export type FencedMutexOutput = MutexOutput | 'applied' | 'FENCED';

/** A lock: the mutex model's state, and the clients whose all-or-nothing wait may be in its queue. */
export interface FencedMutexState extends MutexState {
  /** Sorted, each client once. */
  readonly waiting: readonly string[];
}

function withWaiting(m: MutexState, waiting: readonly string[]): FencedMutexState {
  return { holder: m.holder, token: m.token, last: m.last, waiting };
}

function without(waiting: readonly string[], client: string): readonly string[] {
  return waiting.includes(client) ? waiting.filter((c) => c !== client) : waiting;
}

export const fencedMutexModel: Model<FencedMutexState, FencedMutexInput, FencedMutexOutput> = {
  name: 'fenced-mutex',
  init: () => withWaiting(mutexModel.init(), []),
  step(state, input, output) {
    if (input.op === 'end-session') {
      const waiting = without(state.waiting, input.client);
      if (state.holder !== input.client) return { ok: true, state: waiting === state.waiting ? state : { ...state, waiting } };
      return { ok: true, state: { holder: null, token: null, last: state.token ?? state.last, waiting } };
    }
    if (input.op === 'wait-all') {
      if (output !== undefined) return { ok: false, state };
      if (state.waiting.includes(input.client)) return { ok: true, state };
      return { ok: true, state: { ...state, waiting: [...state.waiting, input.client].sort() } };
    }
    if (input.op === 'fenced-write') {
      const mine = state.holder === input.client;
      const exact = mine && state.token !== null && state.token === input.token;
      const couldBe = mine && state.token === null && Number.isSafeInteger(input.token) && input.token >= state.last;
      if (output === 'FENCED') return { ok: !exact, state };
      if (output === 'applied') {
        if (exact) return { ok: true, state };
        if (couldBe) return { ok: true, state: { ...state, token: input.token, last: input.token } };
        return { ok: false, state };
      }
      if (output === undefined) return { ok: true, state };
      return { ok: false, state };
    }
    if (output === 'applied' || output === 'FENCED') return { ok: false, state };
    if (input.op === 'acquire-all') {
      // The answer ends the wait, so it comes after the wait began (when it could wait at all).
      const wasWaiting = state.waiting.includes(input.client);
      if (input.waits && output !== undefined && !wasWaiting) return { ok: false, state };
      const waiting = without(state.waiting, input.client);
      if (output !== undefined && typeof output === 'object' && !output.acquired) return { ok: true, state: { ...state, waiting } };
      const next = mutexModel.step(state, { op: 'acquire', client: input.client }, output);
      return { ok: next.ok, state: next.ok ? withWaiting(next.state, waiting) : state };
    }
    if (input.op === 'acquire' && isNotAcquired(output)) return { ok: state.holder !== null || state.waiting.length > 0, state };
    const next = mutexModel.step(state, input, output);
    return { ok: next.ok, state: next.ok ? withWaiting(next.state, state.waiting) : state };
  },
  partition: partitionByKey,
  hash: (s) => `${mutexModel.hash(s)}|${s.waiting.map((c) => JSON.stringify(c)).join(',')}`,
  equal: (a, b) => mutexModel.equal(a, b) && a.waiting.length === b.waiting.length && a.waiting.every((c, k) => b.waiting[k] === c),
  describe: (op) => {
    const input = op.input;
    const output = op.status === 'ok' ? op.output : undefined;
    if (input.op === 'fenced-write')
      return formatOperation(op, `fenced-write(${JSON.stringify(input.client)}, ${input.token}) -> ${show(output)}`);
    if (input.op === 'end-session') return formatOperation(op, `end-session(${JSON.stringify(input.client)})`);
    if (input.op === 'wait-all') return formatOperation(op, `wait-all(${JSON.stringify(input.client)}, [${input.names.join(', ')}])`);
    if (input.op === 'acquire-all') {
      const result =
        output === undefined || typeof output !== 'object' ? show(output) : output.acquired ? `token ${output.token}` : 'not acquired';
      const how = input.waits ? 'waiting' : 'no wait';
      return formatOperation(op, `acquire-all(${JSON.stringify(input.client)}, [${input.names.join(', ')}], ${how}) -> ${result}`);
    }
    return mutexModel.describe({ ...op, input, output: output as MutexOutput });
  },
  describeState: (s) => {
    const base = mutexModel.describeState(s);
    return s.waiting.length === 0 ? base : `${base}; all-or-nothing waits of ${s.waiting.map((c) => JSON.stringify(c)).join(', ')}`;
  },
};

function isNotAcquired(output: FencedMutexOutput | undefined): output is AcquireOutput & { readonly acquired: false } {
  return output !== undefined && typeof output === 'object' && !output.acquired;
}
