/**
 * Watch events derived from applied entries (src/service/watch-events.ts), driving a real
 * LockMachine with entries: every event type, where it comes from (a result, a machine event,
 * the state before and after), and that retries and no-op writes make no event.
 */
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../../src/protocol/index.js';
import { deriveWatchEvents, watchProbe } from '../../../src/service/watch-events.js';
import type { Command } from '../../../src/state-machine/index.js';
import { TEST_SECRET } from '../../support/secrets.js';
import { Driver, type WriteBody } from '../state-machine/driver.js';

/** A log driver that derives each entry's watch events as a node does. */
class Watched {
  readonly d = new Driver();

  /** Applies `cmd`; its watch events. */
  run(cmd: Command): WatchEvent[] {
    const before = watchProbe(cmd, this.d.m);
    const out = this.d.apply(cmd);
    return deriveWatchEvents(this.d.index, cmd, out, this.d.m, before);
  }

  write(session: number, body: WriteBody, seq = this.d.nextSeq(session)): WatchEvent[] {
    return this.run({ ...body, session, seq });
  }

  open(ttlMs = 60_000): number {
    const events = this.run({ type: 'open-session', secret: TEST_SECRET, ttlMs });
    expect(events).toEqual([{ index: this.d.index, type: 'session-opened', kind: 'session', session: this.d.index }]);
    return this.d.index;
  }

  get index(): number {
    return this.d.index;
  }
}

const acquire = (name: string, waitMs = 0): WriteBody => ({ type: 'acquire', name, waitMs });
const release = (name: string): WriteBody => ({ type: 'release', name });

describe('watch events of locks', () => {
  it('a grant to a free lock, a wait, a release and its hand-off, each with its index', () => {
    const w = new Watched();
    const a = w.open();
    const b = w.open();
    expect(w.write(a, acquire('L'))).toEqual([
      { index: w.index, type: 'granted', kind: 'lock', name: 'L', session: a, token: w.index, seq: 1 },
    ]);
    const granted = w.index;
    // A retry answers the stored grant (an older token): nothing happened.
    expect(w.write(a, acquire('L'), 1)).toEqual([]);
    // Held by another, waitMs 0: not acquired, no event.
    expect(w.write(b, acquire('L'))).toEqual([]);
    expect(w.write(b, acquire('L', 30_000))).toEqual([
      { index: w.index, type: 'waiter-joined', kind: 'lock', name: 'L', session: b, seq: 2 },
    ]);
    // Released, then handed to the waiter at the end of the same step: in that order.
    expect(w.write(a, release('L'))).toEqual([
      { index: w.index, type: 'released', kind: 'lock', name: 'L', session: a, token: granted },
      { index: w.index, type: 'granted', kind: 'lock', name: 'L', session: b, token: w.index, seq: 2 },
    ]);
    // NOT_HELD: nothing.
    expect(w.write(a, release('L'))).toEqual([]);
  });

  it('a retried acquire that still waits reports waiter-joined again, with the same session and seq', () => {
    const w = new Watched();
    const a = w.open();
    const b = w.open();
    w.write(a, acquire('L'));
    const joined = w.write(b, acquire('L', 30_000));
    const again = w.write(b, acquire('L', 30_000), 1);
    expect(again).toEqual([{ ...joined[0], index: w.index }]);
  });

  it('waits that time out or are withdrawn leave with their reason', () => {
    const w = new Watched();
    const a = w.open();
    const b = w.open();
    const c = w.open();
    w.write(a, acquire('L'));
    w.write(b, acquire('L', 1_000));
    w.write(c, acquire('L', 30_000));
    expect(w.write(c, { type: 'cancel-wait', name: 'L' })).toEqual([
      { index: w.index, type: 'waiter-left', kind: 'lock', name: 'L', session: c, seq: 1, reason: 'cancelled' },
    ]);
    w.d.advance(1_000);
    expect(w.run({ type: 'tick' })).toEqual([
      { index: w.index, type: 'waiter-left', kind: 'lock', name: 'L', session: b, seq: 1, reason: 'timeout' },
    ]);
  });

  it('a session that expires: session-expired, its locks expired (not released), then the hand-off; its waits go silently', () => {
    const w = new Watched();
    const a = w.open(5_000);
    const b = w.open(60_000);
    w.write(a, acquire('L'));
    const token = w.index;
    w.write(b, acquire('M'));
    w.write(b, acquire('L', 30_000));
    // a waits for M (held by b): dropped with its session, without a waiter-left.
    w.write(a, acquire('M', 30_000));
    w.d.advance(5_000);
    expect(w.run({ type: 'tick' })).toEqual([
      { index: w.index, type: 'session-expired', kind: 'session', session: a },
      { index: w.index, type: 'expired', kind: 'lock', name: 'L', session: a, token },
      { index: w.index, type: 'granted', kind: 'lock', name: 'L', session: b, token: w.index, seq: 2 },
    ]);
  });

  it('a closed session: session-closed, then its locks released', () => {
    const w = new Watched();
    const a = w.open();
    w.write(a, acquire('L'));
    const token = w.index;
    expect(w.write(a, { type: 'close-session' })).toEqual([
      { index: w.index, type: 'session-closed', kind: 'session', session: a },
      { index: w.index, type: 'released', kind: 'lock', name: 'L', session: a, token },
    ]);
  });

  it('a break is one broken event with its reason, then the hand-off', () => {
    const w = new Watched();
    const a = w.open();
    const b = w.open();
    const op = w.open();
    w.write(a, acquire('L'));
    const token = w.index;
    w.write(b, acquire('L', 30_000));
    expect(w.write(op, { type: 'break-lock', name: 'L', reason: 'stuck' })).toEqual([
      { index: w.index, type: 'broken', kind: 'lock', name: 'L', session: a, token, reason: 'stuck' },
      { index: w.index, type: 'granted', kind: 'lock', name: 'L', session: b, token: w.index, seq: 1 },
    ]);
    w.write(op, { type: 'break-lock', name: 'L' });
    expect(w.d.m.lockInfo('L').holder).toBeUndefined();
  });

  it('acquire-all: one event per lock, granted at once, queued, and handed off together', () => {
    const w = new Watched();
    const a = w.open();
    const b = w.open();
    expect(w.write(a, { type: 'acquire-all', names: ['x', 'y'], waitMs: 0 }).map((e) => [e.type, e.name, e.token])).toEqual([
      ['granted', 'x', w.index],
      ['granted', 'y', w.index],
    ]);
    expect(w.write(b, { type: 'acquire-all', names: ['x', 'y'], waitMs: 30_000 }).map((e) => [e.type, e.name])).toEqual([
      ['waiter-joined', 'x'],
      ['waiter-joined', 'y'],
    ]);
    expect(w.write(a, { type: 'release-all', names: ['x', 'y'] }).map((e) => [e.type, e.name, e.session])).toEqual([
      ['released', 'x', a],
      ['released', 'y', a],
      ['granted', 'x', b],
      ['granted', 'y', b],
    ]);
  });
});

