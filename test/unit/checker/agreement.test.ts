/**
 * The WGL search against the brute-force reference on random small histories, per model.
 *
 * Histories (≤ 8 operations, up to 4 clients, 2 keys, unknown and failed operations) come from
 * simulated executions of a correct object, so they start linearizable; 60% then get one
 * plausible corruption (a wrong output, an applied operation recorded as failed, a response
 * timestamp moved to the call), which breaks a good share of them. The reference checks the
 * whole history at once with one state per key, so agreement also vouches for the partitioning.
 * Every 'ok' verdict's witness is verified independently. The share of non-linearizable
 * histories is printed and must be at least 20%, or the agreement would prove little.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Model,
  type Operation,
  bruteForceCheck,
  check,
  counterModel,
  mutexModel,
  registerModel,
  verifyLinearization,
} from '../../../src/checker/index.js';
import {
  type Executor,
  type OutputPerturber,
  counterExecutor,
  historyArb,
  mutexExecutor,
  perturbCounter,
  perturbMutex,
  perturbRegister,
  registerExecutor,
} from './support/generate.js';

const RUNS = 1000;

interface Tally {
  checked: number;
  illegal: number;
  unknownOps: number;
}

function agreement<S, I, O>(
  model: Model<S, I, O>,
  makeExecutor: () => Executor<I, O>,
  outputs: OutputPerturber<I, O>,
  seed: number,
): Tally {
  const tally: Tally = { checked: 0, illegal: 0, unknownOps: 0 };
  const arb = historyArb(makeExecutor, outputs, { keys: ['a', 'a', 'a', 'b'], clients: 4, maxOps: 8 });
  fc.assert(
    fc.property(arb, (history: Operation<I, O>[]) => {
      const fast = check(model, history);
      const slow = bruteForceCheck(model, history, { partition: false });
      expect(fast.result).toBe(slow.result);
      expect(bruteForceCheck(model, history).result, 'brute force per partition').toBe(slow.result);
      if (fast.result === 'ok') {
        for (const part of fast.partitions) {
          const ops = history.filter((op) => op.status !== 'fail' && (op.key ?? '') === part.key);
          expect(verifyLinearization(model, ops, part.linearization ?? []), `WGL witness for ${part.key}`).toBeNull();
        }
      } else {
        expect(fast.anomaly?.explanation).toContain('not linearizable');
      }
      for (const w of slow.witnesses ?? []) expect(verifyLinearization(model, history, w.order), 'brute-force witness').toBeNull();
      tally.checked++;
      if (slow.result === 'illegal') tally.illegal++;
      tally.unknownOps += history.filter((op) => op.status === 'unknown').length;
    }),
    { numRuns: RUNS, seed },
  );
  return tally;
}

function report(name: string, t: Tally): void {
  const share = t.illegal / t.checked;
  console.log(
    `[agreement] ${name}: ${t.checked} histories, WGL = brute force on all; non-linearizable ${t.illegal} (${(share * 100).toFixed(1)}%); unknown ops ${t.unknownOps}`,
  );
  expect(t.checked).toBe(RUNS);
  expect(share).toBeGreaterThanOrEqual(0.2);
}

describe('WGL agrees with brute force on random histories', () => {
  it('register', () => {
    report('register', agreement(registerModel, registerExecutor, perturbRegister, 0x5eed01));
  });

  it('counter', () => {
    report('counter', agreement(counterModel, counterExecutor, perturbCounter, 0x5eed02));
  });

  it('mutex', () => {
    report('mutex', agreement(mutexModel, mutexExecutor, perturbMutex, 0x5eed03));
  });

  it('unperturbed executions are linearizable for both checkers (the generator is sound)', () => {
    const cases = [
      {
        model: registerModel as Model<unknown, unknown, unknown>,
        arb: historyArb(registerExecutor, perturbRegister, { keys: ['a', 'b'], clients: 4, maxOps: 8, perturb: false }),
      },
      {
        model: counterModel as Model<unknown, unknown, unknown>,
        arb: historyArb(counterExecutor, perturbCounter, { keys: ['a', 'b'], clients: 4, maxOps: 8, perturb: false }),
      },
      {
        model: mutexModel as Model<unknown, unknown, unknown>,
        arb: historyArb(mutexExecutor, perturbMutex, { keys: ['a', 'b'], clients: 4, maxOps: 8, perturb: false }),
      },
    ];
    for (const { model, arb } of cases) {
      fc.assert(
        fc.property(arb as fc.Arbitrary<Operation<unknown, unknown>[]>, (history) => {
          expect(check(model, history).result).toBe('ok');
          expect(bruteForceCheck(model, history, { partition: false }).result).toBe('ok');
        }),
        { numRuns: 300, seed: 7 },
      );
    }
  });
});
