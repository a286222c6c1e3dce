/**
 * Watchers in the simulator (docs/testing.md#simulation): clients that follow a watch
 * (src/service/watch-log.ts) on one node after another, and the check that what each received
 * is the sequence of events derived from the committed log.
 *
 * Each watcher follows one selection (a prefix, some kinds) from index 1. Frames reach it after
 * a random delay, in order (one stream per connection); a connection's frames still in flight
 * when it drops are lost. It moves to another node when its node crashes, when it is cut off
 * from the leader, when the leader changes (half the time), and at random; it then watches again
 * from the index after the last event it received, at once or (one time in four) after backing
 * off for up to 200 ms. A `COMPACTED` refusal or end makes it resync
 * from `resyncFrom`: a new segment of its stream starts there.
 *
 * At the end, every committed entry (recorded as replicas applied them) is applied again, in
 * order, to a fresh LockMachine and its events derived; each segment of each watcher's stream
 * must equal the events of that derivation its selection selects, from the segment's start to
 * its last event: no gap, no duplicate, nothing out of order. (A segment may stop short of the
 * next one's start: those are the events a `COMPACTED` said were gone.)
 */
import { watchSelects, type WatchEndFrame, type WatchEvent, type WatchKind } from '../../../src/protocol/index.js';
import { deriveWatchEvents, watchProbe, type WatchSelection, type WatchSubscription } from '../../../src/service/index.js';
import { LockMachine, decodeEntry } from '../../../src/state-machine/index.js';
import type { SimNode } from './sim-node.js';
import type { Entry } from './sim-types.js';
import type { World } from './world.js';

export interface WatchSimOptions {
  /** How many watchers follow the cluster. */
  readonly watchers: number;
  /** Negative control (WatchLog's `unsafeDropOneOnResume`): a resumed watch loses its first event. */
  readonly dropOneOnResume?: boolean;
}

/** What the watchers did, for the test to show the check was not vacuous. */
export interface WatchStats {
  /** Watches started, the first of each watcher included. */
  subscribes: number;
  /** Watches started again from the index after the last event received. */
  resumes: number;
  /** Moves to another node (crash, cut off, leader change, at random). */
  switches: number;
  /** `COMPACTED` answers and ends: a new segment from `resyncFrom`. */
  resyncs: number;
  /** Progress calls (no events, a later resume point), which a resume then trusts. */
  progress: number;
  /** Events received and checked against the committed log's. */
  events: number;
}

/** What the watchers follow, by watcher number (the workloads' names: c0…, L0…, S0…, R0…, p:…). */
const SELECTIONS: readonly WatchSelection[] = [
  { prefix: '' },
  { prefix: '', kinds: new Set<WatchKind>(['lock', 'semaphore', 'rwlock', 'election']) },
  { prefix: 'c' },
  { prefix: 'L', kinds: new Set<WatchKind>(['lock']) },
  { prefix: '', kinds: new Set<WatchKind>(['session', 'counter']) },
];

/** How often a watcher looks at its node and the leader, virtual ms. */
const LOOK_EVERY_MS = 20;

interface Segment {
  /** The index the watch (re)started at after a resync (the first segment: 1). */
  readonly from: number;
  readonly events: WatchEvent[];
}

class Watcher {
  /** Connection number: frames of an older connection are dropped on arrival. */
  conn = 0;
  node: SimNode | undefined;
  sub: WatchSubscription | undefined;
  /** The index after the last event received: where a resumed watch starts. */
  next = 1;
  readonly segments: Segment[] = [{ from: 1, events: [] }];
  /** When the last frame sent on this connection arrives (frames arrive in order). */
  arrival = 0;
  started = false;
  leader: number | undefined;

  constructor(
    readonly id: number,
    readonly sel: WatchSelection,
  ) {}
}

