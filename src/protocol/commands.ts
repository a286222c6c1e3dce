/**
 * The commands a client may send: the write operations of the protocol, each of which becomes
 * one log entry. {@link parseClientCommand} is the one gate for their shape; the state machine
 * runs the same gate again on every entry it applies (an entry written by another version must
 * be refused alike on every replica, never thrown on). See docs/design.md#client-wire-protocol.
 *
 * Rules:
 * - A command is a plain map with a `type` and exactly the fields listed for that type
 *   (optional ones may be absent); unknown fields are refused, not ignored: a field silently
 *   dropped (a `fence`, say) would change a write's meaning unnoticed.
 * - Every integer is a safe integer in its stated range; names follow {@link checkName}.
 * - Writes carry `session` and `seq` ≥ 1; optionally `ackedSeq` (the highest seq whose result
 *   the client has seen, `< seq`) and `fence: { lock, token }`.
 */
import { FieldError, checkName, checkShape, intField, mapField, utf8Length } from './fields.js';
import { describe } from './msgpack.js';
import { MAX_COUNTER_MAGNITUDE, MAX_TTL_MS, MIN_TTL_MS, type Limits } from './limits.js';

/**
 * A fenced write: applied only while `lock` is held with exactly `token`. With `kind`, `lock`
 * names a semaphore, a readers-writer lock or an election instead, and the fence holds while
 * the writing session holds a grant of it with `token` (of a readers-writer lock: in write
 * mode; of an election: as its leader).
 */
export interface Fence {
  readonly lock: string;
  readonly token: number;
  readonly kind?: PermitKind;
}

/**
 * The primitives with permits (docs/design.md#semaphores-and-readers-writer-locks): an
 * election is one too, a resource of one permit whose holder is the leader
 * (docs/design.md#leader-elections).
 */
export const PERMIT_KINDS = ['semaphore', 'rwlock', 'election'] as const;
export type PermitKind = (typeof PERMIT_KINDS)[number];

/**
 * Longest value a candidate campaigns with or a leader proclaims, in UTF-16 code units (a
 * leader's address or id, not a payload: the value lives in the replicated state).
 */
export const MAX_ELECTION_VALUE_LENGTH = 1024;

/**
 * `v` as an election value: a string of at most {@link MAX_ELECTION_VALUE_LENGTH} UTF-16 code
 * units of well-formed Unicode (a lone surrogate would not survive MessagePack unchanged, as
 * for names), possibly empty. Otherwise a {@link FieldError} naming `field`.
 */
export function checkElectionValue(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new FieldError(field, `${field} must be a string, got ${describe(v)}`);
  if (v.length > MAX_ELECTION_VALUE_LENGTH)
    throw new FieldError(field, `${field} is ${v.length} UTF-16 code units, more than ${MAX_ELECTION_VALUE_LENGTH}`);
  if (utf8Length(v) < 0) throw new FieldError(field, `${field} is not well-formed Unicode (lone surrogate)`);
  return v;
}

/** Most permits of a semaphore. */
export const MAX_PERMITS = 1_000_000;
/**
 * The permits of a readers-writer lock, as the machine counts them: a read takes one, a write
 * all of them. So it is a semaphore, and at most this many readers hold it at once.
 */
export const RW_PERMITS = MAX_PERMITS;

/** How a readers-writer lock is held. */
export type RwMode = 'read' | 'write';

/** Fields every write carries: its exactly-once identity and an optional fence. */
export interface WriteFields {
  readonly session: number;
  readonly seq: number;
  readonly ackedSeq?: number;
  readonly fence?: Fence;
}

/**
 * A session's secret: {@link SESSION_SECRET_HEX} lowercase hex digits (128 bits). The leader
 * draws it from its CSPRNG when it proposes `open-session`, the entry carries it so every
 * replica agrees, and only the client that opened the session learns it: a session is a
 * capability, proven by its secret (`bind`), not by its guessable id
 * (docs/design.md#sessions-are-capabilities).
 */
export const SESSION_SECRET_HEX = 32;

const SECRET_PATTERN = /^[0-9a-f]{32}$/;

/** Whether `v` has the form of a session secret. */
export function isSessionSecret(v: unknown): v is string {
  return typeof v === 'string' && SECRET_PATTERN.test(v);
}

/** `v` as a session secret, or a {@link FieldError} naming `field`. */
export function checkSessionSecret(v: unknown, field: string): string {
  if (!isSessionSecret(v))
    throw new FieldError(field, `${field} must be ${SESSION_SECRET_HEX} lowercase hex digits (the secret open-session answered)`);
  return v;
}

