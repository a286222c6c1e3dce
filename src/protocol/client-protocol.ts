/**
 * The client wire protocol of `ws://<address>/client` (docs/design.md#client-wire-protocol):
 * MessagePack frames carrying requests with ids and the responses matched to them. The server
 * endpoint and the SDK both use the helpers here, so the two cannot drift apart.
 *
 * Frames:
 * - **Request**: one binary WebSocket frame holding one msgpack map
 *   `{ id, op, ...args }`, `id` a safe integer ≥ 0 chosen by the client (unique among its
 *   requests in flight on that connection), `op` one of {@link CLIENT_OPS}.
 * - **Response**: one frame per request, `{ id, ok: true, value, index? }` (`index`: a write's
 *   entry, or the index a read's state is at) or
 *   `{ id, ok: false, error: { code, message, field?, leader?, leaderAddress?, outcomeUnknown?, resyncFrom? } }`.
 * - **Watch frames** (watch.ts): `{ watch, events, through }` and `{ watch, end }`, pushed by the node
 *   for a watch the client started; they carry no `id`.
 *   Responses may arrive in any order (a blocked acquire answers late), so clients match by id.
 *
 * Decisions:
 * - **One request per frame, no array batches.** Each request is answered on its own and at
 *   its own time anyway (a parked acquire must not hold back the others), so a batch would save
 *   only WebSocket framing, a few bytes, while adding a second shape to validate and the question
 *   of what a half-malformed batch means. An array is refused like any other bad frame.
 * - **Strict**: unknown ops and unknown fields are refused, not ignored (as on `/raft`): a field
 *   the server silently dropped — a `fence`, say — would change a write's meaning unnoticed.
 *   Write ops are checked by {@link parseClientCommand} (ranges, name sizes, Unicode), the gate
 *   the state machine also runs on every entry, so the client gets the error the log would give.
 * - Every request is validated here once, on its way in; what passes is typed, and the layers
 *   below do not check it again.
 * - A frame that is not a map with a valid `id` is answered with `id: null` (the client cannot
 *   match it to a request, but learns that it speaks the protocol wrongly).
 * - Decoding throws only {@link ClientProtocolError}, whatever the bytes.
 */
import {
  CLIENT_COMMAND_TYPES,
  checkPermitKind,
  checkSessionSecret,
  isClientCommandType,
  parseClientCommand,
  type ClientCommand,
  type ClientCommandType,
  type PermitKind,
} from './commands.js';
import { isErrorCode, type ErrorCode } from './errors.js';
import { FieldError, booleanField, checkName, checkShape, intField } from './fields.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { DecodeError, describe, isPlainMap, packValue, quote, unpackValue, withoutUndefined } from './msgpack.js';
import { MAX_LIST_LIMIT, type Op } from './values.js';
import { parseWatchArgs, type WatchArgs } from './watch.js';

/** Version of this protocol, reported by `hello`. */
export const CLIENT_PROTOCOL_VERSION = 1;

/** Longest `token` accepted in `hello` (UTF-16 code units); real tokens are far shorter. */
export const MAX_TOKEN_LENGTH = 1024;

/** Ops answered without the log. */
export const QUERY_OPS = [
  'hello',
  'bind',
  'status',
  'counter-get',
  'lock-info',
  'semaphore-info',
  'rwlock-info',
  'election-info',
  'list-locks',
  'list-counters',
  'list-permits',
] as const;

/**
 * Ops that start and end watches (watch.ts): answered at once, without the log; a watch's
 * events then come in frames of their own.
 */
export const WATCH_OPS = ['watch', 'unwatch'] as const;

/** Every op of the protocol: the queries, the watch ops and the client commands. */
export const CLIENT_OPS = [...QUERY_OPS, ...WATCH_OPS, ...CLIENT_COMMAND_TYPES] as const satisfies readonly Op[];

/** An op of {@link CLIENT_OPS}. */
export type ClientOp = (typeof CLIENT_OPS)[number];

