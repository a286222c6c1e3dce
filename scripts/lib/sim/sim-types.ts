/** Types the simulator shares with the code under test, and its clock tick. */
export type { Entry, Message, NodeId, Status } from '../../../src/raft/index.js';
export type { LoadedState } from '../../../src/storage/durable-log.js';

/** Simulated milliseconds per Raft tick. */
export const TICK_MS = 10;
