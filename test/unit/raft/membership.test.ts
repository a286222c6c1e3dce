/**
 * Membership changes as data (docs/design.md#membership): how a change turns one configuration
 * into the next (members' host contexts carried along), how a `config` entry encodes and
 * decodes (and every way a decoder refuses one), and how the history of configurations follows
 * appends, truncations and snapshots.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigHistory,
  MAX_CONF_CONTEXT_BYTES,
  MAX_MEMBERS,
  applyConfChange,
  decodeConfigEntry,
  encodeConfigEntry,
  memberContext,
  type ConfChange,
  type ConfigEntryData,
} from '../../../src/raft/membership.js';
import type { ConfState, Entry } from '../../../src/raft/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const three: ConfState = { voters: [1, 2, 3], learners: [] };

/** The configuration after `changes`, failing the test on a refusal. */
function after(conf: ConfState, ...changes: ConfChange[]): ConfState {
  return changes.reduce((c, cc) => {
    const next = applyConfChange(c, cc);
    if (typeof next === 'string') throw new Error(`${cc.type} ${cc.node} refused: ${next}`);
    return next;
  }, conf);
}

function configEntry(index: number, d: ConfigEntryData, term = 1): Entry {
  return { index, term, type: 'config', data: encodeConfigEntry(d) };
}

describe('applyConfChange', () => {
  it('adds a learner with its context, promotes it, removes it; the context follows the member', () => {
    const added = after(three, { type: 'add-learner', node: 4, context: bytes('10.0.0.4:7104') });
    expect(added).toEqual({ voters: [1, 2, 3], learners: [4], contexts: [{ id: 4, context: bytes('10.0.0.4:7104') }] });
    const promoted = after(added, { type: 'promote', node: 4 });
    expect(promoted).toEqual({ voters: [1, 2, 3, 4], learners: [], contexts: [{ id: 4, context: bytes('10.0.0.4:7104') }] });
    expect(memberContext(promoted, 4)).toEqual(bytes('10.0.0.4:7104'));
    expect(after(promoted, { type: 'remove', node: 4 })).toEqual(three);
    expect(memberContext(after(promoted, { type: 'remove', node: 4 }), 4)).toBeUndefined();
  });

  it('a member added without a context has none, and the others keep theirs', () => {
    const c = after(three, { type: 'add-learner', node: 5, context: bytes('a') }, { type: 'add-learner', node: 4 });
    expect(c.contexts).toEqual([{ id: 5, context: bytes('a') }]);
    expect(after(c, { type: 'remove', node: 1 }).contexts).toEqual([{ id: 5, context: bytes('a') }]);
  });

  it('refuses each change that makes no sense, by name', () => {
    const withLearner = after(three, { type: 'add-learner', node: 4 });
    const cases: Array<[ConfState, ConfChange, string]> = [
      [three, { type: 'add-learner', node: 2 }, 'already-member'],
      [withLearner, { type: 'add-learner', node: 4 }, 'already-member'],
      [three, { type: 'promote', node: 9 }, 'not-a-member'],
      [three, { type: 'promote', node: 1 }, 'not-a-learner'],
      [three, { type: 'remove', node: 9 }, 'not-a-member'],
      [{ voters: [1], learners: [2] }, { type: 'remove', node: 1 }, 'last-voter'],
      [three, { type: 'add-learner', node: 0 }, 'invalid-node'],
      [three, { type: 'add-learner', node: 1.5 }, 'invalid-node'],
      [three, { type: 'add-learner', node: 4, context: new Uint8Array(MAX_CONF_CONTEXT_BYTES + 1) }, 'invalid-context'],
    ];
    for (const [conf, cc, why] of cases) expect([cc, applyConfChange(conf, cc)]).toEqual([cc, why]);
  });
});

