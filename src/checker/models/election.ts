/**
 * A leader election, one per election name (`op.key`): at most one leader at a time, each
 * leader's fencing token strictly greater than every earlier leader's, and a value the leader
 * campaigned with or proclaimed since.
 *
 * An election is a resource of one permit (docs/design.md#leader-elections):
 * the holder leads, the waiters are candidates, and the token is the index of the granting log
 * entry. With one permit a grant always comes from a later entry than the end of the previous
 * leader, so tokens strictly increase, and a candidate waits only while somebody leads (a free
 * election grants its first candidate in the same step), so "not acquired" means that somebody
 * led at that instant.
 *
 * Unseen tokens (unknown-outcome campaigns) need no more than the mutex model's least possible
 * value: leaders never overlap, so an unseen token is bounded below by the grants before it and
 * above only by the grants after it, which ask for no more than "greater than the least value".
 */
import type { Operation } from '../history.js';
import { type Model, formatOperation, partitionByKey, show } from '../model.js';
import type { AcquireOutput, ReleaseOutput } from './mutex.js';
import type { FencedWriteOutput } from './semaphore.js';

/**
 * Election operations on one election (`op.key`):
 * - `campaign(client, value)`: the client's session campaigns with `value` (waiting or not).
 * - `resign(client, token)`: the leader with `token` steps down.
 * - `proclaim(client, token, value)`: the leader with `token` changes its value to `value`.
 * - `read`: who leads now (a linearizable `election-info`).
 * - `end-session(client)`: the client's session ended (expired or closed): it leads no more.
 * - `fenced-write(client, token)`: a write to the resource the election guards, carrying `token`.
 */
export type ElectionInput =
  | { readonly op: 'campaign'; readonly client: string; readonly value: string }
  | { readonly op: 'resign'; readonly client: string; readonly token: number }
  | { readonly op: 'proclaim'; readonly client: string; readonly token: number; readonly value: string }
  | { readonly op: 'read' }
  | { readonly op: 'end-session'; readonly client: string }
  | { readonly op: 'fenced-write'; readonly client: string; readonly token: number };

/** What a leader read sees: the leading session (a client of the history), its token and value. */
export interface ElectionLeader {
  readonly session: string;
  readonly token: number;
  readonly value: string;
}

/**
 * {@link AcquireOutput} for `campaign`, {@link ReleaseOutput} for `resign` and `proclaim`, an
 * {@link ElectionLeader} or `null` (nobody leads) for `read`, `'ok'` for `end-session`,
 * {@link FencedWriteOutput} for `fenced-write`; `undefined` when unknown.
 */
export type ElectionOutput = AcquireOutput | ReleaseOutput | FencedWriteOutput | ElectionLeader | null | undefined;

/** An election operation in a history. */
export type ElectionOperation = Operation<ElectionInput, ElectionOutput>;

/** The current leader: `token` is null when its campaign's outcome was unknown and never revealed. */
export interface ElectionLeaderState {
  readonly client: string;
  readonly token: number | null;
  readonly value: string;
}

/**
 * The state of one election.
 * - `leader`: who leads, or null.
 * - `last`: the least value the latest leader's token can have (exact once that token is
 *   seen); the next leader's token must be greater.
 */
export interface ElectionState {
  readonly leader: ElectionLeaderState | null;
  readonly last: number;
}

const INITIAL: ElectionState = { leader: null, last: 0 };

/**
 * The election model. Contract: per-election partitions (`op.key`); tokens are positive safe
 * integers.
 * - `campaign` granted with token `t` is legal iff nobody leads and `t > last`; the client then
 *   leads with `t` and its campaign's value. `{ acquired: false }` is legal iff somebody leads
 *   (a candidate waits only while somebody leads, and a try is refused only then).
 * - `resign` answered `'ok'` is legal iff `client` leads with exactly `token`, or with an unseen
 *   token that can be `token` (which reveals it); nobody leads afterwards. `'NOT_HELD'` unless
 *   `client` leads with exactly that known token (an unseen token may differ from `token`:
 *   deliberately permissive, as in the mutex model; "not `token`" is not remembered).
 * - `proclaim` answered `'ok'`: as an `'ok'` resign, but the leader stays and its value becomes
 *   `value`; `'NOT_HELD'` as for resign.
 * - `read` answered null is legal iff nobody leads; answered `{ session, token, value }` iff
 *   `session` leads with that value and exactly `token` (or an unseen token that can be `token`,
 *   which reveals it).
 * - `end-session` (`'ok'` or unknown) ends `client`'s leadership, if it leads. Recorded with an
 *   unknown outcome from the last time the session was known alive, the search may place it
 *   anywhere after that, or leave it out.
 * - `fenced-write` answered `'applied'` is legal iff `client` leads with exactly `token` (an
 *   unseen token that can be `token` is revealed); `'FENCED'` unless `client` leads with exactly
 *   that known token.
 * - Unknown outputs take the state-changing branch when possible (see {@link Model}): a campaign
 *   leads with an unseen token if nobody leads, a resign or proclaim whose token can match takes
 *   effect; an unknown read or fenced write leaves the state (revealing would only narrow it).
 */
