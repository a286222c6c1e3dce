/**
 * A fenced counting semaphore, one per semaphore name (`op.key`): a fixed number of permits,
 * holders that each hold a weight, at most one grant per client, and fencing tokens.
 *
 * Fencing tokens are the index of the log entry that granted: one entry (a release, a session
 * end) may hand permits to several waiters at once, and they share its index. So tokens are
 * non-decreasing along grants, not strictly increasing; but a grant that comes after a grant
 * was released (or its session ended) comes from a later entry than that release, so its token
 * is strictly greater than the released grant's. (This assumes no grant is released in the very
 * entry that made it.)
 *
 * Unknown-outcome grants leave tokens that were never seen. With concurrent holders, such a
 * token is boxed in from both sides: it is at least every earlier grant's token and at most
 * every later one's, with strict steps where releases come between. Keeping only its least
 * possible value (enough for the exclusive mutex of mutex.ts) would let a later release or
 * fenced write "reveal" a value that an intervening grant already rules out. So the state keeps
 * every constraint between unseen tokens and the floor of the next grant's token as a small
 * integer difference-bound matrix ({@link TokenBounds}), closed (tightest bounds) so that it is
 * canonical and any single value inside a variable's bounds is attainable.
 */
import { HistoryError, type Operation } from '../history.js';
import { type Model, type Partition, formatOperation, partitionByKey, show } from '../model.js';
import type { AcquireOutput, ReleaseOutput } from './mutex.js';

// ---------------------------------------------------------------------------------------------
// Token bounds: a closed integer difference-bound matrix, shared with the rwlock model. These
// helpers (and the release/end-session/fenced-write steps below) are exported for rwlock.ts;
// the checker's index.ts exports only the state types.

/** The name of the constant-zero variable of every {@link TokenBounds}, always at index 0. */
export const ZERO = '0';

/**
 * Constraints between token variables, as a closed difference-bound matrix (DBM) over integers.
 *
 * Contract: `vars[0]` is {@link ZERO}; the other names are distinct and sorted (so equal sets of
 * constraints give equal values: the matrix is canonical). `bounds[i * n + j]` (n = `vars.length`)
 * is the tightest upper bound on `vars[j] - vars[i]` (`Infinity`: none), and the set is never
 * empty. Models use two kinds of variables: *floors* (the least token the next grant of some
 * kind may have: existential, bounded from below by what came before) and *unseen tokens* of
 * current holders. Immutable: the functions below return new values.
 */
export interface TokenBounds {
  readonly vars: readonly string[];
  readonly bounds: readonly number[];
}

/**
 * A token as a term: the value of variable `at` plus `plus`. A known token `t` is `{ at: ZERO,
 * plus: t }`; an unseen one is `{ at: <its variable>, plus: 0 }`.
 */
export interface TokenTerm {
  readonly at: string;
  readonly plus: number;
}

/** The term of a known token. */
export function knownToken(token: number): TokenTerm {
  return { at: ZERO, plus: token };
}

/** Bounds with the given floors, each at least `least`, and no other variable. */
export function initialBounds(floors: readonly string[], least: number): TokenBounds {
  let b: TokenBounds = { vars: [ZERO], bounds: [0] };
  for (const f of floors) b = must(atLeast(withVariable(b, f), { at: f, plus: 0 }, knownToken(least)));
  return b;
}

function indexOf(b: TokenBounds, name: string): number {
  const i = b.vars.indexOf(name);
  if (i < 0) throw new Error(`token bounds: no variable ${name}`);
  return i;
}

/** Adds an unconstrained variable `name` (which must be new), keeping the names sorted. */
export function withVariable(b: TokenBounds, name: string): TokenBounds {
  const vars = [ZERO, ...[...b.vars.slice(1), name].sort()];
  const n = vars.length;
  const old = b.vars.length;
  const from = vars.map((v) => (v === name ? -1 : b.vars.indexOf(v)));
  const bounds = new Array<number>(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const oi = from[i] as number;
      const oj = from[j] as number;
      bounds[i * n + j] = i === j ? 0 : oi < 0 || oj < 0 ? Infinity : (b.bounds[oi * old + oj] as number);
    }
  }
  return { vars, bounds };
}

/**
 * Removes variable `name`: the projection of the constraints onto the others (dropping a row
 * and column of a closed matrix is exact, and leaves it closed).
 */
