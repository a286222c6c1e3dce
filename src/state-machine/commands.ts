/**
 * Commands of the lock/counter state machine, and their validation: the clients' commands
 * (src/protocol, re-exported here) plus the ones only the leader proposes and the log-ordered
 * read.
 *
 * {@link validateCommand} is the gate for an entry's command: the machine runs it on every
 * entry it applies, because an entry written by another version, or a buggy leader, must still
 * be refused the same way on every replica, never thrown on. Client input has passed the same
 * rules once already, at the edge (src/protocol), and is not checked again before proposing.
 *
 * `expire-sessions` and `tick` are leader commands ({@link isLeaderCommand}): no client op
 * produces them, so nothing from the network can forge the leader's judgement of time.
 */
import {
  CLIENT_COMMAND_TYPES,
  FieldError,
  checkSessionSecret,
  checkName,
  checkShape,
  describe,
  isClientCommandType,
  isPlainMap,
  parseClientCommand,
  parseWriteFields,
  MAX_LOG_TIME,
  DEFAULT_LIMITS,
  type ClientCommand,
  type Limits,
  type OpenSessionCommand,
  type WriteFields,
} from '../protocol/index.js';
import { fail, ok, type Result } from './errors.js';

export type {
  AcquireAllCommand,
  AcquireCommand,
  AcquirePermitCommand,
  CancelPermitCommand,
  ReleasePermitCommand,
  BreakLockCommand,
  ReleaseAllCommand,
  CancelWaitCommand,
  ClientCommand,
  CloseSessionCommand,
  CounterAddCommand,
  CounterCasCommand,
  CounterDeleteCommand,
  CounterSetCommand,
  Fence,
  KeepAliveCommand,
  OpenSessionCommand,
  ProclaimCommand,
  ReleaseCommand,
  WriteFields,
} from '../protocol/index.js';

/**
 * `open-session` as it enters the log: the client's command plus the session's secret, drawn
 * by the leader's service (a client cannot choose it; its request has no such field).
 */
export interface OpenSessionEntry extends OpenSessionCommand {
  readonly secret: string;
  /** The name of the client token that asked, when the cluster has tokens (the endpoint's). */
  readonly owner?: string;
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

/**
 * Reads a counter through the log (a write of the session, answered with the value at its
 * index). Clients read through ReadIndex instead; the simulator uses this to check the two agree.
 */
export interface CounterGetCommand extends WriteFields {
  readonly type: 'counter-get';
  readonly name: string;
}

/** Every command of the machine. */
export type Command =
  Exclude<ClientCommand, OpenSessionCommand> | OpenSessionEntry | ExpireSessionsCommand | TickCommand | CounterGetCommand;

/**
 * What a client may have the service propose: its commands (`open-session` without a secret:
 * the service adds it) and the log-ordered read.
 */
export type SessionCommand = ClientCommand | CounterGetCommand;

/** The commands that carry a session's (session, seq) and go through its exactly-once table. */
export type WriteCommand = Extract<Command, { readonly seq: number }>;

export type CommandType = Command['type'];

export const COMMAND_TYPES = [...CLIENT_COMMAND_TYPES, 'expire-sessions', 'tick', 'counter-get'] as const satisfies readonly CommandType[];

/** Commands only the leader may propose. */
export function isLeaderCommand(cmd: Command): cmd is ExpireSessionsCommand | TickCommand {
  return cmd.type === 'expire-sessions' || cmd.type === 'tick';
}

export function isWriteCommand(cmd: Command): cmd is WriteCommand {
  return 'seq' in cmd;
}

/** Longest owner: a client token's name (src/server/config.ts allows 64 characters). */
const MAX_OWNER_LENGTH = 64;

function parse(value: unknown, limits: Limits): Command {
  if (!isPlainMap(value)) throw new FieldError('command', `a command must be a map, got ${describe(value)}`);
  const type = value['type'];
  if (type === 'open-session') {
    const cmd = parseClientCommand(type, value, limits, ['type', 'secret', 'owner']) as OpenSessionCommand;
    if (value['secret'] === undefined) throw new FieldError('secret', 'open-session: missing field secret');
    const owner = value['owner'];
    if (owner !== undefined && (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH)) {
      throw new FieldError('owner', `owner must be a token name of 1 to ${MAX_OWNER_LENGTH} characters`);
    }
    const entry = { ...cmd, secret: checkSessionSecret(value['secret'], 'secret') };
    return owner === undefined ? entry : { ...entry, owner };
  }
  // Every client command but open-session (handled above) is a machine command as it is.
  if (isClientCommandType(type)) return parseClientCommand(type, value, limits) as Exclude<ClientCommand, OpenSessionCommand>;
  switch (type) {
    case 'expire-sessions': {
      checkShape(value, type, ['sessions'], [], ['type']);
      const list = value['sessions'];
      if (!Array.isArray(list)) throw new FieldError('sessions', `sessions must be an array, got ${describe(list)}`);
      if (list.length > limits.maxSessions)
        throw new FieldError('sessions', `sessions lists ${list.length} ids, more than ${limits.maxSessions}`);
      const sessions = list.map((s: unknown, k) => {
        if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1)
          throw new FieldError(`sessions[${k}]`, `sessions[${k}] must be a positive safe integer, got ${describe(s)}`);
        return s;
      });
      return { type, sessions };
    }
    case 'tick':
      checkShape(value, type, [], [], ['type']);
      return { type };
    case 'counter-get': {
      checkShape(value, type, ['session', 'seq', 'name'], ['ackedSeq', 'fence'], ['type']);
      const w = parseWriteFields(value, limits);
      return { type, ...w, name: checkName(value['name'], 'name', limits.maxNameBytes) };
    }
    default:
      throw new FieldError('type', `unknown command type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : describe(type)}`);
  }
}

/**
 * Checks that `value` is a well-formed command within `limits` and returns it as a fresh plain
 * {@link Command} (no extra fields, nothing shared with the input). Never throws: anything else
 * is an `INVALID_ARGUMENT` failure whose message names the offending field. State-dependent
 * limits (session count, waiters per lock) can only be checked when applying.
 */
export function validateCommand(value: unknown, limits: Limits = DEFAULT_LIMITS): Result<Command> {
  return guarded(() => parse(value, limits));
}

/**
 * Like {@link validateCommand}, for a command as a client sends it to the service: an
 * `open-session` without its secret (the leader's service adds it), and no leader command.
 */
export function validateSessionCommand(value: unknown, limits: Limits = DEFAULT_LIMITS): Result<SessionCommand> {
  return guarded((): SessionCommand => {
    if (isPlainMap(value) && value['type'] === 'open-session') return parseClientCommand('open-session', value, limits);
    const cmd = parse(value, limits);
    if (isLeaderCommand(cmd)) throw new FieldError('type', `${cmd.type} is proposed by the leader only`);
    return cmd;
  });
}

function guarded<T>(f: () => T): Result<T> {
  try {
    return ok(f());
  } catch (err) {
    if (err instanceof FieldError) return fail('INVALID_ARGUMENT', err.message);
    // Anything else is a bug here, not bad input; still never crash the caller on input.
    return fail('INVALID_ARGUMENT', `invalid command (${err instanceof Error ? err.message.slice(0, 80) : 'unknown error'})`);
  }
}

/** Validates a log time stamp. */
export function isValidTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_LOG_TIME;
}
