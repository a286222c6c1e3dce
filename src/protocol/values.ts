/**
 * What each op answers: one value type per op ({@link OpValues}) and {@link parseValue}, the
 * check a client runs on every answer before using it. A node is trusted to be a raftlock
 * node, not to be free of bugs or version skew, so the SDK never casts what arrives.
 */
import { MAX_ELECTION_VALUE_LENGTH, isSessionSecret, type PermitKind } from './commands.js';
import { DecodeError, describe, isPlainMap } from './msgpack.js';
import type { WatchStarted } from './watch.js';

/** `open-session`: the new session. */
export interface OpenSessionValue {
  /** The session's id: the index of the entry that opened it (unique for all time). */
  readonly sessionId: number;
  readonly ttlMs: number;
  /** Log time at which the session expires unless renewed. */
  readonly expiresAt: number;
  /** The session's secret: proves the session on another connection (`bind`). Keep it private. */
  readonly secret: string;
}

/** `bind`: the proven session and its deadline (log time). */
export interface BindValue {
  readonly sessionId: number;
  readonly expiresAt: number;
}

/** A grant of a session's that an operator revoked (`break-lock`): the lock, its token, why. */
export interface Revocation {
  readonly name: string;
  readonly token: number;
  readonly reason?: string;
}

/**
 * `keep-alive`: the session's new deadline (log time), and its latest revoked grants (at most
 * {@link MAX_REVOCATIONS_KEPT}, oldest first; absent when none), so a holder learns that its
 * lock was broken even though its session lives on.
 */
export interface KeepAliveValue {
  readonly expiresAt: number;
  readonly revoked?: readonly Revocation[];
}

/** Most revoked grants a session remembers (and a keep-alive lists). */
export const MAX_REVOCATIONS_KEPT = 8;

/** `break-lock`: the grant that was revoked (its holder session and token). */
export interface BreakLockValue {
  readonly status: 'broken';
  readonly session: number;
  readonly token: number;
}

/** `close-session`: the locks the session held and released, in name order. */
export interface CloseSessionValue {
  readonly released: readonly string[];
}

/** A lock grant. `token` is the index of the granting entry: the fencing token. */
export interface Grant {
  readonly token: number;
  /** Log time of the grant. */
  readonly acquiredAt: number;
  /** The holder session's deadline when this value was produced (the lease ends with it). */
  readonly expiresAt: number;
}

/**
 * Outcomes of `acquire`:
 * - `granted`: the lock was free, or (as the stored result of a queued acquire, seen by a
 *   retry) it was later handed to this wait;
 * - `held-by-you`: the session already holds it; the existing grant, unchanged (idempotent);
 * - `not-acquired`: held by another session and `waitMs` was 0;
 * - `queued`: held by another; the session waits at `position` (1 = next) until `deadline`;
 * - `timed-out`: (retry of a queued acquire only) the wait ended at its deadline ungranted;
 * - `cancelled`: (queued acquire only) the session withdrew the wait (`cancel-wait`) ungranted.
 */
export type AcquireValue =
  | ({ readonly status: 'granted' } & Grant)
  | ({ readonly status: 'held-by-you' } & Grant)
  | { readonly status: 'not-acquired' }
  | { readonly status: 'queued'; readonly position: number; readonly deadline: number }
  | { readonly status: 'timed-out' }
  | { readonly status: 'cancelled' };

/** `release-all`: the locks of the list the session held and released, in name order. */
export interface ReleaseAllValue {
  readonly released: readonly string[];
}

/** `release`: the token of the grant that ended. */
export interface ReleaseValue {
  readonly status: 'released';
  readonly token: number;
}

/**
 * `cancel-wait`: `cancelled` when the session's queued acquire left the queue now (it will
 * never be granted); `not-waiting` when the session had no queued acquire of the lock (it was
 * granted, timed out or withdrawn already, or never queued: the session may hold the lock).
 */
export interface CancelWaitValue {
  readonly status: 'cancelled' | 'not-waiting';
}

/** `lock-info`: who holds a lock, and how many wait for it. */
export interface LockInfo {
  /** The holder, if the lock is held. */
  readonly holder?: {
    readonly sessionId: number;
    readonly fencingToken: number;
    /** Log time (the leader's ms clock) of the grant. */
    readonly acquiredAt: number;
    /** Log time at which the holder's session expires unless renewed. */
    readonly expiresAt: number;
  };
  /** Sessions queued for it. */
  readonly waiters: number;
}