describe('config entries', () => {
  it('round-trip any sequence of changes, contexts included', () => {
    const change = fc.record({
      type: fc.constantFrom<ConfChange['type']>('add-learner', 'promote', 'remove'),
      node: fc.integer({ min: 1, max: 12 }),
      context: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), (changes) => {
        let conf = three;
        for (const { type, node, context } of changes) {
          const cc: ConfChange = type === 'add-learner' && context !== undefined ? { type, node, context } : { type, node };
          const next = applyConfChange(conf, cc);
          if (typeof next === 'string') continue;
          conf = next;
          expect(decodeConfigEntry(encodeConfigEntry({ change: cc, conf }))).toEqual({ change: cc, conf });
        }
      }),
    );
  });

  it('a decoder refuses every malformed entry, saying what is wrong', () => {
    const good = encodeConfigEntry({
      change: { type: 'add-learner', node: 4, context: bytes('x') },
      conf: { voters: [1, 2, 3], learners: [4], contexts: [{ id: 4, context: bytes('x') }] },
    });
    const withTail = new Uint8Array(good.byteLength + 1);
    withTail.set(good);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty', new Uint8Array(0), /too short/],
      ['unknown version', Uint8Array.from([9, ...good.subarray(1)]), /unknown version 9/],
      ['unknown change type', Uint8Array.from([1, 7, ...good.subarray(2)]), /unknown change type/],
      ['truncated', good.subarray(0, good.byteLength - 1), /truncated/],
      ['trailing bytes', withTail, /trailing bytes/],
      [
        'change and configuration disagree',
        encodeConfigEntry({ change: { type: 'remove', node: 2 }, conf: three }),
        /does not follow from remove 2/,
      ],
      ['no voter', encodeConfigEntry({ change: { type: 'remove', node: 1 }, conf: { voters: [], learners: [2] } }), /no voter/],
      [
        'a node twice',
        encodeConfigEntry({ change: { type: 'promote', node: 2 }, conf: { voters: [1, 2], learners: [2] } }),
        /appears twice/,
      ],
      [
        'a context for a non-member',
        encodeConfigEntry({
          change: { type: 'promote', node: 2 },
          conf: { voters: [1, 2], learners: [], contexts: [{ id: 5, context: bytes('a') }] },
        }),
        /not a member/,
      ],
      [
        'two contexts for one node',
        encodeConfigEntry({
          change: { type: 'promote', node: 2 },
          conf: {
            voters: [1, 2],
            learners: [],
            contexts: [
              { id: 2, context: bytes('a') },
              { id: 2, context: bytes('b') },
            ],
          },
        }),
        /two contexts/,
      ],
      [
        'a context too long',
        encodeConfigEntry({
          change: { type: 'promote', node: 2 },
          conf: { voters: [1, 2], learners: [], contexts: [{ id: 2, context: new Uint8Array(MAX_CONF_CONTEXT_BYTES + 1) }] },
        }),
        /longer than/,
      ],
      [
        'more members than allowed',
        encodeConfigEntry({
          change: { type: 'promote', node: 1 },
          conf: { voters: Array.from({ length: MAX_MEMBERS + 1 }, (_, k) => k + 1), learners: [] },
        }),
        /too long|more than/,
      ],
    ];
    for (const [name, data, why] of cases) {
      const d = decodeConfigEntry(data);
      expect([name, typeof d]).toEqual([name, 'string']);
      expect(d as string).toMatch(why);
    }
  });
});

describe('ConfigHistory', () => {
  const base = { index: 10, conf: three };
  const add4 = {
    change: { type: 'add-learner', node: 4, context: bytes('four') },
    conf: after(three, { type: 'add-learner', node: 4, context: bytes('four') }),
  } satisfies ConfigEntryData;
  const promote4 = { change: { type: 'promote', node: 4 }, conf: after(add4.conf, { type: 'promote', node: 4 }) } satisfies ConfigEntryData;

  it('the latest configuration in the log is in force, and the one at any index is known', () => {
    const h = new ConfigHistory(base);
    const normal = (index: number): Entry => ({ index, term: 1, type: 'normal', data: new Uint8Array() });
    h.appended([normal(11), configEntry(12, add4), normal(13), configEntry(14, promote4)]);
    expect(h.latest()).toEqual({ index: 14, conf: promote4.conf });
    expect(h.at(10)).toEqual(base);
    expect(h.at(13)).toEqual({ index: 12, conf: add4.conf });
    expect(h.at(14).conf.contexts).toEqual([{ id: 4, context: bytes('four') }]);
  });

  it('a truncation drops the configurations it removes: the one before is in force again', () => {
    const h = new ConfigHistory(base);
    h.appended([configEntry(11, add4), configEntry(12, promote4)]);
    h.appended([{ index: 12, term: 2, type: 'normal', data: new Uint8Array() }]);
    expect(h.latest()).toEqual({ index: 11, conf: add4.conf });
    h.appended([{ index: 11, term: 3, type: 'noop', data: new Uint8Array() }]);
    expect(h.latest()).toEqual(base);
  });

  it('a snapshot replaces the history from its index, keeping committed configurations before it', () => {
    const h = new ConfigHistory(base);
    h.appended([configEntry(11, add4), configEntry(12, promote4)]);
    h.restore({ index: 20, conf: promote4.conf }, 11);
    expect(h.latest()).toEqual({ index: 20, conf: promote4.conf });
    expect(h.at(11)).toEqual({ index: 11, conf: add4.conf });
    // Entries the snapshot covers are ignored when they arrive again.
    h.appended([configEntry(15, add4)]);
    expect(h.latest()).toEqual({ index: 20, conf: promote4.conf });
  });

  it('asking for an index before the history is our own bug, not a peer’s', () => {
    expect(() => new ConfigHistory(base).at(9)).toThrow(/history starts at 10/);
  });
});
