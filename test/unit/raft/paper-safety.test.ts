/**
 * Paper tests: safety (Raft §5.4 election restriction and commit rule with Figure 8, Leader
 * Completeness, §5.5 idempotent retries) and Figure 2's "updated on stable storage before
 * responding to RPCs" (persist before reply). Includes the negative control that proves the
 * Figure 8 test can fail.
 */
import { describe, expect, it } from 'vitest';
import { NONE, type Entry, type HardState, type NodeId } from '../../../src/raft/index.js';
import type { Ready } from '../../../src/raft/ready.js';
import { InteractionEnv } from '../../support/interaction-env.js';
import { TestNode, acceptAndReply, appendMsg, appendResp, bytes, elect, ents, ofType, tickAll, voteReq } from './paper-helpers.js';

describe('§5.4.1: election restriction', () => {
  it("§5.4.1: a RequestVote carries the candidate's last log index and term", () => {
    for (const terms of [[1], [1, 2], [1, 1, 3]]) {
      const n = new TestNode();
      const term = (terms.at(-1) ?? 0) + 1;
      n.step(appendMsg({ from: 2, to: 1, term: term - 1, entries: ents(1, terms) }));
      n.flush();
      n.tick(2 * n.electionTick);
      const votes = ofType(n.flush(), 'vote');
      expect(votes.map((m) => m.to).sort()).toEqual([2, 3]);
      for (const m of votes) expect(m).toMatchObject({ term, lastLogIndex: terms.length, lastLogTerm: terms.at(-1) });
    }
  });

  // etcd-io/raft TestVoter, split by which half of "at least as up-to-date" decides.
  it.each([
    { voter: [1], lastLogTerm: 2, lastLogIndex: 1, reject: false },
    { voter: [1, 1], lastLogTerm: 2, lastLogIndex: 1, reject: false },
    { voter: [2], lastLogTerm: 1, lastLogIndex: 1, reject: true },
    { voter: [2], lastLogTerm: 1, lastLogIndex: 5, reject: true },
    { voter: [2, 2], lastLogTerm: 1, lastLogIndex: 1, reject: true },
  ])(
    '§5.4.1: the log whose last entry has the later term is more up-to-date (voter $voter, candidate last $lastLogTerm/$lastLogIndex)',
    ({ voter, lastLogTerm, lastLogIndex, reject }) => {
      const n = new TestNode({ voters: [1, 2], terms: voter });
      n.step(voteReq({ from: 2, to: 1, term: 3, lastLogIndex, lastLogTerm }));
      expect(ofType(n.flush(), 'vote-response')).toMatchObject([{ to: 2, reject }]);
      expect(n.status().vote).toBe(reject ? NONE : 2);
    },
  );

  it.each([
    { voter: [1], lastLogIndex: 1, reject: false },
    { voter: [1], lastLogIndex: 2, reject: false },
    { voter: [1, 1], lastLogIndex: 1, reject: true },
    { voter: [1, 1, 1], lastLogIndex: 2, reject: true },
  ])(
    '§5.4.1: with equal last terms the longer log is more up-to-date (voter $voter, candidate last 1/$lastLogIndex)',
    ({ voter, lastLogIndex, reject }) => {
      const n = new TestNode({ voters: [1, 2], terms: voter });
      n.step(voteReq({ from: 2, to: 1, term: 3, lastLogIndex, lastLogTerm: 1 }));
      expect(ofType(n.flush(), 'vote-response')).toMatchObject([{ to: 2, reject }]);
    },
  );

  it('§5.4.1: a candidate whose log lacks a committed entry cannot be elected', () => {
    const env = new InteractionEnv();
    env.addNodes(3, { preVote: false, checkQuorum: false });
    elect(env, 1);
    env.partition([3]);
    env.propose(1, 'committed-without-3');
    env.stabilize();
    expect(env.status(1).commit).toBe(2);
    env.heal();
    env.partition([1]);
    env.campaign(3);
    env.stabilize();
    expect(env.status(3).role).not.toBe('leader');
    expect(env.status(2).vote).not.toBe(3);
    env.campaign(2);
    env.stabilize();
    expect(env.leaders()).toContain(2);
  });
});

