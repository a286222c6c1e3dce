/**
 * Paper tests: terms and leader election (Raft §5.1, §5.2, Figure 2 "All servers", "Followers",
 * "Candidates", "RequestVote RPC"), with PreVote (thesis §9.6) and CheckQuorum (thesis §6.2).
 * Modelled on etcd-io/raft's raft_paper_test.go; every assertion is on observable state.
 */
import { describe, expect, it } from 'vitest';
import { NONE, type Role } from '../../../src/raft/index.js';
import { InteractionEnv } from '../../support/interaction-env.js';
import { TestNode, appendMsg, elect, heartbeatMsg, ofType, recipients, tickAll, voteReq, voteResp } from './paper-helpers.js';

/** A node in `role` at term 1 (leader of term 1, candidate of term 1, or follower of 2). */
function nodeIn(role: Role): TestNode {
  const n = new TestNode({ preVote: role === 'pre-candidate' });
  switch (role) {
    case 'follower':
      n.step(appendMsg({ from: 2, to: 1, term: 1 }));
      break;
    case 'pre-candidate':
      n.step(appendMsg({ from: 2, to: 1, term: 1 }));
      n.flush();
      n.raw.campaign();
      break;
    case 'candidate':
      n.raw.campaign();
      break;
    case 'leader':
      n.becomeLeader();
      break;
  }
  n.flush();
  expect(n.status().role).toBe(role);
  expect(n.status().term).toBe(1);
  return n;
}

describe('Figure 2 "All servers" / §5.1: terms', () => {
  it.each<Role>(['follower', 'pre-candidate', 'candidate', 'leader'])(
    '§5.1: a %s that sees a higher term adopts it and reverts to follower',
    (role) => {
      const n = nodeIn(role);
      n.step(appendMsg({ from: 3, to: 1, term: 5 }));
      const st = n.status();
      expect(st.term).toBe(5);
      expect(st.role).toBe('follower');
      expect(st.leader).toBe(3);
      expect(st.vote).toBe(NONE);
      // The new term is hard state: the next Ready persists it.
      expect(n.handleReady()?.hardState?.term).toBe(5);
    },
  );

  it('§5.1: a higher term in a reply also deposes a leader (vote rejection from a newer term)', () => {
    const n = nodeIn('leader');
    n.step(voteResp({ from: 2, to: 1, term: 4, reject: true }));
    expect(n.status()).toMatchObject({ role: 'follower', term: 4, leader: NONE });
  });

  it('§5.1: a server with a stale term rejects the request', () => {
    // Follower of term 3 with a log [1, 2].
    const n = new TestNode({ terms: [1, 2], hard: { term: 3 }, checkQuorum: true });
    n.step(appendMsg({ from: 2, to: 1, term: 3 }));
    n.flush();
    const before = n.status();

    // A stale leader of term 2 tries to overwrite index 2 and commit it.
    n.step(
      appendMsg({
        from: 3,
        to: 1,
        term: 2,
        prevLogIndex: 1,
        prevLogTerm: 1,
        entries: [{ index: 2, term: 2, type: 'normal', data: new Uint8Array() }],
        commit: 2,
      }),
    );
    // A stale candidate of term 2 asks for a vote.
    n.step(voteReq({ from: 3, to: 1, term: 2, lastLogIndex: 9, lastLogTerm: 2 }));
    const out = n.flush();

    expect(n.status()).toMatchObject({ term: 3, leader: 2, commit: before.commit, lastIndex: 2, vote: before.vote });
    expect(n.terms()).toEqual([1, 2]);
    // Nothing accepted, no vote granted; whatever answer goes back carries the newer term.
    expect(ofType(out, 'vote-response').filter((m) => !m.reject)).toEqual([]);
    for (const m of out) expect(m.term).toBe(3);
    const stale = ofType(out, 'append-response');
    expect(stale).toHaveLength(1);

    // That answer makes the stale leader revert to follower in the newer term.
    const old = nodeIn('leader');
    const reply = stale[0];
    if (reply === undefined) throw new Error('no reply');
    old.step({ ...reply, to: 1, from: 2 });
    expect(old.status()).toMatchObject({ role: 'follower', term: 3 });
  });
});

