/**
 * Wire encoding of Raft peer messages (docs/design.md#peer-protocol): an array of
 * {@link Message}s becomes one msgpackr value, and every decoded value is validated field by
 * field before it may reach the core. A peer is trusted to be a cluster member (the handshake
 * checks that), not to be free of bugs or version skew, so decoding never trusts the shape of
 * what arrives.
 *
 * Decisions:
 * - **Unknown fields are rejected**, not ignored. Silently dropping a field a newer peer relies
 *   on would change the protocol's meaning without anyone noticing; the handshake's protocol
 *   version is the place to evolve the format, and a strict decoder makes a skew fail loudly
 *   (the frame is refused and logged) instead of half-working.
 * - Decoding throws only {@link DecodeError}, whatever the bytes: msgpackr's own exceptions
 *   (truncated data, unknown extensions, stack overflow on deep nesting, trailing bytes) are
 *   caught and converted.
 * - Entry data is copied into a plain `Uint8Array`: msgpackr hands out views into the frame's
 *   buffer (a Node `Buffer`), and keeping one small view alive would pin the whole frame in
 *   memory for as long as the entry lives in the log.
 * - Structural invariants the core relies on and can check cheaply are checked here too:
 *   entries of an append are contiguous from `prevLogIndex + 1` and their terms never decrease
 *   nor exceed the message's term (Raft §5.3: a leader only holds entries of terms ≤ its own).
 * - So are the ranges of each kind that no correct peer leaves, whatever the receiver's state
 *   ({@link checkRanges}); what depends on the receiver's state is refused by its core
 *   (docs/design.md#security).
 */
import { DecodeError, isPlainMap, packValue, unpackValue } from '../protocol/index.js';
import {
  assertNever,
  confProblem,
  decodeConfigEntry,
  MAX_CONF_CONTEXT_BYTES,
  MAX_MEMBERS,
  type ConfState,
  type MemberContext,
  type Entry,
  type Message,
  type MessageType,
  type NodeId,
  type SnapshotMeta,
} from '../raft/index.js';

/** Longest read context accepted (UTF-16 code units). The host's contexts are ~20 characters. */
export const MAX_CONTEXT_LENGTH = 1024;
/** Most ids accepted in one list of a snapshot's configuration. */
export const MAX_CONF_IDS = 10_000;

// ---- field checks -----------------------------------------------------------------------------

/** The value as a plain object holding only `allowed` keys (all of which must be present). */
export function plainRecord(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecodeError(path, 'expected a map');
  if (!isPlainMap(value)) throw new DecodeError(path, 'expected a plain map');
  const rec = value;
  for (const key of Object.keys(rec)) {
    if (!allowed.includes(key)) throw new DecodeError(`${path}.${key.slice(0, 40)}`, 'unknown field');
  }
  for (const key of allowed) {
    if (!Object.hasOwn(rec, key)) throw new DecodeError(`${path}.${key}`, 'missing');
  }
  return rec;
}

/** A node id: positive safe integer. */
export function nodeId(value: unknown, path: string): NodeId {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new DecodeError(path, 'expected a positive safe integer');
  }
  return value;
}

/** A term or index: non-negative safe integer. */
export function natural(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new DecodeError(path, 'expected a non-negative safe integer');
  }
  return value;
}

/** A boolean (msgpack true/false; 0/1 are not booleans). */
export function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new DecodeError(path, 'expected a boolean');
  return value;
}

/** A string of at most `maxLength` UTF-16 code units. */
export function string(value: unknown, path: string, maxLength: number): string {
  if (typeof value !== 'string') throw new DecodeError(path, 'expected a string');
  if (value.length > maxLength) throw new DecodeError(path, `longer than ${maxLength}`);
  return value;
}

/** Bytes, copied into a plain Uint8Array (see the module comment for why). */
export function bytes(value: unknown, path: string, maxLength = Number.MAX_SAFE_INTEGER): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new DecodeError(path, 'expected binary data');
  if (value.byteLength > maxLength) throw new DecodeError(path, `longer than ${maxLength} bytes`);
  return new Uint8Array(value);
}

function array(value: unknown, path: string, maxLength: number): readonly unknown[] {
  if (!Array.isArray(value)) throw new DecodeError(path, 'expected an array');
  if (value.length > maxLength) throw new DecodeError(path, `more than ${maxLength} elements`);
  return value as readonly unknown[];
}

function context(value: unknown, path: string): string {
  return string(value, path, MAX_CONTEXT_LENGTH);
}

