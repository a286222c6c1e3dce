/**
 * The domain metrics a node derives from what its state machine applies (LockService's
 * `stats` and timings, exported by node-metrics.ts): locks held, waiters, grants, expired
 * sessions, and wait and hold times in log time. Entries go straight through the service's
 * `stateMachine()`, as the host applies them, so no cluster, clock or network is involved.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/host/clock.js';
import type { Entry } from '../../../src/raft/index.js';
import { NodeMetrics } from '../../../src/server/node-metrics.js';
import { LockService } from '../../../src/service/lock-service.js';
import { encodeEntry } from '../../../src/state-machine/codec.js';
import type { Command } from '../../../src/state-machine/commands.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import type { ApplyOutput } from '../../../src/state-machine/results.js';
import { TEST_SECRET } from '../../support/secrets.js';

/** One node's service and metrics, fed entries by hand with the log time they carry. */
class Node {
  readonly machine = new LockMachine();
  readonly metrics = new NodeMetrics(() => undefined);
  readonly service = new LockService({ machine: this.machine, clock: new ManualClock(), timings: this.metrics.serviceTimings });
  private readonly sm = this.service.stateMachine();
  index = 0;
  time = 1_000_000;

  constructor() {
    this.metrics.attachService(this.service);
  }

  apply(cmd: Command): ApplyOutput {
    this.index++;
    const e: Entry = { index: this.index, term: 1, type: 'normal', data: encodeEntry(this.time, cmd) };
    return this.sm.apply(e, { index: e.index, term: e.term });
  }

  open(ttlMs = 10_000): number {
    const r = this.apply({ type: 'open-session', secret: TEST_SECRET, ttlMs }).result;
    if (!r.ok || r.value === null || typeof r.value !== 'object' || !('sessionId' in r.value)) throw new Error('open failed');
    return r.value.sessionId;
  }

  /** The value of one series of the rendered page (`name` with its label text, if any). */
  value(series: string): number {
    const line = this.metrics
      .render()
      .split('\n')
      .find((l) => l.startsWith(`${series} `));
    if (line === undefined) throw new Error(`no series ${series}`);
    return Number(line.slice(series.length + 1));
  }
}

