/**
 * Watches (docs/design.md#watches): the events a client can follow, as they travel on
 * `ws://<address>/client`. Every event is derived from one committed log entry and carries
 * its index, so every replica derives the same events in the same order, and a client that
 * resumes from the index after the last one it saw misses nothing and sees nothing twice,
 * whichever node serves it.
 *
 * Frames (beside requests and responses, client-protocol.ts):
 * - `{ id, op: 'watch', prefix?, kinds?, fromIndex? }` starts a watch; the response's value is
 *   {@link WatchStarted}. Without `fromIndex` the watch starts after what the node has
 *   applied; an index older than what the node keeps is refused with `COMPACTED`, whose
 *   `resyncFrom` is the oldest index it can start from (read the state again, then watch from
 *   there).
 * - The node then pushes {@link WatchEventsFrame}s: each holds every event of each index it
 *   holds (an index is never split between frames), in index order, and `through`: the watch
 *   has been sent every event it selects up to that index, so a resume from `through + 1`
 *   misses nothing. A watch that selects nothing for {@link WATCH_PROGRESS_INDICES} indices is
 *   sent a frame with no events (progress), so that a quiet watch's resume point keeps up with
 *   the log and does not fall out of what the nodes keep (a false `COMPACTED`).
 * - `{ id, op: 'unwatch', watch }` ends a watch (its value: null); the node ends one itself
 *   with a {@link WatchEndFrame}: `LIMIT_EXCEEDED` when the client reads too slowly (events it
 *   has not taken exceed {@link MAX_WATCH_BACKLOG_BYTES}, never buffered without a bound),
 *   `COMPACTED` when the node lost events the watch still needed (it restored a snapshot, or
 *   they left its history before the watch caught up), `UNAVAILABLE` when the node shuts down.
 *   A watch also ends with its connection.
 * - After an end, `resyncFrom` says where to go on: with `LIMIT_EXCEEDED` and `UNAVAILABLE`
 *   nothing was lost, so watch again from `resyncFrom` (the index after the last one
 *   delivered), on this node or another; with `COMPACTED` the events before `resyncFrom` are
 *   gone here: read the state again, then watch from `resyncFrom`.
 */
import { FieldError, checkName, intField } from './fields.js';
import { describe, packValue } from './msgpack.js';

/** What a watch can select, by the primitive an event is about. */
export const WATCH_KINDS = ['lock', 'semaphore', 'rwlock', 'election', 'counter', 'session'] as const;

/** A kind of {@link WATCH_KINDS}. */
export type WatchKind = (typeof WATCH_KINDS)[number];

/**
 * The events, by `type`:
 * - `granted`: `session` now holds `name` (a lock, a semaphore's permits or a readers-writer
 *   lock's grant) with `token`; `seq` is the acquire's, `weight` a semaphore grant's,
 *   `mode` a readers-writer grant's (those of a hand-off to a waiter when the node can tell
 *   them from the state after it).
 * - `released`: `session` gave `name` back (release, or its session closed).
 * - `expired`: `session`'s grant of `name` ended because the session expired.
 * - `broken`: an operator revoked `session`'s grant of `name` (`reason`, if given).
 * - `waiter-joined` / `waiter-left`: an acquire `(session, seq)` queued for `name` / left the
 *   queue without a grant (`reason`: `timeout` or `cancelled`). A session that ends takes its
 *   waits with it: its `session-closed` / `session-expired` says so, without one event per wait.
 *   A retried acquire that still waits (the same session and seq, resent after a failover)
 *   reports `waiter-joined` again: key waits by `(session, seq)`. An election's candidates
 *   have these events too (`value`: the one they campaign with).
 * - `counter-changed`: counter `name` is now `value` (0 when deleted).
 * - `session-opened` / `session-closed` / `session-expired`: of `session`.
 * - `leader-changed`: election `name` is now led by `session` with `token` and `value`, or has
 *   no leader (no `session`). A new value proclaimed by the same leader is a change too. At
 *   most one per election per index (elections have no `granted` / `released` of their own).
 * An index's events come in the order the entry made them; an entry that releases a lock and
 * hands it on has the `released` before the `granted`.
 */
export const WATCH_EVENT_TYPES = [
  'granted',
  'released',
  'expired',
  'broken',
  'waiter-joined',
  'waiter-left',
  'counter-changed',
  'session-opened',
  'session-closed',
  'session-expired',
  'leader-changed',
] as const;

/** A type of {@link WATCH_EVENT_TYPES}. */
export type WatchEventType = (typeof WATCH_EVENT_TYPES)[number];

