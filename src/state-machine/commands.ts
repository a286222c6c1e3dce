/**
 * Commands of the lock/counter state machine, and their validation.
 *
 * {@link validateCommand} is the single gate for a command's shape: the server calls it on
 * client input *before* proposing (DESIGN §2.7: bad input never enters the log), and the
 * machine calls it again on every entry it applies (an entry written by another version, or a
 * buggy leader, must still be refused the same way on every replica, never thrown on).
 *
 * Rules:
 * - A command is a plain map with a `type` and exactly the fields listed for that type
 *   (optional ones may be absent); unknown fields are refused, as in the peer codec.
 * - Every integer is a safe integer in the stated range. Names are strings of 1 to
 *   `maxNameBytes` UTF-8 bytes and well-formed Unicode (a lone surrogate would not survive the
 *   trip through msgpack unchanged, so the proposer and the replicas would disagree on it).
 * - Writes (`close-session`, `acquire`, `release`, `counter-*`) carry `session` and `seq` ≥ 1;
 *   optionally `ackedSeq` (the highest seq whose result the client has seen, `< seq`) and
 *   `fence: { lock, token }` (DESIGN §2.6a).
 * - `expire-sessions` and `tick` are leader commands ({@link isLeaderCommand}): a server must
 *   not accept them from a client.
 */
import { fail, ok, type Result } from './errors.js';
import { DEFAULT_LIMITS, MAX_COUNTER_MAGNITUDE, MAX_LOG_TIME, MAX_TTL_MS, MIN_TTL_MS, type Limits } from './limits.js';

/** A fenced write (DESIGN §2.6a): applied only while `lock` is held with exactly `token`. */
export interface Fence {
  readonly lock: string;
  readonly token: number;
}

