/**
 * The election model's test support: inputs and outputs for hand-written histories, a correct
 * executor and plausible wrong answers for random ones (generate.ts's execution model), and a
 * naive explicit-enumeration reference model written from the rules alone.
 *
 * The executor hands out tokens as the cluster does: a fresh token is the index of a later log
 * entry (one increasing sequence shared by every election, with gaps). A campaign leads when
 * nobody does and is refused otherwise (a candidate waits only while somebody leads); every
 * campaign and proclaim carries a value of its own, so a read shows whose value it is.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  type ElectionInput,
  type ElectionOutput,
  type Model,
  type Operation,
  bruteForceCheck,
  check,
  formatOperation,
  partitionByKey,
  show,
  verifyLinearization,
} from '../../../src/checker/index.js';
import { maxTokenOf } from './support/generate-locks.js';
import { type Executor, type Plan, perturb, perturbationArb, planArb, simulate } from './support/generate.js';

/** Election inputs and outputs for hand-written histories (use with `builder` from support/ops.ts). */
export const electionOps = {
  campaign: (client: string, value: string): ElectionInput => ({ op: 'campaign', client, value }),
  resign: (client: string, token: number): ElectionInput => ({ op: 'resign', client, token }),
  proclaim: (client: string, token: number, value: string): ElectionInput => ({ op: 'proclaim', client, token, value }),
  read: { op: 'read' } as ElectionInput,
  endSession: (client: string): ElectionInput => ({ op: 'end-session', client }),
  fencedWrite: (client: string, token: number): ElectionInput => ({ op: 'fenced-write', client, token }),
  leads: (token: number): ElectionOutput => ({ acquired: true, token }),
  refused: { acquired: false } as ElectionOutput,
  leader: (session: string, token: number, value: string): ElectionOutput => ({ session, token, value }),
};

// ---------------------------------------------------------------------------------------------
// Random histories.

type Kind = 'campaign' | 'resign' | 'proclaim' | 'read' | 'fenced-write' | 'end-session';

function pickKind(choice: number): Kind {
  const c = choice % 20;
  return c < 7 ? 'campaign' : c < 10 ? 'resign' : c < 13 ? 'proclaim' : c < 16 ? 'read' : c < 18 ? 'fenced-write' : 'end-session';
}

interface Leader {
  readonly client: string;
  readonly token: number;
  readonly value: string;
}

/** A correct election service over every key (see the file comment). */
export function electionExecutor(): Executor<ElectionInput, ElectionOutput> {
  const leaders = new Map<string, Leader>();
  let nextToken = 1;
  let nextValue = 1;
  /** What each client believes its token is, per election (from ok grants and reads). */
  const beliefs = new Map<string, number>();
  return {
    run(p, applied) {
      const client = `c${p.client}`;
      const belief = `${client}/${p.key}`;
      const leader = leaders.get(p.key);
      const kind = pickKind(p.choice);
      const r = p.arg;
      const set = (next: Leader | undefined): void => {
        if (!applied) return;
        if (next === undefined) leaders.delete(p.key);
        else leaders.set(p.key, next);
      };
      if (kind === 'campaign') {
        const value = `v${nextValue++}`;
        const input: ElectionInput = { op: 'campaign', client, value };
        if (leader !== undefined) return { input, output: { acquired: false } };
        const token = nextToken + (r % 2);
        if (applied) nextToken = token + 1;
        set({ client, token, value });
        if (p.fate === 'ok') beliefs.set(belief, token);
        return { input, output: { acquired: true, token } };
      }
      if (kind === 'read') {
        const output: ElectionOutput = leader === undefined ? null : { session: leader.client, token: leader.token, value: leader.value };
        if (p.fate === 'ok' && leader?.client === client) beliefs.set(belief, leader.token);
        return { input: { op: 'read' }, output };
      }
      if (kind === 'end-session') {
        if (leader?.client === client) set(undefined);
        if (p.fate === 'ok') beliefs.delete(belief);
        return { input: { op: 'end-session', client }, output: 'ok' };
      }
      // What the client believes (sometimes wrong), sometimes the real token it never saw (a
      // campaign of unknown outcome it learned of otherwise), else a guess.
      const known = beliefs.get(belief);
      const mine = leader?.client === client ? leader : undefined;
      const token = known !== undefined ? (r % 5 === 4 ? known + 1 : known) : mine !== undefined && r % 4 !== 0 ? mine.token : 1 + (r % 6);
      const matches = mine !== undefined && mine.token === token;
      if (kind === 'fenced-write') return { input: { op: 'fenced-write', client, token }, output: matches ? 'applied' : 'FENCED' };
      if (kind === 'proclaim') {
        const value = `v${nextValue++}`;
        if (matches) set({ ...mine, value });
        return { input: { op: 'proclaim', client, token, value }, output: matches ? 'ok' : 'NOT_HELD' };
      }
      if (matches) set(undefined);
      if (p.fate === 'ok' && matches) beliefs.delete(belief);
      return { input: { op: 'resign', client, token }, output: matches ? 'ok' : 'NOT_HELD' };
    },
  };
}