describe('§5.4.2: committing entries from previous terms', () => {
  // etcd-io/raft TestLeaderOnlyCommitsLogFromCurrentTerm.
  it.each([
    { acked: 1, commit: 0 },
    { acked: 2, commit: 0 },
    { acked: 3, commit: 3 },
  ])('§5.4.2: a leader commits by counting replicas only an entry of its current term (follower matched $acked)', ({ acked, commit }) => {
    const n = new TestNode({ voters: [1, 2], terms: [1, 2], hard: { term: 2 } });
    n.becomeLeader(); // term 3, no-op at index 3
    n.step(appendResp({ from: 2, to: 1, term: 3, index: acked }));
    expect(n.status().commit).toBe(commit);
  });

  /**
   * Figure 8 with five servers. S1 [1,2] leads term 4 (its no-op at 3 stands for the paper's
   * term-4 entry) and replicates index 2 (term 2) to S2 and S3, a majority, but nothing of
   * term 4. S1 then crashes; S5 [1,3] wins term 5 with S2–S4 and overwrites index 2.
   */
  function figure8(commitPriorTerm: boolean): { env: InteractionEnv; s1CommitInTerm4: number } {
    const env = new InteractionEnv();
    // One entry per append lets the retried probe carry index 2 alone.
    env.addNodes(5, { preVote: false, checkQuorum: false, maxSizePerMsg: 1, commitPriorTerm });
    env.setLog(1, [1, 2], { term: 3 });
    for (const id of [2, 3, 4]) env.setLog(id, [1], { term: 3 });
    env.setLog(5, [1, 3], { term: 3 });

    env.campaign(1);
    env.processReadyAll();
    env.deliver({ type: 'vote' });
    env.processReadyAll();
    env.deliver({ type: 'vote-response' });
    expect(env.status(1)).toMatchObject({ role: 'leader', term: 4 });

    // S1's first appends (no-op at 3): 2 and 3 reject them, 4 and 5 never see them.
    env.processReady(1);
    env.deliver({ from: 1, to: 4 }, true);
    env.deliver({ from: 1, to: 5 }, true);
    for (let round = 0; round < 2; round++) {
      env.deliver({ from: 1 });
      env.processReadyAll([2, 3]);
      env.deliver({ to: 1 });
      env.processReady(1);
    }
    // S1 now knows S2 and S3 hold index 2 of term 2; whatever it sends next is lost.
    for (const id of [2, 3]) expect(env.status(1).progress.find((p) => p.id === id)?.match).toBe(2);
    expect(env.logTerms(2)).toEqual([1, 2]);
    expect(env.logTerms(3)).toEqual([1, 2]);
    env.deliver({ from: 1 }, true);
    const s1CommitInTerm4 = env.status(1).commit;

    // S1 crashes; S5 is elected with S2, S3, S4 and replicates its own log.
    env.partition([1]);
    env.campaign(5);
    env.stabilize();
    expect(env.leaders()).toEqual([1, 5]);
    expect(env.status(5).term).toBe(5);
    return { env, s1CommitInTerm4 };
  }

  /** Applied entries (on any node) that differ from the entry now committed at that index. */
  function safetyViolations(env: InteractionEnv, reference: NodeId): string[] {
    const ref = env.node(reference).raw;
    const committed = ref.status().commit;
    const out: string[] = [];
    for (const n of env.nodes.values()) {
      for (const e of n.applied) {
        if (e.index > committed) continue;
        const [now] = ref.entries(e.index, e.index + 1);
        if (now === undefined || now.term !== e.term)
          out.push(`S${n.id} applied ${e.term}/${e.index}, committed log has ${now?.term}/${e.index}`);
      }
    }
    return out;
  }

  it('§5.4.2 / Figure 8: a term-2 entry stored on a majority is not committed by the term-4 leader, and is safely overwritten', () => {
    const { env, s1CommitInTerm4 } = figure8(false);
    expect(s1CommitInTerm4).toBe(0);
    expect(env.node(1).applied).toEqual([]);
    // S5 overwrote index 2 on the majority and committed its own log.
    for (const id of [2, 3, 4, 5]) expect(env.logTerms(id)).toEqual([1, 3, 5]);
    expect(env.status(5).commit).toBe(3);
    expect(safetyViolations(env, 5)).toEqual([]);
    // S1 comes back and converges without ever having applied the overwritten entry.
    env.heal();
    tickAll(env, 5);
    expect(env.logTerms(1)).toEqual([1, 3, 5]);
    expect(env.node(1).applied.map((e) => e.term)).toEqual([1, 3, 5]);
    expect(safetyViolations(env, 5)).toEqual([]);
  });

  it('§5.4.2 / Figure 8 negative control: with commitPriorTerm the leader commits the term-2 entry, which is then overwritten', () => {
    const { env, s1CommitInTerm4 } = figure8(true);
    // The unsafe rule commits index 2 by counting replicas, and S1 applies it ...
    expect(s1CommitInTerm4).toBe(2);
    expect(env.node(1).applied.map((e) => `${e.term}/${e.index}`)).toEqual(['1/1', '2/2']);
    // ... yet the majority's log, committed by S5, holds a different entry there.
    expect(env.logTerms(5)).toEqual([1, 3, 5]);
    expect(env.status(5).commit).toBe(3);
    expect(safetyViolations(env, 5)).toEqual(['S1 applied 2/2, committed log has 3/2']);
  });
});

