/**
 * Naive reference models for the semaphore and readers-writer lock, written from their rules
 * alone and sharing no code with src/checker/models: a state is the *set* of concrete worlds
 * the history so far allows, each with every token an actual number. An unknown-outcome grant
 * branches into one world per token it could carry, up to `maxToken`; later operations keep the
 * worlds they are possible in. A history is accepted iff some world survives. With `maxToken`
 * above every token in the history plus its number of operations (each grant needs at most one
 * step above the previous token), the bound loses nothing.
 *
 * This checks the models' symbolic token bounds: any difference in verdict between a model and
 * its reference on the same history is a bug in one of them.
 */
import type { Model, RwLockInput, RwLockOutput, SemaphoreInput, SemaphoreOutput } from '../../../../src/checker/index.js';
import { formatOperation, partitionByKey, show } from '../../../../src/checker/index.js';

/** A world's grant: `seen` is false while its token was never observed by the client. */
interface Grant<Kind> {
  readonly client: string;
  readonly kind: Kind;
  readonly token: number;
  readonly seen: boolean;
}

/** A set of worlds, sorted and deduplicated by their JSON text. */
interface Worlds<W> {
  readonly keys: readonly string[];
  readonly worlds: readonly W[];
}

function powerset<W, I, O>(
  name: string,
  init: W,
  successors: (w: W, input: I, output: O | undefined) => W[],
  describe: (input: I, output: O | undefined) => string,
): Model<Worlds<W>, I, O> {
  const collect = (ws: W[]): Worlds<W> => {
    const byKey = new Map<string, W>();
    for (const w of ws) byKey.set(JSON.stringify(w), w);
    const keys = [...byKey.keys()].sort();
    return { keys, worlds: keys.map((k) => byKey.get(k) as W) };
  };
  return {
    name,
    init: () => collect([init]),
    step(state, input, output) {
      const next = collect(state.worlds.flatMap((w) => successors(w, input, output)));
      return next.worlds.length === 0 ? { ok: false, state } : { ok: true, state: next };
    },
    partition: partitionByKey,
    hash: (s) => s.keys.join('\n'),
    equal: (a, b) => a.keys.length === b.keys.length && a.keys.every((k, i) => k === b.keys[i]),
    describe: (op) => formatOperation(op, describe(op.input, op.status === 'ok' ? op.output : undefined)),
    describeState: (s) => `${s.worlds.length} worlds: ${s.keys.slice(0, 3).join(' ')}`,
  };
}

function sortGrants<K>(grants: readonly Grant<K>[]): Grant<K>[] {
  return [...grants].sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t++) out.push(t);
  return out;
}

/** What release, end-session and fenced-write do in one world; `writes` says who may write. */
function commonSuccessors<W extends { readonly grants: readonly Grant<K>[]; readonly floor: number }, K>(
  w: W,
  input: { readonly op: 'release' | 'end-session' | 'fenced-write'; readonly client: string; readonly token?: number },
  output: unknown,
  writes: (g: Grant<K>) => boolean,
): W[] {
  const mine = w.grants.find((g) => g.client === input.client);
  const removed = (g: Grant<K>): W => ({ ...w, grants: w.grants.filter((o) => o !== g), floor: Math.max(w.floor, g.token) });
  if (input.op === 'end-session') {
    if (output !== undefined && output !== 'ok') return [];
    return [mine === undefined ? w : removed(mine)];
  }
  const matches = mine !== undefined && mine.token === input.token;
  const knownMatch = matches && mine.seen;
  if (input.op === 'release') {
    if (output === 'NOT_HELD') return knownMatch ? [] : [w];
    if (output === 'ok') return matches ? [removed(mine)] : [];
    if (output === undefined) return matches ? [removed(mine)] : [w];
    return [];
  }
  const writer = matches && writes(mine);
  if (output === 'FENCED') return knownMatch && writes(mine) ? [] : [w];
  if (output === 'applied')
    return writer ? [{ ...w, grants: sortGrants(w.grants.map((g) => (g === mine ? { ...g, seen: true } : g))) }] : [];
  if (output === undefined) return [w];
  return [];
}