describe('watch events of counters', () => {
  it('a write that changes the value is counter-changed with the new value; retries and no-ops are nothing', () => {
    const w = new Watched();
    const a = w.open();
    const changed = (value: number): WatchEvent[] => [{ index: w.index, type: 'counter-changed', kind: 'counter', name: 'c', value }];
    expect(w.write(a, { type: 'counter-add', name: 'c', delta: 5 })).toEqual(changed(5));
    expect(w.write(a, { type: 'counter-add', name: 'c', delta: 5 }, 1)).toEqual([]);
    expect(w.write(a, { type: 'counter-add', name: 'c', delta: 0 })).toEqual([]);
    expect(w.write(a, { type: 'counter-set', name: 'c', value: 5 })).toEqual([]);
    expect(w.write(a, { type: 'counter-set', name: 'c', value: 7 })).toEqual(changed(7));
    expect(w.write(a, { type: 'counter-cas', name: 'c', expected: 1, next: 2 })).toEqual([]);
    expect(w.write(a, { type: 'counter-cas', name: 'c', expected: 7, next: 8 })).toEqual(changed(8));
    expect(w.write(a, { type: 'counter-add', name: 'c', delta: Number.MAX_SAFE_INTEGER })).toEqual([]);
    expect(w.write(a, { type: 'counter-delete', name: 'c' })).toEqual(changed(0));
    expect(w.write(a, { type: 'counter-delete', name: 'c' })).toEqual([]);
  });
});

