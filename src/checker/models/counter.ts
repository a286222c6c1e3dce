/**
 * The raftlock distributed counter, one per key: a safe integer, 0 until first changed.
 */
import type { Operation } from '../history.js';
import { type Model, formatOperation, partitionByKey, show } from '../model.js';

/**
 * Counter operations and what each returns when it succeeds:
 * - `add(delta)` → the new value;
 * - `set(value)` → the previous value;
 * - `cas(expected, next)` → `true` and sets `next` iff the value is `expected`, else `false`;
 * - `get()` → the value;
 * - `delete()` → nothing (output ignored); the value goes back to 0.
 */
export type CounterInput =
  | { readonly op: 'add'; readonly delta: number }
  | { readonly op: 'set'; readonly value: number }
  | { readonly op: 'cas'; readonly expected: number; readonly next: number }
  | { readonly op: 'get' }
  | { readonly op: 'delete' };

/** A number for `add`/`set`/`get`, a boolean for `cas`, ignored for `delete`. */
export type CounterOutput = number | boolean | undefined;

/** A counter operation in a history. */
export type CounterOperation = Operation<CounterInput, CounterOutput>;

/**
 * The counter model. Contract: per-key partitions (`op.key`); state is the value. An operation
 * whose result would not be a safe integer (or whose argument is not one) cannot have succeeded
 * (a correct service refuses it: record it as `'fail'`), so `step` rejects it even with an
 * unknown output. A known output is accepted iff it is exactly what the operation returns.
 */
export const counterModel: Model<number, CounterInput, CounterOutput> = {
  name: 'counter',
  init: () => 0,
  step(state, input, output) {
    const expect = (result: number | boolean, next: number): { ok: boolean; state: number } =>
      output === undefined || output === result ? { ok: true, state: next } : { ok: false, state };
    switch (input.op) {
      case 'add': {
        const next = state + input.delta;
        if (!Number.isSafeInteger(input.delta) || !Number.isSafeInteger(next)) return { ok: false, state };
        return expect(next, next);
      }
      case 'set':
        if (!Number.isSafeInteger(input.value)) return { ok: false, state };
        return expect(state, input.value);
      case 'cas': {
        if (!Number.isSafeInteger(input.expected) || !Number.isSafeInteger(input.next)) return { ok: false, state };
        const swapped = state === input.expected;
        return expect(swapped, swapped ? input.next : state);
      }
      case 'get':
        return expect(state, state);
      case 'delete':
        return { ok: true, state: 0 };
    }
  },
  partition: partitionByKey,
  hash: (state) => String(state),
  equal: (a, b) => a === b,
  describe: (op) => formatOperation(op, describeInput(op.input, op.status === 'ok' ? op.output : undefined)),
  describeState: (state) => String(state),
};

function describeInput(input: CounterInput, output: CounterOutput): string {
  switch (input.op) {
    case 'add':
      return `add(${input.delta}) -> ${show(output)}`;
    case 'set':
      return `set(${input.value}) -> ${show(output)}`;
    case 'cas':
      return `cas(${input.expected}, ${input.next}) -> ${show(output)}`;
    case 'get':
      return `get() -> ${show(output)}`;
    case 'delete':
      return 'delete()';
  }
}
