/**
 * RaftHost: owns one node's Raft core and drives it against durable storage, a peer transport
 * and a state machine: the only place where I/O meets consensus
 * (docs/design.md#persist-before-you-speak).
 *
 * Its one ready loop does, for each Ready and in this order:
 *   send the messages that may go at once; apply the committed entries already durable here
 *   → persist (one atomic write; snapshot data first when installing one)
 *   → send the messages that were held until the write is durable
 *   → install the snapshot / apply the committed entries that were in this write
 *   → advance.
 * Only one write is in flight; proposals that arrive meanwhile are proposed together when it
 * completes (group commit). What needs no write is not held behind it: messages that claim
 * nothing durable go at once, and entries that become committed (and are durable here) are
 * applied and answered at once, as are reads whose read point arrives.
 *
 * The host is synchronous and callback-driven: no Promises inside, so the simulator can run a
 * whole cluster of hosts event by event and replay it exactly from a seed.
 */
import {
  NONE,
  MemoryStorage,
  RawNode,
  silentLogger,
  type ConfChange,
  type ConfState,
  type Entry,
  type Logger,
  type Message,
  type NodeId,
  type ProposeConfChangeResult,
  type RaftConfig,
  type ReadState,
  type Ready,
  type RefusalReason,
  type SnapshotMeta,
  type SnapshotRequest,
  type StateMachine,
  type Status,
} from '../raft/index.js';
import type { DurableLog, LoadedState, SnapshotStore } from '../storage/index.js';
import type { PeerTransport } from '../transport/index.js';
import { ProposalTracker, ReadTracker, type ProposeOutcome, type ReadOutcome } from './pending-requests.js';
import { RefusalLog } from './refusal-log.js';

export type { ProposeOutcome, ReadOutcome } from './pending-requests.js';

/** Test-only switches that break one rule each (negative controls). Never set in production. */
export interface HostTestingKnobs {
  /** Send vote replies before the vote is durable. */
  readonly voteNotPersisted?: boolean;
  /** Send append acknowledgements before the entries are durable. */
  readonly ackBeforeSync?: boolean;
  /** A leader serves reads from its own state without confirming leadership (no ReadIndex). */
  readonly readWithoutReadIndex?: boolean;
}

export interface HostOptions<R> {
  readonly id: NodeId;
  /** Core settings (timeouts, PreVote, CheckQuorum, limits, RNG). */
  readonly raft: Omit<RaftConfig, 'id' | 'storage' | 'applied'>;
  /** Configuration for a brand-new node (ignored once a snapshot records one). */
  readonly bootstrap: ConfState;
  readonly log: DurableLog;
  /** What `log.load()` returned. */
  readonly loaded: LoadedState;
  readonly snapshots: SnapshotStore;
  readonly transport: PeerTransport;
  readonly stateMachine: StateMachine<R>;
  /** Take a snapshot every this many applied entries; 0 = never (default 10,000). */
  readonly snapshotEvery?: number;
  /** Entries kept behind a snapshot so slow followers catch up from the log (default 1,000). */
  readonly snapshotCatchUpEntries?: number;
  /** Ticks a read may wait for its read point before failing (default 4 election timeouts). */
  readonly readTimeoutTicks?: number;
  readonly logger?: Logger;
  /** Called once on a fatal I/O error; the host is stopped first (fail-stop). Default: throw. */
  readonly onFatal?: (error: Error) => void;
  readonly unsafeTestingKnobs?: HostTestingKnobs;
}

export class RaftHost<R = unknown> {
  readonly id: NodeId;
  private readonly raw: RawNode;
  /** Mirror of what is durable, read by the core (etcd's MemoryStorage pattern). */
  private readonly mirror: MemoryStorage;
  private readonly opts: HostOptions<R>;
  private readonly logger: Logger;
  private readonly knobs: HostTestingKnobs;
  private readonly proposals = new ProposalTracker<R>();
  private readonly reads: ReadTracker;
  private queued: Array<{ readonly data: Uint8Array; readonly done: (o: ProposeOutcome<R>) => void }> = [];
  /** Whether a ReadIndex round is out (its reads not yet answered). */
  private readRoundOpen = false;
  /** Reads that arrived while a round was out: they share the next round. */
  private nextReads: Array<(outcome: ReadOutcome) => void> = [];
  private persisting = false;
  private processing = false;
  private dirty = false;
  private stopped = false;
  private snapshotting = false;
  private wasLeader = false;
  private applied: number;
  private lastSnapshotIndex: number;
  /** Snapshot data received from a leader, waiting for the core to accept its metadata. */
  private incomingSnapshot: { readonly index: number; readonly data: Uint8Array } | undefined;
  /** Counters for metrics and benchmarks. */
  readonly stats = { readies: 0, persists: 0, entriesPersisted: 0, applied: 0, proposals: 0, elections: 0, refusedMessages: 0 };
  /** Refused peer messages, logged at a bounded rate. */
  private readonly refusals: RefusalLog;

