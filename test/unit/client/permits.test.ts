/**
 * Semaphores and readers-writer locks in the SDK (src/client/permit.ts), with a fake owner and
 * session: the handles check their arguments and build the requests the client's one acquire
 * flow sends (no local gate; withdrawn and released by the acquire's seq); the grants share the
 * held-grant base of `Lock` (signal, state, release) but no operator's break ever matches them;
 * and the CLI's grant handle `ID:SECRET:SEQ` (src/client/detached-session.ts).
 */
import { describe, expect, it } from 'vitest';
import type { LockOptions } from '../../../src/client/client.js';
import type { CallOptions } from '../../../src/client/cluster-client.js';
import { formatPermitHandle, parsePermitHandle } from '../../../src/client/detached-session.js';
import { InvalidArgumentError, LockLostError, NotHeldError } from '../../../src/client/errors.js';
import { runHolding, type GrantRequest, type HeldGrant } from '../../../src/client/lock.js';
import { Permit, RwLock, RwLockGrant, Semaphore, type PermitOwner } from '../../../src/client/permit.js';
import type { Session } from '../../../src/client/session.js';

const SECRET = '0123456789abcdef0123456789abcdef';

/** The parts of a Session a grant uses. */
function fakeSession(leaseInDoubt = false): Session {
  return { id: 9, holders: new Set(), leaseInDoubt } as unknown as Session;
}

/** An owner that records the requests it is asked for and the grants it releases; grants at once with token 40, seq 7. */
function fakeOwner(): PermitOwner & {
  requests: Array<GrantRequest<HeldGrant>>;
  waits: LockOptions[];
  released: HeldGrant[];
  reads: unknown[];
} {
  const owner = {
    requests: [] as Array<GrantRequest<HeldGrant>>,
    waits: [] as LockOptions[],
    released: [] as HeldGrant[],
    reads: [] as unknown[],
    waitForGrant: async <G extends HeldGrant>(request: GrantRequest<G>, opts: LockOptions): Promise<G> => {
      owner.requests.push(request);
      owner.waits.push(opts);
      return request.grant(fakeSession(), 7, 40, () => {});
    },
    tryGrant: async <G extends HeldGrant>(request: GrantRequest<G>, _opts: CallOptions): Promise<G | null> => {
      owner.requests.push(request);
      return null;
    },
    read: async (body: unknown): Promise<never> => {
      owner.reads.push(body);
      return { holders: [], holderCount: 0, waiters: 0 } as never;
    },
    releaseLock: async (grant: HeldGrant): Promise<void> => {
      owner.released.push(grant);
    },
  };
  return owner;
}