/** A holder of a semaphore or a readers-writer lock, as `semaphore-info` / `rwlock-info` list it. */
export interface PermitHolderInfo {
  readonly sessionId: number;
  readonly fencingToken: number;
  /** Log time of the grant. */
  readonly acquiredAt: number;
  /** Log time at which the holder's session expires unless renewed. */
  readonly expiresAt: number;
}

/** Most holders an info answer lists (`holderCount` counts them all). */
export const MAX_LISTED_HOLDERS = 1_000;

/**
 * `semaphore-info`: its permit count and what is free (absent when nobody holds or awaits it:
 * the count is then not fixed), its holders in grant order with their weights, and how many
 * wait.
 */
export interface SemaphoreInfo {
  readonly permits?: number;
  readonly available?: number;
  readonly holders: ReadonlyArray<PermitHolderInfo & { readonly weight: number }>;
  readonly holderCount: number;
  readonly waiters: number;
}

/** `rwlock-info`: how it is held (`free`, by readers, or by a writer), its holders, how many wait. */
export interface RwLockInfo {
  readonly mode: 'free' | 'read' | 'write';
  readonly holders: ReadonlyArray<PermitHolderInfo & { readonly mode: 'read' | 'write' }>;
  readonly holderCount: number;
  readonly waiters: number;
}

/** An election's leader, as `election-info` shows it: its grant, and the value it campaigned with or last proclaimed. */
export interface ElectionLeaderInfo extends PermitHolderInfo {
  readonly value: string;
}

/**
 * `election-info`: the leader (`null` when nobody leads) and how many candidates wait
 * (docs/design.md#leader-elections).
 */
export interface ElectionInfoValue {
  readonly leader: ElectionLeaderInfo | null;
  readonly candidates: number;
}

/** What the info op of each permit kind answers: `semaphore-info`, `rwlock-info`, `election-info`. */
export interface PermitInfoValues {
  readonly semaphore: SemaphoreInfo;
  readonly rwlock: RwLockInfo;
  readonly election: ElectionInfoValue;
}

/** A resource in a `list-permits` page of kind `K`: its name and what its kind's info op answers for it. */
export type PermitListEntry<K extends PermitKind = PermitKind> = K extends PermitKind
  ? { readonly name: string } & PermitInfoValues[K]
  : never;

/** A lock in a `list-locks` page: its name and what `lock-info` answers for it. */
export interface LockListEntry extends LockInfo {
  readonly name: string;
}

/** A counter in a `list-counters` page (only non-zero counters exist). */
export interface CounterListEntry {
  readonly name: string;
  readonly value: number;
}

/**
 * A page of a listing, in name order (JavaScript string order). `next` is present when more
 * may follow: pass it as `after` for the next page.
 */
export interface ListPage<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

/** Most entries in one page of a listing, and the default. */
export const MAX_LIST_LIMIT = 1_000;
export const DEFAULT_LIST_LIMIT = 100;
/**
 * Most bytes of names in one page: a page ends early rather than grow past it (names may be
 * configured up to 64 KiB), so an answer stays a modest frame whatever the limits.
 */
export const MAX_LIST_NAME_BYTES = 256 * 1024;

/** `hello`: the answering node and the protocol version it speaks. */
export interface HelloValue {
  readonly nodeId: number;
  readonly protocol: number;
}

/** `status`: the answering node's role and the leader it knows of (0 = none). */
export interface NodeRoleValue {
  readonly nodeId: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
  readonly leaderAddress: string | null;
  /** The members of the configuration in force at that node (voters first); absent from older nodes. */
  readonly members?: ReadonlyArray<{ readonly id: number; readonly address: string | null; readonly role: 'voter' | 'learner' }>;
}

/** Most members a `status` answer lists (a configuration's bound). */
const MAX_LISTED_MEMBERS = 64;