export function withoutVariable(b: TokenBounds, name: string): TokenBounds {
  const k = indexOf(b, name);
  const n = b.vars.length;
  const vars = b.vars.filter((_, i) => i !== k);
  const bounds: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === k) continue;
    for (let j = 0; j < n; j++) if (j !== k) bounds.push(b.bounds[i * n + j] as number);
  }
  return { vars, bounds };
}

/**
 * Adds `vars[y] - vars[x] <= c` and re-closes (one new edge in a closed graph: every shortest
 * path either keeps its length or goes through the edge once). Returns null if the constraints
 * become unsatisfiable.
 */
function constrain(b: TokenBounds, x: string, y: string, c: number): TokenBounds | null {
  const n = b.vars.length;
  const ix = indexOf(b, x);
  const iy = indexOf(b, y);
  if (c + (b.bounds[iy * n + ix] as number) < 0) return null;
  const bounds = b.bounds.slice();
  for (let i = 0; i < n; i++) {
    const toX = b.bounds[i * n + ix] as number;
    if (toX === Infinity) continue;
    for (let j = 0; j < n; j++) {
      const via = toX + c + (b.bounds[iy * n + j] as number);
      if (via < (bounds[i * n + j] as number)) bounds[i * n + j] = via;
    }
  }
  return { vars: b.vars, bounds };
}

/** Adds `high >= low` (terms), or returns null if that is impossible. */
export function atLeast(b: TokenBounds, high: TokenTerm, low: TokenTerm): TokenBounds | null {
  // high.at + high.plus >= low.at + low.plus  <=>  low.at - high.at <= high.plus - low.plus
  return constrain(b, high.at, low.at, high.plus - low.plus);
}

/** The least value variable `name` can take. */
export function lowest(b: TokenBounds, name: string): number {
  return -(b.bounds[indexOf(b, name) * b.vars.length] as number);
}

/** The greatest value variable `name` can take (`Infinity`: unbounded). */
export function highest(b: TokenBounds, name: string): number {
  return b.bounds[indexOf(b, name)] as number;
}

/**
 * Pins variable `name` to `value` and then removes it (its value is now a known constant; the
 * closure has carried its consequences to the other variables). Null if `value` is impossible.
 */
export function reveal(b: TokenBounds, name: string, value: number): TokenBounds | null {
  if (!Number.isSafeInteger(value)) return null;
  const term = { at: name, plus: 0 };
  const pinned = atLeast(b, term, knownToken(value));
  const both = pinned === null ? null : atLeast(pinned, knownToken(value), term);
  return both === null ? null : withoutVariable(both, name);
}

/**
 * Moves floor `floor` up to `term + plus`, which must already be at least the old floor (the
 * caller has added `term >= floor`): every old lower bound of the floor is then implied through
 * `term`, so forgetting them loses nothing.
 */
export function raiseFloorTo(b: TokenBounds, floor: string, term: TokenTerm, plus: number): TokenBounds {
  const fresh = withVariable(withoutVariable(b, floor), floor);
  return must(atLeast(fresh, { at: floor, plus: 0 }, { at: term.at, plus: term.plus + plus }));
}

/**
 * Unwraps a constraint that cannot fail: a floor is never bounded from above between steps
 * (an upper bound appears only while a grant is checked, and the floor is replaced right after),
 * so raising one, or adding a fresh variable, always leaves the constraints satisfiable.
 */
export function must(b: TokenBounds | null): TokenBounds {
  if (b === null) throw new Error('token bounds: internal error, a floor was bounded from above');
  return b;
}

/** A canonical text of the bounds: equal texts iff {@link sameBounds}. */
export function boundsKey(b: TokenBounds): string {
  return `${b.vars.map((v) => JSON.stringify(v)).join(',')}:${b.bounds.join(',')}`;
}

/** True iff `a` and `b` are the same constraints (closed matrices compare entry by entry). */
export function sameBounds(a: TokenBounds, b: TokenBounds): boolean {
  if (a === b) return true;
  if (a.vars.length !== b.vars.length || a.vars.some((v, i) => v !== b.vars[i])) return false;
  return a.bounds.every((x, i) => x === b.bounds[i]);
}

/** The variable holding `client`'s unseen token (sorts after every floor name). */
export function unseenVariable(client: string): string {
  return `t:${client}`;
}

/** `lo..hi` for variable `name`, for reports. */
export function describeRange(b: TokenBounds, name: string): string {
  const hi = highest(b, name);
  return `${lowest(b, name)}..${hi === Infinity ? '' : hi}`;
}

// ---------------------------------------------------------------------------------------------
// The semaphore model.