describe('Figure 2 "Followers" / §5.2', () => {
  it('§5.2: servers start up as followers', () => {
    const n = new TestNode();
    expect(n.status()).toMatchObject({ role: 'follower', term: 0, vote: NONE, leader: NONE });
    const env = new InteractionEnv();
    env.addNodes(3);
    for (const id of [1, 2, 3]) expect(env.status(id).role).toBe('follower');
  });

  it('Figure 2 Followers: respond to RPCs from candidates and leaders', () => {
    const n = new TestNode();
    n.step(voteReq({ from: 2, to: 1, term: 1 }));
    n.step(appendMsg({ from: 3, to: 1, term: 2, entries: [] }));
    n.step(heartbeatMsg({ from: 3, to: 1, term: 2 }));
    const out = n.flush();
    expect(out.map((m) => `${m.type}->${m.to}`)).toEqual(['vote-response->2', 'append-response->3', 'heartbeat-response->3']);
  });

  it('§5.2: a follower that hears nothing for an election timeout starts an election', () => {
    const n = new TestNode({ terms: [1], hard: { term: 1 } });
    n.step(heartbeatMsg({ from: 2, to: 1, term: 1 }));
    n.flush();
    // Randomized timeout is < 2T, so 2T - 1 silent ticks always suffice.
    n.tick(2 * n.electionTick - 1);
    const st = n.status();
    expect(st).toMatchObject({ role: 'candidate', term: 2, vote: 1 });
    const votes = ofType(n.flush(), 'vote');
    expect(recipients(votes)).toEqual([2, 3]);
    for (const v of votes) expect(v).toMatchObject({ term: 2, pre: false, lastLogIndex: 1, lastLogTerm: 1 });
  });

  it("§5.2: granting a vote restarts a follower's election timer", () => {
    // Restarted at term 1 with no vote and no known leader, so a vote in term 1 is still free.
    const n = new TestNode({ hard: { term: 1 } });
    n.tick(n.electionTick - 1);
    n.step(voteReq({ from: 2, to: 1, term: 1 }));
    expect(ofType(n.flush(), 'vote-response')).toMatchObject([{ reject: false }]);
    n.tick(n.electionTick - 1);
    expect(n.status()).toMatchObject({ role: 'follower', term: 1, vote: 2 });
    // Without the candidate ever winning, it does eventually stand itself.
    n.tick(n.electionTick);
    expect(n.status()).toMatchObject({ role: 'candidate', term: 2, vote: 1 });
  });

  it('§5.2: a follower that keeps hearing from a leader never starts an election', () => {
    const n = new TestNode();
    for (let k = 0; k < 10 * n.electionTick; k++) {
      n.tick();
      n.step(heartbeatMsg({ from: 2, to: 1, term: 1 }));
    }
    expect(n.status()).toMatchObject({ role: 'follower', term: 1, leader: 2 });
    expect(ofType(n.flush(), 'vote')).toEqual([]);
  });
});

