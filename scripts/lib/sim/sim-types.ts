/** Types the simulator shares with the code under test. */
export type { Entry, Message, NodeId, Status } from '../../../src/raft/index.js';
export type { LoadedState } from '../../../src/storage/durable-log.js';
