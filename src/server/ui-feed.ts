/**
 * `GET /ui/events` (docs/operations.md#the-cluster-page): the node's watch events as one
 * streamed response of newline-delimited JSON, for the cluster page's live feed. A streamed
 * `fetch` rather than `EventSource`, because only `fetch` can send the `Authorization` header
 * the `read` role is checked with; a token in the URL would end up in logs and history.
 *
 * Lines, one JSON object each:
 * - `{"started":{"fromIndex":N}}` first: the first index whose events follow;
 * - `{"events":[…]}`: every event of each index it holds, in index order (an index is never
 *   split between lines);
 * - `{"ping":T}` every {@link UI_FEED_PING_MS}: the node's clock; keeps proxies from cutting an
 *   idle stream, and finds a page that went away without closing its connection;
 * - `{"end":{"code","message","resyncFrom"?}}` last, as a watch ends (`COMPACTED` when the asked
 *   index is older than the node keeps, `LIMIT_EXCEEDED` when the page reads too slowly,
 *   `UNAVAILABLE` when the node stops or restores a snapshot).
 *
 * Bounded like the WebSocket watches: a page that leaves more than MAX_WATCH_BACKLOG_BYTES
 * unread is ended with `LIMIT_EXCEEDED`, never buffered further, and its connection is closed
 * at the next ping if it still has not read; a page that goes away cancels its subscription.
 */
import { MAX_WATCH_BACKLOG_BYTES, WATCH_KINDS, type WatchEndFrame, type WatchEvent, type WatchKind } from '../protocol/index.js';
import type { WatchLog } from '../service/index.js';

/** How often an open feed gets a ping line (and a feed cut off for reading too slowly is closed). */
export const UI_FEED_PING_MS = 10_000;
/** Most characters of events in one line: a line ends at the first index boundary past it. */
export const UI_FEED_LINE_CHARS = 64 * 1024;

/** What a feed follows: the node's watch history (`LockService.watches`). */
export type WatchSource = Pick<WatchLog, 'subscribe'>;

/** A feed's request: what `/ui/events?fromIndex=&prefix=&kinds=` asks for. */
export interface FeedRequest {
  /** Absent: from the next index the node applies. */
  readonly fromIndex?: number;
  readonly prefix: string;
  readonly kinds?: ReadonlySet<WatchKind>;
}

/** The part of a `ServerResponse` a feed writes to. */
export interface FeedSink {
  readonly writableLength: number;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): unknown;
  end(chunk?: string): unknown;
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}

const QUERY_KEYS = new Set(['fromIndex', 'prefix', 'kinds']);

/**
 * The feed `query` asks for, or what is wrong with it (a 400 for the caller). Unknown
 * parameters are refused, as the client protocol refuses unknown fields.
 */
export function parseFeedQuery(query: URLSearchParams, maxPrefixBytes: number): FeedRequest | string {
  for (const key of query.keys())
    if (!QUERY_KEYS.has(key)) return `unknown parameter ${JSON.stringify(key.slice(0, 40))}: expected fromIndex, prefix, kinds`;
  for (const key of QUERY_KEYS) if (query.getAll(key).length > 1) return `${key}: given more than once`;
  const prefix = query.get('prefix') ?? '';
  if (Buffer.byteLength(prefix) > maxPrefixBytes) return `prefix: over ${maxPrefixBytes} bytes, the longest name`;
  const fromText = query.get('fromIndex');
  const fromIndex = fromText === null ? undefined : parseIndex(fromText);
  if (fromIndex === null) return 'fromIndex: expected a log index, an integer of 1 or more';
  const kindsText = query.get('kinds');
  const kinds = kindsText === null ? undefined : parseKinds(kindsText);
  if (typeof kinds === 'string') return kinds;
  return { prefix, ...(fromIndex !== undefined ? { fromIndex } : {}), ...(kinds !== undefined ? { kinds } : {}) };
}

