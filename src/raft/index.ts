/**
 * The pure Raft consensus core. No I/O, no timers, no clock, no randomness of its own
 * (docs/design.md#the-pure-core); everything advances through {@link RawNode}.
 */
export { RawNode, type CreateResult, type PeerStatus, type Status } from './raw-node.js';
export type { Ready } from './ready.js';
export type { ProposeConfChangeResult, ProposeResult, ReadIndexResult, RefusalReason, StepResult, TransferResult } from './raft.js';
export {
  LEARNER_CATCH_UP_SLACK,
  MAX_CONF_CONTEXT_BYTES,
  MAX_MEMBERS,
  applyConfChange,
  confProblem,
  decodeConfigEntry,
  encodeConfigEntry,
  memberContext,
  type ConfChange,
  type ConfChangeRefusal,
  type ConfigEntryData,
} from './membership.js';
export { MAX_PENDING_READS } from './raft.js';
export { validateRaftConfig, type RaftConfig, type ResolvedRaftConfig, type ConfigError, type UnsafeTestingKnobs } from './config.js';
export { silentLogger, type Logger } from './logger.js';
export { MemoryStorage } from './memory-storage.js';
export { COMPACTED, UNAVAILABLE, type Storage } from './storage.js';
export { SeededRandom, type RandomSource } from './rng.js';
export { committedIndex, voteResult, majority, type VoteResult } from './quorum.js';
export * from './types.js';
export type { StateMachine, ApplyContext } from './state-machine.js';