/** A request whose op is a command: the command's fields, flat, beside `id` and `op`. */
export type CommandRequest = {
  [O in ClientCommandType]: { readonly id: number; readonly op: O } & WithoutType<Extract<ClientCommand, { readonly type: O }>>;
}[ClientCommandType];

/** A command without its `type`, member by member (a command may itself be a union: `acquire-permit`). */
type WithoutType<C> = C extends unknown ? Omit<C, 'type'> : never;

/** A decoded, validated request. */
export type ClientRequest =
  /** Required first when the server has a client token; optional otherwise. */
  | { readonly id: number; readonly op: 'hello'; readonly token?: string }
  /**
   * Proves a session on this connection with the secret `open-session` answered; every later
   * request naming the session on this connection is then accepted without the secret. The
   * connection that opened a session has it bound already.
   */
  | { readonly id: number; readonly op: 'bind'; readonly session: number; readonly secret: string }
  /** This node's id and role, and the leader it knows of. */
  | { readonly id: number; readonly op: 'status' }
  /** Linearizable (ReadIndex) unless `stale`, which reads the answering node as it is. */
  | { readonly id: number; readonly op: 'counter-get'; readonly name: string; readonly stale?: boolean }
  | { readonly id: number; readonly op: 'lock-info'; readonly name: string; readonly stale?: boolean }
  | { readonly id: number; readonly op: 'semaphore-info'; readonly name: string; readonly stale?: boolean }
  | { readonly id: number; readonly op: 'rwlock-info'; readonly name: string; readonly stale?: boolean }
  | { readonly id: number; readonly op: 'election-info'; readonly name: string; readonly stale?: boolean }
  /**
   * A page of the held (or awaited) locks, or of the non-zero counters, whose names start with
   * `prefix`, after `after`, at most `limit` (default {@link DEFAULT_LIST_LIMIT}); read like
   * `lock-info`.
   */
  | ({ readonly id: number; readonly op: 'list-locks' } & ListArgs)
  | ({ readonly id: number; readonly op: 'list-counters' } & ListArgs)
  /** A page of the semaphores, readers-writer locks or elections (`kind`) in use, read like `list-locks`. */
  | ({ readonly id: number; readonly op: 'list-permits'; readonly kind: PermitKind } & ListArgs)
  /** Starts a watch of this connection (watch.ts); answered with its id and first index. */
  | ({ readonly id: number; readonly op: 'watch' } & WatchArgs)
  /** Ends watch `watch` of this connection. */
  | { readonly id: number; readonly op: 'unwatch'; readonly watch: number }
  | CommandRequest;

/** What a listing asks for (see {@link ClientRequest}). */
export interface ListArgs {
  readonly prefix?: string;
  readonly after?: string;
  readonly limit?: number;
  readonly stale?: boolean;
}

/** A request without its id (the connection assigns ids). */
export type RequestBody = ClientRequest extends infer R ? (R extends ClientRequest ? Omit<R, 'id'> : never) : never;

/** The request body of op `O`. */
export type RequestOf<O extends ClientOp> = Extract<RequestBody, { readonly op: O }>;

/** The error part of a failed response. */
export interface ClientError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The offending field of a malformed request, when known (e.g. `id`, `op`, `stale`). */
  readonly field?: string;
  /** NOT_LEADER: the leader this node knows of, if any. */
  readonly leader?: number;
  /** NOT_LEADER: that leader's client address (`host:port`), if known. */
  readonly leaderAddress?: string;
  /** UNAVAILABLE: whether a write may still take effect (retry it with the same session and seq). */
  readonly outcomeUnknown?: boolean;
  /** COMPACTED: the oldest index a watch can start from now. */
  readonly resyncFrom?: number;
}

/** A response. `id` is null only for a frame that carried no usable request id. */
export type ClientResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown; readonly index?: number }
  | { readonly id: number | null; readonly ok: false; readonly error: ClientError };

