/**
 * History forms: event-to-operation conversion (Jepsen pairing rules), the reverse conversion,
 * validation, partitioning, and `checkEvents` end to end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type HistoryEvent,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  HistoryError,
  check,
  checkEvents,
  effectiveReturn,
  eventsToOperations,
  operationsToEvents,
  partitionByKey,
  precedes,
  registerModel,
  validateOperations,
} from '../../../src/checker/index.js';
import { historyArb, perturbRegister, registerExecutor } from './support/generate.js';

type Ev = HistoryEvent<RegisterInput, RegisterOutput>;
const write = (value: number): RegisterInput => ({ op: 'write', value });
const read: RegisterInput = { op: 'read' };

describe('eventsToOperations', () => {
  it('pairs each completion with its process pending invocation, timed by position', () => {
    const events: Ev[] = [
      { type: 'invoke', process: 'a', input: write(1) },
      { type: 'invoke', process: 'b', input: read, key: 'x' },
      { type: 'ok', process: 'a', output: undefined },
      { type: 'ok', process: 'b', output: 1 },
    ];
    expect(eventsToOperations(events)).toEqual([
      { id: 0, client: 'a', input: write(1), output: undefined, call: 0, return: 2, status: 'ok' },
      { id: 1, client: 'b', key: 'x', input: read, output: 1, call: 1, return: 3, status: 'ok' },
    ]);
  });

  it('uses event times when every event has one, and explicit ids', () => {
    const ops = eventsToOperations<RegisterInput, RegisterOutput>([
      { type: 'invoke', process: 1, input: read, id: 'r1', time: 10.5 },
      { type: 'ok', process: 1, output: null, time: 12 },
    ]);
    expect(ops).toEqual([{ id: 'r1', client: 1, input: read, output: null, call: 10.5, return: 12, status: 'ok' }]);
  });

  it('maps fail to fail, and info or a missing completion to unknown with an infinite return', () => {
    const ops = eventsToOperations<RegisterInput, RegisterOutput>([
      { type: 'invoke', process: 'a', input: write(1) },
      { type: 'invoke', process: 'b', input: write(2) },
      { type: 'invoke', process: 'c', input: write(3) },
      { type: 'fail', process: 'a' },
      { type: 'info', process: 'b' },
      // After an info the process may go on; its unknown operation stays pending forever.
      { type: 'invoke', process: 'b', input: read },
      { type: 'ok', process: 'b', output: 2 },
    ]);
    expect(ops.map((op) => [op.id, op.status, op.call, op.return])).toEqual([
      [0, 'fail', 0, 3],
      [1, 'unknown', 1, Infinity],
      [2, 'unknown', 2, Infinity],
      [3, 'ok', 5, 6],
    ]);
    expect(ops[1]).not.toHaveProperty('output');
  });

  it('rejects malformed event lists', () => {
    const bad: Array<[string, Ev[]]> = [
      [
        'double invoke',
        [
          { type: 'invoke', process: 'a', input: read },
          { type: 'invoke', process: 'a', input: read },
        ],
      ],
      ['orphan completion', [{ type: 'ok', process: 'a', output: 1 }]],
      [
        'half timed',
        [
          { type: 'invoke', process: 'a', input: read, time: 1 },
          { type: 'ok', process: 'a', output: 1 },
        ],
      ],
      [
        'time going back',
        [
          { type: 'invoke', process: 'a', input: read, time: 5 },
          { type: 'ok', process: 'a', output: 1, time: 4 },
        ],
      ],
      [
        'duplicate ids',
        [
          { type: 'invoke', process: 'a', input: read, id: 7 },
          { type: 'invoke', process: 'b', input: read, id: 7 },
        ],
      ],
    ];
    for (const [what, events] of bad) expect(() => eventsToOperations(events), what).toThrow(HistoryError);
  });

  it("orders by position with timestamps: 'index' even when times are missing", () => {
    const ops = eventsToOperations<RegisterInput, RegisterOutput>(
      [
        { type: 'invoke', process: 'a', input: read, time: 100 },
        { type: 'ok', process: 'a', output: null },
      ],
      { timestamps: 'index' },
    );
    expect([ops[0]?.call, ops[0]?.return]).toEqual([0, 1]);
  });
});

describe('operationsToEvents', () => {
  it('round-trips generated histories exactly, and by list position up to added order', () => {
    let exact = 0;
    const arb = historyArb(registerExecutor, perturbRegister, { keys: ['a', 'b'], clients: 3, maxOps: 8 });
    fc.assert(
      fc.property(arb, (ops) => {
        const events = operationsToEvents(ops);
        const byIdOrder = (a: { id: unknown }, b: { id: unknown }): number => Number(a.id) - Number(b.id);
        const expected = ops.map((op) => (op.status === 'unknown' ? { ...op, return: Infinity } : op)).sort(byIdOrder);
        expect(eventsToOperations(events).sort(byIdOrder)).toEqual(expected);
        // By list position only, real-time order may only grow, and only in one documented case.
        const back = eventsToOperations(events, { timestamps: 'index' });
        const byId = new Map(back.map((op) => [op.id, op]));
        for (const op of ops) {
          const again = byId.get(op.id) as Operation<RegisterInput, RegisterOutput>;
          expect([again.client, again.key, again.input, again.status]).toEqual([op.client, op.key, op.input, op.status]);
          if (op.status === 'ok') expect(again.output).toEqual(op.output);
          if (op.status === 'unknown') expect(again.return).toBe(Infinity);
        }
        // A client whose operation returns at the instant it calls its next one is the only
        // source of added order (documented); without one, real-time order is exactly kept.
        const selfTouching = ops.some((a) => ops.some((b) => a !== b && a.client === b.client && effectiveReturn(a) === b.call));
        if (!selfTouching) exact++;
        for (const a of ops) {
          for (const b of ops) {
            const a2 = byId.get(a.id) as Operation<RegisterInput, RegisterOutput>;
            const b2 = byId.get(b.id) as Operation<RegisterInput, RegisterOutput>;
            if (precedes(a, b)) expect(precedes(a2, b2), `${String(a.id)} before ${String(b.id)} kept`).toBe(true);
            else if (!selfTouching) expect(precedes(a2, b2), `${String(a.id)} before ${String(b.id)} added`).toBe(false);
          }
        }
        expect(back.length).toBe(ops.length);
      }),
      { numRuns: 300, seed: 11 },
    );
    expect(exact).toBeGreaterThan(100);
  });

  it('by list position, keeps other ties concurrent next to a client that completes and invokes at one instant', () => {
    const ops: Operation<RegisterInput, RegisterOutput>[] = [
      { id: 'a1', client: 'a', input: write(1), call: 0, return: 5, status: 'ok' },
      { id: 'a2', client: 'a', input: read, output: 1, call: 5, return: 9, status: 'ok' },
      { id: 'b1', client: 'b', input: read, output: null, call: 1, return: 5, status: 'ok' },
      { id: 'c1', client: 'c', input: read, output: 1, call: 5, return: 7, status: 'ok' },
    ];
    const back = new Map(eventsToOperations(operationsToEvents(ops), { timestamps: 'index' }).map((op) => [op.id, op]));
    const ordered = (x: string, y: string): boolean =>
      precedes(back.get(x) as Operation<RegisterInput, RegisterOutput>, back.get(y) as Operation<RegisterInput, RegisterOutput>);
    expect(ordered('a1', 'a2')).toBe(true); // same client: becomes sequential
    expect(ordered('b1', 'a2')).toBe(false); // other clients' ties stay concurrent
    expect(ordered('a1', 'c1')).toBe(false);
    expect(ordered('b1', 'c1')).toBe(false);
  });

  it('keeps ties between clients concurrent', () => {
    const ops: Operation<RegisterInput, RegisterOutput>[] = [
      { id: 'w', client: 'a', input: write(1), call: 0, return: 5, status: 'ok' },
      { id: 'r', client: 'b', input: read, output: null, call: 5, return: 6, status: 'ok' },
    ];
    // Concurrent at the tie, so the read may go first: linearizable either way round.
    expect(check(registerModel, ops).result).toBe('ok');
    expect(check(registerModel, eventsToOperations(operationsToEvents(ops))).result).toBe('ok');
  });

  it('rejects one client with overlapping operations', () => {
    const ops: Operation<RegisterInput, RegisterOutput>[] = [
      { id: 1, client: 'a', input: write(1), call: 0, return: 5, status: 'ok' },
      { id: 2, client: 'a', input: read, output: 1, call: 3, return: 6, status: 'ok' },
    ];
    expect(() => operationsToEvents(ops)).toThrow(HistoryError);
  });
});

describe('validateOperations', () => {
  const base = { client: 'a', input: read, output: null } as const;
  it('accepts well-formed operations, including instantaneous ones', () => {
    expect(() =>
      validateOperations([
        { ...base, id: 1, call: 1, return: 1, status: 'ok' },
        { ...base, id: 2, call: 1, return: Infinity, status: 'unknown' },
      ]),
    ).not.toThrow();
  });

  it('rejects each kind of malformed operation', () => {
    const bad: Array<Operation<RegisterInput, RegisterOutput>[]> = [
      [{ ...base, id: 1, call: 2, return: 1, status: 'ok' }],
      [{ ...base, id: 1, call: 0, return: Infinity, status: 'ok' }],
      [{ ...base, id: 1, call: NaN, return: 1, status: 'ok' }],
      [{ ...base, id: 1, call: 0, return: NaN, status: 'unknown' }],
      [
        { ...base, id: 1, call: 0, return: 1, status: 'ok' },
        { ...base, id: 1, call: 2, return: 3, status: 'ok' },
      ],
      [{ ...base, id: 1, call: 0, return: 1, status: 'maybe' as 'ok' }],
    ];
    for (const ops of bad) {
      expect(() => validateOperations(ops)).toThrow(HistoryError);
      expect(() => check(registerModel, ops)).toThrow(HistoryError);
    }
  });
});

describe('partitionByKey', () => {
  it('groups by key in order of first appearance, keyless operations under ""', () => {
    const op = (id: number, key?: string): Operation<RegisterInput, RegisterOutput> => ({
      id,
      client: 'a',
      input: read,
      output: null,
      call: id,
      return: id,
      status: 'ok',
      ...(key === undefined ? {} : { key }),
    });
    const parts = partitionByKey([op(0, 'y'), op(1), op(2, 'x'), op(3, 'y')]);
    expect(parts.map((p) => [p.key, p.operations.map((o) => o.id)])).toEqual([
      ['y', [0, 3]],
      ['', [1]],
      ['x', [2]],
    ]);
  });
});

describe('checkEvents', () => {
  it('checks a Jepsen-style event list', () => {
    const events: Ev[] = [
      { type: 'invoke', process: 'a', input: write(1) },
      { type: 'ok', process: 'a', output: undefined },
      { type: 'invoke', process: 'b', input: read },
      { type: 'ok', process: 'b', output: null },
    ];
    const verdict = checkEvents(registerModel, events);
    expect(verdict.result).toBe('illegal');
    expect(verdict.anomaly?.stuck.id).toBe(1);
  });
});
