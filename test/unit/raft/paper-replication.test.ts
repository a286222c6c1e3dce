/**
 * Paper tests: log replication (Raft §5.3, Figure 2 "Leaders", "AppendEntries RPC" receiver rules
 * 1–5, "All servers" apply rule), including Figure 7's divergent follower logs.
 * Modelled on etcd-io/raft's raft_paper_test.go; every assertion is on observable state.
 */
import { describe, expect, it } from 'vitest';
import type { Entry, NodeId } from '../../../src/raft/index.js';
import { InteractionEnv } from '../../support/interaction-env.js';
import {
  TestNode,
  acceptAndReply,
  appendMsg,
  appendResp,
  bytes,
  elect,
  ents,
  heartbeatMsg,
  logOf,
  ofType,
  recipients,
  text,
  tickAll,
} from './paper-helpers.js';

/** A leader of term 1 in a cluster of `size` whose no-op is committed and applied. */
function leaderWithCommittedNoop(size = 3): TestNode {
  const n = new TestNode({ voters: Array.from({ length: size }, (_, k) => k + 1) });
  n.ackAll(n.becomeLeader());
  expect(n.status().commit).toBe(1);
  return n;
}

describe('Figure 2 "Leaders" / §5.2–§5.3', () => {
  it('§5.2: upon election a leader sends AppendEntries to every other server at once', () => {
    const n = new TestNode({ voters: [1, 2, 3, 4, 5], terms: [1, 1], hard: { term: 1 } });
    const out = n.becomeLeader();
    const appends = ofType(out, 'append');
    expect(recipients(appends)).toEqual([2, 3, 4, 5]);
    for (const m of appends) {
      expect(m).toMatchObject({ term: 2, prevLogIndex: 2, prevLogTerm: 1, commit: 0 });
      // Not empty here: the new leader's no-op rides on it (§8).
      expect(m.entries.map((e) => [e.index, e.term, e.type])).toEqual([[3, 2, 'noop']]);
    }
  });

  it('§5.2: a leader sends heartbeats to every follower during idle periods', () => {
    const n = new TestNode({ heartbeatTick: 2 });
    n.ackAll(n.becomeLeader());
    const beats = new Map<NodeId, number>();
    for (let k = 0; k < 10 * n.heartbeatTick; k++) {
      n.tick();
      for (const m of ofType(n.flush(), 'heartbeat')) {
        expect(m).toMatchObject({ term: 1, commit: 1 });
        beats.set(m.to, (beats.get(m.to) ?? 0) + 1);
      }
    }
    expect(beats).toEqual(
      new Map([
        [2, 10],
        [3, 10],
      ]),
    );
    expect(n.status().role).toBe('leader');
  });

  it('§5.3: a leader appends a client command to its log and replicates it, with the preceding index and term', () => {
    const n = leaderWithCommittedNoop();
    const li = n.status().lastIndex;
    const res = n.raw.propose([bytes('some data')]);
    expect(res).toEqual({ type: 'accepted', term: 1, firstIndex: li + 1, lastIndex: li + 1 });
    expect(n.status()).toMatchObject({ lastIndex: li + 1, commit: li });

    const rd = n.handleReady();
    expect(rd?.entries.map((e) => [e.index, e.term, text(e)])).toEqual([[li + 1, 1, 'some data']]);
    const appends = ofType([...(rd?.messages ?? []), ...(rd?.persistedMessages ?? [])], 'append');
    expect(recipients(appends)).toEqual([2, 3]);
    for (const m of appends) {
      expect(m).toMatchObject({ term: 1, prevLogIndex: li, prevLogTerm: 1, commit: li });
      expect(m.entries.map((e) => [e.index, e.term, text(e)])).toEqual([[li + 1, 1, 'some data']]);
    }
  });

  it('§5.3: once replicated on a majority the entry is committed, applied, and the commit index is sent on', () => {
    const n = leaderWithCommittedNoop();
    const li = n.status().lastIndex;
    n.raw.propose([bytes('some data')]);
    const out = n.flush();
    // Followers acknowledge; the leader commits and hands the entry to its state machine.
    for (const m of ofType(out, 'append')) n.step(acceptAndReply(m));
    expect(n.status().commit).toBe(li + 1);
    const rd = n.handleReady();
    expect(rd?.committedEntries.map(text)).toEqual(['some data']);
    const appends = ofType([...(rd?.messages ?? []), ...(rd?.persistedMessages ?? [])], 'append');
    expect(recipients(appends)).toEqual([2, 3]);
    for (const m of appends) expect(m.commit).toBe(li + 1);
  });

  // etcd-io/raft TestLeaderAcknowledgeCommit.
  it.each([
    { size: 1, acks: [], committed: true },
    { size: 3, acks: [], committed: false },
    { size: 3, acks: [2], committed: true },
    { size: 3, acks: [2, 3], committed: true },
    { size: 5, acks: [], committed: false },
    { size: 5, acks: [2], committed: false },
    { size: 5, acks: [2, 3], committed: true },
    { size: 5, acks: [2, 3, 4, 5], committed: true },
  ])('§5.3: an entry is committed once the leader replicated it on a majority (size $size, acks $acks)', ({ size, acks, committed }) => {
    const n = leaderWithCommittedNoop(size);
    const li = n.status().lastIndex;
    n.raw.propose([bytes('x')]);
    for (const m of ofType(n.flush(), 'append')) if (acks.includes(m.to)) n.step(acceptAndReply(m));
    n.flush();
    expect(n.status().commit > li).toBe(committed);
  });

  it('§5.3: if last log index ≥ nextIndex, the leader sends the entries starting at nextIndex', () => {
    const n = new TestNode({ terms: [1, 1, 1], hard: { term: 1 } });
    n.becomeLeader();
    // Follower 2 has everything; follower 3 holds only index 1 and says so.
    n.step(appendResp({ from: 2, to: 1, term: 2, index: 4 }));
    n.step(appendResp({ from: 3, to: 1, term: 2, index: 3, reject: true, hintIndex: 1, hintTerm: 1 }));
    const out = ofType(n.flush(), 'append').filter((m) => m.to === 3);
    const pr = n.status().progress.find((p) => p.id === 3);
    expect(pr?.next).toBe(2);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ prevLogIndex: 1, prevLogTerm: 1 });
    expect(out[0]?.entries.map((e) => e.index)).toEqual([2, 3, 4]);
  });

  it('§5.3: after a successful AppendEntries the leader updates nextIndex and matchIndex', () => {
    const n = new TestNode({ terms: [1, 1], hard: { term: 1 } });
    n.becomeLeader();
    expect(n.status().progress.find((p) => p.id === 2)).toMatchObject({ match: 0, next: 3 });
    n.step(appendResp({ from: 2, to: 1, term: 2, index: 3 }));
    expect(n.status().progress.find((p) => p.id === 2)).toMatchObject({ match: 3, next: 4, state: 'replicate' });
    // A stale, lower acknowledgement does not move them back.
    n.step(appendResp({ from: 2, to: 1, term: 2, index: 1 }));
    expect(n.status().progress.find((p) => p.id === 2)).toMatchObject({ match: 3, next: 4 });
  });

  it('§5.3: after a rejection for inconsistency the leader decrements nextIndex and retries', () => {
    const n = new TestNode({ terms: [1, 1, 1, 1], hard: { term: 1 } });
    let out = ofType(n.becomeLeader(), 'append').filter((m) => m.to === 2);
    const prevs: number[] = [];
    // The follower refuses three times with no better hint than "one less".
    for (let k = 0; k < 3; k++) {
      const m = out[0];
      if (m === undefined) throw new Error('no retry sent');
      prevs.push(m.prevLogIndex);
      n.step(appendResp({ from: 2, to: 1, term: 2, index: m.prevLogIndex, reject: true, hintIndex: m.prevLogIndex - 1 }));
      out = ofType(n.flush(), 'append').filter((x) => x.to === 2);
    }
    const last = out[0];
    if (last === undefined) throw new Error('no retry sent');
    prevs.push(last.prevLogIndex);
    expect(prevs).toEqual([4, 3, 2, 1]);
    expect(last.entries.map((e) => e.index)).toEqual([2, 3, 4, 5]);
    n.step(acceptAndReply(last));
    expect(n.status().progress.find((p) => p.id === 2)).toMatchObject({ match: 5, next: 6 });
  });

  it('§5.3: committing an entry also commits every preceding entry, including earlier leaders', () => {
    const n = new TestNode({ terms: [1, 2], hard: { term: 2 } });
    const out = n.becomeLeader();
    n.raw.propose([bytes('some data')]);
    out.push(...n.flush());
    // Every follower accepts everything it is sent.
    for (let msgs = out; msgs.length > 0;) msgs = n.ackAll(ofType(msgs, 'append'));
    expect(n.status().commit).toBe(4);
    expect(n.applied.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 1, 'normal'],
      [2, 2, 'normal'],
      [3, 3, 'noop'],
      [4, 3, 'normal'],
    ]);
  });
});