/** A frame or value that is not valid protocol. Carries what the error response needs. */
export class ClientProtocolError extends Error {
  override readonly name = 'ClientProtocolError';
  constructor(
    /** The request's id if it could be read, else null. */
    readonly id: number | null,
    /** Where it went wrong (`frame`, `id`, `op`, a field name...). */
    readonly field: string,
    message: string,
    readonly code: ErrorCode = 'INVALID_ARGUMENT',
  ) {
    super(message);
  }

  /** The error response for this failure. */
  toResponse(): ClientResponse {
    return { id: this.id, ok: false, error: { code: this.code, message: this.message, field: this.field } };
  }
}

function isRequestId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const KNOWN_OPS: ReadonlySet<string> = new Set(CLIENT_OPS);

// ---- requests ---------------------------------------------------------------------------------

/**
 * Validates an already-decoded value as a request. Throws only {@link ClientProtocolError},
 * whose `id` is the request's when it could be read, so the error can be answered to it.
 * @param limits the state machine's limits (names, waits), as the cluster is configured.
 */
export function parseRequest(value: unknown, limits: Limits = DEFAULT_LIMITS): ClientRequest {
  if (!isPlainMap(value)) throw new ClientProtocolError(null, 'frame', `a request must be a map { id, op, ... }, got ${describe(value)}`);
  const id = value['id'];
  if (!isRequestId(id)) throw new ClientProtocolError(null, 'id', `id must be a safe integer >= 0, got ${describe(id)}`);
  const op = value['op'];
  if (typeof op !== 'string') throw new ClientProtocolError(id, 'op', `op must be a string, got ${describe(op)}`);
  if (!KNOWN_OPS.has(op)) throw new ClientProtocolError(id, 'op', `unknown op ${quote(op)}; known ops: ${CLIENT_OPS.join(', ')}`);
  try {
    return parseFields(id, op as ClientOp, value, limits);
  } catch (err) {
    if (err instanceof FieldError) throw new ClientProtocolError(id, err.field, err.message);
    throw err;
  }
}

/** The fields of a request of a known op; throws {@link FieldError}. */
function parseFields(id: number, op: ClientOp, rec: Readonly<Record<string, unknown>>, limits: Limits): ClientRequest {
  if (isClientCommandType(op)) {
    // `type` cannot be smuggled in: it is an unknown field of a request.
    const { type: _type, ...fields } = parseClientCommand(op, rec, limits, ['id', 'op']);
    return { id, op, ...fields } as CommandRequest;
  }
  switch (op) {
    case 'hello': {
      checkShape(rec, op, [], ['token'], ['id', 'op']);
      const token = rec['token'];
      if (token === undefined) return { id, op };
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
        throw new FieldError('token', `token must be a string of at most ${MAX_TOKEN_LENGTH} characters, got ${describe(token)}`);
      }
      return { id, op, token };
    }
    case 'bind':
      checkShape(rec, op, ['session', 'secret'], [], ['id', 'op']);
      return { id, op, session: intField(rec, 'session', 1, Number.MAX_SAFE_INTEGER), secret: checkSessionSecret(rec['secret'], 'secret') };
    case 'status':
      checkShape(rec, op, [], [], ['id', 'op']);
      return { id, op };
    case 'list-locks':
    case 'list-counters':
      checkShape(rec, op, [], ['prefix', 'after', 'limit', 'stale'], ['id', 'op']);
      return { id, op, ...parseListArgs(rec, limits) };
    case 'watch':
      checkShape(rec, op, [], ['prefix', 'kinds', 'fromIndex'], ['id', 'op']);
      return { id, op, ...parseWatchArgs(rec, limits.maxNameBytes) };
    case 'unwatch':
      checkShape(rec, op, ['watch'], [], ['id', 'op']);
      return { id, op, watch: intField(rec, 'watch', 1, Number.MAX_SAFE_INTEGER) };
    case 'list-permits':
      checkShape(rec, op, ['kind'], ['prefix', 'after', 'limit', 'stale'], ['id', 'op']);
      return { id, op, kind: checkPermitKind(rec['kind'], 'kind'), ...parseListArgs(rec, limits) };
    case 'counter-get':
    case 'lock-info':
    case 'semaphore-info':
    case 'rwlock-info':
    case 'election-info': {
      checkShape(rec, op, ['name'], ['stale'], ['id', 'op']);
      // The name rule of every layer: a read refuses exactly what a write would.
      const name = checkName(rec['name'], 'name', limits.maxNameBytes);
      if (rec['stale'] === undefined) return { id, op, name };
      return { id, op, name, stale: booleanField(rec, 'stale') };
    }
  }
}

