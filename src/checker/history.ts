/**
 * Histories for the linearizability checker: the operation form the checker consumes, the
 * Jepsen-style event form chaos scripts record, and conversions between the two.
 *
 * Real-time order is the one rule every part of the checker shares: operation A precedes
 * operation B if and only if `A.return < B.call` (strictly). Equal timestamps mean "concurrent",
 * because with real clocks two readings that compare equal say nothing about which came first;
 * treating them as ordered could report a violation that never happened.
 */

/** How an operation ended, as observed by the client that issued it. */
export type OperationStatus = 'ok' | 'fail' | 'unknown';

/** Identifies the client (Jepsen: process) that issued an operation. */
export type ClientId = string | number;

/** Identifies an operation; unique within one history. */
export type OperationId = string | number;

/**
 * One operation of a history: a call and, maybe, its response.
 *
 * Contract:
 * - `status: 'ok'`: the operation took effect exactly once, at some instant in
 *   `[call, return]`, and `output` is what it returned. Application-level refusals (a CAS that
 *   did not match, a release answered NOT_HELD) are `'ok'` operations with that output.
 * - `status: 'fail'`: the operation definitely did not take effect. The checker drops it.
 * - `status: 'unknown'` (a timeout, a lost connection): it may or may not have taken effect, at
 *   any instant after `call`. The checker ignores `return` (treats it as +Infinity) and `output`.
 * - `call` and `return` are numbers on one clock (logical or real), `call` finite,
 *   `return >= call`; `return` may be `Infinity` only for `'unknown'` operations.
 * - `key` names the independent object the operation touches (a register, a counter, a lock);
 *   models partition by it. Operations without a key share the partition `''`.
 * - `undefined` is never a meaningful output: models receive `undefined` for "unknown".
 */
export interface Operation<Input, Output> {
  readonly id: OperationId;
  readonly client: ClientId;
  readonly key?: string;
  readonly input: Input;
  readonly output?: Output | undefined;
  readonly call: number;
  readonly return: number;
  readonly status: OperationStatus;
}

/** A Jepsen-style invocation: `process` starts an operation. */
export interface InvokeEvent<Input> {
  readonly type: 'invoke';
  readonly process: ClientId;
  readonly input: Input;
  readonly key?: string;
  /** Operation id; defaults to the invocation's ordinal (0, 1, 2, ...) in the event list. */
  readonly id?: OperationId;
  readonly time?: number;
}

/** The pending operation of `process` completed with `output`. */
export interface OkEvent<Output> {
  readonly type: 'ok';
  readonly process: ClientId;
  readonly output: Output;
  readonly time?: number;
}

/** The pending operation of `process` definitely did not take effect. */
export interface FailEvent {
  readonly type: 'fail';
  readonly process: ClientId;
  readonly time?: number;
}

/** The outcome of the pending operation of `process` is unknown (Jepsen's `:info`). */
export interface InfoEvent {
  readonly type: 'info';
  readonly process: ClientId;
  readonly time?: number;
}

/**
 * One event of a history in event form. The position of an event in the list is its real-time
 * order: a history is recorded by appending events as they happen.
 */
export type HistoryEvent<Input, Output> = InvokeEvent<Input> | OkEvent<Output> | FailEvent | InfoEvent;

/** Thrown for a malformed history: the checker refuses to guess what was meant. */
export class HistoryError extends Error {
  override readonly name = 'HistoryError';
}

/** Options of {@link eventsToOperations}. */
export interface EventConversionOptions {
  /**
   * Where `call`/`return` come from. `'index'`: the event's position in the list (always
   * consistent). `'time'`: each event's `time`, which must be present, finite and non-decreasing
   * along the list. `'auto'` (default): `'time'` if every event has a time, `'index'` if none has,
   * and an error if only some have (a half-timed history is almost surely a recording bug).
   */
  readonly timestamps?: 'index' | 'time' | 'auto';
}

/**
 * Converts an event list into operations.
 *
 * Contract: each process has at most one pending operation; `ok`/`fail`/`info` completes the
 * pending operation of its process (an error if there is none). After `info` the process may
 * invoke again (unlike Jepsen, which retires the process): the unknown operation stays pending
 * forever. Operations still pending at the end of the list become `'unknown'`. `'unknown'`
 * operations get `return = Infinity`. Operations come back in invocation order. Throws
 * {@link HistoryError} on any violation of this contract.
 */
