/**
 * A fenced readers-writer lock, one per lock name (`op.key`): many readers or one writer.
 *
 * Fencing tokens are the index of the granting log entry, as for the semaphore (semaphore.ts):
 * readers granted by one entry share its index, so read tokens need only be at least every
 * earlier grant's; a writer is granted alone, after everyone before it, so its token is strictly
 * greater than every earlier grant's; a grant after a writer, or after any grant was released or
 * ended, comes from a later entry, so its token is strictly greater than that grant's. Unseen
 * tokens (unknown-outcome grants) are kept exact with the semaphore's {@link TokenBounds}.
 */
import type { Operation } from '../history.js';
import { type Model, formatOperation, partitionByKey, show } from '../model.js';
import {
  type SemaphoreOutput,
  type Stepped,
  type TokenBounds,
  type TokenTerm,
  atLeast,
  boundsKey,
  describeRange,
  endSessionStep,
  fencedWriteStep,
  initialBounds,
  knownToken,
  lowest,
  must,
  raiseFloorTo,
  releaseStep,
  sameBounds,
  unseenVariable,
  withVariable,
} from './semaphore.js';

/** How a client holds a readers-writer lock. */
export type RwLockMode = 'read' | 'write';

/**
 * Readers-writer lock operations on one lock (`op.key`): `acquire(client, mode)`,
 * `release(client, token)`, `end-session(client)` (the session ended: its grant is gone) and
 * `fenced-write(client, token)` (a write to the guarded resource carrying `token`).
 */
export type RwLockInput =
  | { readonly op: 'acquire'; readonly client: string; readonly mode: RwLockMode }
  | { readonly op: 'release'; readonly client: string; readonly token: number }
  | { readonly op: 'end-session'; readonly client: string }
  | { readonly op: 'fenced-write'; readonly client: string; readonly token: number };

/** The answers are a semaphore's ({@link SemaphoreOutput}). */
export type RwLockOutput = SemaphoreOutput;

/** A readers-writer lock operation in a history. */
export type RwLockOperation = Operation<RwLockInput, RwLockOutput>;

/** One current grant: `token` is null when the grant's outcome was unknown and never revealed. */
export interface RwLockHolder {
  readonly client: string;
  readonly mode: RwLockMode;
  readonly token: number | null;
}

/**
 * The state of one lock.
 * - `holders`: readers, or a single writer, sorted by client (canonical).
 * - `tokens`: floors `'read'` and `'write'` (the least token the next read and the next write
 *   grant may carry) and one variable per holder whose token is unseen, with every constraint
 *   between them (see {@link TokenBounds}).
 */
export interface RwLockState {
  readonly holders: readonly RwLockHolder[];
  readonly tokens: TokenBounds;
}

const READ = 'read';
const WRITE = 'write';
const FLOORS = [READ, WRITE] as const;
const INITIAL: RwLockState = { holders: [], tokens: initialBounds(FLOORS, 1) };

/**
 * The readers-writer lock model. Contract: per-lock partitions (`op.key`); tokens are positive
 * safe integers.
 * - `acquire` in `'write'` mode granted with token `t` is legal iff nobody holds the lock and
 *   `t` is strictly greater than every earlier grant's token. In `'read'` mode, iff no writer
 *   holds it, `client` holds nothing here, and `t` is at least every earlier grant's token and
 *   strictly greater than every earlier write grant's. Either way, `t` must also be strictly
 *   greater than the token of every grant released or ended before (a later log entry). A read
 *   follows a write only once the writer is gone, so for reads this already implies the write
 *   rule; it adds that a reader granted after another reader left cannot share that reader's
 *   token (the semaphore's rule, for the same reason).
 * - `{ acquired: false }` is always legal: the cluster queues waiters strictly FIFO, so a
 *   request that would be compatible is refused while another waits ahead of it (a reader
 *   behind a queued writer), which a client history cannot see. FIFO is checked elsewhere, on
 *   the state machine's own queues.
 * - `release` and `end-session`: as in the semaphore model (`'ok'` only with the holder's exact
 *   token or a possible value of its unseen one; `'NOT_HELD'` unless that exact known token).
 * - `fenced-write` answered `'applied'` is legal only for the writer with exactly `token` (an
 *   unseen token that can be `token` is revealed); readers do not write. `'FENCED'` is legal
 *   unless `client` is the writer with exactly that known token.
 * - Unknown outputs take the state-changing branch when possible (see {@link Model}).
 */
