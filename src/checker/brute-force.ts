/**
 * A deliberately naive reference for the WGL search, and a witness verifier. Both follow the
 * definition of linearizability literally, share no code with the search, and are exponential:
 * they exist to cross-check `check` on small histories (and a witness on any history).
 */
import { type Operation, type OperationId, effectiveReturn, validateOperations } from './history.js';
import { DEFAULT_KEY, type Model } from './model.js';

/** Options of {@link bruteForceCheck}. */
export interface BruteForceOptions {
  /**
   * `true` (default): check each of `model.partition`'s pieces alone, like `check` does.
   * `false`: check the whole history at once, with one model state per `op.key` (this assumes
   * the model partitions by key). Agreement of `check` with this mode also tests the partition.
   */
  readonly partition?: boolean;
  /** Refuse pieces with more operations (after dropping `'fail'` ones) than this. Default 8. */
  readonly maxOperations?: number;
}

/** The reference verdict: there is no budget, so never inconclusive. */
export interface BruteForceResult {
  readonly result: 'ok' | 'illegal';
  /** When `'ok'`: one witness order per checked piece (`key` is `'*'` when not partitioned). */
  readonly witnesses?: readonly { readonly key: string; readonly order: readonly OperationId[] }[];
}

/**
 * Decides linearizability by enumeration: for every subset of the `'unknown'` operations, every
 * order of the `'ok'` operations plus that subset that respects real time (`a` before `b`
 * whenever `a.return < b.call`; unknown operations return at +Infinity) is replayed through the
 * model; the history is linearizable iff some replay is accepted. `'fail'` operations are
 * dropped. Throws `HistoryError` on a malformed history and `RangeError` when a piece exceeds
 * `maxOperations`.
 */
export function bruteForceCheck<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: BruteForceOptions = {},
): BruteForceResult {
  validateOperations(history);
  const max = options.maxOperations ?? 8;
  const kept = history.filter((op) => op.status !== 'fail');
  const pieces = options.partition === false ? [{ key: '*', operations: kept }] : model.partition(kept);
  const witnesses: { key: string; order: OperationId[] }[] = [];
  for (const piece of pieces) {
    if (piece.operations.length > max)
      throw new RangeError(`brute force: ${piece.operations.length} operations in ${JSON.stringify(piece.key)}, limit ${max}`);
    const order = searchPiece(model, piece.operations);
    if (order === null) return { result: 'illegal' };
    witnesses.push({ key: piece.key, order: order.map((op) => op.id) });
  }
  return { result: 'ok', witnesses };
}

/** One state per key, so a whole multi-key history can be replayed at once. */
type KeyedStates<State> = ReadonlyMap<string, State>;

function stepKeyed<State, Input, Output>(
  model: Model<State, Input, Output>,
  states: KeyedStates<State>,
  op: Operation<Input, Output>,
): KeyedStates<State> | null {
  const key = op.key ?? DEFAULT_KEY;
  const before = states.has(key) ? (states.get(key) as State) : model.init();
  const r = model.step(before, op.input, op.status === 'unknown' ? undefined : op.output);
  if (!r.ok) return null;
  const after = new Map(states);
  after.set(key, r.state);
  return after;
}

function searchPiece<State, Input, Output>(
  model: Model<State, Input, Output>,
  ops: readonly Operation<Input, Output>[],
): Operation<Input, Output>[] | null {
  const known = ops.filter((op) => op.status === 'ok');
  const unknown = ops.filter((op) => op.status === 'unknown');
  for (let subset = 0; subset < 2 ** unknown.length; subset++) {
    const included = [...known, ...unknown.filter((_, k) => (subset & (1 << k)) !== 0)];
    const order = permute(model, included, [], new Map());
    if (order !== null) return order;
  }
  return null;
}

/** Depth-first over orders of `left`; an operation may go next iff nothing left must precede it. */
function permute<State, Input, Output>(
  model: Model<State, Input, Output>,
  left: readonly Operation<Input, Output>[],
  done: readonly Operation<Input, Output>[],
  states: KeyedStates<State>,
): Operation<Input, Output>[] | null {
  if (left.length === 0) return [...done];
  for (const op of left) {
    if (left.some((other) => other !== op && effectiveReturn(other) < op.call)) continue;
    const after = stepKeyed(model, states, op);
    if (after === null) continue;
    const found = permute(
      model,
      left.filter((o) => o !== op),
      [...done, op],
      after,
    );
    if (found !== null) return found;
  }
  return null;
}

/**
 * Checks a claimed linearization of `history` (for instance a `check` witness), independently
 * of the search. Returns `null` if `order` (operation ids) is one, else why not.
 *
 * Contract: `order` must list every `'ok'` operation, any subset of the `'unknown'` ones and no
 * `'fail'` one, each once; must respect real time among the listed operations; and replayed
 * through the model (one state per `op.key`) every step must be accepted.
 */
export function verifyLinearization<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  order: readonly OperationId[],
): string | null {
  const byId = new Map(history.map((op) => [op.id, op]));
  const listed = new Set<OperationId>();
  const ops: Operation<Input, Output>[] = [];
  for (const id of order) {
    const op = byId.get(id);
    if (op === undefined) return `unknown operation id ${String(id)}`;
    if (listed.has(id)) return `operation ${String(id)} listed twice`;
    if (op.status === 'fail') return `failed operation ${String(id)} listed`;
    listed.add(id);
    ops.push(op);
  }
  for (const op of history) if (op.status === 'ok' && !listed.has(op.id)) return `ok operation ${String(op.id)} missing`;
  for (let a = 0; a < ops.length; a++) {
    for (let b = a + 1; b < ops.length; b++) {
      const early = ops[a] as Operation<Input, Output>;
      const late = ops[b] as Operation<Input, Output>;
      if (effectiveReturn(late) < early.call)
        return `operation ${String(late.id)} returned before ${String(early.id)} was called but is ordered after it`;
    }
  }
  let states: KeyedStates<State> = new Map();
  for (const op of ops) {
    const after = stepKeyed(model, states, op);
    if (after === null) return `model rejects ${model.describe(op)}`;
    states = after;
  }
  return null;
}
