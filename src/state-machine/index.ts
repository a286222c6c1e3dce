/**
 * The lock and counter state machine (DESIGN §2.4–§2.7): see lock-machine.ts for the rules of
 * one apply step, codec.ts for the entry envelope the leader writes.
 */
export { LockMachine, type LockMachineOptions, type LockMachineTestingKnobs, type LockInfo, type SessionInfo } from './lock-machine.js';
export { encodeEntry, decodeEntry, nextStamp, ENVELOPE_VERSION, type DecodedEntry } from './codec.js';
export * from './commands.js';
export * from './errors.js';
export * from './limits.js';
export type * from './results.js';
