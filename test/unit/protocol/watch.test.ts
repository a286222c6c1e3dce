/**
 * The watch part of the client wire contract (src/protocol/watch.ts): `watch` and `unwatch`
 * requests and their strict refusals, their answers, the `resyncFrom` of a `COMPACTED` error,
 * pushed frames and how a client reads them (`decodeServerFrame`: responses and watch frames,
 * checked field by field), and what a selection selects.
 */
import { describe, expect, it } from 'vitest';
import {
  ClientProtocolError,
  decodeRequest,
  decodeServerFrame,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  encodeWatchFrame,
  packValue,
  parseRequest,
  parseValue,
  unpackValue,
  watchSelects,
  type WatchEvent,
} from '../../../src/protocol/index.js';

function refusal(value: unknown): { field: string; message: string } {
  try {
    parseRequest(value);
  } catch (err) {
    if (err instanceof ClientProtocolError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe('watch requests', () => {
  it('round-trip with every field, and without any', () => {
    const full = { id: 7, op: 'watch' as const, prefix: 'jobs/', kinds: ['lock' as const, 'counter' as const], fromIndex: 42 };
    expect(decodeRequest(encodeRequest(full))).toEqual(full);
    expect(decodeRequest(encodeRequest({ id: 8, op: 'watch' }))).toEqual({ id: 8, op: 'watch' });
    expect(decodeRequest(encodeRequest({ id: 9, op: 'unwatch', watch: 3 }))).toEqual({ id: 9, op: 'unwatch', watch: 3 });
    // The empty prefix is every name's beginning: the same as none.
    expect(parseRequest({ id: 1, op: 'watch', prefix: '' })).toEqual({ id: 1, op: 'watch' });
  });

  it('are refused, naming the field, when malformed', () => {
    const cases: ReadonlyArray<[Record<string, unknown>, string, RegExp]> = [
      [{ kinds: [] }, 'kinds', /array of 1 to 6/],
      [{ kinds: ['lock', 'session', 'lock'] }, 'kinds[2]', /listed twice/],
      [{ kinds: ['locks'] }, 'kinds[0]', /one of lock, semaphore/],
      [{ kinds: [1] }, 'kinds[0]', /one of/],
      [{ fromIndex: 0 }, 'fromIndex', /\[1, /],
      [{ fromIndex: -1 }, 'fromIndex', /\[1, /],
      [{ fromIndex: 2 ** 53 }, 'fromIndex', /safe integer/],
      [{ prefix: 'p'.repeat(300) }, 'prefix', /bytes/],
      [{ prefix: null }, 'prefix', /string/],
      [{ from: 1 }, 'from', /unknown field/],
    ];
    for (const [fields, field, message] of cases) {
      const r = refusal({ id: 1, op: 'watch', ...fields });
      expect(r.field, JSON.stringify(fields)).toBe(field);
      expect(r.message).toMatch(message);
    }
    expect(refusal({ id: 1, op: 'unwatch' }).field).toBe('watch');
    expect(refusal({ id: 1, op: 'unwatch', watch: 0 }).field).toBe('watch');
    expect(refusal({ id: 1, op: 'unwatch', watch: 1, prefix: 'x' }).field).toBe('prefix');
  });
});

describe('watch answers and frames', () => {
  it('the values of watch and unwatch are checked', () => {
    expect(parseValue('watch', { watch: 1, fromIndex: 10 })).toEqual({ watch: 1, fromIndex: 10 });
    expect(() => parseValue('watch', { watch: 0, fromIndex: 10 })).toThrow(/value.watch/);
    expect(() => parseValue('watch', { watch: 1, fromIndex: 10, more: 1 })).toThrow(/value.more/);
    expect(parseValue('unwatch', null)).toBeNull();
    expect(() => parseValue('unwatch', {})).toThrow(/null/);
  });

  it('a COMPACTED error carries resyncFrom, checked on decoding', () => {
    const r = { id: 3, ok: false as const, error: { code: 'COMPACTED' as const, message: 'gone', resyncFrom: 120 } };
    expect(decodeResponse(encodeResponse(r))).toEqual(r);
    const bad = encodeResponse({ id: 3, ok: false, error: { code: 'COMPACTED', message: 'gone', resyncFrom: 0 } });
    expect(() => decodeResponse(bad)).toThrow(/resyncFrom/);
  });

  it('pushed frames carry the watch id and no request id', () => {
    const events: WatchEvent[] = [{ index: 5, type: 'counter-changed', kind: 'counter', name: 'c', value: 2 }];
    expect(unpackValue(encodeWatchFrame({ watch: 2, events, through: 7 }), 'frame')).toEqual({ watch: 2, events, through: 7 });
    const end = { code: 'LIMIT_EXCEEDED' as const, message: 'slow', resyncFrom: 6 };
    expect(unpackValue(encodeWatchFrame({ watch: 2, end }), 'frame')).toEqual({ watch: 2, end });
  });

  it('a selection selects by kind, and by prefix only events with a name', () => {
    const lock: WatchEvent = { index: 1, type: 'granted', kind: 'lock', name: 'jobs/a', session: 1, token: 1, seq: 1 };
    const session: WatchEvent = { index: 1, type: 'session-opened', kind: 'session', session: 1 };
    expect(watchSelects(lock, 'jobs/', undefined)).toBe(true);
    expect(watchSelects(lock, 'other/', undefined)).toBe(false);
    expect(watchSelects(lock, '', new Set(['counter']))).toBe(false);
    expect(watchSelects(session, '', undefined)).toBe(true);
    expect(watchSelects(session, 'jobs/', undefined)).toBe(false);
  });
});

describe('decodeServerFrame', () => {
  it('tells pushed frames from responses', () => {
    expect(decodeServerFrame(packValue({ id: 4, ok: true, value: null }))).toEqual({ id: 4, ok: true, value: null });
    const events = [{ index: 3, type: 'granted', kind: 'lock', name: 'a', session: 2, token: 3, seq: 1 }];
    expect(decodeServerFrame(packValue({ watch: 1, events, through: 5 }))).toEqual({ watch: 1, events, through: 5 });
    // Progress: no events, a later resume point.
    expect(decodeServerFrame(packValue({ watch: 1, events: [], through: 900 }))).toEqual({ watch: 1, events: [], through: 900 });
    const end = { code: 'COMPACTED', message: 'old', resyncFrom: 9 };
    expect(decodeServerFrame(packValue({ watch: 1, end }))).toEqual({ watch: 1, end });
  });

  it('refuses a pushed frame that breaks the contract, naming the field', () => {
    const ev = { index: 3, type: 'granted', kind: 'lock', name: 'a' };
    const bad: Array<[unknown, string]> = [
      [{ watch: 1, events: {}, through: 3 }, 'events'],
      [{ watch: 1, events: [ev] }, 'frame'],
      [{ watch: 1, events: [ev], through: 2 }, 'through'],
      [{ watch: 1, events: [], through: 0 }, 'through'],
      [{ watch: 1, events: [{ ...ev, index: 0 }], through: 3 }, 'events[0].index'],
      [{ watch: 1, events: [{ ...ev, type: 'exploded' }], through: 3 }, 'events[0].type'],
      [{ watch: 1, events: [{ ...ev, kind: 'mutex' }], through: 3 }, 'events[0].kind'],
      [{ watch: 1, events: [{ ...ev, mode: 'both' }], through: 3 }, 'events[0].mode'],
      [{ watch: 1, events: [{ ...ev, extra: 1 }], through: 3 }, 'events[0].extra'],
      [{ watch: 1, events: [ev, { ...ev, index: 2 }], through: 3 }, 'events[1].index'],
      [{ watch: 1, end: { code: 'NOT_HELD', message: 'x' } }, 'end.code'],
      [{ watch: -1, events: [ev], through: 3 }, 'watch'],
      [{ watch: 1, events: [ev], through: 3, more: true }, 'frame'],
    ];
    for (const [frame, field] of bad) {
      let err: unknown;
      try {
        decodeServerFrame(packValue(frame));
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(frame)).toMatchObject({ name: 'ClientProtocolError', field });
    }
  });
});
