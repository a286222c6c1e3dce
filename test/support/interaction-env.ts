/**
 * A deterministic, single-threaded environment of RawNodes over MemoryStorage and a message
 * queue: the driver of the scenario scripts and the paper tests (modelled on etcd-io/raft's
 * rafttest InteractionEnv). Nothing is delivered, persisted or ticked unless a test says so,
 * which is what makes message-by-message stories possible.
 *
 * Every action appends human-readable lines to `out`; scenario scripts compare them with the
 * expected transcript.
 */
import {
  MemoryStorage,
  RawNode,
  SeededRandom,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type MessageType,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Status,
} from '../../src/raft/index.js';
import type { Ready } from '../../src/raft/ready.js';
import { formatConf, formatEntry, formatMessage, formatReady, formatStatus } from './format.js';

/** Options for new nodes; every field has a default suited to short stories. */
export interface NodeOptions {
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  readonly maxInflightBytes?: number;
  readonly commitPriorTerm?: boolean;
  /** Learners among the initial configuration. */
  readonly learners?: readonly NodeId[];
}

/** One node of the environment with its durable storage and what it applied. */
export interface EnvNode {
  readonly id: NodeId;
  raw: RawNode;
  readonly storage: MemoryStorage;
  options: NodeOptions;
  /** Entries applied, in order (reset on restart: the state machine is rebuilt from the log). */
  applied: Entry[];
  /** Index of the last snapshot installed into the state machine. */
  snapshotIndex: number;
  readStates: ReadState[];
  /** Messages sent or received: for assertions in paper tests. */
}

/** Filter for delivering or dropping queued messages. */
export interface MessageFilter {
  readonly from?: NodeId;
  readonly to?: NodeId;
  readonly type?: MessageType;
}

const encoder = new TextEncoder();

export class InteractionEnv {
  readonly nodes = new Map<NodeId, EnvNode>();
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  /** Directed links that drop everything: "from->to". */
  private readonly cut = new Set<string>();
  readonly out: string[] = [];
  /** Every message ever delivered, for assertions. */
  readonly delivered: Message[] = [];
  /** Automatically report snapshot delivery to the sender (the driver's streaming succeeded). */
  autoReportSnapshots = true;

  log(line: string): void {
    this.out.push(line);
  }

  /** Takes and clears the output collected so far. */
  takeOutput(): string[] {
    return this.out.splice(0, this.out.length);
  }

  node(id: NodeId): EnvNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Adds `count` nodes with the next ids; the configuration is every node added this way. */
  addNodes(count: number, options: NodeOptions = {}, voters?: readonly NodeId[]): void {
    const first = this.nodes.size + 1;
    const ids = Array.from({ length: count }, (_, k) => first + k);
    const learners = options.learners ?? [];
    const allVoters = (voters ?? ids).filter((id) => !learners.includes(id));
    const conf: ConfState = { voters: allVoters, learners: [...learners] };
    for (const id of ids) {
      const storage = new MemoryStorage(conf);
      const env: EnvNode = { id, raw: this.makeRaw(id, storage, options), storage, options, applied: [], snapshotIndex: 0, readStates: [] };
      this.nodes.set(id, env);
    }
    this.log(`added nodes ${ids.join(',')} voters=[${conf.voters.join(',')}]${learners.length ? ` learners=[${learners.join(',')}]` : ''}`);
  }

  /**
   * Adds one node with the next id and no configuration at all: a node started to join a
   * cluster, which learns its configuration from the leader that adds it.
   */
  addJoiner(options: NodeOptions = {}): NodeId {
    const id = this.nodes.size + 1;
    const storage = new MemoryStorage({ voters: [], learners: [] });
    this.nodes.set(id, { id, raw: this.makeRaw(id, storage, options), storage, options, applied: [], snapshotIndex: 0, readStates: [] });
    this.log(`added node ${id} (joining, no configuration)`);
    return id;
  }

  /** Proposes a membership change at `id`. */
  confChange(id: NodeId, type: ConfChange['type'], node: NodeId, context?: string): void {
    const cc: ConfChange = context !== undefined ? { type, node, context: new TextEncoder().encode(context) } : { type, node };
    const r = this.node(id).raw.proposeConfChange(cc);
    this.log(
      r.type === 'accepted'
        ? `${id}: ${type} ${node} accepted at ${r.term}/${r.index}`
        : `${id}: ${type} ${node} dropped (${r.reason}, leader ${r.leader})`,
    );
  }

