/**
 * The core's refusals of peer messages (docs/design.md#security): a well-formed message that no
 * correct member sends in this node's state is refused with its reason and changes nothing (term,
 * vote, role, leader, log, commit, progress, and nothing to send), instead of reaching a
 * fail-stop invariant or acting on a claim nobody made. One group per RefusalReason, then the
 * boundary cases a correct member does send (which must be stepped), then the negative control:
 * with `skipPeerMessageChecks` the same messages reach the fail-stop invariants.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_READS, type Message, type RefusalReason, type SnapshotRequest } from '../../../src/raft/index.js';
import { TestNode, appendMsg, appendResp, ents, heartbeatMsg, ofType, voteReq } from './paper-helpers.js';

/** Everything a refusal must leave alone, as far as the core shows it. */
function observable(n: TestNode): object {
  return { status: n.raw.status(true), entries: n.entries(), hasReady: n.raw.hasReady() };
}

/** Steps `m` into `n` (which has nothing pending) and expects a refusal for `reason` that changed nothing. */
function expectRefused(n: TestNode, m: Message, reason: RefusalReason): void {
  n.flush();
  const before = observable(n);
  expect(n.raw.step(m)).toEqual({ type: 'refused', reason });
  expect(observable(n)).toEqual(before);
  expect(n.flush()).toEqual([]);
}

/** Steps `m` and expects the core to take it. */
function expectStepped(n: TestNode, m: Message): void {
  expect(n.raw.step(m)).toEqual({ type: 'stepped' });
}

/** Node 1 of [1, 2, 3] (+ `learners`), following node 2 in term 2, log [1@1, 2@2], commit 1. */
function follower(learners: readonly number[] = [], checkQuorum = false): TestNode {
  const n = new TestNode({ terms: [1, 2], hard: { term: 2, commit: 1 }, learners, checkQuorum });
  expectStepped(n, heartbeatMsg({ from: 2, to: 1, term: 2, commit: 1 }));
  n.flush();
  expect(n.status()).toMatchObject({ role: 'follower', term: 2, leader: 2, commit: 1, lastIndex: 2 });
  return n;
}

/** Node 1 of [1, 2, 3] (+ `learners`), leader of term 1 with its no-op (index 1) committed. */
function leader(learners: readonly number[] = []): TestNode {
  const n = new TestNode({ learners });
  n.ackAll(n.becomeLeader());
  expect(n.status()).toMatchObject({ role: 'leader', term: 1, commit: 1, lastIndex: 1 });
  return n;
}

function snapshotMsg(from: number, term: number, index: number, voters: number[], learners: number[] = []): SnapshotRequest {
  return { type: 'snapshot', from, to: 1, term, snapshot: { index, term, confState: { voters, learners } } };
}

