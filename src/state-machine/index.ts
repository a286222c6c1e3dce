/**
 * The lock and counter state machine (docs/design.md#time-in-the-state-machine): see
 * lock-machine.ts for the rules of one apply step, codec.ts for the entry envelope the leader
 * writes.
 */
export { LockMachine, type LockMachineOptions, type LockMachineTestingKnobs, type SessionInfo } from './lock-machine.js';
export type { LockInfo, Limits } from '../protocol/index.js';
export { DEFAULT_LIMITS, MAX_COUNTER_MAGNITUDE, MAX_LOG_TIME, MAX_TTL_MS, MIN_TTL_MS, resolveLimits } from '../protocol/index.js';
export { encodeEntry, decodeEntry, nextStamp, ENVELOPE_VERSION, type DecodedEntry } from './codec.js';
export * from './commands.js';
export * from './errors.js';
export type * from './results.js';