/** The value each op answers with. */
export interface OpValues {
  readonly hello: HelloValue;
  readonly bind: BindValue;
  readonly status: NodeRoleValue;
  readonly 'counter-get': number;
  readonly 'lock-info': LockInfo;
  readonly 'list-locks': ListPage<LockListEntry>;
  readonly 'semaphore-info': SemaphoreInfo;
  readonly 'rwlock-info': RwLockInfo;
  readonly 'election-info': ElectionInfoValue;
  /** Entries all of the kind asked for ({@link parsePermitPage} checks that kind). */
  readonly 'list-permits': ListPage<PermitListEntry>;
  readonly 'list-counters': ListPage<CounterListEntry>;
  readonly 'open-session': OpenSessionValue;
  readonly 'keep-alive': KeepAliveValue;
  readonly 'close-session': CloseSessionValue;
  readonly acquire: AcquireValue;
  readonly release: ReleaseValue;
  /** As `acquire`'s, but never `held-by-you`. */
  readonly 'acquire-all': AcquireValue;
  readonly 'release-all': ReleaseAllValue;
  readonly 'cancel-wait': CancelWaitValue;
  readonly 'break-lock': BreakLockValue;
  /** As `acquire`'s, but never `held-by-you` (a session may hold several grants). */
  readonly 'acquire-permit': AcquireValue;
  readonly 'release-permit': ReleaseValue;
  readonly 'cancel-permit': CancelWaitValue;
  /** Nothing: the leader's value is changed. */
  readonly proclaim: null;
  /** The watch started (watch.ts). */
  readonly watch: WatchStarted;
  /** Nothing: the watch ended. */
  readonly unwatch: null;
  /** The new value. */
  readonly 'counter-add': number;
  /** The previous value. */
  readonly 'counter-set': number;
  /** Whether the swap happened. */
  readonly 'counter-cas': boolean;
  /** The previous value (the counter reads 0 afterwards). */
  readonly 'counter-delete': number;
}

/** An op of the protocol. */
export type Op = keyof OpValues;

// ---- checks ----------------------------------------------------------------------------------

function bad(path: string, v: unknown, expected: string): never {
  throw new DecodeError(path, `expected ${expected}, got ${describe(v)}`);
}

function map(v: unknown, path: string, keys: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (!isPlainMap(v)) bad(path, v, 'a map');
  for (const k of Object.keys(v))
    if (!keys.includes(k) && !optional.includes(k)) throw new DecodeError(`${path}.${k.slice(0, 40)}`, 'unknown field');
  for (const k of keys) if (!Object.hasOwn(v, k)) throw new DecodeError(`${path}.${k}`, 'missing');
  return v;
}

function int(v: unknown, path: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) bad(path, v, `a safe integer >= ${min}`);
  return v;
}

function counter(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(path, v, 'a safe integer');
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') bad(path, v, 'a string');
  return v;
}

function releaseValue(v: unknown, p: string): ReleaseValue {
  const r = map(v, p, ['status', 'token']);
  if (r['status'] !== 'released') bad(`${p}.status`, r['status'], '"released"');
  return { status: 'released', token: int(r['token'], `${p}.token`, 1) };
}

function cancelWaitValue(v: unknown, p: string): CancelWaitValue {
  const status = map(v, p, ['status'])['status'];
  if (status !== 'cancelled' && status !== 'not-waiting') bad(`${p}.status`, status, '"cancelled" or "not-waiting"');
  return { status };
}

/** An acquire answer that can never be `held-by-you` (acquire-all, acquire-permit). */
function notHeldByYou(a: AcquireValue, p: string): AcquireValue {
  if (a.status === 'held-by-you') bad(`${p}.status`, a.status, 'granted, not-acquired, queued, timed-out or cancelled');
  return a;
}

function rwMode(v: unknown, path: string): 'read' | 'write' {
  if (v !== 'read' && v !== 'write') bad(path, v, '"read" or "write"');
  return v;
}

/** Holders of an info answer, each with `extra` fields (`weight` or `mode`); at most MAX_LISTED_HOLDERS. */
function holderList<E extends object>(
  v: unknown,
  path: string,
  extra: (h: Record<string, unknown>, path: string) => E,
  extraKeys: readonly string[],
): Array<PermitHolderInfo & E> {
  if (!Array.isArray(v) || v.length > MAX_LISTED_HOLDERS) bad(path, v, `an array of at most ${MAX_LISTED_HOLDERS} holders`);
  return (v as unknown[]).map((x, k) => holder(x, `${path}[${k}]`, extra, extraKeys));
}

/** One holder of an info answer, with `extra` fields. */
function holder<E extends object>(
  v: unknown,
  q: string,
  extra: (h: Record<string, unknown>, path: string) => E,
  extraKeys: readonly string[],
): PermitHolderInfo & E {
  const h = map(v, q, ['sessionId', 'fencingToken', 'acquiredAt', 'expiresAt', ...extraKeys]);
  return {
    sessionId: int(h['sessionId'], `${q}.sessionId`, 1),
    fencingToken: int(h['fencingToken'], `${q}.fencingToken`, 1),
    acquiredAt: int(h['acquiredAt'], `${q}.acquiredAt`),
    expiresAt: int(h['expiresAt'], `${q}.expiresAt`),
    ...extra(h, q),
  };
}

