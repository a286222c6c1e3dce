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
 *
 * Semaphores and readers-writer locks (docs/design.md#semaphores-and-readers-writer-locks):
 * `client.semaphore(name, { permits })` and `client.rwLock(name)`, whose grants ({@link Permit},
 * {@link RwLockGrant}) behave as a {@link Lock} does (signal, state, release, `await using`).
 * Their contracts, stated on each class:
 * - queues are **strictly FIFO**: a heavy request (a large weight, a writer) is never starved
 *   by later light ones (small weights, readers);
 * - a semaphore grant takes `weight` permits (1 – `permits`, default 1);
 * - a semaphore's permit count is fixed by its first user while it is in use: another count is
 *   {@link InvalidArgumentError}, whose message names both counts;
 * - several grants of one resource may be held by one client at once (no local gate): each call
 *   gets its own grant;
 * - fencing tokens only grow per name, but **grants made in one log entry share a token**; a
 *   resource checks a readers-writer lock's tokens as {@link RwLockGrant} says, and a fenced
 *   counter write takes `grant.fence` (under a read grant, the cluster refuses it: `FENCED`).
 */
export { connect, RaftlockClient } from './client.js';
export type { BreakLockOptions, ConnectOptions, ListOptions, LockInfoOptions, LockOptions, SemaphoreOptions } from './client.js';
export type {
  BreakLockValue,
  CounterListEntry,
  ListPage,
  LockInfo,
  LockListEntry,
  PermitHolderInfo,
  RwLockInfo,
  RwMode,
  SemaphoreInfo,
} from '../protocol/index.js';
export type { CallOptions } from './cluster-client.js';
export type { ClientTls } from './connection.js';
export { Counter } from './counter.js';
export { parseEndpointList } from './endpoints.js';
export type { EndpointListOptions } from './endpoints.js';
export type { Fence, GetOptions, WriteOptions } from './counter.js';
export { Lock } from './lock.js';
export type { HeldGrant, HeldLocks, LockState } from './lock.js';
export { MultiLock } from './multi-lock.js';
export { Permit, RwLock, RwLockGrant, Semaphore } from './permit.js';
export type { HeldPermit, PermitOptions, TryPermitOptions } from './permit.js';
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
