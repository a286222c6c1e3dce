/**
 * The watch events a node keeps and the watches that follow them (docs/design.md#watches).
 * Pure: no I/O and no timers; the node appends the events of every entry it applies
 * (watch-events.ts), in index order, and subscribers are called back synchronously as they
 * arrive, except for catch-up from the history, which comes later (a microtask) so the caller
 * can answer the request that started the watch first.
 *
 * - **Bounded history.** The events of the latest indices are kept, at most `maxEvents` events
 *   and about `maxBytes` bytes (whole indices are dropped from the front; one index larger than
 *   the bounds is kept alone). `firstKept` is the oldest index whose events are all kept: a
 *   watch may start there or later, and one asking for older is refused `COMPACTED` with
 *   `resyncFrom = firstKept`.
 * - **Restore.** A node that restores a snapshot skips the entries it covers, and their events
 *   with them: {@link WatchLog.reset} clears the history and ends every watch that needed them
 *   with `COMPACTED`.
 * - A subscriber receives whole indices only, each index's events in order, every index once.
 * - **Catch-up is paced by the subscriber.** The history is handed over in slices of about
 *   {@link CATCH_UP_SLICE_BYTES}; a `deliver` that returns `false` during catch-up stops it until
 *   the subscription's `resume()` (the endpoint's socket drained), so a watch far behind costs
 *   no buffer of its own. A live watch is given every index as it is appended.
 */
import { WATCH_PROGRESS_INDICES, watchSelects, type WatchEndFrame, type WatchEvent, type WatchKind } from '../protocol/index.js';

/** What a watch follows: names starting with `prefix` (all with `''`), of `kinds` (all if absent). */
export interface WatchSelection {
  readonly prefix: string;
  readonly kinds?: ReadonlySet<WatchKind>;
}

/** A running watch. */
export interface WatchSubscription {
  /** The first index whose events it delivers. */
  readonly fromIndex: number;
  /** Stops it: nothing more is delivered, and `end` is not called. */
  cancel(): void;
  /** Carries on with a catch-up that `deliver` paused by returning `false` (else nothing). */
  resume(): void;
}

/** The answer to {@link WatchLog.subscribe}. */
export type WatchStart =
  | { readonly ok: true; readonly sub: WatchSubscription }
  | { readonly ok: false; readonly code: 'COMPACTED'; readonly message: string; readonly resyncFrom: number };

export interface WatchLogOptions {
  /** The first index the node will append (its applied index + 1); default 1. */
  readonly firstIndex?: number;
  /** Most events kept (default 100,000). */
  readonly maxEvents?: number;
  /** Most bytes kept, as {@link eventBytes} estimates them (default 64 MiB). */
  readonly maxBytes?: number;
  /** Indices a watch goes without events before a progress call (default {@link WATCH_PROGRESS_INDICES}; the simulator uses a few). */
  readonly progressIndices?: number;
  /**
   * Runs a watch's catch-up later than its `subscribe` (default: on a microtask). The simulator
   * passes its event queue, which runs nothing between events.
   */
  readonly defer?: (run: () => void) => void;
  /**
   * Negative control of the watch simulation (docs/testing.md#negative-controls): a watch that
   * starts from the history loses the first event delivered to it.
   */
  readonly unsafeDropOneOnResume?: boolean;
}

/** Default most events kept. */
export const DEFAULT_WATCH_HISTORY_EVENTS = 100_000;
/** Default most bytes of events kept. */
export const DEFAULT_WATCH_HISTORY_BYTES = 64 * 1024 * 1024;

/** About how many bytes ({@link eventBytes}) of the history one catch-up call of `deliver` gets. */
export const CATCH_UP_SLICE_BYTES = 256 * 1024;

/**
 * Receives events: whole indices, in order, and `through`: every event the watch selects up to
 * that index has now been given. `events` is empty in a progress call, made when the watch has
 * selected nothing for {@link WATCH_PROGRESS_INDICES} indices. May return `false` during a
 * catch-up to pause it.
 */
export type WatchDeliver = (events: readonly WatchEvent[], through: number) => boolean | void;

/**
 * An upper bound of what an event costs in memory and on the wire: a fixed part, plus its
 * strings (UTF-16 in memory, at most 3 bytes per code unit in UTF-8).
 */
export function eventBytes(ev: WatchEvent): number {
  const value = typeof ev.value === 'string' ? ev.value.length : 0;
  return 96 + 3 * ((ev.name?.length ?? 0) + value + (ev.reason?.length ?? 0));
}

