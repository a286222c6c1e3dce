/**
 * Outcomes of the lock/counter state machine as values: expected outcomes are returned, never
 * thrown (docs/design.md#promises).
 *
 * Every command applied from the log produces a {@link Result}: the entry is committed on every
 * replica, so an outcome that depends only on the entry and the replicated state must be the
 * same value everywhere, including when it is a refusal.
 */
import type { MachineErrorCode } from '../protocol/index.js';

export { MACHINE_ERROR_CODES, type MachineErrorCode } from '../protocol/index.js';

/** A refusal: nothing in the replicated state changed because of the command. */
export interface Failure {
  readonly ok: false;
  readonly code: MachineErrorCode;
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

export function fail(code: MachineErrorCode, message: string): Failure {
  return { ok: false, code, message };
}
