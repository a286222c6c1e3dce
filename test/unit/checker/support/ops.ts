/**
 * Terse builders for hand-written histories: `h.ok('a', 0, 2, input, output)` is operation
 * "client a called at 0, returned at 2 with output". Ids are assigned in creation order.
 */
import type { ClientId, MutexInput, MutexOutput, Operation } from '../../../../src/checker/index.js';

export interface Builder<I, O> {
  ok(client: ClientId, call: number, ret: number, input: I, output: O, key?: string): Operation<I, O>;
  unknown(client: ClientId, call: number, input: I, key?: string): Operation<I, O>;
  fail(client: ClientId, call: number, ret: number, input: I, key?: string): Operation<I, O>;
}

export function builder<I, O>(): Builder<I, O> {
  let id = 0;
  const keyed = (key: string | undefined): { key?: string } => (key === undefined ? {} : { key });
  return {
    ok: (client, call, ret, input, output, key) => ({ id: id++, client, input, output, call, return: ret, status: 'ok', ...keyed(key) }),
    unknown: (client, call, input, key) => ({ id: id++, client, input, call, return: Infinity, status: 'unknown', ...keyed(key) }),
    fail: (client, call, ret, input, key) => ({ id: id++, client, input, call, return: ret, status: 'fail', ...keyed(key) }),
  };
}

/** Mutex inputs and outputs for the lock models' hand-written histories. */
export const mutexOps = {
  acquire: (client: string): MutexInput => ({ op: 'acquire', client }),
  release: (client: string, token: number): MutexInput => ({ op: 'release', client, token }),
  granted: (token: number): MutexOutput => ({ acquired: true, token }),
  refused: { acquired: false } as MutexOutput,
};