interface Kept {
  readonly index: number;
  readonly events: readonly WatchEvent[];
  readonly bytes: number;
}

class Subscriber implements WatchSubscription {
  /** The next index it has not been given (delivery from the history resumes here). */
  next: number;
  /** Whether it follows appends (false while its catch-up is pending or paused). */
  live = false;
  /** Its catch-up waits for {@link resume}. */
  paused = false;
  /** The last `through` it was given (progress is due when the log is far past it). */
  reported: number;
  done = false;

  constructor(
    private readonly log: WatchLog,
    readonly fromIndex: number,
    readonly sel: WatchSelection,
    readonly deliver: WatchDeliver,
    readonly end: (e: WatchEndFrame['end']) => void,
    /** Negative control: drop the first event it is given. */
    public dropOne: boolean,
  ) {
    this.next = fromIndex;
    this.reported = fromIndex - 1;
  }

  cancel(): void {
    this.done = true;
    this.log.forget(this);
  }

  resume(): void {
    if (!this.paused || this.done) return;
    this.paused = false;
    this.log.catchUp(this);
  }
}

/** See the module comment. */
export class WatchLog {
  private readonly kept: Kept[] = [];
  /** Position in `kept` of its first element (dropped ones are skipped, then spliced off in bulk). */
  private head = 0;
  private events = 0;
  private bytes = 0;
  private readonly progressIndices: number;
  private first: number;
  private last: number;
  private closed: string | undefined;
  private readonly subs = new Set<Subscriber>();
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly dropOneOnResume: boolean;
  private readonly defer: (run: () => void) => void;

  constructor(opts: WatchLogOptions = {}) {
    this.first = opts.firstIndex ?? 1;
    this.last = this.first - 1;
    this.maxEvents = opts.maxEvents ?? DEFAULT_WATCH_HISTORY_EVENTS;
    this.maxBytes = opts.maxBytes ?? DEFAULT_WATCH_HISTORY_BYTES;
    this.dropOneOnResume = opts.unsafeDropOneOnResume === true;
    this.progressIndices = opts.progressIndices ?? WATCH_PROGRESS_INDICES;
    this.defer = opts.defer ?? queueMicrotask;
  }

  /** Oldest index whose events are all kept (events of indices ≥ it are complete). */
  get firstKept(): number {
    return this.first;
  }

  /** Last index appended. */
  get lastIndex(): number {
    return this.last;
  }

  /** Watches running now. */
  get subscriberCount(): number {
    return this.subs.size;
  }

  /** Events kept now. */
  get keptEvents(): number {
    return this.events;
  }

  /**
   * Starts a watch of `sel` from `fromIndex` (undefined: from {@link lastIndex} + 1; later than
   * that: it waits for the node to apply up to there). Catch-up events from the history are
   * delivered on a later microtask (so the caller can answer the request first), in slices
   * (`deliver` returning `false` pauses them until `resume()`), then live ones as they are
   * appended. `deliver` receives whole indices only. `end` is called at most once, after which
   * nothing more is delivered. An index older than {@link firstKept} is refused with `COMPACTED`.
   */
  subscribe(sel: WatchSelection, fromIndex: number | undefined, deliver: WatchDeliver, end: (e: WatchEndFrame['end']) => void): WatchStart {
    const from = fromIndex ?? this.last + 1;
    if (from < this.first) {
      return {
        ok: false,
        code: 'COMPACTED',
        message: `index ${from} is older than this node keeps events for (from ${this.first}): read the state again, then watch from ${this.first}`,
        resyncFrom: this.first,
      };
    }
    const s = new Subscriber(this, from, sel, deliver, end, this.dropOneOnResume && from <= this.last);
    this.subs.add(s);
    this.defer(() => this.catchUp(s));
    return { ok: true, sub: s };
  }

  /** Records the events of entry `index` (every applied entry, also one without events) and delivers them. */
  append(index: number, events: readonly WatchEvent[]): void {
    if (index <= this.last) return;
    this.last = index;
    if (events.length > 0) {
      const bytes = events.reduce((n, ev) => n + eventBytes(ev), 0);
      this.kept.push({ index, events, bytes });
      this.events += events.length;
      this.bytes += bytes;
      this.trim();
    }
    for (const s of [...this.subs]) {
      if (!s.live || s.done || index < s.next) continue;
      s.next = index + 1;
      this.give(s, events, index);
    }
  }

