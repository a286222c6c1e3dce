/**
 * Leader elections in the SDK (src/client/election.ts), with a fake owner and session: a
 * campaign is an `acquire-permit` of kind election carrying its value, behind a local gate of
 * its own (one campaign per client and election at a time, never shared with a lock of the same
 * name), standing again when a day-long round ends ungranted; a `Leadership` is a held grant
 * with its token, its value, `proclaim` (a refusal loses it) and `resign`; `observe()` gives
 * the leader now, then each change once, from a fake state source.
 */
import { describe, expect, it } from 'vitest';
import type { LockOptions } from '../../../src/client/client.js';
import type { CallOptions } from '../../../src/client/cluster-client.js';
import type { ReadBody, WriteBody } from '../../../src/client/counter.js';
import { Election, Leadership, type ElectionOwner, type LeaderChange } from '../../../src/client/election.js';
import { InvalidArgumentError, LockLostError, LockTimeoutError, NotHeldError } from '../../../src/client/errors.js';
import type { GrantRequest, HeldGrant } from '../../../src/client/lock.js';
import type { Session } from '../../../src/client/session.js';
import { Watch, type WatchFeed, type WatchOptions } from '../../../src/client/watch.js';
import type { ElectionInfoValue, WatchEvent } from '../../../src/protocol/index.js';

/** The parts of a Session a grant uses. */
function fakeSession(): Session {
  return { id: 9, holders: new Set(), leaseInDoubt: false } as unknown as Session;
}

/** An owner that grants at once (seq 7, token 40) unless told to time out; records what it is asked. */
function fakeOwner(timeouts = 0): ElectionOwner & {
  requests: Array<GrantRequest<HeldGrant>>;
  waits: LockOptions[];
  writes: WriteBody[];
  released: HeldGrant[];
  refuseWrites: boolean;
} {
  let left = timeouts;
  const owner = {
    requests: [] as Array<GrantRequest<HeldGrant>>,
    waits: [] as LockOptions[],
    writes: [] as WriteBody[],
    released: [] as HeldGrant[],
    refuseWrites: false,
    waitForGrant: async <G extends HeldGrant>(request: GrantRequest<G>, opts: LockOptions): Promise<G> => {
      owner.requests.push(request);
      owner.waits.push(opts);
      if (left-- > 0) throw new LockTimeoutError('e', 'not acquired');
      return request.grant(fakeSession(), 7, 40, () => {});
    },
    tryGrant: async (): Promise<null> => null,
    read: async (): Promise<never> => ({ leader: null, candidates: 0 }) as never,
    readIndexed: async (): Promise<never> => {
      throw new Error('not used');
    },
    watch: (): Watch => {
      throw new Error('not used');
    },
    write: async (body: WriteBody): Promise<never> => {
      owner.writes.push(body);
      if (owner.refuseWrites) throw new NotHeldError('election e is not led by session 9 with token 40');
      return null as never;
    },
    releaseLock: async (grant: HeldGrant): Promise<void> => {
      owner.released.push(grant);
    },
  };
  return owner;
}