export class Watchers {
  readonly stats: WatchStats = { subscribes: 0, resumes: 0, switches: 0, resyncs: 0, progress: 0, events: 0 };
  private readonly watchers: Watcher[] = [];
  /** Every entry some replica applied (so committed), by index. */
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly world: World,
    opts: WatchSimOptions,
  ) {
    for (let k = 0; k < opts.watchers; k++) this.watchers.push(new Watcher(k, SELECTIONS[k % SELECTIONS.length] ?? { prefix: '' }));
    world.entryObserver = (e) => {
      if (!this.entries.has(e.index)) this.entries.set(e.index, e);
    };
  }

  start(): void {
    const w = this.world;
    for (const watcher of this.watchers) {
      w.schedule(w.now + w.rnd.nextFloat() * LOOK_EVERY_MS, `watcher ${watcher.id} starts`, () => this.moveOn(watcher));
      this.scheduleLook(watcher);
    }
  }

  private scheduleLook(watcher: Watcher): void {
    const w = this.world;
    w.schedule(w.now + LOOK_EVERY_MS * (0.5 + w.rnd.nextFloat()), `watcher ${watcher.id} looks`, () => {
      this.look(watcher);
      this.scheduleLook(watcher);
    });
  }

  /** Moves on when the node is gone, cut off from the leader, the leader changed, or at random. */
  private look(watcher: Watcher): void {
    const w = this.world;
    const leader = w.stableLeader();
    const node = watcher.node;
    const changed = leader !== undefined && leader !== watcher.leader;
    if (leader !== undefined) watcher.leader = leader;
    const cutOff = node !== undefined && leader !== undefined && w.net.isBlocked(leader, node.id);
    if (node === undefined || !node.up || cutOff || (changed && w.rnd.nextFloat() < 0.5) || w.rnd.nextFloat() < 0.05) this.moveOn(watcher);
  }

  /** Drops the connection (and its frames in flight) and watches again from `next` on a random live node. */
  private moveOn(watcher: Watcher): void {
    const w = this.world;
    const up = w.nodes.filter((n) => n.up);
    watcher.sub?.cancel();
    watcher.sub = undefined;
    watcher.conn++;
    watcher.node = undefined;
    if (up.length === 0) return;
    const node = up[w.rnd.nextInt(up.length)] as SimNode;
    if (watcher.started) this.stats.switches++;
    watcher.node = node;
    const conn = watcher.conn;
    node.onCrash.push(() => {
      if (conn === watcher.conn) this.moveOn(watcher);
    });
    // Now and then a client backs off before it reconnects, and the history may move past it.
    const delay = w.rnd.nextFloat() < 0.25 ? 20 + w.rnd.nextFloat() * 180 : 0.5 + w.rnd.nextFloat() * 2.5;
    w.scheduleOn(node, w.now + delay, `watcher ${watcher.id} subscribes to ${node.id}`, () => {
      if (conn !== watcher.conn || node.service === undefined) return;
      this.stats.subscribes++;
      if (watcher.started) this.stats.resumes++;
      watcher.started = true;
      const start = node.service.watches.subscribe(
        watcher.sel,
        watcher.next,
        (events, through) => this.send(watcher, conn, () => this.receive(watcher, events, through)),
        (end) => this.send(watcher, conn, () => this.ended(watcher, end)),
      );
      if (start.ok) watcher.sub = start.sub;
      else this.send(watcher, conn, () => this.resync(watcher, start.resyncFrom));
    });
  }

  /** Something the node sent on connection `conn` reaches the watcher later, in order, unless the connection dropped. */
  private send(watcher: Watcher, conn: number, arrive: () => void): void {
    const w = this.world;
    const at = Math.max(watcher.arrival, w.now + 0.2 + w.rnd.nextFloat() * 4);
    watcher.arrival = at;
    w.schedule(at, `watch frame to watcher ${watcher.id}`, () => {
      if (conn === watcher.conn) arrive();
    });
  }

  /** Events up to `through` (none: progress): a resume goes on after `through`, so a wrong one shows as a gap. */
  private receive(watcher: Watcher, events: readonly WatchEvent[], through: number): void {
    const seg = watcher.segments[watcher.segments.length - 1] as Segment;
    seg.events.push(...events);
    if (events.length === 0) this.stats.progress++;
    watcher.next = through + 1;
  }

  private ended(watcher: Watcher, end: WatchEndFrame['end']): void {
    if (end.code === 'COMPACTED') this.resync(watcher, end.resyncFrom ?? watcher.next);
    else this.moveOn(watcher);
  }

  /** The events before `from` are gone where the watcher asked: a new segment starts there. */
  private resync(watcher: Watcher, from: number): void {
    this.stats.resyncs++;
    watcher.segments.push({ from, events: [] });
    watcher.next = from;
    this.moveOn(watcher);
  }

  /** Each watcher's segments against the events derived from the committed log (module comment). */
  check(): string[] {
    const reference = this.derive();
    if (typeof reference === 'string') return [reference];
    const violations: string[] = [];
    for (const watcher of this.watchers) {
      watcher.segments.forEach((seg, k) => {
        const last = seg.events[seg.events.length - 1];
        if (last === undefined) return;
        this.stats.events += seg.events.length;
        const want = reference.filter(
          (ev) => ev.index >= seg.from && ev.index <= last.index && watchSelects(ev, watcher.sel.prefix, watcher.sel.kinds),
        );
        const diff = firstDifference(seg.events, want);
        if (diff !== undefined) violations.push(`watcher ${watcher.id}, segment ${k} (from index ${seg.from}): ${diff}`);
      });
    }
    return violations;
  }

  /** The events of every committed entry, applied again in order to a fresh machine; or why not. */
  private derive(): WatchEvent[] | string {
    const m = new LockMachine();
    const out: WatchEvent[] = [];
    const last = Math.max(0, ...this.entries.keys());
    for (let i = 1; i <= last; i++) {
      const e = this.entries.get(i);
      if (e === undefined) return `watch check: committed entry ${i} was never seen applied`;
      const decoded = e.type === 'normal' ? decodeEntry(e.data, m.limits) : undefined;
      const cmd = decoded?.ok === true ? decoded.value.cmd : undefined;
      const before = watchProbe(cmd, m);
      const applied = m.apply(e, { index: e.index, term: e.term });
      out.push(...deriveWatchEvents(e.index, cmd, applied, m, before));
    }
    return out;
  }
}

/** Where `got` first differs from `want`, if it does. */
function firstDifference(got: readonly WatchEvent[], want: readonly WatchEvent[]): string | undefined {
  for (let k = 0; k < Math.max(got.length, want.length); k++) {
    const g = JSON.stringify(got[k]);
    const x = JSON.stringify(want[k]);
    if (g !== x) return `event ${k}: received ${g ?? 'nothing'}, the committed log has ${x ?? 'nothing'}`;
  }
  return undefined;
}
