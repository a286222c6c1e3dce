/**
 * The node's view of the members (docs/design.md#membership): where each is reached (its
 * context, else the configuration file, dial overrides for the transport), the peers of a
 * joining node, the members routes' view of progress, and how a change request is parsed.
 */
import { describe, expect, it } from 'vitest';
import type { ConfState, Status } from '../../../src/raft/index.js';
import { confChangeOf, membersView, parseMemberChange, refusalMessage } from '../../../src/server/member-routes.js';
import { MemberDirectory, admissionOf, decodeMemberContext, encodeMemberContext, newAdmission } from '../../../src/server/members.js';

const file = new Map([
  [1, '127.0.0.1:7101'],
  [2, '127.0.0.1:7102'],
  [3, '127.0.0.1:7103'],
]);
/** Nodes 1–3 from the file, node 4 added with its address, node 2 removed. */
const grown: ConfState = { voters: [1, 3, 4], learners: [], contexts: [{ id: 4, context: encodeMemberContext('10.0.0.4:7104', 'a1') }] };

describe('member contexts', () => {
  it('carry an address and an admission, and anything else decodes to nothing', () => {
    expect(decodeMemberContext(encodeMemberContext('h:1', 'f00d'))).toEqual({ address: 'h:1', admission: 'f00d' });
    // A context written before admissions existed.
    expect(decodeMemberContext(new TextEncoder().encode('{"address":"h:2"}'))).toEqual({ address: 'h:2' });
    for (const bad of ['', 'not json', '[]', '{"address":7,"admission":false}', '{"address":"","admission":""}', 'null']) {
      expect([bad, decodeMemberContext(new TextEncoder().encode(bad))]).toEqual([bad, {}]);
    }
    expect(decodeMemberContext(Uint8Array.from([0xff, 0xfe]))).toEqual({});
  });

  it("give a member's admission: its context's, '' for a founding member, none for a non-member", () => {
    expect(admissionOf(grown, 4)).toBe('a1');
    expect(admissionOf(grown, 1)).toBe('');
    expect(admissionOf(grown, 2)).toBeUndefined();
    expect(newAdmission()).toMatch(/^[0-9a-f]{16}$/);
    expect(newAdmission()).not.toBe(newAdmission());
  });
});

describe('MemberDirectory', () => {
  it('reaches a member by its context first, else by the configuration file', () => {
    const d = new MemberDirectory(1, file);
    expect(d.addressOf(grown, 4)).toBe('10.0.0.4:7104');
    expect(d.addressOf(grown, 3)).toBe('127.0.0.1:7103');
    expect(d.addressOf(grown, 9)).toBeNull();
    expect(d.members(grown)).toEqual([
      { id: 1, address: '127.0.0.1:7101', role: 'voter' },
      { id: 3, address: '127.0.0.1:7103', role: 'voter' },
      { id: 4, address: '10.0.0.4:7104', role: 'voter' },
    ]);
  });

  it('peers are the other members of the configuration in force (a removed node is no peer), dial overrides first', () => {
    const d = new MemberDirectory(1, file, new Map([[3, '127.0.0.1:9003']]));
    expect([...d.peers(grown)]).toEqual([
      [3, '127.0.0.1:9003'],
      [4, '10.0.0.4:7104'],
    ]);
  });

  it('a node with no configuration yet (joining) talks to the members it was told of', () => {
    const d = new MemberDirectory(5, new Map([...file, [5, '127.0.0.1:7105']]));
    expect([...d.peers({ voters: [], learners: [] })].map(([id]) => id)).toEqual([1, 2, 3]);
  });
});

/** The leader's progress for `id`: replicated up to `match`, heard from lately or not. */
function peer(id: number, match: number, recentActive: boolean): Status['progress'][number] {
  return {
    id,
    match,
    next: match + 1,
    state: recentActive ? 'replicate' : 'probe',
    recentActive,
    isLearner: false,
    inflight: 0,
    paused: false,
  };
}

describe('GET /admin/members view', () => {
  const status = (role: Status['role']): Status => ({
    id: 1,
    role,
    term: 4,
    vote: 1,
    leader: 1,
    commit: 20,
    applied: 20,
    firstIndex: 1,
    lastIndex: 22,
    leadTransferee: 0,
    config: grown,
    configIndex: 21,
    progress: [peer(1, 22, true), peer(3, 22, true), peer(4, 5, false)],
  });

  it("at the leader: each member's match, lag and reachability, and the pending change", () => {
    const v = membersView(status('leader'), new MemberDirectory(1, file));
    expect(v).toMatchObject({ from: 1, leader: 1, leaderAddress: '127.0.0.1:7101', configIndex: 21, changePending: true });
    expect(v.members.map((m) => [m.id, m.match, m.lag, m.reachable])).toEqual([
      [1, 22, 0, true],
      [3, 22, 0, true],
      [4, 5, 17, false],
    ]);
  });

  it('elsewhere: the members without progress (only the leader knows it)', () => {
    const v = membersView({ ...status('follower'), leader: 3 }, new MemberDirectory(1, file));
    expect(v.leaderAddress).toBe('127.0.0.1:7103');
    expect(v.members.every((m) => m.match === null && m.lag === null && m.reachable === null)).toBe(true);
  });
});

describe('POST /admin/members requests', () => {
  it('parses each change, the address going into the member context', () => {
    const add = parseMemberChange({ action: 'add-learner', id: 4, address: '10.0.0.4:7104' });
    expect(add).toEqual({ action: 'add-learner', id: 4, address: '10.0.0.4:7104' });
    const cc = confChangeOf(add as Exclude<typeof add, string>);
    expect(cc.type).toBe('add-learner');
    // Each add is a new admission (docs/design.md#data-identity).
    const info = decodeMemberContext(cc.context ?? new Uint8Array());
    expect(info.address).toBe('10.0.0.4:7104');
    expect(info.admission).toMatch(/^[0-9a-f]{16}$/);
    expect(parseMemberChange({ action: 'promote', id: 4 })).toEqual({ action: 'promote', id: 4 });
    expect(parseMemberChange({ action: 'remove', id: 2 })).toEqual({ action: 'remove', id: 2 });
  });

  it('refuses a malformed request, saying what is wrong', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /JSON object/],
      [[1], /JSON object/],
      [{ action: 'add-learner', id: 4 }, /address/],
      [{ action: 'add-learner', id: 4, address: 'nohost' }, /address/],
      [{ action: 'promote', id: 0 }, /positive integer/],
      [{ action: 'promote', id: '4' }, /positive integer/],
      [{ action: 'promote', id: 4, address: 'h:1' }, /only add-learner/],
      [{ action: 'grow', id: 4 }, /add-learner, promote or remove/],
      [{ action: 'remove', id: 4, force: true }, /unknown field "force"/],
    ];
    for (const [body, why] of cases) {
      const r = parseMemberChange(body);
      expect(typeof r, JSON.stringify(body)).toBe('string');
      expect(r as string).toMatch(why);
    }
  });

  it('explains every refusal of the core in words an operator can act on', () => {
    for (const reason of [
      'change-pending',
      'not-ready',
      'learner-behind',
      'transfer-in-progress',
      'already-member',
      'not-a-member',
      'not-a-learner',
      'last-voter',
    ]) {
      const text = refusalMessage(reason, 4);
      expect(text).not.toBe(reason);
      expect(text.length).toBeGreaterThan(15);
    }
  });
});
