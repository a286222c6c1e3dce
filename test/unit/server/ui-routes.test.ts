/**
 * The cluster page's server side (docs/operations.md#the-cluster-page): the member cards as the
 * answering node knows them, the bounded tables of its applied state, the event feed's query,
 * lines, backlog bound and end, the routes' limits, and the page itself (nothing loaded from
 * anywhere, its inline script and style allowed by hash, cluster data never written as markup).
 */
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MAX_WATCH_BACKLOG_BYTES, type NodeStatus, type WatchEvent } from '../../../src/protocol/index.js';
import { WatchLog } from '../../../src/service/index.js';
import { eventLines, parseFeedQuery, UI_FEED_LINE_CHARS, UiFeed, type FeedSink } from '../../../src/server/ui-feed.js';
import { UI_SCRIPT } from '../../../src/server/ui-page-script.js';
import { UI_STYLE } from '../../../src/server/ui-page-style.js';
import { UI_CSP, uiPage } from '../../../src/server/ui-page.js';
import { MAX_UI_FEEDS, UiRoutes } from '../../../src/server/ui-routes.js';
import { UI_NAMES_PER_ROW, UI_ROWS, UI_SESSION_NAME_CHARS, uiMembers, uiTables, type UiMachine } from '../../../src/server/ui-state.js';
import { Driver } from '../state-machine/driver.js';

function nodeStatus(over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    id: 1,
    clusterId: 'c',
    address: '127.0.0.1:7101',
    pid: 1,
    role: 'leader',
    term: 4,
    leader: 1,
    leaderAddress: '127.0.0.1:7101',
    commit: 90,
    applied: 88,
    lastIndex: 100,
    snapshotIndex: 0,
    digest: '0',
    memory: { rss: 0, heapUsed: 0 },
    peers: [
      { id: 2, address: '127.0.0.1:7102', match: 100, next: 101, state: 'replicate', active: true },
      { id: 3, address: '127.0.0.1:7103', match: 60, next: 61, state: 'probe', active: false },
    ],
    members: [
      { id: 1, address: '127.0.0.1:7101', role: 'voter' },
      { id: 2, address: '127.0.0.1:7102', role: 'voter' },
      { id: 3, address: '127.0.0.1:7103', role: 'voter' },
      { id: 4, address: '127.0.0.1:7104', role: 'learner' },
    ],
    configIndex: 1,
    changePending: false,
    ...over,
  };
}

/** A sink that records what a feed writes; `backlog` stands for what the page has not read. */
class FakeSink implements FeedSink {
  status = 0;
  headers: Record<string, string> = {};
  text = '';
  ended = false;
  destroyed = false;
  backlog = 0;
  private onClose: (() => void) | undefined;

