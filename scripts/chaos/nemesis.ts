/**
 * The nemesis of a chaos run: seeded, one fault at a time, each held for a while and then
 * healed, every fault logged with its window (`nemesis.json`). Faults:
 * - `kill`: SIGKILL of a random node, the leader, a minority or a majority, restarted after;
 * - `pause`: SIGSTOP/SIGCONT of a node or the leader, longer than the election timeout or
 *   longer than the session TTL; and of a client process that holds a lock, a permit or a
 *   readers-writer lock grant (`pause-client`), longer than the session TTL, so its lease runs
 *   out under it;
 * - `partition`: isolate one node, isolate the leader, majority/minority, a bridge (two sides
 *   that only one node can hear), one-way (a node that can hear but not be heard); cut by the
 *   cluster's link proxies, or with `--network netns` by nftables drops in the nodes' namespaces;
 * - `clock`: a node restarted with its log clock skewed (`raftlock start --clock-offset`);
 * - `membership`: nodes added, removed and replaced (membership.ts), in a loop of its own that
 *   runs alongside the others, so that changes happen during the other faults.
 *
 * The other faults target the members of their moment (`cluster.ids`), and their heals restart
 * only nodes that are still members: a node removed while killed stays down.
 */
import type { ProcessCluster } from '../lib/cluster.js';
import { Rng } from '../lib/rng.js';
import type { ChangeOutcome, FaultKind, MembershipSummary, NemesisEvent } from '../lib/chaos/types.js';
import { sleep } from '../lib/wait.js';
import { MembershipNemesis } from './membership.js';

/** A client process the nemesis may pause. */
export interface PausableWorker {
  readonly worker: number;
  /** Locks (and semaphores, and readers-writer locks) its clients hold right now, by name. */
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
  /**
   * Negative control of the membership nemesis: the removed nodes start again at the end (the
   * run then includes them in its state-hash check, which must fail).
   */
  readonly restartRemoved?: boolean;
  /** How long every partition lasts (default: 1 to 2.5 s, drawn per fault). */
  readonly partitionMs?: number;
}

/** The nemesis kinds a run may enable. */
export const NEMESES = ['kill', 'pause', 'partition', 'clock', 'membership'] as const;
export type NemesisName = (typeof NEMESES)[number];
/** What a run enables unless told otherwise: every kind but `membership`, which is asked for by name. */
export const DEFAULT_NEMESES: readonly NemesisName[] = ['kill', 'pause', 'partition', 'clock'];

