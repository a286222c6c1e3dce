/**
 * Paper tests: leadership transfer (Raft thesis §3.10) and log compaction with
 * InstallSnapshot (Raft §7).
 */
import { describe, expect, it } from 'vitest';
import { NONE, type Message, type SnapshotMeta, type SnapshotRequest } from '../../../src/raft/index.js';
import { InteractionEnv } from '../../support/interaction-env.js';
import { TestNode, bytes, elect, logOf, tickAll } from './paper-helpers.js';

const tag = (m: Message): string => `${m.type} ${m.from}->${m.to}`;

describe('thesis §3.10: leadership transfer', () => {
  it('thesis §3.10: an up-to-date target gets TimeoutNow at once and wins the next term', () => {
    const env = new InteractionEnv();
    env.addNodes(3);
    elect(env, 1);
    const term = env.status(1).term;
    expect(env.node(1).raw.transferLeader(2)).toEqual({ type: 'started' });
    expect(env.status(1).leadTransferee).toBe(2);
    env.processReady(1);
    expect(env.queue.map(tag)).toContain('timeout-now 1->2');
    env.stabilize();
    // Voters honour the transfer campaign although they heard from the old leader just now.
    expect(env.leaders()).toEqual([2]);
    for (const id of [1, 2, 3]) expect(env.status(id)).toMatchObject({ term: term + 1, leader: 2 });
  });

  it('thesis §3.10: a lagging target is first brought up to date, and only then gets TimeoutNow', () => {
    const env = new InteractionEnv();
    env.addNodes(3);
    elect(env, 1);
    env.partition([3]);
    env.propose(1, ['a', 'b', 'c']);
    env.stabilize();
    env.heal();
    const last = env.status(1).lastIndex;
    expect(env.status(3).lastIndex).toBeLessThan(last);

    expect(env.node(1).raw.transferLeader(3)).toEqual({ type: 'started' });
    env.processReady(1);
    expect(env.queue.map(tag)).not.toContain('timeout-now 1->3');
    tickAll(env, 5, () => env.leaders().includes(3));

    const delivered = env.delivered.map((m) => m);
    const timeoutNow = delivered.findIndex((m) => m.type === 'timeout-now' && m.to === 3);
    const caughtUp = delivered.findIndex((m) => m.type === 'append-response' && m.from === 3 && !m.reject && m.index >= last);
    expect(caughtUp).toBeGreaterThanOrEqual(0);
    expect(timeoutNow).toBeGreaterThan(caughtUp);
    expect(env.leaders()).toEqual([3]);
    expect(logOf(env, 3).slice(0, last)).toEqual(logOf(env, 1).slice(0, last));
  });

  it('thesis §3.10: the leader refuses proposals while a transfer is in progress', () => {
    const env = new InteractionEnv();
    env.addNodes(3);
    elect(env, 1);
    env.partition([3]);
    env.propose(1, 'x');
    env.stabilize();
    env.heal();
    env.node(1).raw.transferLeader(3);
    const before = env.status(1).lastIndex;
    expect(env.node(1).raw.propose([bytes('during')])).toEqual({ type: 'dropped', reason: 'transfer-in-progress', leader: 1 });
    expect(env.status(1).lastIndex).toBe(before);
  });

  it('thesis §3.10: a transfer that does not finish within an election timeout is aborted', () => {
    const env = new InteractionEnv();
    env.addNodes(3, { electionTick: 10 });
    elect(env, 1);
    env.partition([3]); // the target never hears of it
    expect(env.node(1).raw.transferLeader(3)).toEqual({ type: 'started' });
    tickAll(env, 5);
    expect(env.status(1)).toMatchObject({ role: 'leader', leadTransferee: 3 });
    tickAll(env, 5);
    expect(env.status(1)).toMatchObject({ role: 'leader', leadTransferee: NONE });
    expect(env.node(1).raw.propose([bytes('after')]).type).toBe('accepted');
  });

  it('thesis §3.10: a transfer to itself, to an unknown node or to a learner is refused, and only a leader transfers', () => {
    const env = new InteractionEnv();
    env.addNodes(4, { learners: [4] });
    elect(env, 1);
    const raw = env.node(1).raw;
    expect(raw.transferLeader(1)).toEqual({ type: 'dropped', reason: 'already-leader', leader: 1 });
    expect(raw.transferLeader(9)).toEqual({ type: 'dropped', reason: 'unknown-node', leader: 1 });
    expect(raw.transferLeader(4)).toEqual({ type: 'dropped', reason: 'learner', leader: 1 });
    expect(env.node(2).raw.transferLeader(3)).toEqual({ type: 'dropped', reason: 'not-leader', leader: 1 });
    expect(env.status(1).leadTransferee).toBe(NONE);
    expect(raw.hasReady()).toBe(false);
    // A repeated request for a pending transfer is reported, not restarted.
    env.partition([3]);
    expect(raw.transferLeader(3)).toEqual({ type: 'started' });
    expect(raw.transferLeader(3)).toEqual({ type: 'already-pending' });
  });
});