describe('§5.4.3: Leader Completeness', () => {
  it('§5.4.3: every new leader holds every entry committed in earlier terms', () => {
    const env = new InteractionEnv();
    env.addNodes(5);
    elect(env, 1);
    const committed = new Map<number, Entry>();
    const record = (): void => {
      for (const n of env.nodes.values()) for (const e of n.applied) committed.set(e.index, e);
    };
    let leader: NodeId = 1;
    const lagging: NodeId[][] = [
      [4, 5],
      [2, 3],
      [3, 5],
      [2, 4],
    ];
    for (let round = 0; round < lagging.length; round++) {
      // Commit entries while two servers lag, so the next election has stale candidates.
      const behind = (lagging[round] ?? []).filter((id) => id !== leader);
      env.partition(behind);
      env.propose(leader, [`r${round}a`, `r${round}b`]);
      env.stabilize();
      record();
      env.heal();
      // The leader crashes; the rest elect a new one.
      env.partition([leader]);
      const old = leader;
      tickAll(env, 100, () => env.leaders().some((id) => id !== old));
      const next = env.leaders().find((id) => id !== old);
      if (next === undefined) throw new Error(`round ${round}: no new leader`);
      leader = next;
      const log = env.node(leader).raw;
      for (const e of committed.values()) {
        const [has] = log.entries(e.index, e.index + 1);
        expect(has, `round ${round}: leader ${leader} at ${e.index}`).toEqual(e);
      }
      env.heal();
      tickAll(env, 5);
    }
    expect(committed.size).toBeGreaterThanOrEqual(2 * lagging.length);
  });
});

describe('§5.5: retried RPCs are idempotent', () => {
  it('§5.5: a follower that receives the same AppendEntries twice ends in the same state and gives the same answer', () => {
    const n = new TestNode({ terms: [1], hard: { term: 2 } });
    const m = appendMsg({ from: 2, to: 1, term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [2, 2]), commit: 2 });
    n.step(m);
    const first = n.flush();
    const after = n.status();
    const entries = n.entries();
    n.step(m);
    const rd = n.handleReady();
    expect(rd?.entries).toEqual([]);
    expect(rd?.committedEntries).toEqual([]);
    expect(ofType(first, 'append-response')).toMatchObject([{ reject: false, index: 3 }]);
    // Again an acceptance, claiming nothing beyond what the first one did.
    const again = ofType([...(rd?.messages ?? []), ...(rd?.persistedMessages ?? [])], 'append-response');
    expect(again).toHaveLength(1);
    expect(again[0]?.reject).toBe(false);
    expect(again[0]?.index).toBeLessThanOrEqual(3);
    expect(n.status()).toEqual(after);
    expect(n.entries()).toEqual(entries);
  });

  it('§5.5: a voter that receives the same RequestVote twice grants it twice without changing state', () => {
    const n = new TestNode();
    const m = voteReq({ from: 2, to: 1, term: 1 });
    n.step(m);
    const first = n.flush();
    n.step(m);
    const rd = n.handleReady();
    expect(rd?.hardState).toBeUndefined();
    expect([...(rd?.messages ?? []), ...(rd?.persistedMessages ?? [])]).toEqual(first);
    expect(ofType(first, 'vote-response')).toMatchObject([{ reject: false }]);
    expect(n.status()).toMatchObject({ term: 1, vote: 2 });
  });

  it('§5.5: a duplicated acknowledgement does not advance the leader twice', () => {
    const n = new TestNode({ voters: [1, 2, 3, 4, 5] });
    const out = ofType(n.becomeLeader(), 'append');
    const ack = out.find((m) => m.to === 2);
    if (ack === undefined) throw new Error('no append to 2');
    for (let k = 0; k < 3; k++) n.step(acceptAndReply(ack));
    n.flush();
    // One follower plus the leader is not a majority of five, however often it is repeated.
    expect(n.status().commit).toBe(0);
  });
});