  get writableLength(): number {
    return this.backlog;
  }
  writeHead(status: number, headers: Record<string, string>): void {
    this.status = status;
    this.headers = headers;
  }
  write(chunk: string): void {
    if (this.ended) throw new Error('write after end');
    this.text += chunk;
  }
  end(chunk?: string): void {
    if (chunk !== undefined) this.write(chunk);
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.close();
  }
  once(_event: 'close', listener: () => void): void {
    this.onClose = listener;
  }
  /** The connection goes away (the page closed, or the feed ended and was read). */
  close(): void {
    const f = this.onClose;
    this.onClose = undefined;
    f?.();
  }
  lines(): Array<Record<string, unknown>> {
    return this.text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

const ev = (index: number, name: string, type: WatchEvent['type'] = 'granted'): WatchEvent => ({
  index,
  type,
  kind: 'lock',
  name,
  session: 1,
});
/** Lets the watch log's catch-up (a later microtask) run. */
const microtasks = (): Promise<void> => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('member cards', () => {
  it('on the leader: its own figures, and each follower from its replication progress', () => {
    const cards = uiMembers(nodeStatus());
    expect(cards.map((c) => [c.id, c.role, c.source, c.health])).toEqual([
      [1, 'leader', 'self', 'healthy'],
      [2, 'follower', 'progress', 'healthy'],
      [3, 'follower', 'progress', 'unreachable'],
      [4, 'learner', 'progress', 'unknown'],
    ]);
    expect(cards[0]).toMatchObject({ self: true, term: 4, commit: 90, applied: 88, lag: 0 });
    expect(cards[1]).toMatchObject({ term: 4, match: 100, lag: 0, commit: null, applied: null });
    // Not heard from lately: its term is not known, its lag is what it misses of the leader's log.
    expect(cards[2]).toMatchObject({ term: null, match: 60, lag: 40 });
    expect(cards[3]).toMatchObject({ membership: 'learner', match: null, lag: null });
  });

  it('on a follower: its own figures, the leader it follows, nothing it cannot know', () => {
    const st = nodeStatus({ id: 2, role: 'follower', leader: 3, peers: [] });
    const cards = uiMembers(st);
    expect(cards.map((c) => [c.id, c.role, c.source, c.term, c.health])).toEqual([
      [1, 'follower', 'membership', null, 'unknown'],
      [2, 'follower', 'self', 4, 'healthy'],
      [3, 'leader', 'membership', 4, 'unknown'],
      [4, 'learner', 'membership', null, 'unknown'],
    ]);
    expect(cards[1]).toMatchObject({ commit: 90, applied: 88, lag: null });
  });
});

describe('tables', () => {
  it("are this node's applied state, each bounded, with whether more rows exist", () => {
    const d = new Driver();
    const a = d.open(10_000, 'orders-api');
    const b = d.open();
    d.write(a, { type: 'acquire', name: 'orders/1', waitMs: 0 });
    d.write(b, { type: 'acquire', name: 'orders/1', waitMs: 5_000 });
    d.write(a, { type: 'counter-add', name: 'hits', delta: 3 });
    for (let k = 0; k < UI_NAMES_PER_ROW + 2; k++) {
      d.write(b, { type: 'acquire-permit', kind: 'semaphore', name: 'pool', permits: 20, waitMs: 0 });
      d.write(a, { type: 'acquire', name: `held/${k}`, waitMs: 0 });
    }
    d.write(b, { type: 'acquire-permit', kind: 'rwlock', name: 'catalog', mode: 'read', waitMs: 0 });
    d.write(a, { type: 'acquire-permit', kind: 'election', name: 'scheduler', value: 'host-a', waitMs: 0 });
    const t = uiTables(d.m);
    expect(t.applied).toBe(d.index);
    expect(t.locks.items.find((l) => l.name === 'orders/1')).toMatchObject({ holder: { sessionId: a }, waiters: 1 });
    expect(t.counters).toEqual({ items: [{ name: 'hits', value: 3 }], more: false });
    const pool = t.semaphores.items[0];
    expect(pool).toMatchObject({ name: 'pool', permits: 20, available: 20 - UI_NAMES_PER_ROW - 2, holderCount: UI_NAMES_PER_ROW + 2 });
    expect(pool?.holders).toHaveLength(UI_NAMES_PER_ROW);
    expect(t.rwlocks.items[0]).toMatchObject({ name: 'catalog', mode: 'read', holderCount: 1 });
    expect(t.elections.items[0]).toMatchObject({ name: 'scheduler', leader: { sessionId: a, value: 'host-a' }, candidates: 0 });
    expect(t.sessions.items.map((s) => s.sessionId)).toEqual([a, b]);
    expect(t.sessions.items[0]).toMatchObject({ clientId: 'orders-api', lockCount: UI_NAMES_PER_ROW + 3, waitCount: 0 });
    expect(t.sessions.items[0]?.locks).toHaveLength(UI_NAMES_PER_ROW);
    expect(t.sessions.items[1]).toMatchObject({ lockCount: 0, waitCount: 1 });
    expect(t).toMatchObject({ locksHeld: UI_NAMES_PER_ROW + 3, waiting: 1, sessionCount: 2 });
    expect([t.locks.more, t.sessions.more, t.semaphores.more]).toEqual([false, false, false]);
  });

  it(`cut a session row's client id and lock names to ${UI_SESSION_NAME_CHARS} characters`, () => {
    const d = new Driver();
    const s = d.open(10_000, 'c'.repeat(200));
    d.write(s, { type: 'acquire', name: 'n'.repeat(200), waitMs: 0 });
    const row = uiTables(d.m).sessions.items[0];
    expect(row?.clientId).toBe(`${'c'.repeat(UI_SESSION_NAME_CHARS - 1)}…`);
    expect(row?.locks).toEqual([`${'n'.repeat(UI_SESSION_NAME_CHARS - 1)}…`]);
  });

  it(`show the first ${UI_ROWS} rows of a table and say more exist`, () => {
    const d = new Driver({ limits: { maxLocksPerSession: 1_000 } });
    const s = d.open();
    for (let k = 0; k <= UI_ROWS; k++) {
      d.open();
      d.write(s, { type: 'acquire', name: `l/${String(k).padStart(4, '0')}`, waitMs: 0 });
      d.write(s, { type: 'counter-add', name: `c/${String(k).padStart(4, '0')}`, delta: 1 });
    }
    const t = uiTables(d.m);
    for (const table of [t.locks, t.counters, t.sessions]) {
      expect(table.items).toHaveLength(UI_ROWS);
      expect(table.more).toBe(true);
    }
    expect(t.locks.items[0]?.name).toBe('l/0000');
    expect(t.sessionCount).toBe(UI_ROWS + 2);
  });
});

describe('the feed query', () => {
  it('takes fromIndex, prefix and kinds', () => {
    expect(parseFeedQuery(new URLSearchParams(''), 256)).toEqual({ prefix: '' });
    expect(parseFeedQuery(new URLSearchParams('fromIndex=42&prefix=orders/&kinds=lock,counter'), 256)).toEqual({
      fromIndex: 42,
      prefix: 'orders/',
      kinds: new Set(['lock', 'counter']),
    });
  });

  it.each([
    ['fromIndex=0', 'fromIndex'],
    ['fromIndex=-1', 'fromIndex'],
    ['fromIndex=1.5', 'fromIndex'],
    ['fromIndex=99999999999999999', 'fromIndex'],
    ['fromIndex=1&fromIndex=2', 'fromIndex'],
    ['kinds=lock,gadget', 'kinds'],
    ['kinds=', 'kinds'],
    [`prefix=${'x'.repeat(257)}`, 'prefix'],
    ['token=abc', 'unknown parameter'],
  ])('refuses %s, naming %s', (query, named) => {
    const r = parseFeedQuery(new URLSearchParams(query), 256);
    expect(typeof r).toBe('string');
    expect(r).toContain(named);
  });
});

describe('feed lines', () => {
  it('carry whole indices, a line closed at the first index boundary past the bound', () => {
    const big = 'n'.repeat(UI_FEED_LINE_CHARS / 2);
    const events = [ev(5, big), ev(5, big), ev(5, 'a'), ev(6, 'b'), ev(7, big)];
    const lines = eventLines(events).map((l) => (JSON.parse(l) as { events: WatchEvent[] }).events.map((e) => e.index));
    expect(lines).toEqual([
      [5, 5, 5],
      [6, 7],
    ]);
    expect(eventLines([ev(1, 'x')])).toEqual([`{"events":[${JSON.stringify(ev(1, 'x'))}]}\n`]);
  });
});

describe('a feed', () => {
  it('starts with the started line, then streams events from the asked index; the page leaving ends the watch', async () => {
    const log = new WatchLog();
    log.append(1, [ev(1, 'a')]);
    log.append(2, [ev(2, 'b')]);
    const sink = new FakeSink();
    let closed = 0;
    const feed = new UiFeed(sink, log, { prefix: '', fromIndex: 2 }, () => closed++);
    await microtasks();
    log.append(3, [ev(3, 'c', 'released')]);
    expect(sink.status).toBe(200);
    expect(sink.headers['content-type']).toContain('application/x-ndjson');
    expect(sink.lines()).toEqual([{ started: { fromIndex: 2 } }, { events: [ev(2, 'b')] }, { events: [ev(3, 'c', 'released')] }]);
    expect(log.subscriberCount).toBe(1);
    feed.ping(1234);
    expect(sink.lines().at(-1)).toEqual({ ping: 1234 });
    sink.close();
    expect([closed, log.subscriberCount, feed.open]).toEqual([1, 0, false]);
  });

  it('follows only the prefix and kinds asked for', async () => {
    const log = new WatchLog();
    const sink = new FakeSink();
    new UiFeed(sink, log, { prefix: 'o', kinds: new Set(['lock']) }, () => {});
    await microtasks();
    log.append(1, [ev(1, 'orders'), ev(1, 'x'), { index: 1, type: 'counter-changed', kind: 'counter', name: 'o', value: 1 }]);
    expect(sink.lines()).toEqual([{ started: { fromIndex: 1 } }, { events: [ev(1, 'orders')] }]);
  });

  it('answers an index older than the node keeps with a COMPACTED end line and the index to resync from', () => {
    const log = new WatchLog({ firstIndex: 50 });
    const sink = new FakeSink();
    new UiFeed(sink, log, { prefix: '', fromIndex: 10 }, () => {});
    expect(sink.status).toBe(200);
    expect(sink.lines()).toEqual([{ end: expect.objectContaining({ code: 'COMPACTED', resyncFrom: 50 }) as unknown }]);
    expect(sink.ended).toBe(true);
    expect(log.subscriberCount).toBe(0);
  });

  it(`cuts off a page that left more than ${MAX_WATCH_BACKLOG_BYTES} bytes unread, and drops its connection if it still does not read`, async () => {
    const log = new WatchLog();
    const sink = new FakeSink();
    let closed = 0;
    const feed = new UiFeed(sink, log, { prefix: '' }, () => closed++);
    await microtasks();
    // At the bound: still streamed (the control: the check does not fire early).
    sink.backlog = MAX_WATCH_BACKLOG_BYTES;
    log.append(1, [ev(1, 'a')]);
    expect(sink.lines().at(-1)).toEqual({ events: [ev(1, 'a')] });
    sink.backlog = MAX_WATCH_BACKLOG_BYTES + 1;
    log.append(2, [ev(2, 'b')]);
    expect(sink.lines().at(-1)).toEqual({ end: expect.objectContaining({ code: 'LIMIT_EXCEEDED' }) as unknown });
    expect([sink.ended, feed.open, log.subscriberCount]).toEqual([true, false, 0]);
    log.append(3, [ev(3, 'c')]);
    expect(sink.lines().filter((l) => 'events' in l)).toHaveLength(1);
    feed.ping(1);
    expect(sink.destroyed).toBe(false);
    feed.ping(2);
    expect([sink.destroyed, closed]).toEqual([true, 1]);
  });

  it('a ping finds a page behind on reading too', async () => {
    const sink = new FakeSink();
    const feed = new UiFeed(sink, new WatchLog(), { prefix: '' }, () => {});
    await microtasks();
    sink.backlog = MAX_WATCH_BACKLOG_BYTES + 1;
    feed.ping(5);
    expect(sink.lines().at(-1)).toEqual({ end: expect.objectContaining({ code: 'LIMIT_EXCEEDED' }) as unknown });
  });

  it('ends with UNAVAILABLE when the node stops', async () => {
    const log = new WatchLog();
    const sink = new FakeSink();
    new UiFeed(sink, log, { prefix: '' }, () => {});
    await microtasks();
    log.close('node stopping');
    expect(sink.lines().at(-1)).toEqual({ end: expect.objectContaining({ code: 'UNAVAILABLE' }) as unknown });
    expect(sink.ended).toBe(true);
  });
});

/** A machine that counts its listings, for the routes' reuse of the tables. */
function countingMachine(d: Driver): { machine: UiMachine; listings: () => number } {
  let n = 0;
  const m = d.m;
  const machine: UiMachine = {
    get appliedIndex() {
      return m.appliedIndex;
    },
    get lastTime() {
      return m.lastTime;
    },
    get locksHeld() {
      return m.locksHeld;
    },
    get waiterCount() {
      return m.waiterCount;
    },
    get sessionCount() {
      return m.sessionCount;
    },
    listLocks: (args) => {
      n++;
      return m.listLocks(args);
    },
    listCounters: (args) => m.listCounters(args),
    listPermits: (kind, args) => m.listPermits(kind, args),
    listSessions: (limit) => m.listSessions(limit),
  };
  return { machine, listings: () => n };
}

describe('the routes', () => {
  function routes(d = new Driver(), log = new WatchLog()): { r: UiRoutes; listings: () => number; d: Driver } {
    const { machine, listings } = countingMachine(d);
    const r = new UiRoutes({ status: () => nodeStatus(), machine, watches: log, tokenRequired: false, maxNameBytes: 256 });
    return { r, listings, d };
  }

  it('read the tables again only once something new is applied', () => {
    const { r, listings, d } = routes();
    const s = d.open();
    const first = r.state();
    expect(first).toMatchObject({ clusterId: 'c', node: { id: 1, role: 'leader' }, tables: { applied: d.index } });
    expect(first.members).toHaveLength(4);
    r.state();
    expect(listings()).toBe(1);
    d.write(s, { type: 'acquire', name: 'x', waitMs: 0 });
    expect(r.state().tables.locks.items.map((l) => l.name)).toEqual(['x']);
    expect(listings()).toBe(2);
  });

  it(`refuse bad feed parameters, and a feed beyond ${MAX_UI_FEEDS}`, () => {
    const { r } = routes();
    expect(r.streamEvents(new FakeSink(), new URLSearchParams('fromIndex=x'))).toMatchObject({
      status: 400,
      error: { code: 'INVALID_ARGUMENT' },
    });
    const sinks = Array.from({ length: MAX_UI_FEEDS }, () => new FakeSink());
    for (const s of sinks) expect(r.streamEvents(s, new URLSearchParams())).toBeUndefined();
    expect(r.streamEvents(new FakeSink(), new URLSearchParams())).toMatchObject({ status: 429, error: { code: 'LIMIT_EXCEEDED' } });
    // A page that leaves makes room.
    sinks[0]?.close();
    expect(r.feedCount).toBe(MAX_UI_FEEDS - 1);
    const last = new FakeSink();
    expect(r.streamEvents(last, new URLSearchParams())).toBeUndefined();
    r.close('test over');
    for (const s of [...sinks.slice(1), last]) {
      expect(s.lines().at(-1)).toEqual({ end: expect.objectContaining({ code: 'UNAVAILABLE' }) as unknown });
      s.close();
    }
    expect(r.feedCount).toBe(0);
  });
});

/** The `src`/`href` values and CSS `url(…)`s of a page that are not data URLs: what it would load. */
function externalResources(html: string): string[] {
  const found = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1] ?? '').filter((v) => !v.startsWith('data:'));
  found.push(...[...html.matchAll(/url\(|@import/g)].map((m) => m[0]));
  return found;
}

/** Ways a script can turn text into markup: cluster data must go in as text. */
function markupSinks(script: string): string[] {
  return [...script.matchAll(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\b|new Function/g)].map((m) => m[0]);
}

describe('the page', () => {
  const page = uiPage(true);

  it('loads nothing from anywhere, and its policy allows exactly its inline script and style', () => {
    expect(externalResources(page)).toEqual([]);
    expect(externalResources('<img src="https://cdn.example/x.png">')).toEqual(['https://cdn.example/x.png']); // control
    const script = /<script>([\s\S]*)<\/script>/.exec(page)?.[1];
    const style = /<style>([\s\S]*)<\/style>/.exec(page)?.[1];
    expect(script).toBe(UI_SCRIPT);
    expect(style).toBe(UI_STYLE);
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page.match(/<style/g)).toHaveLength(1);
    expect(page).not.toMatch(/ style="/);
    expect(UI_CSP).toContain("default-src 'none'");
    expect(UI_CSP).toContain("connect-src 'self'");
    expect(UI_CSP).not.toContain('unsafe-inline');
  });

  it('tells its script whether to ask for a token first', () => {
    expect(uiPage(true)).toContain('data-auth="token"');
    expect(uiPage(false)).toContain('data-auth="open"');
  });

  it('has a script that compiles and writes cluster data only as text', () => {
    expect(() => new Script(UI_SCRIPT)).not.toThrow();
    expect(markupSinks(UI_SCRIPT)).toEqual([]);
    expect(markupSinks('row.innerHTML = name;')).toEqual(['innerHTML']); // control
  });
});
