/**
 * The one list of error codes. Every refusal a client can meet carries one of
 * {@link ERROR_CODES}; the state machine's codes and the SDK's stable codes are subsets of it,
 * declared here so that no layer can invent a code the others do not know.
 */

/**
 * The stable codes the SDK raises as typed errors (`RaftlockError.code`): every code of the
 * protocol but the two the SDK handles itself (`NOT_LEADER` by following the leader,
 * `STALE_SEQUENCE` by never reusing a seq). `LOCK_TIMEOUT` and `LOCK_LOST` come from the SDK's
 * own clock.
 */
export const SDK_ERROR_CODES = [
  'LOCK_TIMEOUT',
  'NOT_HELD',
  'SESSION_EXPIRED',
  'LOCK_LOST',
  'FENCED',
  'UNAVAILABLE',
  'INVALID_ARGUMENT',
  'LIMIT_EXCEEDED',
  'OVERFLOW',
  'AUTH',
  // A watch asked for events older than the node keeps: resync from `resyncFrom`.
  'COMPACTED',
] as const;

/** A code of {@link SDK_ERROR_CODES}. */
export type SdkErrorCode = (typeof SDK_ERROR_CODES)[number];

/** Every error code of the client wire protocol. */
export const ERROR_CODES = [
  ...SDK_ERROR_CODES,
  // Routing: this node does not lead; the error names the leader when it knows one.
  'NOT_LEADER',
  // Only a misbehaving client meets it: a write whose seq it had acknowledged already.
  'STALE_SEQUENCE',
] as const;

/** A code of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Codes a command applied from the log can end with. The outcome of an entry is part of the
 * replicated state, so these are the refusals every replica reaches alike.
 */
export const MACHINE_ERROR_CODES = [
  'NOT_HELD',
  'SESSION_EXPIRED',
  'FENCED',
  'INVALID_ARGUMENT',
  'LIMIT_EXCEEDED',
  'OVERFLOW',
  'STALE_SEQUENCE',
] as const satisfies readonly ErrorCode[];

/** A code of {@link MACHINE_ERROR_CODES}. */
export type MachineErrorCode = (typeof MACHINE_ERROR_CODES)[number];

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** Whether `v` is one of {@link ERROR_CODES}. */
export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && CODES.has(v);
}