export const rwlockModel: Model<RwLockState, RwLockInput, RwLockOutput> = {
  name: 'rwlock',
  init: () => INITIAL,
  step(state, input, output) {
    switch (input.op) {
      case 'acquire':
        return acquire(state, input.client, input.mode, output);
      case 'release':
        return releaseStep(state, input.client, input.token, output, FLOORS);
      case 'end-session':
        return endSessionStep(state, input.client, output, FLOORS);
      case 'fenced-write': {
        const writer = state.holders.find((h) => h.client === input.client && h.mode === 'write');
        return fencedWriteStep(state, writer, input.token, output, (token) => ({
          ...state,
          holders: [{ ...(writer as RwLockHolder), token }],
        }));
      }
    }
  },
  partition: partitionByKey,
  hash: (s) => `${s.holders.map((h) => `${JSON.stringify(h.client)}:${h.mode}@${h.token ?? '?'}`).join(',')}|${boundsKey(s.tokens)}`,
  equal: (a, b) =>
    a.holders.length === b.holders.length &&
    a.holders.every((h, i) => {
      const o = b.holders[i] as RwLockHolder;
      return h.client === o.client && h.mode === o.mode && h.token === o.token;
    }) &&
    sameBounds(a.tokens, b.tokens),
  describe: (op) => formatOperation(op, describeInput(op.input, op.status === 'ok' ? op.output : undefined)),
  describeState: (s) => {
    const holders = s.holders.map(
      (h) =>
        `${h.mode === 'write' ? 'writer' : 'reader'} ${JSON.stringify(h.client)} token ${h.token ?? `unseen (${describeRange(s.tokens, unseenVariable(h.client))})`}`,
    );
    const floors = `next read token >= ${lowest(s.tokens, READ)}, next write token >= ${lowest(s.tokens, WRITE)}`;
    return `${holders.length === 0 ? 'free' : `held by ${holders.join(', ')}`}; ${floors}`;
  },
};

function acquire(state: RwLockState, client: string, mode: RwLockMode, output: RwLockOutput): Stepped<RwLockState> {
  const reject = { ok: false, state };
  if (output !== undefined && (typeof output !== 'object' || output === null)) return reject;
  if (mode !== 'read' && mode !== 'write') return reject;
  if (output !== undefined && !output.acquired) return { ok: true, state }; // FIFO: always possible
  const fits = mode === 'write' ? state.holders.length === 0 : state.holders.every((h) => h.mode === 'read' && h.client !== client);
  if (output === undefined) {
    if (!fits) return { ok: true, state };
    const name = unseenVariable(client);
    const tokens = must(grant(withVariable(state.tokens, name), { at: name, plus: 0 }, mode)); // a fresh variable always fits
    return { ok: true, state: withHolder({ ...state, tokens }, { client, mode, token: null }) };
  }
  if (!fits || !Number.isSafeInteger(output.token)) return reject;
  const tokens = grant(state.tokens, knownToken(output.token), mode);
  if (tokens === null) return reject;
  return { ok: true, state: withHolder({ ...state, tokens }, { client, mode, token: output.token }) };
}

/**
 * A grant with token `term`, or null if the token is too small. A read must reach the read
 * floor, then raises it to its token (readers of one entry share it) and the write floor above
 * it. A write must reach both floors (the write floor is above every earlier grant), then
 * raises both above its token.
 */
function grant(tokens: TokenBounds, term: TokenTerm, mode: RwLockMode): TokenBounds | null {
  const floor = (name: string): TokenTerm => ({ at: name, plus: 0 });
  if (mode === 'read') {
    const admitted = atLeast(tokens, term, floor(READ));
    if (admitted === null) return null;
    return must(atLeast(raiseFloorTo(admitted, READ, term, 0), floor(WRITE), { at: term.at, plus: term.plus + 1 }));
  }
  const aboveWrite = atLeast(tokens, term, floor(WRITE));
  const admitted = aboveWrite === null ? null : atLeast(aboveWrite, term, floor(READ));
  if (admitted === null) return null;
  return raiseFloorTo(raiseFloorTo(admitted, READ, term, 1), WRITE, term, 1);
}

/** `state` with `holder` added, keeping holders sorted by client. */
function withHolder(state: RwLockState, holder: RwLockHolder): RwLockState {
  const holders = [...state.holders, holder].sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  return { ...state, holders };
}

function describeInput(input: RwLockInput, output: RwLockOutput): string {
  const who = JSON.stringify(input.client);
  switch (input.op) {
    case 'acquire': {
      const result =
        output === undefined || typeof output !== 'object' ? show(output) : output.acquired ? `token ${output.token}` : 'not acquired';
      return `acquire(${who}, ${input.mode}) -> ${result}`;
    }
    case 'release':
      return `release(${who}, ${input.token}) -> ${show(output)}`;
    case 'end-session':
      return `end-session(${who}) -> ${show(output)}`;
    case 'fenced-write':
      return `fenced-write(${who}, ${input.token}) -> ${show(output)}`;
  }
}
