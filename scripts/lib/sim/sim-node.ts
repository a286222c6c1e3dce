/**
 * One simulated server: a real RaftHost over a simulated disk (MemoryDurableLog whose write
 * completions are scheduled events), an in-memory snapshot store, and an endpoint of the
 * simulated network. It can crash (losing unsynced writes), restart from what its disk kept,
 * pause (every event for it waits) and tick at a skewed rate.
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../../../src/raft/index.js';
import { LockService } from '../../../src/service/lock-service.js';
import { RaftHost, type HostTestingKnobs } from '../../../src/host/raft-host.js';
import type { ApplyContext, Logger, StateMachine } from '../../../src/raft/index.js';
import { LockMachine, type ApplyOutput } from '../../../src/state-machine/index.js';
import { MemoryDurableLog } from '../../../src/storage/memory-durable-log.js';
import { MemorySnapshotStore } from '../../../src/storage/snapshot-store.js';
import type { MemoryNetwork } from '../../../src/transport/memory-transport.js';
import type { Entry, LoadedState, NodeId, Status } from './sim-types.js';
import type { ObservedNode, SafetyChecker } from './invariants.js';
import { KvStateMachine } from './kv-state-machine.js';

/** What a node needs from the world around it. */
export interface NodeEnvironment {
  readonly now: () => number;
  /** Schedules `fn` on this node at `time` (deferred while the node is paused). */
  readonly schedule: (node: SimNode, time: number, label: string, fn: () => void) => void;
  readonly network: MemoryNetwork;
  readonly checker: SafetyChecker;
  readonly random: SeededRandom;
  /** A semaphore, readers-writer lock or election wait `(session, seq)` was granted from its queue (any replica). */
  readonly onPermitHandOff?: (session: number, seq: number) => void;
  /** A replica applied `entry` (lock workloads; the watchers' record of the committed log). */
  readonly onApplied?: (entry: Entry) => void;
}

export interface NodeSettings {
  readonly voters: readonly NodeId[];
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly fsyncMinMs: number;
  readonly fsyncMaxMs: number;
  readonly snapshotEvery: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly snapshotCatchUpEntries: number;
  readonly commitPriorTerm: boolean;
  readonly concurrentConfChanges?: boolean;
  readonly hostKnobs: HostTestingKnobs;
  /**
   * Refusal reasons that correct members cause under membership churn: an answer from a node
   * the receiver's configuration no longer (or does not yet) count. Not reported as violations.
   */
  readonly expectedRefusals?: readonly string[];
  /** Which state machine the nodes replicate (default: the register; 'locks', 'permits' and 'elections' run LockMachine). */
  readonly workload?: 'register' | 'locks' | 'permits' | 'elections';
  /** Lock machine negative controls. */
  readonly machineBugs?: {
    readonly dedupOff?: boolean;
    readonly localClock?: boolean;
    readonly noWaitGrace?: boolean;
    readonly lockAllChecksFirstOnly?: boolean;
    readonly releaseExtraPermit?: boolean;
    readonly twoLeaders?: boolean;
  };
  /** Hash the state machine after every k-th applied index (0: never). */
  readonly hashEvery?: number;
  /** Bounds of the watch history, and its negative control (watch runs). */
  readonly watches?: { readonly maxEvents?: number; readonly progressIndices?: number; readonly unsafeDropOneOnResume?: boolean };
}

/** Virtual time 0 maps to this clock reading, so skewed clocks never go below 0. */
export const CLOCK_EPOCH_MS = 1_000_000;

/** A short digest of a state machine snapshot. */
export function stateHash(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('base64');
}

