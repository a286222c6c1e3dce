/**
 * The lock and counter service of one node, independent of any wire protocol: stamping and
 * proposing validated commands, parked waiters, reads, the leader's duties, and the watch
 * events of what the node applies.
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
export { deriveWatchEvents, watchProbe, type WatchProbe } from './watch-events.js';
export {
  WatchLog,
  eventBytes,
  DEFAULT_WATCH_HISTORY_BYTES,
  DEFAULT_WATCH_HISTORY_EVENTS,
  type WatchLogOptions,
  type WatchSelection,
  type WatchStart,
  type WatchSubscription,
} from './watch-log.js';