describe('Raft.step refuses what no correct member sends, and changes nothing', () => {
  it('misaddressed: a message for another node', () => {
    expectRefused(follower(), heartbeatMsg({ from: 2, to: 3, term: 2, commit: 1 }), 'misaddressed');
  });

  it('from-self: a message claiming to come from this node', () => {
    const n = follower();
    expectRefused(n, heartbeatMsg({ from: 1, to: 1, term: 5, commit: 1 }), 'from-self');
    expectRefused(n, voteReq({ from: 1, to: 1, term: 5, lastLogIndex: 9, lastLogTerm: 5 }), 'from-self');
  });

  it('not-a-member: an answer or a forwarded read from a node outside the configuration', () => {
    expectRefused(leader(), appendResp({ from: 4, to: 1, term: 1, index: 1 }), 'not-a-member');
    expectRefused(leader(), { type: 'heartbeat-response', from: 4, to: 1, term: 1, context: null }, 'not-a-member');
    expectRefused(leader(), { type: 'read-index', from: 4, to: 1, term: 1, context: '4.r.0' }, 'not-a-member');
    expectRefused(follower(), { type: 'vote-response', from: 4, to: 1, term: 2, pre: true, reject: false }, 'not-a-member');
  });

  it('not-a-voter: a vote answer from a learner', () => {
    expectRefused(follower([4]), { type: 'vote-response', from: 4, to: 1, term: 2, pre: true, reject: false }, 'not-a-voter');
  });

  it('second-leader: a leader message in a term this node leads (Election Safety, §5.2)', () => {
    const n = leader();
    expectRefused(n, heartbeatMsg({ from: 2, to: 1, term: 1, commit: 1 }), 'second-leader');
    expectRefused(n, appendMsg({ from: 2, to: 1, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [1]) }), 'second-leader');
    expectRefused(n, snapshotMsg(2, 1, 5, [1, 2, 3]), 'second-leader');
    expectRefused(n, { type: 'timeout-now', from: 2, to: 1, term: 1 }, 'second-leader');
    expectRefused(n, { type: 'read-index-response', from: 2, to: 1, term: 1, index: 1, context: '1.a.1' }, 'second-leader');
  });

  it('second-leader: a leader message in the term of the leader this node follows, from another node', () => {
    const n = follower();
    expectRefused(n, heartbeatMsg({ from: 3, to: 1, term: 2, commit: 1 }), 'second-leader');
    expectRefused(
      n,
      appendMsg({ from: 3, to: 1, term: 2, prevLogIndex: 2, prevLogTerm: 2, entries: ents(3, [2]), commit: 3 }),
      'second-leader',
    );
    expectRefused(n, snapshotMsg(3, 2, 9, [1, 2, 3]), 'second-leader');
  });

  it('not-our-leader: TimeoutNow or a ReadIndex answer of a term this node has not reached', () => {
    const n = follower();
    expectRefused(n, { type: 'timeout-now', from: 2, to: 1, term: 3 }, 'not-our-leader');
    expectRefused(n, { type: 'read-index-response', from: 2, to: 1, term: 3, index: 2, context: '1.a.1' }, 'not-our-leader');
  });

  it('commit-beyond-log: a heartbeat committing past the end of our log, in our term or a newer one', () => {
    const n = follower();
    expectRefused(n, heartbeatMsg({ from: 2, to: 1, term: 2, commit: 3 }), 'commit-beyond-log');
    // A newer leader's heartbeat would make us adopt its term first: refused, the term stays.
    expectRefused(n, heartbeatMsg({ from: 3, to: 1, term: 9, commit: 2 ** 40 }), 'commit-beyond-log');
  });

  it("ack-beyond-log: an acknowledgement of entries beyond the leader's own log", () => {
    const n = leader();
    expectRefused(n, appendResp({ from: 2, to: 1, term: 1, index: 2 }), 'ack-beyond-log');
    expectRefused(n, appendResp({ from: 3, to: 1, term: 1, index: 2 ** 40 }), 'ack-beyond-log');
  });

  it('foreign-configuration: a snapshot whose configuration is none', () => {
    const n = follower();
    expectRefused(n, snapshotMsg(2, 2, 10, [], [1]), 'foreign-configuration');
    expectRefused(n, snapshotMsg(2, 2, 10, [1, 2, 2]), 'foreign-configuration');
    expectRefused(n, snapshotMsg(2, 2, 10, [1, 2], [2]), 'foreign-configuration');
  });

  it('a snapshot that leaves this node out is taken: it may predate the entry that (re-)added it', () => {
    const n = follower();
    expectStepped(n, snapshotMsg(2, 2, 10, [2, 3]));
  });

  it(`too-many-reads: forwarded ReadIndex requests beyond ${MAX_PENDING_READS} held`, () => {
    const n = leader();
    for (let k = 0; k < MAX_PENDING_READS; k++) expectStepped(n, { type: 'read-index', from: 2, to: 1, term: 1, context: `2.r.${k}` });
    expectRefused(n, { type: 'read-index', from: 3, to: 1, term: 1, context: '3.r.0' }, 'too-many-reads');
    // Once a quorum confirms them and they are answered, the leader takes requests again.
    n.step({ type: 'heartbeat-response', from: 2, to: 1, term: 1, context: `2.r.${MAX_PENDING_READS - 1}` });
    expect(ofType(n.flush(), 'read-index-response')).toHaveLength(MAX_PENDING_READS);
    expectStepped(n, { type: 'read-index', from: 3, to: 1, term: 1, context: '3.r.0' });
  });
});