/**
 * Semaphore operations on one semaphore (`op.key`):
 * - `acquire(client, weight, permits)`: take `weight` permits; `permits` is the semaphore's
 *   permit count as the client declared it (every acquire on one key must carry the same).
 * - `release(client, token)`: give back the grant `token`.
 * - `end-session(client)`: the client's session ended (expired or closed): its grant is gone.
 * - `fenced-write(client, token)`: a write to the resource the semaphore guards, carrying `token`.
 */
export type SemaphoreInput =
  | { readonly op: 'acquire'; readonly client: string; readonly weight: number; readonly permits: number }
  | { readonly op: 'release'; readonly client: string; readonly token: number }
  | { readonly op: 'end-session'; readonly client: string }
  | { readonly op: 'fenced-write'; readonly client: string; readonly token: number };

/** The answer to a fenced write: accepted by the resource, or refused as stale/not held. */
export type FencedWriteOutput = 'applied' | 'FENCED';

/**
 * {@link AcquireOutput} for `acquire`, {@link ReleaseOutput} for `release`, `'ok'` for
 * `end-session`, {@link FencedWriteOutput} for `fenced-write`; `undefined` when unknown.
 */
export type SemaphoreOutput = AcquireOutput | ReleaseOutput | FencedWriteOutput | undefined;

/** A semaphore operation in a history. */
export type SemaphoreOperation = Operation<SemaphoreInput, SemaphoreOutput>;

/** One current grant: `token` is null when the grant's outcome was unknown and never revealed. */
export interface SemaphoreHolder {
  readonly client: string;
  readonly weight: number;
  readonly token: number | null;
}

/**
 * The state of one semaphore.
 * - `permits`: fixed by the first acquire linearized (null before).
 * - `holders`: current grants, sorted by client (canonical).
 * - `tokens`: floor `'next'` (the least token the next grant may carry: at least every grant's
 *   token so far, above every released or ended grant's) and one variable per holder whose
 *   token is unseen ({@link unseenVariable}), with every constraint between them.
 */
export interface SemaphoreState {
  readonly permits: number | null;
  readonly holders: readonly SemaphoreHolder[];
  readonly tokens: TokenBounds;
}

const NEXT = 'next';
const INITIAL: SemaphoreState = { permits: null, holders: [], tokens: initialBounds([NEXT], 1) };

/**
 * The semaphore model. Contract: per-semaphore partitions (`op.key`); `partition` throws
 * `HistoryError` if two acquires on one key declare different permit counts, or one is not a
 * positive safe integer (`step` rejects such an acquire too, as a fallback). Tokens are positive
 * safe integers.
 * - `acquire` granted with token `t` is legal iff `client` holds nothing here, the weights held
 *   plus `weight` (a positive safe integer) fit in `permits`, `t` is at least the latest grant's
 *   token and strictly greater than the token of every grant released or ended before.
 * - `{ acquired: false }` is always legal: the cluster queues waiters strictly FIFO, so even a
 *   request that would fit is refused (times out, or a try-acquire is turned down) while
 *   another waits ahead of it, which a client history cannot see. FIFO is checked elsewhere, on
 *   the state machine's own queues.
 * - `release` answered `'ok'` is legal iff `client` holds a grant with exactly `token`, or one
 *   whose token was never seen and can be `token` (which reveals it); `'NOT_HELD'` unless
 *   `client` holds a grant with exactly that known token (an unseen token may differ from
 *   `token`: deliberately permissive, as in the mutex model; "not `token`" is not remembered).
 * - `end-session` (`'ok'` or unknown) frees `client`'s grant, if any. Recorded with an unknown
 *   outcome from the last time the session was known alive, the search may place it anywhere
 *   after that, or leave it out.
 * - `fenced-write` answered `'applied'` is legal iff `client` holds its grant with exactly
 *   `token` (an unseen token that can be `token` is revealed); `'FENCED'` unless `client` holds
 *   it with exactly that known token.
 * - Unknown outputs take the state-changing branch when possible (see {@link Model}): an
 *   acquire grants with an unseen token if the grant is possible, a release frees the grant if
 *   `token` can match; an unknown fenced write leaves the state (revealing would only narrow it).
 */