  /** Logs the configuration in force at `id`. */
  logMembers(id: NodeId): void {
    const s = this.node(id).raw.status(false);
    this.log(`${id}: ${formatConf(s.config)} (set at ${s.configIndex})`);
  }

  private makeRaw(id: NodeId, storage: MemoryStorage, o: NodeOptions, applied = 0): RawNode {
    const config: RaftConfig = {
      id,
      storage,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      random: new SeededRandom(id),
      applied,
      preVote: o.preVote ?? true,
      checkQuorum: o.checkQuorum ?? true,
      ...(o.maxSizePerMsg !== undefined ? { maxSizePerMsg: o.maxSizePerMsg } : {}),
      ...(o.maxInflightMsgs !== undefined ? { maxInflightMsgs: o.maxInflightMsgs } : {}),
      ...(o.maxInflightBytes !== undefined ? { maxInflightBytes: o.maxInflightBytes } : {}),
      unsafeTestingKnobs: { commitPriorTerm: o.commitPriorTerm ?? false },
    };
    const r = RawNode.create(config);
    if (!r.ok) throw new Error(`invalid config: ${r.errors.map((e) => e.message).join('; ')}`);
    return r.node;
  }

  /**
   * Replaces node `id`'s durable log with entries 1..n of the given terms (data "t<term>i<index>")
   * and restarts it, at term max(current term, last term). For building divergent histories.
   */
  setLog(id: NodeId, terms: readonly number[], hard?: { term?: number; vote?: NodeId; commit?: number }): void {
    const n = this.node(id);
    const conf = n.storage.confState();
    const storage = new MemoryStorage(conf);
    const ents: Entry[] = terms.map((term, k) => ({
      index: k + 1,
      term,
      type: 'normal',
      data: encoder.encode(`t${term}i${k + 1}`),
    }));
    storage.append(ents);
    const lastTerm = terms[terms.length - 1] ?? 0;
    storage.setHardState({ term: hard?.term ?? lastTerm, vote: hard?.vote ?? 0, commit: hard?.commit ?? 0 });
    const replaced: EnvNode = { ...n, storage, raw: this.makeRaw(id, storage, n.options), applied: [], snapshotIndex: 0, readStates: [] };
    this.nodes.set(id, replaced);
    this.log(`${id}: log set to terms [${terms.join(',')}]`);
  }

  /** Restarts `id` from its durable state (volatile state and unpersisted work are lost). */
  restart(id: NodeId, options?: NodeOptions): void {
    const n = this.node(id);
    if (options !== undefined) n.options = { ...n.options, ...options };
    n.raw = this.makeRaw(id, n.storage, n.options, n.snapshotIndex);
    n.applied = [];
    n.readStates = [];
    this.log(`${id}: restarted at term ${n.raw.status().term}`);
  }

  campaign(id: NodeId): void {
    this.node(id).raw.campaign();
  }

  tick(id: NodeId, count = 1): void {
    const n = this.node(id);
    for (let k = 0; k < count; k++) n.raw.tick();
  }

  propose(id: NodeId, data: string | readonly string[]): void {
    const datas = (typeof data === 'string' ? [data] : data).map((d) => encoder.encode(d));
    const r = this.node(id).raw.propose(datas);
    this.log(
      r.type === 'accepted'
        ? `${id}: propose accepted at ${r.term}/${r.firstIndex}..${r.lastIndex}`
        : `${id}: propose dropped (${r.reason}, leader ${r.leader})`,
    );
  }

  readIndex(id: NodeId, context: string): void {
    const r = this.node(id).raw.readIndex(context);
    this.log(
      r.type === 'accepted'
        ? `${id}: read-index ${context} accepted${r.forwardedTo ? ` (forwarded to ${r.forwardedTo})` : ''}`
        : `${id}: read-index ${context} dropped (${r.reason})`,
    );
  }

  transferLeader(id: NodeId, target: NodeId): void {
    const r = this.node(id).raw.transferLeader(target);
    this.log(r.type === 'dropped' ? `${id}: transfer to ${target} dropped (${r.reason})` : `${id}: transfer to ${target} ${r.type}`);
  }