const OFFSETS = [-2, -1, 1, 2] as const;

/**
 * Plausible wrong answers (planted violations): a leader's token moved, a refusal turned into a
 * grant or a grant into a refusal, resign, proclaim and fenced-write answers flipped, a read
 * showing nobody, somebody, another session, another value or another token.
 */
export function perturbElection(input: ElectionInput, output: ElectionOutput, r: number): ElectionOutput | null {
  const offset = OFFSETS[r % 4] ?? 1;
  switch (input.op) {
    case 'end-session':
      return null;
    case 'resign':
    case 'proclaim':
      return output === 'ok' ? 'NOT_HELD' : 'ok';
    case 'fenced-write':
      return output === 'applied' ? 'FENCED' : 'applied';
    case 'campaign':
      if (typeof output !== 'object' || output === null || !('acquired' in output) || !output.acquired)
        return { acquired: true, token: 1 + (r % 6) };
      return r % 3 === 0 ? { acquired: false } : { acquired: true, token: Math.max(1, output.token + offset) };
    case 'read': {
      if (output === null) return { session: `c${r % 3}`, token: 1 + (r % 6), value: `v${1 + (r % 4)}` };
      if (typeof output !== 'object' || output === undefined || !('session' in output)) return null;
      const change = (r >> 2) % 4;
      if (change === 0) return null;
      if (change === 1) return { ...output, session: output.session === 'c0' ? 'c1' : 'c0' };
      if (change === 2) return { ...output, value: `${output.value}x` };
      return { ...output, token: Math.max(1, output.token + offset) };
    }
  }
}

/**
 * Histories like generate.ts's `historyArb`, except that an `end-session` is recorded with an
 * unknown outcome and no response two times in three, as the simulator records it (from the
 * last time the session was known alive), and a quarter of the campaigns that would be 'ok'
 * have an unknown outcome instead (so that unseen tokens, later revealed, are common). At least
 * 4 operations.
 */
export function electionHistoryArb(options: {
  readonly keys: readonly string[];
  readonly clients: number;
  readonly maxOps: number;
  readonly perturb?: boolean;
}): fc.Arbitrary<Operation<ElectionInput, ElectionOutput>[]> {
  const plan = planArb(options.keys, options.clients).map((p): Plan => {
    const kind = pickKind(p.choice);
    if (kind === 'campaign' && p.fate === 'ok' && (p.choice >> 5) % 4 === 0) return { ...p, fate: 'unknown-applied' };
    if (kind !== 'end-session' || p.arg % 3 === 0 || p.fate === 'fail') return p;
    return { ...p, fate: p.fate === 'unknown-skipped' ? p.fate : 'unknown-applied', finiteUnknownReturn: false };
  });
  return fc
    .record({ plans: fc.array(plan, { minLength: Math.min(4, options.maxOps), maxLength: options.maxOps }), how: perturbationArb })
    .map(({ plans, how }) =>
      perturb(simulate(plans, electionExecutor()), options.perturb === false ? { ...how, apply: false } : how, perturbElection),
    );
}

// ---------------------------------------------------------------------------------------------
// The explicit-enumeration reference.

/** A concrete world: the leader with its actual token (`seen`: observed by a client), the latest token. */
interface World {
  readonly leader: { readonly client: string; readonly token: number; readonly value: string; readonly seen: boolean } | null;
  readonly last: number;
}

/** A set of worlds, sorted and deduplicated by their JSON text. */
interface Worlds {
  readonly keys: readonly string[];
  readonly worlds: readonly World[];
}

function collect(worlds: readonly World[]): Worlds {
  const byKey = new Map<string, World>();
  for (const w of worlds) byKey.set(JSON.stringify(w), w);
  const keys = [...byKey.keys()].sort();
  return { keys, worlds: keys.map((k) => byKey.get(k) as World) };
}

