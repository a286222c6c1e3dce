/**
 * Bytes of the lock/counter state machine: the entry envelope and canonical msgpack.
 *
 * **Entry envelope.** The data of every `normal` entry is the msgpack map
 * `{ v: 1, time, cmd }`: format version, the proposing leader's time stamp (ms, a safe integer
 * in [0, 2^50]) and the {@link Command}. The state machine's only clock is `time`
 * (docs/design.md#time-in-the-state-machine). `noop` and `config` entries carry no envelope and
 * therefore no time.
 *
 * **Canonical encoding.** Maps are written with their keys sorted (code-unit order) and
 * `undefined` members left out, so equal values always give identical bytes — what
 * determinism of snapshots rests on, whatever order an object's keys were created in.
 * The encoder is the project's one MessagePack setup (src/protocol/msgpack.ts).
 */
import { DEFAULT_LIMITS, isPlainMap, packValue, unpackValue, type Limits } from '../protocol/index.js';
import { isValidTime, validateCommand, type Command } from './commands.js';
import { fail, ok, type Result } from './errors.js';

/** Version of the entry envelope written by {@link encodeEntry}. */
export const ENVELOPE_VERSION = 1;

/** A deep copy of `value` with every plain object's keys in sorted order, undefined dropped. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const src = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(src).sort()) {
      const v = src[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return value;
}

/** Canonical msgpack of a plain value, as a fresh `Uint8Array` owning its memory. */
export function packCanonical(value: unknown): Uint8Array {
  // msgpackr returns a view into its shared scratch buffer: copy it out.
  return Uint8Array.from(packValue(canonical(value)));
}

/**
 * Decodes one msgpack value spanning all of `bytes`, or `undefined` if they are not one. The
 * caller's object is left untouched: msgpackr caches a `dataView` property on the array it
 * reads, so it reads a fresh view of the same memory (a copy per entry was a third of the time
 * of decoding an entry at a replay). Binary values in the result may share that memory.
 * Values of msgpack's reserved types come back as objects that no validator here accepts.
 */
export function unpack(bytes: Uint8Array): { value: unknown } | undefined {
  if (bytes.byteLength === 0) return undefined;
  try {
    return { value: unpackValue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'bytes') };
  } catch {
    return undefined;
  }
}

/**
 * The leader's time stamp for its next entry: its clock, but never below the last time the
 * state machine has applied: never decreasing, also across leader changes
 * (docs/design.md#time-in-the-state-machine).
 * A new leader may lag in applying; the machine therefore also takes
 * `max(lastTime, entry.time)` when applying, so log time cannot go back in any case.
 */
export function nextStamp(clockNow: number, lastTime: number): number {
  return Math.max(Math.floor(clockNow), lastTime);
}

/** The data of a `normal` entry carrying `cmd` stamped with `time`. */
export function encodeEntry(time: number, cmd: Command): Uint8Array {
  return packCanonical({ v: ENVELOPE_VERSION, time, cmd });
}

/** A decoded envelope. */
export interface DecodedEntry {
  readonly time: number;
  readonly cmd: Command;
}

/**
 * Decodes and validates an entry's data. Never throws: bytes that are not an envelope, or whose
 * command is invalid under `limits`, give an `INVALID_ARGUMENT` failure.
 */
export function decodeEntry(data: Uint8Array, limits: Limits = DEFAULT_LIMITS): Result<DecodedEntry> {
  const decoded = unpack(data);
  if (decoded === undefined) return fail('INVALID_ARGUMENT', 'entry data is not valid MessagePack');
  const env = decoded.value;
  if (!isPlainMap(env)) return fail('INVALID_ARGUMENT', 'entry data is not an envelope map');
  const rec = env;
  for (const k of Object.keys(rec)) {
    if (k !== 'v' && k !== 'time' && k !== 'cmd')
      return fail('INVALID_ARGUMENT', `envelope: unknown field ${JSON.stringify(k.slice(0, 40))}`);
  }
  if (rec['v'] !== ENVELOPE_VERSION) return fail('INVALID_ARGUMENT', `envelope: unsupported version ${String(rec['v']).slice(0, 20)}`);
  const time = rec['time'];
  if (!isValidTime(time)) return fail('INVALID_ARGUMENT', 'envelope: time must be a safe integer in [0, 2^50]');
  const cmd = validateCommand(rec['cmd'], limits);
  if (!cmd.ok) return cmd;
  return ok({ time, cmd: cmd.value });
}