export const semaphoreModel: Model<SemaphoreState, SemaphoreInput, SemaphoreOutput> = {
  name: 'semaphore',
  init: () => INITIAL,
  step(state, input, output) {
    switch (input.op) {
      case 'acquire':
        return acquire(state, input, output);
      case 'release':
        return releaseStep(state, input.client, input.token, output, [NEXT]);
      case 'end-session':
        return endSessionStep(state, input.client, output, [NEXT]);
      case 'fenced-write': {
        const holder = state.holders.find((h) => h.client === input.client);
        return fencedWriteStep(state, holder, input.token, output, (token) => withHolder(state, { ...(holder as SemaphoreHolder), token }));
      }
    }
  },
  partition: (history) => checkPermits(partitionByKey(history)),
  hash: (s) =>
    `${s.permits ?? '?'}|${s.holders.map((h) => `${JSON.stringify(h.client)}*${h.weight}@${h.token ?? '?'}`).join(',')}|${boundsKey(s.tokens)}`,
  equal: (a, b) =>
    a.permits === b.permits &&
    a.holders.length === b.holders.length &&
    a.holders.every((h, i) => {
      const o = b.holders[i] as SemaphoreHolder;
      return h.client === o.client && h.weight === o.weight && h.token === o.token;
    }) &&
    sameBounds(a.tokens, b.tokens),
  describe: (op) => formatOperation(op, describeInput(op.input, op.status === 'ok' ? op.output : undefined)),
  describeState: (s) => {
    const holders = s.holders.map(
      (h) => `${JSON.stringify(h.client)}×${h.weight} token ${h.token ?? `unseen (${describeRange(s.tokens, unseenVariable(h.client))})`}`,
    );
    const used = s.holders.reduce((sum, h) => sum + h.weight, 0);
    return `${used} of ${s.permits ?? '?'} permits held${holders.length === 0 ? '' : ` by ${holders.join(', ')}`}; next token >= ${lowest(s.tokens, NEXT)}`;
  },
};

function acquire(
  state: SemaphoreState,
  input: Extract<SemaphoreInput, { op: 'acquire' }>,
  output: SemaphoreOutput,
): Stepped<SemaphoreState> {
  const reject = { ok: false, state };
  if (output !== undefined && (typeof output !== 'object' || output === null)) return reject;
  if (state.permits !== null && state.permits !== input.permits) return reject; // malformed: partition reports it
  if (!validCount(input.permits)) return reject;
  const fixed = state.permits === null ? { ...state, permits: input.permits } : state;
  if (output !== undefined && !output.acquired) return { ok: true, state: fixed }; // FIFO: always possible
  const used = state.holders.reduce((sum, h) => sum + h.weight, 0);
  const fits = validCount(input.weight) && used + input.weight <= input.permits && !state.holders.some((h) => h.client === input.client);
  if (output === undefined) {
    if (!fits) return { ok: true, state: fixed };
    const name = unseenVariable(input.client);
    const tokens = must(grant(withVariable(state.tokens, name), { at: name, plus: 0 })); // a fresh variable always fits
    return { ok: true, state: withHolder({ ...fixed, tokens }, { client: input.client, weight: input.weight, token: null }) };
  }
  if (!fits || !Number.isSafeInteger(output.token)) return reject;
  const tokens = grant(state.tokens, knownToken(output.token));
  if (tokens === null) return reject;
  return { ok: true, state: withHolder({ ...fixed, tokens }, { client: input.client, weight: input.weight, token: output.token }) };
}

/** A grant with token `term`: it must be at least the floor, and then is the new floor. */
function grant(tokens: TokenBounds, term: TokenTerm): TokenBounds | null {
  const admitted = atLeast(tokens, term, { at: NEXT, plus: 0 });
  return admitted === null ? null : raiseFloorTo(admitted, NEXT, term, 0);
}

/** What the release, session-end and fenced-write rules need of a lock's state. */
export interface HoldingState {
  readonly holders: readonly { readonly client: string; readonly token: number | null }[];
  readonly tokens: TokenBounds;
}

/** A step's verdict with the state after it. */
export interface Stepped<S> {
  readonly ok: boolean;
  readonly state: S;
}

/**
 * `release(client, token)` answered `output`, on a state whose floors `floors` must exceed a
 * released grant's token. Rules as stated on {@link semaphoreModel}.
 */
export function releaseStep<S extends HoldingState>(
  state: S,
  client: string,
  token: number,
  output: unknown,
  floors: readonly string[],
): Stepped<S> {
  if (output !== undefined && output !== 'ok' && output !== 'NOT_HELD') return { ok: false, state };
  const holder = state.holders.find((h) => h.client === client);
  const exact = holder !== undefined && holder.token !== null && holder.token === token;
  if (output === 'NOT_HELD') return { ok: !exact, state };
  let matched: TokenBounds | null = null;
  if (holder !== undefined)
    matched = holder.token === null ? reveal(state.tokens, unseenVariable(client), token) : exact ? state.tokens : null;
  // Unknown and no possible match: it answered NOT_HELD, which changes nothing.
  if (matched === null) return { ok: output === undefined, state };
  return { ok: true, state: withoutHolder({ ...state, tokens: matched }, client, knownToken(token), floors) };
}