/** What one operation can do in one concrete world (none: impossible there). */
function successors(w: World, input: ElectionInput, output: ElectionOutput, maxToken: number): World[] {
  const l = w.leader;
  switch (input.op) {
    case 'campaign': {
      if (output === undefined) {
        if (l !== null) return [w];
        const out: World[] = [];
        for (let t = w.last + 1; t <= maxToken; t++)
          out.push({ leader: { client: input.client, token: t, value: input.value, seen: false }, last: t });
        return out;
      }
      if (typeof output !== 'object' || output === null || !('acquired' in output)) return [];
      if (!output.acquired) return l === null ? [] : [w];
      const t = output.token;
      if (l !== null || !Number.isSafeInteger(t) || t <= w.last) return [];
      return [{ leader: { client: input.client, token: t, value: input.value, seen: true }, last: t }];
    }
    case 'read': {
      if (output === undefined) return [w];
      if (output === null) return l === null ? [w] : [];
      if (typeof output !== 'object' || !('session' in output)) return [];
      const shows = l !== null && l.client === output.session && l.token === output.token && l.value === output.value;
      return shows ? [{ ...w, leader: { ...l, seen: true } }] : [];
    }
    case 'end-session':
      if (output !== undefined && output !== 'ok') return [];
      return [l !== null && l.client === input.client ? { ...w, leader: null } : w];
    case 'resign':
    case 'proclaim':
    case 'fenced-write': {
      const [effect, refused] = input.op === 'fenced-write' ? ['applied', 'FENCED'] : ['ok', 'NOT_HELD'];
      const matches = l !== null && l.client === input.client && l.token === input.token;
      if (output === refused) return matches && l.seen ? [] : [w];
      if (output !== undefined && output !== effect) return [];
      if (!matches) return output === undefined ? [w] : [];
      if (input.op === 'resign') return [{ ...w, leader: null }];
      if (input.op === 'proclaim') return [{ ...w, leader: { ...l, value: input.value, seen: true } }];
      return [output === undefined ? w : { ...w, leader: { ...l, seen: true } }];
    }
  }
}

/** The reference election model: unseen tokens range up to `maxToken`. */
export function referenceElectionModel(maxToken: number): Model<Worlds, ElectionInput, ElectionOutput> {
  return {
    name: 'reference-election',
    init: () => collect([{ leader: null, last: 0 }]),
    step(state, input, output) {
      const next = collect(state.worlds.flatMap((w) => successors(w, input, output, maxToken)));
      return next.worlds.length === 0 ? { ok: false, state } : { ok: true, state: next };
    },
    partition: partitionByKey,
    hash: (s) => s.keys.join('\n'),
    equal: (a, b) => a.keys.length === b.keys.length && a.keys.every((k, i) => k === b.keys[i]),
    describe: (op) => formatOperation(op, `${JSON.stringify(op.input)} -> ${show(op.status === 'ok' ? op.output : undefined)}`),
    describeState: (s) => `${s.worlds.length} worlds: ${s.keys.slice(0, 3).join(' ')}`,
  };
}

/** The token bound under which the reference loses nothing for `history`. */
export function referenceFor(history: readonly Operation<unknown, unknown>[]): Model<Worlds, ElectionInput, ElectionOutput> {
  return referenceElectionModel(maxTokenOf(history) + history.length + 2);
}

// ---------------------------------------------------------------------------------------------
// Agreement.

/** Counts from an agreement run. */
export interface ElectionTally {
  checked: number;
  illegal: number;
  unknownOps: number;
  /** Histories in which a campaign of unknown outcome was later seen (its client's own ok operation, or a read). */
  revealing: number;
  /** Histories with a leader read that shows a leader. */
  leaderReads: number;
}

/**
 * For `runs` random histories from `arb` (fixed `seed`: fast-check prints it, with the failing
 * case, on failure): WGL and brute force (whole history with one state per key, and per
 * partition) agree; every 'ok' verdict's witness verifies; the model agrees with the reference.
 */
export function electionAgreement<S>(
  model: Model<S, ElectionInput, ElectionOutput>,
  arb: fc.Arbitrary<Operation<ElectionInput, ElectionOutput>[]>,
  runs: number,
  seed: number,
): ElectionTally {
  const tally: ElectionTally = { checked: 0, illegal: 0, unknownOps: 0, revealing: 0, leaderReads: 0 };
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
      expect(check(referenceFor(history), history).result, 'model vs explicit-enumeration reference').toBe(fast.result);
      tally.checked++;
      if (slow.result === 'illegal') tally.illegal++;
      tally.unknownOps += history.filter((op) => op.status === 'unknown').length;
      if (revealsUnseen(history)) tally.revealing++;
      if (history.some((op) => op.status === 'ok' && op.input.op === 'read' && op.output !== null)) tally.leaderReads++;
    }),
    { numRuns: runs, seed },
  );
  return tally;
}

/** True iff a campaign of unknown outcome is followed by an ok operation that shows its token. */
function revealsUnseen(history: readonly Operation<ElectionInput, ElectionOutput>[]): boolean {
  return history.some(
    (a) =>
      a.status === 'unknown' &&
      a.input.op === 'campaign' &&
      history.some(
        (b) =>
          b.status === 'ok' &&
          b.key === a.key &&
          b.call > a.call &&
          ((b.client === a.client && (b.output === 'ok' || b.output === 'applied')) ||
            (b.input.op === 'read' && typeof b.output === 'object' && b.output !== null && 'session' in b.output)),
      ),
  );
}