describe('Figure 2: persistent state is updated on stable storage before responding to RPCs', () => {
  it('Figure 2: a vote is sent only after the vote is persisted (persistedMessages only)', () => {
    for (const hard of [{ term: 0 }, { term: 1 }]) {
      const n = new TestNode({ hard });
      n.step(voteReq({ from: 2, to: 1, term: 1 }));
      const rd = n.raw.ready();
      expect(rd.hardState).toMatchObject({ term: 1, vote: 2 });
      expect(rd.mustSync).toBe(true);
      expect(rd.messages).toEqual([]);
      expect(ofType(rd.persistedMessages, 'vote-response')).toMatchObject([{ to: 2, reject: false }]);
    }
  });

  it('Figure 2: an append acknowledgement is sent only after the entries are persisted (persistedMessages only)', () => {
    const n = new TestNode({ terms: [1], hard: { term: 1 } });
    n.step(appendMsg({ from: 2, to: 1, term: 1 }));
    n.flush();
    // Same term, so nothing but the entries needs persisting.
    n.step(appendMsg({ from: 2, to: 1, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [1, 1]) }));
    const rd = n.raw.ready();
    expect(rd.hardState).toBeUndefined();
    expect(rd.entries.map((e) => e.index)).toEqual([2, 3]);
    expect(rd.mustSync).toBe(true);
    expect(ofType(rd.messages, 'append-response')).toEqual([]);
    expect(ofType(rd.persistedMessages, 'append-response')).toMatchObject([{ index: 3, reject: false }]);
  });

  /**
   * Drives an environment like InteractionEnv.processReady but inspects every Ready against
   * the durable hard state it is about to replace.
   */
  function checkedProcessReady(env: InteractionEnv, id: NodeId, seen: { readys: number; termOrVote: number }): boolean {
    const n = env.node(id);
    if (!n.raw.hasReady()) return false;
    const durable: HardState = n.storage.getHardState();
    const rd: Ready = n.raw.ready();
    seen.readys++;
    const hs = rd.hardState;
    if (hs !== undefined && (hs.term !== durable.term || hs.vote !== durable.vote)) {
      seen.termOrVote++;
      expect(rd.messages, `node ${id}: Ready changing term/vote sends nothing early`).toEqual([]);
    }
    for (const m of rd.messages) {
      expect(['vote-response', 'append-response'], `node ${id}: ${m.type} sent before persisting`).not.toContain(m.type);
      // A pre-vote names the term it would campaign in without adopting it (thesis §9.6).
      const prospective = m.type === 'vote' && m.pre;
      if (!prospective) expect(m.term, `node ${id}: early ${m.type} speaks for an undurable term`).toBeLessThanOrEqual(durable.term);
    }
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (hs !== undefined) n.storage.setHardState(hs);
    env.queue.push(...rd.messages, ...rd.persistedMessages);
    n.applied.push(...rd.committedEntries);
    n.raw.advance();
    return true;
  }

  it.each([true, false])('Figure 2: no Ready that changes term or vote lets any message out early (preVote %s)', (preVote) => {
    const env = new InteractionEnv();
    env.addNodes(5, { preVote, checkQuorum: true });
    const seen = { readys: 0, termOrVote: 0 };
    const settle = (): void => {
      for (let round = 0; round < 1000; round++) {
        let any = true;
        while (any) {
          any = false;
          for (const id of env.nodes.keys()) if (checkedProcessReady(env, id, seen)) any = true;
        }
        if (env.queue.length === 0) return;
        env.deliver();
      }
      throw new Error('did not settle');
    };
    const run = (rounds: number): void => {
      for (let k = 0; k < rounds; k++) {
        for (const id of env.nodes.keys()) env.tick(id);
        settle();
      }
    };
    run(30);
    const first = env.leaders()[0];
    if (first === undefined) throw new Error('no leader');
    env.propose(first, ['a', 'b']);
    settle();
    env.partition([first]);
    run(60);
    env.heal();
    // Without PreVote the rejoining node's inflated term disrupts the cluster; re-election must
    // still finish within 10 election timeouts (the liveness bar).
    for (let rounds = 0; rounds < 100 && env.leaders().length !== 1; rounds++) run(1);
    expect(env.leaders()).toHaveLength(1);
    expect(seen.termOrVote).toBeGreaterThan(5);
    expect(seen.readys).toBeGreaterThan(50);
  });

  it('Figure 2: a single-node leader commits nothing until its own entries are persisted (advance)', () => {
    const n = new TestNode({ voters: [1] });
    n.raw.campaign();
    expect(n.status().role).toBe('leader');
    const rd1 = n.raw.ready();
    expect(rd1.entries.map((e) => e.type)).toEqual(['noop']);
    expect(rd1.committedEntries).toEqual([]);
    expect(n.status().commit).toBe(0);
    n.persist(rd1);
    n.raw.advance();
    expect(n.status().commit).toBe(1);
    expect(n.raw.ready().committedEntries.map((e) => e.index)).toEqual([1]);
    n.raw.advance();

    expect(n.raw.propose([bytes('x')]).type).toBe('accepted');
    const rd2 = n.raw.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([2]);
    expect(rd2.committedEntries).toEqual([]);
    expect(n.status().commit).toBe(1);
    n.persist(rd2);
    n.raw.advance();
    expect(n.status().commit).toBe(2);
    expect(n.raw.ready().committedEntries.map((e) => e.index)).toEqual([2]);
  });

  it('Figure 2: a leader counts itself toward a majority only for entries it has persisted', () => {
    const n = new TestNode();
    n.ackAll(n.becomeLeader());
    n.raw.propose([bytes('x')]);
    const rd = n.raw.ready();
    const toTwo = ofType(rd.messages, 'append').find((m) => m.to === 2);
    if (toTwo === undefined) throw new Error('append to 2 should go out before persisting');
    // Follower 2 acknowledges while the leader's own write is still in flight.
    n.step(acceptAndReply(toTwo));
    expect(n.status().commit).toBe(1);
    n.persist(rd);
    n.raw.advance();
    expect(n.status().commit).toBe(2);
  });
});

