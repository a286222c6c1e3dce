/**
 * Watches in the SDK (docs/design.md#watches): {@link Watch}, an async iterator of the events
 * the cluster derives from its committed log, each with its log index. A node serves a watch
 * through pushed frames on the client's connection (src/protocol/watch.ts); when that ends (the
 * connection is lost, the node stops, the client moves to a new leader), the watch starts again
 * at a node from the index after the last one it received, so the consumer sees every event once,
 * in order, with no gap: every replica derives the same events from the same log.
 *
 * What ends a watch, after the events it already received are read:
 * - {@link CompactedError}: it would go on from an index the node no longer keeps; read the state
 *   again, then watch from `resyncFrom`;
 * - {@link LimitExceededError}: the consumer fell behind: more than `maxBufferedEvents` events
 *   waited here to be read, or the node had more than it lets a watch queue for the connection.
 *   Nothing is buffered beyond; go on from {@link Watch.nextIndex};
 * - {@link UnavailableError}: no node accepted it again within the client's `timeoutMs`;
 * - `return()` (a `break` out of `for await`: done), the watch's `signal` (its reason), or the
 *   client's close (`ClientClosedError`).
 *
 * A running watch keeps the process alive, as an open server does, until one of these ends it.
 *
 * Also what the conveniences build on (a read's exact index, {@link withIndex}): an election's
 * leaders, a counter's values, a lock's release.
 */
import { WATCH_KINDS, type RequestOf, type WatchEndFrame, type WatchEvent, type WatchKind } from '../protocol/index.js';
import { now, RemoteError, toRaftlockError, waitFor, type ClusterClient, type Subscription } from './cluster-client.js';
import { ConnectionLostError, type WatchSink } from './connection.js';
import { CompactedError, InvalidArgumentError, LimitExceededError, UnavailableError } from './errors.js';

/** Options of `client.watch()`. */
export interface WatchOptions {
  /** Only events about names that start with this (default: every name; events about sessions, which have none, only without a prefix). */
  readonly prefix?: string;
  /** Only events of these kinds (default: all of `lock`, `semaphore`, `rwlock`, `election`, `counter`, `session`). */
  readonly kinds?: readonly WatchKind[];
  /**
   * The first log index whose events to deliver: the {@link Watch.nextIndex} of an earlier watch,
   * to go on where it stopped. Default: the events after the state the answering node has applied
   * when the watch starts ({@link Watch.ready} says from which index).
   */
  readonly fromIndex?: number | undefined;
  /** Ends the watch: a pending `next()` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Most events kept here for a consumer that does not read them (default 10,000). Beyond it the
   * watch ends with {@link LimitExceededError} once the events kept are read: memory stays bounded
   * whatever the consumer does.
   */
  readonly maxBufferedEvents?: number;
}

/** Default of {@link WatchOptions.maxBufferedEvents}. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 10_000;

/** The longest pause between two starts of a watch that nodes keep ending at once. */
const MAX_RESTART_PAUSE_MS = 500;