describe('watch events of semaphores and readers-writer locks', () => {
  const sem = (weight: number, waitMs = 0): WriteBody => ({
    type: 'acquire-permit',
    kind: 'semaphore',
    name: 'S',
    permits: 3,
    weight,
    waitMs,
  });
  const rw = (mode: 'read' | 'write', waitMs = 0): WriteBody => ({ type: 'acquire-permit', kind: 'rwlock', name: 'R', mode, waitMs });

  it('semaphore grants and waits carry their weight, hand-offs too', () => {
    const w = new Watched();
    const a = w.open();
    const b = w.open();
    expect(w.write(a, sem(2))).toEqual([
      { index: w.index, type: 'granted', kind: 'semaphore', name: 'S', session: a, token: w.index, seq: 1, weight: 2 },
    ]);
    const token = w.index;
    expect(w.write(b, sem(2, 30_000))).toEqual([
      { index: w.index, type: 'waiter-joined', kind: 'semaphore', name: 'S', session: b, seq: 1, weight: 2 },
    ]);
    expect(w.write(a, { type: 'release-permit', kind: 'semaphore', name: 'S', acquireSeq: 1 })).toEqual([
      { index: w.index, type: 'released', kind: 'semaphore', name: 'S', session: a, token },
      { index: w.index, type: 'granted', kind: 'semaphore', name: 'S', session: b, token: w.index, seq: 1, weight: 2 },
    ]);
    expect(w.write(b, sem(1, 0), 1)).toEqual([]);
  });

  it('readers-writer grants carry their mode; a withdrawn wait leaves; an expiry is expired', () => {
    const w = new Watched();
    const a = w.open(5_000);
    const b = w.open(60_000);
    w.write(a, rw('read'));
    const token = w.index;
    expect(w.write(b, rw('write', 30_000))).toEqual([
      { index: w.index, type: 'waiter-joined', kind: 'rwlock', name: 'R', session: b, seq: 1, mode: 'write' },
    ]);
    expect(w.write(b, { type: 'cancel-permit', kind: 'rwlock', name: 'R', acquireSeq: 1 })).toEqual([
      { index: w.index, type: 'waiter-left', kind: 'rwlock', name: 'R', session: b, seq: 1, reason: 'cancelled' },
    ]);
    w.write(b, rw('write', 30_000));
    w.d.advance(5_000);
    expect(w.write(b, { type: 'counter-add', name: 'n', delta: 1 }).slice(0, 3)).toEqual([
      { index: w.index, type: 'session-expired', kind: 'session', session: a },
      { index: w.index, type: 'expired', kind: 'rwlock', name: 'R', session: a, token },
      { index: w.index, type: 'counter-changed', kind: 'counter', name: 'n', value: 1 },
    ]);
  });

  it('a hand-off to readers names each with mode read', () => {
    const w = new Watched();
    const a = w.open();
    const b = w.open();
    const c = w.open();
    w.write(a, rw('write'));
    w.write(b, rw('read', 30_000));
    w.write(c, rw('read', 30_000));
    const out = w.write(a, { type: 'release-permit', kind: 'rwlock', name: 'R', acquireSeq: 1 });
    expect(out.filter((e) => e.type === 'granted').map((e) => [e.session, e.mode])).toEqual([
      [b, 'read'],
      [c, 'read'],
    ]);
  });
});

describe('watch events of elections', () => {
  const campaign = (v: string, waitMs = 30_000): WriteBody => ({ type: 'acquire-permit', kind: 'election', name: 'E', value: v, waitMs });

  it('leader-changed once per change, candidates as waiters, proclaim only when the value changes', () => {
    const w = new Watched();
    const a = w.open();
    const b = w.open(5_000);
    expect(w.write(a, campaign('host-a'))).toEqual([
      { index: w.index, type: 'leader-changed', kind: 'election', name: 'E', session: a, token: w.index, value: 'host-a' },
    ]);
    const token = w.index;
    expect(w.write(b, campaign('host-b'))).toEqual([
      { index: w.index, type: 'waiter-joined', kind: 'election', name: 'E', session: b, seq: 1, value: 'host-b' },
    ]);
    expect(w.write(a, { type: 'proclaim', name: 'E', token, value: 'host-a2' })).toEqual([
      { index: w.index, type: 'leader-changed', kind: 'election', name: 'E', session: a, token, value: 'host-a2' },
    ]);
    // The same value again, and a retry: nothing changed.
    expect(w.write(a, { type: 'proclaim', name: 'E', token, value: 'host-a2' })).toEqual([]);
    expect(w.write(a, { type: 'proclaim', name: 'E', token, value: 'host-a2' }, 2)).toEqual([]);
    // Resigning hands it to the candidate: one event, for the new leader.
    expect(w.write(a, { type: 'release-permit', kind: 'election', name: 'E', acquireSeq: 1 })).toEqual([
      { index: w.index, type: 'leader-changed', kind: 'election', name: 'E', session: b, token: w.index, value: 'host-b' },
    ]);
    // The leader's session expires with no candidate left: no leader.
    w.d.advance(5_000);
    expect(w.run({ type: 'tick' })).toEqual([
      { index: w.index, type: 'session-expired', kind: 'session', session: b },
      { index: w.index, type: 'leader-changed', kind: 'election', name: 'E' },
    ]);
  });
});

describe('watch events of entries without a command', () => {
  it('no-ops, configuration entries and undecodable data have none', () => {
    const d = new Driver();
    const out = d.election();
    expect(deriveWatchEvents(d.index, undefined, out, d.m, watchProbe(undefined, d.m))).toEqual([]);
    const bad = d.raw(new Uint8Array([0xc1]));
    expect(deriveWatchEvents(d.index, undefined, bad, d.m, {})).toEqual([]);
  });
});