function parseListArgs(rec: Readonly<Record<string, unknown>>, limits: Limits): ListArgs {
  const args: { prefix?: string; after?: string; limit?: number; stale?: boolean } = {};
  // A prefix is any name's beginning, so the empty one too (the same as none).
  if (rec['prefix'] !== undefined && rec['prefix'] !== '') args.prefix = checkName(rec['prefix'], 'prefix', limits.maxNameBytes);
  if (rec['after'] !== undefined) args.after = checkName(rec['after'], 'after', limits.maxNameBytes);
  if (rec['limit'] !== undefined) args.limit = intField(rec, 'limit', 1, MAX_LIST_LIMIT);
  if (rec['stale'] !== undefined) args.stale = booleanField(rec, 'stale');
  return args;
}

/**
 * Decodes and validates one request frame. Throws only {@link ClientProtocolError} (never
 * msgpackr's exceptions), with `id: null` when the frame carried no usable id.
 */
export function decodeRequest(frame: Uint8Array, limits: Limits = DEFAULT_LIMITS): ClientRequest {
  let value: unknown;
  try {
    value = unpackValue(frame, 'frame');
  } catch (err) {
    throw new ClientProtocolError(null, 'frame', err instanceof DecodeError ? err.message : 'frame: not valid MessagePack');
  }
  return parseRequest(value, limits);
}

/**
 * Encodes a request for the wire. Fields that are `undefined` are left out (msgpackr would
 * otherwise send them, and the server would see a present-but-empty field).
 */
export function encodeRequest(request: ClientRequest): Buffer {
  return packValue(withoutUndefined(request));
}

/** The command a command request stands for. */
export function requestCommand(request: CommandRequest): ClientCommand {
  const { id: _id, op, ...fields } = request;
  return { type: op, ...fields } as ClientCommand;
}

/** Whether a request's op is a command (goes through the log). */
export function isCommandRequest(request: ClientRequest): request is CommandRequest {
  return isClientCommandType(request.op);
}

// ---- responses --------------------------------------------------------------------------------

/** Encodes a response for the wire (undefined fields left out). */
export function encodeResponse(response: ClientResponse): Buffer {
  const out: Record<string, unknown> = { id: response.id, ok: response.ok };
  if (response.ok) {
    out['value'] = response.value ?? null;
    if (response.index !== undefined) out['index'] = response.index;
  } else {
    out['error'] = withoutUndefined(response.error);
  }
  return packValue(out);
}

const ERROR_FIELDS = new Set(['code', 'message', 'field', 'leader', 'leaderAddress', 'outcomeUnknown', 'resyncFrom']);

/**
 * Decodes and validates one response frame (the SDK's side). The envelope is checked strictly;
 * `value` is returned as decoded, for the caller to interpret by the op it sent. Throws only
 * {@link ClientProtocolError}.
 */
export function decodeResponse(frame: Uint8Array): ClientResponse {
  let value: unknown;
  try {
    value = unpackValue(frame, 'frame');
  } catch (err) {
    throw new ClientProtocolError(null, 'frame', err instanceof DecodeError ? err.message : 'frame: not valid MessagePack');
  }
  return parseResponse(value);
}

