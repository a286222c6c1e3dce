/** One seeded whole-cluster simulation: `runSeed(options)` returns the run's events and violations, a pure function of its options. */
/**
 * One seeded simulation run: a 3- or 5-node cluster of real RaftHosts over simulated disks and
 * a simulated network, a nemesis injecting faults, clients issuing register reads and writes
 * (workload 'register', the default) or lock/counter operations through LockService over
 * LockMachine (workload 'locks', lock-clients.ts; workload 'permits' adds semaphores and
 * readers-writer locks, workload 'elections' leader elections), and the safety checker after every event
 * (including: replicas at the same applied index have identical state). Everything random comes from one SeededRandom, so
 * `runSeed(options)` is a pure function of its options: any failure replays exactly.
 */
import { SeededRandom } from '../../../src/raft/index.js';
import { MemoryNetwork, type MemoryNetworkPolicy, type Packet } from '../../../src/transport/memory-transport.js';
import { EventQueue } from './event-queue.js';
import { SafetyChecker } from './invariants.js';
import { SimClients } from './clients.js';
import { Nemesis } from './nemesis.js';
import { SimNode, stateHash, type NodeEnvironment } from './sim-node.js';
import { LockClients } from './lock-clients.js';
import { MembershipChurn, SPARE_NODES, type ChurnStats } from './membership.js';
import { TICK_MS, type Entry, type NodeId } from './sim-types.js';
import { Watchers, type WatchSimOptions, type WatchStats } from './watchers.js';

/** Names of the negative-control switches (docs/testing.md#negative-controls). */
export const BUGS = [
  'commit-prior-term',
  'vote-not-persisted',
  'ack-before-sync',
  'read-without-readindex',
  // Lock machine controls (locks workload): retries applied twice; expiry by each replica's
  // clock; queued waits without leader-change grace; acquire-all granted by its first lock
  // alone, taking the others even when held.
  'dedup-off',
  'local-clock-expiry',
  'no-wait-grace',
  'lock-all-first-only',
  // Permit machine control (permits workload): a semaphore or readers-writer lock release frees
  // one permit more than it held, so more permits are granted than the resource has.
  'release-extra-permit',
  // Election control (elections workload): elections have two permits, so two leaders at once.
  'two-leaders',
  // Membership control (implies membership churn): a leader takes a change while another is
  // uncommitted, or before it has committed an entry of its term.
  'concurrent-conf-changes',
] as const;
export type BugName = (typeof BUGS)[number];

export type Workload = 'register' | 'locks' | 'permits' | 'elections';

/** Whether a workload runs LockService over LockMachine (anything but the register). */
export function usesLockService(workload: Workload): boolean {
  return workload !== 'register';
}

/** What a workload of simulated clients offers the run loop. */
export interface SimWorkload {
  readonly history: readonly object[];
  start(): void;
  stopIssuing(): void;
  /** Operations not yet resolved. */
  pending(): number;
  /** Called once the run (and its liveness phase, if any) is over, before the history check. */
  finish?(liveness: boolean): string[];
  checkHistory(): string[];
}

export interface SimOptions {
  readonly seed: number;
  /** Events of the fault phase. */
  readonly events: number;
  readonly nodes: 3 | 5;
  readonly bug?: BugName;
  /** What the cluster replicates and the clients do (default 'register'). */
  readonly workload?: Workload;
  /** Heal everything after the fault phase and require progress (default: every other seed). */
  readonly liveness?: boolean;
  /**
   * Check "persist before you speak" on every message sent (default true). Off, only the
   * consequences of a violation (lost commits, two leaders) can reveal it.
   */
  readonly checkDurableClaims?: boolean;
  /**
   * Check that no log holds two uncommitted configuration entries (default true, membership
   * runs). Off, only the consequences (a committed entry at risk, two leaders) can reveal it.
   */
  readonly checkOneChangeAtATime?: boolean;
  /** Print every event (debugging a replay). */
  readonly trace?: boolean;
  /**
   * Membership churn (membership.ts): two spare nodes outside the configuration, and a leader
   * asked for random changes during the fault phase. Default off, so the seeds of runs without
   * it replay as they always have.
   */
  readonly membership?: boolean;
  /**
   * Watchers following watches across nodes (watchers.ts; lock workloads). Default none, so the
   * seeds of runs without them replay as they always have.
   */
  readonly watch?: WatchSimOptions;
}

