/**
 * The sequential specification the checker tests histories against.
 */
import type { Operation } from './history.js';

/** Result of applying one operation to a state. */
export interface StepResult<State> {
  /** False iff the operation, with that output, is impossible in that state. */
  readonly ok: boolean;
  /** The state after the operation; meaningful only when `ok`. */
  readonly state: State;
}

/** An independent piece of a history, checked on its own. */
export interface Partition<Input, Output> {
  /** Names the piece in reports (for per-key models: the key). */
  readonly key: string;
  readonly operations: readonly Operation<Input, Output>[];
}

/**
 * A sequential specification of an object.
 *
 * Contract (the checker's verdicts are only as good as these):
 * - `init()` returns the state before any operation.
 * - `step(state, input, output)` is pure and deterministic and never mutates `state` (the
 *   search keeps old states to backtrack to). It returns `ok: false` iff an operation with that
 *   input cannot produce that output in that state (or cannot happen at all, e.g. an overflow).
 *   `output === undefined` means "unknown": `step` must then accept whatever output the operation
 *   would produce and return the state it would leave. For an operation that may either change
 *   the state or not, pick the changing branch: the search already covers "did not take effect"
 *   by leaving an unknown operation out, and a no-op at any point equals leaving it out.
 * - `partition(history)` splits a history into pieces whose operations never interact, such that
 *   the history is linearizable iff every piece is (true for per-key objects: linearizability is
 *   local). Every operation must land in exactly one piece.
 * - `hash(a) === hash(b)` whenever `equal(a, b)`; `equal` is an equivalence. Together they key the
 *   search's memo cache, so a too-coarse `equal` makes the checker wrong, a too-fine one slow.
 * - `describe(op)` and `describeState(state)` are one-line human-readable texts for reports.
 */
export interface Model<State, Input, Output> {
  readonly name: string;
  init(): State;
  step(state: State, input: Input, output: Output | undefined): StepResult<State>;
  partition(history: readonly Operation<Input, Output>[]): readonly Partition<Input, Output>[];
  hash(state: State): string;
  equal(a: State, b: State): boolean;
  describe(op: Operation<Input, Output>): string;
  describeState(state: State): string;
}

/** The key the per-key partition uses for an operation without one. */
export const DEFAULT_KEY = '';

/**
 * Splits a history by `op.key` (missing key: {@link DEFAULT_KEY}), keeping the order of
 * operations within each piece and ordering pieces by first appearance (deterministic reports).
 */
export function partitionByKey<Input, Output>(history: readonly Operation<Input, Output>[]): Partition<Input, Output>[] {
  const groups = new Map<string, Operation<Input, Output>[]>();
  for (const op of history) {
    const key = op.key ?? DEFAULT_KEY;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [op]);
    else group.push(op);
  }
  return [...groups].map(([key, operations]) => ({ key, operations }));
}

/** The trivial partition: the whole history as one piece named {@link DEFAULT_KEY}. */
export function singlePartition<Input, Output>(history: readonly Operation<Input, Output>[]): Partition<Input, Output>[] {
  return [{ key: DEFAULT_KEY, operations: history }];
}

/**
 * Formats an operation for reports as `[call..return] client key: what`, with `..?` for an
 * unknown outcome and `FAIL` for a failed one. `what` is the model's text for input and output.
 */
export function formatOperation(op: Operation<unknown, unknown>, what: string): string {
  const end = op.status === 'unknown' ? '?' : String(op.return);
  const key = op.key === undefined ? '' : ` ${op.key}`;
  const tail = op.status === 'fail' ? ' FAIL' : '';
  return `#${String(op.id)} [${op.call}..${end}] client ${String(op.client)}${key}: ${what}${tail}`;
}

/** Formats a primitive or small object for reports (JSON, `undefined` as `?`). */
export function show(value: unknown): string {
  return value === undefined ? '?' : JSON.stringify(value);
}
