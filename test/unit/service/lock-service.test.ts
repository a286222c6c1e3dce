/**
 * LockService on a single-node host with a manual clock and an immediate disk: refusals that
 * depend on the state before the log, stamping, parked acquires answered by later events, reads, leader duties.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/raft/index.js';
import { ManualClock } from '../../../src/host/clock.js';
import { LockService, type ServiceOutcome, type ServiceTimings, type WaitOutcome } from '../../../src/service/lock-service.js';
import { RaftHost } from '../../../src/host/raft-host.js';
import { LockMachine, type ApplyOutput, type Limits, type SessionCommand } from '../../../src/state-machine/index.js';
import { MemoryDurableLog } from '../../../src/storage/memory-durable-log.js';
import { MemorySnapshotStore } from '../../../src/storage/snapshot-store.js';
import { MemoryNetwork } from '../../../src/transport/memory-transport.js';

function setup(limits: Partial<Limits> = {}, timings?: ServiceTimings) {
  const clock = new ManualClock(1_000_000);
  const service = new LockService({ machine: new LockMachine({ limits }), clock, ...(timings !== undefined ? { timings } : {}) });
  const log = new MemoryDurableLog();
  const host = new RaftHost<ApplyOutput>({
    id: 1,
    raft: { electionTick: 10, heartbeatTick: 1, random: new SeededRandom(1) },
    bootstrap: { voters: [1], learners: [] },
    log,
    loaded: log.load(),
    snapshots: new MemorySnapshotStore(),
    transport: new MemoryNetwork().endpoint(1),
    stateMachine: service.stateMachine(),
  });
  service.attach(host);
  host.campaign();
  const call = (cmd: SessionCommand): ServiceOutcome => {
    let out: ServiceOutcome | undefined;
    service.submit(cmd, (o) => (out = o));
    if (out === undefined) throw new Error('no answer (parked?)');
    return out;
  };
  const tick = (ms: number): void => {
    clock.advance(ms);
    host.tick();
    service.tick();
  };
  return { clock, service, host, call, tick };
}

/** Two sessions with a 60 s TTL: `a` holds lock `L` (its acquire was seq 1), `b` holds nothing. */
function lockHeldByA(s: ReturnType<typeof setup>): { a: number; b: number } {
  const a = (value(s.call({ type: 'open-session', ttlMs: 60_000 })) as { sessionId: number }).sessionId;
  const b = (value(s.call({ type: 'open-session', ttlMs: 60_000 })) as { sessionId: number }).sessionId;
  s.call({ type: 'acquire', session: a, seq: 1, name: 'L', waitMs: 0 });
  return { a, b };
}

