/**
 * message-codec: encode→decode round trip for random valid messages (fast-check), and for any
 * bytes whatsoever — random, or a valid frame mutated — decoding throws DecodeError or nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeConfigEntry, type ConfState, type Entry, type Message } from '../../../src/raft/index.js';
import { MAX_CONTEXT_LENGTH, decodeMessages, encodeMessages, validateMessage } from '../../../src/transport/message-codec.js';
import { DecodeError, packValue } from '../../../src/protocol/index.js';

const id = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const smallId = fc.integer({ min: 1, max: 7 });
const nat = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
/** A term a message speaks for: ≥ 1 (only a vote answer may carry 0). */
const term = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const ctx = fc.string({ minLength: 1, maxLength: 40 });
const data = fc.uint8Array({ maxLength: 64 }).map((a) => new Uint8Array(a));

const base = fc.record({ from: fc.oneof(smallId, id), to: fc.oneof(smallId, id), term });

/** A log position (index, term) within a message of term `t`: (0, 0) or (≥ 1, 1..t). */
function position(t: number): fc.Arbitrary<{ index: number; term: number }> {
  return fc.oneof(
    fc.constant({ index: 0, term: 0 }),
    fc.record({ index: fc.integer({ min: 1, max: 2 ** 40 }), term: fc.integer({ min: 1, max: Math.min(t, 2 ** 40) }) }),
  );
}

/** Distinct voters (at least one) and learners, some with a host context. */
const conf: fc.Arbitrary<ConfState> = fc.uniqueArray(id, { minLength: 1, maxLength: 8 }).chain((ids) =>
  fc
    .record({
      v: fc.integer({ min: 1, max: ids.length }),
      withContext: fc.array(fc.boolean(), { minLength: ids.length, maxLength: ids.length }),
      data,
    })
    .map(({ v, withContext, data: context }) => {
      const lists = { voters: ids.slice(0, v), learners: ids.slice(v) };
      const contexts = ids.filter((_, k) => withContext[k] === true).map((member) => ({ id: member, context }));
      return contexts.length > 0 ? { ...lists, contexts } : lists;
    }),
);

/** A well-formed configuration entry's data: a change and the configuration it leaves. */
const configData = fc.record({ conf, kind: fc.nat(2), outsider: id }).map(({ conf: c, kind, outsider }) => {
  const all = [...c.voters, ...c.learners];
  const learner = c.learners[0];
  if (kind === 0 && learner !== undefined) return encodeConfigEntry({ change: { type: 'add-learner', node: learner }, conf: c });
  if (kind === 1 || all.includes(outsider)) return encodeConfigEntry({ change: { type: 'promote', node: c.voters[0] ?? 1 }, conf: c });
  return encodeConfigEntry({ change: { type: 'remove', node: outsider }, conf: c });
});

/** An append whose entries are contiguous after prevLogIndex, terms ordered within the term. */
const append = fc
  .record({
    b: base,
    prevLogIndex: fc.integer({ min: 1, max: 2 ** 40 }),
    prevLogTerm: fc.integer({ min: 0, max: 50 }),
    steps: fc.array(
      fc.oneof(
        fc.record({ bump: fc.integer({ min: 0, max: 3 }), type: fc.constantFrom<Entry['type']>('normal', 'noop'), data }),
        fc.record({ bump: fc.integer({ min: 0, max: 3 }), type: fc.constant<Entry['type']>('config'), data: configData }),
      ),
      { maxLength: 6 },
    ),
    extraTerm: fc.integer({ min: 0, max: 10 }),
    commit: nat,
  })
  .map(({ b, prevLogIndex, prevLogTerm, steps, extraTerm, commit }): Message => {
    // Index 0 has term 0, and only it: a term-0 position is the start of the log.
    const prevIndex = prevLogTerm === 0 ? 0 : prevLogIndex;
    let t = Math.max(prevLogTerm, 1);
    const entries: Entry[] = steps.map((s, k) => {
      t += s.bump;
      return { index: prevIndex + 1 + k, term: t, type: s.type, data: s.data };
    });
    return { type: 'append', from: b.from, to: b.to, term: t + extraTerm, prevLogIndex: prevIndex, prevLogTerm, entries, commit };
  });

