/**
 * A fenced **lease** lock, one per lock name (`op.key`): what a chaos run's lock history is
 * checked against. Unlike {@link mutexModel}, a holder's lease can run out without any operation
 * in the history (its client was paused or cut off longer than the session TTL), after which the
 * lock may be granted again. So the model cannot demand exclusion between grants (the fenced
 * resource's log checks what exclusion means for a lease lock: no stale write accepted); it
 * demands what the cluster promises whatever the leases do:
 * - every grant's fencing token is a safe integer strictly greater than every earlier grant's;
 * - "not acquired" (a wait that timed out, a try-lock refused) only while someone holds it;
 * - a release answered `'ok'` only by the current holder with its token (a release that the
 *   cluster accepted proves the lease had not run out, so no grant came in between);
 * - `'NOT_HELD'` is always possible (the lease may have run out), and frees the lock.
 */
import type { Model } from '../model.js';
import { type MutexInput, type MutexOutput, type MutexState, mutexModel } from './mutex.js';

/** The lease-lock model (states, partitions and texts as {@link mutexModel}; a looser `step`). */
export const leaseMutexModel: Model<MutexState, MutexInput, MutexOutput> = {
  ...mutexModel,
  name: 'lease-mutex',
  init: () => ({ holder: null, token: null, last: 0 }),
  step(state, input, output) {
    const reject = { ok: false, state };
    if (input.op === 'acquire') {
      if (output === undefined) {
        // Maybe granted (with an unseen token > last), maybe not: take the grant when the lock
        // may be free (the holder's lease may have run out at any time), which only loosens.
        return { ok: true, state: { holder: input.client, token: null, last: state.last + 1 } };
      }
      if (typeof output !== 'object') return reject;
      if (!output.acquired) return { ok: state.holder !== null, state };
      const t = output.token;
      if (!Number.isSafeInteger(t) || t <= state.last) return reject;
      return { ok: true, state: { holder: input.client, token: t, last: t } };
    }
    if (output !== undefined && output !== 'ok' && output !== 'NOT_HELD') return reject;
    const mine = state.holder === input.client;
    const canMatch =
      mine && (state.token === null ? input.token >= state.last && Number.isSafeInteger(input.token) : input.token === state.token);
    if (output === 'NOT_HELD') return { ok: true, state: mine ? { holder: null, token: null, last: state.last } : state };
    if (!canMatch) return output === 'ok' ? reject : { ok: true, state };
    return { ok: true, state: { holder: null, token: null, last: state.token ?? input.token } };
  },
};