/** Fields every write carries: the exactly-once identity (DESIGN §1) and an optional fence. */
export interface WriteFields {
  readonly session: number;
  readonly seq: number;
  readonly ackedSeq?: number;
  readonly fence?: Fence;
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

/** Leader: sessions it believes expired. Applying re-checks each deadline by log time. */
export interface ExpireSessionsCommand {
  readonly type: 'expire-sessions';
  readonly sessions: readonly number[];
}

/** Leader: carries only a time stamp, so due waiters and sessions time out with no traffic. */
export interface TickCommand {
  readonly type: 'tick';
}

export interface CloseSessionCommand extends WriteFields {
  readonly type: 'close-session';
}

export interface AcquireCommand extends WriteFields {
  readonly type: 'acquire';
  readonly name: string;
  /** 0: never wait (try-lock). Otherwise queue FIFO for at most this long (log time). */
  readonly waitMs: number;
}

export interface ReleaseCommand extends WriteFields {
  readonly type: 'release';
  readonly name: string;
}

export interface CounterAddCommand extends WriteFields {
  readonly type: 'counter-add';
  readonly name: string;
  readonly delta: number;
}

export interface CounterSetCommand extends WriteFields {
  readonly type: 'counter-set';
  readonly name: string;
  readonly value: number;
}

export interface CounterCasCommand extends WriteFields {
  readonly type: 'counter-cas';
  readonly name: string;
  readonly expected: number;
  readonly next: number;
}

export interface CounterGetCommand extends WriteFields {
  readonly type: 'counter-get';
  readonly name: string;
}

export interface CounterDeleteCommand extends WriteFields {
  readonly type: 'counter-delete';
  readonly name: string;
}

export type WriteCommand =
  | CloseSessionCommand
  | AcquireCommand
  | ReleaseCommand
  | CounterAddCommand
  | CounterSetCommand
  | CounterCasCommand
  | CounterGetCommand
  | CounterDeleteCommand;

export type Command = OpenSessionCommand | KeepAliveCommand | ExpireSessionsCommand | TickCommand | WriteCommand;

export type CommandType = Command['type'];

export const COMMAND_TYPES = [
  'open-session',
  'keep-alive',
  'expire-sessions',
  'tick',
  'close-session',
  'acquire',
  'release',
  'counter-add',
  'counter-set',
  'counter-cas',
  'counter-get',
  'counter-delete',
] as const satisfies readonly CommandType[];

/** Commands only the leader may propose; a server refuses them from clients. */
export function isLeaderCommand(cmd: Command): cmd is ExpireSessionsCommand | TickCommand {
  return cmd.type === 'expire-sessions' || cmd.type === 'tick';
}

export function isWriteCommand(cmd: Command): cmd is WriteCommand {
  return 'seq' in cmd;
}

// ---- validation -------------------------------------------------------------------------------

/** Thrown inside validation only, turned into an INVALID_ARGUMENT result at the boundary. */
class Invalid {
  constructor(readonly message: string) {}
}

/** Fields allowed per type (beyond `type`); the second list holds the optional ones. */
const FIELDS: { readonly [K in CommandType]: readonly [required: readonly string[], optional: readonly string[]] } = {
  'open-session': [['ttlMs'], ['clientId']],
  'keep-alive': [['session'], ['ackedSeq']],
  'expire-sessions': [['sessions'], []],
  tick: [[], []],
  'close-session': [['session', 'seq'], ['ackedSeq', 'fence']],
  acquire: [['session', 'seq', 'name', 'waitMs'], ['ackedSeq', 'fence']],
  release: [['session', 'seq', 'name'], ['ackedSeq', 'fence']],
  'counter-add': [['session', 'seq', 'name', 'delta'], ['ackedSeq', 'fence']],
  'counter-set': [['session', 'seq', 'name', 'value'], ['ackedSeq', 'fence']],
  'counter-cas': [['session', 'seq', 'name', 'expected', 'next'], ['ackedSeq', 'fence']],
  'counter-get': [['session', 'seq', 'name'], ['ackedSeq', 'fence']],
  'counter-delete': [['session', 'seq', 'name'], ['ackedSeq', 'fence']],
};

const utf8 = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function int(rec: Record<string, unknown>, field: string, min: number, max: number): number {
  const v = rec[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Invalid(`${field} must be a safe integer, got ${describe(v)}`);
  if (v < min || v > max) throw new Invalid(`${field} must be in [${min}, ${max}], got ${v}`);
  return v;
}

/** Validates a name: string, 1..maxNameBytes UTF-8 bytes, well-formed Unicode. */
function checkName(v: unknown, field: string, limits: Limits): string {
  if (typeof v !== 'string') throw new Invalid(`${field} must be a string, got ${describe(v)}`);
  if (v.length === 0) throw new Invalid(`${field} must not be empty`);
  // A UTF-16 length above the byte limit already exceeds it; skips encoding huge strings.
  if (v.length > limits.maxNameBytes) throw new Invalid(`${field} is longer than ${limits.maxNameBytes} UTF-8 bytes`);
  if (LONE_SURROGATE.test(v)) throw new Invalid(`${field} is not well-formed Unicode (lone surrogate)`);
  const bytes = utf8.encode(v).byteLength;
  if (bytes > limits.maxNameBytes) throw new Invalid(`${field} is ${bytes} UTF-8 bytes, more than ${limits.maxNameBytes}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `a string of length ${v.length}`;
  return `a value of type ${typeof v}`;
}

function fenceOf(v: unknown, limits: Limits): Fence {
  if (!isPlainMap(v)) throw new Invalid(`fence must be a map { lock, token }, got ${describe(v)}`);
  for (const k of Object.keys(v)) if (k !== 'lock' && k !== 'token') throw new Invalid(`fence.${k.slice(0, 40)}: unknown field`);
  const lock = checkName(v['lock'], 'fence.lock', limits);
  const token = int(v, 'token', 1, Number.MAX_SAFE_INTEGER);
  return { lock, token };
}

function parse(value: unknown, limits: Limits): Command {
  if (!isPlainMap(value)) throw new Invalid(`a command must be a map, got ${describe(value)}`);
  const type = value['type'];
  if (typeof type !== 'string' || !(COMMAND_TYPES as readonly string[]).includes(type)) {
    throw new Invalid(`unknown command type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : describe(type)}`);
  }
  const t = type as CommandType;
  const [required, optional] = FIELDS[t];
  for (const k of Object.keys(value)) {
    if (k !== 'type' && !required.includes(k) && !optional.includes(k)) throw new Invalid(`${t}: unknown field ${JSON.stringify(k.slice(0, 40))}`);
  }
  for (const k of required) if (value[k] === undefined) throw new Invalid(`${t}: missing field ${k}`);

  const id = (field: string): number => int(value, field, 1, Number.MAX_SAFE_INTEGER);
  const name = (): string => checkName(value['name'], 'name', limits);
  const amount = (field: string): number => int(value, field, -MAX_COUNTER_MAGNITUDE, MAX_COUNTER_MAGNITUDE);

  switch (t) {
    case 'open-session': {
      const ttlMs = int(value, 'ttlMs', MIN_TTL_MS, MAX_TTL_MS);
      if (value['clientId'] === undefined) return { type: t, ttlMs };
      return { type: t, ttlMs, clientId: checkName(value['clientId'], 'clientId', limits) };
    }
    case 'keep-alive': {
      const session = id('session');
      if (value['ackedSeq'] === undefined) return { type: t, session };
      return { type: t, session, ackedSeq: int(value, 'ackedSeq', 0, Number.MAX_SAFE_INTEGER) };
    }
    case 'expire-sessions': {
      const list = value['sessions'];
      if (!Array.isArray(list)) throw new Invalid(`sessions must be an array, got ${describe(list)}`);
      if (list.length > limits.maxSessions) throw new Invalid(`sessions lists ${list.length} ids, more than ${limits.maxSessions}`);
      const sessions = list.map((s: unknown, k) => {
        if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1) throw new Invalid(`sessions[${k}] must be a positive safe integer, got ${describe(s)}`);
        return s;
      });
      return { type: t, sessions };
    }
    case 'tick':
      return { type: t };
    default:
      break;
  }

  // Writes.
  const session = id('session');
  const seq = id('seq');
  const w: { session: number; seq: number; ackedSeq?: number; fence?: Fence } = { session, seq };
  if (value['ackedSeq'] !== undefined) {
    const acked = int(value, 'ackedSeq', 0, Number.MAX_SAFE_INTEGER);
    if (acked >= seq) throw new Invalid(`ackedSeq (${acked}) must be below seq (${seq}): a write's own result cannot have been seen`);
    w.ackedSeq = acked;
  }
  if (value['fence'] !== undefined) w.fence = fenceOf(value['fence'], limits);
  switch (t) {
    case 'close-session':
      return { type: t, ...w };
    case 'acquire':
      return { type: t, ...w, name: name(), waitMs: int(value, 'waitMs', 0, limits.maxWaitMs) };
    case 'release':
      return { type: t, ...w, name: name() };
    case 'counter-add':
      return { type: t, ...w, name: name(), delta: amount('delta') };
    case 'counter-set':
      return { type: t, ...w, name: name(), value: amount('value') };
    case 'counter-cas':
      return { type: t, ...w, name: name(), expected: amount('expected'), next: amount('next') };
    case 'counter-get':
      return { type: t, ...w, name: name() };
    case 'counter-delete':
      return { type: t, ...w, name: name() };
  }
}

/**
 * Checks that `value` is a well-formed command within `limits` and returns it as a fresh plain
 * {@link Command} (no extra fields, nothing shared with the input). Never throws: anything else
 * is an `INVALID_ARGUMENT` failure whose message names the offending field. State-dependent
 * limits (session count, waiters per lock) can only be checked when applying.
 */
export function validateCommand(value: unknown, limits: Limits = DEFAULT_LIMITS): Result<Command> {
  try {
    return ok(parse(value, limits));
  } catch (err) {
    if (err instanceof Invalid) return fail('INVALID_ARGUMENT', err.message);
    // Anything else is a bug here, not bad input; still never crash the caller on input.
    return fail('INVALID_ARGUMENT', `invalid command (${err instanceof Error ? err.message.slice(0, 80) : 'unknown error'})`);
  }
}

/** Validates a log time stamp. */
export function isValidTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_LOG_TIME;
}
