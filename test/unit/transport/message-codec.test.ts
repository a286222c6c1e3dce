/**
 * message-codec: encode→decode round trip for random valid messages (fast-check), and for any
 * bytes whatsoever — random, or a valid frame mutated — decoding throws DecodeError or nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry, Message } from '../../../src/raft/index.js';
import { MAX_CONTEXT_LENGTH, decodeMessages, encodeMessages, validateMessage } from '../../../src/transport/message-codec.js';
import { DecodeError, packValue } from '../../../src/protocol/index.js';

const id = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const smallId = fc.integer({ min: 1, max: 7 });
const nat = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const ctx = fc.string({ maxLength: 40 });
const data = fc.uint8Array({ maxLength: 64 }).map((a) => new Uint8Array(a));

const base = fc.record({ from: fc.oneof(smallId, id), to: fc.oneof(smallId, id), term: nat });

/** An append whose entries are contiguous after prevLogIndex, terms ordered within the term. */
const append = fc
  .record({
    b: base,
    prevLogIndex: fc.integer({ min: 0, max: 2 ** 40 }),
    prevLogTerm: fc.integer({ min: 0, max: 50 }),
    steps: fc.array(
      fc.record({ bump: fc.integer({ min: 0, max: 3 }), type: fc.constantFrom<Entry['type']>('normal', 'noop', 'config'), data }),
      { maxLength: 6 },
    ),
    extraTerm: fc.integer({ min: 0, max: 10 }),
    commit: nat,
  })
  .map(({ b, prevLogIndex, prevLogTerm, steps, extraTerm, commit }): Message => {
    let t = prevLogTerm;
    const entries: Entry[] = steps.map((s, k) => {
      t += s.bump;
      return { index: prevLogIndex + 1 + k, term: t, type: s.type, data: s.data };
    });
    return { type: 'append', from: b.from, to: b.to, term: t + extraTerm, prevLogIndex, prevLogTerm, entries, commit };
  });

const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({ b: base, pre: fc.boolean(), lastLogIndex: nat, lastLogTerm: nat, transfer: fc.boolean() })
    .map(({ b, ...r }): Message => ({ type: 'vote', ...b, ...r })),
  fc.record({ b: base, pre: fc.boolean(), reject: fc.boolean() }).map(({ b, ...r }): Message => ({ type: 'vote-response', ...b, ...r })),
  append,
  fc
    .record({ b: base, index: nat, reject: fc.boolean(), hintIndex: nat, hintTerm: nat })
    .map(({ b, ...r }): Message => ({ type: 'append-response', ...b, ...r })),
  fc
    .record({ b: base, commit: nat, context: fc.option(ctx, { nil: null }) })
    .map(({ b, ...r }): Message => ({ type: 'heartbeat', ...b, ...r })),
  fc
    .record({ b: base, context: fc.option(ctx, { nil: null }) })
    .map(({ b, ...r }): Message => ({ type: 'heartbeat-response', ...b, ...r })),
  fc
    .record({ b: base, index: nat, term: nat, voters: fc.array(id, { maxLength: 5 }), learners: fc.array(id, { maxLength: 3 }) })
    .map(({ b, index, term, voters, learners }): Message => ({
      type: 'snapshot',
      ...b,
      snapshot: { index, term, confState: { voters, learners } },
    })),
  base.map((b): Message => ({ type: 'timeout-now', ...b })),
  fc.record({ b: base, context: ctx }).map(({ b, ...r }): Message => ({ type: 'read-index', ...b, ...r })),
  fc.record({ b: base, context: ctx, index: nat }).map(({ b, ...r }): Message => ({ type: 'read-index-response', ...b, ...r })),
);

/** Runs `f`; passes if it returns or throws DecodeError, fails on anything else. */
function onlyDecodeError(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof DecodeError)) throw new Error(`threw ${String(err)} instead of DecodeError`);
  }
}

