/**
 * Paper tests: client interaction (Raft §8; thesis §6.4): the no-op a new leader appends, and
 * linearizable reads through ReadIndex (deferred until the no-op commits, confirmed by a quorum of
 * heartbeats, forwarded by followers, never served by a deposed leader).
 */
import { describe, expect, it } from 'vitest';
import { NONE } from '../../../src/raft/index.js';
import { InteractionEnv } from '../../support/interaction-env.js';
import { TestNode, acceptAndReply, elect, ofType, recipients, text, tickAll } from './paper-helpers.js';

describe('§8: no-op entry on election', () => {
  it('§8: a new leader appends a blank no-op entry of its own term at once', () => {
    const n = new TestNode({ terms: [1, 1], hard: { term: 1 } });
    n.raw.campaign();
    n.flush();
    n.step({ type: 'vote-response', from: 2, to: 1, term: 2, pre: false, reject: false });
    expect(n.status()).toMatchObject({ role: 'leader', term: 2, lastIndex: 3 });
    const rd = n.handleReady();
    expect(rd?.entries).toEqual([{ index: 3, term: 2, type: 'noop', data: new Uint8Array(0) }]);
  });

  it("§8: committing the no-op commits the earlier terms' entries without any client write", () => {
    const env = new InteractionEnv();
    env.addNodes(3);
    for (const id of [1, 2, 3]) env.setLog(id, [1, 1, 2], { term: 2 });
    elect(env, 1);
    for (const id of [1, 2, 3]) {
      expect(env.status(id).commit).toBe(4);
      expect(env.node(id).applied.map((e) => `${e.term}/${e.index} ${e.type}`)).toEqual([
        '1/1 normal',
        '1/2 normal',
        '2/3 normal',
        '3/4 noop',
      ]);
    }
  });
});

describe('§8 / thesis §6.4: ReadIndex', () => {
  it('§8: a new leader holds reads until an entry of its term (the no-op) is committed', () => {
    const n = new TestNode();
    const appends = ofType(n.becomeLeader(), 'append');
    expect(n.raw.readIndex('r1')).toEqual({ type: 'accepted', forwardedTo: NONE });
    let out = n.flush();
    // Nothing yet: its commit index may lag behind earlier leaders' commits.
    expect(ofType(out, 'heartbeat')).toEqual([]);
    expect(n.readys.flatMap((r) => r.readStates)).toEqual([]);

    const toTwo = appends.find((m) => m.to === 2);
    if (toTwo === undefined) throw new Error('no append to 2');
    n.step(acceptAndReply(toTwo));
    expect(n.status().commit).toBe(1);
    out = n.flush();
    const beats = ofType(out, 'heartbeat').filter((m) => m.context === 'r1');
    expect(recipients(beats)).toEqual([2, 3]);
    expect(n.readys.flatMap((r) => r.readStates)).toEqual([]);
    n.step({ type: 'heartbeat-response', from: 3, to: 1, term: 1, context: 'r1' });
    n.flush();
    expect(n.readys.flatMap((r) => r.readStates)).toEqual([{ index: 1, context: 'r1' }]);
  });

  it('thesis §6.4: a read is served only once a majority has acknowledged a heartbeat carrying it', () => {
    const n = new TestNode({ voters: [1, 2, 3, 4, 5] });
    n.ackAll(n.becomeLeader());
    const commit = n.status().commit;
    n.raw.readIndex('r');
    const beats = ofType(n.flush(), 'heartbeat');
    expect(recipients(beats)).toEqual([2, 3, 4, 5]);
    for (const m of beats) expect(m.context).toBe('r');

    const ack = (from: number, context: string | null): void => n.step({ type: 'heartbeat-response', from, to: 1, term: 1, context });
    ack(2, 'r');
    ack(3, null); // an ordinary heartbeat answer confirms nothing about this read
    ack(4, 'other');
    ack(2, 'r'); // nor does a repeated one
    n.flush();
    expect(n.readys.flatMap((r) => r.readStates)).toEqual([]);
    ack(5, 'r');
    n.flush();
    expect(n.readys.flatMap((r) => r.readStates)).toEqual([{ index: commit, context: 'r' }]);
  });

  it('thesis §6.4: a single-node leader serves reads as soon as its no-op is committed', () => {
    const n = new TestNode({ voters: [1] });
    n.raw.campaign();
    n.raw.readIndex('early'); // no-op not yet persisted, hence not committed
    const rd = n.raw.ready();
    expect(rd.readStates).toEqual([]);
    n.persist(rd);
    n.raw.advance();
    n.flush();
    n.raw.readIndex('late');
    n.flush();
    expect(n.readys.flatMap((r) => r.readStates)).toEqual([
      { index: 1, context: 'early' },
      { index: 1, context: 'late' },
    ]);
  });

  it('thesis §6.4: a follower forwards a read to the leader and learns a read index covering every committed write', () => {
    const env = new InteractionEnv();
    env.addNodes(3);
    elect(env, 1);
    env.propose(1, ['w1', 'w2']);
    env.stabilize();
    const written = env.status(1).commit;
    expect(env.node(2).raw.readIndex('f1')).toEqual({ type: 'accepted', forwardedTo: 1 });
    env.stabilize();
    const forwarded = env.delivered.filter((m) => m.type === 'read-index');
    expect(forwarded).toMatchObject([{ from: 2, to: 1, context: 'f1' }]);
    expect(env.node(2).readStates).toEqual([{ index: written, context: 'f1' }]);
    expect(env.node(1).readStates).toEqual([]);
    // Serving it: the follower's state machine has applied through the read index.
    expect(env.node(2).applied.map(text).slice(-2)).toEqual(['w1', 'w2']);
  });

  it('thesis §6.4: a follower that knows no leader refuses the read', () => {
    const n = new TestNode();
    expect(n.raw.readIndex('x')).toEqual({ type: 'dropped', reason: 'no-leader' });
    n.raw.campaign();
    expect(n.raw.readIndex('y')).toEqual({ type: 'dropped', reason: 'no-leader' });
  });

  it('thesis §6.4: a deposed leader cannot serve a read, even while it still believes it leads', () => {
    const env = new InteractionEnv();
    // Without CheckQuorum the old leader keeps believing it leads until it hears a newer term.
    env.addNodes(3, { checkQuorum: false });
    elect(env, 1);
    env.partition([1]);
    tickAll(env, 60, () => env.leaders().some((id) => id !== 1));
    const leader = env.leaders().find((id) => id !== 1);
    if (leader === undefined) throw new Error('no new leader');
    env.propose(leader, 'newer-write');
    env.stabilize();
    const newer = env.status(leader).commit;
    expect(env.status(1)).toMatchObject({ role: 'leader' });
    expect(env.status(1).commit).toBeLessThan(newer);

    env.readIndex(1, 'stale');
    tickAll(env, 20);
    expect(env.node(1).readStates).toEqual([]);
    env.heal();
    tickAll(env, 10);
    expect(env.status(1)).toMatchObject({ role: 'follower', leader });
    expect(env.node(1).readStates).toEqual([]);

    // Asked again, it forwards to the real leader and gets an index that includes the new write.
    env.readIndex(1, 'fresh');
    env.stabilize();
    expect(env.node(1).readStates).toHaveLength(1);
    expect(env.node(1).readStates[0]?.context).toBe('fresh');
    expect(env.node(1).readStates[0]?.index).toBeGreaterThanOrEqual(newer);
  });
});
