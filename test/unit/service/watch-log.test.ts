/**
 * The watch history and its subscriptions (src/service/watch-log.ts): selection, catch-up on a
 * later microtask then live delivery of whole indices, the history's bounds and COMPACTED,
 * reset on restore, close, cancel, a failing subscriber, and the `dropOneOnResume` knob.
 */
import { describe, expect, it } from 'vitest';
import type { WatchEndFrame, WatchEvent, WatchKind } from '../../../src/protocol/index.js';
import { WatchLog, type WatchLogOptions, type WatchSelection } from '../../../src/service/watch-log.js';

function counter(index: number, name = `c${index}`): WatchEvent {
  return { index, type: 'counter-changed', kind: 'counter', name, value: index };
}

function session(index: number): WatchEvent {
  return { index, type: 'session-opened', kind: 'session', session: index };
}

/** A subscriber that records what it is given. */
class Sink {
  readonly batches: WatchEvent[][] = [];
  ends: WatchEndFrame['end'][] = [];
  deliver = (events: readonly WatchEvent[]): void => {
    this.batches.push([...events]);
  };
  end = (e: WatchEndFrame['end']): void => {
    this.ends.push(e);
  };
  get indexes(): number[] {
    return this.batches.flat().map((e) => e.index);
  }
}

/** A log with indices 1..n appended, each with one counter event. */
function filled(n: number, opts: WatchLogOptions = {}): WatchLog {
  const log = new WatchLog(opts);
  for (let i = 1; i <= n; i++) log.append(i, [counter(i)]);
  return log;
}

