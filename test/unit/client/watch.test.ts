/**
 * The SDK's watch (src/client/watch.ts) on a fake feed, no sockets and no real time: events in
 * order with their indices; every restart (a lost connection, a node that stopped) goes on from
 * the index after the last one received, and what a new node repeats is dropped; COMPACTED and
 * LIMIT_EXCEEDED end it with typed errors after what it already received is read; a consumer
 * that does not read is ended at the bound, never buffered beyond; `return()` and the signal stop
 * the node's watch. Also how connections route pushed frames (`WatchRoutes`).
 */
import { describe, expect, it } from 'vitest';
import type { Subscription } from '../../../src/client/cluster-client.js';
import { ConnectionLostError, WatchRoutes, type WatchSink } from '../../../src/client/connection.js';
import { CompactedError, InvalidArgumentError, LimitExceededError } from '../../../src/client/errors.js';
import { Watch, type WatchFeed, type WatchOptions } from '../../../src/client/watch.js';
import type { RequestOf, WatchEvent } from '../../../src/protocol/index.js';

/** One start of a watch as the fake feed saw it; the test answers it. */
interface FakeStart {
  readonly request: RequestOf<'watch'>;
  readonly sink: WatchSink;
  readonly signal: AbortSignal;
  stopped: boolean;
  /** The node accepted it, delivering from `fromIndex`. */
  accept(fromIndex: number): void;
  refuse(err: unknown): void;
}

/** A feed whose starts the test answers, and whose pauses take no time (recorded). */
class FakeFeed implements WatchFeed {
  readonly starts: FakeStart[] = [];
  readonly pauses: number[] = [];

  subscribe(request: RequestOf<'watch'>, sink: WatchSink, signal: AbortSignal): Promise<Subscription> {
    return new Promise((resolve, reject) => {
      const start: FakeStart = {
        request,
        sink,
        signal,
        stopped: false,
        accept: (fromIndex) => resolve({ fromIndex, stop: () => (start.stopped = true) }),
        refuse: reject,
      };
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      this.starts.push(start);
    });
  }

  async pause(ms: number): Promise<void> {
    this.pauses.push(ms);
  }

  get last(): FakeStart {
    const s = this.starts[this.starts.length - 1];
    if (s === undefined) throw new Error('no start yet');
    return s;
  }
}

/** Lets pending promise callbacks run (no timers involved). */
const settle = async (): Promise<void> => {
  for (let k = 0; k < 10; k++) await Promise.resolve();
};

/** The `through` of a frame holding `events`: its last event's index. */
function lastIndex(events: readonly WatchEvent[]): number {
  return events[events.length - 1]?.index ?? 0;
}

function counterEvent(index: number, value = index): WatchEvent {
  return { index, type: 'counter-changed', kind: 'counter', name: 'c', value };
}

async function started(opts: WatchOptions = {}, from = 10): Promise<{ feed: FakeFeed; watch: Watch }> {
  const feed = new FakeFeed();
  const watch = new Watch(feed, opts);
  await settle();
  feed.last.accept(opts.fromIndex ?? from);
  await settle();
  return { feed, watch };
}

/** The values of the next `n` events. */
async function take(watch: Watch, n: number): Promise<Array<WatchEvent['value']>> {
  const out: Array<WatchEvent['value']> = [];
  for (let k = 0; k < n; k++) {
    const r = await watch.next();
    if (r.done === true) throw new Error('done');
    out.push(r.value.value);
  }
  return out;
}

