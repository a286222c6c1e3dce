/**
 * Random histories from simulated concurrent executions against a correct implementation of
 * each object, optionally perturbed so that many are no longer linearizable.
 *
 * Execution model: each client runs its operations one after another; an operation is called,
 * takes effect at a linearization instant inside its interval, then returns. Applying effects in
 * order of those instants yields a linearizable history by construction. An operation's fate
 * decides what the history records: `ok` (effect and output), `unknown-applied` (effect, outcome
 * unknown), `unknown-skipped` (no effect, outcome unknown) or `fail` (no effect). A client
 * learns an output only from an `ok` operation.
 */
import fc from 'fast-check';
import type {
  CounterInput,
  CounterOutput,
  MutexInput,
  MutexOutput,
  Operation,
  RegisterInput,
  RegisterOutput,
  RegisterValue,
} from '../../../../src/checker/index.js';

export type Fate = 'ok' | 'unknown-applied' | 'unknown-skipped' | 'fail';

/** One planned operation: who, where, when, and random numbers for the model to pick an input. */
export interface Plan {
  readonly client: number;
  readonly key: string;
  readonly callGap: number;
  readonly linDelay: number;
  readonly retDelay: number;
  readonly fate: Fate;
  /** For unknown fates: whether the recorded return is finite (the checker must ignore it). */
  readonly finiteUnknownReturn: boolean;
  readonly choice: number;
  readonly arg: number;
}

/** A correct implementation of an object, driven by plans in linearization order. */
export interface Executor<I, O> {
  /** Picks the input (from what the client knows) and, if `applied`, applies it. */
  run(plan: Plan, applied: boolean): { readonly input: I; readonly output: O };
}

/** Simulates the plans (in array order per client) and records the history. */
export function simulate<I, O>(plans: readonly Plan[], executor: Executor<I, O>): Operation<I, O>[] {
  const clocks = new Map<number, number>();
  const times = plans.map((p) => {
    const call = (clocks.get(p.client) ?? 0) + p.callGap;
    const lin = call + p.linDelay;
    const ret = lin + p.retDelay;
    clocks.set(p.client, ret);
    return { call, lin, ret };
  });
  const order = plans.map((_, i) => i).sort((a, b) => (times[a]?.lin ?? 0) - (times[b]?.lin ?? 0) || a - b);
  const ops: Array<Operation<I, O> | undefined> = new Array<Operation<I, O> | undefined>(plans.length);
  for (const i of order) {
    const p = plans[i] as Plan;
    const t = times[i] as { call: number; ret: number };
    const { input, output } = executor.run(p, p.fate === 'ok' || p.fate === 'unknown-applied');
    const base = { id: i, client: `c${p.client}`, key: p.key, input, call: t.call };
    if (p.fate === 'ok') ops[i] = { ...base, output, return: t.ret, status: 'ok' };
    else if (p.fate === 'fail') ops[i] = { ...base, return: t.ret, status: 'fail' };
    else ops[i] = { ...base, return: p.finiteUnknownReturn ? t.ret : Infinity, status: 'unknown' };
  }
  return ops.map((op) => op as Operation<I, O>);
}

// ---------------------------------------------------------------------------------------------
// Executors: correct implementations.

const REGISTER_VALUES: readonly RegisterValue[] = [null, 0, 1, 2, 3];

export function registerExecutor(): Executor<RegisterInput, RegisterOutput> {
  const values = new Map<string, RegisterValue>();
  return {
    run(p, applied) {
      const current = values.get(p.key) ?? null;
      const kind = p.choice % 10;
      if (kind < 4) return { input: { op: 'read' }, output: current };
      if (kind < 7) {
        const value = REGISTER_VALUES[1 + (p.arg % 4)] ?? 0;
        if (applied) values.set(p.key, value);
        return { input: { op: 'write', value }, output: undefined };
      }
      const expected = REGISTER_VALUES[p.arg % 5] ?? null;
      const next = REGISTER_VALUES[1 + ((p.arg >> 3) % 4)] ?? 0;
      const swapped = current === expected;
      if (applied && swapped) values.set(p.key, next);
      return { input: { op: 'cas', expected, next }, output: swapped };
    },
  };
}

export function counterExecutor(): Executor<CounterInput, CounterOutput> {
  const values = new Map<string, number>();
  return {
    run(p, applied) {
      const current = values.get(p.key) ?? 0;
      const set = (v: number): void => {
        if (applied) values.set(p.key, v);
      };
      const kind = p.choice % 20;
      if (kind < 7) {
        const delta = (p.arg % 5) - 2;
        set(current + delta);
        return { input: { op: 'add', delta }, output: current + delta };
      }
      if (kind < 10) return { input: { op: 'get' }, output: current };
      if (kind < 13) {
        const value = p.arg % 4;
        set(value);
        return { input: { op: 'set', value }, output: current };
      }
      if (kind < 17) {
        const expected = p.arg % 4;
        const next = (p.arg >> 2) % 4;
        if (current === expected) set(next);
        return { input: { op: 'cas', expected, next }, output: current === expected };
      }
      set(0);
      return { input: { op: 'delete' }, output: undefined };
    },
  };
}