/** One event; which fields are present depends on `type` ({@link WATCH_EVENT_TYPES}). */
export interface WatchEvent {
  /** Index of the log entry it comes from. */
  readonly index: number;
  readonly type: WatchEventType;
  readonly kind: WatchKind;
  /** The lock, semaphore, readers-writer lock, election or counter; absent for sessions. */
  readonly name?: string;
  readonly session?: number;
  /** The grant's fencing token (grants, releases, leaders). */
  readonly token?: number;
  /** The acquire's seq (grants and waits). */
  readonly seq?: number;
  readonly weight?: number;
  readonly mode?: 'read' | 'write';
  /** A counter's new value, or an election leader's value. */
  readonly value?: number | string;
  readonly reason?: string;
}

/** The value answering `watch`. */
export interface WatchStarted {
  /** Names the watch in its frames and in `unwatch` (unique on the connection). */
  readonly watch: number;
  /** The first index whose events it delivers. */
  readonly fromIndex: number;
}

/** Events of one watch, every event of each index it covers, in order. */
export interface WatchEventsFrame {
  readonly watch: number;
  /** Empty only in a progress frame. */
  readonly events: readonly WatchEvent[];
  /** Every event the watch selects up to this index has been sent (≥ the last event's index). */
  readonly through: number;
}

/** Indices a watch may go without a frame before it is sent one with no events (progress). */
export const WATCH_PROGRESS_INDICES = 1_000;

/** The node ended a watch. */
export interface WatchEndFrame {
  readonly watch: number;
  readonly end: { readonly code: 'COMPACTED' | 'LIMIT_EXCEEDED' | 'UNAVAILABLE'; readonly message: string; readonly resyncFrom?: number };
}

/** Most watches one connection may hold at once (each costs the node a subscription). */
export const MAX_WATCHES_PER_CONNECTION = 16;

/**
 * Bytes of events a watch may have sent but the client not yet taken off the socket before the
 * node ends it with `LIMIT_EXCEEDED` (a consumer that cannot keep up must resync, not grow the
 * node's memory).
 */
export const MAX_WATCH_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * Whether the event matches a watch's selection: its kind is selected, and its name starts
 * with `prefix` (nameless events match only an empty prefix).
 */
export function watchSelects(ev: WatchEvent, prefix: string, kinds: ReadonlySet<WatchKind> | undefined): boolean {
  if (kinds !== undefined && !kinds.has(ev.kind)) return false;
  if (prefix === '') return true;
  return ev.name !== undefined && ev.name.startsWith(prefix);
}

/** The arguments of a `watch` request. */
export interface WatchArgs {
  /** Names starting with it (empty or absent: every event, nameless session events included). */
  readonly prefix?: string;
  /** Only these kinds (absent: all); at least one, none twice. */
  readonly kinds?: readonly WatchKind[];
  /** The first index to deliver (absent: after what the node has applied); at least 1. */
  readonly fromIndex?: number;
}

const KINDS: ReadonlySet<string> = new Set(WATCH_KINDS);

/**
 * Checks the fields of a `watch` request (its shape is the caller's to check); throws a
 * {@link FieldError} naming the offending field.
 */
export function parseWatchArgs(rec: Readonly<Record<string, unknown>>, maxNameBytes: number): WatchArgs {
  const args: { prefix?: string; kinds?: WatchKind[]; fromIndex?: number } = {};
  // A prefix is any name's beginning, so the empty one too (the same as none), as for listings.
  if (rec['prefix'] !== undefined && rec['prefix'] !== '') args.prefix = checkName(rec['prefix'], 'prefix', maxNameBytes);
  if (rec['kinds'] !== undefined) args.kinds = parseKinds(rec['kinds']);
  if (rec['fromIndex'] !== undefined) args.fromIndex = intField(rec, 'fromIndex', 1, Number.MAX_SAFE_INTEGER);
  return args;
}

function parseKinds(v: unknown): WatchKind[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > WATCH_KINDS.length) {
    throw new FieldError('kinds', `kinds must be an array of 1 to ${WATCH_KINDS.length} of ${WATCH_KINDS.join(', ')}, got ${describe(v)}`);
  }
  const seen = new Set<string>();
  return (v as unknown[]).map((k, i) => {
    if (typeof k !== 'string' || !KINDS.has(k))
      throw new FieldError(`kinds[${i}]`, `kinds[${i}] must be one of ${WATCH_KINDS.join(', ')}, got ${describe(k)}`);
    if (seen.has(k)) throw new FieldError(`kinds[${i}]`, `kinds[${i}]: ${k} is listed twice`);
    seen.add(k);
    return k as WatchKind;
  });
}

/**
 * One pushed frame of a watch for the wire. Its fields and its events' must be absent rather
 * than `undefined` (as the node derives them). Like {@link packValue}'s, the bytes are valid
 * until the next encoding: send them at once.
 */
export function encodeWatchFrame(frame: WatchEventsFrame | WatchEndFrame): Buffer {
  return packValue(frame);
}