describe('domain metrics from applied entries', () => {
  it('counts grants, holders and waiters; times a wait and a hold in log time', () => {
    const n = new Node();
    const a = n.open();
    const b = n.open();
    expect(n.value('raftlock_sessions_open')).toBe(2);
    n.apply({ type: 'acquire', session: a, seq: 1, name: 'x', waitMs: 0 });
    expect(n.value('raftlock_locks_held')).toBe(1);
    expect(n.value('raftlock_lock_grants_total')).toBe(1);

    n.time += 100;
    n.apply({ type: 'acquire', session: b, seq: 1, name: 'x', waitMs: 60_000 });
    expect(n.value('raftlock_lock_waiters')).toBe(1);
    // A retry of the queued acquire is the same wait, not another.
    n.apply({ type: 'acquire', session: b, seq: 1, name: 'x', waitMs: 60_000 });
    expect(n.value('raftlock_lock_waiters')).toBe(1);

    n.time += 2_000;
    n.apply({ type: 'release', session: a, seq: 2, name: 'x' });
    expect(n.value('raftlock_lock_waiters')).toBe(0);
    expect(n.value('raftlock_locks_held')).toBe(1);
    expect(n.value('raftlock_lock_grants_total')).toBe(2);
    expect(n.value('raftlock_lock_wait_seconds_count{outcome="granted"}')).toBe(1);
    expect(n.value('raftlock_lock_wait_seconds_sum{outcome="granted"}')).toBeCloseTo(2.0, 6);
    expect(n.value('raftlock_lock_hold_seconds_count')).toBe(1);
    expect(n.value('raftlock_lock_hold_seconds_sum')).toBeCloseTo(2.1, 6);

    // A retry of A's first acquire answers its stored grant again: not a new grant.
    n.apply({ type: 'acquire', session: a, seq: 1, name: 'x', waitMs: 0 });
    expect(n.value('raftlock_lock_grants_total')).toBe(2);
    expect(n.value('raftlock_locks_held')).toBe(1);
  });

  it('counts an expired session, the locks it loses and the waits it leaves', () => {
    const n = new Node();
    const a = n.open(2_000);
    const b = n.open(60_000);
    n.apply({ type: 'acquire', session: a, seq: 1, name: 'x', waitMs: 0 });
    n.apply({ type: 'acquire', session: a, seq: 2, name: 'y', waitMs: 0 });
    n.apply({ type: 'acquire', session: b, seq: 1, name: 'z', waitMs: 0 });
    n.apply({ type: 'acquire', session: a, seq: 3, name: 'z', waitMs: 30_000 });
    expect([n.value('raftlock_locks_held'), n.value('raftlock_lock_waiters')]).toEqual([3, 1]);
    n.time += 5_000;
    n.apply({ type: 'tick' });
    expect(n.value('raftlock_sessions_expired_total')).toBe(1);
    expect(n.value('raftlock_sessions_open')).toBe(1);
    expect([n.value('raftlock_locks_held'), n.value('raftlock_lock_waiters')]).toEqual([1, 0]);
    expect(n.value('raftlock_lock_hold_seconds_count')).toBe(2);
    expect(n.value('raftlock_lock_wait_seconds_count{outcome="session_ended"}')).toBe(1);
    // Closing is not expiring.
    n.apply({ type: 'close-session', session: b, seq: 2 });
    expect(n.value('raftlock_sessions_expired_total')).toBe(1);
    expect(n.value('raftlock_locks_held')).toBe(0);
  });

  it('times out a wait at its deadline', () => {
    const n = new Node();
    const a = n.open(60_000);
    const b = n.open(60_000);
    n.apply({ type: 'acquire', session: a, seq: 1, name: 'x', waitMs: 0 });
    n.apply({ type: 'acquire', session: b, seq: 1, name: 'x', waitMs: 1_500 });
    n.time += 3_000;
    n.apply({ type: 'tick' });
    expect(n.value('raftlock_lock_waiters')).toBe(0);
    expect(n.value('raftlock_lock_wait_seconds_count{outcome="timed_out"}')).toBe(1);
    expect(n.value('raftlock_lock_wait_seconds_sum{outcome="timed_out"}')).toBeCloseTo(3.0, 6);
    expect(n.value('raftlock_lock_wait_seconds_count{outcome="granted"}')).toBe(0);
  });

  it('recounts holders and waiters from a restored snapshot, and goes on from there', () => {
    const n = new Node();
    const a = n.open(60_000);
    const b = n.open(60_000);
    n.apply({ type: 'acquire', session: a, seq: 1, name: 'x', waitMs: 0 });
    n.apply({ type: 'acquire', session: b, seq: 1, name: 'x', waitMs: 30_000 });
    n.apply({ type: 'acquire', session: b, seq: 2, name: 'y', waitMs: 0 });

    const m = new Node();
    m.service.stateMachine().restore(n.machine.snapshot());
    m.index = n.index;
    m.time = n.time + 1_000;
    expect([m.value('raftlock_locks_held'), m.value('raftlock_lock_waiters'), m.value('raftlock_sessions_open')]).toEqual([2, 1, 2]);
    // Locks found held are not grants made now.
    expect(m.value('raftlock_lock_grants_total')).toBe(0);
    m.apply({ type: 'release', session: a, seq: 2, name: 'x' });
    expect([m.value('raftlock_locks_held'), m.value('raftlock_lock_waiters')]).toEqual([2, 0]);
    expect(m.value('raftlock_lock_grants_total')).toBe(1);
    // The restored lock's hold is timed from its grant; the restored wait's start is unknown.
    expect(m.value('raftlock_lock_hold_seconds_count')).toBe(1);
    expect(m.value('raftlock_lock_hold_seconds_sum')).toBeCloseTo(1.0, 6);
    expect(m.value('raftlock_lock_wait_seconds_count{outcome="granted"}')).toBe(0);
  });
});
