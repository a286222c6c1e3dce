/**
 * The simulator's fault injector: crashes, pauses, partitions, loss rates and clock skew, every
 * choice drawn from the world's seeded generator.
 */
/**
 * The fault injector: at random intervals it crashes (and later restarts) nodes, pauses them
 * for longer than an election timeout, partitions the network in every shape (isolate one,
 * isolate the leader, majority/minority, bridge, one-way), changes loss rates and skews the
 * nodes' clocks. Every choice comes from the world's seeded generator.
 */
import type { SimNode } from './sim-node.js';
import { TICK_MS } from './sim-types.js';
import type { World } from './world.js';

export class Nemesis {
  faults = 0;
  private active = true;
  private lastLeaderTerm = 0;
  /**
   * Chance, per seed, of cutting off a leader the moment it is elected, before its no-op
   * replicates: the schedule behind Raft's Figure 8 (competing uncommitted suffixes).
   */
  private readonly isolateNewLeaderP: number;

  constructor(private readonly world: World) {
    this.isolateNewLeaderP = [0, 0.25, 0.6][world.rnd.nextInt(3)] ?? 0;
    this.crashAfterReplyP = [0, 0.03, 0.15][world.rnd.nextInt(3)] ?? 0;
  }

  /**
   * Chance, per seed, of crashing a node right after it sends a vote or an acknowledgement,
   * before its write can complete: where persist-before-reply bugs show their consequences.
   */
  private readonly crashAfterReplyP: number;

  /** Called for every message a node sends. */
  onSend(type: string, from: number): void {
    if (!this.active || this.crashAfterReplyP === 0) return;
    if (type !== 'vote-response' && type !== 'append-response') return;
    const w = this.world;
    if (w.rnd.nextFloat() >= this.crashAfterReplyP) return;
    const n = w.node(from);
    // Crash within the same instant the reply leaves: the write behind it may not be done.
    w.schedule(w.now, `crash-after-reply ${from}`, () => {
      if (!this.active || !n.up) return;
      this.faults++;
      n.crash();
      w.schedule(w.now + 5 + w.rnd.nextFloat() * 60, `restart ${n.id}`, () => {
        if (this.active) w.restart(n);
      });
    });
  }

  /** Called after every event: reacts to elections. */
  observe(): void {
    if (!this.active || this.isolateNewLeaderP === 0) return;
    for (const n of this.world.nodes) {
      if (!n.up) continue;
      const st = n.status();
      if (st.role !== 'leader' || st.term <= this.lastLeaderTerm) continue;
      this.lastLeaderTerm = st.term;
      if (this.world.rnd.nextFloat() < this.isolateNewLeaderP) {
        this.faults++;
        this.isolate(n);
      }
    }
  }

  start(): void {
    this.scheduleNext();
  }

  private scheduleNext(): void {
    const w = this.world;
    w.schedule(w.now + 40 + w.rnd.nextFloat() * 250, 'nemesis', () => {
      if (!this.active) return;
      this.strike();
      this.scheduleNext();
    });
  }

  private electionMs(): number {
    return this.world.electionTick * TICK_MS;
  }

  private pick(): SimNode {
    const w = this.world;
    const n = w.nodes[w.rnd.nextInt(w.nodes.length)];
    if (n === undefined) throw new Error('no nodes');
    return n;
  }

  private unsyncedOrAny(): SimNode {
    const candidates = this.world.nodes.filter((n) => n.up && n.disk.hasUnsyncedWrites());
    const n = candidates[this.world.rnd.nextInt(Math.max(1, candidates.length))];
    return n ?? this.pick();
  }

  private leaderOrAny(): SimNode {
    const id = this.world.stableLeader();
    return id !== undefined ? this.world.node(id) : this.pick();
  }

  private strike(): void {
    const w = this.world;
    this.faults++;
    const kind = w.rnd.nextInt(11);
    switch (kind) {
      case 0:
      case 1:
      case 10: {
        // Random node, the leader, or one with writes in flight (where lost-write bugs live).
        const n = kind === 0 ? this.pick() : kind === 1 ? this.leaderOrAny() : this.unsyncedOrAny();
        n.crash();
        w.schedule(w.now + 10 + w.rnd.nextFloat() * 400, `restart ${n.id}`, () => {
          if (this.active) w.restart(n);
        });
        return;
      }
      case 2: {
        const n = this.pick();
        if (!n.up || n.paused) return;
        n.paused = true;
        const ms = this.electionMs() * (1.2 + w.rnd.nextFloat() * 2);
        w.schedule(w.now + ms, `resume ${n.id}`, () => w.resume(n));
        return;
      }
      case 3:
      case 4:
        this.isolate(kind === 3 ? this.pick() : this.leaderOrAny());
        return;
      case 5:
        this.splitMajority();
        return;
      case 6:
        this.bridge();
        return;
      case 7: {
        const a = this.pick();
        const b = this.pick();
        if (a.id !== b.id) w.net.block(a.id, b.id); // one-way
        this.healLater();
        return;
      }
      case 8:
        w.net.dropP = w.rnd.nextFloat() < 0.5 ? 0 : w.rnd.nextFloat() * 0.3;
        return;
      default: {
        const n = this.pick();
        n.skew = 0.7 + w.rnd.nextFloat() * 0.6;
        return;
      }
    }
  }

  private cut(groupA: readonly number[], groupB: readonly number[]): void {
    for (const a of groupA) {
      for (const b of groupB) {
        this.world.net.block(a, b);
        this.world.net.block(b, a);
      }
    }
  }

  private isolate(n: SimNode): void {
    const others = this.world.nodes.filter((m) => m.id !== n.id).map((m) => m.id);
    this.cut([n.id], others);
    this.healLater();
  }

  private splitMajority(): void {
    const ids = this.world.nodes.map((n) => n.id);
    // Shuffle deterministically, then cut minority from majority.
    for (let i = ids.length - 1; i > 0; i--) {
      const j = this.world.rnd.nextInt(i + 1);
      const t = ids[i] ?? 0;
      ids[i] = ids[j] ?? 0;
      ids[j] = t;
    }
    const minority = ids.slice(0, Math.floor(ids.length / 2));
    this.cut(minority, ids.slice(minority.length));
    this.healLater();
  }

  /** Two sides that cannot talk, and one node that talks to both (a bridge). */
  private bridge(): void {
    const ids = this.world.nodes.map((n) => n.id);
    const mid = ids[Math.floor(ids.length / 2)] ?? 1;
    const left = ids.filter((id) => id < mid);
    const right = ids.filter((id) => id > mid);
    this.cut(left, right);
    this.healLater();
  }

  private healLater(): void {
    const w = this.world;
    w.schedule(w.now + 50 + w.rnd.nextFloat() * 600, 'heal', () => {
      if (this.active) w.net.healAll();
    });
  }

  /** Ends the fault phase: heal the network, resume and restart every node. */
  stopAndHeal(): void {
    const w = this.world;
    this.active = false;
    w.net.healAll();
    w.net.dropP = 0.01;
    for (const n of w.nodes) {
      n.skew = 1;
      w.resume(n);
      w.restart(n);
    }
  }
}