describe('Watch', () => {
  it('asks for its selection, resolves ready with the first index, and delivers events in order', async () => {
    const { feed, watch } = await started({ prefix: 'c', kinds: ['counter'] });
    expect(feed.last.request).toEqual({ op: 'watch', prefix: 'c', kinds: ['counter'] });
    expect(await watch.ready).toBe(10);
    expect(watch.nextIndex).toBe(10);
    feed.last.sink.events([counterEvent(11), counterEvent(12)], lastIndex([counterEvent(11), counterEvent(12)]));
    feed.last.sink.events([counterEvent(15)], lastIndex([counterEvent(15)]));
    expect(await take(watch, 3)).toEqual([11, 12, 15]);
    expect(watch.nextIndex).toBe(16);
  });

  it('goes on from the index after the last one received when the connection is lost, dropping what the new node repeats', async () => {
    const { feed, watch } = await started({ kinds: ['counter'] });
    feed.last.sink.events([counterEvent(11), counterEvent(12)], lastIndex([counterEvent(11), counterEvent(12)]));
    feed.last.sink.ended(new ConnectionLostError('connection to node 1 closed'));
    await settle();
    expect(feed.starts).toHaveLength(2);
    expect(feed.last.request).toEqual({ op: 'watch', kinds: ['counter'], fromIndex: 13 });
    expect(feed.pauses).toEqual([]); // the first restart is at once
    feed.last.accept(13);
    await settle();
    // A node that sends an index again (it must not, but a duplicate would cost nothing).
    feed.last.sink.events([counterEvent(12), counterEvent(14)], lastIndex([counterEvent(12), counterEvent(14)]));
    expect(await take(watch, 3)).toEqual([11, 12, 14]);
    expect(await watch.ready).toBe(10); // the first start's index
  });

  it('a progress frame (no events) moves the resume point and, once everything is read, nextIndex', async () => {
    const { feed, watch } = await started({ kinds: ['counter'] });
    feed.last.sink.events([counterEvent(11)], 11);
    feed.last.sink.events([], 1_500); // nothing selected up to 1,500
    expect(watch.nextIndex).toBe(10); // event 11 is not read yet
    expect(await take(watch, 1)).toEqual([11]);
    expect(watch.nextIndex).toBe(12);
    feed.last.sink.events([], 2_600);
    expect(watch.nextIndex).toBe(2_601);
    feed.last.sink.ended(new ConnectionLostError('connection to node 1 closed'));
    await settle();
    // A quiet watch resumes near the log's end, not where it started (which may be compacted by now).
    expect(feed.last.request).toEqual({ op: 'watch', kinds: ['counter'], fromIndex: 2_601 });
  });

  it('a node that ends the watch with UNAVAILABLE is left for another; starts that keep ending at once earn a growing pause', async () => {
    const { feed, watch } = await started();
    for (let k = 0; k < 5; k++) {
      feed.last.sink.ended({ code: 'UNAVAILABLE', message: 'node stopping' });
      await settle();
      feed.last.accept(10);
      await settle();
    }
    expect(feed.pauses).toEqual([10, 20, 40, 80]);
    expect(feed.starts.every((s) => s.request.fromIndex === undefined || s.request.fromIndex === 10)).toBe(true);
    feed.last.sink.events([counterEvent(10)], lastIndex([counterEvent(10)]));
    feed.last.sink.ended({ code: 'UNAVAILABLE', message: 'node stopping' });
    await settle();
    expect(feed.pauses).toHaveLength(4); // an event delivered: the next restart is at once again
    expect(await take(watch, 1)).toEqual([10]);
  });

  it('an end that comes before the start was taken in goes on from that start index', async () => {
    const feed = new FakeFeed();
    const watch = new Watch(feed, {});
    await settle();
    const first = feed.last;
    first.sink.events([counterEvent(21)], lastIndex([counterEvent(21)]));
    first.sink.ended(new ConnectionLostError('closed'));
    first.accept(20);
    await settle();
    expect(feed.starts).toHaveLength(2);
    expect(feed.last.request.fromIndex).toBe(22);
    expect(await take(watch, 1)).toEqual([21]);
  });

  it('COMPACTED ends it with a CompactedError carrying resyncFrom, after the events received are read', async () => {
    const { feed, watch } = await started();
    feed.last.sink.events([counterEvent(11)], lastIndex([counterEvent(11)]));
    feed.last.sink.ended({ code: 'COMPACTED', message: 'this node restored a snapshot', resyncFrom: 40 });
    expect(await take(watch, 1)).toEqual([11]);
    const err = await watch.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).resyncFrom).toBe(40);
    expect((err as CompactedError).code).toBe('COMPACTED');
    expect(await watch.next()).toEqual({ value: undefined, done: true });
    expect(feed.starts).toHaveLength(1);
  });

  it('a refused start (COMPACTED, a bad prefix) ends it: ready and next() reject with the error', async () => {
    const feed = new FakeFeed();
    const watch = new Watch(feed, { fromIndex: 3 });
    await settle();
    feed.last.refuse(new CompactedError('index 3 is older than this node keeps', 50));
    await expect(watch.ready).rejects.toBeInstanceOf(CompactedError);
    await expect(watch.next()).rejects.toBeInstanceOf(CompactedError);
    expect(watch.nextIndex).toBe(3);
  });

  it('LIMIT_EXCEEDED from the node ends it with a LimitExceededError naming where to go on', async () => {
    const { feed, watch } = await started();
    feed.last.sink.events([counterEvent(11)], lastIndex([counterEvent(11)]));
    feed.last.sink.ended({ code: 'LIMIT_EXCEEDED', message: 'watch 3: the client has not read 4 MiB of events' });
    expect(await take(watch, 1)).toEqual([11]);
    const err = await watch.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as Error).message).toContain('fromIndex 12');
    expect(watch.nextIndex).toBe(12);
  });

  it('a consumer that does not read is ended at maxBufferedEvents: the node is told to stop, nothing more is kept', async () => {
    const { feed, watch } = await started({ maxBufferedEvents: 3 });
    feed.last.sink.events([counterEvent(11), counterEvent(12)], lastIndex([counterEvent(11), counterEvent(12)]));
    feed.last.sink.events([counterEvent(13)], lastIndex([counterEvent(13)]));
    expect(feed.last.stopped).toBe(false);
    feed.last.sink.events([counterEvent(14)], lastIndex([counterEvent(14)])); // would make 4
    expect(feed.last.stopped).toBe(true);
    feed.last.sink.events([counterEvent(15)], lastIndex([counterEvent(15)])); // too late: ignored
    expect(await take(watch, 3)).toEqual([11, 12, 13]);
    const err = await watch.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as Error).message).toMatch(/3 events waited to be read \(maxBufferedEvents 3\).*fromIndex 14/);
    expect(watch.nextIndex).toBe(14);
    expect(feed.starts).toHaveLength(1);
  });

  it('a frame larger than the bound still fits an empty buffer (the node bounds its frames)', async () => {
    const { feed, watch } = await started({ maxBufferedEvents: 2 });
    feed.last.sink.events(
      [counterEvent(11, 1), counterEvent(11, 2), counterEvent(11, 3)],
      lastIndex([counterEvent(11, 1), counterEvent(11, 2), counterEvent(11, 3)]),
    );
    expect(feed.last.stopped).toBe(false);
    expect(await take(watch, 3)).toEqual([1, 2, 3]);
  });

  it('return() stops the node watch and ends pending and later next() calls', async () => {
    const { feed, watch } = await started();
    const pending = watch.next();
    expect(await watch.return()).toEqual({ value: undefined, done: true });
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(feed.last.stopped).toBe(true);
    feed.last.sink.events([counterEvent(11)], lastIndex([counterEvent(11)]));
    expect(await watch.next()).toEqual({ value: undefined, done: true });
  });

  it('return() before a node accepted it abandons the start; ready rejects', async () => {
    const feed = new FakeFeed();
    const watch = new Watch(feed, {});
    await settle();
    await watch.return();
    expect(feed.last.signal.aborted).toBe(true);
    await expect(watch.ready).rejects.toThrow(/stopped before a node accepted it/);
  });

  it("the signal ends it at once with the signal's reason, dropping what is unread", async () => {
    const ac = new AbortController();
    const { feed, watch } = await started({ signal: ac.signal });
    feed.last.sink.events([counterEvent(11)], lastIndex([counterEvent(11)]));
    ac.abort(new Error('enough'));
    await expect(watch.next()).rejects.toThrow('enough');
    expect(feed.last.stopped).toBe(true);
    expect(await watch.next()).toEqual({ value: undefined, done: true });
    const already = new Watch(new FakeFeed(), { signal: ac.signal });
    await expect(already.next()).rejects.toThrow('enough');
  });

  it('nextEntry gives every event of the next index at once', async () => {
    const { feed, watch } = await started();
    feed.last.sink.events(
      [counterEvent(11, 1), counterEvent(11, 2), counterEvent(12, 3)],
      lastIndex([counterEvent(11, 1), counterEvent(11, 2), counterEvent(12, 3)]),
    );
    expect((await watch.nextEntry()).value).toEqual([counterEvent(11, 1), counterEvent(11, 2)]);
    expect((await watch.nextEntry()).value).toEqual([counterEvent(12, 3)]);
  });

  it('checks its options before anything is sent', () => {
    const feed = new FakeFeed();
    const bad: Array<[WatchOptions, string]> = [
      [{ kinds: [] }, 'kinds'],
      [{ kinds: ['counter', 'counter'] }, 'kinds'],
      [{ kinds: ['nope' as never] }, 'kinds'],
      [{ fromIndex: 0 }, 'fromIndex'],
      [{ prefix: 5 as never }, 'prefix'],
      [{ maxBufferedEvents: -1 }, 'maxBufferedEvents'],
    ];
    for (const [opts, field] of bad) {
      expect(() => new Watch(feed, opts), JSON.stringify(opts)).toThrow(InvalidArgumentError);
      try {
        new Watch(feed, opts);
      } catch (err) {
        expect((err as InvalidArgumentError).field).toBe(field);
      }
    }
    expect(feed.starts).toEqual([]);
  });
});