function nameList(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) bad(path, v, 'an array');
  return (v as unknown[]).map((n, k) => str(n, `${path}[${k}]`));
}

function grant(r: Record<string, unknown>, path: string): Grant {
  return {
    token: int(r['token'], `${path}.token`, 1),
    acquiredAt: int(r['acquiredAt'], `${path}.acquiredAt`),
    expiresAt: int(r['expiresAt'], `${path}.expiresAt`),
  };
}

function acquireValue(v: unknown, path: string): AcquireValue {
  const status = isPlainMap(v) ? v['status'] : undefined;
  switch (status) {
    case 'granted':
    case 'held-by-you':
      return { status, ...grant(map(v, path, ['status', 'token', 'acquiredAt', 'expiresAt']), path) };
    case 'not-acquired':
    case 'timed-out':
    case 'cancelled':
      map(v, path, ['status']);
      return { status };
    case 'queued': {
      const r = map(v, path, ['status', 'position', 'deadline']);
      return { status, position: int(r['position'], `${path}.position`, 1), deadline: int(r['deadline'], `${path}.deadline`) };
    }
    default:
      return bad(`${path}.status`, status, 'an acquire status');
  }
}

function lockInfo(v: unknown, path: string): LockInfo {
  return lockInfoOf(map(v, path, ['waiters'], ['holder']), path);
}

function lockInfoOf(r: Record<string, unknown>, path: string): LockInfo {
  const waiters = int(r['waiters'], `${path}.waiters`);
  if (r['holder'] === undefined) return { waiters };
  const h = map(r['holder'], `${path}.holder`, ['sessionId', 'fencingToken', 'acquiredAt', 'expiresAt']);
  return {
    holder: {
      sessionId: int(h['sessionId'], `${path}.holder.sessionId`, 1),
      fencingToken: int(h['fencingToken'], `${path}.holder.fencingToken`, 1),
      acquiredAt: int(h['acquiredAt'], `${path}.holder.acquiredAt`),
      expiresAt: int(h['expiresAt'], `${path}.holder.expiresAt`),
    },
    waiters,
  };
}

/** A {@link ListPage} whose items `item` checks: at most {@link MAX_LIST_LIMIT}, names in strictly increasing order. */
function listPage<T extends { readonly name: string }>(v: unknown, path: string, item: (v: unknown, path: string) => T): ListPage<T> {
  const r = map(v, path, ['items'], ['next']);
  const list = r['items'];
  if (!Array.isArray(list)) bad(`${path}.items`, list, 'an array');
  if (list.length > MAX_LIST_LIMIT) throw new DecodeError(`${path}.items`, `more than ${MAX_LIST_LIMIT} items`);
  const items = (list as unknown[]).map((x, k) => item(x, `${path}.items[${k}]`));
  for (let k = 1; k < items.length; k++) {
    if (!((items[k - 1] as T).name < (items[k] as T).name)) throw new DecodeError(`${path}.items[${k}].name`, 'names out of order');
  }
  return r['next'] === undefined ? { items } : { items, next: str(r['next'], `${path}.next`) };
}

const SEMAPHORE_INFO_KEYS = ['holders', 'holderCount', 'waiters'];
const RWLOCK_INFO_KEYS = ['mode', 'holders', 'holderCount', 'waiters'];
const ELECTION_INFO_KEYS = ['leader', 'candidates'];

function semaphoreInfoOf(r: Record<string, unknown>, p: string): SemaphoreInfo {
  const holders = holderList(r['holders'], `${p}.holders`, (h, q) => ({ weight: int(h['weight'], `${q}.weight`, 1) }), ['weight']);
  const info = { holders, holderCount: int(r['holderCount'], `${p}.holderCount`), waiters: int(r['waiters'], `${p}.waiters`) };
  if (r['permits'] === undefined) return info;
  return { ...info, permits: int(r['permits'], `${p}.permits`, 1), available: int(r['available'], `${p}.available`) };
}

function rwlockInfoOf(r: Record<string, unknown>, p: string): RwLockInfo {
  const mode = r['mode'];
  if (mode !== 'free' && mode !== 'read' && mode !== 'write') bad(`${p}.mode`, mode, '"free", "read" or "write"');
  const holders = holderList(r['holders'], `${p}.holders`, (h, q) => ({ mode: rwMode(h['mode'], `${q}.mode`) }), ['mode']);
  return { mode, holders, holderCount: int(r['holderCount'], `${p}.holderCount`), waiters: int(r['waiters'], `${p}.waiters`) };
}

