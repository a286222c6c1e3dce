/**
 * The leader search's decisions (src/client/discovery.ts) on an injected clock: a leader is
 * taken at once, a suspect's claim only after the others spoke, a follower only when the
 * leader is beyond reach, and a client that never reached any node fails fast, naming each
 * endpoint's cause, while a cluster that is up without a leader is waited for.
 */
import { describe, expect, it } from 'vitest';
import { FAIL_FAST_MS, FOLLOWER_GRACE_MS, LeaderSearch, type NodeAnswer } from '../../../src/client/discovery.js';

const A = 'ws://127.0.0.1:7101/client';
const B = 'ws://127.0.0.1:7102/client';
const C = 'ws://127.0.0.1:7103/client';
const ELSEWHERE = 'ws://10.0.0.9:7101/client';

const leader = (term: number): NodeAnswer => ({ role: 'leader', term, leaderUrl: null });
const follower = (term: number, of: string | null): NodeAnswer => ({ role: 'follower', term, leaderUrl: of });

function search(opts: { suspects?: string[]; failFast?: boolean; followHints?: boolean } = {}, urls = [A, B, C]): LeaderSearch {
  return new LeaderSearch(urls, 0, {
    suspects: new Set(opts.suspects ?? []),
    failFast: opts.failFast ?? false,
    followHints: opts.followHints ?? true,
  });
}

describe('LeaderSearch: the leader', () => {
  it('a node that says it leads is taken at once, whatever the others have not said yet', () => {
    const s = search();
    expect(s.decide(0)).toBeUndefined();
    s.answered(B, leader(3));
    expect(s.decide(1)).toEqual({ kind: 'leader', url: B });
  });

  it('of two claims, the higher term wins (the other is a deposed leader that does not know yet)', () => {
    const s = search();
    s.answered(A, leader(3));
    s.answered(C, leader(4));
    expect(s.decide(1)).toEqual({ kind: 'leader', url: C });
  });

  it("a suspect's claim waits until every other endpoint answered or failed", () => {
    const s = search({ suspects: [A] });
    s.answered(A, leader(3));
    expect(s.decide(1)).toBeUndefined();
    s.answered(B, follower(3, A));
    expect(s.decide(2)).toBeUndefined();
    s.failed(C, 'connection refused');
    expect(s.decide(3)).toEqual({ kind: 'leader', url: A });
  });

  it('a new leader beats the suspect that still claims the old term', () => {
    const s = search({ suspects: [A] });
    s.answered(A, leader(3));
    s.answered(B, leader(4));
    expect(s.decide(1)).toEqual({ kind: 'leader', url: B });
  });

  it('a leader whose endpoint fails afterwards is no longer a claim', () => {
    const s = search();
    s.answered(A, leader(3));
    s.failed(A, 'silent for 1000 ms');
    expect(s.decide(1)).toBeUndefined();
  });
});

describe('LeaderSearch: settling for a follower', () => {
  it('not while the leader the followers name is an endpoint still to answer', () => {
    const s = search();
    s.answered(B, follower(3, A));
    s.answered(C, follower(3, A));
    expect(s.decide(FOLLOWER_GRACE_MS * 10)).toBeUndefined();
  });

  it("when the named leader's endpoint failed: reads still work through a follower", () => {
    const s = search();
    s.answered(B, follower(3, A));
    s.answered(C, follower(3, A));
    s.failed(A, 'no answer within 1000 ms');
    expect(s.decide(1)).toEqual({ kind: 'follower', url: B });
  });

  it('when the named leader is not an endpoint: once every endpoint spoke, or after the grace', () => {
    const s = search({ followHints: false }, [A, B]);
    s.answered(A, follower(3, ELSEWHERE));
    expect(s.decide(1)).toBeUndefined(); // B may be the leader under another address (a proxy)
    expect(s.decide(FOLLOWER_GRACE_MS)).toEqual({ kind: 'follower', url: A });
    s.answered(B, follower(4, ELSEWHERE));
    expect(s.decide(1)).toEqual({ kind: 'follower', url: B }); // the higher term
  });

  it('a suspect that has not answered does not hold the search up; one that did is taken last', () => {
    const s = search({ suspects: [A], followHints: false }, [A, B]);
    s.answered(B, follower(3, ELSEWHERE));
    expect(s.decide(1)).toEqual({ kind: 'follower', url: B });
    const t = search({ suspects: [A], followHints: false }, [A, B]);
    t.answered(A, follower(3, ELSEWHERE));
    t.answered(B, follower(3, ELSEWHERE));
    expect(t.decide(1)).toEqual({ kind: 'follower', url: B });
  });

  it('never a follower that knows no leader', () => {
    const s = search();
    s.answered(A, follower(3, null));
    s.answered(B, follower(3, null));
    s.answered(C, { role: 'pre-candidate', term: 3, leaderUrl: null });
    expect(s.decide(60_000)).toBeUndefined();
  });
});