export function eventsToOperations<Input, Output>(
  events: readonly HistoryEvent<Input, Output>[],
  options: EventConversionOptions = {},
): Operation<Input, Output>[] {
  const mode = timestampMode(events, options.timestamps ?? 'auto');
  interface Pending {
    readonly index: number;
    readonly event: InvokeEvent<Input>;
    readonly call: number;
  }
  const pending = new Map<ClientId, Pending>();
  const slots: Array<Operation<Input, Output> | null> = [];
  let lastTime = -Infinity;
  const finish = (p: Pending, status: OperationStatus, ret: number, output?: Output): void => {
    const inv = p.event;
    slots[p.index] = {
      id: inv.id ?? p.index,
      client: inv.process,
      ...(inv.key === undefined ? {} : { key: inv.key }),
      input: inv.input,
      ...(status === 'ok' ? { output } : {}),
      call: p.call,
      return: status === 'unknown' ? Infinity : ret,
      status,
    };
  };
  events.forEach((event, position) => {
    const time = mode === 'index' ? position : (event.time as number);
    if (time < lastTime) throw new HistoryError(`event ${position}: time ${time} goes backwards (previous ${lastTime})`);
    lastTime = time;
    const open = pending.get(event.process);
    if (event.type === 'invoke') {
      if (open !== undefined) {
        throw new HistoryError(`event ${position}: process ${String(event.process)} invokes while its operation ${open.index} is pending`);
      }
      pending.set(event.process, { index: slots.length, event, call: time });
      slots.push(null);
      return;
    }
    if (open === undefined)
      throw new HistoryError(`event ${position}: ${event.type} for process ${String(event.process)} with no pending operation`);
    pending.delete(event.process);
    if (event.type === 'ok') finish(open, 'ok', time, event.output);
    else finish(open, event.type === 'fail' ? 'fail' : 'unknown', time);
  });
  for (const p of pending.values()) finish(p, 'unknown', Infinity);
  const ops = slots.map((s) => {
    if (s === null) throw new HistoryError('internal: unfinished operation slot');
    return s;
  });
  validateOperations(ops);
  return ops;
}

function timestampMode(events: readonly HistoryEvent<unknown, unknown>[], wanted: 'index' | 'time' | 'auto'): 'index' | 'time' {
  if (wanted === 'index') return 'index';
  const timed = events.filter((e) => e.time !== undefined).length;
  if (wanted === 'auto' && timed === 0) return 'index';
  if (timed !== events.length) {
    throw new HistoryError(
      `${events.length - timed} of ${events.length} events have no time; use timestamps: 'index' to order by position`,
    );
  }
  for (const e of events) if (!Number.isFinite(e.time)) throw new HistoryError(`event time ${String(e.time)} is not finite`);
  return 'time';
}

/**
 * Converts operations into an event list, sorted by time.
 *
 * Contract: `eventsToOperations(operationsToEvents(ops))` describes the same history as `ops`
 * (same ids, clients, keys, inputs, outputs, statuses, call and return times; unknown returns
 * become Infinity). Events carry `time`, so real-time order survives exactly. The list order
 * alone (what `timestamps: 'index'` reads) never loses a precedence but may add some: it cannot
 * show a client whose operation returns at the very instant that client calls its next one as
 * concurrent (a process has one pending operation at a time), so that pair becomes sequential,
 * and so, where no order keeps them all concurrent, may ties with other clients at that instant.
 * Other ties stay concurrent: at one instant invocations go out before completions.
 * An `'unknown'` operation gets its `info` event at its return if finite, else at its call (the
 * time of an `info` carries no meaning). Throws {@link HistoryError} if `ops` is malformed or
 * one client's operations overlap.
 */