  constructor(opts: HostOptions<R>) {
    this.opts = opts;
    this.id = opts.id;
    this.logger = opts.logger ?? silentLogger;
    this.knobs = opts.unsafeTestingKnobs ?? {};
    // At most one warning per reason every 20 election timeouts (10 to 20 s with the defaults).
    this.refusals = new RefusalLog(this.logger, opts.raft.electionTick * 20);
    // Read contexts must never repeat across restarts, or a reply to a read issued before a
    // crash could answer a newer read with an older (stale) read point.
    const incarnation = opts.raft.random.nextInt(0x7fffffff).toString(36);
    this.reads = new ReadTracker(`${opts.id}.${incarnation}`, opts.readTimeoutTicks ?? opts.raft.electionTick * 4);
    const { mirror, applied, recordSnapshot } = this.recover(opts.loaded, opts.bootstrap);
    this.mirror = mirror;
    this.applied = applied;
    this.lastSnapshotIndex = applied;
    const created = RawNode.create({ ...opts.raft, id: opts.id, storage: mirror, applied });
    if (!created.ok) throw new Error(`invalid raft configuration: ${created.errors.map((e) => e.message).join('; ')}`);
    this.raw = created.node;
    if (recordSnapshot !== undefined) {
      // The snapshot adopted at recovery must be in the durable log before anything else is
      // written after it, or the log would have a gap.
      this.persisting = true;
      const done = (err: Error | null): void => {
        if (err !== null) return this.fatal(err);
        this.persisting = false;
        this.process();
      };
      if (recordSnapshot.kind === 'compact') opts.log.compact(recordSnapshot.meta, done);
      else opts.log.persist({ snapshot: recordSnapshot.meta, hardState: mirror.getHardState(), entries: [], sync: true }, done);
    }
    opts.transport.start({
      onMessage: (m) => this.receive(m),
      onSnapshot: (m, data) => this.receiveSnapshot(m, data),
      onUnreachable: (peer) => {
        if (!this.stopped) this.raw.reportUnreachable(peer);
      },
    });
  }