/** Opens a session; its id is the index of this entry. `clientId` is a free-form label. */
export interface OpenSessionCommand {
  readonly type: 'open-session';
  readonly ttlMs: number;
  readonly clientId?: string;
}

/** Renews a session (idempotent, so it carries no seq). `ackedSeq` may prune its results. */
export interface KeepAliveCommand {
  readonly type: 'keep-alive';
  readonly session: number;
  readonly ackedSeq?: number;
}

/** Ends a session: releases its locks and drops its waits. */
export interface CloseSessionCommand extends WriteFields {
  readonly type: 'close-session';
}

/** Takes a lock, or queues for it FIFO. */
export interface AcquireCommand extends WriteFields {
  readonly type: 'acquire';
  readonly name: string;
  /** 0: never wait (try-lock). Otherwise queue FIFO for at most this long (log time). */
  readonly waitMs: number;
}

/**
 * Takes every lock of `names` in one entry, or queues for all of them at once without holding
 * any, strictly FIFO in each queue, granted all together when first in each and all are free
 * (docs/design.md#all-or-nothing-multi-locks). One fencing token, the granting entry's index,
 * for each of them. `names` are 1 to {@link MAX_LOCK_ALL_NAMES} distinct names, taken as a set
 * (in name order).
 */
export interface AcquireAllCommand extends WriteFields {
  readonly type: 'acquire-all';
  readonly names: readonly string[];
  /** As for `acquire`: 0 never waits. */
  readonly waitMs: number;
}

/** Releases each lock of `names` this session holds (the others are left as they are). */
export interface ReleaseAllCommand extends WriteFields {
  readonly type: 'release-all';
  readonly names: readonly string[];
}

/** Most names in one `acquire-all` or `release-all`. */
export const MAX_LOCK_ALL_NAMES = 64;

/**
 * Takes permits of a semaphore (`permits`: its count, which every user must give alike while it
 * is in use; `weight`: how many, default 1) or a readers-writer lock (`mode`), or queues FIFO
 * for them. A session may hold and await several; each grant is named by its acquire's seq.
 * For an election it is a campaign: `value` (see {@link checkElectionValue}) becomes the
 * leader's when granted; a session campaigns at most once at a time in one election.
 */
export type AcquirePermitCommand = WriteFields & { readonly type: 'acquire-permit'; readonly name: string; readonly waitMs: number } & (
    | { readonly kind: 'semaphore'; readonly permits: number; readonly weight?: number }
    | { readonly kind: 'rwlock'; readonly mode: RwMode }
    | { readonly kind: 'election'; readonly value: string }
  );

/**
 * Sets the value of election `name`'s leader, if this session leads it with exactly `token`
 * (else `NOT_HELD`): how a leader publishes a new address or state without resigning.
 */
export interface ProclaimCommand extends WriteFields {
  readonly type: 'proclaim';
  readonly name: string;
  readonly token: number;
  readonly value: string;
}

/** Gives back the grant of this session's `acquire-permit` of seq `acquireSeq`. */
export interface ReleasePermitCommand extends WriteFields {
  readonly type: 'release-permit';
  readonly kind: PermitKind;
  readonly name: string;
  readonly acquireSeq: number;
}

/** Withdraws this session's queued `acquire-permit` of seq `acquireSeq`, if still queued (as `cancel-wait`). */
export interface CancelPermitCommand extends WriteFields {
  readonly type: 'cancel-permit';
  readonly kind: PermitKind;
  readonly name: string;
  readonly acquireSeq: number;
}

/** Releases a lock this session holds. */
export interface ReleaseCommand extends WriteFields {
  readonly type: 'release';
  readonly name: string;
}

/**
 * Revokes the current grant of `name`, whoever holds it (an operator's command: `admin` role).
 * The lock goes to its next waiter, with a higher token, in the same entry; the old holder's
 * session learns of it with its next keep-alive (`revoked`), and its fenced writes and its
 * release are refused from this entry on. `reason` is shown to that holder.
 */
export interface BreakLockCommand extends WriteFields {
  readonly type: 'break-lock';
  readonly name: string;
  readonly reason?: string;
}

/** Longest `reason` of a `break-lock`, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 256;

/**
 * Withdraws this session's queued acquire of `name`, if it has one: the wait leaves the queue
 * now, and that acquire's answer (to its parked request, and to any retry of its seq) becomes
 * `cancelled`. What a client sends when it stops waiting (an abort, its own deadline), so the
 * wait does not stay queued, and possibly granted, until its `waitMs` runs out.
 */
