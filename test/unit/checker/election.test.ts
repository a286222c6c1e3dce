/**
 * Election model: hand-written histories (legal ones, and one for each violation the model
 * must reject), each verdict confirmed by the brute-force search and by the explicit-enumeration
 * reference model; then agreement of all three on random histories with planted violations.
 */
import { describe, expect, it } from 'vitest';
import {
  type ElectionInput,
  type ElectionOutput,
  type ElectionState,
  type Operation,
  bruteForceCheck,
  check,
  electionModel,
} from '../../../src/checker/index.js';
import { electionAgreement, electionHistoryArb, electionOps, referenceFor } from './election-support.js';
import { builder } from './support/ops.js';

type Op = Operation<ElectionInput, ElectionOutput>;
const { campaign, resign, proclaim, read, endSession, fencedWrite, leads, refused, leader } = electionOps;

function verdict(history: Op[]): 'ok' | 'illegal' | 'inconclusive' {
  const fast = check(electionModel, history);
  expect(bruteForceCheck(electionModel, history, { maxOperations: 10 }).result, 'brute force agrees').toBe(fast.result);
  expect(check(referenceFor(history), history).result, 'reference model agrees').toBe(fast.result);
  return fast.result;
}

const b = (): ReturnType<typeof builder<ElectionInput, ElectionOutput>> => builder<ElectionInput, ElectionOutput>();