function electionInfoOf(r: Record<string, unknown>, p: string): ElectionInfoValue {
  const candidates = int(r['candidates'], `${p}.candidates`);
  if (r['leader'] === null) return { leader: null, candidates };
  const leader = holder(r['leader'], `${p}.leader`, (h, q) => ({ value: electionValue(h['value'], `${q}.value`) }), ['value']);
  return { leader, candidates };
}

function electionValue(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length > MAX_ELECTION_VALUE_LENGTH)
    bad(path, v, `a string of at most ${MAX_ELECTION_VALUE_LENGTH} code units`);
  return v;
}

/**
 * The kind of a `list-permits` page, told by its first entry's fields (an election's `leader`,
 * a readers-writer lock's `mode`); every entry is then checked as that kind.
 */
function pageKind(v: unknown): PermitKind {
  const first: unknown = isPlainMap(v) && Array.isArray(v['items']) ? (v['items'] as unknown[])[0] : undefined;
  if (!isPlainMap(first)) return 'semaphore';
  return Object.hasOwn(first, 'leader') ? 'election' : Object.hasOwn(first, 'mode') ? 'rwlock' : 'semaphore';
}

/** A `list-permits` entry of `kind`: its name and that kind's info, nothing else. */
function permitEntry<K extends PermitKind>(kind: K, v: unknown, q: string): PermitListEntry<K> {
  const keys = kind === 'election' ? ELECTION_INFO_KEYS : kind === 'rwlock' ? RWLOCK_INFO_KEYS : SEMAPHORE_INFO_KEYS;
  const r = map(v, q, ['name', ...keys], kind === 'semaphore' ? ['permits', 'available'] : []);
  const name = str(r['name'], `${q}.name`);
  const info = kind === 'election' ? electionInfoOf(r, q) : kind === 'rwlock' ? rwlockInfoOf(r, q) : semaphoreInfoOf(r, q);
  return { name, ...info } as PermitListEntry<K>;
}

/**
 * Checks the value of a successful `list-permits` answer for `kind` and returns it typed: each
 * entry must be of that kind. Throws only {@link DecodeError}.
 */
export function parsePermitPage<K extends PermitKind>(kind: K, value: unknown): ListPage<PermitListEntry<K>> {
  return listPage(value, 'value', (x, q) => permitEntry(kind, x, q));
}

function members(v: unknown, path: string): NonNullable<NodeRoleValue['members']> {
  if (!Array.isArray(v)) bad(path, v, 'an array');
  if (v.length > MAX_LISTED_MEMBERS) throw new DecodeError(path, `more than ${MAX_LISTED_MEMBERS} members`);
  return (v as unknown[]).map((m, k) => {
    const r = map(m, `${path}[${k}]`, ['id', 'address', 'role']);
    const role = r['role'];
    if (role !== 'voter' && role !== 'learner') bad(`${path}[${k}].role`, role, '"voter" or "learner"');
    const address = r['address'];
    return { id: int(r['id'], `${path}[${k}].id`, 1), address: address === null ? null : str(address, `${path}[${k}].address`), role };
  });
}