function contextOrNull(value: unknown, path: string): string | null {
  return value === null ? null : context(value, path);
}

const ENTRY_TYPES: ReadonlySet<string> = new Set<Entry['type']>(['normal', 'noop', 'config']);

function entry(value: unknown, path: string): Entry {
  const r = plainRecord(value, path, ['index', 'term', 'type', 'data']);
  const type = r['type'];
  if (typeof type !== 'string' || !ENTRY_TYPES.has(type)) throw new DecodeError(`${path}.type`, 'unknown entry type');
  const data = bytes(r['data'], `${path}.data`);
  // A configuration entry changes who votes the moment it is appended, so its data is checked
  // here, at the edge, like any other field: the core trusts what it appends.
  if (type === 'config') {
    const decoded = decodeConfigEntry(data);
    if (typeof decoded === 'string') throw new DecodeError(`${path}.data`, decoded);
  }
  return {
    index: natural(r['index'], `${path}.index`),
    term: natural(r['term'], `${path}.term`),
    type: type as Entry['type'],
    data,
  };
}

function idList(value: unknown, path: string): NodeId[] {
  return array(value, path, MAX_CONF_IDS).map((v, k) => nodeId(v, `${path}[${k}]`));
}

function confState(value: unknown, path: string): ConfState {
  // `contexts` is sent only when some member has one (an older peer never sends it).
  const withContexts = typeof value === 'object' && value !== null && Object.hasOwn(value, 'contexts');
  const r = plainRecord(value, path, withContexts ? ['voters', 'learners', 'contexts'] : ['voters', 'learners']);
  const conf = { voters: idList(r['voters'], `${path}.voters`), learners: idList(r['learners'], `${path}.learners`) };
  if (!withContexts) return conf;
  const contexts = array(r['contexts'], `${path}.contexts`, MAX_MEMBERS).map((v, k): MemberContext => {
    const c = plainRecord(v, `${path}.contexts[${k}]`, ['id', 'context']);
    return {
      id: nodeId(c['id'], `${path}.contexts[${k}].id`),
      context: bytes(c['context'], `${path}.contexts[${k}].context`, MAX_CONF_CONTEXT_BYTES),
    };
  });
  return { ...conf, contexts };
}

function snapshotMeta(value: unknown, path: string): SnapshotMeta {
  const r = plainRecord(value, path, ['index', 'term', 'confState']);
  return {
    index: natural(r['index'], `${path}.index`),
    term: natural(r['term'], `${path}.term`),
    confState: confState(r['confState'], `${path}.confState`),
  };
}

// ---- messages ---------------------------------------------------------------------------------

const BASE = ['type', 'from', 'to', 'term'] as const;

/** The fields (beyond type/from/to/term) of each message type; the whole set, in wire order. */
const FIELDS: { readonly [T in MessageType]: readonly string[] } = {
  vote: [...BASE, 'pre', 'lastLogIndex', 'lastLogTerm', 'transfer'],
  'vote-response': [...BASE, 'pre', 'reject'],
  append: [...BASE, 'prevLogIndex', 'prevLogTerm', 'entries', 'commit'],
  'append-response': [...BASE, 'index', 'reject', 'hintIndex', 'hintTerm'],
  heartbeat: [...BASE, 'commit', 'context'],
  'heartbeat-response': [...BASE, 'context'],
  snapshot: [...BASE, 'snapshot'],
  'timeout-now': [...BASE],
  'read-index': [...BASE, 'context'],
  'read-index-response': [...BASE, 'context', 'index'],
};

function isMessageType(t: unknown): t is MessageType {
  return typeof t === 'string' && Object.hasOwn(FIELDS, t);
}

/**
 * Checks that `value` is exactly one well-formed {@link Message} and returns a fresh copy built
 * only from validated fields. Throws {@link DecodeError} (naming the field) otherwise, and
 * nothing else. Exported for fuzzers and for any other path that accepts messages.
 */
export function validateMessage(value: unknown, path = 'message'): Message {
  try {
    return checkMessage(value, path);
  } catch (err) {
    // Decoded frames hold only plain data, but a fuzzer may hand over anything (a Proxy, a
    // throwing getter): the promise is DecodeError and nothing else.
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(path, 'unreadable value');
  }
}

function checkMessage(value: unknown, path: string): Message {
  return checkRanges(buildMessage(value, path), path);
}