describe('election model: sequential histories', () => {
  it('accepts a term of office: lead, proclaim, read, resign, and a successor with a greater token', () => {
    const h = b();
    expect(
      verdict([
        h.ok('a', 0, 1, campaign('a', 'va'), leads(3)),
        h.ok('r', 2, 3, read, leader('a', 3, 'va')),
        h.ok('a', 4, 5, proclaim('a', 3, 'va2'), 'ok'),
        h.ok('r', 6, 7, read, leader('a', 3, 'va2')),
        h.ok('a', 8, 9, fencedWrite('a', 3), 'applied'),
        h.ok('a', 10, 11, resign('a', 3), 'ok'),
        h.ok('r', 12, 13, read, null),
        h.ok('b', 14, 15, campaign('b', 'vb'), leads(7)),
        h.ok('r', 16, 17, read, leader('b', 7, 'vb')),
      ]),
    ).toBe('ok');
  });

  it('rejects two leaders at once, accepts the second once the first is gone', () => {
    const h = b();
    const first = h.ok('a', 0, 1, campaign('a', 'va'), leads(1));
    const second = h.ok('b', 4, 5, campaign('b', 'vb'), leads(2));
    expect(verdict([first, second])).toBe('illegal');
    expect(verdict([first, h.ok('a', 2, 3, resign('a', 1), 'ok'), second])).toBe('ok');
    expect(verdict([first, h.ok('a', 2, 3, endSession('a'), 'ok'), second])).toBe('ok');
    // The same session twice is two leaders too.
    expect(verdict([first, h.ok('a', 2, 3, campaign('a', 'va2'), leads(2))])).toBe('illegal');
  });

  it('rejects a token not greater than the previous leader', () => {
    const h = b();
    const a5 = h.ok('a', 0, 1, campaign('a', 'va'), leads(5));
    const gone = h.ok('a', 2, 3, resign('a', 5), 'ok');
    expect(verdict([a5, gone, h.ok('b', 4, 5, campaign('b', 'vb'), leads(5))])).toBe('illegal');
    expect(verdict([a5, gone, h.ok('b', 4, 5, campaign('b', 'vb'), leads(4))])).toBe('illegal');
    expect(verdict([a5, gone, h.ok('b', 4, 5, campaign('b', 'vb'), leads(6))])).toBe('ok');
    expect(verdict([h.ok('a', 0, 1, campaign('a', 'va'), leads(0))])).toBe('illegal');
  });

  it('"not acquired" only while somebody leads', () => {
    const h = b();
    expect(verdict([h.ok('a', 0, 1, campaign('a', 'va'), refused)])).toBe('illegal');
    const a1 = h.ok('a', 0, 1, campaign('a', 'va'), leads(1));
    expect(verdict([a1, h.ok('b', 2, 3, campaign('b', 'vb'), refused)])).toBe('ok');
    expect(verdict([a1, h.ok('a', 2, 3, resign('a', 1), 'ok'), h.ok('b', 4, 5, campaign('b', 'vb'), refused)])).toBe('illegal');
  });

  it('rejects a leader read showing a value nobody campaigned with or proclaimed', () => {
    const h = b();
    const a1 = h.ok('a', 0, 1, campaign('a', 'va'), leads(1));
    expect(verdict([a1, h.ok('r', 2, 3, read, leader('a', 1, 'other'))])).toBe('illegal');
    // Another candidate's value is not the leader's.
    expect(verdict([a1, h.ok('b', 2, 3, campaign('b', 'vb'), refused), h.ok('r', 4, 5, read, leader('a', 1, 'vb'))])).toBe('illegal');
    // The value before the latest proclaim is gone.
    const proclaimed = h.ok('a', 2, 3, proclaim('a', 1, 'va2'), 'ok');
    expect(verdict([a1, proclaimed, h.ok('r', 4, 5, read, leader('a', 1, 'va'))])).toBe('illegal');
    expect(verdict([a1, proclaimed, h.ok('r', 4, 5, read, leader('a', 1, 'va2'))])).toBe('ok');
  });

  it('rejects a leader read showing a leader that resigned, another session, another token, or nobody', () => {
    const h = b();
    const a1 = h.ok('a', 0, 1, campaign('a', 'va'), leads(1));
    expect(verdict([a1, h.ok('a', 2, 3, resign('a', 1), 'ok'), h.ok('r', 4, 5, read, leader('a', 1, 'va'))])).toBe('illegal');
    expect(verdict([a1, h.ok('r', 2, 3, read, leader('b', 1, 'va'))])).toBe('illegal');
    expect(verdict([a1, h.ok('r', 2, 3, read, leader('a', 2, 'va'))])).toBe('illegal');
    expect(verdict([a1, h.ok('r', 2, 3, read, null)])).toBe('illegal');
  });

  it('rejects a proclaim accepted from a non-leader or with another token; NOT_HELD only for those', () => {
    const h = b();
    const a4 = h.ok('a', 0, 1, campaign('a', 'va'), leads(4));
    expect(verdict([a4, h.ok('b', 2, 3, proclaim('b', 4, 'vb'), 'ok')])).toBe('illegal');
    expect(verdict([a4, h.ok('a', 2, 3, proclaim('a', 3, 'vx'), 'ok')])).toBe('illegal');
    expect(verdict([a4, h.ok('a', 2, 3, proclaim('a', 4, 'vx'), 'NOT_HELD')])).toBe('illegal');
    expect(verdict([a4, h.ok('b', 2, 3, proclaim('b', 4, 'vb'), 'NOT_HELD'), h.ok('a', 4, 5, proclaim('a', 3, 'vx'), 'NOT_HELD')])).toBe(
      'ok',
    );
    // After resigning, a proclaim with the old token is refused.
    const gone = h.ok('a', 2, 3, resign('a', 4), 'ok');
    expect(verdict([a4, gone, h.ok('a', 4, 5, proclaim('a', 4, 'vx'), 'ok')])).toBe('illegal');
    expect(verdict([a4, gone, h.ok('a', 4, 5, proclaim('a', 4, 'vx'), 'NOT_HELD')])).toBe('ok');
  });

  it('resign: ok only for the leader with its token, and NOT_HELD changes nothing', () => {
    const h = b();
    const a7 = h.ok('a', 0, 1, campaign('a', 'va'), leads(7));
    expect(verdict([a7, h.ok('a', 2, 3, resign('a', 6), 'ok')])).toBe('illegal');
    expect(verdict([a7, h.ok('b', 2, 3, resign('b', 7), 'ok')])).toBe('illegal');
    expect(verdict([a7, h.ok('a', 2, 3, resign('a', 7), 'NOT_HELD')])).toBe('illegal');
    expect(verdict([a7, h.ok('b', 2, 3, resign('b', 7), 'NOT_HELD'), h.ok('r', 4, 5, read, leader('a', 7, 'va'))])).toBe('ok');
  });

  it('fenced writes: applied only for the leader with its token', () => {
    const h = b();
    const a4 = h.ok('a', 0, 1, campaign('a', 'va'), leads(4));
    expect(verdict([a4, h.ok('b', 2, 3, fencedWrite('b', 4), 'applied')])).toBe('illegal');
    expect(verdict([a4, h.ok('a', 2, 3, fencedWrite('a', 5), 'applied')])).toBe('illegal');
    expect(verdict([a4, h.ok('a', 2, 3, fencedWrite('a', 4), 'FENCED')])).toBe('illegal');
    expect(verdict([a4, h.ok('b', 2, 3, fencedWrite('b', 4), 'FENCED'), h.ok('a', 4, 5, fencedWrite('a', 4), 'applied')])).toBe('ok');
    expect(verdict([a4, h.ok('a', 2, 3, endSession('a'), 'ok'), h.ok('a', 4, 5, fencedWrite('a', 4), 'applied')])).toBe('illegal');
  });

  it('rejects outputs of the wrong kind', () => {
    const h = b();
    expect(verdict([h.ok('a', 0, 1, campaign('a', 'va'), 'ok')])).toBe('illegal');
    expect(verdict([h.ok('a', 0, 1, resign('a', 1), 'applied')])).toBe('illegal');
    expect(verdict([h.ok('a', 0, 1, fencedWrite('a', 1), 'ok')])).toBe('illegal');
    expect(verdict([h.ok('a', 0, 1, endSession('a'), 'NOT_HELD')])).toBe('illegal');
    expect(verdict([h.ok('r', 0, 1, read, leads(1))])).toBe('illegal');
  });
});