describe('Figure 2 "Candidates" / §5.2', () => {
  it('§5.2: on conversion to candidate: increment currentTerm, vote for self, send RequestVote to all others', () => {
    const n = new TestNode({ voters: [1, 2, 3, 4, 5], terms: [1, 1], hard: { term: 3 } });
    n.raw.campaign();
    expect(n.status()).toMatchObject({ role: 'candidate', term: 4, vote: 1 });
    const rd = n.handleReady();
    expect(rd?.hardState).toMatchObject({ term: 4, vote: 1 });
    const votes = ofType([...(rd?.messages ?? []), ...(rd?.persistedMessages ?? [])], 'vote');
    expect(recipients(votes)).toEqual([2, 3, 4, 5]);
    for (const v of votes) expect(v).toMatchObject({ from: 1, term: 4, pre: false, lastLogIndex: 2, lastLogTerm: 1 });
  });

  // Table from etcd-io/raft TestLeaderElectionInOneRoundRPC: win, lose, or still undecided.
  const cases: ReadonlyArray<{ size: number; votes: Record<number, boolean>; role: Role }> = [
    { size: 1, votes: {}, role: 'leader' },
    { size: 3, votes: { 2: true, 3: true }, role: 'leader' },
    { size: 3, votes: { 2: true }, role: 'leader' },
    { size: 5, votes: { 2: true, 3: true, 4: true, 5: true }, role: 'leader' },
    { size: 5, votes: { 2: true, 3: true }, role: 'leader' },
    { size: 3, votes: { 2: false, 3: false }, role: 'follower' },
    { size: 5, votes: { 2: true, 3: false, 4: false, 5: false }, role: 'follower' },
    { size: 3, votes: {}, role: 'candidate' },
    { size: 5, votes: { 2: true }, role: 'candidate' },
    { size: 5, votes: { 2: false, 3: false }, role: 'candidate' },
  ];
  it.each(cases)('§5.2: a candidate wins only with votes from a majority (size $size, votes $votes → $role)', ({ size, votes, role }) => {
    const voters = Array.from({ length: size }, (_, k) => k + 1);
    const n = new TestNode({ voters });
    n.raw.campaign();
    n.flush();
    for (const [id, granted] of Object.entries(votes)) n.step(voteResp({ from: Number(id), to: 1, term: 1, reject: !granted }));
    expect(n.status()).toMatchObject({ role, term: 1 });
  });

  it('§5.2: a candidate counts one vote per voter, however often it is repeated', () => {
    const n = new TestNode({ voters: [1, 2, 3, 4, 5] });
    n.raw.campaign();
    n.flush();
    for (let k = 0; k < 5; k++) n.step(voteResp({ from: 2, to: 1, term: 1, reject: false }));
    expect(n.status().role).toBe('candidate');
  });

  it.each([1, 2])('§5.2: a candidate that receives AppendEntries from a leader of term ≥ its own (%i) steps down', (term) => {
    const n = new TestNode();
    n.raw.campaign();
    n.flush();
    expect(n.status()).toMatchObject({ role: 'candidate', term: 1 });
    n.step(appendMsg({ from: 2, to: 1, term }));
    expect(n.status()).toMatchObject({ role: 'follower', term, leader: 2 });
    // It answers the new leader as a follower.
    expect(ofType(n.flush(), 'append-response')).toMatchObject([{ to: 2, term, reject: false }]);
  });

  it('§5.2: a candidate that neither wins nor loses starts a new election when its timeout elapses', () => {
    const n = new TestNode();
    n.raw.campaign();
    n.flush();
    n.tick(2 * n.electionTick - 1);
    expect(n.status()).toMatchObject({ role: 'candidate', term: 2, vote: 1 });
    const votes = ofType(n.flush(), 'vote');
    expect(recipients(votes)).toEqual([2, 3]);
    for (const v of votes) expect(v.term).toBe(2);
  });

  it('§5.2: a split vote elects nobody; randomized timeouts then elect one leader in a later term', () => {
    const env = new InteractionEnv();
    env.addNodes(3, { preVote: false, checkQuorum: false });
    // All three stand at once: each votes for itself and rejects the others.
    for (const id of [1, 2, 3]) env.campaign(id);
    env.stabilize();
    expect(env.leaders()).toEqual([]);
    for (const id of [1, 2, 3]) expect(env.status(id)).toMatchObject({ term: 1, vote: id });

    tickAll(env, 4 * 10, () => env.leaders().length > 0);
    const leaders = env.leaders();
    expect(leaders).toHaveLength(1);
    const leader = leaders[0] ?? NONE;
    const term = env.status(leader).term;
    expect(term).toBeGreaterThan(1);
    for (const id of [1, 2, 3]) expect(env.status(id)).toMatchObject({ term, leader });
  });
});