const all: WatchSelection = { prefix: '' };
const microtasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WatchLog', () => {
  it('without fromIndex a watch starts after the last index, and then gets each appended index at once', async () => {
    const log = filled(3);
    const s = new Sink();
    const start = log.subscribe(all, undefined, s.deliver, s.end);
    expect(start.ok && start.sub.fromIndex).toBe(4);
    await microtasks();
    log.append(4, [counter(4), counter(4, 'x')]);
    expect(s.batches).toEqual([[counter(4), counter(4, 'x')]]);
    // An entry without events moves lastIndex, and delivers nothing.
    log.append(5, []);
    expect(log.lastIndex).toBe(5);
    expect(s.batches).toHaveLength(1);
  });

  it('a watch that selects nothing for progressIndices indices gets a progress call (no events, a later through), live and after a catch-up', async () => {
    const log = filled(12, { progressIndices: 5 });
    const throughs: number[] = [];
    const quiet: WatchSelection = { prefix: 'nothing/' };
    log.subscribe(
      quiet,
      1,
      (events, through) => void throughs.push(events.length === 0 ? through : -through),
      () => {},
    );
    await microtasks();
    // The catch-up over indices 1..12 selected nothing: one progress call at its end.
    expect(throughs).toEqual([12]);
    for (let i = 13; i <= 23; i++) log.append(i, [counter(i)]);
    // Then one each time 5 more indices pass with nothing selected.
    expect(throughs).toEqual([12, 17, 22]);
    // An event selected is delivered with its own index as through, and restarts the count.
    log.append(24, [counter(24, 'nothing/x')]);
    log.append(25, []);
    expect(throughs).toEqual([12, 17, 22, -24]);
  });

  it('selects by prefix and kinds; nameless events only with an empty prefix', async () => {
    const log = new WatchLog();
    const byPrefix = new Sink();
    const byKind = new Sink();
    const everything = new Sink();
    log.subscribe({ prefix: 'a/' }, undefined, byPrefix.deliver, byPrefix.end);
    log.subscribe({ prefix: '', kinds: new Set<WatchKind>(['session']) }, undefined, byKind.deliver, byKind.end);
    log.subscribe(all, undefined, everything.deliver, everything.end);
    await microtasks();
    log.append(1, [counter(1, 'a/x'), counter(1, 'b/x'), session(1)]);
    expect(byPrefix.batches).toEqual([[counter(1, 'a/x')]]);
    expect(byKind.batches).toEqual([[session(1)]]);
    expect(everything.batches.flat()).toHaveLength(3);
  });

  it('catch-up from the history comes on a later microtask, then live events, each index once', async () => {
    const log = filled(5);
    const s = new Sink();
    const start = log.subscribe(all, 3, s.deliver, s.end);
    expect(start.ok && start.sub.fromIndex).toBe(3);
    // The caller answers its request first: nothing was delivered during subscribe().
    expect(s.batches).toEqual([]);
    // An append before the catch-up ran is part of the catch-up, not delivered twice.
    log.append(6, [counter(6)]);
    expect(s.batches).toEqual([]);
    await microtasks();
    expect(s.indexes).toEqual([3, 4, 5, 6]);
    log.append(7, [counter(7)]);
    expect(s.indexes).toEqual([3, 4, 5, 6, 7]);
    expect(s.ends).toEqual([]);
  });

  it('a fromIndex beyond the last index waits for it', async () => {
    const log = filled(2);
    const s = new Sink();
    log.subscribe(all, 5, s.deliver, s.end);
    await microtasks();
    for (let i = 3; i <= 6; i++) log.append(i, [counter(i)]);
    expect(s.indexes).toEqual([5, 6]);
  });

  it('keeps at most maxEvents, dropping whole indices from the front; older starts are COMPACTED with resyncFrom', () => {
    const log = new WatchLog({ maxEvents: 5 });
    for (let i = 1; i <= 4; i++) log.append(i, [counter(i), counter(i, 'y')]);
    // 8 events: indices 1 and 2 went, whole.
    expect(log.keptEvents).toBe(4);
    expect(log.firstKept).toBe(3);
    const s = new Sink();
    const refused = log.subscribe(all, 2, s.deliver, s.end);
    expect(refused).toMatchObject({ ok: false, code: 'COMPACTED', resyncFrom: 3 });
    expect(log.subscribe(all, 3, s.deliver, s.end).ok).toBe(true);
    // One index larger than the bound is kept alone.
    log.append(
      5,
      Array.from({ length: 7 }, (_, k) => counter(5, `z${k}`)),
    );
    expect(log.keptEvents).toBe(7);
    expect(log.firstKept).toBe(5);
  });

  it('keeps at most about maxBytes', () => {
    const log = new WatchLog({ maxBytes: 10_000 });
    for (let i = 1; i <= 100; i++) log.append(i, [counter(i, 'n'.repeat(1000))]);
    expect(log.firstKept).toBeGreaterThan(90);
    expect(log.keptEvents).toBe(101 - log.firstKept);
  });

  it('a watch whose start left the history before its catch-up ran is ended COMPACTED', async () => {
    const log = filled(3, { maxEvents: 3 });
    const s = new Sink();
    expect(log.subscribe(all, 1, s.deliver, s.end).ok).toBe(true);
    log.append(4, [counter(4)]);
    await microtasks();
    expect(s.batches).toEqual([]);
    expect(s.ends).toEqual([expect.objectContaining({ code: 'COMPACTED', resyncFrom: 2 })]);
  });

  it('reset (a restored snapshot) clears the history and ends the watches that missed events, with COMPACTED', async () => {
    const log = filled(3);
    const behind = new Sink();
    const ahead = new Sink();
    log.subscribe(all, undefined, behind.deliver, behind.end);
    log.subscribe(all, 20, ahead.deliver, ahead.end);
    await microtasks();
    log.reset(10);
    expect(behind.ends).toEqual([expect.objectContaining({ code: 'COMPACTED', resyncFrom: 11 })]);
    expect(ahead.ends).toEqual([]);
    expect([log.firstKept, log.lastIndex]).toEqual([11, 10]);
    expect(log.subscribe(all, 3, behind.deliver, behind.end)).toMatchObject({ ok: false, resyncFrom: 11 });
    for (let i = 11; i <= 21; i++) log.append(i, [counter(i)]);
    expect(ahead.indexes).toEqual([20, 21]);
    expect(behind.batches).toEqual([]);
  });

  it('close ends every watch with UNAVAILABLE and where to resume; a later one ends at once', async () => {
    const log = filled(3);
    const s = new Sink();
    log.subscribe(all, undefined, s.deliver, s.end);
    await microtasks();
    log.append(4, [counter(4)]);
    log.close('node stopping');
    expect(s.ends).toMatchObject([{ code: 'UNAVAILABLE', resyncFrom: 5 }]);
    expect(s.ends[0]?.message).toContain('node stopping');
    log.append(5, [counter(5)]);
    expect(s.indexes).toEqual([4]);
    const late = new Sink();
    log.subscribe(all, 2, late.deliver, late.end);
    await microtasks();
    expect(late.batches).toEqual([]);
    expect(late.ends).toEqual([expect.objectContaining({ code: 'UNAVAILABLE' })]);
  });

  it('cancel stops delivery without an end, also before the catch-up', async () => {
    const log = filled(3);
    const s = new Sink();
    const start = log.subscribe(all, 1, s.deliver, s.end);
    if (!start.ok) throw new Error('refused');
    start.sub.cancel();
    await microtasks();
    log.append(4, [counter(4)]);
    log.close('x');
    expect([s.batches, s.ends, log.subscriberCount]).toEqual([[], [], 0]);
  });

  it('a subscriber that throws loses its watch (ended once), and the others go on', async () => {
    const log = filled(1);
    const bad = new Sink();
    const good = new Sink();
    log.subscribe(
      all,
      undefined,
      () => {
        throw new Error('boom');
      },
      bad.end,
    );
    log.subscribe(all, undefined, good.deliver, good.end);
    await microtasks();
    log.append(2, [counter(2)]);
    log.append(3, [counter(3)]);
    expect(bad.ends).toMatchObject([{ code: 'UNAVAILABLE' }]);
    expect(bad.ends[0]?.message).toContain('boom');
    expect(good.indexes).toEqual([2, 3]);
  });

  it('a catch-up paused by its subscriber waits for resume(), in slices of whole indices, then goes live', async () => {
    // About 3 slices of history: 24 indices of ~32 KiB each.
    const log = new WatchLog();
    for (let i = 1; i <= 24; i++) log.append(i, [counter(i, 'n'.repeat(10_000))]);
    const s = new Sink();
    let full = true;
    const start = log.subscribe(all, 1, (events) => (s.deliver(events), !full), s.end);
    if (!start.ok) throw new Error('refused');
    await microtasks();
    expect(s.batches).toHaveLength(1);
    const first = s.indexes;
    expect(first.length).toBeGreaterThan(1);
    expect(first.length).toBeLessThan(24);
    // Paused: appends are not given to it; resume() goes on from the history.
    log.append(25, [counter(25)]);
    expect(s.batches).toHaveLength(1);
    full = false;
    start.sub.resume();
    expect(s.indexes).toEqual(Array.from({ length: 25 }, (_, k) => k + 1));
    expect(s.batches.length).toBeGreaterThan(2);
    log.append(26, [counter(26)]);
    expect(s.indexes.at(-1)).toBe(26);
    start.sub.resume();
    expect(s.indexes).toHaveLength(26);
  });

  it('a paused catch-up whose next index left the history ends COMPACTED on resume', async () => {
    const log = new WatchLog({ maxEvents: 10 });
    for (let i = 1; i <= 10; i++) log.append(i, [counter(i)]);
    const s = new Sink();
    const start = log.subscribe(all, 1, (events) => (s.deliver(events), false), s.end);
    if (!start.ok) throw new Error('refused');
    await microtasks();
    for (let i = 11; i <= 30; i++) log.append(i, [counter(i)]);
    start.sub.resume();
    expect(s.indexes).toEqual(Array.from({ length: 10 }, (_, k) => k + 1));
    expect(s.ends).toEqual([expect.objectContaining({ code: 'COMPACTED', resyncFrom: 21 })]);
  });

  it('negative control: dropOneOnResume loses the first event of a watch started from the history, and only of those', async () => {
    const log = filled(4, { unsafeDropOneOnResume: true });
    const resumed = new Sink();
    const live = new Sink();
    log.subscribe(all, 2, resumed.deliver, resumed.end);
    log.subscribe(all, undefined, live.deliver, live.end);
    await microtasks();
    log.append(5, [counter(5)]);
    expect(resumed.indexes).toEqual([3, 4, 5]);
    expect(live.indexes).toEqual([5]);
  });
});
