/**
 * The chaos run's election check (scripts/chaos/checks.ts): the workload's history, converted for
 * the checker's election model (a campaign's holder is its grant, a leader read names its holder
 * by the value it shows), passes when it is legal and fails on a deposed leader's write applied
 * after the next leader was elected: what `--no-fencing` lets through.
 */
import { describe, expect, it } from 'vitest';
import { checkHistory, electionOperations } from '../../../scripts/chaos/checks.js';
import type { HistoryOp, PermitInput } from '../../../scripts/lib/chaos/types.js';

let nextId = 1;
function op(client: string, input: PermitInput, output: unknown, call: number, ret: number): HistoryOp {
  return { id: nextId++, client, worker: 0, kind: 'election', key: 'elec-0', input, output, status: 'ok', call, return: ret };
}

/** w0c0 leads (token 5), writes, proclaims, is read, resigns; then w0c1 leads (token 9). */
function legal(): HistoryOp[] {
  return [
    op('w0c0', { op: 'acquire', grant: 1, waitMs: 500, value: 'w0c0#1' }, { acquired: true, token: 5 }, 0, 10),
    op('w0c0', { op: 'write', grant: 1, token: 5, fenced: true }, 'applied', 11, 20),
    op('w0c0', { op: 'proclaim', grant: 1, token: 5, value: 'w0c0#1/p1' }, 'ok', 21, 30),
    op('w0c0', { op: 'read', grant: 1 }, { token: 5, value: 'w0c0#1/p1' }, 31, 40),
    op('w0c0', { op: 'release', grant: 1, token: 5 }, 'ok', 41, 50),
    op('w0c1', { op: 'acquire', grant: 1, waitMs: 500, value: 'w0c1#1' }, { acquired: true, token: 9 }, 45, 60),
    op('w0c1', { op: 'read', grant: 1 }, { token: 9, value: 'w0c1#1' }, 61, 70),
  ];
}

describe('the chaos election check', () => {
  it('converts: holders are grants, a release is a resignation, a read names its holder by value', () => {
    const ops = electionOperations(legal());
    expect(ops.map((o) => o.input)).toEqual([
      { op: 'campaign', client: 'w0c0#1', value: 'w0c0#1' },
      { op: 'fenced-write', client: 'w0c0#1', token: 5 },
      { op: 'proclaim', client: 'w0c0#1', token: 5, value: 'w0c0#1/p1' },
      { op: 'read' },
      { op: 'resign', client: 'w0c0#1', token: 5 },
      { op: 'campaign', client: 'w0c1#1', value: 'w0c1#1' },
      { op: 'read' },
    ]);
    expect(ops[3]?.output).toEqual({ session: 'w0c0#1', token: 5, value: 'w0c0#1/p1' });
  });

  it('a legal history passes', () => {
    const { anomalies, checked } = checkHistory(legal(), 10_000);
    expect(anomalies).toEqual([]);
    expect(checked).toBe(7);
  });

  it('negative control: a deposed leader whose write is applied after the next leader was elected fails', () => {
    // w0c0's lease ran out while paused (it never saw its session end), w0c1 was elected, then
    // w0c0 woke and wrote unfenced, recorded as fenced: the cluster applied it.
    const history = [
      op('w0c0', { op: 'acquire', grant: 1, waitMs: 500, value: 'w0c0#1' }, { acquired: true, token: 5 }, 0, 10),
      op('w0c1', { op: 'acquire', grant: 1, waitMs: 5_000, value: 'w0c1#1' }, { acquired: true, token: 9 }, 20, 3_000),
      op('w0c0', { op: 'write', grant: 1, token: 5, fenced: true }, 'applied', 3_100, 3_110),
      {
        ...op('w0c0', { op: 'end-session', grant: 1, session: 1 }, undefined, 0, 0),
        status: 'unknown' as const,
        return: null,
        error: 'NOT_OBSERVED',
      },
    ];
    // Without that write the history is legal: the lease may have run out at any time.
    expect(
      checkHistory(
        history.filter((o) => o.input.op !== 'write'),
        10_000,
      ).anomalies,
    ).toEqual([]);
    const { anomalies } = checkHistory(history, 10_000);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ kind: 'not-linearizable', workload: 'elections', key: 'elec-0' });
  });
});
