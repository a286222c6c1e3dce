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
 *
 * Leader elections (docs/design.md#leader-elections): `client.election(name)` ({@link Election})
 * campaigns, shows and follows the leader; a won campaign is a {@link Leadership}, a held grant
 * like the others, with a fencing token strictly increasing per election, `proclaim()` and
 * `resign()`.
 *
 * Watches (docs/design.md#watches): `client.watch({ prefix, kinds, fromIndex })` ({@link Watch})
 * is an async iterator of the cluster's events, each with its log index, resumed across
 * reconnects and leader changes with no gap and no duplicate; {@link CompactedError} when it
 * would need events the cluster no longer keeps, {@link LimitExceededError} for a consumer that
 * falls behind (never an unbounded buffer). Built on it: `election.observe()`,
 * `counter.watch()` and `client.waitForUnlock(name)`.
 */
export { connect, RaftlockClient } from './client.js';
export type {
  BreakLockOptions,
  ConnectOptions,
  ListOptions,
  LockInfoOptions,
  LockOptions,
  SemaphoreOptions,
  WaitForUnlockOptions,
} from './client.js';
export type {
  BreakLockValue,
  CounterListEntry,
  ElectionInfoValue,
  ElectionLeaderInfo,
  ListPage,
  LockInfo,
  LockListEntry,
  PermitHolderInfo,
  RwLockInfo,
  RwMode,
  SemaphoreInfo,
  WatchEvent,
  WatchEventType,
  WatchKind,
} from '../protocol/index.js';
export { WATCH_EVENT_TYPES, WATCH_KINDS } from '../protocol/index.js';
export type { CallOptions } from './cluster-client.js';
export type { ClientTls } from './connection.js';
export { Counter } from './counter.js';
export { parseEndpointList } from './endpoints.js';
export type { EndpointListOptions } from './endpoints.js';
export type { CounterValue, CounterWatchOptions, Fence, GetOptions, WriteOptions } from './counter.js';
export { Election, Leadership } from './election.js';
export type { CampaignOptions, ElectionLeader, LeaderChange, ObserveOptions } from './election.js';
export { Lock } from './lock.js';
export type { HeldGrant, HeldLocks, LockState } from './lock.js';
export { MultiLock } from './multi-lock.js';
export { Permit, RwLock, RwLockGrant, Semaphore } from './permit.js';
export type { HeldPermit, PermitOptions, TryPermitOptions } from './permit.js';
export { Watch } from './watch.js';
export type { WatchOptions } from './watch.js';
export {
  AuthError,
  ClientClosedError,
  CompactedError,
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
