/**
 * Random histories for the semaphore and readers-writer lock models: correct executors (see
 * generate.ts for the execution model), plausible wrong answers, and an agreement run that
 * checks the WGL search against the brute-force reference and each model against its
 * explicit-enumeration reference (reference-locks.ts).
 *
 * The executors hand out tokens the way the cluster does: a fresh token is the index of a later
 * log entry (one increasing sequence shared by all keys, with gaps); a grant may share the
 * latest grant's token (one entry granting several waiters) only if it could be granted by the
 * same entry: nothing was released since, and for the lock no writer is involved.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  type Model,
  type Operation,
  type RwLockInput,
  type RwLockMode,
  type RwLockOutput,
  type SemaphoreInput,
  type SemaphoreOutput,
  bruteForceCheck,
  check,
  verifyLinearization,
} from '../../../../src/checker/index.js';
import { type Executor, type OutputPerturber, type Plan, perturb, perturbationArb, planArb, simulate } from './generate.js';

/** Permits of the generated semaphores, per key. */
export const SEMAPHORE_PERMITS: Readonly<Record<string, number>> = { a: 3, b: 2 };

interface Held<K> {
  readonly kind: K;
  readonly token: number;
}

interface Lock<K> {
  readonly holders: Map<string, Held<K>>;
  /** The latest grant's token, and whether a later grant may still share it. */
  last: number;
  shareable: boolean;
}

/**
 * The release / end-session / fenced-write part of both executors, and token choice: what the
 * client believes (from an ok grant), sometimes wrong, sometimes the real token it never saw
 * (an unknown-outcome grant it learned of otherwise), else a guess.
 */
function commonOps<K>(
  p: Plan,
  applied: boolean,
  lock: Lock<K>,
  client: string,
  beliefs: Map<string, number>,
  kind: number,
  mayWrite: (h: Held<K>) => boolean,
): { input: { op: 'release' | 'fenced-write' | 'end-session'; client: string; token?: number }; output: string } {
  const belief = `${client}/${p.key}`;
  const held = lock.holders.get(client);
  const known = beliefs.get(belief);
  const r = p.arg;
  const token = known !== undefined ? (r % 5 === 4 ? known + 1 : known) : held !== undefined && r % 4 !== 0 ? held.token : 1 + (r % 6);
  const remove = (): void => {
    lock.holders.delete(client);
    lock.shareable = false;
  };
  if (kind === 0) {
    const matches = held !== undefined && held.token === token;
    if (applied && matches) remove();
    if (p.fate === 'ok' && matches) beliefs.delete(belief);
    return { input: { op: 'release', client, token }, output: matches ? 'ok' : 'NOT_HELD' };
  }
  if (kind === 1) {
    const ok = held !== undefined && held.token === token && mayWrite(held);
    return { input: { op: 'fenced-write', client, token }, output: ok ? 'applied' : 'FENCED' };
  }
  if (applied && held !== undefined) remove();
  if (p.fate === 'ok') beliefs.delete(belief);
  return { input: { op: 'end-session', client }, output: 'ok' };
}

/** A shared token counter: fresh tokens strictly increase across all keys, with gaps. */
function freshTokens(): { take(gap: number, applied: boolean): number } {
  let next = 1;
  return {
    take(gap, applied) {
      const token = next + gap;
      if (applied) next = token + 1;
      return token;
    },
  };
}

function pickKind(choice: number): 'acquire' | 0 | 1 | 2 {
  const c = choice % 20;
  return c < 9 ? 'acquire' : c < 14 ? 0 : c < 17 ? 1 : 2;
}

