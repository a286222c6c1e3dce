/**
 * Scale: a linearizable counter history of 10,000 operations over 50 keys (skewed: a few hot
 * keys carry most of the load) from 8 concurrent clients, with some unknown and failed
 * operations, must check as 'ok'. The 60 s budget is a hang guard, not a performance claim; the
 * elapsed time is printed for humans.
 */
import { describe, expect, it } from 'vitest';
import { check, counterModel, verifyLinearization } from '../../../src/checker/index.js';
import { type Fate, type Plan, counterExecutor, seededRandom, simulate } from './support/generate.js';

const OPS = 10_000;
const KEYS = 50;
const CLIENTS = 8;

function plans(seed: number): Plan[] {
  const random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  return Array.from({ length: OPS }, (): Plan => {
    const roll = random();
    const fate: Fate = roll < 0.98 ? 'ok' : roll < 0.985 ? 'unknown-applied' : roll < 0.99 ? 'unknown-skipped' : 'fail';
    return {
      client: int(CLIENTS),
      // Squaring skews towards low key numbers: key k0 gets ~14% of the operations.
      key: `k${Math.floor(random() ** 2 * KEYS)}`,
      callGap: int(5),
      linDelay: int(20),
      retDelay: int(20),
      fate,
      finiteUnknownReturn: random() < 0.5,
      choice: int(1000),
      arg: int(64),
    };
  });
}

/** The most completed operations of one key in flight at once (at most one per client). */
function maxConcurrency(history: ReturnType<typeof simulate>): number {
  const edges = history
    .filter((op) => op.status === 'ok')
    .flatMap((op) => [
      { key: op.key, t: op.call, d: 1 },
      { key: op.key, t: op.return, d: -1 },
    ]);
  // At equal times calls first: touching operations count as concurrent, as the checker sees them.
  edges.sort((a, b) => a.t - b.t || b.d - a.d);
  const live = new Map<string | undefined, number>();
  let max = 0;
  for (const e of edges) {
    const n = (live.get(e.key) ?? 0) + e.d;
    live.set(e.key, n);
    max = Math.max(max, n);
  }
  return max;
}

describe('performance', () => {
  it(`checks a ${OPS}-operation counter history over ${KEYS} keys as ok`, () => {
    const history = simulate(plans(20_240_601), counterExecutor());
    const verdict = check(counterModel, history, { timeoutMs: 60_000 });
    const largest = Math.max(...verdict.partitions.map((p) => p.operations));
    const steps = verdict.partitions.reduce((sum, p) => sum + p.steps, 0);
    const unknown = history.filter((o) => o.status === 'unknown').length;
    console.log(
      `[performance] ${OPS} ops, ${verdict.partitions.length} keys (largest ${largest} ops, up to ${maxConcurrency(history)} ok ops concurrent on one key), ${unknown} unknown: ${verdict.result} in ${verdict.elapsedMs} ms, ${steps} steps`,
    );
    expect(verdict.result).toBe('ok');
    expect(verdict.partitions).toHaveLength(KEYS);
    const hot = verdict.partitions.find((p) => p.key === 'k0');
    const hotOps = history.filter((op) => op.key === 'k0' && op.status !== 'fail');
    expect(verifyLinearization(counterModel, hotOps, hot?.linearization ?? [])).toBeNull();
  });

  it('finds one corrupted answer among the 10,000 operations', () => {
    const history = simulate(plans(20_240_601), counterExecutor());
    // Corrupt the last add on the hot key: it now claims one more than it got.
    const target = history.findLastIndex((op) => op.key === 'k0' && op.status === 'ok' && op.input.op === 'add');
    const victim = history[target];
    if (victim === undefined) throw new Error('no add on k0');
    history[target] = { ...victim, output: (victim.output as number) + 1 };
    const verdict = check(counterModel, history, { timeoutMs: 60_000 });
    console.log(`[performance] corrupted history: ${verdict.result} in ${verdict.elapsedMs} ms`);
    expect(verdict.result).toBe('illegal');
    expect(verdict.anomaly?.key).toBe('k0');
    expect(verdict.anomaly?.candidates.map((op) => op.id)).toContain(victim.id);
  });
});