describe('Figure 2 "RequestVote RPC" receiver / §5.2', () => {
  it('Figure 2 RequestVote 1: reply false if term < currentTerm', () => {
    const n = new TestNode({ terms: [1], hard: { term: 3 } });
    n.step(voteReq({ from: 2, to: 1, term: 2, lastLogIndex: 5, lastLogTerm: 2 }));
    n.step(voteReq({ from: 3, to: 1, term: 2, lastLogIndex: 5, lastLogTerm: 2, pre: true }));
    const out = n.flush();
    expect(n.status()).toMatchObject({ term: 3, vote: NONE });
    expect(ofType(out, 'vote-response').filter((m) => !m.reject)).toEqual([]);
    for (const m of out) expect(m.term).toBe(3);
  });

  // etcd-io/raft TestFollowerVote: first come, first served, at most one vote per term.
  it.each([
    { vote: NONE, from: 2, reject: false },
    { vote: NONE, from: 3, reject: false },
    { vote: 2, from: 2, reject: false },
    { vote: 3, from: 3, reject: false },
    { vote: 2, from: 3, reject: true },
    { vote: 3, from: 2, reject: true },
  ])('§5.2: a server votes for at most one candidate per term (voted $vote, asked by $from → reject $reject)', ({ vote, from, reject }) => {
    const n = new TestNode({ hard: { term: 1, vote } });
    n.step(voteReq({ from, to: 1, term: 1 }));
    expect(ofType(n.flush(), 'vote-response')).toEqual([{ type: 'vote-response', from: 1, to: from, term: 1, pre: false, reject }]);
    expect(n.status().vote).toBe(vote === NONE ? from : vote);
  });

  it('§5.2: the vote is first-come-first-served within a term, and is durable across a restart', () => {
    const n = new TestNode({ voters: [1, 2, 3, 4] });
    n.step(voteReq({ from: 2, to: 1, term: 1 }));
    n.step(voteReq({ from: 3, to: 1, term: 1 }));
    expect(ofType(n.flush(), 'vote-response').map((m) => [m.to, m.reject])).toEqual([
      [2, false],
      [3, true],
    ]);
    expect(n.storage.getHardState()).toMatchObject({ term: 1, vote: 2 });
    // Crash and restart from storage: the vote of term 1 still binds.
    const restarted = new TestNode({ voters: [1, 2, 3, 4], hard: n.storage.getHardState() });
    restarted.step(voteReq({ from: 4, to: 1, term: 1 }));
    expect(ofType(restarted.flush(), 'vote-response')).toMatchObject([{ to: 4, reject: true }]);
  });

  it('§5.2: a node in a newer term grants a vote again (one vote per term, not ever)', () => {
    const n = new TestNode({ hard: { term: 1, vote: 2 } });
    n.step(voteReq({ from: 3, to: 1, term: 2 }));
    expect(ofType(n.flush(), 'vote-response')).toMatchObject([{ to: 3, term: 2, reject: false }]);
    expect(n.status()).toMatchObject({ term: 2, vote: 3 });
  });
});