// ---------------------------------------------------------------------------------------------

interface SemWorld {
  readonly permits: number | null;
  /** kind: the grant's weight. */
  readonly grants: readonly Grant<number>[];
  /** The latest grant's token (0 before any). */
  readonly last: number;
  /** The greatest token of a released or ended grant (0 before any). */
  readonly floor: number;
}

/** The reference semaphore model; unseen tokens range up to `maxToken`. */
export function referenceSemaphoreModel(maxToken: number): Model<Worlds<SemWorld>, SemaphoreInput, SemaphoreOutput> {
  const init: SemWorld = { permits: null, grants: [], last: 0, floor: 0 };
  return powerset<SemWorld, SemaphoreInput, SemaphoreOutput>(
    'reference-semaphore',
    init,
    (w, input, output) => {
      if (input.op !== 'acquire') return commonSuccessors(w, input, output, () => true);
      if (output !== undefined && (typeof output !== 'object' || output === null)) return [];
      if (w.permits !== null && w.permits !== input.permits) return [];
      const world = { ...w, permits: input.permits };
      if (output !== undefined && !output.acquired) return [world];
      const used = w.grants.reduce((sum, g) => sum + g.kind, 0);
      const fits =
        Number.isSafeInteger(input.weight) &&
        input.weight > 0 &&
        used + input.weight <= input.permits &&
        w.grants.every((g) => g.client !== input.client);
      const least = Math.max(1, w.last, w.floor + 1);
      const granted = (token: number, seen: boolean): SemWorld => ({
        ...world,
        grants: sortGrants([...w.grants, { client: input.client, kind: input.weight, token, seen }]),
        last: token,
      });
      if (output === undefined) return fits ? range(least, maxToken).map((t) => granted(t, false)) : [world];
      return fits && Number.isSafeInteger(output.token) && output.token >= least ? [granted(output.token, true)] : [];
    },
    (input, output) => `${JSON.stringify(input)} -> ${show(output)}`,
  );
}

interface RwWorld {
  /** kind: the grant's mode. */
  readonly grants: readonly Grant<'read' | 'write'>[];
  /** The greatest token granted so far, and the greatest write token (0 before any). */
  readonly last: number;
  readonly lastWrite: number;
  readonly floor: number;
}

/** The reference readers-writer lock model; unseen tokens range up to `maxToken`. */
export function referenceRwLockModel(maxToken: number): Model<Worlds<RwWorld>, RwLockInput, RwLockOutput> {
  const init: RwWorld = { grants: [], last: 0, lastWrite: 0, floor: 0 };
  return powerset<RwWorld, RwLockInput, RwLockOutput>(
    'reference-rwlock',
    init,
    (w, input, output) => {
      if (input.op !== 'acquire') return commonSuccessors(w, input, output, (g) => g.kind === 'write');
      if (output !== undefined && (typeof output !== 'object' || output === null)) return [];
      if (output !== undefined && !output.acquired) return [w];
      const write = input.mode === 'write';
      const fits = write ? w.grants.length === 0 : w.grants.every((g) => g.kind === 'read' && g.client !== input.client);
      const least = write ? Math.max(1, w.last + 1, w.floor + 1) : Math.max(1, w.last, w.lastWrite + 1, w.floor + 1);
      const granted = (token: number, seen: boolean): RwWorld => ({
        grants: sortGrants([...w.grants, { client: input.client, kind: input.mode, token, seen }]),
        last: token,
        lastWrite: write ? token : w.lastWrite,
        floor: w.floor,
      });
      if (output === undefined) return fits ? range(least, maxToken).map((t) => granted(t, false)) : [w];
      return fits && Number.isSafeInteger(output.token) && output.token >= least ? [granted(output.token, true)] : [];
    },
    (input, output) => `${JSON.stringify(input)} -> ${show(output)}`,
  );
}