export class SimNode implements ObservedNode {
  up = true;
  paused = false;
  incarnation = 0;
  /** Tick period multiplier (clock skew / drift between nodes). */
  skew = 1;
  /** This node's clock offset from virtual time, ms (clock skew between nodes). */
  clockOffset = 0;
  /** Events that arrived while paused, run in order on resume. */
  deferred: Array<() => void> = [];
  /** Called once when this incarnation crashes (after the host has answered what it held). */
  onCrash: Array<() => void> = [];
  /**
   * Peer messages this node refused, across incarnations (the first few, and how many in
   * all). Every simulated member is correct unless a bug is set, and no correct member's
   * message may ever be refused (docs/design.md#security): the run reports any as violations.
   */
  readonly refused: { count: number; first: string[] } = { count: 0, first: [] };
  readonly disk: MemoryDurableLog;
  readonly snapshots = new MemorySnapshotStore();
  host!: RaftHost<unknown>;
  /** The register machine ('register' workload only). */
  sm!: KvStateMachine;
  /** The lock service ('locks' and 'permits' workloads only). */
  service: LockService | undefined;
  /** The replicated machine, whatever the workload. */
  machine!: StateMachine<unknown>;
  private diskBusyUntil = 0;

  constructor(
    readonly id: NodeId,
    private readonly env: NodeEnvironment,
    private readonly settings: NodeSettings,
  ) {
    // Writes complete in submission order, each after a random fsync latency.
    this.disk = new MemoryDurableLog((complete) => {
      const lat = settings.fsyncMinMs + env.random.nextFloat() * (settings.fsyncMaxMs - settings.fsyncMinMs);
      const at = Math.max(env.now(), this.diskBusyUntil) + lat;
      this.diskBusyUntil = at;
      env.schedule(this, at, `disk ${id}`, complete);
    });
    // Only the locks workload draws a clock offset: the register workload's random stream (and
    // with it every recorded register seed) stays exactly as it was.
    if (this.runsLockMachine) this.clockOffset = Math.round((env.random.nextFloat() - 0.5) * 2 * 400);
    this.boot();
  }

  /** Whether this node replicates LockMachine (the 'locks', 'permits' and 'elections' workloads). */
  private get runsLockMachine(): boolean {
    return this.settings.workload === 'locks' || this.settings.workload === 'permits' || this.settings.workload === 'elections';
  }

  /** This node's clock: virtual time plus its skew, never going back. */
  clockNow(): number {
    return Math.floor(CLOCK_EPOCH_MS + this.env.now() + this.clockOffset);
  }

