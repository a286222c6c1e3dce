/**
 * The watches of one `/client` connection (docs/design.md#watches): `watch` and `unwatch`, and
 * the frames that carry a watch's events from the node's {@link WatchLog} to the socket.
 *
 * - At most {@link MAX_WATCHES_PER_CONNECTION} at once; one more is refused `LIMIT_EXCEEDED`.
 * - The answer to `watch` goes out before any of its event frames: the log delivers catch-up on
 *   a later microtask, and live events only from the apply loop, never inside the request.
 * - Events go out in frames of whole indices, each about {@link WATCH_FRAME_BYTES} at most (an
 *   index larger than that is one frame of its own).
 * - A catch-up from the history goes at the pace of the socket: once more than
 *   {@link CATCH_UP_LOW_WATER_BYTES} wait in it, the log pauses the catch-up, and resumes it
 *   when the last frame sent has been written out.
 * - **Slow consumers.** Before each frame, if the socket holds more than
 *   {@link MAX_WATCH_BACKLOG_BYTES} the client has not taken, the watch ends with
 *   `LIMIT_EXCEEDED` naming the index to resume from, and nothing more is queued for it: the
 *   node never buffers events without a bound. The connection stays open.
 * - Every watch is cancelled when the connection closes.
 */
import {
  MAX_WATCH_BACKLOG_BYTES,
  MAX_WATCHES_PER_CONNECTION,
  encodeWatchFrame,
  type ClientRequest,
  type ClientResponse,
  type WatchEndFrame,
  type WatchEvent,
} from '../protocol/index.js';
import { eventBytes, type WatchLog, type WatchSubscription } from '../service/index.js';

/** Largest frame of events, about (whole indices: one larger index is a frame of its own). */
export const WATCH_FRAME_BYTES = 256 * 1024;

/** Unsent bytes above which a catch-up from the history waits for the socket to drain. */
export const CATCH_UP_LOW_WATER_BYTES = 1024 * 1024;

/** Where a connection's watch frames go. */
export interface WatchSocket {
  /** Bytes sent but not yet taken by the client (ws's `bufferedAmount`). */
  buffered(): number;
  /** Sends one frame, if the connection is still open; `written` runs once it is written out. */
  send(frame: Buffer, written?: () => void): void;
}

type WatchRequest = Extract<ClientRequest, { readonly op: 'watch' }>;
type UnwatchRequest = Extract<ClientRequest, { readonly op: 'unwatch' }>;

/** A running watch: its subscription, and how many `deliver` calls it has had. */
interface Running {
  readonly sub: WatchSubscription;
  delivers: number;
}

/** See the module comment. */
export class ConnectionWatches {
  private readonly running = new Map<number, Running>();
  /** The id the next watch gets; ids below it were given out on this connection. */
  private nextId = 1;

  constructor(
    private readonly log: WatchLog,
    private readonly socket: WatchSocket,
    private readonly maxBacklogBytes = MAX_WATCH_BACKLOG_BYTES,
  ) {}

  /** Watches running now. */
  get count(): number {
    return this.running.size;
  }

  /** Answers a `watch` or `unwatch` request (exactly once, through `reply`). */
  handle(req: WatchRequest | UnwatchRequest, reply: (r: ClientResponse) => void): void {
    if (req.op === 'unwatch') this.unwatch(req, reply);
    else this.watch(req, reply);
  }

  /** The connection closed: every watch stops, with no frame. */
  cancelAll(): void {
    for (const r of this.running.values()) r.sub.cancel();
    this.running.clear();
  }

  private watch(req: WatchRequest, reply: (r: ClientResponse) => void): void {
    if (this.running.size >= MAX_WATCHES_PER_CONNECTION) {
      const message = `this connection already has ${this.running.size} watches (limit ${MAX_WATCHES_PER_CONNECTION} per connection): unwatch one, or use another connection`;
      reply({ id: req.id, ok: false, error: { code: 'LIMIT_EXCEEDED', message } });
      return;
    }
    const watch = this.nextId++;
    const sel = { prefix: req.prefix ?? '', ...(req.kinds !== undefined ? { kinds: new Set(req.kinds) } : {}) };
    const started = this.log.subscribe(
      sel,
      req.fromIndex,
      (events, through) => this.deliver(watch, events, through),
      (end) => this.ended(watch, end),
    );
    if (!started.ok) {
      reply({ id: req.id, ok: false, error: { code: started.code, message: started.message, resyncFrom: started.resyncFrom } });
      return;
    }
    this.running.set(watch, { sub: started.sub, delivers: 0 });
    reply({ id: req.id, ok: true, value: { watch, fromIndex: started.sub.fromIndex } });
  }

  private unwatch(req: UnwatchRequest, reply: (r: ClientResponse) => void): void {
    if (req.watch >= this.nextId) {
      const message = `no watch ${req.watch} was started on this connection`;
      reply({ id: req.id, ok: false, error: { code: 'INVALID_ARGUMENT', message, field: 'watch' } });
      return;
    }
    // One that ended already (by the node, or an earlier unwatch) is answered alike: an end
    // frame and the client's unwatch may cross.
    this.running.get(req.watch)?.sub.cancel();
    this.running.delete(req.watch);
    reply({ id: req.id, ok: true, value: null });
  }

  /**
   * Sends `events` (whole indices, every event up to `through`; none in a progress call) in
   * frames, each with its `through`, unless the client has stopped taking them. False
   * when the socket holds more than {@link CATCH_UP_LOW_WATER_BYTES}: a catch-up then waits,
   * and resumes once the last frame is written out.
   */
  private deliver(watch: number, events: readonly WatchEvent[], through: number): boolean {
    const r = this.running.get(watch);
    if (r === undefined) return true;
    // Only the frame of the latest call resumes: an earlier one written out says nothing of the rest.
    const call = ++r.delivers;
    let start = 0;
    let bytes = 0;
    for (let k = 0; k < events.length; k++) {
      const ev = events[k] as WatchEvent;
      // A frame ends only between indices.
      if (k > start && bytes + eventBytes(ev) > WATCH_FRAME_BYTES && ev.index !== (events[k - 1] as WatchEvent).index) {
        if (!this.sendFrame(watch, events.slice(start, k), (events[k - 1] as WatchEvent).index)) return true;
        start = k;
        bytes = 0;
      }
      bytes += eventBytes(ev);
    }
    const resume = (): void => {
      if (r.delivers === call) r.sub.resume();
    };
    if (!this.sendFrame(watch, events.slice(start), through, resume)) return true;
    return this.socket.buffered() <= CATCH_UP_LOW_WATER_BYTES;
  }

  /** Sends one frame of events; false if the watch ended instead (the client reads too slowly). */
  private sendFrame(watch: number, events: readonly WatchEvent[], through: number, written?: () => void): boolean {
    const r = this.running.get(watch);
    if (r === undefined) return false;
    const buffered = this.socket.buffered();
    if (buffered > this.maxBacklogBytes) {
      const from = events[0]?.index ?? through + 1;
      r.sub.cancel();
      this.ended(watch, {
        code: 'LIMIT_EXCEEDED',
        message: `watch ${watch}: the client has not read ${buffered} bytes of events (limit ${this.maxBacklogBytes}); it reads too slowly; resume from index ${from}`,
        resyncFrom: from,
      });
      return false;
    }
    this.socket.send(encodeWatchFrame({ watch, events, through }), written);
    return true;
  }

  private ended(watch: number, end: WatchEndFrame['end']): void {
    if (!this.running.delete(watch)) return;
    this.socket.send(encodeWatchFrame({ watch, end }));
  }
}