export function semaphoreExecutor(): Executor<SemaphoreInput, SemaphoreOutput> {
  const locks = new Map<string, Lock<number>>();
  const tokens = freshTokens();
  const beliefs = new Map<string, number>();
  return {
    run(p, applied) {
      const client = `c${p.client}`;
      const permits = SEMAPHORE_PERMITS[p.key] ?? 2;
      const lock = locks.get(p.key) ?? { holders: new Map<string, Held<number>>(), last: 0, shareable: false };
      locks.set(p.key, lock);
      const kind = pickKind(p.choice);
      if (kind !== 'acquire') {
        const { input, output } = commonOps(p, applied, lock, client, beliefs, kind, () => true);
        return { input: input as SemaphoreInput, output: output as SemaphoreOutput };
      }
      const weight = p.arg % 8 === 7 ? permits + 1 : p.arg % 8 < 4 ? 1 : 1 + (p.arg % permits);
      const input: SemaphoreInput = { op: 'acquire', client, weight, permits };
      const used = [...lock.holders.values()].reduce((sum, h) => sum + h.kind, 0);
      // A request that fits may still be refused: a waiter ahead of it (FIFO) is not modelled.
      const fits = !lock.holders.has(client) && used + weight <= permits && (p.arg >> 3) % 6 !== 0;
      if (!fits) return { input, output: { acquired: false } };
      const share = lock.shareable && (p.arg >> 4) % 2 === 0;
      const token = share ? lock.last : tokens.take((p.arg >> 5) % 2, applied);
      if (applied) {
        lock.holders.set(client, { kind: weight, token });
        lock.last = token;
        lock.shareable = true;
      }
      if (p.fate === 'ok') beliefs.set(`${client}/${p.key}`, token);
      return { input, output: { acquired: true, token } };
    },
  };
}

export function rwlockExecutor(): Executor<RwLockInput, RwLockOutput> {
  const locks = new Map<string, Lock<RwLockMode>>();
  const tokens = freshTokens();
  const beliefs = new Map<string, number>();
  return {
    run(p, applied) {
      const client = `c${p.client}`;
      const lock = locks.get(p.key) ?? { holders: new Map<string, Held<RwLockMode>>(), last: 0, shareable: false };
      locks.set(p.key, lock);
      const kind = pickKind(p.choice);
      if (kind !== 'acquire') {
        const { input, output } = commonOps(p, applied, lock, client, beliefs, kind, (h) => h.kind === 'write');
        return { input: input as RwLockInput, output: output as RwLockOutput };
      }
      const mode: RwLockMode = p.arg % 3 === 0 ? 'write' : 'read';
      const input: RwLockInput = { op: 'acquire', client, mode };
      const holders = [...lock.holders.values()];
      const compatible = mode === 'write' ? holders.length === 0 : !lock.holders.has(client) && holders.every((h) => h.kind === 'read');
      if (!compatible || (p.arg >> 3) % 6 === 0) return { input, output: { acquired: false } };
      const share = mode === 'read' && lock.shareable && (p.arg >> 4) % 2 === 0;
      const token = share ? lock.last : tokens.take((p.arg >> 5) % 2, applied);
      if (applied) {
        lock.holders.set(client, { kind: mode, token });
        lock.last = token;
        lock.shareable = mode === 'read';
      }
      if (p.fate === 'ok') beliefs.set(`${client}/${p.key}`, token);
      return { input, output: { acquired: true, token } };
    },
  };
}

const OFFSETS = [-2, -1, 1, 2] as const;

/**
 * Wrong answers that can break a history: a granted token moved, a refusal turned into a grant,
 * release and fenced-write answers flipped. (A grant turned into a refusal is always legal.)
 */
export function perturbLock<I extends { readonly op: string }, O>(input: I, output: O, r: number): O | null {
  const out = output as unknown;
  if (input.op === 'end-session') return null;
  if (input.op === 'release') return (out === 'ok' ? 'NOT_HELD' : 'ok') as O;
  if (input.op === 'fenced-write') return (out === 'applied' ? 'FENCED' : 'applied') as O;
  if (typeof out !== 'object' || out === null || !('token' in out)) return { acquired: true, token: 1 + (r % 6) } as O;
  return { acquired: true, token: Math.max(1, (out.token as number) + (OFFSETS[r % 4] ?? 1)) } as O;
}

/**
 * Histories like generate.ts's `historyArb`, except that an `end-session` is recorded with an
 * unknown outcome and no response two times in three, as the workload records it (from the
 * last time the session was known alive), and a quarter of the grants that would be 'ok' have
 * an unknown outcome instead. At least 4 operations (fewer rarely show interplay).
 */