export interface CancelWaitCommand extends WriteFields {
  readonly type: 'cancel-wait';
  readonly name: string;
}

/** Adds `delta` to a counter; the result is the new value. */
export interface CounterAddCommand extends WriteFields {
  readonly type: 'counter-add';
  readonly name: string;
  readonly delta: number;
}

/** Sets a counter; the result is the previous value. */
export interface CounterSetCommand extends WriteFields {
  readonly type: 'counter-set';
  readonly name: string;
  readonly value: number;
}

/** Sets a counter to `next` if it reads `expected`; the result says whether it did. */
export interface CounterCasCommand extends WriteFields {
  readonly type: 'counter-cas';
  readonly name: string;
  readonly expected: number;
  readonly next: number;
}

/** Deletes a counter (it reads 0 afterwards); the result is the previous value. */
export interface CounterDeleteCommand extends WriteFields {
  readonly type: 'counter-delete';
  readonly name: string;
}

/** A command a client may send. */
export type ClientCommand =
  | OpenSessionCommand
  | KeepAliveCommand
  | CloseSessionCommand
  | AcquireCommand
  | AcquireAllCommand
  | ReleaseCommand
  | ReleaseAllCommand
  | CancelWaitCommand
  | BreakLockCommand
  | AcquirePermitCommand
  | ReleasePermitCommand
  | CancelPermitCommand
  | ProclaimCommand
  | CounterAddCommand
  | CounterSetCommand
  | CounterCasCommand
  | CounterDeleteCommand;

/** The type of a {@link ClientCommand}: an op of the protocol that goes through the log. */
export type ClientCommandType = ClientCommand['type'];

/** Every {@link ClientCommandType}. */
export const CLIENT_COMMAND_TYPES = [
  'open-session',
  'keep-alive',
  'close-session',
  'acquire',
  'acquire-all',
  'release',
  'release-all',
  'cancel-wait',
  'break-lock',
  'acquire-permit',
  'release-permit',
  'cancel-permit',
  'proclaim',
  'counter-add',
  'counter-set',
  'counter-cas',
  'counter-delete',
] as const satisfies readonly ClientCommandType[];

const TYPES: ReadonlySet<string> = new Set(CLIENT_COMMAND_TYPES);

/** Whether `type` names a {@link ClientCommand}. */
export function isClientCommandType(type: unknown): type is ClientCommandType {
  return typeof type === 'string' && TYPES.has(type);
}

const WRITE_OPTIONAL = ['ackedSeq', 'fence'] as const;

/** Fields per type (beyond `type`): required, then optional. */
export const CLIENT_COMMAND_FIELDS: {
  readonly [K in ClientCommandType]: readonly [required: readonly string[], optional: readonly string[]];
} = {
  'open-session': [['ttlMs'], ['clientId']],
  'keep-alive': [['session'], ['ackedSeq']],
  'close-session': [['session', 'seq'], WRITE_OPTIONAL],
  acquire: [['session', 'seq', 'name', 'waitMs'], WRITE_OPTIONAL],
  'acquire-all': [['session', 'seq', 'names', 'waitMs'], WRITE_OPTIONAL],
  release: [['session', 'seq', 'name'], WRITE_OPTIONAL],
  'release-all': [['session', 'seq', 'names'], WRITE_OPTIONAL],
  'cancel-wait': [['session', 'seq', 'name'], WRITE_OPTIONAL],
  'break-lock': [
    ['session', 'seq', 'name'],
    [...WRITE_OPTIONAL, 'reason'],
  ],
  'acquire-permit': [
    ['session', 'seq', 'kind', 'name', 'waitMs'],
    [...WRITE_OPTIONAL, 'permits', 'weight', 'mode', 'value'],
  ],
  'release-permit': [['session', 'seq', 'kind', 'name', 'acquireSeq'], WRITE_OPTIONAL],
  'cancel-permit': [['session', 'seq', 'kind', 'name', 'acquireSeq'], WRITE_OPTIONAL],
  proclaim: [['session', 'seq', 'name', 'token', 'value'], WRITE_OPTIONAL],
  'counter-add': [['session', 'seq', 'name', 'delta'], WRITE_OPTIONAL],
  'counter-set': [['session', 'seq', 'name', 'value'], WRITE_OPTIONAL],
  'counter-cas': [['session', 'seq', 'name', 'expected', 'next'], WRITE_OPTIONAL],
  'counter-delete': [['session', 'seq', 'name'], WRITE_OPTIONAL],
};