  /**
   * The machine restored a snapshot of index `appliedIndex`: the events of the entries it
   * covers are not known here. The history is cleared, and every watch that has not yet been
   * given the events up to `appliedIndex` is ended with `COMPACTED`.
   */
  reset(appliedIndex: number): void {
    this.kept.length = 0;
    this.head = 0;
    this.events = 0;
    this.bytes = 0;
    this.first = appliedIndex + 1;
    this.last = appliedIndex;
    for (const s of [...this.subs]) {
      if (s.next > appliedIndex) continue;
      this.finish(s, {
        code: 'COMPACTED',
        message: `this node restored a snapshot of index ${appliedIndex}; the events of the indices from ${s.next} to it are lost here: read the state again, then watch from ${this.first}`,
        resyncFrom: this.first,
      });
    }
  }

  /** Ends every watch with `UNAVAILABLE` (the node stops); later ones end at once. */
  close(reason: string): void {
    this.closed = reason;
    for (const s of [...this.subs]) this.finish(s, unavailable(reason, s.next));
  }

  /** @internal A subscription cancelled itself. */
  forget(s: Subscriber): void {
    this.subs.delete(s);
  }

  /** @internal Hands `s` the history from its next index, slice by slice, then makes it live. */
  catchUp(s: Subscriber): void {
    if (s.done || s.paused) return;
    if (this.closed !== undefined) {
      this.finish(s, unavailable(this.closed, s.next));
      return;
    }
    // Appends may have come, and the history moved on, since the subscription.
    if (s.next < this.first) {
      this.finish(s, {
        code: 'COMPACTED',
        message: `index ${s.next} left this node's history before the watch could start: read the state again, then watch from ${this.first}`,
        resyncFrom: this.first,
      });
      return;
    }
    for (let k = this.find(s.next); k < this.kept.length;) {
      const slice: WatchEvent[] = [];
      for (let bytes = 0; k < this.kept.length && (slice.length === 0 || bytes < CATCH_UP_SLICE_BYTES); k++) {
        const kept = this.kept[k] as Kept;
        slice.push(...kept.events);
        bytes += kept.bytes;
        s.next = kept.index + 1;
      }
      if (this.give(s, slice, s.next - 1) === false && !s.done) {
        s.paused = true;
        return;
      }
      if (s.done) return;
    }
    s.next = Math.max(s.next, this.last + 1);
    s.live = true;
    // Quiet indices since the last event given count toward progress like live ones.
    this.give(s, [], this.last);
  }

  /**
   * Delivers the events `s` selects of `events` (whole indices up to `through`), if any, or a
   * progress call when it has been given nothing for {@link WATCH_PROGRESS_INDICES} indices;
   * what `deliver` answered.
   */
  private give(s: Subscriber, events: readonly WatchEvent[], through: number): boolean | void {
    let mine = events.filter((ev) => watchSelects(ev, s.sel.prefix, s.sel.kinds));
    if (s.dropOne && mine.length > 0) {
      s.dropOne = false;
      mine = mine.slice(1);
    }
    if (mine.length === 0 && through - s.reported < this.progressIndices) return;
    s.reported = through;
    try {
      return s.deliver(mine, through);
    } catch (err) {
      // A subscriber's bug must cost its watch, never the apply loop that called it.
      this.finish(s, unavailable(`the watch failed (${err instanceof Error ? err.message.slice(0, 80) : 'error'})`, s.next));
    }
  }

  private finish(s: Subscriber, e: WatchEndFrame['end']): void {
    if (s.done) return;
    s.done = true;
    this.subs.delete(s);
    try {
      s.end(e);
    } catch {
      // As in give(): the watch is over either way.
    }
  }

  /** Position in `kept` of the first index ≥ `index` (binary search: indices only grow). */
  private find(index: number): number {
    let lo = this.head;
    let hi = this.kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.kept[mid] as Kept).index < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops whole indices from the front while the history is over a bound (keeping the newest). */
  private trim(): void {
    while ((this.events > this.maxEvents || this.bytes > this.maxBytes) && this.kept.length - this.head > 1) {
      const gone = this.kept[this.head] as Kept;
      this.head++;
      this.events -= gone.events.length;
      this.bytes -= gone.bytes;
      this.first = gone.index + 1;
    }
    // Splice dropped ones off in bulk, so dropping costs O(1) amortized.
    if (this.head > 1024 && this.head * 2 > this.kept.length) {
      this.kept.splice(0, this.head);
      this.head = 0;
    }
  }
}

function unavailable(reason: string, next: number): WatchEndFrame['end'] {
  return {
    code: 'UNAVAILABLE',
    message: `the node ended the watch: ${reason}; resume from index ${next} on another node`,
    resyncFrom: next,
  };
}
