/**
 * The search itself: time budget with an injected clock, partition bookkeeping, witnesses,
 * anomaly reports, unknown-output handling and degenerate histories.
 */
import { describe, expect, it } from 'vitest';
import {
  type CounterInput,
  type CounterOutput,
  type Model,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  type RegisterValue,
  check,
  counterModel,
  registerModel,
  singlePartition,
  verifyLinearization,
} from '../../../src/checker/index.js';
import { builder } from './support/ops.js';

type RegOp = Operation<RegisterInput, RegisterOutput>;
const read: RegisterInput = { op: 'read' };
const write = (value: number): RegisterInput => ({ op: 'write', value });

/**
 * `n` concurrent writes of distinct values and a concurrent read of a value nobody wrote: the
 * search must try every subset of writes before giving up (2^n configurations even memoized).
 */
function hardHistory(n: number, key?: string): RegOp[] {
  const h = builder<RegisterInput, RegisterOutput>();
  const ops = Array.from({ length: n }, (_, i) => h.ok(`w${i}`, 0, 100, write(i), undefined, key));
  return [...ops, h.ok('r', 0, 100, read, -1, key)].map((op, i) => ({ ...op, id: `${key ?? ''}${i}` }));
}

/** A fake clock: 0 for the first `readings` readings, then far in the future. */
function jumpingClock(readings: number): { clock: () => number; count: () => number } {
  let n = 0;
  return { clock: () => (n++ < readings ? 0 : 1_000_000_000), count: () => n };
}

describe('time budget', () => {
  it('returns inconclusive when the injected clock jumps past the budget mid-search', () => {
    const { clock, count } = jumpingClock(2); // the start and the partition start read 0
    const result = check(registerModel, hardHistory(16), { timeoutMs: 60_000, clock, checkEvery: 10 });
    expect(result.result).toBe('inconclusive');
    expect(result.partitions).toHaveLength(1);
    expect(result.partitions[0]?.result).toBe('inconclusive');
    expect(result.partitions[0]?.steps).toBe(10); // stopped at the first reading in the loop
    expect(result.anomaly).toBeUndefined();
    expect(result.elapsedMs).toBe(1_000_000_000);
    expect(count()).toBe(5); // start, partition start, one in-loop reading, partition end, end
  });

  it('reads the clock only every checkEvery steps', () => {
    const { clock, count } = jumpingClock(Infinity);
    const result = check(registerModel, hardHistory(6), { timeoutMs: 60_000, clock, checkEvery: 100 });
    expect(result.result).toBe('illegal');
    const steps = result.partitions[0]?.steps ?? 0;
    expect(count()).toBe(4 + Math.floor(steps / 100));
  });

  it('does not start partitions once the budget is spent, but an illegal verdict stands', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const broken = [h.ok('a', 0, 1, write(1), undefined, 'a'), h.ok('b', 2, 3, read, 2, 'a')];
    // Readings: start, partition a start, partition a end, partition b start (jumped).
    const { clock } = jumpingClock(3);
    const result = check(registerModel, [...broken, ...hardHistory(3, 'b')], { timeoutMs: 10, clock });
    expect(result.partitions.map((p) => [p.key, p.result, p.steps > 0])).toEqual([
      ['a', 'illegal', true],
      ['b', 'inconclusive', false],
    ]);
    expect(result.result).toBe('illegal');
    expect(result.anomaly?.key).toBe('a');

    const fine = [h.ok('a', 0, 1, write(1), undefined, 'a'), h.ok('b', 2, 3, read, 1, 'a')];
    const again = check(registerModel, [...fine, ...hardHistory(3, 'b')], { timeoutMs: 10, clock: jumpingClock(3).clock });
    expect(again.result).toBe('inconclusive');
  });

  it('decides normally within a real budget with the default clock', () => {
    const result = check(registerModel, hardHistory(8), { timeoutMs: 60_000 });
    expect(result.result).toBe('illegal');
    expect(result.elapsedMs).toBeGreaterThanOrEqual(0);
  });
});

