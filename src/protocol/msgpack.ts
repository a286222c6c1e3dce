/**
 * The one MessagePack setup of the project: every codec (client frames, peer frames, log
 * entries, snapshots) encodes and decodes through the encoder and decoder configured here, and
 * reports bad bytes with {@link DecodeError}, so a frame means the same thing to every reader.
 */
import { Packr, Unpackr } from 'msgpackr';

// Records (msgpackr's structure extension) are off both ways: they make bytes depend on state
// shared between writer and reader, and a decoder that accepts structure definitions from the
// wire gives a sender a way to grow its memory.
const packr = new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: false });
// 64-bit integers decode as numbers: anything beyond 2^53 becomes an unsafe number that the
// safe-integer checks refuse, so no bigint ever has to be handled.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', moreTypes: false });

/** Bytes or a decoded value that are not valid protocol. `field` names where it went wrong. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    /** Path of the offending field, e.g. `messages[2].entries[0].data`. */
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/**
 * Encodes a plain value. The result may be a view into the encoder's scratch buffer, valid
 * until the next call: send or copy it at once.
 */
export function packValue(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * Decodes one MessagePack value that must span all of `bytes`. Throws only
 * {@link DecodeError}, whatever the bytes (truncation, unknown extensions, trailing bytes,
 * deep nesting).
 * @param what the name used in the error (e.g. `frame`).
 */
export function unpackValue(bytes: Uint8Array, what: string): unknown {
  if (bytes.byteLength === 0) throw new DecodeError(what, 'empty');
  try {
    return unpackr.unpack(bytes) as unknown;
  } catch (err) {
    throw new DecodeError(what, `not valid MessagePack (${err instanceof Error ? err.message.slice(0, 80) : 'unknown error'})`);
  }
}

/**
 * Whether `v` is a plain map as the decoder produces them: not an array, and not a Date, Set,
 * Error or typed array that an extension could produce.
 */
export function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A short description of a value for an error message, never echoing a large one. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'binary data';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `a string of length ${v.length}`;
  return `a value of type ${typeof v}`;
}

/** Quotes a sender-chosen string for a message, bounded so a huge one cannot bloat the reply. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** A copy of `rec` without its `undefined` members (msgpackr would send them as present). */
export function withoutUndefined(rec: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (v !== undefined) out[k] = v;
  return out;
}