/** `end-session(client)` answered `output` (`'ok'` or unknown): frees the client's grant, if any. */
export function endSessionStep<S extends HoldingState>(state: S, client: string, output: unknown, floors: readonly string[]): Stepped<S> {
  if (output !== undefined && output !== 'ok') return { ok: false, state };
  const holder = state.holders.find((h) => h.client === client);
  if (holder === undefined) return { ok: true, state };
  const term = holder.token === null ? { at: unseenVariable(client), plus: 0 } : knownToken(holder.token);
  return { ok: true, state: withoutHolder(state, client, term, floors) };
}

/**
 * A fenced write by `holder` (undefined: the client holds nothing that may write). `revealed`
 * builds the state in which the holder's unseen token is known to be `token`.
 */
export function fencedWriteStep<S extends HoldingState>(
  state: S,
  holder: { readonly client: string; readonly token: number | null } | undefined,
  token: number,
  output: unknown,
  revealed: (token: number) => S,
): Stepped<S> {
  const exact = holder !== undefined && holder.token !== null && holder.token === token;
  if (output === 'FENCED') return { ok: !exact, state };
  // Unknown: applied or FENCED. The state is either unchanged or narrowed to a revealed token,
  // and the unchanged state admits every future the narrowed one does.
  if (output === undefined || (output === 'applied' && exact)) return { ok: true, state };
  if (output !== 'applied' || holder === undefined || holder.token !== null) return { ok: false, state };
  const tokens = reveal(state.tokens, unseenVariable(holder.client), token);
  return tokens === null ? { ok: false, state } : { ok: true, state: { ...revealed(token), tokens } };
}

/**
 * The state without `client`'s grant, whose token is `term`: a later grant comes from a later
 * log entry than this removal, so every floor in `floors` moves above the token.
 */
function withoutHolder<S extends HoldingState>(state: S, client: string, term: TokenTerm, floors: readonly string[]): S {
  let tokens = state.tokens;
  for (const f of floors) tokens = must(atLeast(tokens, { at: f, plus: 0 }, { at: term.at, plus: term.plus + 1 }));
  if (term.at !== ZERO) tokens = withoutVariable(tokens, term.at);
  return { ...state, holders: state.holders.filter((h) => h.client !== client), tokens };
}

/** `state` with `holder` added, or replacing the client's grant, keeping holders sorted by client. */
function withHolder(state: SemaphoreState, holder: SemaphoreHolder): SemaphoreState {
  const holders = [...state.holders.filter((h) => h.client !== holder.client), holder].sort((a, b) =>
    a.client < b.client ? -1 : a.client > b.client ? 1 : 0,
  );
  return { ...state, holders };
}

function validCount(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

/** Refuses a history whose acquires on one semaphore disagree on its permit count. */
function checkPermits(parts: Partition<SemaphoreInput, SemaphoreOutput>[]): Partition<SemaphoreInput, SemaphoreOutput>[] {
  for (const part of parts) {
    let permits: number | undefined;
    for (const op of part.operations) {
      if (op.input.op !== 'acquire') continue;
      const p = op.input.permits;
      if (!validCount(p)) throw new HistoryError(`operation ${String(op.id)}: permits ${p} is not a positive safe integer`);
      if (permits !== undefined && p !== permits)
        throw new HistoryError(`operation ${String(op.id)}: permits ${p} on ${JSON.stringify(part.key)}, earlier ${permits}`);
      permits = p;
    }
  }
  return parts;
}

function describeInput(input: SemaphoreInput, output: SemaphoreOutput): string {
  const who = JSON.stringify(input.client);
  switch (input.op) {
    case 'acquire': {
      const result =
        output === undefined || typeof output !== 'object' ? show(output) : output.acquired ? `token ${output.token}` : 'not acquired';
      return `acquire(${who}, ${input.weight} of ${input.permits}) -> ${result}`;
    }
    case 'release':
      return `release(${who}, ${input.token}) -> ${show(output)}`;
    case 'end-session':
      return `end-session(${who}) -> ${show(output)}`;
    case 'fenced-write':
      return `fenced-write(${who}, ${input.token}) -> ${show(output)}`;
  }
}