describe('Election.campaign', () => {
  it('asks for acquire-permit of kind election with the value, behind a gate no lock name can share', async () => {
    const owner = fakeOwner();
    const leadership = await new Election(owner, 'sched').campaign('host-a', { waitMs: 1_000 });
    const r = owner.requests[0] as GrantRequest<HeldGrant>;
    expect(r.acquire(250)).toEqual({ op: 'acquire-permit', kind: 'election', name: 'sched', waitMs: 250, value: 'host-a' });
    expect(r.withdraw(7)).toEqual({ op: 'cancel-permit', kind: 'election', name: 'sched', acquireSeq: 7 });
    expect(r.release(7)).toEqual({ op: 'release-permit', kind: 'election', name: 'sched', acquireSeq: 7 });
    expect(r.gates).toHaveLength(1);
    expect(r.gates[0]).not.toBe('sched');
    const gate = r.gates[0] as string;
    expect(Buffer.from(gate, 'utf8').toString('utf8')).not.toBe(gate); // a lone surrogate: never a lock's name
    expect(r.label).toBe('leadership of election "sched"');
    expect(owner.waits[0]).toMatchObject({ waitMs: 1_000 });

    expect(leadership).toBeInstanceOf(Leadership);
    expect([leadership.name, leadership.value, leadership.token, leadership.fencingToken, leadership.kind]).toEqual([
      'sched',
      'host-a',
      40,
      40,
      'election',
    ]);
    expect(leadership.fence).toEqual({ lock: 'sched', token: 40, kind: 'election' });
    expect(leadership.releaseBody()).toEqual({ op: 'release-permit', kind: 'election', name: 'sched', acquireSeq: 7 });
  });

  it('without waitMs stands again after a round that ended ungranted; with waitMs it does not', async () => {
    const owner = fakeOwner(2);
    const l = await new Election(owner, 'e').campaign('v');
    expect(l.token).toBe(40);
    expect(owner.waits.map((w) => w.waitMs)).toEqual([86_400_000, 86_400_000, 86_400_000]);
    const bounded = fakeOwner(1);
    await expect(new Election(bounded, 'e').campaign('v', { waitMs: 50 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(bounded.waits).toHaveLength(1);
  });

  it('refuses a bad name or value at once (InvalidArgumentError naming the field), asking nothing', async () => {
    const owner = fakeOwner();
    expect(() => new Election(owner, '')).toThrow(InvalidArgumentError);
    const e = new Election(owner, 'e');
    for (const value of ['x'.repeat(1025), 42 as unknown as string]) {
      const err = await e.campaign(value).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe('value');
    }
    expect(await e.campaign('x'.repeat(1024))).toBeInstanceOf(Leadership);
    expect(owner.requests).toHaveLength(1);
  });
});

describe('Leadership', () => {
  it('proclaim writes the new value with its token, and value follows', async () => {
    const owner = fakeOwner();
    const l = await new Election(owner, 'e').campaign('a');
    await l.proclaim('b');
    expect(owner.writes).toEqual([{ op: 'proclaim', name: 'e', token: 40, value: 'b' }]);
    expect(l.value).toBe('b');
    await expect(l.proclaim('x'.repeat(1025))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(owner.writes).toHaveLength(1);
  });

  it('a proclaim the cluster refuses (NOT_HELD) loses the leadership: its signal fires', async () => {
    const owner = fakeOwner();
    const l = await new Election(owner, 'e').campaign('a');
    owner.refuseWrites = true;
    await expect(l.proclaim('b')).rejects.toBeInstanceOf(NotHeldError);
    expect(l.value).toBe('a');
    expect(l.state).toBe('lost');
    expect(l.signal.reason).toBeInstanceOf(LockLostError);
    expect((l.signal.reason as LockLostError).lockName).toBe('e');
    // Lost: nothing more is asked of the cluster.
    await expect(l.proclaim('c')).rejects.toBeInstanceOf(NotHeldError);
    expect(owner.writes).toHaveLength(1);
  });

  it('resign releases it once; a second resign is NOT_HELD; a lost lease fires the signal', async () => {
    const owner = fakeOwner();
    const l = await new Election(owner, 'e').campaign('a');
    await l.resign();
    expect(owner.released).toEqual([l]);
    expect(l.state).toBe('released');
    await expect(l.resign()).rejects.toBeInstanceOf(NotHeldError);
    const m = await new Election(owner, 'e').campaign('a');
    m.onLeaseLost(new LockLostError('', 'no keep-alive acknowledged'), false);
    expect(m.signal.aborted).toBe(true);
    expect((m.signal.reason as Error).message).toBe('leadership of election "e": no keep-alive acknowledged');
  });
});

/** A state source answering election-info from `infos` (each with its index) and watches from a feed the test drives. */
function observedSource(infos: Array<{ info: ElectionInfoValue; index: number }>): {
  owner: ElectionOwner;
  reads: Array<{ body: ReadBody; opts: CallOptions }>;
  push(events: WatchEvent[]): void;
  watches: WatchOptions[];
} {
  const reads: Array<{ body: ReadBody; opts: CallOptions }> = [];
  const watches: WatchOptions[] = [];
  const sinks: Array<(events: WatchEvent[]) => void> = [];
  const feed: WatchFeed = {
    subscribe: async (request, sink) => {
      sinks.push((evs) => sink.events(evs, evs[evs.length - 1]?.index ?? 0));
      return { fromIndex: request.fromIndex ?? 1, stop: () => {} };
    },
    pause: async () => {},
  };
  const owner = {
    ...fakeOwner(),
    readIndexed: async (body: ReadBody, opts: CallOptions) => {
      reads.push({ body, opts });
      const next = infos.shift();
      if (next === undefined) throw new Error('no more reads');
      return { value: next.info, index: next.index } as never;
    },
    watch: (opts: WatchOptions) => {
      watches.push(opts);
      return new Watch(feed, opts);
    },
  };
  return { owner, reads, watches, push: (evs) => sinks.forEach((s) => s(evs)) };
}

const leaderInfo = (sessionId: number, token: number, value: string): ElectionInfoValue => ({
  leader: { sessionId, fencingToken: token, value, acquiredAt: 0, expiresAt: 0 },
  candidates: 0,
});

describe('Election.observe', () => {
  it('gives the leader now (read at its exact index), then each change of this election once', async () => {
    const src = observedSource([{ info: leaderInfo(3, 30, 'a'), index: 35 }]); // linearizable, at the index its state is at
    const it = new Election(src.owner, 'e').observe();
    const seen: LeaderChange[] = [];
    seen.push((await it.next()).value as LeaderChange);
    expect(src.reads.map((r) => r.body)).toEqual([{ op: 'election-info', name: 'e' }]);
    // The watch starts when the next change is asked for, from the index after the read: nothing is missed meanwhile.
    expect(src.watches).toEqual([]);
    const next = it.next();
    for (let k = 0; k < 10; k++) await Promise.resolve();
    expect(src.watches[0]).toMatchObject({ prefix: 'e', kinds: ['election'], fromIndex: 36 });
    src.push([
      { index: 36, type: 'leader-changed', kind: 'election', name: 'e', session: 3, token: 30, value: 'a' }, // no change
      { index: 36, type: 'leader-changed', kind: 'election', name: 'e2', session: 5, token: 36, value: 'z' }, // another election
      { index: 37, type: 'waiter-joined', kind: 'election', name: 'e', session: 4, seq: 1 },
      { index: 38, type: 'leader-changed', kind: 'election', name: 'e', session: 3, token: 30, value: 'a2' },
      { index: 40, type: 'leader-changed', kind: 'election', name: 'e' },
    ]);
    seen.push((await next).value as LeaderChange);
    seen.push((await it.next()).value as LeaderChange);
    await it.return();
    expect(seen).toEqual([
      { index: 35, leader: { sessionId: 3, token: 30, value: 'a' } },
      { index: 38, leader: { sessionId: 3, token: 30, value: 'a2' } },
      { index: 40, leader: null },
    ]);
  });
});