function value(o: ServiceOutcome): unknown {
  if (o.type !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(o)}`);
  return o.value;
}

describe('LockService', () => {
  it('a session beyond the limit is refused with LIMIT_EXCEEDED and never enters the log', () => {
    // Malformed input never reaches the service: the protocol layer refuses it (its own tests).
    const s = setup({ maxSessions: 1 });
    expect(s.call({ type: 'open-session', ttlMs: 5000 })).toMatchObject({ type: 'ok' });
    const before = s.host.status().lastIndex;
    expect(s.call({ type: 'open-session', ttlMs: 5000 })).toMatchObject({ type: 'error', code: 'LIMIT_EXCEEDED' });
    expect(s.host.status().lastIndex).toBe(before);
  });

  it('stamps entries with the leader clock; a session and counter work end to end', () => {
    const s = setup();
    const session = value(s.call({ type: 'open-session', ttlMs: 5000 })) as { sessionId: number; expiresAt: number };
    expect(session.expiresAt).toBe(1_000_000 + 5000);
    expect(value(s.call({ type: 'counter-add', session: session.sessionId, seq: 1, name: 'c', delta: 5 }))).toBe(5);
    // A retry of the same (session, seq) returns the first result and is not applied again.
    expect(value(s.call({ type: 'counter-add', session: session.sessionId, seq: 1, name: 'c', delta: 5 }))).toBe(5);
    let read: ServiceOutcome | undefined;
    s.service.query({ type: 'counter-get', name: 'c' }, {}, (o) => (read = o));
    expect(read && value(read)).toBe(5);
    // A read answers with the index its state is at (what a watch goes on from), not its read point.
    expect(read).toMatchObject({ type: 'ok', index: s.service.machine.appliedIndex });
  });

  it('a queued acquire is parked and answered when the holder releases, with that entry as token', () => {
    const s = setup();
    const a = (value(s.call({ type: 'open-session', ttlMs: 10_000 })) as { sessionId: number }).sessionId;
    const b = (value(s.call({ type: 'open-session', ttlMs: 10_000 })) as { sessionId: number }).sessionId;
    const first = value(s.call({ type: 'acquire', session: a, seq: 1, name: 'L', waitMs: 0 })) as { status: string; token: number };
    expect(first.status).toBe('granted');
    let waited: ServiceOutcome | undefined;
    s.service.submit({ type: 'acquire', session: b, seq: 1, name: 'L', waitMs: 5000 }, (o) => (waited = o));
    expect(waited).toBeUndefined();
    expect(s.service.parkedCount).toBe(1);
    const rel = s.call({ type: 'release', session: a, seq: 2, name: 'L' });
    expect(rel.type).toBe('ok');
    expect(waited).toMatchObject({ type: 'ok', value: { status: 'granted' } });
    const token = waited?.type === 'ok' ? (waited.value as { token: number }).token : 0;
    expect(token).toBeGreaterThan(first.token);
    expect(token).toBe(rel.type === 'ok' ? rel.index : -1); // the releasing entry granted it
  });

  it('a waiter times out through the leader tick, with no client traffic', () => {
    const s = setup();
    const { b } = lockHeldByA(s);
    let waited: ServiceOutcome | undefined;
    s.service.submit({ type: 'acquire', session: b, seq: 1, name: 'L', waitMs: 1000 }, (o) => (waited = o));
    s.tick(500);
    expect(waited).toBeUndefined();
    s.tick(600);
    expect(waited).toMatchObject({ type: 'ok', value: { status: 'timed-out' } });
  });

  it('cancel-wait answers the parked acquire at once (cancelled), and a retry of it is never granted', () => {
    const s = setup();
    const { a, b } = lockHeldByA(s);
    let waited: ServiceOutcome | undefined;
    s.service.submit({ type: 'acquire', session: b, seq: 1, name: 'L', waitMs: 30_000 }, (o) => (waited = o));
    expect(s.service.parkedCount).toBe(1);
    expect(value(s.call({ type: 'cancel-wait', session: b, seq: 2, name: 'L' }))).toEqual({ status: 'cancelled' });
    expect(waited).toMatchObject({ type: 'ok', value: { status: 'cancelled' } });
    expect(s.service.parkedCount).toBe(0);
    expect(s.service.stats.waiters).toBe(0);
    s.call({ type: 'release', session: a, seq: 2, name: 'L' });
    expect(value(s.call({ type: 'acquire', session: b, seq: 1, name: 'L', waitMs: 30_000 }))).toEqual({ status: 'cancelled' });
    expect(s.service.machine.lockInfo('L')).toEqual({ waiters: 0 });
  });

  it('a withdrawn wait is timed with the outcome cancelled', () => {
    const waits: Array<[number, WaitOutcome]> = [];
    const s = setup({}, { lockWait: (sec, outcome) => waits.push([sec, outcome]), lockHeld: () => {}, proposalApplied: () => {} });
    const { b } = lockHeldByA(s);
    s.service.submit({ type: 'acquire', session: b, seq: 1, name: 'L', waitMs: 30_000 }, () => {});
    s.clock.advance(1_500);
    s.call({ type: 'cancel-wait', session: b, seq: 2, name: 'L' });
    expect(waits).toEqual([[1.5, 'cancelled']]);
  });

  it('the leader proposes the expiry of a silent session; its lock goes to the next waiter', () => {
    const s = setup();
    const a = (value(s.call({ type: 'open-session', ttlMs: 2000 })) as { sessionId: number }).sessionId;
    const b = (value(s.call({ type: 'open-session', ttlMs: 60_000 })) as { sessionId: number }).sessionId;
    s.call({ type: 'acquire', session: a, seq: 1, name: 'L', waitMs: 0 });
    let waited: ServiceOutcome | undefined;
    s.service.submit({ type: 'acquire', session: b, seq: 1, name: 'L', waitMs: 30_000 }, (o) => (waited = o));
    for (let k = 0; k < 30 && waited === undefined; k++) s.tick(100);
    expect(waited).toMatchObject({ type: 'ok', value: { status: 'granted' } });
    expect(s.call({ type: 'counter-add', session: a, seq: 2, name: 'c', delta: 1 })).toMatchObject({
      type: 'error',
      code: 'SESSION_EXPIRED',
    });
  });
});
