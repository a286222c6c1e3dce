/**
 * What a node sends on `/client`, as a client reads it: responses (client-protocol.ts) and, beside
 * them, the frames a watch pushes without a request (src/protocol/watch.ts): its events and its
 * end. A pushed frame is told apart by having `watch` and no `id`. Everything is checked before
 * use, as for responses: a node is trusted to be a raftlock node, not to be free of bugs or
 * version skew, so a frame that breaks the contract is refused whole ({@link ClientProtocolError}),
 * never cast.
 */
import { ClientProtocolError, parseResponse, type ClientResponse } from './client-protocol.js';
import { DecodeError, describe, isPlainMap, unpackValue } from './msgpack.js';
import { WATCH_EVENT_TYPES, WATCH_KINDS, type WatchEndFrame, type WatchEvent, type WatchEventsFrame } from './watch.js';

/** One frame from a node: a response to a request, or a frame a watch pushed. */
export type ServerFrame = ClientResponse | WatchEventsFrame | WatchEndFrame;

/** Whether `frame` was pushed by a watch (rather than answering a request). */
export function isWatchFrame(frame: ServerFrame): frame is WatchEventsFrame | WatchEndFrame {
  return 'watch' in frame;
}

const EVENT_TYPES: ReadonlySet<string> = new Set(WATCH_EVENT_TYPES);
const KINDS: ReadonlySet<string> = new Set(WATCH_KINDS);
const END_CODES: ReadonlySet<string> = new Set(['COMPACTED', 'LIMIT_EXCEEDED', 'UNAVAILABLE']);
/** The optional fields of an event and how each is checked. */
const EVENT_FIELDS: Readonly<Record<string, (v: unknown) => boolean>> = {
  name: (v) => typeof v === 'string',
  session: (v) => isIndex(v),
  token: (v) => isIndex(v),
  seq: (v) => isIndex(v),
  weight: (v) => isIndex(v),
  mode: (v) => v === 'read' || v === 'write',
  value: (v) => typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)),
  reason: (v) => typeof v === 'string',
};

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

function refuse(field: string, message: string): never {
  throw new ClientProtocolError(null, field, message);
}

/** One event of an events frame, checked field by field. */
function parseEvent(v: unknown, path: string): WatchEvent {
  if (!isPlainMap(v)) refuse(path, `${path} must be a map, got ${describe(v)}`);
  const { index, type, kind } = v;
  if (!isIndex(index)) refuse(`${path}.index`, `${path}.index must be a safe integer >= 1, got ${describe(index)}`);
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) refuse(`${path}.type`, `${path}.type: unknown event type ${describe(type)}`);
  if (typeof kind !== 'string' || !KINDS.has(kind)) refuse(`${path}.kind`, `${path}.kind: unknown kind ${describe(kind)}`);
  for (const [k, x] of Object.entries(v)) {
    if (k === 'index' || k === 'type' || k === 'kind') continue;
    const check = EVENT_FIELDS[k];
    if (check === undefined) refuse(`${path}.${k.slice(0, 40)}`, `${path}: unknown event field ${JSON.stringify(k.slice(0, 40))}`);
    if (!check(x)) refuse(`${path}.${k}`, `${path}.${k} is malformed: ${describe(x)}`);
  }
  return v as unknown as WatchEvent;
}

/** A pushed frame (`watch` present, no `id`), checked. */
function parseWatchFrame(v: Record<string, unknown>): WatchEventsFrame | WatchEndFrame {
  const watch = v['watch'];
  if (typeof watch !== 'number' || !Number.isSafeInteger(watch) || watch < 0)
    refuse('watch', `watch must be a safe integer >= 0, got ${describe(watch)}`);
  const keys = Object.keys(v).sort().join(',');
  if (keys === 'end,watch') {
    const end = v['end'];
    if (!isPlainMap(end)) refuse('end', `end must be a map, got ${describe(end)}`);
    const { code, message, resyncFrom } = end;
    if (typeof code !== 'string' || !END_CODES.has(code)) refuse('end.code', `end.code: unexpected ${describe(code)}`);
    if (typeof message !== 'string') refuse('end.message', `end.message must be a string, got ${describe(message)}`);
    if (resyncFrom !== undefined && !isIndex(resyncFrom)) refuse('end.resyncFrom', `end.resyncFrom is malformed: ${describe(resyncFrom)}`);
    for (const k of Object.keys(end))
      if (k !== 'code' && k !== 'message' && k !== 'resyncFrom') refuse(`end.${k.slice(0, 40)}`, 'unknown field of end');
    return v as unknown as WatchEndFrame;
  }
  if (keys !== 'events,through,watch')
    refuse('frame', `a watch frame has { watch, events, through } or { watch, end }, got fields ${keys.slice(0, 80)}`);
  const list = v['events'];
  if (!Array.isArray(list)) refuse('events', `events must be an array, got ${describe(list)}`);
  const events = (list as unknown[]).map((e, k) => parseEvent(e, `events[${k}]`));
  for (let k = 1; k < events.length; k++) {
    if ((events[k] as WatchEvent).index < (events[k - 1] as WatchEvent).index) refuse(`events[${k}].index`, 'events out of index order');
  }
  const through = v['through'];
  if (!isIndex(through) || through < (events[events.length - 1]?.index ?? 0))
    refuse('through', `through must be an index at or past the frame's last event, got ${describe(through)}`);
  return { watch, events, through };
}

/**
 * Decodes one frame from a node. Throws only {@link ClientProtocolError}, whatever the bytes:
 * the SDK then gives up on the connection, as for any undecodable answer.
 */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  let value: unknown;
  try {
    value = unpackValue(bytes, 'frame');
  } catch (err) {
    throw new ClientProtocolError(null, 'frame', err instanceof DecodeError ? err.message : 'frame: not valid MessagePack');
  }
  if (isPlainMap(value) && !Object.hasOwn(value, 'id') && Object.hasOwn(value, 'watch')) return parseWatchFrame(value);
  return parseResponse(value);
}