const PARSERS: { readonly [O in Op]: (v: unknown, path: string) => OpValues[O] } = {
  hello: (v, p) => {
    const r = map(v, p, ['nodeId', 'protocol']);
    return { nodeId: int(r['nodeId'], `${p}.nodeId`, 1), protocol: int(r['protocol'], `${p}.protocol`, 1) };
  },
  status: (v, p) => {
    const r = map(v, p, ['nodeId', 'role', 'term', 'leader', 'leaderAddress'], ['members']);
    const address = r['leaderAddress'];
    const value = {
      nodeId: int(r['nodeId'], `${p}.nodeId`, 1),
      role: str(r['role'], `${p}.role`),
      term: int(r['term'], `${p}.term`),
      leader: int(r['leader'], `${p}.leader`),
      leaderAddress: address === null ? null : str(address, `${p}.leaderAddress`),
    };
    return r['members'] === undefined ? value : { ...value, members: members(r['members'], `${p}.members`) };
  },
  'counter-get': counter,
  'lock-info': lockInfo,
  'list-locks': (v, p) =>
    listPage(v, p, (x, q) => {
      const r = map(x, q, ['name', 'waiters'], ['holder']);
      return { name: str(r['name'], `${q}.name`), ...lockInfoOf(r, q) };
    }),
  'list-counters': (v, p) =>
    listPage(v, p, (x, q) => {
      const r = map(x, q, ['name', 'value']);
      return { name: str(r['name'], `${q}.name`), value: counter(r['value'], `${q}.value`) };
    }),
  bind: (v, p) => {
    const r = map(v, p, ['sessionId', 'expiresAt']);
    return { sessionId: int(r['sessionId'], `${p}.sessionId`, 1), expiresAt: int(r['expiresAt'], `${p}.expiresAt`) };
  },
  'open-session': (v, p) => {
    const r = map(v, p, ['sessionId', 'ttlMs', 'expiresAt', 'secret']);
    const secret = r['secret'];
    if (!isSessionSecret(secret)) bad(`${p}.secret`, secret, '32 lowercase hex digits');
    return {
      sessionId: int(r['sessionId'], `${p}.sessionId`, 1),
      ttlMs: int(r['ttlMs'], `${p}.ttlMs`, 1),
      expiresAt: int(r['expiresAt'], `${p}.expiresAt`),
      secret,
    };
  },
  'keep-alive': (v, p) => {
    const r = map(v, p, ['expiresAt'], ['revoked']);
    const expiresAt = int(r['expiresAt'], `${p}.expiresAt`);
    if (r['revoked'] === undefined) return { expiresAt };
    const list = r['revoked'];
    if (!Array.isArray(list) || list.length > MAX_REVOCATIONS_KEPT)
      bad(`${p}.revoked`, list, `an array of at most ${MAX_REVOCATIONS_KEPT}`);
    const revoked = (list as unknown[]).map((x, k): Revocation => {
      const q = `${p}.revoked[${k}]`;
      const e = map(x, q, ['name', 'token'], ['reason']);
      const rev = { name: str(e['name'], `${q}.name`), token: int(e['token'], `${q}.token`, 1) };
      return e['reason'] === undefined ? rev : { ...rev, reason: str(e['reason'], `${q}.reason`) };
    });
    return { expiresAt, revoked };
  },
  'acquire-permit': (v, p) => notHeldByYou(acquireValue(v, p), p),
  'release-permit': releaseValue,
  'cancel-permit': cancelWaitValue,
  'semaphore-info': (v, p) => semaphoreInfoOf(map(v, p, SEMAPHORE_INFO_KEYS, ['permits', 'available']), p),
  'rwlock-info': (v, p) => rwlockInfoOf(map(v, p, RWLOCK_INFO_KEYS), p),
  'election-info': (v, p) => electionInfoOf(map(v, p, ELECTION_INFO_KEYS), p),
  'list-permits': (v, p) => {
    const kind = pageKind(v);
    return listPage(v, p, (x, q) => permitEntry(kind, x, q));
  },
  proclaim: (v, p) => {
    if (v !== null) bad(p, v, 'null');
    return v;
  },
  watch: (v, p) => {
    const r = map(v, p, ['watch', 'fromIndex']);
    return { watch: int(r['watch'], `${p}.watch`, 1), fromIndex: int(r['fromIndex'], `${p}.fromIndex`, 1) };
  },
  unwatch: (v, p) => {
    if (v !== null) bad(p, v, 'null');
    return v;
  },
  'break-lock': (v, p) => {
    const r = map(v, p, ['status', 'session', 'token']);
    if (r['status'] !== 'broken') bad(`${p}.status`, r['status'], '"broken"');
    return { status: 'broken', session: int(r['session'], `${p}.session`, 1), token: int(r['token'], `${p}.token`, 1) };
  },
  'close-session': (v, p) => ({ released: nameList(map(v, p, ['released'])['released'], `${p}.released`) }),
  acquire: acquireValue,
  'acquire-all': (v, p) => notHeldByYou(acquireValue(v, p), p),
  'release-all': (v, p) => ({ released: nameList(map(v, p, ['released'])['released'], `${p}.released`) }),
  release: releaseValue,
  'cancel-wait': cancelWaitValue,
  'counter-add': counter,
  'counter-set': counter,
  'counter-cas': (v, p) => {
    if (typeof v !== 'boolean') bad(p, v, 'a boolean');
    return v;
  },
  'counter-delete': counter,
};

/**
 * Checks the value of a successful answer to `op` and returns it typed. Throws only
 * {@link DecodeError}, naming the offending field (`value.holder.fencingToken`, …).
 */
export function parseValue<O extends Op>(op: O, value: unknown): OpValues[O] {
  return PARSERS[op](value, 'value');
}