describe('election model: session ends and unknown outcomes', () => {
  it('an end of session ends leadership, but only after it may have happened', () => {
    const h = b();
    const a1 = h.ok('a', 0, 1, campaign('a', 'va'), leads(1));
    const next = h.ok('b', 4, 5, campaign('b', 'vb'), leads(3));
    expect(verdict([a1, h.unknown('a', 2, endSession('a')), next])).toBe('ok');
    expect(verdict([a1, h.fail('a', 2, 3, endSession('a')), next])).toBe('illegal');
    expect(verdict([a1, h.ok('b', 2, 3, endSession('b'), 'ok'), next])).toBe('illegal');
    const g = b();
    expect(
      verdict([
        g.ok('a', 0, 1, campaign('a', 'va'), leads(1)),
        g.ok('b', 2, 3, campaign('b', 'vb'), leads(3)),
        g.unknown('a', 4, endSession('a')),
      ]),
    ).toBe('illegal');
  });

  it('a campaign of unknown outcome may lead, and a read, a proclaim or a fenced write reveals its token', () => {
    const h = b();
    const unseen = h.unknown('a', 0, campaign('a', 'va'));
    expect(verdict([unseen, h.ok('r', 2, 3, read, leader('a', 4, 'va')), h.ok('r', 4, 5, read, leader('a', 5, 'va'))])).toBe('illegal');
    expect(verdict([unseen, h.ok('r', 2, 3, read, leader('a', 4, 'va')), h.ok('a', 4, 5, fencedWrite('a', 4), 'applied')])).toBe('ok');
    expect(verdict([unseen, h.ok('a', 2, 3, proclaim('a', 6, 'va2'), 'ok'), h.ok('r', 4, 5, read, leader('a', 6, 'va2'))])).toBe('ok');
    expect(verdict([unseen, h.ok('a', 2, 3, fencedWrite('a', 6), 'applied'), h.ok('a', 4, 5, resign('a', 6), 'NOT_HELD')])).toBe('illegal');
    // Revealed, the token orders the next leader.
    expect(verdict([unseen, h.ok('a', 2, 3, resign('a', 5), 'ok'), h.ok('b', 4, 5, campaign('b', 'vb'), leads(5))])).toBe('illegal');
    expect(verdict([unseen, h.ok('a', 2, 3, resign('a', 5), 'ok'), h.ok('b', 4, 5, campaign('b', 'vb'), leads(6))])).toBe('ok');
  });

  it('an unseen token is above the previous leader, and its end leaves room only above it', () => {
    const h = b();
    const a3 = h.ok('a', 0, 1, campaign('a', 'va'), leads(3));
    const gone = h.ok('a', 2, 3, resign('a', 3), 'ok');
    const unseen = h.unknown('b', 4, campaign('b', 'vb'));
    expect(verdict([a3, gone, unseen, h.ok('r', 6, 7, read, leader('b', 3, 'vb'))])).toBe('illegal');
    expect(verdict([a3, gone, unseen, h.ok('r', 6, 7, read, leader('b', 4, 'vb'))])).toBe('ok');
    // b led (the read shows it), then its session ended: the next token is above b's, at least 5.
    const seen = h.ok('r', 6, 7, read, leader('b', 4, 'vb'));
    const ended = h.ok('b', 8, 9, endSession('b'), 'ok');
    expect(verdict([a3, gone, unseen, seen, ended, h.ok('c', 10, 11, campaign('c', 'vc'), leads(4))])).toBe('illegal');
    expect(verdict([a3, gone, unseen, seen, ended, h.ok('c', 10, 11, campaign('c', 'vc'), leads(5))])).toBe('ok');
  });

  it('a proclaim of unknown outcome: a read may show either value, but not both in turn', () => {
    const h = b();
    const a1 = h.ok('a', 0, 1, campaign('a', 'va'), leads(1));
    const maybe = h.unknown('a', 2, proclaim('a', 1, 'va2'));
    expect(verdict([a1, maybe, h.ok('r', 4, 5, read, leader('a', 1, 'va'))])).toBe('ok');
    expect(verdict([a1, maybe, h.ok('r', 4, 5, read, leader('a', 1, 'va2'))])).toBe('ok');
    expect(verdict([a1, maybe, h.ok('r', 4, 5, read, leader('a', 1, 'va2')), h.ok('r', 6, 7, read, leader('a', 1, 'va'))])).toBe('illegal');
  });
});