/**
 * What no correct peer of protocol version 1 sends, whatever the receiver's state, by kind. The
 * receiver's state decides the rest (`Raft.step` refuses what no member sends in its state).
 * - Every message but a vote answer speaks for a term ≥ 1: terms start at 1 with the first
 *   campaign. A vote answer may carry term 0: a node that never saw a term refuses a pre-vote.
 * - Index 0 has term 0, every later index a term ≥ 1; a log's terms never exceed the term of a
 *   candidate or leader that holds it (a vote's lastLogTerm, an append's prevLogTerm, a
 *   snapshot's term). A transfer campaign skips PreVote.
 * - An append answer carries a hint only when it rejects, and the hint is at or below the
 *   rejected index and term.
 * - A snapshot covers index ≥ 1, and its configuration lists each node once, with voters.
 * - Read contexts are never empty, and a read point is ≥ 1 (the leader's commit in its term).
 */
function checkRanges(m: Message, path: string): Message {
  const fail = (field: string, why: string): never => {
    throw new DecodeError(`${path}.${field}`, why);
  };
  if (m.term < 1 && m.type !== 'vote-response') fail('term', 'expected a term ≥ 1');
  const indexTerm = (index: number, term: number, field: string, atMost: number): void => {
    if ((index === 0) !== (term === 0)) fail(field, 'index 0 has term 0 and only it does');
    if (term > atMost) fail(field, 'beyond the message term');
  };
  switch (m.type) {
    case 'vote':
      indexTerm(m.lastLogIndex, m.lastLogTerm, 'lastLogTerm', m.term);
      if (m.pre && m.transfer) fail('transfer', 'a transfer campaign skips PreVote');
      break;
    case 'append':
      indexTerm(m.prevLogIndex, m.prevLogTerm, 'prevLogTerm', m.term);
      break;
    case 'append-response':
      if (!m.reject && (m.hintIndex !== 0 || m.hintTerm !== 0)) fail('hintIndex', 'a hint comes only with a rejection');
      if (m.hintIndex > m.index) fail('hintIndex', 'beyond the rejected index');
      if (m.hintTerm > m.term) fail('hintTerm', 'beyond the message term');
      break;
    case 'snapshot': {
      const s = m.snapshot;
      if (s.index < 1) fail('snapshot.index', 'expected an index ≥ 1');
      indexTerm(s.index, s.term, 'snapshot.term', m.term);
      if (s.confState.voters.length === 0) fail('snapshot.confState.voters', 'no voters');
      const ids = [...s.confState.voters, ...s.confState.learners];
      if (new Set(ids).size !== ids.length) fail('snapshot.confState', 'a node listed twice');
      const problem = confProblem(s.confState);
      if (problem !== undefined) fail('snapshot.confState', problem);
      break;
    }
    case 'read-index':
      if (m.context.length === 0) fail('context', 'empty');
      break;
    case 'read-index-response':
      if (m.context.length === 0) fail('context', 'empty');
      if (m.index < 1) fail('index', 'expected a read point ≥ 1');
      break;
    case 'vote-response':
    case 'heartbeat':
    case 'heartbeat-response':
    case 'timeout-now':
      break;
    default:
      assertNever(m, 'message');
  }
  return m;
}