export function operationsToEvents<Input, Output>(ops: readonly Operation<Input, Output>[]): HistoryEvent<Input, Output>[] {
  validateOperations(ops);
  interface Timed {
    readonly time: number;
    readonly event: HistoryEvent<Input, Output>;
  }
  // Each client's events in its own order: invoke, completion, invoke, completion, ...
  const chains = new Map<ClientId, Timed[]>();
  const order = ops
    .map((_, i) => i)
    .sort((a, b) => (ops[a] as Operation<Input, Output>).call - (ops[b] as Operation<Input, Output>).call || a - b);
  for (const i of order) {
    const op = ops[i] as Operation<Input, Output>;
    const chain = chains.get(op.client) ?? [];
    chains.set(op.client, chain);
    const previousEnd = chain.at(-1)?.time ?? -Infinity;
    if (op.call < previousEnd)
      throw new HistoryError(`client ${String(op.client)}: operation ${String(op.id)} starts before its previous one ends`);
    const end = op.status === 'unknown' && !Number.isFinite(op.return) ? op.call : op.return;
    const key = op.key === undefined ? {} : { key: op.key };
    chain.push({ time: op.call, event: { type: 'invoke', process: op.client, input: op.input, id: op.id, time: op.call, ...key } });
    const completion: HistoryEvent<Input, Output> =
      op.status === 'ok'
        ? { type: 'ok', process: op.client, output: op.output as Output, time: end }
        : { type: op.status === 'fail' ? 'fail' : 'info', process: op.client, time: end };
    chain.push({ time: end, event: completion });
  }
  // Merge the chains instant by instant. At one instant: every invocation at a chain's head
  // first; then only completions that hold back their own client's next invocation at this
  // instant (and round again); all other completions last, so ties stay concurrent.
  const cursors = [...chains.values()].map((chain) => ({ chain, pos: 0 }));
  const head = (c: { chain: Timed[]; pos: number }): Timed | undefined => c.chain[c.pos];
  const out: HistoryEvent<Input, Output>[] = [];
  for (;;) {
    const now = Math.min(...cursors.map((c) => head(c)?.time ?? Infinity));
    if (now === Infinity) return out;
    const at = (c: { chain: Timed[]; pos: number }, offset = 0): Timed | undefined => {
      const t = c.chain[c.pos + offset];
      return t !== undefined && t.time === now ? t : undefined;
    };
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (const c of cursors) {
        while (at(c)?.event.type === 'invoke') out.push((c.chain[c.pos++] as Timed).event);
      }
      for (const c of cursors) {
        if (at(c) !== undefined && at(c, 1)?.event.type === 'invoke') {
          out.push((c.chain[c.pos++] as Timed).event);
          progressed = true;
        }
      }
    }
    for (const c of cursors) while (at(c) !== undefined) out.push((c.chain[c.pos++] as Timed).event);
  }
}

/**
 * Checks that operations obey the {@link Operation} contract: unique ids, a valid status, a
 * finite `call`, `return >= call`, and a finite `return` unless the status is `'unknown'`.
 * Throws {@link HistoryError} describing the first violation; returns nothing otherwise.
 */
export function validateOperations(ops: readonly Operation<unknown, unknown>[]): void {
  const ids = new Set<OperationId>();
  for (const op of ops) {
    const where = `operation ${String(op.id)}`;
    if (ids.has(op.id)) throw new HistoryError(`${where}: duplicate id`);
    ids.add(op.id);
    if (op.status !== 'ok' && op.status !== 'fail' && op.status !== 'unknown')
      throw new HistoryError(`${where}: bad status ${String(op.status)}`);
    if (!Number.isFinite(op.call)) throw new HistoryError(`${where}: call ${op.call} is not finite`);
    if (Number.isNaN(op.return) || op.return < op.call) throw new HistoryError(`${where}: return ${op.return} precedes call ${op.call}`);
    if (op.status !== 'unknown' && !Number.isFinite(op.return))
      throw new HistoryError(`${where}: ${op.status} operation needs a finite return`);
  }
}

/**
 * The return time the checker uses: `Infinity` for `'unknown'` operations (they may take effect
 * at any point after their call), `op.return` otherwise.
 */
export function effectiveReturn(op: Operation<unknown, unknown>): number {
  return op.status === 'unknown' ? Infinity : op.return;
}

/** True iff `a` must be linearized before `b`: `a` returned strictly before `b` was called. */
export function precedes(a: Operation<unknown, unknown>, b: Operation<unknown, unknown>): boolean {
  return effectiveReturn(a) < b.call;
}