export function lockHistoryArb<I, O>(
  makeExecutor: () => Executor<I, O>,
  outputs: OutputPerturber<I, O>,
  options: { readonly keys: readonly string[]; readonly clients: number; readonly maxOps: number; readonly perturb?: boolean },
): fc.Arbitrary<Operation<I, O>[]> {
  const plan = planArb(options.keys, options.clients).map((p): Plan => {
    const kind = pickKind(p.choice);
    // More grants of unknown outcome than planArb's fates give, so that unseen tokens (and
    // clients that later use them) are common.
    if (kind === 'acquire' && p.fate === 'ok' && (p.choice >> 5) % 4 === 0) return { ...p, fate: 'unknown-applied' };
    if (kind !== 2 || p.arg % 3 === 0 || p.fate === 'fail') return p;
    return { ...p, fate: p.fate === 'unknown-skipped' ? p.fate : 'unknown-applied', finiteUnknownReturn: false };
  });
  return fc
    .record({ plans: fc.array(plan, { minLength: Math.min(4, options.maxOps), maxLength: options.maxOps }), how: perturbationArb })
    .map(({ plans, how }) => perturb(simulate(plans, makeExecutor()), options.perturb === false ? { ...how, apply: false } : how, outputs));
}

/** The largest token a history mentions (inputs and outputs). */
export function maxTokenOf(history: readonly Operation<unknown, unknown>[]): number {
  let max = 0;
  for (const op of history) {
    const input = op.input as { token?: unknown };
    const output = op.output as { token?: unknown } | undefined;
    if (typeof input.token === 'number') max = Math.max(max, input.token);
    if (typeof output === 'object' && output !== null && typeof output.token === 'number') max = Math.max(max, output.token);
  }
  return max;
}

/** Counts from an agreement run. */
export interface Tally {
  checked: number;
  illegal: number;
  unknownOps: number;
  /** Histories where an unknown-outcome grant's token was later used by its client. */
  revealing: number;
}

/**
 * For `runs` random histories (fixed `seed`: fast-check prints it, with the failing case, on
 * failure): WGL and brute force (whole history, one state per key, and per partition) agree;
 * every 'ok' verdict's witness verifies; the model agrees with `reference(maxToken)`.
 */
export function lockAgreement<S, R, I, O>(
  model: Model<S, I, O>,
  reference: (maxToken: number) => Model<R, I, O>,
  arb: fc.Arbitrary<Operation<I, O>[]>,
  runs: number,
  seed: number,
): Tally {
  const tally: Tally = { checked: 0, illegal: 0, unknownOps: 0, revealing: 0 };
  fc.assert(
    fc.property(arb, (history) => {
      const fast = check(model, history);
      const slow = bruteForceCheck(model, history, { partition: false });
      expect(fast.result, 'WGL vs brute force').toBe(slow.result);
      expect(bruteForceCheck(model, history).result, 'brute force per partition').toBe(slow.result);
      if (fast.result === 'ok') {
        for (const part of fast.partitions) {
          const ops = history.filter((op) => op.status !== 'fail' && (op.key ?? '') === part.key);
          expect(verifyLinearization(model, ops, part.linearization ?? []), `WGL witness for ${part.key}`).toBeNull();
        }
      } else {
        expect(fast.anomaly?.explanation).toContain('not linearizable');
      }
      const ref = reference(maxTokenOf(history) + history.length + 2);
      expect(check(ref, history).result, 'model vs explicit-enumeration reference').toBe(fast.result);
      tally.checked++;
      if (slow.result === 'illegal') tally.illegal++;
      tally.unknownOps += history.filter((op) => op.status === 'unknown').length;
      if (revealsUnseen(history)) tally.revealing++;
    }),
    { numRuns: runs, seed },
  );
  return tally;
}

/** True iff some client's unknown-outcome acquire is followed by its own 'ok' release or fenced write. */
function revealsUnseen(history: readonly Operation<unknown, unknown>[]): boolean {
  return history.some(
    (a) =>
      a.status === 'unknown' &&
      (a.input as { op: string }).op === 'acquire' &&
      history.some(
        (b) =>
          b.status === 'ok' &&
          b.client === a.client &&
          b.key === a.key &&
          b.call > a.call &&
          (b.output === 'ok' || b.output === 'applied') &&
          ['release', 'fenced-write'].includes((b.input as { op: string }).op),
      ),
  );
}