/** Where a watch's events come from: one node's watch at a time, started again where it stopped. @internal */
export interface WatchFeed {
  /**
   * Starts a watch at a node; its frames go to `sink` from its answer on. Rejects with the SDK's
   * typed errors (`CompactedError`, `InvalidArgumentError`, `UnavailableError`…), or the signal's
   * reason when `signal` aborts.
   */
  subscribe(request: RequestOf<'watch'>, sink: WatchSink, signal: AbortSignal): Promise<Subscription>;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  pause(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * The feed of a client's watches: {@link ClusterClient.subscribe} on its connection, each start
 * given `timeoutMs` to find a node that accepts it. @internal
 */
export function clusterFeed(cluster: ClusterClient, timeoutMs: number): WatchFeed {
  return {
    subscribe: async (request, sink, signal) => {
      try {
        return await cluster.subscribe(request, sink, now() + timeoutMs, signal);
      } catch (err) {
        throw err instanceof RemoteError ? toRaftlockError(err.error, false) : err;
      }
    },
    pause: (ms, signal) => sleep(ms, signal).catch(() => {}),
  };
}

/** `opts` checked as the cluster would, so a bad option fails at once, before anything is sent. */
function checkWatchOptions(opts: WatchOptions): { request: RequestOf<'watch'>; maxBuffered: number } {
  const { prefix, kinds, fromIndex, maxBufferedEvents } = opts;
  if (prefix !== undefined && typeof prefix !== 'string') throw new InvalidArgumentError('prefix must be a string', 'prefix');
  if (kinds !== undefined) {
    if (!Array.isArray(kinds) || kinds.length === 0)
      throw new InvalidArgumentError(`kinds must be a non-empty array of ${WATCH_KINDS.join(', ')}`, 'kinds');
    for (const k of kinds) {
      if (!(WATCH_KINDS as readonly unknown[]).includes(k))
        throw new InvalidArgumentError(`kinds: unknown kind ${JSON.stringify(k)}; the kinds are ${WATCH_KINDS.join(', ')}`, 'kinds');
    }
    if (new Set(kinds).size !== kinds.length) throw new InvalidArgumentError('kinds lists a kind twice', 'kinds');
  }
  if (fromIndex !== undefined && (!Number.isSafeInteger(fromIndex) || fromIndex < 1))
    throw new InvalidArgumentError(`fromIndex must be a log index (an integer >= 1), got ${String(fromIndex)}`, 'fromIndex');
  const maxBuffered = maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS;
  if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 1)
    throw new InvalidArgumentError(`maxBufferedEvents must be a positive integer, got ${String(maxBufferedEvents)}`, 'maxBufferedEvents');
  return {
    request: {
      op: 'watch',
      ...(prefix !== undefined && prefix !== '' ? { prefix } : {}),
      ...(kinds !== undefined ? { kinds: [...(kinds as readonly WatchKind[])] } : {}),
      ...(fromIndex !== undefined ? { fromIndex } : {}),
    },
    maxBuffered,
  };
}

/** One start of a watch at a node: its subscription once answered, and how it ended if that came first. */
interface Attempt {
  sub?: Subscription;
  ended?: WatchEndFrame['end'] | ConnectionLostError;
}

/** A pending `next()`. */
interface Waiter {
  resolve(r: IteratorResult<WatchEvent>): void;
  reject(err: unknown): void;
}

/**
 * A watch of the cluster's events (`client.watch()`): an async iterator of {@link WatchEvent}s,
 * each with the index of the log entry it comes from, in log order, every event of an index
 * together. It starts at once and follows the cluster until it ends (see the module comment);
 * across lost connections, stopped nodes and new leaders it goes on from the index after the last
 * one it received, so no event is missed or seen twice. While it runs it keeps the process
 * alive: `break` out of the loop (or `return()`) when done.
 *
 * ```ts
 * for await (const ev of client.watch({ prefix: 'orders/', kinds: ['lock'] })) {
 *   console.log(ev.index, ev.type, ev.name, ev.session);
 * }
 * ```
 */
export class Watch implements AsyncIterableIterator<WatchEvent>, AsyncDisposable {
  /**
   * Resolves with the index of the first events it delivers once a node accepted it (a watch
   * without `fromIndex` sees what the cluster does after that); rejects with what ended it when
   * it ends first.
   */
  readonly ready: Promise<number>;
  private settleReady: { resolve(index: number): void; reject(err: unknown): void } | undefined;
  private readonly queue: WatchEvent[] = [];
  /** Where {@link queue}'s unread events start (shifting an array is linear). */
  private head = 0;
  private readonly waiters: Waiter[] = [];
  private readonly stopper = new AbortController();
  private current: Attempt | undefined;
  /** The index a start asks for next: after the last one received (undefined: "from now", first start only). */
  private resumeAt: number | undefined;
  /** The index after the last event read, or where the watch started. */
  private next_: number | undefined;
  /** What ended the watch; thrown once the events received before it are read. */
  private failure: { readonly error: unknown } | undefined;
  private finished = false;
  /** Starts in a row that ended without delivering anything: they earn a growing pause. */
  private fruitless = 0;
  private readonly request: RequestOf<'watch'>;
  private readonly maxBuffered: number;
  private readonly onAbort: (() => void) | undefined;