describe('Figure 2: acknowledgements claim only durable entries', () => {
  it('an ack queued before a newer leader truncates the unpersisted entries is never sent', () => {
    const enc = new TextEncoder();
    const n = new TestNode({ voters: [1, 2, 3], id: 2 });
    const ent = (index: number, term: number) => ({ index, term, type: 'normal' as const, data: enc.encode(`${term}/${index}`) });
    // Term 3 leader 1 sends entries 1..2; the follower takes the Ready but its write is in flight.
    n.raw.step({ type: 'append', from: 1, to: 2, term: 3, prevLogIndex: 0, prevLogTerm: 0, entries: [ent(1, 3), ent(2, 3)], commit: 0 });
    const first = n.raw.ready();
    // Meanwhile leader 1 sends entries 3..4 (queued ack for 4), then a term-5 leader 3 sends a
    // conflicting entry 3 (truncating 3..4 before they were ever persisted).
    n.raw.step({ type: 'append', from: 1, to: 2, term: 3, prevLogIndex: 2, prevLogTerm: 3, entries: [ent(3, 3), ent(4, 3)], commit: 0 });
    n.raw.step({ type: 'append', from: 3, to: 2, term: 5, prevLogIndex: 2, prevLogTerm: 3, entries: [ent(3, 5)], commit: 0 });
    n.persist(first);
    n.raw.advance();
    const second = n.raw.ready();
    const acks = second.persistedMessages.filter((m) => m.type === 'append-response');
    // Only the term-5 ack for what this Ready makes durable (up to 3) remains.
    expect(acks.map((m) => [m.term, m.type === 'append-response' ? m.index : -1])).toEqual([[5, 3]]);
    expect(second.entries.map((e) => `${e.term}/${e.index}`)).toEqual(['5/3']);
  });
});
