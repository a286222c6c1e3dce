/**
 * The raftlock client SDK: `import { connect } from 'raftlock'`.
 *
 * ```ts
 * const client = await connect({ endpoints: ['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103'] });
 * {
 *   await using lock = await client.lock('orders', { waitMs: 5_000 });
 *   await client.counter('orders-done').increment({ fence: { lock: 'orders', token: lock.fencingToken } });
 * }
 * await client.close();
 * ```
 */
export { connect, RaftlockClient } from './client.js';
export type { BreakLockOptions, ConnectOptions, ListOptions, LockInfoOptions, LockOptions } from './client.js';
export type { BreakLockValue, CounterListEntry, ListPage, LockInfo, LockListEntry } from '../protocol/index.js';
export type { CallOptions } from './cluster-client.js';
export type { ClientTls } from './connection.js';
export { Counter } from './counter.js';
export { parseEndpointList } from './endpoints.js';
export type { EndpointListOptions } from './endpoints.js';
export type { Fence, GetOptions, WriteOptions } from './counter.js';
export { Lock } from './lock.js';
export type { HeldLocks, LockState } from './lock.js';
export { MultiLock } from './multi-lock.js';
export {
  AuthError,
  ClientClosedError,
  FencedError,
  InvalidArgumentError,
  LimitExceededError,
  LockLostError,
  LockTimeoutError,
  NotHeldError,
  OverflowError,
  RAFTLOCK_ERROR_CODES,
  RaftlockError,
  SessionExpiredError,
  UnavailableError,
} from './errors.js';
export type { RaftlockErrorCode } from './errors.js';
