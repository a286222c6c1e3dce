/**
 * The nemesis of a chaos run: seeded, one fault at a time, each held for a while and then
 * healed, every fault logged with its window (`nemesis.json`). Faults:
 * - `kill`: SIGKILL of a random node, the leader, a minority or a majority, restarted after;
 * - `pause`: SIGSTOP/SIGCONT of a node or the leader, longer than the election timeout or
 *   longer than the session TTL; and of a client process that holds a lock (`pause-client`),
 *   longer than the session TTL, so its lease runs out under it;
 * - `partition`: isolate one node, isolate the leader, majority/minority, a bridge (two sides
 *   that only one node can hear), one-way (a node that can hear but not be heard);
 * - `clock`: a node restarted with its log clock skewed (`raftlock start --clock-offset`).
 */
import type { ProcessCluster } from '../lib/cluster.js';
import { Rng } from '../lib/rng.js';
import type { FaultKind, NemesisEvent } from '../lib/chaos/types.js';
import { sleep } from '../lib/wait.js';

/** A client process the nemesis may pause. */
export interface PausableWorker {
  readonly worker: number;
  /** Locks its clients hold right now. */
  readonly holding: ReadonlySet<string>;
  pause(): void;
  resume(): void;
}

/** What the nemesis acts on. */
export interface NemesisTarget {
  readonly cluster: ProcessCluster;
  readonly workers: readonly PausableWorker[];
  /** Run time (ms since the run's start). */
  readonly clock: () => number;
  readonly electionTimeoutMs: number;
  readonly sessionTtlMs: number;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** The nemesis kinds a run may enable. */
export const NEMESES = ['kill', 'pause', 'partition', 'clock'] as const;
export type NemesisName = (typeof NEMESES)[number];

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  private readonly r: Rng;
  private stopping = false;
  /** Heals the fault in progress (set while one is held). */
  private healCurrent: (() => Promise<void>) | undefined;

  constructor(
    private readonly t: NemesisTarget,
    private readonly kinds: readonly NemesisName[],
    seed: number,
  ) {
    this.r = new Rng(seed ^ 0x5eed);
  }

  /** Injects faults until `untilMs` (run time), then heals the last one. */
  async run(untilMs: number): Promise<void> {
    await sleep(1_000 + this.r.int(1_000)); // let the workload start before the first fault
    while (!this.stopping && this.t.clock() < untilMs - 1_500) {
      const kind = this.r.pick(this.kinds);
      await this.inject(kind, untilMs);
      await sleep(150 + this.r.int(300));
    }
  }

  /** Stops injecting; the fault in progress is healed by {@link healAll}. */
  stop(): void {
    this.stopping = true;
  }

  /** Heals everything: the current fault, paused processes, cut links, dead nodes. */
  async healAll(): Promise<void> {
    const h = this.healCurrent;
    this.healCurrent = undefined;
    if (h !== undefined) await h();
    const c = this.t.cluster;
    c.healLinks();
    for (const w of this.t.workers) w.resume();
    for (const id of c.ids) {
      if (c.isPaused(id)) c.resume(id);
      if (!c.isRunning(id)) c.start(id);
    }
  }

  private begin(kind: FaultKind, description: string, nodes: readonly number[]): number {
    const id = this.events.length + 1;
    this.events.push({ id, kind, description, nodes: [...nodes], start: this.t.clock(), end: null });
    this.t.log(`fault ${id} at ${(this.t.clock() / 1000).toFixed(1)}s: ${description}`);
    return id;
  }

  private end(id: number): void {
    const k = id - 1;
    const e = this.events[k];
    if (e !== undefined && e.end === null) this.events[k] = { ...e, end: this.t.clock() };
  }

  /** Holds a fault for `ms` (cut short at the run's end), then heals it. */
  private async hold(id: number, ms: number, untilMs: number, heal: () => Promise<void> | void): Promise<void> {
    let healed = false;
    const doHeal = async (): Promise<void> => {
      if (healed) return;
      healed = true;
      await heal();
      this.end(id);
    };
    this.healCurrent = doHeal;
    const deadline = Math.min(this.t.clock() + ms, untilMs);
    while (!this.stopping && this.t.clock() < deadline) await sleep(Math.min(100, Math.max(1, deadline - this.t.clock())));
    this.healCurrent = undefined;
    await doHeal();
  }

  private async leaderOr(fallback: number): Promise<number> {
    return (await this.t.cluster.currentLeader()) ?? fallback;
  }

