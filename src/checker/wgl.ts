/**
 * The linearizability search: Wing & Gong's depth-first search over linearization points with
 * Lowe's memoization (the "WGL" algorithm, as in Porcupine), run once per partition.
 *
 * Sketch. Every operation contributes a call entry and a return entry to a doubly linked list
 * sorted by time. Walking the list from its head, the search tries to linearize each call entry
 * it meets (apply the operation to the current state); on success it removes ("lifts") both of
 * the operation's entries, pushes a frame and restarts from the head. Meeting a return entry
 * means the operation returning there has not been linearized although every operation left of
 * it has been tried: a dead end, so the search pops the last frame, puts its entries back and
 * tries the next call entry after it. Lowe's cache of (set of linearized operations, state)
 * prunes configurations already explored: two paths reaching the same set and state have the
 * same future. Unknown-outcome operations have their return entry at +Infinity (they never force
 * anything), and the search succeeds as soon as every `'ok'` operation is linearized: the
 * unknown ones left over are the ones that did not take effect.
 */
import { type Operation, type OperationId, validateOperations } from './history.js';
import type { Model } from './model.js';

/**
 * A verdict. `'inconclusive'` means the time budget ran out before the search decided:
 * **callers must treat it as a failure** (a test, a chaos run or CI gate that passes on
 * `'inconclusive'` would pass on any history the checker is too slow for).
 */
export type Verdict = 'ok' | 'illegal' | 'inconclusive';

/** Options of {@link check}. */
export interface CheckOptions {
  /** Budget for the whole check, in the clock's unit (ms for the default clock). Default: none. */
  readonly timeoutMs?: number;
  /**
   * Clock (default `Date.now`) read at the start and end, before and after each partition, and
   * every `checkEvery` steps; inject a fake one for deterministic tests of the budget.
   */
  readonly clock?: () => number;
  /** Search steps between clock readings (default 1024); a reading is the costly part of a step. */
  readonly checkEvery?: number;
}

/** Why a partition is not linearizable, from the deepest point the search reached. */
export interface Anomaly<Input, Output> {
  readonly key: string;
  /** The longest sequence of operations the search could linearize, in linearization order. */
  readonly longestPrefix: readonly Operation<Input, Output>[];
  /** The model state after that prefix, as `describeState` prints it. */
  readonly stateAfterPrefix: string;
  /** The operation whose response arrived before it could be linearized after the prefix. */
  readonly stuck: Operation<Input, Output>;
  /** Operations (including `stuck`) that could be linearized next by real time; none works. */
  readonly candidates: readonly Operation<Input, Output>[];
  /** The window a human should look at: the candidates plus prefix operations overlapping them. */
  readonly involved: readonly Operation<Input, Output>[];
  /** A multi-line report of the above. */
  readonly explanation: string;
}

/** The verdict on one partition. */
export interface PartitionResult<Input, Output> {
  readonly key: string;
  readonly result: Verdict;
  /** Operations checked (`'ok'` and `'unknown'`; `'fail'` ones are dropped before). */
  readonly operations: number;
  /** Search steps taken (0 if the budget ran out before the partition started). */
  readonly steps: number;
  readonly elapsedMs: number;
  /** When `'ok'`: a witness, the ids in linearization order (left-out unknown ops absent). */
  readonly linearization?: readonly OperationId[];
  /** When `'illegal'`. */
  readonly anomaly?: Anomaly<Input, Output>;
}

/**
 * The verdict on a history: `'illegal'` if any partition is (a definite violation, whatever the
 * rest), else `'inconclusive'` if any partition is, else `'ok'`. `anomaly` is the first illegal
 * partition's. `elapsedMs` is measured with the injected clock.
 */
export interface CheckResult<Input, Output> {
  readonly result: Verdict;
  readonly partitions: readonly PartitionResult<Input, Output>[];
  readonly anomaly?: Anomaly<Input, Output>;
  readonly elapsedMs: number;
}

/**
 * Decides whether `history` is linearizable with respect to `model`.
 *
 * Contract: validates the history (throws `HistoryError` if malformed), drops `'fail'`
 * operations, splits the rest with `model.partition` and searches each partition independently.
 * `'ok'` is returned only with a witness linearization per partition; `'illegal'` only after the
 * search space is exhausted; `'inconclusive'` when `timeoutMs` elapses first (partitions not yet
 * started are reported inconclusive with 0 steps). Deterministic for a deterministic model and
 * clock. Callers must treat `'inconclusive'` as failure.
 *
 * Cost: near-linear in the partition size when outputs pin the order (counters, most real
 * histories), exponential in the number of mutually concurrent operations at worst. Each
 * explored configuration is memoized with a copy of the linearized-set bitset (n/32 words), so
 * memory grows with configurations × partition size. Every unknown operation stays a candidate
 * until the end of its partition: many of them in one huge partition slow every step.
 */