/** Parses the write fields shared by every write (session, seq, ackedSeq, fence). */
export function parseWriteFields(rec: Readonly<Record<string, unknown>>, limits: Limits): WriteFields {
  const session = intField(rec, 'session', 1, Number.MAX_SAFE_INTEGER);
  const seq = intField(rec, 'seq', 1, Number.MAX_SAFE_INTEGER);
  const w: { session: number; seq: number; ackedSeq?: number; fence?: Fence } = { session, seq };
  if (rec['ackedSeq'] !== undefined) {
    const acked = intField(rec, 'ackedSeq', 0, Number.MAX_SAFE_INTEGER);
    if (acked >= seq)
      throw new FieldError('ackedSeq', `ackedSeq (${acked}) must be below seq (${seq}): a write's own result cannot have been seen`);
    w.ackedSeq = acked;
  }
  if (rec['fence'] !== undefined) w.fence = parseFence(rec['fence'], limits);
  return w;
}

/** `v` as a {@link PermitKind}, or a {@link FieldError} naming `field`. */
export function checkPermitKind(v: unknown, field: string): PermitKind {
  if (v !== 'semaphore' && v !== 'rwlock' && v !== 'election')
    throw new FieldError(field, `${field} must be "semaphore", "rwlock" or "election", got ${describe(v)}`);
  return v;
}

/** Throws a {@link FieldError} for the first of `fields` that `rec` carries: they are another kind's. */
function refuseFields(rec: Readonly<Record<string, unknown>>, fields: readonly string[], why: string): void {
  for (const f of fields) if (rec[f] !== undefined) throw new FieldError(f, `${f} ${why}`);
}

/**
 * `acquire-permit`: a semaphore's permits and weight, a readers-writer lock's mode, or an
 * election's value, and nothing of the others.
 */
function parseAcquirePermit(rec: Readonly<Record<string, unknown>>, limits: Limits): AcquirePermitCommand {
  const w = parseWriteFields(rec, limits);
  const base = {
    type: 'acquire-permit' as const,
    ...w,
    name: checkName(rec['name'], 'name', limits.maxNameBytes),
    waitMs: intField(rec, 'waitMs', 0, limits.maxWaitMs),
  };
  const kind = checkPermitKind(rec['kind'], 'kind');
  if (kind === 'election') {
    refuseFields(rec, ['permits', 'weight', 'mode'], "is not an election's: a campaign takes one permit, with a value");
    if (rec['value'] === undefined) throw new FieldError('value', 'acquire-permit: an election campaign needs a value');
    return { ...base, kind, value: checkElectionValue(rec['value'], 'value') };
  }
  refuseFields(rec, ['value'], `is an election's; a ${kind === 'rwlock' ? 'readers-writer lock' : 'semaphore'} takes none`);
  if (kind === 'rwlock') {
    refuseFields(rec, ['permits', 'weight'], "is a semaphore's; a readers-writer lock takes mode");
    const mode = rec['mode'];
    if (mode !== 'read' && mode !== 'write') throw new FieldError('mode', `mode must be "read" or "write", got ${describe(mode)}`);
    return { ...base, kind, mode };
  }
  refuseFields(rec, ['mode'], "is a readers-writer lock's; a semaphore takes permits and weight");
  const permits = intField(rec, 'permits', 1, MAX_PERMITS);
  if (rec['weight'] === undefined) return { ...base, kind, permits };
  const weight = intField(rec, 'weight', 1, MAX_PERMITS);
  if (weight > permits)
    throw new FieldError('weight', `weight ${weight} is more than the semaphore's ${permits} permits: it could never be granted`);
  return { ...base, kind, permits, weight };
}

/** `names` of an `acquire-all` / `release-all`: 1 to MAX_LOCK_ALL_NAMES distinct names, returned in name order. */
function parseNames(v: unknown, limits: Limits): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LOCK_ALL_NAMES)
    throw new FieldError('names', `names must be an array of 1 to ${MAX_LOCK_ALL_NAMES} lock names, got ${describe(v)}`);
  const names = v.map((n: unknown, k) => checkName(n, `names[${k}]`, limits.maxNameBytes)).sort();
  for (let k = 1; k < names.length; k++) {
    if (names[k] === names[k - 1]) throw new FieldError('names', `names lists ${JSON.stringify(names[k])} twice; each lock once`);
  }
  return names;
}

