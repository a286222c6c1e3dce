/**
 * One simulated server: a real RaftHost over a simulated disk (MemoryDurableLog whose write
 * completions are scheduled events), an in-memory snapshot store, and an endpoint of the
 * simulated network. It can crash (losing unsynced writes), restart from what its disk kept,
 * pause (every event for it waits) and tick at a skewed rate.
 */
import { SeededRandom } from '../../src/raft/index.js';
import { RaftHost, type HostTestingBugs } from '../../src/server/raft-host.js';
import { MemoryDurableLog } from '../../src/storage/memory-durable-log.js';
import { MemorySnapshotStore } from '../../src/storage/snapshot-store.js';
import type { MemoryNetwork } from '../../src/transport/memory-transport.js';
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
  readonly hostBugs: HostTestingBugs;
}

export class SimNode implements ObservedNode {
  up = true;
  paused = false;
  incarnation = 0;
  /** Tick period multiplier (clock skew / drift between nodes). */
  skew = 1;
  /** Events that arrived while paused, run in order on resume. */
  deferred: Array<() => void> = [];
  /** Called once when this incarnation crashes (after the host has answered what it held). */
  onCrash: Array<() => void> = [];
  readonly disk: MemoryDurableLog;
  readonly snapshots = new MemorySnapshotStore();
  host!: RaftHost<null>;
  sm!: KvStateMachine;
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
    this.boot();
  }

  /** Starts a fresh incarnation from whatever the disk kept. */
  boot(): void {
    this.incarnation++;
    const incarnation = this.incarnation;
    const checker = this.env.checker;
    this.sm = new KvStateMachine({
      applied: (e) => checker.onApplied(this.id, incarnation, e, this.host.status(false).term),
      restored: (index) => checker.onRestored(this.id, incarnation, index),
    });
    const s = this.settings;
    this.host = new RaftHost<null>({
      id: this.id,
      raft: {
        electionTick: s.electionTick,
        heartbeatTick: s.heartbeatTick,
        random: new SeededRandom(this.env.random.nextUint32()),
        maxSizePerMsg: s.maxSizePerMsg,
        maxInflightMsgs: s.maxInflightMsgs,
        unsafeTestingKnobs: { commitPriorTerm: s.commitPriorTerm },
      },
      bootstrap: { voters: s.voters, learners: [] },
      log: this.disk,
      loaded: this.disk.load(),
      snapshots: this.snapshots,
      transport: this.env.network.endpoint(this.id),
      stateMachine: this.sm,
      snapshotEvery: s.snapshotEvery,
      snapshotCatchUpEntries: s.snapshotCatchUpEntries,
      unsafeTestingBugs: s.hostBugs,
    });
    this.up = true;
    this.onCrash = [];
  }

  /** kill -9: the process is gone, unsynced writes are lost, in-flight callbacks never fire. */
  crash(): void {
    if (!this.up) return;
    this.up = false;
    this.paused = false;
    this.deferred = [];
    this.host.stop();
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

  durableVersion(): number {
    return this.disk.syncs * 2 + this.incarnation * 1_000_003;
  }
}
