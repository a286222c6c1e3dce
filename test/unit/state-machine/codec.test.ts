/**
 * The entry envelope `{ v: 1, time, cmd }` and canonical msgpack (codec.ts), and the leader's
 * stamp rule: time never decreases, also across leader changes
 * (docs/design.md#time-in-the-state-machine).
 */
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, nextStamp, packCanonical, unpack } from '../../../src/state-machine/codec.js';
import { MAX_LOG_TIME } from '../../../src/protocol/index.js';
import { TEST_SECRET } from '../../support/secrets.js';

describe('entry envelope', () => {
  it('round-trips time and command', () => {
    const cmd = { type: 'acquire', session: 4, seq: 9, name: 'orders', waitMs: 500, fence: { lock: 'l', token: 3 } } as const;
    expect(decodeEntry(encodeEntry(123_456, cmd))).toEqual({ ok: true, value: { time: 123_456, cmd } });
  });

  it('is canonical: the bytes do not depend on the order keys were written in', () => {
    const a = encodeEntry(5, { type: 'counter-cas', session: 1, seq: 2, name: 'c', expected: 1, next: 2 });
    const b = encodeEntry(5, { next: 2, expected: 1, name: 'c', seq: 2, session: 1, type: 'counter-cas' });
    expect(b).toEqual(a);
    expect(packCanonical({ b: 1, a: { d: 2, c: undefined } })).toEqual(packCanonical({ a: { d: 2 }, b: 1 }));
  });

  it('returns fresh bytes (not a view into an encoder scratch buffer)', () => {
    const a = encodeEntry(1, { type: 'tick' });
    const copy = Uint8Array.from(a);
    encodeEntry(2, { type: 'open-session', secret: TEST_SECRET, ttlMs: 5000, clientId: 'x'.repeat(100) });
    expect(a).toEqual(copy);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(a.byteLength);
  });

  it('refuses anything else with INVALID_ARGUMENT, never throwing', () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /not valid MessagePack/],
      [new Uint8Array([0xc1]), /not an envelope map/], // msgpack's reserved byte decodes to an object
      [new Uint8Array([0x92, 0x01]), /not valid MessagePack/], // truncated array
      [pack([1, 2]), /not an envelope map/],
      [pack({ v: 2, time: 1, cmd: { type: 'tick' } }), /unsupported version 2/],
      [pack({ v: 1, time: -1, cmd: { type: 'tick' } }), /time must be/],
      [pack({ v: 1, time: 1.5, cmd: { type: 'tick' } }), /time must be/],
      [pack({ v: 1, time: MAX_LOG_TIME + 1, cmd: { type: 'tick' } }), /time must be/],
      [pack({ v: 1, time: 1, cmd: { type: 'tick' }, extra: 0 }), /unknown field "extra"/],
      [pack({ v: 1, time: 1, cmd: { type: 'nope' } }), /unknown command type/],
      [pack({ v: 1, time: 1 }), /must be a map/],
    ];
    for (const [bytes, pattern] of cases) {
      const r = decodeEntry(bytes);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe('INVALID_ARGUMENT');
        expect(r.message).toMatch(pattern);
      }
    }
  });

  it('unpack reports invalid bytes as undefined', () => {
    expect(unpack(new Uint8Array(0))).toBeUndefined();
    expect(unpack(new Uint8Array([0x92, 0x01]))).toBeUndefined();
    expect(unpack(pack(7))).toEqual({ value: 7 });
  });

  it('leaves the caller’s bytes untouched (msgpackr would attach a dataView to them)', () => {
    const bytes = encodeEntry(1, { type: 'tick' });
    decodeEntry(bytes);
    expect(Object.keys(bytes).filter((k) => !/^\d+$/.test(k))).toEqual([]);
  });
});

describe('nextStamp: the leader never stamps below the applied log time', () => {
  it('is the larger of the clock and the last applied time', () => {
    expect(nextStamp(2_000, 1_000)).toBe(2_000);
    expect(nextStamp(1_000, 2_000)).toBe(2_000); // a new leader whose clock is behind
    expect(nextStamp(1_500.7, 0)).toBe(1_500);
  });
});