describe('§7: log compaction and InstallSnapshot', () => {
  const conf = { voters: [1, 2, 3], learners: [] };
  const snap = (index: number, term: number): SnapshotRequest => ({
    type: 'snapshot',
    from: 2,
    to: 1,
    term: 3,
    snapshot: { index, term, confState: conf } satisfies SnapshotMeta,
  });

  it('§7: a follower installs a snapshot that is ahead of its log, replacing the log', () => {
    const n = new TestNode({ terms: [1, 1], hard: { term: 1 } });
    n.step(snap(10, 2));
    const rd = n.handleReady();
    expect(rd?.snapshot).toEqual({ index: 10, term: 2, confState: conf });
    expect(rd?.entries).toEqual([]);
    expect(rd?.persistedMessages).toMatchObject([{ type: 'append-response', to: 2, index: 10, reject: false }]);
    expect(n.status()).toMatchObject({ firstIndex: 11, lastIndex: 10, commit: 10, applied: 10, term: 3, leader: 2 });
    expect(n.storage.snapshot().index).toBe(10);
    expect(n.entries()).toEqual([]);
  });

  it("§7: a snapshot at or behind the follower's commit index is ignored", () => {
    const n = new TestNode({ terms: [1, 1, 1], hard: { term: 3, commit: 3 } });
    n.step(snap(2, 1));
    const rd = n.handleReady();
    expect(rd?.snapshot).toBeUndefined();
    expect(rd?.persistedMessages).toMatchObject([{ type: 'append-response', index: 3, reject: false }]);
    expect(n.terms()).toEqual([1, 1, 1]);
    expect(n.status()).toMatchObject({ firstIndex: 1, lastIndex: 3, commit: 3 });
  });

  it("§7: a snapshot older than the follower's own compacted log is ignored", () => {
    const n = new TestNode({ snapshot: { index: 5, term: 1 }, terms: [1, 1], hard: { term: 3, commit: 6 } });
    expect(n.status()).toMatchObject({ firstIndex: 6, lastIndex: 7, commit: 6 });
    for (const index of [3, 5, 6]) {
      n.step(snap(index, 1));
      const rd = n.handleReady();
      expect(rd?.snapshot).toBeUndefined();
      expect(rd?.persistedMessages).toMatchObject([{ type: 'append-response', index: 6, reject: false }]);
      expect(n.status()).toMatchObject({ firstIndex: 6, lastIndex: 7, commit: 6 });
      expect(n.storage.snapshot().index).toBe(5);
    }
  });

  it("§7: a snapshot that conflicts with the follower's log discards the whole log", () => {
    const n = new TestNode({ terms: [1, 1, 2, 2, 2], hard: { term: 2, commit: 1 } });
    n.step(snap(4, 3));
    n.flush();
    expect(n.status()).toMatchObject({ firstIndex: 5, lastIndex: 4, commit: 4 });
    expect(n.entries()).toEqual([]);
    expect(n.storage.lastIndex()).toBe(4);
    expect(n.storage.term(4)).toBe(3);
  });

  it("§7: when the follower already holds the snapshot's last entry, the entries after it are retained", () => {
    const n = new TestNode({ terms: [1, 1, 1, 1, 1], hard: { term: 1, commit: 1 } });
    n.step(snap(3, 1));
    const rd = n.handleReady();
    expect(rd?.snapshot).toBeUndefined();
    expect(n.terms()).toEqual([1, 1, 1, 1, 1]);
    expect(n.status().commit).toBe(3);
    expect(rd?.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('§7: a leader sends a snapshot to a follower that needs entries it has compacted', () => {
    const env = new InteractionEnv();
    env.addNodes(3);
    elect(env, 1);
    env.partition([3]);
    for (let k = 0; k < 4; k++) env.propose(1, `p${k}`);
    env.stabilize();
    const compacted = env.status(1).commit;
    env.compact(1, compacted);
    expect(env.status(1).firstIndex).toBe(compacted + 1);
    env.heal();
    tickAll(env, 5);
    env.propose(1, 'after');
    env.stabilize();

    const snaps = env.delivered.filter((m): m is SnapshotRequest => m.type === 'snapshot');
    expect(snaps.map((m) => [m.from, m.to, m.snapshot.index])).toEqual([[1, 3, compacted]]);
    expect(env.node(3).storage.snapshot().index).toBe(compacted);
    expect(env.node(3).snapshotIndex).toBe(compacted);
    expect(env.status(3)).toMatchObject({ commit: env.status(1).commit, lastIndex: env.status(1).lastIndex });
    expect(logOf(env, 3)).toEqual(logOf(env, 1));
    expect(env.node(3).applied.map((e) => e.index)).toEqual([env.status(1).lastIndex]);
  });
});
