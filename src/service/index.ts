/**
 * The lock and counter service of one node, independent of any wire protocol: stamping and
 * proposing validated commands, parked waiters, reads, and the leader's duties.
 */
export {
  LockService,
  ServiceStats,
  type LockServiceOptions,
  type ServiceOutcome,
  type ServiceQuery,
  type ServiceTimings,
  type WaitOutcome,
  WAIT_OUTCOMES,
} from './lock-service.js';