describe('message codec', () => {
  it('round-trips random valid message batches', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 8 }), (msgs) => {
        const decoded = decodeMessages(encodeMessages(msgs));
        expect(decoded).toEqual(msgs);
        // Entry data comes back as plain Uint8Arrays, not views into the frame's Buffer.
        for (const m of decoded) if (m.type === 'append') for (const e of m.entries) expect(e.data.constructor).toBe(Uint8Array);
      }),
      { numRuns: 500 },
    );
  });

  it('validateMessage accepts exactly what it returns, as a fresh copy', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const v = validateMessage(m);
        expect(v).toEqual(m);
        expect(v).not.toBe(m);
      }),
    );
  });

  it('random bytes never throw anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => onlyDecodeError(() => decodeMessages(bytes))),
      { numRuns: 3000 },
    );
  });

  it('mutated valid frames never throw anything but DecodeError', () => {
    const mutation = fc.record({
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
      cut: fc.option(fc.nat()),
      insert: fc.option(fc.uint8Array({ minLength: 1, maxLength: 4 })),
    });
    fc.assert(
      fc.property(
        fc.array(arbMessage, { minLength: 1, maxLength: 4 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (msgs, muts) => {
          let frame = Uint8Array.from(encodeMessages(msgs));
          for (const m of muts) {
            const at = m.at % frame.length;
            frame[at] = m.byte;
            if (m.insert !== null) frame = Uint8Array.from([...frame.subarray(0, at), ...m.insert, ...frame.subarray(at)]);
            if (m.cut !== null) frame = frame.subarray(0, m.cut % (frame.length + 1));
          }
          onlyDecodeError(() => decodeMessages(frame));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('arbitrary msgpack values never throw anything but DecodeError', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.anything(),
            fc.record({ type: fc.constantFrom('vote', 'append', 'snapshot', 'heartbeat'), from: fc.anything(), to: fc.anything() }),
          ),
        ),
        (v) => {
          onlyDecodeError(() => decodeMessages(packValue(v)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('deep nesting and huge declared lengths are DecodeErrors, not crashes', () => {
    expect(() => decodeMessages(new Uint8Array(100_000).fill(0x91))).toThrow(DecodeError);
    expect(() => decodeMessages(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow(DecodeError);
    expect(() => decodeMessages(new Uint8Array(0))).toThrow(DecodeError);
  });

  describe('names the offending field', () => {
    const hb = { type: 'heartbeat', from: 1, to: 2, term: 3, commit: 4, context: null };
    const cases: Array<[string, unknown, string]> = [
      ['unknown type', { ...hb, type: 'gossip' }, 'message.type'],
      ['zero id', { ...hb, from: 0 }, 'message.from'],
      ['fractional term', { ...hb, term: 1.5 }, 'message.term'],
      ['negative index', { ...hb, commit: -1 }, 'message.commit'],
      ['unsafe integer', { ...hb, term: 2 ** 53 }, 'message.term'],
      ['string id', { ...hb, to: '2' }, 'message.to'],
      ['unknown field', { ...hb, extra: 1 }, 'message.extra'],
      ['missing field', { type: 'heartbeat', from: 1, to: 2, term: 3, context: null }, 'message.commit'],
      ['long context', { ...hb, context: 'x'.repeat(MAX_CONTEXT_LENGTH + 1) }, 'message.context'],
      ['non-boolean', { type: 'vote-response', from: 1, to: 2, term: 1, pre: 0, reject: false }, 'message.pre'],
      ['null read context', { type: 'read-index', from: 1, to: 2, term: 1, context: null }, 'message.context'],
      [
        'entry data not binary',
        {
          type: 'append',
          from: 1,
          to: 2,
          term: 1,
          prevLogIndex: 0,
          prevLogTerm: 0,
          commit: 0,
          entries: [{ index: 1, term: 1, type: 'normal', data: 'x' }],
        },
        'message.entries[0].data',
      ],
      [
        'entry type unknown',
        {
          type: 'append',
          from: 1,
          to: 2,
          term: 1,
          prevLogIndex: 0,
          prevLogTerm: 0,
          commit: 0,
          entries: [{ index: 1, term: 1, type: 'weird', data: new Uint8Array() }],
        },
        'message.entries[0].type',
      ],
      [
        'entries not contiguous',
        {
          type: 'append',
          from: 1,
          to: 2,
          term: 1,
          prevLogIndex: 3,
          prevLogTerm: 0,
          commit: 0,
          entries: [{ index: 5, term: 1, type: 'normal', data: new Uint8Array() }],
        },
        'message.entries[0].index',
      ],
      [
        'entry term beyond message term',
        {
          type: 'append',
          from: 1,
          to: 2,
          term: 1,
          prevLogIndex: 0,
          prevLogTerm: 0,
          commit: 0,
          entries: [{ index: 1, term: 2, type: 'normal', data: new Uint8Array() }],
        },
        'message.entries[0].term',
      ],
      [
        'conf state id',
        { type: 'snapshot', from: 1, to: 2, term: 1, snapshot: { index: 1, term: 1, confState: { voters: [1, -2], learners: [] } } },
        'message.snapshot.confState.voters[1]',
      ],
      ['a Date instead of a map', new Date(), 'message'],
      ['an array', [hb], 'message'],
    ];
    for (const [name, value, field] of cases) {
      it(name, () => {
        let caught: unknown;
        try {
          validateMessage(value);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(DecodeError);
        expect((caught as DecodeError).field).toBe(field);
        expect((caught as DecodeError).message).toContain(field);
      });
    }
  });

  it('a throwing getter is reported as DecodeError', () => {
    const evil = { type: 'timeout-now', from: 1, to: 2 };
    Object.defineProperty(evil, 'term', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(() => validateMessage(evil)).toThrow(DecodeError);
  });

  it('encodes only the fields of the type (extra in-memory properties are not sent)', () => {
    const m = { type: 'timeout-now', from: 1, to: 2, term: 3, debug: 'x' } as unknown as Message;
    expect(decodeMessages(encodeMessages([m]))).toEqual([{ type: 'timeout-now', from: 1, to: 2, term: 3 }]);
  });
});