describe('LeaderSearch: leaders named elsewhere', () => {
  it('are dialled once every endpoint spoke, each once, and only when hints may be followed', () => {
    const s = search({}, [A, B]);
    s.answered(A, follower(3, ELSEWHERE));
    expect(s.hintsToDial()).toEqual([]);
    s.answered(B, follower(3, ELSEWHERE));
    expect(s.hintsToDial()).toEqual([ELSEWHERE]);
    expect(s.hintsToDial()).toEqual([]);
    expect(s.urls).toEqual([A, B, ELSEWHERE]);
    // Dialled now, it is an endpoint: no settling for a follower while it may answer.
    expect(s.decide(FOLLOWER_GRACE_MS * 10)).toBeUndefined();
    s.answered(ELSEWHERE, leader(3));
    expect(s.decide(1)).toEqual({ kind: 'leader', url: ELSEWHERE });

    const noHints = search({ followHints: false }, [A, B]);
    noHints.answered(A, follower(3, ELSEWHERE));
    noHints.answered(B, follower(3, ELSEWHERE));
    expect(noHints.hintsToDial()).toEqual([]);
  });
});

describe('LeaderSearch: failing fast', () => {
  const downEverywhere = (s: LeaderSearch): void => {
    s.failed(A, 'connection refused');
    s.failed(B, 'host not found (DNS)');
    s.failed(C, 'no answer within 1000 ms');
  };

  it('every endpoint unreachable: gives up after FAIL_FAST_MS, naming each endpoint and its cause', () => {
    const s = search({ failFast: true });
    downEverywhere(s);
    expect(s.decide(FAIL_FAST_MS - 1)).toBeUndefined();
    const d = s.decide(FAIL_FAST_MS);
    expect(d?.kind).toBe('unreachable');
    const message = d?.kind === 'unreachable' ? d.message : '';
    expect(message).toContain(
      '127.0.0.1:7101: connection refused; 127.0.0.1:7102: host not found (DNS); 127.0.0.1:7103: no answer within 1000 ms',
    );
    expect(message).toMatch(/check that the cluster is running/);
  });

  it('not while one endpoint has not failed yet', () => {
    const s = search({ failFast: true });
    s.failed(A, 'connection refused');
    s.failed(B, 'connection refused');
    expect(s.decide(FAIL_FAST_MS * 3)).toBeUndefined();
  });

  it('not when a node is up, even without a leader: a cluster starting up is waited for', () => {
    const s = search({ failFast: true });
    s.failed(A, 'connection refused');
    s.failed(B, 'connection refused');
    s.answered(C, follower(0, null));
    s.failed(C, 'connection reset'); // it was reachable once: the cluster is there
    expect(s.decide(FAIL_FAST_MS * 10)).toBeUndefined();
  });

  it('not for a client that reached the cluster before: it rides an outage out until its deadline', () => {
    const s = search({ failFast: false });
    downEverywhere(s);
    expect(s.decide(FAIL_FAST_MS * 10)).toBeUndefined();
    expect(s.causes()).toBe(
      '127.0.0.1:7101: connection refused; 127.0.0.1:7102: host not found (DNS); 127.0.0.1:7103: no answer within 1000 ms',
    );
  });
});