export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly events: number;
  readonly livenessEvents: number;
  readonly virtualMs: number;
  readonly violations: readonly string[];
  readonly workload: Workload;
  readonly history: readonly object[];
  readonly maxTerm: number;
  readonly faults: number;
  readonly membership: boolean;
  /** What the membership churn did (membership runs only). */
  readonly churn?: ChurnStats;
  /** What the watchers did (runs with watchers only). */
  readonly watch?: WatchStats;
}

/** Whether a run churns membership: asked for, or needed by its bug. */
export function churnsMembership(opts: Pick<SimOptions, 'membership' | 'bug'>): boolean {
  return opts.membership === true || opts.bug === 'concurrent-conf-changes';
}

/** Replica state hashes are compared at every HASH_EVERY-th applied index (and at the end). */
export const HASH_EVERY = 8;

/** The link model: delay, loss, duplication and partitions, decided per packet. */
export class SimNetwork implements MemoryNetworkPolicy {
  dropP: number;
  dupP: number;
  maxDelayMs: number;
  private readonly blocked = new Set<string>();

  constructor(
    private readonly world: World,
    rnd: SeededRandom,
  ) {
    this.dropP = rnd.nextFloat() * 0.06;
    this.dupP = rnd.nextFloat() * 0.03;
    this.maxDelayMs = 2 + rnd.nextInt(15);
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  healAll(): void {
    this.blocked.clear();
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  route(packet: Packet, network: MemoryNetwork): void {
    const w = this.world;
    const { from, to } = packet.message;
    if (w.opts.checkDurableClaims !== false) w.checker.onSend(packet.message, w.node(from).durable());
    w.sendObserver?.(packet.message.type, from);
    const copies = w.rnd.nextFloat() < this.dropP ? 0 : w.rnd.nextFloat() < this.dupP ? 2 : 1;
    const sender = w.node(from);
    if (copies === 0 && packet.kind === 'snapshot') {
      w.scheduleOn(sender, w.now + 1, `snapfail ${from}>${to}`, () => packet.done(false));
    }
    for (let c = 0; c < copies; c++) {
      const delay = 0.2 + w.rnd.nextFloat() * this.maxDelayMs;
      const target = w.node(to);
      const label = `deliver ${packet.message.type} ${from}>${to}`;
      if (packet.kind === 'message') {
        // Partitions apply at delivery, so a partition also cuts messages already in flight.
        w.scheduleOn(target, w.now + delay, label, () => {
          if (!this.isBlocked(from, to)) network.deliver(packet);
        });
      } else if (c === 0) {
        // A snapshot stream always ends with a report to the sender; a paused, down or
        // partitioned receiver makes it fail (the real transport would time out).
        w.schedule(w.now + delay, label, () => {
          const report = (ok: boolean): void => w.scheduleOn(sender, w.now + delay, `snapdone ${from}>${to}`, () => packet.done(ok));
          if (target.up && !target.paused && !this.isBlocked(from, to)) network.deliver({ ...packet, done: report });
          else report(false);
        });
      }
    }
  }
}

export class World {
  readonly rnd: SeededRandom;
  readonly queue = new EventQueue();
  readonly checker: SafetyChecker;
  readonly net: SimNetwork;
  readonly network: MemoryNetwork;
  readonly nodes: SimNode[] = [];
  /** Called after every event (the nemesis reacting to what happened). */
  observer: (() => void) | undefined;
  /** Called for every message sent. */
  sendObserver: ((type: string, from: number) => void) | undefined;
  /** Called for every entry a replica applies (lock workloads). */
  entryObserver: ((e: Entry) => void) | undefined;
  readonly electionTick = 10;
  now = 0;
  processed = 0;
  /**
   * `session:seq` of every permit acquire granted from its queue (a `granted` event of a
   * semaphore or readers-writer lock on any replica), for the permits workload's counts.
   */
  readonly permitHandOffs = new Set<string>();

  constructor(readonly opts: SimOptions) {
    this.rnd = new SeededRandom(opts.seed);
    this.checker = new SafetyChecker(churnsMembership(opts), opts.checkOneChangeAtATime !== false);
    this.net = new SimNetwork(this, this.rnd);
    this.network = new MemoryNetwork(this.net);
    const voters = Array.from({ length: opts.nodes }, (_, k) => k + 1);
    const membership = churnsMembership(opts);
    // Spare nodes start with no configuration of their own, as a node started to join does.
    const ids = Array.from({ length: opts.nodes + (membership ? SPARE_NODES : 0) }, (_, k) => k + 1);
    const snapshotEvery = [0, 15, 40, 200][this.rnd.nextInt(4)] ?? 0;
    const fsyncMaxMs = 0.5 + this.rnd.nextFloat() * 8;
    // Tiny messages (one entry each) and tiny windows make partial replication common.
    const maxSizePerMsg = [1, 200, 4096][this.rnd.nextInt(3)] ?? 4096;
    const maxInflightMsgs = [1, 4, 64][this.rnd.nextInt(3)] ?? 4;
    // Watch runs only (others draw nothing more): a history small enough to be outrun.
    const watchHistory = opts.watch === undefined ? undefined : ([20, 60, 100_000][this.rnd.nextInt(3)] ?? 60);
    const env: NodeEnvironment = {
      now: () => this.now,
      schedule: (node, time, label, fn) => this.scheduleOn(node, time, label, fn),
      network: this.network,
      checker: this.checker,
      random: this.rnd,
      onPermitHandOff: (session, seq) => this.permitHandOffs.add(`${session}:${seq}`),
      onApplied: (e) => this.entryObserver?.(e),
    };
    for (const id of ids) {
      this.nodes.push(
        new SimNode(id, env, {
          voters: id <= opts.nodes ? voters : [],
          electionTick: this.electionTick,
          heartbeatTick: 2,
          fsyncMinMs: 0.1,
          fsyncMaxMs,
          snapshotEvery,
          maxSizePerMsg,
          maxInflightMsgs,
          snapshotCatchUpEntries: 1 + this.rnd.nextInt(10),
          commitPriorTerm: opts.bug === 'commit-prior-term',
          concurrentConfChanges: opts.bug === 'concurrent-conf-changes',
          expectedRefusals: membership ? ['not-a-member', 'not-a-voter'] : [],
          hostKnobs: {
            voteNotPersisted: opts.bug === 'vote-not-persisted',
            ackBeforeSync: opts.bug === 'ack-before-sync',
            readWithoutReadIndex: opts.bug === 'read-without-readindex',
          },
          workload: opts.workload ?? 'register',
          machineBugs: {
            dedupOff: opts.bug === 'dedup-off',
            localClock: opts.bug === 'local-clock-expiry',
            noWaitGrace: opts.bug === 'no-wait-grace',
            lockAllChecksFirstOnly: opts.bug === 'lock-all-first-only',
            releaseExtraPermit: opts.bug === 'release-extra-permit',
            twoLeaders: opts.bug === 'two-leaders',
          },
          hashEvery: HASH_EVERY,
          ...(watchHistory !== undefined
            ? { watches: { maxEvents: watchHistory, progressIndices: 5, unsafeDropOneOnResume: opts.watch?.dropOneOnResume === true } }
            : {}),
        }),
      );
    }
    for (const n of this.nodes) this.scheduleTick(n, this.rnd.nextFloat() * TICK_MS);
  }

  node(id: NodeId): SimNode {
    const n = this.nodes[id - 1];
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /**
   * Queues `fn` to run on the current incarnation of `node` at `time`; while the node is
   * paused it waits for resume; if that incarnation crashed first, it never runs.
   */
  scheduleOn(node: SimNode, time: number, label: string, fn: () => void): void {
    const incarnation = node.incarnation;
    this.queue.push(time, label, () => {
      // The process this was meant for is gone (crashed, maybe restarted): it never happens.
      if (!node.up || node.incarnation !== incarnation) return;
      if (node.paused) node.deferred.push(fn);
      else fn();
    });
  }

  /** Queues a world-level event (nemesis, clients). */
  schedule(time: number, label: string, fn: () => void): void {
    this.queue.push(time, label, fn);
  }

  private scheduleTick(n: SimNode, at: number): void {
    this.queue.push(at, `tick ${n.id}`, () => {
      if (n.up && !n.paused) n.tick();
      this.scheduleTick(n, this.now + TICK_MS * n.skew);
    });
  }

  resume(n: SimNode): void {
    if (!n.paused) return;
    n.paused = false;
    const pending = n.deferred;
    n.deferred = [];
    for (const fn of pending) this.queue.push(this.now, `resumed ${n.id}`, fn);
  }

  restart(n: SimNode): void {
    if (n.up) return;
    n.boot();
  }

  /**
   * A live leader that a majority of the voters of its configuration follow (its own voters:
   * under membership churn, nodes outside its configuration do not count), if there is one.
   */
  stableLeader(): NodeId | undefined {
    for (const l of this.nodes) {
      if (!l.up || l.paused) continue;
      const st = l.status();
      if (st.role !== 'leader') continue;
      const following = st.config.voters.filter((id) => {
        const n = this.nodes[id - 1];
        if (n === undefined || !n.up || n.paused) return false;
        const ns = n.status();
        return ns.leader === l.id && ns.term === st.term;
      });
      if (following.length >= Math.floor(st.config.voters.length / 2) + 1) return l.id;
    }
    return undefined;
  }

  /** Processes one event; returns false when nothing is left (never, with ticking nodes). */
  step(): boolean {
    const ev = this.queue.pop();
    if (ev === undefined) return false;
    this.now = ev.time;
    if (this.opts.trace === true) process.stderr.write(`${this.now.toFixed(2)} ${ev.label}\n`);
    ev.run();
    this.processed++;
    this.observer?.();
    this.checker.afterEvent(this.now, this.nodes, this.processed % 16 === 0);
    return true;
  }
}

/**
 * Peer messages the nodes refused, as violations: every member of a run without a bug is
 * correct, and a correct member's message is never refused (docs/design.md#security).
 */
export function refusalViolations(nodes: readonly SimNode[]): string[] {
  return nodes.flatMap((n) =>
    n.refused.count > 0 ? [`node ${n.id} refused ${n.refused.count} peer messages: ${n.refused.first.join('; ')}`] : [],
  );
}

/** Runs one seed to completion. Never throws: exceptions are violations. */
export function runSeed(opts: SimOptions): SimResult {
  const world = new World(opts);
  const workload = opts.workload ?? 'register';
  const clients: SimWorkload = usesLockService(workload)
    ? new LockClients(world, 5, { permits: workload === 'permits', elections: workload === 'elections' })
    : new SimClients(world, 3);
  const nemesis = new Nemesis(world);
  const churn = churnsMembership(opts) ? new MembershipChurn(world) : undefined;
  const watchers = opts.watch !== undefined && usesLockService(workload) ? new Watchers(world, opts.watch) : undefined;
  world.observer = () => nemesis.observe();
  world.sendObserver = (type, from) => nemesis.onSend(type, from);
  let livenessEvents = 0;
  const violations: string[] = [];
  const liveness = opts.liveness ?? opts.seed % 2 === 0;
  try {
    clients.start();
    watchers?.start();
    nemesis.start();
    churn?.start();
    while (world.processed < opts.events && world.step()) {
      /* fault phase */
    }
    if (liveness) {
      nemesis.stopAndHeal();
      churn?.stop();
      clients.stopIssuing();
      const healedAt = world.now;
      const electionMs = world.electionTick * TICK_MS;
      const leaderDeadline = healedAt + 10 * electionMs;
      const opsDeadline = healedAt + 30 * electionMs;
      const before = world.processed;
      let leaderSeen = false;
      while (world.now < opsDeadline && world.step()) {
        if (!leaderSeen && world.stableLeader() !== undefined) leaderSeen = true;
        if (!leaderSeen && world.now > leaderDeadline) {
          violations.push(`liveness: no leader within 10 election timeouts after healing at t=${healedAt.toFixed(1)}`);
          break;
        }
        if (leaderSeen && clients.pending() === 0) break;
      }
      livenessEvents = world.processed - before;
      if (leaderSeen && clients.pending() > 0) {
        violations.push(`liveness: ${clients.pending()} client operations unresolved 30 election timeouts after healing`);
      }
    }
    violations.push(...(clients.finish?.(liveness) ?? []));
    violations.push(...(watchers?.check() ?? []));
    // Replica determinism at the end: every live node's state against every other's (and the
    // hashes recorded at that index during the run).
    for (const n of world.nodes) if (n.up) world.checker.onStateHash(n.id, n.appliedIndex(), stateHash(n.machine.snapshot()));
    world.checker.finish();
  } catch (err) {
    violations.push(`exception at t=${world.now.toFixed(2)}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  violations.push(...world.checker.violations);
  // With a bug set, members are not all correct, and a refusal is the defence doing its job.
  if (opts.bug === undefined) violations.push(...refusalViolations(world.nodes));
  try {
    violations.push(...clients.checkHistory());
  } catch (err) {
    violations.push(`history check failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  let maxTerm = 0;
  for (const n of world.nodes) maxTerm = Math.max(maxTerm, n.durable().hardState.term);
  return {
    seed: opts.seed,
    nodes: opts.nodes,
    workload,
    events: Math.min(world.processed, opts.events),
    livenessEvents,
    virtualMs: world.now,
    violations,
    history: clients.history,
    maxTerm,
    faults: nemesis.faults,
    membership: churn !== undefined,
    ...(churn !== undefined ? { churn: churn.stats } : {}),
    ...(watchers !== undefined ? { watch: watchers.stats } : {}),
  };
}