describe('what a correct member sends is stepped, at the edge of each check', () => {
  it('a heartbeat committing exactly our last index', () => {
    const n = follower();
    expectStepped(n, heartbeatMsg({ from: 2, to: 1, term: 2, commit: 2 }));
    expect(n.status().commit).toBe(2);
  });

  it('an acknowledgement of exactly the leader’s last index, from a voter or a learner', () => {
    const n = leader([4]);
    expectStepped(n, appendResp({ from: 4, to: 1, term: 1, index: 1 }));
    expectStepped(n, appendResp({ from: 2, to: 1, term: 1, index: 1 }));
    expect(n.status().progress.find((p) => p.id === 4)?.match).toBe(1);
  });

  it('requests from nodes this configuration does not know as voters (a newer configuration may): thesis §4.1', () => {
    expectStepped(follower(), voteReq({ from: 4, to: 1, term: 5, lastLogIndex: 9, lastLogTerm: 5 }));
    const n = follower([4]);
    expectStepped(n, voteReq({ from: 4, to: 1, term: 5, lastLogIndex: 9, lastLogTerm: 5 }));
    expectStepped(n, heartbeatMsg({ from: 4, to: 1, term: 6, commit: 1 }));
    expect(n.status()).toMatchObject({ term: 6, leader: 4 });
  });

  it('a snapshot of a newer configuration that includes us installs', () => {
    const n = follower();
    expectStepped(n, snapshotMsg(2, 2, 10, [1, 2, 3, 4], [5]));
    n.flush();
    expect(n.status()).toMatchObject({ commit: 10, config: { voters: [1, 2, 3, 4], learners: [5] }, configIndex: 10 });
  });

  it('a snapshot listing our members in another order installs', () => {
    const n = follower();
    expectStepped(n, snapshotMsg(2, 2, 10, [3, 1, 2]));
    n.flush();
    expect(n.status()).toMatchObject({ commit: 10, lastIndex: 10 });
  });

  it('the answers of the leader we follow, in our term', () => {
    const n = follower();
    expectStepped(n, { type: 'read-index-response', from: 2, to: 1, term: 2, index: 1, context: '1.a.1' });
    expect(n.handleReady()?.readStates).toEqual([{ index: 1, context: '1.a.1' }]);
    expectStepped(n, { type: 'timeout-now', from: 2, to: 1, term: 2 });
    expect(n.status()).toMatchObject({ role: 'candidate', term: 3 });
  });

  it('a leader message of our term while we know no leader (a candidate learns it lost)', () => {
    const n = new TestNode({ terms: [1], hard: { term: 1 } });
    n.raw.campaign();
    n.flush();
    expect(n.status()).toMatchObject({ role: 'candidate', term: 2, leader: 0 });
    expectStepped(n, appendMsg({ from: 3, to: 1, term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [2]) }));
    expect(n.status()).toMatchObject({ role: 'follower', term: 2, leader: 3, lastIndex: 2 });
  });

  it("a stale leader's heartbeat is not refused but answered with our term, so it steps down", () => {
    const n = follower([], true);
    expectStepped(n, heartbeatMsg({ from: 3, to: 1, term: 1, commit: 1 }));
    expect(ofType(n.flush(), 'append-response')).toMatchObject([{ to: 3, term: 2 }]);
  });
});

describe('negative control: skipPeerMessageChecks lets the same messages through', () => {
  it("a second leader's heartbeat reaches the two-leaders invariant, and a commit beyond the log reaches commitTo's", () => {
    const l = new TestNode({ skipPeerMessageChecks: true });
    l.ackAll(l.becomeLeader());
    expect(() => l.raw.step(heartbeatMsg({ from: 2, to: 1, term: 1, commit: 1 }))).toThrow(/two leaders in term 1: 1 and 2/);

    const f = new TestNode({ terms: [1, 2], hard: { term: 2, commit: 1 }, skipPeerMessageChecks: true });
    expect(() => f.raw.step(heartbeatMsg({ from: 2, to: 1, term: 2, commit: 3 }))).toThrow(/commit 3 beyond last index 2/);
  });

  it('a foreign configuration is installed, and only a misaddressed message is still refused', () => {
    const f = new TestNode({ terms: [1, 2], hard: { term: 2, commit: 1 }, skipPeerMessageChecks: true });
    expect(f.raw.step(snapshotMsg(2, 2, 10, [1, 2]))).toEqual({ type: 'stepped' });
    f.flush();
    expect(f.status().commit).toBe(10);
    expect(f.raw.step(heartbeatMsg({ from: 2, to: 3, term: 2 }))).toEqual({ type: 'refused', reason: 'misaddressed' });
  });
});