export function check<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult<Input, Output> {
  const clock = options.clock ?? Date.now;
  const budget = options.timeoutMs ?? Infinity;
  const checkEvery = Math.max(1, Math.floor(options.checkEvery ?? 1024));
  const start = clock();
  validateOperations(history);
  const kept = history.filter((op) => op.status !== 'fail');
  const partitions: PartitionResult<Input, Output>[] = [];
  let outOfTime = false;
  for (const part of model.partition(kept)) {
    const partStart = clock();
    if (!outOfTime && partStart - start >= budget) outOfTime = true;
    if (outOfTime) {
      partitions.push({ key: part.key, result: 'inconclusive', operations: part.operations.length, steps: 0, elapsedMs: 0 });
      continue;
    }
    const timedOut = (): boolean => clock() - start >= budget;
    const found = search(model, part.operations, checkEvery, timedOut);
    const elapsedMs = clock() - partStart;
    const base = { key: part.key, result: found.verdict, operations: part.operations.length, steps: found.steps, elapsedMs };
    if (found.verdict === 'inconclusive') outOfTime = true;
    if (found.verdict === 'ok')
      partitions.push({ ...base, linearization: found.order.map((i) => (part.operations[i] as Operation<Input, Output>).id) });
    else if (found.verdict === 'illegal' && found.deepest !== null)
      partitions.push({ ...base, anomaly: explain(model, part.key, part.operations, found.deepest) });
    else partitions.push(base);
  }
  const illegal = partitions.find((p) => p.result === 'illegal');
  const result: Verdict = illegal !== undefined ? 'illegal' : partitions.some((p) => p.result === 'inconclusive') ? 'inconclusive' : 'ok';
  const anomaly = illegal?.anomaly;
  return { result, partitions, ...(anomaly === undefined ? {} : { anomaly }), elapsedMs: clock() - start };
}