describe('Figure 2 "All servers": apply committed entries', () => {
  it('§5.3: once a follower learns an entry is committed it applies it, in log order, exactly once', () => {
    const n = new TestNode();
    n.step(appendMsg({ from: 2, to: 1, term: 1, entries: ents(1, [1, 1, 1]), commit: 2 }));
    const rd1 = n.handleReady();
    expect(rd1?.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(n.status()).toMatchObject({ commit: 2, applied: 2 });
    // Later the commit index arrives on a heartbeat: only the new entry is handed out.
    n.step(heartbeatMsg({ from: 2, to: 1, term: 1, commit: 3 }));
    const rd2 = n.handleReady();
    expect(rd2?.committedEntries.map((e) => e.index)).toEqual([3]);
    n.flush();
    expect(n.applied.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(n.status().applied).toBe(3);
  });

  it('Figure 2: an uncommitted entry is never applied', () => {
    const n = new TestNode();
    n.step(appendMsg({ from: 2, to: 1, term: 1, entries: ents(1, [1, 1]), commit: 0 }));
    n.flush();
    expect(n.applied).toEqual([]);
    expect(n.status()).toMatchObject({ commit: 0, applied: 0, lastIndex: 2 });
  });
});

describe('Figure 2 "AppendEntries RPC" receiver', () => {
  /** Follower of term 2 whose leader is 2, with log [1, 2] and commit 1 (etcd TestFollowerCheckMsgApp). */
  function follower(terms: readonly number[] = [1, 2], commit = 1, opts: { checkQuorum?: boolean } = {}): TestNode {
    const n = new TestNode({ terms, hard: { term: 2, commit }, ...opts });
    n.step(heartbeatMsg({ from: 2, to: 1, term: 2, commit }));
    n.flush();
    return n;
  }

  it('Figure 2 AppendEntries 1: reply false if term < currentTerm', () => {
    const n = follower([1, 2], 1, { checkQuorum: true });
    n.step(appendMsg({ from: 3, to: 1, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [1, 1]), commit: 3 }));
    const out = n.flush();
    expect(n.terms()).toEqual([1, 2]);
    expect(n.status()).toMatchObject({ term: 2, leader: 2, commit: 1 });
    // The only answer acknowledges nothing and carries the newer term, deposing the sender.
    expect(ofType(out, 'append-response')).toEqual([
      { type: 'append-response', from: 1, to: 3, term: 2, index: 0, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
  });

  it.each([
    { name: 'term mismatch at prevLogIndex', prevLogIndex: 2, prevLogTerm: 1, hint: [1, 1] },
    { name: 'no entry at prevLogIndex', prevLogIndex: 3, prevLogTerm: 3, hint: [2, 2] },
  ])(
    'Figure 2 AppendEntries 2: reply false if the log has no entry at prevLogIndex with prevLogTerm ($name)',
    ({ prevLogIndex, prevLogTerm, hint }) => {
      const n = follower();
      n.step(appendMsg({ from: 2, to: 1, term: 2, prevLogIndex, prevLogTerm, entries: ents(prevLogIndex + 1, [2]), commit: 3 }));
      const out = ofType(n.flush(), 'append-response');
      expect(out).toEqual([
        { type: 'append-response', from: 1, to: 2, term: 2, index: prevLogIndex, reject: true, hintIndex: hint[0], hintTerm: hint[1] },
      ]);
      expect(n.terms()).toEqual([1, 2]);
      expect(n.status().commit).toBe(1);
    },
  );

  it.each([
    { prevLogIndex: 0, prevLogTerm: 0, index: 1 },
    { prevLogIndex: 1, prevLogTerm: 1, index: 1 },
    { prevLogIndex: 2, prevLogTerm: 2, index: 2 },
  ])(
    'Figure 2 AppendEntries 2: an append whose prevLogIndex/prevLogTerm match (prev $prevLogTerm/$prevLogIndex) is accepted',
    ({ prevLogIndex, prevLogTerm, index }) => {
      const n = follower();
      n.step(appendMsg({ from: 2, to: 1, term: 2, prevLogIndex, prevLogTerm }));
      expect(ofType(n.flush(), 'append-response')).toMatchObject([{ reject: false, index }]);
    },
  );

  it('Figure 2 AppendEntries 3: an existing entry that conflicts with a new one is deleted with all that follow it', () => {
    const n = new TestNode({ terms: [1, 1, 2, 2], hard: { term: 2, commit: 1 } });
    n.step(appendMsg({ from: 3, to: 1, term: 3, prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [1, 3]) }));
    expect(n.terms()).toEqual([1, 1, 3]);
    const rd = n.handleReady();
    // Only the replacement is written; it supersedes the stored suffix from index 3 on.
    expect(rd?.entries.map((e) => [e.index, e.term])).toEqual([[3, 3]]);
    expect(n.storage.lastIndex()).toBe(3);
    expect(n.storage.term(3)).toBe(3);
    expect(ofType([...(rd?.persistedMessages ?? [])], 'append-response')).toMatchObject([{ reject: false, index: 3 }]);
  });

  it('Figure 2 AppendEntries 4: new entries not already in the log are appended; entries already there are kept', () => {
    const n = new TestNode({ terms: [1, 1], hard: { term: 2 } });
    n.step(appendMsg({ from: 2, to: 1, term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [1, 2, 2]) }));
    expect(n.terms()).toEqual([1, 1, 2, 2]);
    expect(n.handleReady()?.entries.map((e) => e.index)).toEqual([3, 4]);

    // A delayed, shorter copy of an earlier append must not truncate the log (§5.5 too).
    n.step(appendMsg({ from: 2, to: 1, term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [1]) }));
    expect(n.terms()).toEqual([1, 1, 2, 2]);
    const rd = n.handleReady();
    expect(rd?.entries).toEqual([]);
    expect(ofType([...(rd?.persistedMessages ?? [])], 'append-response')).toMatchObject([{ reject: false, index: 2 }]);
  });

  it.each([
    { name: 'leaderCommit beyond the new entries', leaderCommit: 5, commit: 2 },
    { name: 'leaderCommit below the new entries', leaderCommit: 1, commit: 1 },
  ])('Figure 2 AppendEntries 5: commitIndex = min(leaderCommit, index of last new entry) ($name)', ({ leaderCommit, commit }) => {
    const n = new TestNode();
    n.step(appendMsg({ from: 2, to: 1, term: 1, entries: ents(1, [1, 1]), commit: leaderCommit }));
    expect(n.status().commit).toBe(commit);
    n.flush();
    expect(n.applied.map((e) => e.index)).toEqual(Array.from({ length: commit }, (_, k) => k + 1));
  });

  it('Figure 2 AppendEntries 5: the last NEW entry bounds commit, not the end of a longer unverified log', () => {
    // Entries 4–5 come from a deposed leader of term 2; the leader of term 3 has others there.
    const n = new TestNode({ terms: [1, 1, 1, 2, 2], hard: { term: 2 } });
    n.step(appendMsg({ from: 2, to: 1, term: 3, prevLogIndex: 2, prevLogTerm: 1, entries: ents(3, [1]), commit: 5 }));
    expect(n.status().commit).toBe(3);
    expect(n.terms()).toEqual([1, 1, 1, 2, 2]);
    n.flush();
    expect(n.applied.map((e) => e.index)).toEqual([1, 2, 3]);
  });
});

describe('§5.3: Log Matching', () => {
  /** Asserts Log Matching between every pair of nodes: same index and term ⇒ identical prefix. */
  function assertLogMatching(env: InteractionEnv): void {
    const logs = new Map<NodeId, readonly Entry[]>();
    for (const id of env.nodes.keys()) {
      const st = env.status(id);
      logs.set(id, st.lastIndex >= st.firstIndex ? env.node(id).raw.entries(st.firstIndex, st.lastIndex + 1) : []);
    }
    for (const [a, la] of logs) {
      for (const [b, lb] of logs) {
        if (a >= b) continue;
        const byIndex = new Map(lb.map((e) => [e.index, e]));
        let lastShared = 0;
        for (const e of la) if (byIndex.get(e.index)?.term === e.term) lastShared = Math.max(lastShared, e.index);
        for (const e of la) {
          if (e.index > lastShared) break;
          const o = byIndex.get(e.index);
          if (o === undefined) continue;
          expect({ index: e.index, term: o.term, data: text(o) }, `nodes ${a},${b} at ${e.index}`).toEqual({
            index: e.index,
            term: e.term,
            data: text(e),
          });
        }
      }
    }
  }

  it('§5.3: logs that share an entry (index and term) are identical up to it, through partitions and leader changes', () => {
    const env = new InteractionEnv();
    env.addNodes(5);
    elect(env, 1);
    env.propose(1, ['a', 'b']);
    env.stabilize();
    assertLogMatching(env);

    env.partition([4, 5]);
    env.propose(1, ['c', 'd']);
    env.stabilize();
    assertLogMatching(env);

    // The leader is cut off; only 2 or 3 (which hold c, d) can win among 2..5 (§5.4.1).
    env.heal();
    env.partition([1]);
    tickAll(env, 60, () => env.leaders().some((id) => id !== 1));
    const next = env.leaders().find((id) => id !== 1);
    expect([2, 3]).toContain(next);
    if (next === undefined) throw new Error('no new leader');
    env.propose(next, 'e');
    env.stabilize();
    assertLogMatching(env);

    env.heal();
    tickAll(env, 30);
    assertLogMatching(env);
    const reference = logOf(env, next);
    for (const id of env.nodes.keys()) expect(logOf(env, id), `node ${id}`).toEqual(reference);
  });

  it('§5.3 / Figure 7: a leader brings each divergent follower log into line with its own', () => {
    // Figure 7: the leader of term 8 and followers (a)–(f).
    const leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const env = new InteractionEnv();
    env.addNodes(7, { preVote: false, checkQuorum: false });
    env.setLog(1, leader, { term: 7 });
    Object.values(followers).forEach((terms, k) => env.setLog(k + 2, terms, { term: 7 }));
    // (c) and (d) refuse their votes (§5.4.1); (a), (b), (e), (f) elect the leader in term 8.
    elect(env, 1);
    expect(env.status(1).term).toBe(8);
    const answers = env.delivered.filter((m) => m.type === 'vote-response' && m.to === 1);
    expect(
      answers
        .filter((m) => m.type === 'vote-response' && m.reject)
        .map((m) => m.from)
        .sort(),
    ).toEqual([4, 5]);
    env.propose(1, 'x');
    env.stabilize();

    const expected = logOf(env, 1);
    expect(env.logTerms(1)).toEqual([...leader, 8, 8]);
    for (const id of [2, 3, 4, 5, 6, 7]) expect(logOf(env, id), `follower ${'abcdef'[id - 2]}`).toEqual(expected);
    for (const id of env.nodes.keys()) expect(env.status(id).commit).toBe(12);
  });
});