export function mutexExecutor(): Executor<MutexInput, MutexOutput> {
  const locks = new Map<string, { holder: string | null; token: number }>();
  let nextToken = 1;
  /** What each client believes it holds, per lock (learned from ok answers only). */
  const beliefs = new Map<string, number>();
  return {
    run(p, applied) {
      const client = `c${p.client}`;
      const lock = locks.get(p.key) ?? { holder: null, token: 0 };
      const belief = `${client}/${p.key}`;
      if (p.choice % 2 === 0) {
        let output: MutexOutput = { acquired: false };
        if (lock.holder === null) {
          // Tokens come from one sequence shared by all locks, with random gaps: strictly
          // increasing per lock, not consecutive (as with a Raft index as the token).
          const token = nextToken + (p.arg % 2);
          output = { acquired: true, token };
          if (applied) {
            nextToken = token + 1;
            locks.set(p.key, { holder: client, token });
          }
        }
        if (p.fate === 'ok' && output.acquired) beliefs.set(belief, output.token);
        return { input: { op: 'acquire', client }, output };
      }
      const held = beliefs.get(belief);
      const token = held === undefined ? 1 + (p.arg % 4) : p.arg % 4 === 0 ? held + 1 : held;
      const matches = lock.holder === client && lock.token === token;
      if (applied && matches) locks.set(p.key, { holder: null, token: lock.token });
      if (p.fate === 'ok' && matches) beliefs.delete(belief);
      return { input: { op: 'release', client, token }, output: matches ? 'ok' : 'NOT_HELD' };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Perturbations: plausible wrong answers.

/** Returns a different, plausible output for an ok operation, or null if it has none to change. */
export type OutputPerturber<I, O> = (input: I, output: O, r: number) => O | null;

const OFFSETS = [-2, -1, 1, 2] as const;

export const perturbRegister: OutputPerturber<RegisterInput, RegisterOutput> = (input, output, r) => {
  if (input.op === 'write') return null;
  if (input.op === 'cas') return !output;
  const others = REGISTER_VALUES.filter((v) => v !== output);
  return others[r % others.length] ?? null;
};

export const perturbCounter: OutputPerturber<CounterInput, CounterOutput> = (input, output, r) => {
  if (input.op === 'delete') return null;
  if (input.op === 'cas') return !output;
  return (output as number) + (OFFSETS[r % 4] ?? 1);
};

export const perturbMutex: OutputPerturber<MutexInput, MutexOutput> = (input, output, r) => {
  if (input.op === 'release') return output === 'ok' ? 'NOT_HELD' : 'ok';
  if (typeof output !== 'object' || !output.acquired) return { acquired: true, token: 1 + (r % 5) };
  return r % 3 === 0 ? { acquired: false } : { acquired: true, token: Math.max(1, output.token + (OFFSETS[r % 4] ?? 1)) };
};

/** How to break a history: which kind of change, applied to which candidate operation. */
export interface Perturbation {
  readonly apply: boolean;
  /** 0-5: change an output; 6-7: record an ok operation as failed; 8-9: shrink an ok op's interval. */
  readonly kind: number;
  readonly target: number;
  readonly r: number;
}

/** Applies `how` to a copy of `ops`; returns the copy unchanged if nothing applies. */
export function perturb<I, O>(ops: readonly Operation<I, O>[], how: Perturbation, outputs: OutputPerturber<I, O>): Operation<I, O>[] {
  const copy = [...ops];
  if (!how.apply) return copy;
  const okIndices = copy.flatMap((op, i) => (op.status === 'ok' ? [i] : []));
  if (how.kind < 6) {
    const changes = okIndices.flatMap((i) => {
      const op = copy[i] as Operation<I, O>;
      const changed = outputs(op.input, op.output as O, how.r);
      return changed === null ? [] : [{ i, changed }];
    });
    const pick = changes[how.target % Math.max(1, changes.length)];
    if (pick !== undefined) copy[pick.i] = { ...(copy[pick.i] as Operation<I, O>), output: pick.changed };
    return copy;
  }
  const i = okIndices[how.target % Math.max(1, okIndices.length)];
  if (i === undefined) return copy;
  const op = copy[i] as Operation<I, O>;
  if (how.kind < 8) {
    const { output: _dropped, ...rest } = op;
    copy[i] = { ...rest, status: 'fail' };
  } else {
    copy[i] = { ...op, return: op.call };
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------
// fast-check arbitraries.

const fateArb: fc.Arbitrary<Fate> = fc
  .nat({ max: 99 })
  .map((n) => (n < 70 ? 'ok' : n < 80 ? 'unknown-applied' : n < 90 ? 'unknown-skipped' : 'fail'));

export function planArb(keys: readonly string[], clients: number): fc.Arbitrary<Plan> {
  return fc.record({
    client: fc.nat({ max: clients - 1 }),
    key: fc.constantFrom(...keys),
    callGap: fc.nat({ max: 3 }),
    linDelay: fc.nat({ max: 3 }),
    retDelay: fc.nat({ max: 3 }),
    fate: fateArb,
    finiteUnknownReturn: fc.boolean(),
    choice: fc.nat({ max: 999 }),
    arg: fc.nat({ max: 63 }),
  });
}

export const perturbationArb: fc.Arbitrary<Perturbation> = fc.record({
  apply: fc.nat({ max: 99 }).map((n) => n < 60),
  kind: fc.nat({ max: 9 }),
  target: fc.nat({ max: 1000 }),
  r: fc.nat({ max: 1000 }),
});

/** A generated history with ≤ `maxOps` operations, perturbed 60% of the time unless `perturb: false`. */
export function historyArb<I, O>(
  makeExecutor: () => Executor<I, O>,
  outputs: OutputPerturber<I, O>,
  options: { readonly keys: readonly string[]; readonly clients: number; readonly maxOps: number; readonly perturb?: boolean },
): fc.Arbitrary<Operation<I, O>[]> {
  return fc
    .record({ plans: fc.array(planArb(options.keys, options.clients), { minLength: 1, maxLength: options.maxOps }), how: perturbationArb })
    .map(({ plans, how }) => perturb(simulate(plans, makeExecutor()), options.perturb === false ? { ...how, apply: false } : how, outputs));
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness for large generated histories (no fast-check: no shrinking wanted there).

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
