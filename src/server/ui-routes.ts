/**
 * The cluster page's routes (docs/operations.md#the-cluster-page), served by every node:
 * `GET /ui` the page (open: it holds no cluster data), `GET /ui/state` one snapshot of what it
 * shows, `GET /ui/events` the live feed of watch events. http-routes.ts checks the `read` role
 * for the last two, as for `/status`, before calling here.
 */
import type { ServerResponse } from 'node:http';
import type { NodeStatus } from '../protocol/index.js';
import { parseFeedQuery, UI_FEED_PING_MS, UiFeed, type FeedSink, type WatchSource } from './ui-feed.js';
import { UI_CSP, uiPage } from './ui-page.js';
import { uiMembers, uiTables, type UiMachine, type UiState, type UiTables } from './ui-state.js';

/** Most feeds one node streams at once: each holds a watch subscription and a connection. */
export const MAX_UI_FEEDS = 64;

/** How long a stopping node lets its pages read their feeds' last line. */
const CLOSE_GRACE_MS = 1_000;

/** What the routes read. */
export interface UiSources {
  /** The node's `/status` document. */
  readonly status: () => NodeStatus;
  readonly machine: UiMachine;
  /** The node's watch history (`LockService.watches`). */
  readonly watches: WatchSource;
  /** Whether client tokens are configured (the page then asks for one first). */
  readonly tokenRequired: boolean;
  /** Longest prefix a feed may ask for: the longest name (`limits.maxNameBytes`). */
  readonly maxNameBytes: number;
}

/** A request the routes refuse: the status and error body to answer with. */
export interface UiRefusal {
  readonly status: number;
  readonly error: { readonly code: string; readonly message: string };
}

/** The routes of one node; {@link close} ends its feeds when the node stops. */
export class UiRoutes {
  private readonly feeds = new Set<UiFeed>();
  private pinger: ReturnType<typeof setInterval> | undefined;
  /** The tables of the last snapshot, reused while nothing new has been applied. */
  private tables: UiTables | undefined;
  private readonly page: string;

  constructor(private readonly src: UiSources) {
    this.page = uiPage(src.tokenRequired);
  }

  /** `GET /ui`: the page. */
  sendPage(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(this.page),
      'content-security-policy': UI_CSP,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(this.page);
  }

  /**
   * `GET /ui/state`. The tables are a function of the applied index, so a page polling an idle
   * cluster, or several pages at once, cost one listing per applied entry at most.
   */
  state(): UiState {
    const st = this.src.status();
    if (this.tables?.applied !== this.src.machine.appliedIndex) this.tables = uiTables(this.src.machine);
    return {
      clusterId: st.clusterId,
      node: {
        id: st.id,
        address: st.address,
        role: st.role,
        term: st.term,
        leader: st.leader,
        leaderAddress: st.leaderAddress,
        commit: st.commit,
        applied: st.applied,
        lastIndex: st.lastIndex,
        snapshotIndex: st.snapshotIndex,
        changePending: st.changePending,
      },
      serverTime: Date.now(),
      members: uiMembers(st),
      tables: this.tables,
    };
  }

  /**
   * `GET /ui/events?fromIndex=&prefix=&kinds=`: streams the feed to `res` (ui-feed.ts), or
   * returns why not (bad parameters: 400; {@link MAX_UI_FEEDS} already open: 429).
   */
  streamEvents(res: FeedSink, query: URLSearchParams): UiRefusal | undefined {
    const request = parseFeedQuery(query, this.src.maxNameBytes);
    if (typeof request === 'string') return { status: 400, error: { code: 'INVALID_ARGUMENT', message: request } };
    if (this.feeds.size >= MAX_UI_FEEDS) {
      const message = `this node already streams ${MAX_UI_FEEDS} event feeds, its limit: close a page or open another node's`;
      return { status: 429, error: { code: 'LIMIT_EXCEEDED', message } };
    }
    const feed = new UiFeed(res, this.src.watches, request, (f) => this.forget(f));
    this.feeds.add(feed);
    this.pinger ??= setInterval(() => {
      const now = Date.now();
      for (const f of this.feeds) f.ping(now);
    }, UI_FEED_PING_MS).unref();
    return undefined;
  }

  /** Feeds streaming now. */
  get feedCount(): number {
    return this.feeds.size;
  }

  /**
   * Ends every feed with `UNAVAILABLE` (the node is stopping), and a second later closes the
   * connections of pages that have not read to the end: a server stops only once its
   * connections are gone, and a page that does not read must not hold the node's stop.
   */
  close(reason: string): void {
    for (const f of this.feeds) f.finish({ code: 'UNAVAILABLE', message: reason });
    if (this.feeds.size === 0) return;
    setTimeout(() => {
      for (const f of this.feeds) f.drop();
    }, CLOSE_GRACE_MS).unref();
  }

  private forget(feed: UiFeed): void {
    this.feeds.delete(feed);
    if (this.feeds.size > 0 || this.pinger === undefined) return;
    clearInterval(this.pinger);
    this.pinger = undefined;
  }
}