/** How long a membership change in flight at the run's end may still take before it is cut short. */
const MEMBERSHIP_GRACE_MS = 15_000;

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  private readonly r: Rng;
  private stopping = false;
  /** Heals the fault in progress (set while one is held). */
  private healCurrent: (() => Promise<void>) | undefined;
  /** The one-at-a-time faults (all enabled kinds but `membership`). */
  private readonly faultKinds: readonly NemesisName[];
  private readonly membership: MembershipNemesis | undefined;

  constructor(
    private readonly t: NemesisTarget,
    kinds: readonly NemesisName[],
    seed: number,
  ) {
    this.r = new Rng(seed ^ 0x5eed);
    this.faultKinds = kinds.filter((k) => k !== 'membership');
    this.membership = kinds.includes('membership')
      ? new MembershipNemesis(
          {
            cluster: t.cluster,
            clock: t.clock,
            log: t.log,
            begin: (kind, description, nodes) => this.begin(kind, description, nodes),
            end: (id, outcome, reason) => this.end(id, outcome, reason),
          },
          seed,
          t.restartRemoved === true,
        )
      : undefined;
  }

  /** Injects faults (and makes membership changes) until `untilMs` (run time), then heals the last fault. */
  async run(untilMs: number): Promise<void> {
    await Promise.all([this.faults(untilMs), this.membership?.run(untilMs)]);
  }

  private async faults(untilMs: number): Promise<void> {
    if (this.faultKinds.length === 0) return;
    await sleep(1_000 + this.r.int(1_000)); // let the workload start before the first fault
    while (!this.stopping && this.t.clock() < untilMs - 1_500) {
      // A new fault waits while a membership change is under way (membership.ts says why).
      if (this.membership?.busy === true) {
        await sleep(50);
        continue;
      }
      const kind = this.r.pick(this.faultKinds);
      await this.inject(kind, untilMs);
      await sleep(150 + this.r.int(300));
    }
  }

  /**
   * Stops injecting; the fault in progress is healed by {@link healAll}. A membership change in
   * flight may finish, within a grace of 15 s, then it is cut short.
   */
  stop(): void {
    this.stopping = true;
    this.membership?.stop(MEMBERSHIP_GRACE_MS);
  }

  /** With the membership nemesis: what it did (after {@link healAll}). */
  membershipSummary(): MembershipSummary | undefined {
    return this.membership?.summary();
  }

  /** Nodes whose removal committed (the membership nemesis), in order. */
  get removedNodes(): readonly number[] {
    return this.membership?.removedNodes ?? [];
  }

  /**
   * Heals everything: the current fault, paused processes, cut links, dead members; then, with
   * the membership nemesis, settles the membership (membership.ts): the configuration's members
   * run, other nodes are stopped, and `cluster.ids` is the configuration's members.
   */
  async healAll(): Promise<void> {
    const h = this.healCurrent;
    this.healCurrent = undefined;
    if (h !== undefined) await h();
    const c = this.t.cluster;
    c.healLinks();
    for (const w of this.t.workers) w.resume();
    for (const id of c.slots) if (c.isPaused(id)) c.resume(id);
    for (const id of c.ids) if (!c.isRunning(id)) c.start(id);
    await this.membership?.settle();
  }

  private begin(kind: FaultKind, description: string, nodes: readonly number[]): number {
    const id = this.events.length + 1;
    this.events.push({ id, kind, description, nodes: [...nodes], start: this.t.clock(), end: null });
    this.t.log(`fault ${id} at ${(this.t.clock() / 1000).toFixed(1)}s: ${description}`);
    return id;
  }

  private end(id: number, outcome?: ChangeOutcome, reason?: string): void {
    const k = id - 1;
    const e = this.events[k];
    if (e !== undefined && e.end === null)
      this.events[k] = {
        ...e,
        end: this.t.clock(),
        ...(outcome !== undefined ? { outcome } : {}),
        ...(reason !== undefined ? { reason } : {}),
      };
  }

  /** Starts node `v` again if it is down and still a member (a node removed meanwhile stays down). */
  private revive(v: number): void {
    const c = this.t.cluster;
    if (c.isMember(v) && !c.isRunning(v)) c.start(v);
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
        if (victims.length === 0) return; // a minority of one or two members is nobody
        const id = this.begin('kill', `kill -9 ${shape} (node ${victims.join(', ')}), restart after`, victims);
        await Promise.all(victims.map((v) => c.kill(v)));
        await this.hold(id, 500 + this.r.int(1_000), untilMs, () => {
          for (const v of victims) this.revive(v);
        });
        return;
      }
      case 'pause': {
        if (this.t.workers.length > 0 && this.r.next() < 0.35) {
          // Catch a client process while it holds a lock, a permit or a readers-writer lock grant
          // (holds last tens to hundreds of ms), if any does.
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
        const drawn = 1_000 + this.r.int(1_500);
        await this.hold(id, this.t.partitionMs ?? drawn, untilMs, () => c.healLinks());
        return;
      }
      case 'clock': {
        const v = this.r.pick(ids);
        const offset = (this.r.next() < 0.5 ? -1 : 1) * (200 + this.r.int(1_300));
        const id = this.begin('clock', `clock skew: node ${v} restarted with its clock ${offset > 0 ? '+' : ''}${offset} ms off`, [v]);
        await c.restart(v, ['--clock-offset', String(offset)]);
        await this.hold(id, 1_000 + this.r.int(1_000), untilMs, async () => {
          // Removed meanwhile: it stays down (it was stopped with its skewed clock).
          if (c.isMember(v)) await c.restart(v);
        });
        return;
      }
    }
  }
}