describe('election model: concurrency', () => {
  it('orders overlapping campaigns by their tokens and real time', () => {
    const h = b();
    // b called first and got the greater token: fine only if a led, and resigned, first.
    expect(
      verdict([
        h.ok('b', 0, 10, campaign('b', 'vb'), leads(2)),
        h.ok('a', 1, 3, campaign('a', 'va'), leads(1)),
        h.ok('a', 4, 5, resign('a', 1), 'ok'),
      ]),
    ).toBe('ok');
    expect(verdict([h.ok('b', 0, 10, campaign('b', 'vb'), leads(2)), h.ok('a', 1, 3, campaign('a', 'va'), leads(1))])).toBe('illegal');
  });

  it('a read overlapping a hand-over may show either leader, but not the old one after the new', () => {
    const h = b();
    const a1 = h.ok('a', 0, 1, campaign('a', 'va'), leads(1));
    const handOver = [h.ok('a', 2, 8, resign('a', 1), 'ok'), h.ok('b', 2, 8, campaign('b', 'vb'), leads(4))];
    expect(verdict([a1, ...handOver, h.ok('r', 3, 7, read, leader('a', 1, 'va')), h.ok('q', 3, 7, read, leader('b', 4, 'vb'))])).toBe('ok');
    expect(verdict([a1, ...handOver, h.ok('r', 3, 4, read, leader('b', 4, 'vb')), h.ok('q', 5, 7, read, leader('a', 1, 'va'))])).toBe(
      'illegal',
    );
  });

  it('keeps elections of different names apart', () => {
    const h = b();
    expect(verdict([h.ok('a', 0, 1, campaign('a', 'va'), leads(5), 'E1'), h.ok('b', 2, 3, campaign('b', 'vb'), leads(1), 'E2')])).toBe(
      'ok',
    );
  });
});