/** Validates an already-decoded value as a response (see {@link decodeResponse}). */
export function parseResponse(value: unknown): ClientResponse {
  if (!isPlainMap(value)) throw new ClientProtocolError(null, 'frame', `a response must be a map, got ${describe(value)}`);
  const rawId = value['id'];
  if (rawId !== null && !isRequestId(rawId))
    throw new ClientProtocolError(null, 'id', `id must be a safe integer >= 0 or null, got ${describe(rawId)}`);
  const id = rawId;
  const okField = value['ok'];
  if (okField === true) {
    if (id === null) throw new ClientProtocolError(null, 'id', 'a successful response needs an id');
    for (const k of Object.keys(value)) {
      if (k !== 'id' && k !== 'ok' && k !== 'value' && k !== 'index')
        throw new ClientProtocolError(id, k.slice(0, 40), `unknown response field ${quote(k)}`);
    }
    if (!Object.hasOwn(value, 'value')) throw new ClientProtocolError(id, 'value', 'missing field value');
    const index = value['index'];
    if (index === undefined) return { id, ok: true, value: value['value'] };
    if (!isRequestId(index)) throw new ClientProtocolError(id, 'index', `index must be a safe integer >= 0, got ${describe(index)}`);
    return { id, ok: true, value: value['value'], index };
  }
  if (okField !== false) throw new ClientProtocolError(id, 'ok', `ok must be a boolean, got ${describe(okField)}`);
  for (const k of Object.keys(value)) {
    if (k !== 'id' && k !== 'ok' && k !== 'error') throw new ClientProtocolError(id, k.slice(0, 40), `unknown response field ${quote(k)}`);
  }
  const e = value['error'];
  if (!isPlainMap(e)) throw new ClientProtocolError(id, 'error', `error must be a map, got ${describe(e)}`);
  for (const k of Object.keys(e))
    if (!ERROR_FIELDS.has(k)) throw new ClientProtocolError(id, `error.${k.slice(0, 40)}`, `unknown error field ${quote(k)}`);
  const code = e['code'];
  if (!isErrorCode(code)) throw new ClientProtocolError(id, 'error.code', `unknown error code ${describe(code)}`);
  const message = e['message'];
  if (typeof message !== 'string')
    throw new ClientProtocolError(id, 'error.message', `error.message must be a string, got ${describe(message)}`);
  const error: {
    code: ErrorCode;
    message: string;
    field?: string;
    leader?: number;
    leaderAddress?: string;
    outcomeUnknown?: boolean;
    resyncFrom?: number;
  } = {
    code,
    message,
  };
  const { field, leader, leaderAddress, outcomeUnknown, resyncFrom } = e;
  if (field !== undefined) {
    if (typeof field !== 'string') throw new ClientProtocolError(id, 'error.field', 'error.field must be a string');
    error.field = field;
  }
  if (leader !== undefined) {
    if (typeof leader !== 'number' || !Number.isSafeInteger(leader) || leader <= 0)
      throw new ClientProtocolError(id, 'error.leader', 'error.leader must be a positive safe integer');
    error.leader = leader;
  }
  if (leaderAddress !== undefined) {
    if (typeof leaderAddress !== 'string') throw new ClientProtocolError(id, 'error.leaderAddress', 'error.leaderAddress must be a string');
    error.leaderAddress = leaderAddress;
  }
  if (outcomeUnknown !== undefined) {
    if (typeof outcomeUnknown !== 'boolean')
      throw new ClientProtocolError(id, 'error.outcomeUnknown', 'error.outcomeUnknown must be a boolean');
    error.outcomeUnknown = outcomeUnknown;
  }
  if (resyncFrom !== undefined) {
    if (typeof resyncFrom !== 'number' || !Number.isSafeInteger(resyncFrom) || resyncFrom < 1)
      throw new ClientProtocolError(id, 'error.resyncFrom', 'error.resyncFrom must be a positive safe integer');
    error.resyncFrom = resyncFrom;
  }
  return { id, ok: false, error };
}