  /**
   * Records the application's snapshot at `index` (which must be applied) and compacts the log
   * up to it.
   */
  compact(id: NodeId, index: number): void {
    const n = this.node(id);
    const meta = n.storage.createSnapshot(index, n.raw.confStateAt(index));
    n.storage.compact(index);
    this.log(`${id}: snapshot at ${meta.term}/${meta.index}, log compacted`);
  }

  /** Handles one Ready of `id` the way a correct driver does: persist, send, apply, advance. */
  processReady(id: NodeId): boolean {
    const n = this.node(id);
    if (!n.raw.hasReady()) return false;
    const rd = n.raw.ready();
    this.log(`> ${id} handling Ready`);
    for (const line of formatReady(rd)) this.log(line);
    this.persist(n, rd);
    this.queue.push(...rd.messages, ...rd.persistedMessages);
    if (rd.snapshot !== undefined) {
      n.snapshotIndex = rd.snapshot.index;
      n.applied = [];
    }
    n.applied.push(...rd.committedEntries);
    n.readStates.push(...rd.readStates);
    n.raw.advance();
    return true;
  }

  private persist(n: EnvNode, rd: Ready): void {
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
  }

  /** Processes Readys of every node (or the given ones) until none has one. */
  processReadyAll(ids?: readonly NodeId[]): void {
    let any = true;
    while (any) {
      any = false;
      for (const id of ids ?? [...this.nodes.keys()]) if (this.processReady(id)) any = true;
    }
  }

  /**
   * Delivers queued messages matching `filter` (all if none), in order; messages over a cut
   * link are dropped. With `drop`, matching messages are discarded instead. Returns how many
   * were delivered.
   */
  deliver(filter: MessageFilter = {}, drop = false): number {
    const matches = (m: Message): boolean =>
      (filter.from === undefined || m.from === filter.from) &&
      (filter.to === undefined || m.to === filter.to) &&
      (filter.type === undefined || m.type === filter.type);
    const taken = this.queue.filter(matches);
    this.queue = this.queue.filter((m) => !matches(m));
    let count = 0;
    for (const m of taken) {
      if (drop || this.cut.has(`${m.from}->${m.to}`) || !this.nodes.has(m.to)) {
        this.log(`dropped: ${formatMessage(m)}`);
        continue;
      }
      this.log(`${formatMessage(m)}`);
      const target = this.node(m.to);
      target.raw.step(m);
      this.delivered.push(m);
      count++;
      if (m.type === 'snapshot' && this.autoReportSnapshots) {
        this.node(m.from).raw.reportSnapshot(m.to, true);
        this.log(`  ${m.from}: snapshot to ${m.to} reported done`);
      }
    }
    return count;
  }

  /** Drops every message on the links between `a` and every node in `others` (both ways). */
  partition(group: readonly NodeId[]): void {
    for (const a of group) {
      for (const b of this.nodes.keys()) {
        if (group.includes(b)) continue;
        this.cut.add(`${a}->${b}`);
        this.cut.add(`${b}->${a}`);
      }
    }
    this.log(`partitioned [${group.join(',')}] from the rest`);
  }

  /** Cuts one direction only. */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  heal(): void {
    this.cut.clear();
    this.log('healed all links');
  }

  /** Processes Readys and delivers messages until the whole environment is quiet. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processReadyAll();
      if (this.queue.length === 0) return;
      this.deliver();
    }
    throw new Error(`stabilize did not converge in ${maxRounds} rounds`);
  }

  status(id: NodeId): Status {
    return this.node(id).raw.status();
  }

  logStatus(id: NodeId): void {
    for (const line of formatStatus(this.status(id))) this.log(line);
  }

  /** Durable + unstable log of `id`, rendered. */
  logEntries(id: NodeId): void {
    const st = this.status(id);
    const ents = st.lastIndex >= st.firstIndex ? this.node(id).raw.entries(st.firstIndex, st.lastIndex + 1) : [];
    this.log(`${id} log:${ents.length === 0 ? ' (empty)' : ''}`);
    for (const e of ents) this.log(`  ${formatEntry(e)}`);
  }

  /** The term of each entry of `id`'s log from its first index, for assertions. */
  logTerms(id: NodeId): number[] {
    const st = this.status(id);
    if (st.lastIndex < st.firstIndex) return [];
    return this.node(id)
      .raw.entries(st.firstIndex, st.lastIndex + 1)
      .map((e) => e.term);
  }

  /** Current leaders (by their own account). */
  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.raw.status().role === 'leader').map((n) => n.id);
  }
}
