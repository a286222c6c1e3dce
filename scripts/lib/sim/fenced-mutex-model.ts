/** The checker's mutex model plus fenced writes and session ends, for the simulator's lock histories. */
/**
 * The checker's fenced-mutex model (src/checker/models/mutex.ts) extended with the two things
 * the lock workload adds to a lock's history:
 *
 * - `fenced-write(client, token)`: a write to the lock's protected counter carrying
 *   `{ lock, token }`. Answered `'applied'`, it is legal only while `client` holds the lock
 *   with exactly `token` (the resource never accepts a stale token); answered `'FENCED'`,
 *   only while it does not. When the holder's token was never seen (an unknown-outcome
 *   grant), an applied write with a token at or above the least possible one reveals it, and
 *   `'FENCED'` is accepted.
 * - `end-session(client)`: the session ended (expired or closed) and every lock it held was
 *   freed. The workload records it for each session that may hold the lock, with an unknown
 *   outcome from the last moment the session was known alive: the search may place it at any
 *   point after that, or leave it out.
 *
 * acquire/release are delegated to the checker's mutex model unchanged.
 */
import {
  formatOperation,
  mutexModel,
  partitionByKey,
  show,
  type Model,
  type MutexInput,
  type MutexOutput,
  type MutexState,
} from '../../../src/checker/index.js';

export type FencedMutexInput =
  | MutexInput
  | { readonly op: 'fenced-write'; readonly client: string; readonly token: number }
  | { readonly op: 'end-session'; readonly client: string };

export type FencedMutexOutput = MutexOutput | 'applied' | 'FENCED';

export const fencedMutexModel: Model<MutexState, FencedMutexInput, FencedMutexOutput> = {
  name: 'fenced-mutex',
  init: () => mutexModel.init(),
  step(state, input, output) {
    if (input.op === 'end-session') {
      if (state.holder !== input.client) return { ok: true, state };
      return { ok: true, state: { holder: null, token: null, last: state.token ?? state.last } };
    }
    if (input.op === 'fenced-write') {
      const mine = state.holder === input.client;
      const exact = mine && state.token !== null && state.token === input.token;
      const couldBe = mine && state.token === null && Number.isSafeInteger(input.token) && input.token >= state.last;
      if (output === 'FENCED') return { ok: !exact, state };
      if (output === 'applied') {
        if (exact) return { ok: true, state };
        if (couldBe) return { ok: true, state: { holder: state.holder, token: input.token, last: input.token } };
        return { ok: false, state };
      }
      if (output === undefined) return { ok: true, state };
      return { ok: false, state };
    }
    if (output === 'applied' || output === 'FENCED') return { ok: false, state };
    return mutexModel.step(state, input, output);
  },
  partition: partitionByKey,
  hash: (s) => mutexModel.hash(s),
  equal: (a, b) => mutexModel.equal(a, b),
  describe: (op) => {
    const input = op.input;
    const output = op.status === 'ok' ? op.output : undefined;
    if (input.op === 'fenced-write')
      return formatOperation(op, `fenced-write(${JSON.stringify(input.client)}, ${input.token}) -> ${show(output)}`);
    if (input.op === 'end-session') return formatOperation(op, `end-session(${JSON.stringify(input.client)})`);
    return mutexModel.describe({ ...op, input, output: output as MutexOutput });
  },
  describeState: (s) => mutexModel.describeState(s),
};