  /**
   * Rebuilds the durable mirror from disk and the state machine from the newest snapshot. A
   * snapshot newer than the log's base means we crashed between saving it and compacting (or
   * between receiving it and recording it): it holds committed state, so adopt it.
   */
  private recover(
    loaded: LoadedState,
    bootstrap: ConfState,
  ): { mirror: MemoryStorage; applied: number; recordSnapshot?: { kind: 'compact' | 'install'; meta: SnapshotMeta } } {
    const conf = loaded.snapshot.index > 0 ? loaded.snapshot.confState : bootstrap;
    const mirror = new MemoryStorage(conf);
    if (loaded.snapshot.index > 0) mirror.applySnapshot(loaded.snapshot);
    mirror.append(loaded.entries);
    mirror.setHardState(loaded.hardState);
    const snap = this.opts.snapshots.latest();
    if (snap === undefined) {
      if (loaded.snapshot.index > 0) throw new Error(`log compacted to ${loaded.snapshot.index} but no snapshot data found`);
      return { mirror, applied: 0 };
    }
    if (snap.meta.index < loaded.snapshot.index) {
      throw new Error(`snapshot data at ${snap.meta.index} is older than the log's base ${loaded.snapshot.index}`);
    }
    let recordSnapshot: { kind: 'compact' | 'install'; meta: SnapshotMeta } | undefined;
    if (mirror.term(snap.meta.index) === snap.meta.term) {
      // The log holds the snapshot's last entry (the usual case: entries are kept behind a
      // snapshot for slow followers); everything after it stays.
      mirror.createSnapshot(snap.meta.index, snap.meta.confState);
    } else {
      // The log ends before the snapshot or conflicts with it (we crashed between saving an
      // installed snapshot and recording it): the snapshot replaces the log, durably too.
      mirror.applySnapshot(snap.meta);
      recordSnapshot = { kind: 'install', meta: snap.meta };
    }
    const hs = mirror.getHardState();
    if (hs.commit < snap.meta.index) mirror.setHardState({ ...hs, commit: snap.meta.index });
    this.opts.stateMachine.restore(snap.data);
    return { mirror, applied: snap.meta.index, ...(recordSnapshot !== undefined ? { recordSnapshot } : {}) };
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** One logical clock tick (the owner calls this every tickMs). */
  tick(): void {
    if (this.stopped) return;
    this.raw.tick();
    this.reads.tick();
    this.refusals.tick();
    this.process();
  }

  /**
   * A peer message, from the transport. Returns false when it was refused (the transport counts
   * it as rejected): what no correct member sends reaches neither the core's state nor its
   * fail-stop checks (docs/design.md#security).
   */
  private receive(m: Message): boolean {
    if (this.stopped) return false;
    if (m.type === 'snapshot') {
      // A snapshot comes through onSnapshot with its data; stepped without it, the core would
      // ask to install data this node does not have. A transport that breaks that contract
      // costs the message, never the node.
      return this.refuse(m, 'snapshot-without-data');
    }
    if (m.type === 'read-index' && !m.context.startsWith(`${m.from}.`)) {
      // Read contexts name the node that issued them (ReadTracker), and the leader keeps one
      // request per context: a context of another node's would take that node's read hostage.
      return this.refuse(m, 'foreign-read-context');
    }
    const r = this.raw.step(m);
    if (r.type === 'refused') return this.refuse(m, r.reason);
    this.process();
    return true;
  }

  /** A snapshot with all its data, from the transport. Returns false when refused. */
  private receiveSnapshot(m: SnapshotRequest, data: Uint8Array): boolean {
    if (this.stopped) return false;
    const before = this.raw.pendingSnapshot();
    const r = this.raw.step(m);
    if (r.type === 'refused') return this.refuse(m, r.reason);
    // Keep the data only if the core took this very snapshot to install. One it ignored (at or
    // behind our commit, or whose last entry we hold) must not replace the data of a snapshot
    // it took earlier and whose Ready is still to come.
    const after = this.raw.pendingSnapshot();
    if (after !== undefined && after !== before) this.incomingSnapshot = { index: m.snapshot.index, data };
    this.process();
    return true;
  }

  private refuse(m: Message, reason: RefusalReason | 'snapshot-without-data' | 'foreign-read-context'): false {
    this.stats.refusedMessages++;
    this.refusals.refused(reason, { id: this.id, from: m.from, to: m.to, type: m.type, term: m.term });
    return false;
  }

  /**
   * Proposes `data`. `done` is called exactly once: `applied` with the state machine's result
   * when the entry (same index and term) is applied here; `failed` when it definitely was not
   * and will not be applied; `unknown` when it may or may not be (leadership lost, stopped).
   */
  propose(data: Uint8Array, done: (outcome: ProposeOutcome<R>) => void): void {
    if (this.stopped) {
      done({ type: 'failed', code: 'STOPPED', leader: NONE });
      return;
    }
    this.stats.proposals++;
    this.queued.push({ data, done });
    this.process();
  }

  /**
   * A linearizable read point (ReadIndex, thesis §6.4). `done` is called once: `ready` at the
   * moment this node has applied everything up to the read point, so the caller reads its
   * state machine inside the callback; or `failed`.
   */
  read(done: (outcome: ReadOutcome) => void): void {
    if (this.stopped) {
      done({ type: 'failed', code: 'STOPPED', leader: NONE });
      return;
    }
    if (this.knobs.readWithoutReadIndex === true && this.raw.status(false).role === 'leader') {
      done({ type: 'ready', index: this.applied });
      return;
    }
    if (this.readRoundOpen) {
      // One ReadIndex round at a time (as etcd's linearizable read loop): reads arriving while
      // a round is out wait for it to end and then share the next round. They cannot join the
      // open round: it may have fixed its read point before a write these reads must see.
      this.nextReads.push(done);
      return;
    }
    this.startReadRound([done]);
  }

  /** Issues one ReadIndex for `batch`; when the round ends, the reads queued meanwhile go next. */
  private startReadRound(batch: Array<(outcome: ReadOutcome) => void>): void {
    if (this.stopped) {
      for (const done of batch) done({ type: 'failed', code: 'STOPPED', leader: NONE });
      return;
    }
    const context = this.reads.nextContext();
    const r = this.raw.readIndex(context);
    if (r.type === 'dropped') {
      for (const done of batch) done({ type: 'failed', code: 'NO_LEADER', leader: NONE });
      return;
    }
    this.readRoundOpen = true;
    this.reads.add(context, (outcome) => {
      this.readRoundOpen = false;
      for (const done of batch) done(outcome);
      if (this.nextReads.length > 0) {
        const next = this.nextReads;
        this.nextReads = [];
        this.startReadRound(next);
      }
    });
    this.process();
  }

  /** Asks this node (if leader) to hand leadership to `target`. */
  transferLeadership(target: NodeId): ReturnType<RawNode['transferLeader']> {
    const r = this.raw.transferLeader(target);
    this.process();
    return r;
  }

  /**
   * Proposes one membership change (docs/design.md#membership). The answer is the core's: the
   * change is in the log at the returned index, or refused with a reason. It is in force once
   * appended; whether it committed is seen in `status().commit` against that index.
   */
  proposeConfChange(cc: ConfChange): ProposeConfChangeResult {
    if (this.stopped) return { type: 'dropped', reason: 'not-leader', leader: NONE };
    const r = this.raw.proposeConfChange(cc);
    this.process();
    return r;
  }

  /** Starts an election now (operators and tests). */
  campaign(): void {
    if (this.stopped) return;
    this.raw.campaign();
    this.process();
  }

  /** The core's status; `withProgress: false` omits the per-peer table (cheaper). */
  status(withProgress = true): Status {
    return this.raw.status(withProgress);
  }

  /** Entries in [lo, hi) as the core holds them (durable and not yet), for diagnostics. */
  logEntries(lo: number, hi: number): readonly Entry[] {
    return this.raw.entries(lo, hi);
  }

  get appliedIndex(): number {
    return this.applied;
  }

  isStopped(): boolean {
    return this.stopped;
  }

  /** Stops the host: nothing more is sent, written or applied; waiting requests are answered. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.opts.transport.stop();
    this.proposals.failAll({ type: 'unknown', reason: 'stopped' });
    for (const q of this.queued) q.done({ type: 'failed', code: 'STOPPED', leader: NONE });
    this.queued = [];
    this.reads.failAll('STOPPED');
  }

  // ---- the ready loop -----------------------------------------------------------------------

  /** Runs the loop until there is nothing to do; re-entrant calls just mark more work. */
  private process(): void {
    if (this.processing) {
      this.dirty = true;
      return;
    }
    this.processing = true;
    try {
      do {
        this.dirty = false;
        if (this.stopped) return;
        if (!this.persisting) {
          // Proposals that queued up during the last write go in as one batch (group commit).
          this.flushProposals();
          if (this.raw.hasReady()) this.handleReady(this.raw.ready());
        } else this.applyDuringWrite();
      } while (this.dirty || (!this.persisting && !this.stopped && this.raw.hasReady()));
    } finally {
      this.processing = false;
    }
  }

  private flushProposals(): void {
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    const r = this.raw.propose(batch.map((p) => p.data));
    if (r.type === 'dropped') {
      const code = r.reason === 'transfer-in-progress' ? 'TRANSFER_IN_PROGRESS' : 'NOT_LEADER';
      for (const p of batch) p.done({ type: 'failed', code, leader: r.leader });
      return;
    }
    batch.forEach((p, k) => this.proposals.add(r.firstIndex + k, r.term, p.done));
  }

  private handleReady(rd: Ready): void {
    this.stats.readies++;
    this.persisting = true;
    let now: readonly Message[] = rd.messages;
    let afterPersist: readonly Message[] = rd.persistedMessages;
    if (this.knobs.voteNotPersisted === true || this.knobs.ackBeforeSync === true) {
      const early = (m: Message): boolean =>
        (this.knobs.voteNotPersisted === true && m.type === 'vote-response') ||
        (this.knobs.ackBeforeSync === true && m.type === 'append-response');
      now = [...now, ...afterPersist.filter(early)];
      afterPersist = afterPersist.filter((m) => !early(m));
    }
    this.sendMessages(now);
    // Committed entries already durable here are applied now, not after this Ready's write:
    // it holds newer entries they do not depend on. Only those that are among this Ready's
    // own entries wait for it (ready.ts step 3).
    const committed = rd.committedEntries;
    const durable = this.durablePrefix(committed);
    this.applyEntries(durable === committed.length ? committed : committed.slice(0, durable), rd.readStates);
    const afterWrite = durable === committed.length ? [] : committed.slice(durable);

    const snapshotData = rd.snapshot === undefined ? undefined : this.takeIncomingSnapshot(rd.snapshot.index);
    if (!rd.mustSync) {
      // Nothing that must be durable: no entries, snapshot, term or vote, at most a new commit
      // index, which is volatile state (Raft Figure 2) and rides along with the next write.
      // So no disk write, and nothing held for one (earlier Readys are all durable already);
      // committed entries apply at once instead of queueing behind the next fsync.
      this.afterPersist(rd, afterPersist, undefined, afterWrite);
      return;
    }
    const writeLog = (): void => {
      // Always write the whole current hard state: it may carry a commit index advanced by an
      // earlier, unwritten commit-only Ready.
      const hardState = rd.hardState ?? this.mirror.getHardState();
      this.opts.log.persist(
        {
          hardState,
          ...(rd.snapshot !== undefined ? { snapshot: rd.snapshot } : {}),
          entries: rd.entries,
          sync: rd.mustSync,
        },
        (err) => {
          if (err !== null) return this.fatal(err);
          if (this.stopped) return;
          this.afterPersist(rd, afterPersist, snapshotData, afterWrite);
        },
      );
    };
    if (rd.snapshot !== undefined && snapshotData !== undefined) {
      // Snapshot data must be durable before the log says the snapshot exists.
      const meta = rd.snapshot;
      this.opts.snapshots.save({ meta, data: snapshotData }, (err) => (err !== null ? this.fatal(err) : writeLog()));
    } else writeLog();
  }

  private takeIncomingSnapshot(index: number): Uint8Array {
    const incoming = this.incomingSnapshot;
    if (incoming === undefined || incoming.index !== index) {
      throw new Error(`core installs snapshot ${index} but its data is not here (have ${String(incoming?.index)})`);
    }
    this.incomingSnapshot = undefined;
    return incoming.data;
  }

  /**
   * How many leading `entries` the stored log already holds (same index and term, so the same
   * entry by the Log Matching Property); the rest are in the Ready being written.
   */
  private durablePrefix(entries: readonly Entry[]): number {
    let k = entries.length;
    while (k > 0) {
      const e = entries[k - 1] as Entry;
      if (e.index <= this.mirror.lastIndex() && this.mirror.term(e.index) === e.term) break;
      k--;
    }
    return k;
  }

  private afterPersist(
    rd: Ready,
    afterPersist: readonly Message[],
    snapshotData: Uint8Array | undefined,
    committedAfterWrite: readonly Entry[],
  ): void {
    if (rd.mustSync) this.stats.persists++;
    this.stats.entriesPersisted += rd.entries.length;
    // The mirror reflects durable state only, and must before advance() (the core reads it).
    if (rd.snapshot !== undefined) this.mirror.applySnapshot(rd.snapshot);
    this.mirror.append(rd.entries);
    if (rd.hardState !== undefined) this.mirror.setHardState(rd.hardState);
    this.sendMessages(afterPersist);

    if (rd.snapshot !== undefined && snapshotData !== undefined) {
      this.opts.stateMachine.restore(snapshotData);
      this.applied = rd.snapshot.index;
      this.lastSnapshotIndex = rd.snapshot.index;
      this.proposals.failUpTo(rd.snapshot.index);
    }
    this.applyEntries(committedAfterWrite, []);
    this.raw.advance();
    this.persisting = false;

    const leader = this.raw.status(false).role === 'leader';
    if (this.wasLeader && !leader) {
      // Leadership lost: what we proposed may still be committed by the next leader, or not.
      this.proposals.failAll({ type: 'unknown', reason: 'leadership-lost' });
    }
    if (rd.softState !== undefined) {
      this.reads.failUnconfirmed('LEADERSHIP_CHANGED');
      if (rd.softState.role === 'candidate') this.stats.elections++;
      // The core logs 'became leader' itself; losing it is the host's news (its proposals and
      // reads were failed just above).
      if (this.wasLeader && !leader) this.logger.info('lost leadership', { id: this.id, term: this.raw.status(false).term });
    }
    this.wasLeader = leader;
    this.reads.serve(this.applied);
    this.maybeSnapshot();
    this.process();
  }

  /**
   * While a write is in flight: send what may go now (heartbeats of a ReadIndex round, commit
   * updates), apply what became committed meanwhile (an acknowledgement arrived) and serve reads
   * whose read point arrived, instead of holding them until the write completes: with one write
   * always in flight under load, that hold would cost every operation a second fsync cycle of
   * latency.
   */
  private applyDuringWrite(): void {
    this.sendMessages(this.raw.takeMessages());
    if (!this.raw.hasCommittedToTake() && !this.raw.hasReadStates()) return;
    this.applyEntries(this.raw.takeCommitted(), this.raw.takeReadStates());
  }

  private applyEntries(entries: readonly Entry[], readStates: readonly ReadState[]): void {
    for (const e of entries) this.applyEntry(e);
    if (readStates.length > 0) this.reads.addReadStates(readStates);
    if (entries.length > 0 || readStates.length > 0) this.reads.serve(this.applied);
    if (entries.length > 0) this.maybeSnapshot();
  }

  private applyEntry(e: Entry): void {
    const result = this.opts.stateMachine.apply(e, { index: e.index, term: e.term });
    this.applied = e.index;
    this.stats.applied++;
    this.proposals.resolve(e.index, e.term, result);
  }

  private sendMessages(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    const plain: Message[] = [];
    for (const m of messages) {
      if (m.type === 'snapshot') this.sendSnapshot(m);
      else plain.push(m);
    }
    if (plain.length > 0) this.opts.transport.send(plain);
  }

  private sendSnapshot(m: SnapshotRequest): void {
    const stored = this.opts.snapshots.latest();
    if (stored === undefined || stored.meta.index !== m.snapshot.index) {
      this.logger.warn('snapshot requested but its data is not stored', { id: this.id, index: m.snapshot.index });
      this.raw.reportSnapshot(m.to, false);
      return;
    }
    this.opts.transport.sendSnapshot(m, stored.data, (ok) => {
      if (this.stopped) return;
      this.raw.reportSnapshot(m.to, ok);
      this.process();
    });
  }

  /** Snapshot + compaction every `snapshotEvery` applied entries (docs/design.md#snapshots). */
  private maybeSnapshot(): void {
    const every = this.opts.snapshotEvery ?? 10_000;
    if (every <= 0 || this.snapshotting || this.applied - this.lastSnapshotIndex < every) return;
    this.snapshotNow();
  }

  /** Takes a snapshot of the applied state now (also the admin route's entry point). */
  snapshotNow(): void {
    if (this.snapshotting || this.stopped || this.applied <= this.lastSnapshotIndex) return;
    const index = this.applied;
    const term = this.mirror.term(index);
    if (typeof term !== 'number') return;
    const meta = { index, term, confState: this.raw.confStateAt(index) };
    const data = this.opts.stateMachine.snapshot();
    this.snapshotting = true;
    this.opts.snapshots.save({ meta, data }, (err) => {
      if (err !== null) return this.fatal(err);
      if (this.stopped) return;
      // Written and synced: now the core may offer it, and the log behind it may go.
      this.mirror.createSnapshot(index, meta.confState);
      this.lastSnapshotIndex = index;
      const compactIndex = index - (this.opts.snapshotCatchUpEntries ?? 1_000);
      const compactTerm = this.mirror.term(compactIndex);
      if (compactIndex < this.mirror.firstIndex() || typeof compactTerm !== 'number') {
        this.snapshotting = false;
        return;
      }
      this.opts.log.compact({ index: compactIndex, term: compactTerm, confState: meta.confState }, (e2) => {
        if (e2 !== null) return this.fatal(e2);
        this.snapshotting = false;
        if (this.stopped) return;
        this.mirror.compact(compactIndex);
        this.logger.info('snapshot taken and log compacted', { id: this.id, index, compactIndex });
      });
    });
  }

  private fatal(error: Error): void {
    this.stop();
    if (this.opts.onFatal !== undefined) this.opts.onFatal(error);
    else throw error;
  }
}