  /** @internal Created by `client.watch()`. */
  constructor(
    private readonly feed: WatchFeed,
    opts: WatchOptions,
  ) {
    const { request, maxBuffered } = checkWatchOptions(opts);
    this.request = request;
    this.maxBuffered = maxBuffered;
    this.resumeAt = opts.fromIndex;
    this.next_ = opts.fromIndex;
    this.ready = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(() => {}); // a caller may never look at it; next() reports the same error
    const signal = opts.signal;
    if (signal?.aborted === true) {
      this.onAbort = undefined;
      this.fail(signal.reason, true);
      return;
    }
    if (signal !== undefined) {
      const onAbort = (): void => this.fail(signal.reason, true);
      this.onAbort = () => signal.removeEventListener('abort', onAbort);
      signal.addEventListener('abort', onAbort, { once: true });
    } else {
      this.onAbort = undefined;
    }
    void this.start();
  }

  /**
   * Where a watch must start to go on exactly after what was read from this one: the index after
   * the last event read (every event of lower indices was delivered, none of it or later), or
   * where this watch started when nothing was read yet. Undefined until then for a watch started
   * without `fromIndex`. Pass it as `fromIndex` after the watch ended.
   */
  get nextIndex(): number | undefined {
    return this.next_;
  }

  /** Itself: a watch is iterated once, by one consumer. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next event, waiting for one; done once the watch was stopped; rejects with what ended it. */
  async next(): Promise<IteratorResult<WatchEvent>> {
    const ev = this.take();
    if (ev !== undefined) return { value: ev, done: false };
    if (this.finished) return { value: undefined, done: true };
    if (this.failure !== undefined) {
      this.finish();
      throw this.failure.error;
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * @internal Every event of the next index at once (an index is never split: a node sends whole
   * indices), for the conveniences that judge the state after a whole entry.
   */
  async nextEntry(): Promise<IteratorResult<readonly WatchEvent[]>> {
    const first = await this.next();
    if (first.done === true) return first;
    const entry = [first.value];
    for (let ev = this.peek(); ev !== undefined && ev.index === first.value.index; ev = this.peek()) entry.push(this.take() as WatchEvent);
    return { value: entry, done: false };
  }

  /** Stops the watch (the node stops sending it); pending and later `next()` calls are done. */
  return(): Promise<IteratorResult<WatchEvent>> {
    if (!this.finished) {
      this.queue.length = 0;
      this.head = 0;
      this.finish();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /** For `await using`: {@link return}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  /** Starts (again) at a node, from {@link resumeAt}. */
  private async start(): Promise<void> {
    const attempt: Attempt = {};
    this.current = attempt;
    const sink: WatchSink = {
      events: (events, through) => {
        if (this.current === attempt) this.received(events, through);
      },
      ended: (why) => {
        if (this.current !== attempt) return;
        // Before its answer was taken in, its start index may not be known yet: decided below.
        if (attempt.sub === undefined) attempt.ended = why;
        else this.lost(why);
      },
    };
    const from = this.resumeAt;
    let sub: Subscription;
    try {
      sub = await this.feed.subscribe(from === undefined ? this.request : { ...this.request, fromIndex: from }, sink, this.stopper.signal);
    } catch (err) {
      if (this.current === attempt) this.fail(err, false);
      return;
    }
    if (this.current !== attempt) {
      sub.stop();
      return;
    }
    attempt.sub = sub;
    this.resumeAt ??= sub.fromIndex;
    this.next_ ??= sub.fromIndex;
    this.settleReady?.resolve(sub.fromIndex);
    this.settleReady = undefined;
    if (attempt.ended !== undefined) this.lost(attempt.ended);
  }

  /**
   * Events of the current start: new ones are kept (a resume may repeat what came before it).
   * `through` moves the resume point on even when nothing is new (a progress frame), so that a
   * quiet watch resumes near the log's end, not where it started.
   */
  private received(events: readonly WatchEvent[], through: number): void {
    const from = this.resumeAt;
    const fresh = from === undefined ? events : events.filter((ev) => ev.index >= from);
    const last = fresh[fresh.length - 1];
    if (last === undefined) {
      this.progressed(through);
      return;
    }
    const kept = this.queue.length - this.head;
    // A frame always fits in an empty queue: the bound is then the node's frame, not ours.
    if (kept > 0 && kept + fresh.length > this.maxBuffered) {
      this.fail(
        new LimitExceededError(
          `the watch's consumer fell behind: ${kept} events waited to be read (maxBufferedEvents ${this.maxBuffered}); ` +
            `the watch ended after them: watch again with fromIndex ${(fresh[0] as WatchEvent).index} to go on`,
        ),
        false,
      );
      return;
    }
    this.queue.push(...fresh);
    this.resumeAt = Math.max(last.index, through) + 1;
    this.fruitless = 0;
    this.wake();
  }

  /** Nothing new up to `through`: resume past it, and so may the consumer when it has read everything. */
  private progressed(through: number): void {
    if (this.resumeAt !== undefined && through < this.resumeAt) return;
    this.resumeAt = through + 1;
    if (this.head === this.queue.length) this.next_ = through + 1;
  }

  /** The current start ended: start again where it stopped, or end the watch with a typed error. */
  private lost(why: WatchEndFrame['end'] | ConnectionLostError): void {
    this.current = undefined;
    if (why instanceof ConnectionLostError || why.code === 'UNAVAILABLE') {
      this.restart();
      return;
    }
    const at = this.resumeAt ?? 0;
    this.fail(
      why.code === 'COMPACTED'
        ? new CompactedError(`${why.message} (the watch had reached index ${at})`, why.resyncFrom ?? 0)
        : new LimitExceededError(`${why.message}; watch again with fromIndex ${at} to go on`),
      false,
    );
  }

  /** Starts again, at once the first time, after a growing pause while starts keep ending with nothing delivered. */
  private restart(): void {
    const pauseMs = this.fruitless === 0 ? 0 : Math.min(10 * 2 ** (this.fruitless - 1), MAX_RESTART_PAUSE_MS);
    this.fruitless++;
    if (pauseMs === 0) {
      void this.start();
      return;
    }
    const placeholder: Attempt = {};
    this.current = placeholder;
    void this.feed.pause(pauseMs, this.stopper.signal).then(() => {
      if (this.current === placeholder) void this.start();
    });
  }

  /**
   * Ends the watch with `error`: at once (`now`: an abort drops what is unread), or once the
   * events received before it are read.
   */
  private fail(error: unknown, now: boolean): void {
    if (this.finished || this.failure !== undefined) return;
    this.failure = { error };
    this.stop();
    this.settleReady?.reject(error);
    this.settleReady = undefined;
    if (now) {
      this.queue.length = 0;
      this.head = 0;
    }
    this.wake();
  }

  /** Stops whatever runs at a node, and any start or pause under way. */
  private stop(): void {
    const attempt = this.current;
    this.current = undefined;
    attempt?.sub?.stop();
    this.stopper.abort();
    this.onAbort?.();
  }

  /** The watch is over: nothing more is delivered; pending `next()` calls are done. */
  private finish(): void {
    this.finished = true;
    this.stop();
    this.settleReady?.reject(new DOMException('the watch was stopped before a node accepted it', 'AbortError'));
    this.settleReady = undefined;
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  /** Serves pending `next()` calls from the queue, then with the failure. */
  private wake(): void {
    while (this.waiters.length > 0) {
      const ev = this.take();
      if (ev !== undefined) {
        (this.waiters.shift() as Waiter).resolve({ value: ev, done: false });
        continue;
      }
      if (this.failure === undefined) return;
      const first = this.waiters.shift() as Waiter;
      const { error } = this.failure;
      this.finish();
      first.reject(error);
      return;
    }
  }

  private peek(): WatchEvent | undefined {
    return this.queue[this.head];
  }

  /** Takes the next unread event, if any. */
  private take(): WatchEvent | undefined {
    const ev = this.queue[this.head];
    if (ev === undefined) return undefined;
    this.head++;
    this.next_ = ev.index + 1;
    // Drop what was read now and then, not at every event (a splice is linear).
    if (this.head >= 1_024 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return ev;
  }
}

/** A state read and the index it was read at. @internal */
export interface IndexedRead<T> {
  readonly value: T;
  readonly index: number;
}

/** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  const w = await waitFor(new Promise<never>(() => {}), ms, [signal]);
  if (w.kind === 'aborted') throw w.signal.reason;
}

/**
 * A read's answer with the index it came with; a node that gives none breaks the contract, and
 * the read is refused as the cluster being unavailable. @internal
 */
export function withIndex<T>(value: T, index: number | undefined): IndexedRead<T> {
  if (index === undefined) throw new UnavailableError('a node answered a read without its index (an older node?)', false);
  return { value, index };
}
