/** Linearizability of the simulator's register history, per key, within a budget of search steps (never of milliseconds). */
/**
 * Checks the simulator's register history for linearizability, per key, with the project's
 * WGL checker. The time budget counts search steps, not milliseconds, so a verdict never
 * depends on machine speed; an inconclusive check is a failure like an illegal one.
 */
import { check, registerModel, type RegisterOperation } from '../../../src/checker/index.js';
import type { RegisterOp } from './clients.js';

/** Search steps allowed per seed (generous: typical histories need a few thousand). */
const STEP_BUDGET = 20_000_000;
const CHECK_EVERY = 1024;

export function toOperations(history: readonly RegisterOp[]): RegisterOperation[] {
  return history.map((op, id) => {
    // A request still pending at the end: a write may yet take effect; a read has no effect.
    const status = op.status === 'pending' ? (op.kind === 'write' ? 'unknown' : 'fail') : op.status;
    return {
      id,
      client: op.client,
      key: op.key,
      input: op.kind === 'write' ? { op: 'write', value: op.value } : { op: 'read' },
      output: op.kind === 'read' && status === 'ok' ? op.value : undefined,
      call: op.call,
      return: status === 'unknown' ? Number.POSITIVE_INFINITY : Number.isFinite(op.ret) ? op.ret : op.call,
      status,
    };
  });
}

export function checkRegisterHistory(history: readonly RegisterOp[]): string[] {
  let steps = 0;
  const verdict = check(registerModel, toOperations(history), {
    clock: () => steps++ * CHECK_EVERY,
    checkEvery: CHECK_EVERY,
    timeoutMs: STEP_BUDGET,
  });
  if (verdict.result === 'ok') return [];
  if (verdict.result === 'inconclusive') return [`linearizability check inconclusive (over ${STEP_BUDGET} steps): counts as a failure`];
  return [`register history not linearizable:\n${verdict.anomaly?.explanation ?? '(no explanation)'}`];
}