describe('Semaphore', () => {
  it('checks the permit count at once, and the weight when acquiring (InvalidArgumentError naming the field)', async () => {
    const owner = fakeOwner();
    for (const permits of [0, -1, 1.5, 1_000_001, Number.NaN, undefined as unknown as number]) {
      let err: unknown;
      try {
        new Semaphore(owner, 's', permits);
      } catch (e) {
        err = e;
      }
      expect(err, String(permits)).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe('permits');
    }
    expect(() => new Semaphore(owner, '', 3)).toThrow(InvalidArgumentError);
    const s = new Semaphore(owner, 's', 3);
    expect(s.permits).toBe(3);
    for (const weight of [0, 4, 2.5]) {
      const err = await s.acquire({ weight }).catch((e: unknown) => e);
      expect(err, String(weight)).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe('weight');
      expect((err as Error).message).toContain("the semaphore's 3 permits");
    }
    await expect(s.tryAcquire({ weight: 9 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(owner.requests).toEqual([]); // nothing was asked of the cluster
    expect(new Semaphore(owner, 'max', 1_000_000).permits).toBe(1_000_000);
  });

  it('asks for acquire-permit without a local gate; withdraws and releases by the acquire seq', async () => {
    const owner = fakeOwner();
    const s = new Semaphore(owner, 'jobs', 5);
    const signal = new AbortController().signal;
    const permit = await s.acquire({ weight: 2, waitMs: 1_000, signal });
    const r = owner.requests[0] as GrantRequest<HeldGrant>;
    expect(owner.waits[0]).toMatchObject({ weight: 2, waitMs: 1_000, signal });
    expect(r.gates).toEqual([]);
    expect(r.label).toBe('permit of semaphore "jobs"');
    expect(r.errorName).toBe('jobs');
    expect(r.acquire(250)).toEqual({ op: 'acquire-permit', kind: 'semaphore', name: 'jobs', waitMs: 250, permits: 5, weight: 2 });
    expect(r.withdraw(7)).toEqual({ op: 'cancel-permit', kind: 'semaphore', name: 'jobs', acquireSeq: 7 });
    expect(r.release(7)).toEqual({ op: 'release-permit', kind: 'semaphore', name: 'jobs', acquireSeq: 7 });

    expect(permit).toBeInstanceOf(Permit);
    expect([permit.name, permit.weight, permit.permits, permit.fencingToken, permit.kind, permit.acquireSeq]).toEqual([
      'jobs',
      2,
      5,
      40,
      'semaphore',
      7,
    ]);
    expect(permit.fence).toEqual({ lock: 'jobs', token: 40, kind: 'semaphore' });
    expect(permit.releaseBody()).toEqual({ op: 'release-permit', kind: 'semaphore', name: 'jobs', acquireSeq: 7 });

    expect(await s.tryAcquire()).toBeNull();
    expect((owner.requests[1] as GrantRequest<HeldGrant>).acquire(0)).toMatchObject({ waitMs: 0, weight: 1 });
    await s.info({ stale: true });
    await s.info();
    expect(owner.reads).toEqual([
      { op: 'semaphore-info', name: 'jobs', stale: true },
      { op: 'semaphore-info', name: 'jobs' },
    ]);
  });

  it('withPermit releases after fn, and reports a permit lost meanwhile as LockLostError', async () => {
    const owner = fakeOwner();
    const s = new Semaphore(owner, 'jobs', 2);
    expect(await s.withPermit((p) => p.fencingToken)).toBe(40);
    expect(owner.released).toHaveLength(1);
    const err = await s
      .withPermit((p) => {
        p.onLeaseLost(new LockLostError('', 'session 9 ended'), true);
        return 1;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockLostError);
    expect((err as Error).message).toBe('permit of semaphore "jobs" was lost before withPermit released it');
    expect((err as LockLostError).lockName).toBe('jobs');
    expect(owner.released).toHaveLength(1); // a lost permit is not released again
  });
});

describe('RwLock', () => {
  it('asks for read or write grants of acquire-permit, without a local gate', async () => {
    const owner = fakeOwner();
    const l = new RwLock(owner, 'cfg');
    const r = await l.read({ waitMs: 10 });
    const w = await l.write();
    expect(await l.tryRead()).toBeNull();
    expect(await l.tryWrite()).toBeNull();
    const bodies = owner.requests.map((q) => q.acquire(5));
    expect(bodies.map((b) => ('mode' in b ? b.mode : undefined))).toEqual(['read', 'write', 'read', 'write']);
    expect(bodies[0]).toEqual({ op: 'acquire-permit', kind: 'rwlock', name: 'cfg', waitMs: 5, mode: 'read' });
    expect(owner.requests.map((q) => [q.label, q.gates.length])).toEqual([
      ['read lock of rwlock "cfg"', 0],
      ['write lock of rwlock "cfg"', 0],
      ['read lock of rwlock "cfg"', 0],
      ['write lock of rwlock "cfg"', 0],
    ]);
    expect((owner.requests[0] as GrantRequest<HeldGrant>).withdraw(3)).toEqual({
      op: 'cancel-permit',
      kind: 'rwlock',
      name: 'cfg',
      acquireSeq: 3,
    });
    expect([r.mode, w.mode, r.kind, r.name]).toEqual(['read', 'write', 'rwlock', 'cfg']);
    expect(r).toBeInstanceOf(RwLockGrant);
    expect(w.fence).toEqual({ lock: 'cfg', token: 40, kind: 'rwlock' });
    expect(await l.withWrite((g) => g.mode)).toBe('write');
    expect(await l.withRead((g) => g.mode)).toBe('read');
    await l.info();
    expect(owner.reads).toEqual([{ op: 'rwlock-info', name: 'cfg' }]);
  });
});

describe('Permit and RwLockGrant (the held-grant base of Lock)', () => {
  it('release goes through the owner once; a second release is NOT_HELD', async () => {
    const s = fakeSession();
    const owner = fakeOwner();
    const gone: Array<readonly string[]> = [];
    const p = new Permit(owner, s, 'jobs', 1, 3, 12, 50, (left) => gone.push(left));
    expect(s.holders.has(p)).toBe(true);
    await p.release();
    expect(owner.released).toEqual([p]);
    expect(p.state).toBe('released');
    expect(p.signal.aborted).toBe(false);
    expect(gone).toEqual([[]]);
    expect(s.holders.has(p)).toBe(false);
    await expect(p.release()).rejects.toThrow(/^permit of semaphore "jobs" \(token 50\) was already released/);
    expect(owner.released).toHaveLength(1);
  });

  it("an operator's break never matches a permit (it has no onRevoked), whatever the name and token", () => {
    const p = new Permit(fakeOwner(), fakeSession(), 'jobs', 1, 3, 12, 50, () => {});
    const g = new RwLockGrant(fakeOwner(), fakeSession(), 'jobs', 'write', 13, 50, () => {});
    for (const grant of [p, g]) {
      expect('onRevoked' in grant).toBe(false);
      expect(grant.signal.aborted).toBe(false);
    }
  });

  it('a lease in doubt fires the signal and keeps it held; a session that ended loses it; release is then NOT_HELD', async () => {
    const owner = fakeOwner();
    const gone: Array<readonly string[]> = [];
    const g = new RwLockGrant(owner, fakeSession(), 'cfg', 'read', 4, 9, (left) => gone.push(left));
    g.onLeaseLost(new LockLostError('', 'no keep-alive acknowledged'), false);
    expect(g.signal.aborted).toBe(true);
    expect((g.signal.reason as LockLostError).lockName).toBe('cfg');
    expect((g.signal.reason as Error).message).toBe('read lock of rwlock "cfg": no keep-alive acknowledged');
    expect(g.state).toBe('held');
    g.onLeaseLost(new LockLostError('', 'session 9 ended'), true);
    expect(g.state).toBe('lost');
    expect(gone).toEqual([[]]);
    const err = await g.release().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotHeldError);
    expect((err as Error).message).toMatch(/^read lock of rwlock "cfg" \(token 9\) was lost: /);
    expect(owner.released).toEqual([]);
    await expect(g[Symbol.asyncDispose]()).resolves.toBeUndefined();
  });

  it('granted while the lease is already in doubt: the signal fires at once', () => {
    const p = new Permit(fakeOwner(), fakeSession(true), 'jobs', 2, 3, 1, 5, () => {});
    expect(p.signal.aborted).toBe(true);
    expect((p.signal.reason as Error).message).toBe('the lease of session 9 may already have run out');
  });

  it('runHolding releases after a failing fn and rethrows its error', async () => {
    const owner = fakeOwner();
    const p = new Permit(owner, fakeSession(), 'jobs', 1, 3, 1, 5, () => {});
    await expect(
      runHolding(
        p,
        () => {
          throw new Error('boom');
        },
        'withPermit',
      ),
    ).rejects.toThrow('boom');
    expect(owner.released).toEqual([p]);
  });
});

describe('the grant handle ID:SECRET:SEQ of `semaphore acquire`', () => {
  it('round-trips, and takes ID:SECRET with --grant SEQ', () => {
    const h = { sessionId: 17, secret: SECRET, acquireSeq: 1 };
    expect(formatPermitHandle(h)).toBe(`17:${SECRET}:1`);
    expect(parsePermitHandle(` 17:${SECRET}:1 `, '--session')).toEqual(h);
    expect(parsePermitHandle(`17:${SECRET}`, '--session', '3')).toEqual({ ...h, acquireSeq: 3 });
    expect(parsePermitHandle(`17:${SECRET}:3`, '--session', '3')).toEqual({ ...h, acquireSeq: 3 });
  });

  it('refuses what does not name a grant, naming the flag', () => {
    const cases: Array<[string, string | undefined, string, RegExp]> = [
      ['17', undefined, '--session', /a bare session id is not enough/],
      [`17:${SECRET}`, undefined, '--session', /names a session but not its grant/],
      [`17:${SECRET}:0`, undefined, '--session', /SEQ must be a positive integer/],
      [`17:${SECRET}:x`, undefined, '--session', /SEQ must be a positive integer/],
      [`17:${SECRET}`, 'two', '--grant', /SEQ must be a positive integer/],
      [`17:${SECRET}:1`, '2', '--grant', /does not match/],
      [`17:nope:1`, undefined, '--session', /must be the handle ID:SECRET:SEQ that `raftlock semaphore acquire` printed/],
      [`17:${SECRET}:1:2`, undefined, '--session', /must be the handle ID:SECRET:SEQ/],
    ];
    for (const [text, grant, field, message] of cases) {
      let err: unknown;
      try {
        parsePermitHandle(text, '--session', grant);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field, text).toBe(field);
      expect((err as Error).message, text).toMatch(message);
    }
  });
});
