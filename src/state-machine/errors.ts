/**
 * Outcomes of the lock/counter state machine as values (DESIGN §2.1 "expected outcomes are
 * returned as typed values, never thrown", §3.3 error codes).
 *
 * Every command applied from the log produces a {@link Result}: the entry is committed on every
 * replica, so an outcome that depends only on the entry and the replicated state must be the
 * same value everywhere, including when it is a refusal.
 */

/**
 * Error codes the state machine can produce. The names are the SDK's stable codes of DESIGN
 * §3.3, plus `STALE_SEQUENCE`, which only a misbehaving client can meet (a write whose `seq` it
 * has already acknowledged, and whose result is therefore gone).
 */
export const STATE_MACHINE_ERROR_CODES = [
  'NOT_HELD',
  'SESSION_EXPIRED',
  'FENCED',
  'INVALID_ARGUMENT',
  'LIMIT_EXCEEDED',
  'OVERFLOW',
  'STALE_SEQUENCE',
] as const;

export type StateMachineErrorCode = (typeof STATE_MACHINE_ERROR_CODES)[number];

/** A refusal: nothing in the replicated state changed because of the command. */
export interface Failure {
  readonly ok: false;
  readonly code: StateMachineErrorCode;
  readonly message: string;
}

/** A success carrying the command's value. */
export interface Success<T> {
  readonly ok: true;
  readonly value: T;
}

export type Result<T> = Success<T> | Failure;

export function ok<T>(value: T): Success<T> {
  return { ok: true, value };
}

export function fail(code: StateMachineErrorCode, message: string): Failure {
  return { ok: false, code, message };
}