function buildMessage(value: unknown, path: string): Message {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
    throw new DecodeError(path, 'expected a plain map');
  }
  const type = (value as { type?: unknown }).type;
  if (!isMessageType(type)) throw new DecodeError(`${path}.type`, 'unknown message type');
  const r = plainRecord(value, path, FIELDS[type]);
  const from = nodeId(r['from'], `${path}.from`);
  const to = nodeId(r['to'], `${path}.to`);
  const term = natural(r['term'], `${path}.term`);
  const f = (key: string): unknown => r[key];
  const p = (key: string): string => `${path}.${key}`;
  switch (type) {
    case 'vote':
      return {
        type,
        from,
        to,
        term,
        pre: boolean(f('pre'), p('pre')),
        lastLogIndex: natural(f('lastLogIndex'), p('lastLogIndex')),
        lastLogTerm: natural(f('lastLogTerm'), p('lastLogTerm')),
        transfer: boolean(f('transfer'), p('transfer')),
      };
    case 'vote-response':
      return { type, from, to, term, pre: boolean(f('pre'), p('pre')), reject: boolean(f('reject'), p('reject')) };
    case 'append': {
      const prevLogIndex = natural(f('prevLogIndex'), p('prevLogIndex'));
      const prevLogTerm = natural(f('prevLogTerm'), p('prevLogTerm'));
      const raw = f('entries');
      if (!Array.isArray(raw)) throw new DecodeError(p('entries'), 'expected an array');
      const entries: Entry[] = [];
      let lastTerm = prevLogTerm;
      for (let k = 0; k < raw.length; k++) {
        const e = entry(raw[k], `${p('entries')}[${k}]`);
        // Contiguity and term order: the core indexes into its log by these, so a peer bug must
        // not reach it as a "valid" message (Raft §5.3, Log Matching).
        if (e.index !== prevLogIndex + 1 + k) throw new DecodeError(`${p('entries')}[${k}].index`, `expected ${prevLogIndex + 1 + k}`);
        if (e.term < Math.max(lastTerm, 1) || e.term > term)
          throw new DecodeError(`${p('entries')}[${k}].term`, 'zero, out of order or beyond the message term');
        lastTerm = e.term;
        entries.push(e);
      }
      return { type, from, to, term, prevLogIndex, prevLogTerm, entries, commit: natural(f('commit'), p('commit')) };
    }
    case 'append-response':
      return {
        type,
        from,
        to,
        term,
        index: natural(f('index'), p('index')),
        reject: boolean(f('reject'), p('reject')),
        hintIndex: natural(f('hintIndex'), p('hintIndex')),
        hintTerm: natural(f('hintTerm'), p('hintTerm')),
      };
    case 'heartbeat':
      return { type, from, to, term, commit: natural(f('commit'), p('commit')), context: contextOrNull(f('context'), p('context')) };
    case 'heartbeat-response':
      return { type, from, to, term, context: contextOrNull(f('context'), p('context')) };
    case 'snapshot':
      return { type, from, to, term, snapshot: snapshotMeta(f('snapshot'), p('snapshot')) };
    case 'timeout-now':
      return { type, from, to, term };
    case 'read-index':
      return { type, from, to, term, context: context(f('context'), p('context')) };
    case 'read-index-response':
      return { type, from, to, term, context: context(f('context'), p('context')), index: natural(f('index'), p('index')) };
    default:
      return assertNever(type, 'message type');
  }
}

/**
 * The canonical wire form of a message: exactly the fields of its type, nothing else (an extra
 * property on an in-memory object must not make the receiver refuse the frame).
 */
function toWire(m: Message): object {
  const base = { type: m.type, from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'vote':
      return { ...base, pre: m.pre, lastLogIndex: m.lastLogIndex, lastLogTerm: m.lastLogTerm, transfer: m.transfer };
    case 'vote-response':
      return { ...base, pre: m.pre, reject: m.reject };
    case 'append':
      return {
        ...base,
        prevLogIndex: m.prevLogIndex,
        prevLogTerm: m.prevLogTerm,
        entries: m.entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: e.data })),
        commit: m.commit,
      };
    case 'append-response':
      return { ...base, index: m.index, reject: m.reject, hintIndex: m.hintIndex, hintTerm: m.hintTerm };
    case 'heartbeat':
      return { ...base, commit: m.commit, context: m.context };
    case 'heartbeat-response':
      return { ...base, context: m.context };
    case 'snapshot': {
      const s = m.snapshot;
      const c = s.confState;
      const lists = { voters: [...c.voters], learners: [...c.learners] };
      const contexts = c.contexts?.map(({ id, context }) => ({ id, context }));
      const confState = contexts !== undefined && contexts.length > 0 ? { ...lists, contexts } : lists;
      return { ...base, snapshot: { index: s.index, term: s.term, confState } };
    }
    case 'timeout-now':
      return base;
    case 'read-index':
      return { ...base, context: m.context };
    case 'read-index-response':
      return { ...base, context: m.context, index: m.index };
    default:
      return assertNever(m, 'message');
  }
}

/** One message's wire form, for embedding in larger frames (see wire.ts). */
export function messageToWire(m: Message): object {
  return toWire(m);
}

/** Encodes messages as one msgpack array. */
export function encodeMessages(messages: readonly Message[]): Buffer {
  return packValue(messages.map(toWire));
}

/**
 * Decodes and validates a frame produced by {@link encodeMessages}. Throws only
 * {@link DecodeError}, for any input whatsoever.
 */
export function decodeMessages(frame: Uint8Array): Message[] {
  return validateMessages(unpackValue(frame, 'messages'), 'messages');
}

/** Validates an already-unpacked array of messages. */
export function validateMessages(value: unknown, path: string): Message[] {
  if (!Array.isArray(value)) throw new DecodeError(path, 'expected an array');
  const out: Message[] = [];
  for (let k = 0; k < value.length; k++) out.push(validateMessage(value[k] as unknown, `${path}[${k}]`));
  return out;
}