describe('verdicts and reports', () => {
  it('returns a witness linearization that includes the unknown operations it needed', () => {
    const h = builder<CounterInput, CounterOutput>();
    const maybe = h.unknown('a', 0, { op: 'add', delta: 1 });
    const skipped = h.unknown('c', 0, { op: 'add', delta: 100 });
    const seen = h.ok('b', 2, 3, { op: 'add', delta: 1 }, 2);
    const history = [maybe, skipped, seen];
    const result = check(counterModel, history);
    expect(result.result).toBe('ok');
    expect(result.partitions[0]?.linearization).toEqual([maybe.id, seen.id]);
    expect(verifyLinearization(counterModel, history, result.partitions[0]?.linearization ?? [])).toBeNull();
  });

  it('reports the deepest dead end: prefix, stuck operation, candidates and the window to inspect', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const w1 = h.ok('a', 0, 1, write(1), undefined);
    const w2 = h.ok('a', 2, 5, write(2), undefined);
    const r1 = h.ok('b', 3, 4, read, 1);
    const bad = h.ok('b', 6, 7, read, 3);
    const later = h.ok('c', 8, 9, read, 2);
    const result = check(registerModel, [w1, w2, r1, bad, later]);
    expect(result.result).toBe('illegal');
    const anomaly = result.anomaly;
    expect(anomaly?.longestPrefix.map((op) => op.id)).toEqual([w1.id, r1.id, w2.id]);
    expect(anomaly?.stuck).toBe(bad);
    expect(anomaly?.candidates).toEqual([bad]);
    expect(anomaly?.involved).toEqual([bad]);
    expect(anomaly?.explanation).toContain('Longest linearizable prefix: 3 of 5 operations');
    expect(anomaly?.explanation).toContain(`${registerModel.describe(bad)}: impossible in state 2`);
  });

  it('puts overlapping prefix operations in the window to inspect', () => {
    const h = builder<CounterInput, CounterOutput>();
    const a = h.ok('a', 0, 5, { op: 'add', delta: 1 }, 1);
    const b = h.ok('b', 1, 6, { op: 'add', delta: 1 }, 1);
    const result = check(counterModel, [a, b]);
    expect(result.anomaly?.longestPrefix).toHaveLength(1);
    expect(result.anomaly?.involved).toEqual([a, b]);
  });

  it('is deterministic', () => {
    const history = hardHistory(7);
    const clock = (): number => 0;
    expect(check(registerModel, history, { clock })).toEqual(check(registerModel, history, { clock }));
  });

  it('handles degenerate histories', () => {
    const h = builder<RegisterInput, RegisterOutput>();
    expect(check(registerModel, [])).toMatchObject({ result: 'ok', partitions: [] });
    expect(check(registerModel, [h.fail('a', 0, 1, write(1))])).toMatchObject({ result: 'ok', partitions: [] });
    const onlyUnknown = check(registerModel, [h.unknown('a', 0, write(1))]);
    expect(onlyUnknown.result).toBe('ok');
    expect(onlyUnknown.partitions[0]).toMatchObject({ operations: 1, linearization: [] });
  });

  it("never hands an unknown operation's recorded output to the model", () => {
    const seen: Array<RegisterOutput> = [];
    const spy: Model<RegisterValue, RegisterInput, RegisterOutput> = {
      ...registerModel,
      partition: singlePartition,
      step(state, input, output) {
        seen.push(output);
        return registerModel.step(state, input, output);
      },
    };
    const partial: RegOp = { id: 'x', client: 'a', input: read, output: 42, call: 0, return: 3, status: 'unknown' };
    const h = builder<RegisterInput, RegisterOutput>();
    expect(check(spy, [partial, h.ok('b', 5, 6, read, null)]).result).toBe('ok');
    expect(seen).not.toContain(42);
  });

  it("ignores an unknown operation's finite return: it may take effect later", () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const lateEffect: RegOp = { id: 'w', client: 'a', input: write(1), call: 0, return: 1, status: 'unknown' };
    expect(check(registerModel, [lateEffect, h.ok('b', 2, 3, read, null), h.ok('b', 4, 5, read, 1)]).result).toBe('ok');
  });

  it("uses the model's partition, and counts operations per partition", () => {
    const h = builder<RegisterInput, RegisterOutput>();
    const history = [h.ok('a', 0, 1, write(1), undefined, 'x'), h.ok('b', 2, 3, read, null, 'y'), h.fail('c', 0, 1, write(2), 'y')];
    const perKey = check(registerModel, history);
    expect(perKey.partitions.map((p) => [p.key, p.operations])).toEqual([
      ['x', 1],
      ['y', 1],
    ]);
    const whole = check({ ...registerModel, partition: singlePartition }, history);
    expect(whole.partitions.map((p) => [p.key, p.result])).toEqual([['', 'illegal']]);
  });
});