describe('§5.2: randomized election timeouts', () => {
  it.each(['follower', 'candidate'] as const)('§5.2: a %s times out after a random number of ticks spread over [T, 2T)', (role) => {
    const T = 10;
    const n = new TestNode({ electionTick: T, seed: 42 });
    const observed = new Map<number, number>();
    let term = 0;
    for (let round = 0; round < 50 * T; round++) {
      if (role === 'follower') n.step(heartbeatMsg({ from: 2, to: 1, term: ++term }));
      else n.raw.campaign();
      n.flush();
      const start = n.status().term;
      let ticks = 0;
      while (n.status().term === start || (role === 'follower' && n.status().role === 'follower')) {
        n.tick();
        ticks++;
        expect(ticks).toBeLessThan(2 * T);
      }
      n.flush();
      term = n.status().term;
      observed.set(ticks, (observed.get(ticks) ?? 0) + 1);
    }
    const values = [...observed.keys()].sort((a, b) => a - b);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(T);
    expect(Math.max(...values)).toBeLessThan(2 * T);
    // Spread, not fixed: every timeout in [T, 2T) shows up, none dominates.
    expect(values).toEqual(Array.from({ length: T }, (_, k) => T + k));
    for (const count of observed.values()) expect(count).toBeLessThan(0.3 * 50 * T);
  });

  it('§5.2: randomized timeouts make it rare for several servers to time out on the same tick', () => {
    const size = 5;
    const nodes = Array.from({ length: size }, (_, k) => new TestNode({ id: k + 1, voters: [1, 2, 3, 4, 5], seed: 1000 + k }));
    let conflicts = 0;
    const rounds = 500;
    for (let round = 1; round <= rounds; round++) {
      for (const n of nodes) {
        n.step(heartbeatMsg({ from: n.id === 1 ? 2 : 1, to: n.id, term: 2 * round }));
        n.flush();
      }
      let timedOut = 0;
      while (timedOut === 0) {
        for (const n of nodes) {
          n.tick();
          if (n.status().role === 'candidate') timedOut++;
        }
      }
      if (timedOut > 1) conflicts++;
      for (const n of nodes) n.flush();
    }
    expect(conflicts / rounds).toBeLessThanOrEqual(0.3);
  });
});

describe('PreVote (thesis §9.6)', () => {
  it('thesis §9.6: a pre-candidate asks for pre-votes at term+1 without changing its own term or vote', () => {
    const n = new TestNode({ preVote: true, terms: [1, 2], hard: { term: 2 } });
    n.raw.campaign();
    expect(n.status()).toMatchObject({ role: 'pre-candidate', term: 2, vote: NONE });
    const rd = n.handleReady();
    expect(rd?.hardState).toBeUndefined();
    const pre = ofType([...(rd?.messages ?? []), ...(rd?.persistedMessages ?? [])], 'vote');
    expect(recipients(pre)).toEqual([2, 3]);
    for (const m of pre) expect(m).toMatchObject({ pre: true, term: 3, lastLogIndex: 2, lastLogTerm: 2 });

    // A voter grants the pre-vote without adopting the term or binding its vote.
    const voter = new TestNode({ id: 2, preVote: true, terms: [1, 2], hard: { term: 2 } });
    const req = pre.find((m) => m.to === 2);
    if (req === undefined) throw new Error('no pre-vote to 2');
    voter.step(req);
    const answer = ofType(voter.flush(), 'vote-response');
    expect(answer).toMatchObject([{ pre: true, reject: false, term: 3 }]);
    expect(voter.status()).toMatchObject({ term: 2, vote: NONE });

    // Only on winning the pre-vote does the pre-candidate start the real election at term+1.
    const granted = answer[0];
    if (granted === undefined) throw new Error('no answer');
    n.step(granted);
    expect(n.status()).toMatchObject({ role: 'candidate', term: 3, vote: 1 });
  });

  it('thesis §9.6: a pre-candidate that loses its pre-vote goes back to follower at the same term', () => {
    const n = new TestNode({ preVote: true, hard: { term: 2 } });
    n.raw.campaign();
    n.flush();
    // Voters reject in their own term (2), which is not newer than ours.
    n.step(voteResp({ from: 2, to: 1, term: 2, pre: true, reject: true }));
    n.step(voteResp({ from: 3, to: 1, term: 2, pre: true, reject: true }));
    expect(n.status()).toMatchObject({ role: 'follower', term: 2, vote: NONE });
  });

  /** Partitions node 3, keeps it ticking while the majority commits, then heals. */
  function rejoin(preVote: boolean): { env: InteractionEnv; termBefore: number } {
    const env = new InteractionEnv();
    env.addNodes(3, { preVote, checkQuorum: false });
    elect(env, 1);
    const termBefore = env.status(1).term;
    env.partition([3]);
    env.propose(1, 'while-3-is-away');
    env.stabilize();
    for (let k = 0; k < 5 * 10; k++) {
      env.tick(3);
      env.stabilize();
    }
    env.heal();
    tickAll(env, 2 * 10);
    return { env, termBefore };
  }

  it('thesis §9.6: a partitioned node that rejoins does not disrupt the cluster (its term never grew)', () => {
    const { env, termBefore } = rejoin(true);
    expect(env.leaders()).toEqual([1]);
    for (const id of [1, 2, 3]) expect(env.status(id)).toMatchObject({ term: termBefore, leader: 1 });
    // And it caught up.
    expect(env.logTerms(3)).toEqual(env.logTerms(1));
  });

  it('thesis §9.6 (control): without PreVote the same rejoining node forces a new term', () => {
    const { env, termBefore } = rejoin(false);
    expect(env.status(1).term).toBeGreaterThan(termBefore);
  });
});