/** `text` as a log index (a safe integer ≥ 1 in plain decimal), or null. */
function parseIndex(text: string): number | null {
  const n = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** A comma-separated list of {@link WATCH_KINDS}, or what is wrong with it. */
function parseKinds(text: string): Set<WatchKind> | string {
  const kinds = new Set<WatchKind>();
  for (const k of text.split(',')) {
    if (!(WATCH_KINDS as readonly string[]).includes(k))
      return `kinds: ${JSON.stringify(k.slice(0, 40))} is not one of ${WATCH_KINDS.join(', ')}`;
    kinds.add(k as WatchKind);
  }
  return kinds;
}

/**
 * The lines carrying `events`: whole indices, a line closed at the first index boundary past
 * {@link UI_FEED_LINE_CHARS}.
 */
export function eventLines(events: readonly WatchEvent[]): string[] {
  const lines: string[] = [];
  let parts: string[] = [];
  let chars = 0;
  events.forEach((ev, k) => {
    const text = JSON.stringify(ev);
    parts.push(text);
    chars += text.length;
    const boundary = k === events.length - 1 || events[k + 1]?.index !== ev.index;
    if (boundary && (chars >= UI_FEED_LINE_CHARS || k === events.length - 1)) {
      lines.push(`{"events":[${parts.join(',')}]}\n`);
      parts = [];
      chars = 0;
    }
  });
  return lines;
}

/** One page's stream of events. */
export class UiFeed {
  private sub: { cancel(): void } | undefined;
  /** `open` while it streams; `ending` once its end line is written; `closed` once the connection is gone. */
  private state: 'open' | 'ending' | 'closed' = 'open';
  /** Ping periods the feed has spent ending without its connection closing. */
  private endingFor = 0;

  /**
   * Starts streaming to `sink`: answers 200 at once and writes the `started` line, or, when the
   * index asked for is older than the node keeps, the `COMPACTED` end line. `onClosed` is called
   * once, when the connection is gone.
   */
  constructor(
    private readonly sink: FeedSink,
    source: WatchSource,
    request: FeedRequest,
    onClosed: (feed: UiFeed) => void,
  ) {
    sink.once('close', () => {
      this.state = 'closed';
      this.sub?.cancel();
      onClosed(this);
    });
    sink.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    const sel = request.kinds !== undefined ? { prefix: request.prefix, kinds: request.kinds } : { prefix: request.prefix };
    const started = source.subscribe(
      sel,
      request.fromIndex,
      (events) => this.deliver(events),
      (e) => this.finish(e),
    );
    if (!started.ok) {
      this.finish({ code: started.code, message: started.message, resyncFrom: started.resyncFrom });
      return;
    }
    this.sub = started.sub;
    // Catch-up events come on a later microtask, so the started line is always first.
    if (this.state === 'open') this.sink.write(`{"started":{"fromIndex":${started.sub.fromIndex}}}\n`);
  }

  /** Whether the feed is still streaming events. */
  get open(): boolean {
    return this.state === 'open';
  }

  /**
   * Called every {@link UI_FEED_PING_MS}: writes a ping line with `now`, or cuts off a page
   * that has not read its backlog; closes the connection of a feed that ended a period ago and
   * whose page still has not read to its end.
   */
  ping(now: number): void {
    if (this.state === 'ending' && ++this.endingFor >= 2) this.drop();
    if (this.state !== 'open' || this.cutIfBehind()) return;
    this.sink.write(`{"ping":${now}}\n`);
  }

  /** Ends the feed with `e` (the node is stopping: `UNAVAILABLE`). */
  finish(e: WatchEndFrame['end']): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.sub?.cancel();
    this.sink.end(`${JSON.stringify({ end: e })}\n`);
  }

  /** Closes the connection at once, whatever the page has not read yet. */
  drop(): void {
    this.sub?.cancel();
    this.sink.destroy();
  }

  private deliver(events: readonly WatchEvent[]): void {
    if (this.state !== 'open' || events.length === 0 || this.cutIfBehind()) return;
    for (const line of eventLines(events)) this.sink.write(line);
  }

  /** Ends the feed with `LIMIT_EXCEEDED` if its page left more than the bound unread. */
  private cutIfBehind(): boolean {
    if (this.sink.writableLength <= MAX_WATCH_BACKLOG_BYTES) return false;
    const mib = MAX_WATCH_BACKLOG_BYTES / (1024 * 1024);
    this.finish({
      code: 'LIMIT_EXCEEDED',
      message: `the page has not read ${mib} MiB of events: it reads too slowly; resume after the last index it saw`,
    });
    return true;
  }
}
