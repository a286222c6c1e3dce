/**
 * A read/write/compare-and-set register, one per key.
 */
import type { Operation } from '../history.js';
import { type Model, formatOperation, partitionByKey, show } from '../model.js';

/** What a register holds. Primitives only, compared with `===` (so hashing is exact). */
export type RegisterValue = string | number | boolean | null;

/**
 * Register operations:
 * - `read` returns the current value;
 * - `write` sets the value; its output is ignored (the client learns nothing but "done");
 * - `cas` sets `next` iff the current value `=== expected`, and returns whether it did.
 */
export type RegisterInput =
  | { readonly op: 'read' }
  | { readonly op: 'write'; readonly value: RegisterValue }
  | { readonly op: 'cas'; readonly expected: RegisterValue; readonly next: RegisterValue };

/** `read` → the value; `cas` → a boolean; `write` → anything (ignored). */
export type RegisterOutput = RegisterValue | undefined;

/** A register operation in a history. */
export type RegisterOperation = Operation<RegisterInput, RegisterOutput>;

/** Options of {@link createRegisterModel}. */
export interface RegisterModelOptions {
  /** The value of a never-written register (default `null`). */
  readonly initial?: RegisterValue;
}

/**
 * Builds the register model. Contract: per-key partitions (`op.key`), state is the register's
 * value; a `read` or `cas` with a known output is accepted iff the output is what the operation
 * returns in that state; with an unknown output (`undefined`) every operation is accepted and
 * its effect (if any) applied.
 */
export function createRegisterModel(options: RegisterModelOptions = {}): Model<RegisterValue, RegisterInput, RegisterOutput> {
  const initial = options.initial ?? null;
  return {
    name: 'register',
    init: () => initial,
    step(state, input, output) {
      switch (input.op) {
        case 'read':
          return { ok: output === undefined || output === state, state };
        case 'write':
          return { ok: true, state: input.value };
        case 'cas': {
          const swapped = state === input.expected;
          if (output !== undefined && output !== swapped) return { ok: false, state };
          return { ok: true, state: swapped ? input.next : state };
        }
      }
    },
    partition: partitionByKey,
    // typeof prefix: 1 and "1" are different values and must not share a memo entry.
    hash: (state) => `${typeof state}:${String(state)}`,
    equal: (a, b) => a === b,
    describe: (op) => formatOperation(op, describeInput(op.input, op.status === 'ok' ? op.output : undefined)),
    describeState: (state) => show(state),
  };
}

function describeInput(input: RegisterInput, output: RegisterOutput): string {
  switch (input.op) {
    case 'read':
      return `read() -> ${show(output)}`;
    case 'write':
      return `write(${show(input.value)})`;
    case 'cas':
      return `cas(${show(input.expected)}, ${show(input.next)}) -> ${show(output)}`;
  }
}

/** The register model with initial value `null`. */
export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = createRegisterModel();