export const electionModel: Model<ElectionState, ElectionInput, ElectionOutput> = {
  name: 'election',
  init: () => INITIAL,
  step(state, input, output) {
    switch (input.op) {
      case 'campaign':
        return campaign(state, input.client, input.value, output);
      case 'resign':
        return byLeader(state, input.client, input.token, output, ['ok', 'NOT_HELD'], () => null);
      case 'proclaim':
        return byLeader(state, input.client, input.token, output, ['ok', 'NOT_HELD'], (l) => ({ ...l, value: input.value }));
      case 'read':
        return read(state, output);
      case 'end-session':
        return endSession(state, input.client, output);
      case 'fenced-write':
        return byLeader(state, input.client, input.token, output, ['applied', 'FENCED'], (l) => l, false);
    }
  },
  partition: partitionByKey,
  hash: (s) =>
    s.leader === null
      ? `-|${s.last}`
      : `${JSON.stringify(s.leader.client)}@${s.leader.token ?? '?'}=${JSON.stringify(s.leader.value)}|${s.last}`,
  equal: (a, b) =>
    a.last === b.last &&
    (a.leader === null || b.leader === null
      ? a.leader === b.leader
      : a.leader.client === b.leader.client && a.leader.token === b.leader.token && a.leader.value === b.leader.value),
  describe: (op) => formatOperation(op, describeInput(op.input, op.status === 'ok' ? op.output : undefined)),
  describeState: (s) =>
    s.leader === null
      ? `no leader (last token ${s.last})`
      : `led by ${JSON.stringify(s.leader.client)} with token ${s.leader.token ?? `unseen (>= ${s.last})`}, value ${JSON.stringify(s.leader.value)}`,
};

type Stepped = { readonly ok: boolean; readonly state: ElectionState };

function campaign(state: ElectionState, client: string, value: string, output: ElectionOutput): Stepped {
  const reject = { ok: false, state };
  if (output === undefined) {
    if (state.leader !== null) return { ok: true, state };
    return { ok: true, state: { leader: { client, token: null, value }, last: state.last + 1 } };
  }
  if (typeof output !== 'object' || output === null || !('acquired' in output)) return reject;
  if (!output.acquired) return { ok: state.leader !== null, state };
  const t = output.token;
  if (state.leader !== null || !Number.isSafeInteger(t) || t <= state.last) return reject;
  return { ok: true, state: { leader: { client, token: t, value }, last: t } };
}

/**
 * An operation that takes effect only for the leader with `token` (resign, proclaim, fenced
 * write), answered `output`: `answers` are its "took effect" and "refused" outputs. Taking
 * effect reveals an unseen token and replaces the leader by `after(leader)` (null: nobody
 * leads). `unknownChanges`: whether an unknown outcome takes the effect (false for a fenced
 * write, whose effect is outside the election: revealing would only narrow the state).
 */
function byLeader(
  state: ElectionState,
  client: string,
  token: number,
  output: ElectionOutput,
  answers: readonly [effect: string, refused: string],
  after: (leader: ElectionLeaderState) => ElectionLeaderState | null,
  unknownChanges = true,
): Stepped {
  const [effect, refused] = answers;
  if (output !== undefined && output !== effect && output !== refused) return { ok: false, state };
  const leader = state.leader !== null && state.leader.client === client ? state.leader : null;
  const exact = leader !== null && leader.token === token;
  if (output === refused) return { ok: !exact, state };
  const canMatch = exact || (leader !== null && leader.token === null && Number.isSafeInteger(token) && token >= state.last);
  if (output === undefined && (!unknownChanges || !canMatch)) return { ok: true, state };
  if (!canMatch || leader === null) return { ok: false, state };
  const revealed = { ...leader, token };
  return { ok: true, state: { leader: after(revealed), last: leader.token === null ? token : state.last } };
}

function read(state: ElectionState, output: ElectionOutput): Stepped {
  if (output === undefined) return { ok: true, state };
  if (output === null) return { ok: state.leader === null, state };
  if (typeof output !== 'object' || !('session' in output)) return { ok: false, state };
  const leader = state.leader;
  if (leader === null || leader.client !== output.session || leader.value !== output.value) return { ok: false, state };
  if (leader.token !== null) return { ok: leader.token === output.token, state };
  if (!Number.isSafeInteger(output.token) || output.token < state.last) return { ok: false, state };
  return { ok: true, state: { leader: { ...leader, token: output.token }, last: output.token } };
}

function endSession(state: ElectionState, client: string, output: ElectionOutput): Stepped {
  if (output !== undefined && output !== 'ok') return { ok: false, state };
  if (state.leader === null || state.leader.client !== client) return { ok: true, state };
  return { ok: true, state: { leader: null, last: state.last } };
}

function describeInput(input: ElectionInput, output: ElectionOutput): string {
  switch (input.op) {
    case 'campaign': {
      const result =
        output === undefined || typeof output !== 'object' || output === null || !('acquired' in output)
          ? show(output)
          : output.acquired
            ? `leads with token ${output.token}`
            : 'not acquired';
      return `campaign(${JSON.stringify(input.client)}, ${JSON.stringify(input.value)}) -> ${result}`;
    }
    case 'resign':
      return `resign(${JSON.stringify(input.client)}, ${input.token}) -> ${show(output)}`;
    case 'proclaim':
      return `proclaim(${JSON.stringify(input.client)}, ${input.token}, ${JSON.stringify(input.value)}) -> ${show(output)}`;
    case 'read':
      return `read -> ${output === null ? 'no leader' : show(output)}`;
    case 'end-session':
      return `end-session(${JSON.stringify(input.client)}) -> ${show(output)}`;
    case 'fenced-write':
      return `fenced-write(${JSON.stringify(input.client)}, ${input.token}) -> ${show(output)}`;
  }
}