  private async inject(kind: NemesisName, untilMs: number): Promise<void> {
    const c = this.t.cluster;
    const ids = c.ids;
    const n = ids.length;
    const minority = Math.floor((n - 1) / 2);
    const majority = minority + 1;
    const shortPause = this.t.electionTimeoutMs * 2 + this.r.int(this.t.electionTimeoutMs * 2);
    const longPause = this.t.sessionTtlMs + 300 + this.r.int(700);
    switch (kind) {
      case 'kill': {
        const shape = this.r.pick(['random node', 'leader', 'minority', 'majority'] as const);
        const leader = await this.leaderOr(this.r.pick(ids));
        const victims =
          shape === 'random node'
            ? [this.r.pick(ids)]
            : shape === 'leader'
              ? [leader]
              : this.r.shuffle(ids).slice(0, shape === 'minority' ? minority : majority);
        const id = this.begin('kill', `kill -9 ${shape} (node ${victims.join(', ')}), restart after`, victims);
        await Promise.all(victims.map((v) => c.kill(v)));
        await this.hold(id, 500 + this.r.int(1_000), untilMs, () => {
          for (const v of victims) if (!c.isRunning(v)) c.start(v);
        });
        return;
      }
      case 'pause': {
        if (this.t.workers.length > 0 && this.r.next() < 0.35) {
          // Catch a client process while it holds a lock (holds last tens of ms), if any does.
          let holders = this.t.workers.filter((w) => w.holding.size > 0);
          for (let k = 0; holders.length === 0 && k < 300; k++) {
            await sleep(10);
            holders = this.t.workers.filter((w) => w.holding.size > 0);
          }
          const w = holders.length > 0 ? this.r.pick(holders) : this.r.pick(this.t.workers);
          const what = w.holding.size > 0 ? `holding ${[...w.holding].join(', ')}` : 'holding no lock';
          const id = this.begin(
            'pause-client',
            `SIGSTOP client process ${w.worker} (${what}) for ${longPause} ms, longer than the ${this.t.sessionTtlMs} ms session TTL`,
            [],
          );
          w.pause();
          await this.hold(id, longPause, untilMs, () => w.resume());
          return;
        }
        const shape = this.r.pick(['random node', 'leader'] as const);
        const victim = shape === 'leader' ? await this.leaderOr(this.r.pick(ids)) : this.r.pick(ids);
        const long = this.r.next() < 0.3;
        const ms = long ? longPause : shortPause;
        const id = this.begin(
          'pause',
          `SIGSTOP ${shape} (node ${victim}) for ${ms} ms, longer than the ${long ? `${this.t.sessionTtlMs} ms session TTL` : `${this.t.electionTimeoutMs} ms election timeout`}`,
          [victim],
        );
        c.pause(victim);
        await this.hold(id, ms, untilMs, () => c.resume(victim));
        return;
      }
      case 'partition': {
        const shape = this.r.pick(['isolate one', 'isolate leader', 'majority/minority', 'bridge', 'one-way'] as const);
        const shuffled = this.r.shuffle(ids);
        let description: string;
        let nodes: number[];
        if (shape === 'isolate one' || shape === 'isolate leader') {
          const v = shape === 'isolate leader' ? await this.leaderOr(shuffled[0] as number) : (shuffled[0] as number);
          const rest = ids.filter((x) => x !== v);
          c.partition([v], rest);
          description = `partition ${shape}: {${v}} | {${rest.join(',')}}`;
          nodes = [v];
        } else if (shape === 'majority/minority') {
          const a = shuffled.slice(0, majority);
          const b = shuffled.slice(majority);
          c.partition(a, b);
          description = `partition majority/minority: {${a.join(',')}} | {${b.join(',')}}`;
          nodes = b;
        } else if (shape === 'bridge') {
          // The bridge node hears both sides; the sides do not hear each other.
          const bridge = shuffled[0] as number;
          const rest = shuffled.slice(1);
          const half = Math.ceil(rest.length / 2);
          const a = rest.slice(0, half);
          const b = rest.slice(half);
          c.partition(a, b);
          description = `partition bridge: {${a.join(',')}} | {${b.join(',')}} joined only through node ${bridge}`;
          nodes = [bridge];
        } else {
          const v = shuffled[0] as number;
          const rest = ids.filter((x) => x !== v);
          const mute = this.r.next() < 0.5;
          for (const o of rest) c.block(mute ? v : o, mute ? o : v);
          description = mute
            ? `one-way partition: node ${v} hears the others but is not heard`
            : `one-way partition: node ${v} is heard but hears nothing`;
          nodes = [v];
        }
        const id = this.begin('partition', description, nodes);
        await this.hold(id, 1_000 + this.r.int(1_500), untilMs, () => c.healLinks());
        return;
      }
      case 'clock': {
        const v = this.r.pick(ids);
        const offset = (this.r.next() < 0.5 ? -1 : 1) * (200 + this.r.int(1_300));
        const id = this.begin('clock', `clock skew: node ${v} restarted with its clock ${offset > 0 ? '+' : ''}${offset} ms off`, [v]);
        await c.restart(v, ['--clock-offset', String(offset)]);
        await this.hold(id, 1_000 + this.r.int(1_000), untilMs, () => c.restart(v));
        return;
      }
    }
  }
}
