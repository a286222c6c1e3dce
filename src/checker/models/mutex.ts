/**
 * A fenced mutex, one per lock name (`op.key`): exclusive grants, each with a fencing token
 * strictly greater than every earlier grant's.
 *
 * Simplifications, on purpose: a lock is held from its grant until its release (no lease
 * expiry: a history with expiries needs a model that knows the lease clock); the lock is not
 * re-entrant (an `acquire` by the holder itself must answer not-acquired); `acquire` is a
 * try-lock at its linearization point: "not acquired" is legal only while someone holds the lock.
 */
import type { Operation } from '../history.js';
import { type Model, formatOperation, partitionByKey, show } from '../model.js';

/** `acquire(client)` tries to take the lock; `release(client, token)` gives back the grant `token`. */
export type MutexInput =
  { readonly op: 'acquire'; readonly client: string } | { readonly op: 'release'; readonly client: string; readonly token: number };

/** The answer to `acquire`: a grant with its fencing token (a positive safe integer), or not. */
export type AcquireOutput = { readonly acquired: true; readonly token: number } | { readonly acquired: false };

/** The answer to `release`: `'ok'`, or `'NOT_HELD'` if `client` does not hold grant `token`. */
export type ReleaseOutput = 'ok' | 'NOT_HELD';

/** An {@link AcquireOutput} for `acquire`, a {@link ReleaseOutput} for `release`. */
export type MutexOutput = AcquireOutput | ReleaseOutput | undefined;

/** A mutex operation in a history. */
export type MutexOperation = Operation<MutexInput, MutexOutput>;

/**
 * The state of one lock.
 * - `holder`: who holds it, or `null`.
 * - `token`: the holder's fencing token, `null` if free or if the grant's outcome was unknown
 *   (the token was never seen).
 * - `last`: the smallest value the latest grant's token can have; exact once that token is
 *   known. Any new grant needs a token `> last`. Keeping the least possible value of an unseen
 *   token is exact for the "strictly increasing" rule: later constraints only ask for more.
 */
export interface MutexState {
  readonly holder: string | null;
  readonly token: number | null;
  readonly last: number;
}

const FREE: MutexState = { holder: null, token: null, last: 0 };

/**
 * The fenced-mutex model. Contract: per-lock partitions (`op.key`). A granted `acquire` is
 * legal iff the lock is free and its token is a safe integer `> last`; a not-acquired answer iff
 * the lock is held. A `release` answered `'ok'` is legal iff `client` holds the lock with that
 * token; `'NOT_HELD'` iff it does not. When the holder's token was never seen (unknown-outcome
 * grant), a release by the holder with token `t >= last` may match it (`'ok'`, and `t` becomes
 * known), and `'NOT_HELD'` is accepted (the unseen token may differ from `t`; this one case is
 * deliberately permissive: it never reports a false violation, and the fact "token != t" is not
 * remembered). Unknown outputs take the state-changing branch when it is possible (see the
 * {@link Model} contract).
 */
export const mutexModel: Model<MutexState, MutexInput, MutexOutput> = {
  name: 'mutex',
  init: () => FREE,
  step(state, input, output) {
    const reject = { ok: false, state };
    if (input.op === 'acquire') {
      if (output === undefined) {
        if (state.holder !== null) return { ok: true, state };
        return { ok: true, state: { holder: input.client, token: null, last: state.last + 1 } };
      }
      if (typeof output !== 'object') return reject;
      if (!output.acquired) return { ok: state.holder !== null, state };
      const t = output.token;
      if (state.holder !== null || !Number.isSafeInteger(t) || t <= state.last) return reject;
      return { ok: true, state: { holder: input.client, token: t, last: t } };
    }
    if (output !== undefined && output !== 'ok' && output !== 'NOT_HELD') return reject;
    const mine = state.holder === input.client;
    const canMatch =
      mine && (state.token === null ? input.token >= state.last && Number.isSafeInteger(input.token) : input.token === state.token);
    const mustMatch = mine && state.token !== null && input.token === state.token;
    if (output === 'NOT_HELD') return { ok: !mustMatch, state };
    if (!canMatch) return output === 'ok' ? reject : { ok: true, state };
    return { ok: true, state: { holder: null, token: null, last: state.token ?? input.token } };
  },
  partition: partitionByKey,
  hash: (s) => `${s.holder === null ? '-' : JSON.stringify(s.holder)}|${s.token ?? '?'}|${s.last}`,
  equal: (a, b) => a.holder === b.holder && a.token === b.token && a.last === b.last,
  describe: (op) => formatOperation(op, describeInput(op.input, op.status === 'ok' ? op.output : undefined)),
  describeState: (s) =>
    s.holder === null
      ? `free (last token ${s.last})`
      : `held by ${JSON.stringify(s.holder)} with token ${s.token === null ? `unseen (>= ${s.last})` : s.token}`,
};

function describeInput(input: MutexInput, output: MutexOutput): string {
  if (input.op === 'release') return `release(${JSON.stringify(input.client)}, ${input.token}) -> ${show(output)}`;
  const result =
    output === undefined || typeof output !== 'object' ? show(output) : output.acquired ? `token ${output.token}` : 'not acquired';
  return `acquire(${JSON.stringify(input.client)}) -> ${result}`;
}
