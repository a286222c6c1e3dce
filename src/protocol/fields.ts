/**
 * Field rules shared by every request and command: integers in range, names, fences. Each
 * check throws {@link FieldError} naming the field, so an error can point at what was wrong
 * without anyone parsing an English message.
 */
import { describe, isPlainMap } from './msgpack.js';

/** A field that breaks its rule. `message` is the whole sentence for the user. */
export class FieldError extends Error {
  override readonly name = 'FieldError';
  constructor(
    /** The field, e.g. `ttlMs`, `fence.lock`, `sessions[3]`. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** `rec[field]` as a safe integer in `[min, max]`. */
export function intField(rec: Readonly<Record<string, unknown>>, field: string, min: number, max: number): number {
  const v = rec[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FieldError(field, `${field} must be a safe integer, got ${describe(v)}`);
  if (v < min || v > max) throw new FieldError(field, `${field} must be in [${min}, ${max}], got ${v}`);
  return v;
}

/** `rec[field]` as a boolean (MessagePack true/false; 0 and 1 are not booleans). */
export function booleanField(rec: Readonly<Record<string, unknown>>, field: string): boolean {
  const v = rec[field];
  if (typeof v !== 'boolean') throw new FieldError(field, `${field} must be a boolean, got ${describe(v)}`);
  return v;
}

/**
 * The name rule, for every lock, counter and client-id name in every layer: a string of 1 to
 * `maxNameBytes` UTF-8 bytes of well-formed Unicode. A lone surrogate is refused because it
 * does not survive the trip through MessagePack unchanged, so the proposer and the replicas
 * would disagree on the name.
 */
export function checkName(v: unknown, field: string, maxNameBytes: number): string {
  if (typeof v !== 'string') throw new FieldError(field, `${field} must be a string, got ${describe(v)}`);
  if (v.length === 0) throw new FieldError(field, `${field} must not be empty`);
  // A UTF-16 length above the byte limit already exceeds it; skips measuring huge strings.
  if (v.length > maxNameBytes) throw new FieldError(field, `${field} is longer than ${maxNameBytes} UTF-8 bytes`);
  const bytes = utf8Length(v);
  if (bytes < 0) throw new FieldError(field, `${field} is not well-formed Unicode (lone surrogate)`);
  if (bytes > maxNameBytes) throw new FieldError(field, `${field} is ${bytes} UTF-8 bytes, more than ${maxNameBytes}`);
  return v;
}

/**
 * The UTF-8 length of `s`, or -1 if it holds a lone surrogate. One pass and no allocation: every
 * name of every request and of every entry applied is measured (encoding each one to count its
 * bytes was a sixth of the time of replaying a log).
 */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c < 0xd800 || c > 0xdfff) bytes += 3;
    else if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else return -1;
  }
  return bytes;
}

/**
 * Checks that `rec` has only the fields of `required` and `optional`, and every required one.
 * @param what names the request or command in the message (its op or type).
 */
export function checkShape(
  rec: Readonly<Record<string, unknown>>,
  what: string,
  required: readonly string[],
  optional: readonly string[],
  ignore: readonly string[] = [],
): void {
  for (const k of Object.keys(rec)) {
    if (ignore.includes(k) || required.includes(k) || optional.includes(k)) continue;
    throw new FieldError(k.slice(0, 40), `${what}: unknown field ${JSON.stringify(k.slice(0, 40))}`);
  }
  for (const k of required) if (rec[k] === undefined) throw new FieldError(k, `${what}: missing field ${k}`);
}

/** `v` as a plain map, or a {@link FieldError} naming `field`. */
export function mapField(v: unknown, field: string, shape: string): Record<string, unknown> {
  if (!isPlainMap(v)) throw new FieldError(field, `${field} must be a map ${shape}, got ${describe(v)}`);
  return v;
}