describe('WatchRoutes', () => {
  function sink(): WatchSink & { got: unknown[] } {
    const got: unknown[] = [];
    return { got, events: (evs) => got.push(...evs), ended: (why) => got.push(why) };
  }

  it('routes frames by watch id; an end detaches; a frame of an unknown watch is stopped once', () => {
    const unwatched: number[] = [];
    const answers: Array<() => void> = [];
    const routes = new WatchRoutes((id, done) => {
      unwatched.push(id);
      answers.push(done);
    });
    const a = sink();
    routes.attach(1, a);
    routes.deliver({ watch: 1, events: [counterEvent(5)], through: lastIndex([counterEvent(5)]) });
    routes.deliver({ watch: 7, events: [counterEvent(5)], through: lastIndex([counterEvent(5)]) });
    routes.deliver({ watch: 7, events: [counterEvent(6)], through: lastIndex([counterEvent(6)]) });
    expect(unwatched).toEqual([7]); // once, while its unwatch is unanswered
    answers[0]?.();
    routes.deliver({ watch: 7, events: [counterEvent(7)], through: lastIndex([counterEvent(7)]) });
    expect(unwatched).toEqual([7, 7]);
    routes.deliver({ watch: 9, end: { code: 'UNAVAILABLE', message: 'gone' } }); // ended by the node: nothing to stop
    expect(unwatched).toEqual([7, 7]);
    routes.deliver({ watch: 1, end: { code: 'COMPACTED', message: 'old', resyncFrom: 3 } });
    expect(a.got).toEqual([counterEvent(5), { code: 'COMPACTED', message: 'old', resyncFrom: 3 }]);
    expect(routes.size).toBe(0);
  });

  it('detach stops the node watch; a lost connection ends every watch once; each change of the set is told', () => {
    const unwatched: number[] = [];
    const sizes: number[] = [];
    const routes: WatchRoutes = new WatchRoutes(
      (id) => unwatched.push(id),
      () => sizes.push(routes.size),
    );
    const [a, b] = [sink(), sink()];
    routes.attach(1, a);
    routes.attach(2, b);
    routes.detach(1);
    routes.detach(1);
    expect(unwatched).toEqual([1]);
    const lost = new ConnectionLostError('closed');
    routes.failAll(lost);
    routes.failAll(lost);
    expect(a.got).toEqual([]);
    expect(b.got).toEqual([lost]);
    // The connection holds the process while any watch is attached: it hears of every change.
    expect(sizes).toEqual([1, 2, 1, 0, 0]);
  });
});