const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  base.chain((b) =>
    fc.record({ pos: position(b.term), pre: fc.boolean(), transfer: fc.boolean() }).map(({ pos, pre, transfer }): Message => ({
      type: 'vote',
      ...b,
      pre,
      lastLogIndex: pos.index,
      lastLogTerm: pos.term,
      transfer: transfer && !pre,
    })),
  ),
  fc
    .record({ b: base, t: nat, pre: fc.boolean(), reject: fc.boolean() })
    .map(({ b, t, ...r }): Message => ({ type: 'vote-response', ...b, term: t, ...r })),
  append,
  fc.oneof(
    base.map((b): Message => ({ type: 'append-response', ...b, index: b.term % 7, reject: false, hintIndex: 0, hintTerm: 0 })),
    base.chain((b) =>
      fc
        .record({ index: nat, hint: fc.double({ min: 0, max: 1, noNaN: true }), hintTerm: fc.integer({ min: 0, max: b.term }) })
        .map(({ index, hint, hintTerm }): Message => ({
          type: 'append-response',
          ...b,
          index,
          reject: true,
          hintIndex: Math.floor(index * hint),
          hintTerm,
        })),
    ),
  ),
  fc
    .record({ b: base, commit: nat, context: fc.option(ctx, { nil: null }) })
    .map(({ b, ...r }): Message => ({ type: 'heartbeat', ...b, ...r })),
  fc
    .record({ b: base, context: fc.option(ctx, { nil: null }) })
    .map(({ b, ...r }): Message => ({ type: 'heartbeat-response', ...b, ...r })),
  base.chain((b) =>
    fc
      .record({ index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), t: fc.integer({ min: 1, max: b.term }), confState: conf })
      .map(({ index, t, confState }): Message => ({ type: 'snapshot', ...b, snapshot: { index, term: t, confState } })),
  ),
  base.map((b): Message => ({ type: 'timeout-now', ...b })),
  fc.record({ b: base, context: ctx }).map(({ b, ...r }): Message => ({ type: 'read-index', ...b, ...r })),
  fc
    .record({ b: base, context: ctx, index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) })
    .map(({ b, ...r }): Message => ({ type: 'read-index-response', ...b, ...r })),
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
    const appendOf = (entries: unknown[], prevLogIndex = 0) => ({
      type: 'append',
      from: 1,
      to: 2,
      term: 1,
      prevLogIndex,
      prevLogTerm: 0,
      commit: 0,
      entries,
    });
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
      ['entry data not binary', appendOf([{ index: 1, term: 1, type: 'normal', data: 'x' }]), 'message.entries[0].data'],
      ['entry type unknown', appendOf([{ index: 1, term: 1, type: 'weird', data: new Uint8Array() }]), 'message.entries[0].type'],
      ['entries not contiguous', appendOf([{ index: 5, term: 1, type: 'normal', data: new Uint8Array() }], 3), 'message.entries[0].index'],
      [
        'entry term beyond message term',
        appendOf([{ index: 1, term: 2, type: 'normal', data: new Uint8Array() }]),
        'message.entries[0].term',
      ],
      [
        'configuration entry data malformed',
        appendOf([{ index: 1, term: 1, type: 'config', data: new Uint8Array([1, 0, 0]) }]),
        'message.entries[0].data',
      ],
      [
        'configuration entry whose configuration does not follow from its change',
        appendOf([
          {
            index: 1,
            term: 1,
            type: 'config',
            data: encodeConfigEntry({ change: { type: 'remove', node: 2 }, conf: { voters: [1, 2], learners: [] } }),
          },
        ]),
        'message.entries[0].data',
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

  // Well-formed messages with fields no correct peer sends, whatever the receiver's state: the
  // frame is refused (docs/design.md#security).
  describe('refuses out-of-range fields by kind, naming the field', () => {
    const vote = { type: 'vote', from: 1, to: 2, term: 3, pre: false, lastLogIndex: 4, lastLogTerm: 2, transfer: false };
    const app = { type: 'append', from: 1, to: 2, term: 3, prevLogIndex: 4, prevLogTerm: 2, entries: [], commit: 4 };
    const ent = (index: number, t: number) => ({ index, term: t, type: 'normal', data: new Uint8Array() });
    const ack = { type: 'append-response', from: 1, to: 2, term: 3, index: 4, reject: true, hintIndex: 2, hintTerm: 1 };
    const snap = (s: object) => ({
      type: 'snapshot',
      from: 1,
      to: 2,
      term: 3,
      snapshot: { index: 9, term: 2, confState: { voters: [1, 2, 3], learners: [] }, ...s },
    });
    const cases: Array<[string, unknown, string]> = [
      ['term 0 on a heartbeat', { type: 'heartbeat', from: 1, to: 2, term: 0, commit: 0, context: null }, 'message.term'],
      ['term 0 on a timeout-now', { type: 'timeout-now', from: 1, to: 2, term: 0 }, 'message.term'],
      ['term 0 on an append answer', { ...ack, term: 0, hintTerm: 0 }, 'message.term'],
      ['vote: last log term beyond the campaign term', { ...vote, lastLogTerm: 4 }, 'message.lastLogTerm'],
      ['vote: index 0 with a term', { ...vote, lastLogIndex: 0, lastLogTerm: 1 }, 'message.lastLogTerm'],
      ['vote: an index without a term', { ...vote, lastLogTerm: 0 }, 'message.lastLogTerm'],
      ['vote: a pre-vote marked as a transfer', { ...vote, pre: true, transfer: true }, 'message.transfer'],
      ['append: index 0 with a term', { ...app, prevLogIndex: 0, prevLogTerm: 1 }, 'message.prevLogTerm'],
      ['append: an index without a term', { ...app, prevLogTerm: 0 }, 'message.prevLogTerm'],
      ['append: previous term beyond the message term', { ...app, prevLogTerm: 4 }, 'message.prevLogTerm'],
      ['append: an entry of term 0', { ...app, prevLogIndex: 0, prevLogTerm: 0, entries: [ent(1, 0)] }, 'message.entries[0].term'],
      ['append answer: a hint without a rejection', { ...ack, reject: false }, 'message.hintIndex'],
      ['append answer: a hint beyond the rejected index', { ...ack, hintIndex: 5 }, 'message.hintIndex'],
      ['append answer: a hint term beyond the message term', { ...ack, hintTerm: 4 }, 'message.hintTerm'],
      ['snapshot at index 0', snap({ index: 0, term: 0 }), 'message.snapshot.index'],
      ['snapshot term beyond the message term', snap({ term: 4 }), 'message.snapshot.term'],
      ['snapshot without voters', snap({ confState: { voters: [], learners: [1] } }), 'message.snapshot.confState.voters'],
      ['snapshot listing a voter twice', snap({ confState: { voters: [1, 2, 1], learners: [] } }), 'message.snapshot.confState'],
      ['snapshot with a voter also a learner', snap({ confState: { voters: [1, 2], learners: [2] } }), 'message.snapshot.confState'],
      [
        'snapshot with a context for a non-member',
        snap({ confState: { voters: [1, 2], learners: [], contexts: [{ id: 3, context: new Uint8Array([1]) }] } }),
        'message.snapshot.confState',
      ],
      ['read-index with an empty context', { type: 'read-index', from: 1, to: 2, term: 1, context: '' }, 'message.context'],
      [
        'read-index answer at read point 0',
        { type: 'read-index-response', from: 1, to: 2, term: 1, context: 'c', index: 0 },
        'message.index',
      ],
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

  it('a vote answer may carry term 0: a node that never saw a term refuses a pre-vote', () => {
    const m: Message = { type: 'vote-response', from: 1, to: 2, term: 0, pre: true, reject: true };
    expect(validateMessage(m)).toEqual(m);
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