  /** Starts a fresh incarnation from whatever the disk kept. */
  boot(): void {
    this.incarnation++;
    const incarnation = this.incarnation;
    const checker = this.env.checker;
    const s = this.settings;
    const hashEvery = s.hashEvery ?? 0;
    const hashIfDue = (index: number): void => {
      if (hashEvery > 0 && index % hashEvery === 0) checker.onStateHash(this.id, index, stateHash(this.machine.snapshot()));
    };
    let machine: StateMachine<unknown>;
    let service: LockService | undefined;
    if (this.runsLockMachine) {
      const bugs = s.machineBugs ?? {};
      const lm = new LockMachine({
        unsafeTestingKnobs: {
          ...(bugs.dedupOff === true ? { dedupOff: true } : {}),
          ...(bugs.localClock === true ? { localClock: () => this.clockNow() } : {}),
          ...(bugs.noWaitGrace === true ? { noWaitGrace: true } : {}),
          ...(bugs.lockAllChecksFirstOnly === true ? { lockAllChecksFirstOnly: true } : {}),
          ...(bugs.releaseExtraPermit === true ? { releaseExtraPermit: true } : {}),
          ...(bugs.twoLeaders === true ? { twoLeaders: true } : {}),
        },
      });
      // Secrets from a counter, not the shared random stream: drawing from it would change
      // every seed's schedule. They only need to be reproducible here.
      let secrets = 0;
      const newSecret = (): string => createHash('sha256').update(`${this.id}:${incarnation}:${++secrets}`).digest('hex').slice(0, 32);
      // A watch's catch-up runs as an event of its own (the run loop never yields to microtasks).
      const defer = (run: () => void): void => this.env.schedule(this, this.env.now(), `watch catch-up ${this.id}`, run);
      service = new LockService({ machine: lm, clock: { now: () => this.clockNow() }, newSecret, watches: { ...s.watches, defer } });
      const inner = service.stateMachine();
      machine = {
        apply: (entry, context: ApplyContext): ApplyOutput => {
          checker.onApplied(this.id, incarnation, entry, this.host.status(false).term);
          this.env.onApplied?.(entry);
          const out = inner.apply(entry, context);
          const handOff = this.env.onPermitHandOff;
          if (handOff !== undefined)
            for (const ev of out.events) if (ev.type === 'granted' && ev.kind !== undefined) handOff(ev.session, ev.seq);
          hashIfDue(context.index);
          return out;
        },
        snapshot: () => inner.snapshot(),
        restore: (data) => {
          inner.restore(data);
          checker.onRestored(this.id, incarnation, lm.appliedIndex);
        },
      };
    } else {
      const kv = new KvStateMachine({
        applied: (e) => checker.onApplied(this.id, incarnation, e, this.host.status(false).term),
        restored: (index) => checker.onRestored(this.id, incarnation, index),
      });
      this.sm = kv;
      machine = {
        apply: (entry, context) => {
          const out = kv.apply(entry, context);
          hashIfDue(context.index);
          return out;
        },
        snapshot: () => kv.snapshot(),
        restore: (data) => kv.restore(data),
      };
    }
    this.machine = machine;
    this.service = service;
    this.host = new RaftHost<unknown>({
      id: this.id,
      raft: {
        electionTick: s.electionTick,
        heartbeatTick: s.heartbeatTick,
        random: new SeededRandom(this.env.random.nextUint32()),
        maxSizePerMsg: s.maxSizePerMsg,
        maxInflightMsgs: s.maxInflightMsgs,
        unsafeTestingKnobs: { commitPriorTerm: s.commitPriorTerm, concurrentConfChanges: s.concurrentConfChanges === true },
      },
      bootstrap: { voters: s.voters, learners: [] },
      log: this.disk,
      loaded: this.disk.load(),
      snapshots: this.snapshots,
      transport: this.env.network.endpoint(this.id),
      stateMachine: machine,
      snapshotEvery: s.snapshotEvery,
      snapshotCatchUpEntries: s.snapshotCatchUpEntries,
      unsafeTestingKnobs: s.hostKnobs,
      logger: this.refusalRecorder(),
    });
    if (service !== undefined) service.attach(this.host as RaftHost<ApplyOutput>);
    this.up = true;
    this.onCrash = [];
  }

  /** A logger that keeps the host's refusals of peer messages, and drops everything else. */
  private refusalRecorder(): Logger {
    const note = (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      if (message !== 'refused peer message') return;
      if (this.settings.expectedRefusals?.includes(String(fields?.['reason'])) === true) return;
      this.refused.count++;
      if (this.refused.first.length >= 3) return;
      const f = fields ?? {};
      this.refused.first.push(
        `t=${this.env.now().toFixed(2)}: node ${this.id} refused ${String(f['type'])} from ${String(f['from'])} in term ${String(f['term'])} (${String(f['reason'])})`,
      );
    };
    return { debug: note, info: () => {}, warn: note, error: () => {} };
  }

  /** The host tick and, in the locks workload, the service's leader duties after it. */
  tick(): void {
    this.host.tick();
    this.service?.tick();
  }

  /** Applied index of the replicated machine. */
  appliedIndex(): number {
    return this.host.appliedIndex;
  }

  /** kill -9: the process is gone, unsynced writes are lost, in-flight callbacks never fire. */
  crash(): void {
    if (!this.up) return;
    this.up = false;
    this.paused = false;
    this.deferred = [];
    this.host.stop();
    this.service?.releaseParked('crashed');
    this.disk.crash();
    this.diskBusyUntil = 0;
    const hooks = this.onCrash;
    this.onCrash = [];
    for (const h of hooks) h();
  }

  status(): Status {
    return this.host.status(false);
  }

  entries(lo: number, hi: number): readonly Entry[] {
    return this.host.logEntries(lo, hi);
  }

  durable(): LoadedState {
    return this.disk.durableState();
  }

  get bootstrapVoters(): readonly NodeId[] {
    return this.settings.voters;
  }

  durableVersion(): number {
    return this.disk.syncs * 2 + this.incarnation * 1_000_003;
  }
}