/** A node of the call/return list. The head sentinel has `op === -1`. */
interface Entry {
  readonly isCall: boolean;
  /** Index of the operation in the partition. */
  readonly op: number;
  readonly time: number;
  /** For a call entry, its operation's return entry. */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/**
 * One linearized operation. Frames form an immutable linked list (each points to the one below),
 * so remembering the deepest prefix is keeping a pointer, not copying a stack: O(1) instead of
 * O(depth) per improvement, which would make long histories quadratic.
 */
interface Frame<State> {
  readonly entry: Entry;
  /** The state before this frame's operation was applied (restored on backtrack). */
  readonly state: State;
  readonly below: Frame<State> | null;
  readonly depth: number;
}

function depth(top: Frame<unknown> | null): number {
  return top === null ? 0 : top.depth;
}

/** The operations of the frames from the bottom up to `top`, in linearization order. */
function ordered<State>(top: Frame<State> | null): number[] {
  const out: number[] = [];
  for (let f = top; f !== null; f = f.below) out.push(f.entry.op);
  return out.reverse();
}

/** The deepest dead end met: the material of an {@link Anomaly}. */
interface DeadEnd<State> {
  readonly top: Frame<State> | null;
  readonly depth: number;
  readonly state: State;
  readonly stuck: number;
  readonly candidates: readonly number[];
}

type SearchOutcome<State> =
  | { readonly verdict: 'ok'; readonly steps: number; readonly order: readonly number[] }
  | { readonly verdict: 'illegal' | 'inconclusive'; readonly steps: number; readonly deepest: DeadEnd<State> | null };

/** Builds the entry list: by time, calls before returns at equal times (ties are concurrent). */
function buildList(ops: readonly Operation<unknown, unknown>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, i) => {
    const call: Entry = { isCall: true, op: i, time: op.call, match: null, prev: null, next: null };
    const ret: Entry = { isCall: false, op: i, time: op.status === 'unknown' ? Infinity : op.return, match: null, prev: null, next: null };
    call.match = ret;
    entries.push(call, ret);
  });
  entries.sort(
    (a, b) => (a.time === b.time ? 0 : a.time < b.time ? -1 : 1) || Number(a.isCall ? 0 : 1) - Number(b.isCall ? 0 : 1) || a.op - b.op,
  );
  const head: Entry = { isCall: false, op: -1, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Removes a call entry and its return entry from the list (dancing links: they keep their pointers). */
function lift(call: Entry): void {
  const ret = call.match as Entry;
  (call.prev as Entry).next = call.next;
  (call.next as Entry).prev = call.prev; // a call is always followed, at least by its return
  (ret.prev as Entry).next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

/** Exact inverse of {@link lift}, valid when undone in reverse order of lifting. */
function unlift(call: Entry): void {
  const ret = call.match as Entry;
  (ret.prev as Entry).next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  (call.prev as Entry).next = call;
  (call.next as Entry).prev = call;
}

/**
 * Zobrist-style value of operation `i` in the linearized-set hash: the set's hash is the XOR of
 * its members' values, so adding or removing one member is O(1) instead of rehashing the bitset.
 */
function zobrist(i: number): number {
  let h = Math.imul(i + 1, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function search<State, Input, Output>(
  model: Model<State, Input, Output>,
  ops: readonly Operation<Input, Output>[],
  checkEvery: number,
  timedOut: () => boolean,
): SearchOutcome<State> {
  const head = buildList(ops);
  const bits = new Uint32Array(Math.max(1, Math.ceil(ops.length / 32)));
  let bitsHash = 0;
  const cache = new Map<string, Array<{ readonly bits: Uint32Array; readonly state: State }>>();
  let top: Frame<State> | null = null;
  let state = model.init();
  let remainingOk = ops.filter((op) => op.status === 'ok').length;
  let entry = head.next;
  let steps = 0;
  let deepest: DeadEnd<State> | null = null;

  for (;;) {
    if (remainingOk === 0) return { verdict: 'ok', steps, order: ordered(top) };
    steps++;
    if (steps % checkEvery === 0 && timedOut()) return { verdict: 'inconclusive', steps, deepest };
    if (entry !== null && entry.isCall) {
      const i = entry.op;
      const op = ops[i] as Operation<Input, Output>;
      const next = model.step(state, op.input, op.status === 'unknown' ? undefined : op.output);
      if (next.ok) {
        const word = i >>> 5;
        const mask = 1 << (i & 31);
        bits[word] = (bits[word] as number) | mask;
        const newHash = (bitsHash ^ zobrist(i)) >>> 0;
        // Memoize (linearized set, state): if seen, this branch's whole future was explored.
        const cacheKey = `${newHash}:${model.hash(next.state)}`;
        const bucket = cache.get(cacheKey);
        const seen = bucket?.some((c) => sameBits(c.bits, bits) && model.equal(c.state, next.state)) ?? false;
        if (!seen) {
          const stored = { bits: bits.slice(), state: next.state };
          if (bucket === undefined) cache.set(cacheKey, [stored]);
          else bucket.push(stored);
          const pushed: Frame<State> = { entry, state, below: top, depth: depth(top) + 1 };
          top = pushed;
          state = next.state;
          bitsHash = newHash;
          if (op.status === 'ok') remainingOk--;
          lift(entry);
          entry = head.next;
          continue;
        }
        bits[word] = bits[word] & ~mask;
      }
      entry = entry.next;
      continue;
    }
    // A return entry (or, defensively, the end of the list): every call entry left of it was
    // tried and failed, so the operation returning here cannot be linearized on this path.
    const reached = depth(top);
    if (entry !== null && (deepest === null || reached > deepest.depth)) {
      const candidates: number[] = [];
      for (let e = head.next; e !== null && e !== entry; e = e.next) if (e.isCall) candidates.push(e.op);
      deepest = { top, depth: reached, state, stuck: entry.op, candidates };
    }
    if (top === null) return { verdict: 'illegal', steps, deepest };
    const popped: Frame<State> = top;
    top = popped.below;
    const i = popped.entry.op;
    unlift(popped.entry);
    const word = i >>> 5;
    bits[word] = (bits[word] as number) & ~(1 << (i & 31));
    bitsHash = (bitsHash ^ zobrist(i)) >>> 0;
    state = popped.state;
    if ((ops[i] as Operation<Input, Output>).status === 'ok') remainingOk++;
    entry = popped.entry.next;
  }
}

/** How many prefix operations the explanation text shows (all are in `longestPrefix`). */
const PREFIX_SHOWN = 12;

function explain<State, Input, Output>(
  model: Model<State, Input, Output>,
  key: string,
  ops: readonly Operation<Input, Output>[],
  dead: DeadEnd<State>,
): Anomaly<Input, Output> {
  const at = (i: number): Operation<Input, Output> => ops[i] as Operation<Input, Output>;
  const longestPrefix = ordered(dead.top).map(at);
  const candidates = dead.candidates.map(at);
  const stuck = at(dead.stuck);
  // Prefix operations that returned after the earliest candidate's call could have been
  // ordered differently with respect to it: they belong to the window a human must inspect.
  const earliestCall = Math.min(...candidates.map((op) => op.call), stuck.call);
  const overlapping = longestPrefix.filter((op) => (op.status === 'unknown' ? Infinity : op.return) >= earliestCall);
  const involved = [...overlapping, ...candidates].sort((a, b) => a.call - b.call);
  const stateText = model.describeState(dead.state);
  const lines = [
    `partition ${JSON.stringify(key)} (${model.name}) is not linearizable.`,
    `Longest linearizable prefix: ${longestPrefix.length} of ${ops.length} operations${longestPrefix.length > PREFIX_SHOWN ? ` (last ${PREFIX_SHOWN} shown)` : ''}:`,
    ...longestPrefix.slice(-PREFIX_SHOWN).map((op) => `  ${model.describe(op)}`),
    `State after the prefix: ${stateText}`,
    `Then ${model.describe(stuck)} returned before it could be linearized. Candidates at that point:`,
    ...candidates.map((op) => {
      const verdict = model.step(dead.state, op.input, op.status === 'unknown' ? undefined : op.output).ok
        ? 'allowed here, but every continuation fails'
        : `impossible in state ${stateText}`;
      return `  ${model.describe(op)}: ${verdict}`;
    }),
  ];
  return { key, longestPrefix, stateAfterPrefix: stateText, stuck, candidates, involved, explanation: lines.join('\n') };
}
