/**
 * Leader elections in the machine (docs/design.md#leader-elections): an election is a resource
 * of one permit whose holder is the leader, with the value it campaigned with or last
 * proclaimed; candidates wait FIFO; a session campaigns once at a time; resigning, withdrawing
 * and a session's end work as for semaphores; `proclaim` needs the leader's exact token; fences
 * of kind election; values in snapshots and in the digest; the `twoLeaders` negative control.
 */
import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { AcquireValue } from '../../../src/protocol/index.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import { checkDigestOfState, Driver, failure, value, withSessions, type WriteBody } from './driver.js';

const campaign = (name: string, v: string, waitMs = 30_000): WriteBody => ({
  type: 'acquire-permit',
  kind: 'election',
  name,
  value: v,
  waitMs,
});
const resign = (name: string, acquireSeq: number): WriteBody => ({ type: 'release-permit', kind: 'election', name, acquireSeq });
const proclaim = (name: string, token: number, v: string): WriteBody => ({ type: 'proclaim', name, token, value: v });

describe('elections', () => {
  it('the first campaign leads with its value and this entry as token; later ones are candidates, FIFO', () => {
    const { d, s } = withSessions(3);
    const [a, b, c] = s as [number, number, number];
    expect(value<AcquireValue>(d.write(a, campaign('E', 'host-a')).result)).toMatchObject({ status: 'granted', token: d.index });
    const token = d.index;
    expect(value<AcquireValue>(d.write(b, campaign('E', 'host-b')).result)).toMatchObject({ status: 'queued', position: 1 });
    expect(value<AcquireValue>(d.write(c, campaign('E', 'host-c', 0)).result)).toEqual({ status: 'not-acquired' });
    expect(value<AcquireValue>(d.write(c, campaign('E', 'host-c')).result)).toMatchObject({ status: 'queued', position: 2 });
    expect(d.m.electionInfo('E')).toEqual({
      leader: { sessionId: a, fencingToken: token, value: 'host-a', acquiredAt: d.time, expiresAt: d.m.sessionDeadline(a) },
      candidates: 2,
    });
    expect(d.m.electionInfo('nobody')).toEqual({ leader: null, candidates: 0 });
    // Resigning hands the election to the first candidate, with its own value and a higher token.
    const out = d.write(a, resign('E', 1));
    expect(out.events).toEqual([
      { type: 'lock-released', kind: 'election', name: 'E', session: a, token },
      expect.objectContaining({ type: 'granted', kind: 'election', name: 'E', session: b, token: d.index }),
    ]);
    expect(d.m.electionInfo('E')).toMatchObject({ leader: { sessionId: b, fencingToken: d.index, value: 'host-b' }, candidates: 1 });
    checkDigestOfState(d);
  });

  it('a session campaigns once at a time: a second campaign is INVALID_ARGUMENT naming the seq it holds or awaits it with', () => {
    const { d, s } = withSessions(2);
    const [a, b] = s as [number, number];
    d.write(a, campaign('E', 'a'), 1);
    d.write(b, campaign('E', 'b'), 1);
    const leads = failure(d.write(a, campaign('E', 'again'), 2).result);
    expect(leads.code).toBe('INVALID_ARGUMENT');
    expect(leads.message).toMatch(new RegExp(`session ${a} already campaigns in election E \\(acquire seq 1\\)`));
    expect(failure(d.write(b, campaign('E', 'again'), 2).result).message).toMatch(/acquire seq 1/);
    // A retry of the same (session, seq) is answered from the exactly-once table.
    expect(value<AcquireValue>(d.write(b, campaign('E', 'b'), 1).result)).toMatchObject({ status: 'queued', position: 1 });
    // Another election is another campaign; after resigning, the session may campaign again.
    expect(value<AcquireValue>(d.write(a, campaign('F', 'a'), 3).result).status).toBe('granted');
    d.write(a, resign('E', 1), 4);
    expect(value<AcquireValue>(d.write(a, campaign('E', 'a2'), 5).result)).toMatchObject({ status: 'queued', position: 1 });
    expect(d.m.electionInfo('E')).toMatchObject({ leader: { sessionId: b, value: 'b' }, candidates: 1 });
  });

  it('a withdrawn candidate leaves the queue; a leader whose session ends is replaced in the same entry', () => {
    const { d, s } = withSessions(3);
    const [a, b, c] = s as [number, number, number];
    d.write(a, campaign('E', 'a'));
    d.write(b, campaign('E', 'b'));
    d.write(c, campaign('E', 'c'));
    const cancelled = d.write(b, { type: 'cancel-permit', kind: 'election', name: 'E', acquireSeq: 1 });
    expect(value(cancelled.result)).toEqual({ status: 'cancelled' });
    expect(d.m.electionInfo('E').candidates).toBe(1);
    const out = d.write(a, { type: 'close-session' });
    expect(out.events.map((e) => [e.type, e.session])).toEqual([
      ['session-closed', a],
      ['lock-released', a],
      ['granted', c],
    ]);
    expect(d.m.electionInfo('E')).toMatchObject({ leader: { sessionId: c, value: 'c', fencingToken: d.index }, candidates: 0 });
  });

  it('proclaim changes the value of the leader with exactly its token; anyone else is NOT_HELD and nothing changes', () => {
    const { d, s } = withSessions(2);
    const [a, b] = s as [number, number];
    const token = value<{ token: number }>(d.write(a, campaign('E', 'old')).result).token;
    d.write(b, campaign('E', 'b'));
    expect(value(d.write(a, proclaim('E', token, 'new')).result)).toBeNull();
    expect(d.m.electionInfo('E').leader?.value).toBe('new');
    checkDigestOfState(d);
    const digest = d.m.digest();
    const stale = failure(d.write(a, proclaim('E', token + 1, 'x')).result);
    expect(stale.code).toBe('NOT_HELD');
    expect(stale.message).toMatch(new RegExp(`election E is not led by session ${a} with token ${token + 1}`));
    expect(failure(d.write(b, proclaim('E', token, 'x')).result).code).toBe('NOT_HELD');
    expect(failure(d.write(a, proclaim('F', token, 'x')).result).code).toBe('NOT_HELD');
    expect(d.m.electionInfo('E').leader?.value).toBe('new');
    // Only the stored results changed: the election itself is as it was.
    expect(d.m.electionInfo('E')).toMatchObject({ leader: { sessionId: a, fencingToken: token }, candidates: 1 });
    expect(digest).not.toBe(d.m.digest());
    // Once resigned, the old token proclaims nothing, though its session lives on.
    d.write(a, resign('E', 1));
    expect(failure(d.write(a, proclaim('E', token, 'late')).result).code).toBe('NOT_HELD');
    expect(d.m.electionInfo('E').leader).toMatchObject({ sessionId: b, value: 'b' });
  });

  it('a fence of kind election holds for the leader with its token only', () => {
    const { d, s } = withSessions(2);
    const [a, b] = s as [number, number];
    const token = value<{ token: number }>(d.write(a, campaign('E', 'a')).result).token;
    const add = (session: number, t: number): string =>
      ((r) => (r.ok ? 'ok' : r.code))(
        d.write(session, { type: 'counter-add', name: 'c', delta: 1, fence: { lock: 'E', kind: 'election', token: t } }).result,
      );
    expect(add(a, token)).toBe('ok');
    expect(add(b, token)).toBe('FENCED');
    expect(add(a, token + 1)).toBe('FENCED');
    // Another namespace: no semaphore or lock E is held.
    expect(d.write(a, { type: 'counter-add', name: 'c', delta: 1, fence: { lock: 'E', kind: 'semaphore', token } }).result.ok).toBe(false);
    // break-lock is for locks only: it finds no lock E.
    expect(failure(d.write(b, { type: 'break-lock', name: 'E' }).result).code).toBe('NOT_HELD');
    d.write(a, resign('E', 1));
    expect(add(a, token)).toBe('FENCED');
  });

  it('values survive snapshot and restore (version 5), leader and candidates alike', () => {
    const { d, s } = withSessions(3);
    const [a, b, c] = s as [number, number, number];
    const token = value<{ token: number }>(d.write(a, campaign('E', '')).result).token;
    d.write(a, proclaim('E', token, 'é✓ 𝄞'));
    d.write(b, campaign('E', 'b'));
    d.write(c, campaign('F', 'f'));
    const snap = d.m.snapshot();
    const decoded = unpack(d.m.snapshot()) as {
      v: number;
      elections: Array<{ holders: Array<{ value: string }>; waiters: Array<{ value: string }> }>;
    };
    expect(decoded.v).toBe(5);
    expect(decoded.elections.map((e) => [e.holders.map((h) => h.value), e.waiters.map((w) => w.value)])).toEqual([
      [['é✓ 𝄞'], ['b']],
      [['f'], []],
    ]);
    const copy = new Driver();
    copy.m.restore(snap);
    expect(copy.m.snapshot()).toEqual(d.m.snapshot());
    expect(copy.m.digest()).toBe(d.m.digest());
    expect(copy.m.electionInfo('E')).toEqual(d.m.electionInfo('E'));
    // The candidate keeps its value through the restore, and leads with it.
    copy.index = d.index;
    copy.apply({ type: 'release-permit', kind: 'election', name: 'E', acquireSeq: 1, session: a, seq: 3 });
    expect(copy.m.electionInfo('E').leader).toMatchObject({ sessionId: b, value: 'b', fencingToken: copy.index });
  });

  it('restore refuses an election of another permit count or without values', () => {
    const { d, s } = withSessions(1);
    d.write(s[0]!, campaign('E', 'a'));
    const state = unpack(d.m.snapshot()) as Record<string, unknown> & { elections: Array<Record<string, unknown>> };
    const [e] = state.elections as [{ permits: number; holders: Array<Record<string, unknown>> }];
    expect(() => new LockMachine().restore(pack({ ...state, elections: [{ ...e, permits: 2 }] }))).toThrow(/election E has 2 permits/);
    const bare = { ...e, holders: e.holders.map(({ value: _v, ...h }) => h) };
    expect(() => new LockMachine().restore(pack({ ...state, elections: [bare] }))).toThrow(/elections\[0\]\.holders\[0\]\.value/);
    // A semaphore with a value is no semaphore of this version.
    d.write(s[0]!, { type: 'acquire-permit', kind: 'semaphore', name: 'S', permits: 1, waitMs: 0 });
    const withSem = unpack(d.m.snapshot()) as Record<string, unknown> & { semaphores: Array<{ holders: Array<Record<string, unknown>> }> };
    const [sem] = withSem.semaphores as [{ holders: Array<Record<string, unknown>> }];
    const odd = { ...sem, holders: sem.holders.map((h) => ({ ...h, value: 'x' })) };
    expect(() => new LockMachine().restore(pack({ ...withSem, semaphores: [odd] }))).toThrow(/only an election has values/);
  });

  it('negative control twoLeaders: elections of two permits let a second session lead at once', () => {
    const d = new Driver({ unsafeTestingKnobs: { twoLeaders: true } });
    const a = d.open(60_000);
    const b = d.open(60_000);
    expect(value<AcquireValue>(d.write(a, campaign('E', 'a')).result).status).toBe('granted');
    expect(value<AcquireValue>(d.write(b, campaign('E', 'b')).result).status).toBe('granted');
    // Both fence: what the one-leader rule forbids.
    for (const [session, token] of [
      [a, d.index - 1],
      [b, d.index],
    ] as const)
      expect(d.write(session, { type: 'counter-add', name: 'c', delta: 1, fence: { lock: 'E', kind: 'election', token } }).result.ok).toBe(
        true,
      );
    // Its snapshots restore only into a machine with the same knob.
    expect(() => new LockMachine().restore(d.m.snapshot())).toThrow(/2 permits, not 1/);
  });
});