function parseFence(v: unknown, limits: Limits): Fence {
  const rec = mapField(v, 'fence', '{ lock, token, kind? }');
  for (const k of Object.keys(rec))
    if (k !== 'lock' && k !== 'token' && k !== 'kind')
      throw new FieldError(`fence.${k.slice(0, 40)}`, `fence.${k.slice(0, 40)}: unknown field`);
  const lock = checkName(rec['lock'], 'fence.lock', limits.maxNameBytes);
  const token = intField({ 'fence.token': rec['token'] }, 'fence.token', 1, Number.MAX_SAFE_INTEGER);
  return rec['kind'] === undefined ? { lock, token } : { lock, token, kind: checkPermitKind(rec['kind'], 'fence.kind') };
}

/**
 * Parses the fields of a client command of `type` from `rec` (which may carry `type` and any
 * names listed in `ignore` beside them). Returns a fresh command holding nothing of `rec`.
 * Throws only {@link FieldError}, naming the offending field.
 */
export function parseClientCommand(
  type: ClientCommandType,
  rec: Readonly<Record<string, unknown>>,
  limits: Limits,
  ignore: readonly string[] = ['type'],
): ClientCommand {
  const [required, optional] = CLIENT_COMMAND_FIELDS[type];
  checkShape(rec, type, required, optional, ignore);
  const name = (): string => checkName(rec['name'], 'name', limits.maxNameBytes);
  const amount = (field: string): number => intField(rec, field, -MAX_COUNTER_MAGNITUDE, MAX_COUNTER_MAGNITUDE);
  switch (type) {
    case 'open-session': {
      const ttlMs = intField(rec, 'ttlMs', MIN_TTL_MS, MAX_TTL_MS);
      if (rec['clientId'] === undefined) return { type, ttlMs };
      return { type, ttlMs, clientId: checkName(rec['clientId'], 'clientId', limits.maxNameBytes) };
    }
    case 'keep-alive': {
      const session = intField(rec, 'session', 1, Number.MAX_SAFE_INTEGER);
      if (rec['ackedSeq'] === undefined) return { type, session };
      return { type, session, ackedSeq: intField(rec, 'ackedSeq', 0, Number.MAX_SAFE_INTEGER) };
    }
    case 'close-session':
      return { type, ...parseWriteFields(rec, limits) };
    case 'acquire': {
      const w = parseWriteFields(rec, limits);
      return { type, ...w, name: name(), waitMs: intField(rec, 'waitMs', 0, limits.maxWaitMs) };
    }
    case 'acquire-all': {
      const w = parseWriteFields(rec, limits);
      return { type, ...w, names: parseNames(rec['names'], limits), waitMs: intField(rec, 'waitMs', 0, limits.maxWaitMs) };
    }
    case 'release-all':
      return { type, ...parseWriteFields(rec, limits), names: parseNames(rec['names'], limits) };
    case 'release':
    case 'cancel-wait':
      return { type, ...parseWriteFields(rec, limits), name: name() };
    case 'acquire-permit':
      return parseAcquirePermit(rec, limits);
    case 'release-permit':
    case 'cancel-permit': {
      const w = parseWriteFields(rec, limits);
      const kind = checkPermitKind(rec['kind'], 'kind');
      return { type, ...w, kind, name: name(), acquireSeq: intField(rec, 'acquireSeq', 1, Number.MAX_SAFE_INTEGER) };
    }
    case 'proclaim': {
      const w = parseWriteFields(rec, limits);
      const token = intField(rec, 'token', 1, Number.MAX_SAFE_INTEGER);
      return { type, ...w, name: name(), token, value: checkElectionValue(rec['value'], 'value') };
    }
    case 'break-lock': {
      const w = parseWriteFields(rec, limits);
      const cmd = { type, ...w, name: name() };
      return rec['reason'] === undefined ? cmd : { ...cmd, reason: checkName(rec['reason'], 'reason', MAX_REASON_BYTES) };
    }
    case 'counter-add': {
      const w = parseWriteFields(rec, limits);
      return { type, ...w, name: name(), delta: amount('delta') };
    }
    case 'counter-set': {
      const w = parseWriteFields(rec, limits);
      return { type, ...w, name: name(), value: amount('value') };
    }
    case 'counter-cas': {
      const w = parseWriteFields(rec, limits);
      return { type, ...w, name: name(), expected: amount('expected'), next: amount('next') };
    }
    case 'counter-delete':
      return { type, ...parseWriteFields(rec, limits), name: name() };
  }
}