describe('CheckQuorum (thesis §6.2)', () => {
  // Checks run once per election timeout and look at who answered since the previous check, so
  // the step-down comes at the first check with no majority heard from: at most two election
  // timeouts after the last contact (as in etcd-io/raft), not one.
  it('thesis §6.2: a leader cut off from a majority steps down at its next quorum check that heard no majority', () => {
    const env = new InteractionEnv();
    env.addNodes(3, { checkQuorum: true, electionTick: 10 });
    elect(env, 1);
    const term = env.status(1).term;

    // Connected, it stays leader indefinitely.
    tickAll(env, 50);
    expect(env.leaders()).toEqual([1]);

    env.partition([1]);
    let ticks = 0;
    while (env.status(1).role === 'leader' && ticks < 100) {
      env.tick(1);
      env.stabilize();
      ticks++;
    }
    expect(env.status(1)).toMatchObject({ role: 'follower', leader: NONE, term });
    expect(ticks).toBeLessThanOrEqual(2 * 10);
  });

  // The strict rule of the thesis: "if an election timeout elapses without a successful round
  // of heartbeats to a majority" the leader steps down. The core stamps when each voter last
  // answered and checks every tick (etcd-io/raft's once-per-timeout check allows up to 2T).
  it('thesis §6.2 (strict): a leader steps down once an election timeout passes without hearing from a majority', () => {
    const env = new InteractionEnv();
    env.addNodes(3, { checkQuorum: true, electionTick: 10 });
    elect(env, 1);
    tickAll(env, 50); // the last round of heartbeats to a majority succeeds here
    env.partition([1]);
    for (let k = 0; k <= 10; k++) {
      env.tick(1);
      env.stabilize();
    }
    expect(env.status(1).role).toBe('follower');
  });

  it('thesis §6.2 / §4.2.3: a follower that heard from its leader within the election timeout ignores RequestVote', () => {
    const env = new InteractionEnv();
    env.addNodes(3, { checkQuorum: true, preVote: true, electionTick: 10 });
    elect(env, 1);
    const term = env.status(2).term;
    const last = env.status(2).lastIndex;
    const lastTerm = env.logTerms(2).at(-1) ?? 0;

    const f = env.node(2).raw;
    f.step(voteReq({ from: 3, to: 2, term: term + 1, lastLogIndex: last, lastLogTerm: lastTerm }));
    expect(f.status()).toMatchObject({ term, vote: 1, leader: 1 });
    expect(f.hasReady()).toBe(false);

    // Once the lease has lapsed (no heartbeat for an election timeout), the same request wins a vote.
    // (If its own timer fires first it only pre-campaigns, which changes neither term nor vote.)
    env.tick(2, 10);
    f.step(voteReq({ from: 3, to: 2, term: term + 1, lastLogIndex: last, lastLogTerm: lastTerm }));
    expect(f.status()).toMatchObject({ term: term + 1, vote: 3 });
  });
});