describe('election model: states and reports', () => {
  it('hash and equal: sensitive to the leader, its token and its value', () => {
    const s0 = electionModel.init();
    const step = (s: ElectionState, input: ElectionInput, output: ElectionOutput): ElectionState => {
      const r = electionModel.step(s, input, output);
      expect(r.ok).toBe(true);
      return r.state;
    };
    const a = step(s0, campaign('a', 'va'), leads(2));
    const same = step(s0, campaign('a', 'va'), leads(2));
    const otherValue = step(a, proclaim('a', 2, 'vb'), 'ok');
    const unseen = step(s0, campaign('a', 'va'), undefined);
    expect(electionModel.equal(a, same)).toBe(true);
    expect(electionModel.hash(a)).toBe(electionModel.hash(same));
    for (const other of [otherValue, unseen, s0]) {
      expect(electionModel.equal(a, other)).toBe(false);
      expect(electionModel.hash(a)).not.toBe(electionModel.hash(other));
    }
    expect(electionModel.describeState(unseen)).toBe('led by "a" with token unseen (>= 1), value "va"');
    expect(electionModel.describeState(step(a, resign('a', 2), 'ok'))).toBe('no leader (last token 2)');
  });

  it('explains a violation', () => {
    const h = b();
    const result = check(electionModel, [h.ok('a', 0, 1, campaign('a', 'va'), leads(1)), h.ok('b', 2, 3, campaign('b', 'vb'), leads(2))]);
    expect(result.anomaly?.stateAfterPrefix).toBe('led by "a" with token 1, value "va"');
    expect(result.anomaly?.explanation).toContain('campaign("b", "vb") -> leads with token 2: impossible in state');
  });
});

describe('election model: agreement on random histories', () => {
  const RUNS = 600;

  it('WGL = brute force = explicit-enumeration reference, planted violations included', () => {
    const seed = 0xe1ec01;
    const arb = electionHistoryArb({ keys: ['a', 'a', 'a', 'b'], clients: 3, maxOps: 8 });
    const t = electionAgreement(electionModel, arb, RUNS, seed);
    console.log(
      `[agreement] election (seed ${seed}): ${t.checked} histories agree; non-linearizable ${t.illegal}; unknown ops ${t.unknownOps}; leader reads in ${t.leaderReads}; unseen tokens revealed in ${t.revealing}`,
    );
    expect(t.checked).toBe(RUNS);
    expect(t.illegal / t.checked).toBeGreaterThanOrEqual(0.2);
    expect((t.checked - t.illegal) / t.checked).toBeGreaterThanOrEqual(0.2);
    expect(t.revealing).toBeGreaterThan(0);
    expect(t.leaderReads).toBeGreaterThan(0);
  });

  it('unperturbed executions are linearizable (the generator is sound)', () => {
    const seed = 0xe1ec02;
    const arb = electionHistoryArb({ keys: ['a', 'b'], clients: 3, maxOps: 8, perturb: false });
    const t = electionAgreement(electionModel, arb, 200, seed);
    console.log(`[agreement] election, unperturbed (seed ${seed}): ${t.checked} histories, non-linearizable ${t.illegal}`);
    expect(t.illegal).toBe(0);
  });
});
