/** Raft's safety invariants, checked by the simulator after every event. */
/**
 * Safety invariants of Raft, checked by the simulator after every event:
 * at most one leader per term; log matching; leader completeness; a committed entry never
 * changes; every replica applies the same sequence (a prefix of every other's), in order;
 * commit and applied never go backwards (durable commit and term across restarts too); no
 * acknowledged client write is missing from the committed log.
 *
 * Incremental where it can be (a global map of committed entries is the reference every
 * replica is compared against), so checking after every event stays cheap.
 */
import { decodeConfigEntry } from '../../../src/raft/index.js';
import type { Entry, LoadedState, Message, NodeId, Status } from './sim-types.js';

const decoder = new TextDecoder();

function fingerprint(e: Entry): string {
  // A configuration entry is binary: as the change it carries, so a violation naming one reads.
  if (e.type === 'config') {
    const d = decodeConfigEntry(e.data);
    const what = typeof d === 'string' ? 'undecodable' : `${d.change.type} ${d.change.node}`;
    // The bytes too: two entries are the same entry only if they are equal byte for byte.
    return `${e.term}|config|${what} ${Buffer.from(e.data).toString('hex')}`;
  }
  return `${e.term}|${e.type}|${decoder.decode(e.data)}`;
}

interface LogSummary {
  readonly state: LoadedState;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

function summarize(state: LoadedState): LogSummary {
  const last = state.entries[state.entries.length - 1];
  return {
    state,
    lastIndex: state.snapshot.index + state.entries.length,
    lastTerm: last === undefined ? state.snapshot.term : last.term,
  };
}

/** Whether a durable log holds the committed entry `fp` at `index` (a snapshot covers it). */
function holds(log: LogSummary, index: number, fp: string): boolean {
  if (index <= log.state.snapshot.index) return true;
  const e = log.state.entries[index - log.state.snapshot.index - 1];
  return e !== undefined && fingerprint(e) === fp;
}

/** What the checker needs to see of one node. */
export interface ObservedNode {
  readonly id: NodeId;
  readonly up: boolean;
  readonly incarnation: number;
  status(): Status;
  entries(lo: number, hi: number): readonly Entry[];
  durable(): LoadedState;
  /** Changes whenever the durable state may have changed (cheap change detection). */
  durableVersion(): number;
  /** The voters this node starts with when its log is empty (none for a node joining). */
  readonly bootstrapVoters: readonly NodeId[];
}

/**
 * The voters of the configuration a durable log is in: its latest config entry, else its
 * snapshot's, else the node's bootstrap (docs/design.md#membership: in force when appended).
 */
function durableVoters(state: LoadedState, bootstrap: readonly NodeId[]): readonly NodeId[] {
  for (let k = state.entries.length - 1; k >= 0; k--) {
    const e = state.entries[k];
    if (e?.type !== 'config') continue;
    const d = decodeConfigEntry(e.data);
    if (typeof d !== 'string') return d.conf.voters;
  }
  return state.snapshot.index > 0 ? state.snapshot.confState.voters : bootstrap;
}

export class SafetyChecker {
  /**
   * `membership`: configurations change during the run, so quorums are counted among the
   * voters of each candidate's own configuration, and no log may hold two configuration
   * entries beyond what is known committed (one change at a time; `oneChangeAtATime: false`
   * leaves only the consequences of breaking that rule to be caught).
   */
  constructor(
    private readonly membership = false,
    private readonly oneChangeAtATime = true,
  ) {}

  readonly violations: string[] = [];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Index → fingerprint of every entry known committed anywhere. */
  private readonly committed = new Map<number, string>();
  /**
   * Index → term in which its commit was first observed: the committing leader's term, or an
   * upper bound of it when a non-leader saw it first. Leader completeness binds leaders of
   * later terms only (a stale leader of an older term may lack it).
   */
  private readonly commitTerm = new Map<number, number>();
  private maxCommitted = 0;
  private readonly lastApplied = new Map<string, number>();
  private readonly lastCommit = new Map<string, number>();
  private readonly lastAppliedStatus = new Map<string, number>();
  private readonly durableCommit = new Map<NodeId, number>();
  private readonly durableTerm = new Map<NodeId, number>();
  private readonly verifiedLeader = new Map<string, number>();
  private readonly acked: Array<{ index: number; term: number; what: string }> = [];
  private now = 0;

  private violate(msg: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now}: ${msg}`);
  }

  /** Registers `e` as committed (seen by `who`), or checks it against what was. */
  private noteCommitted(e: Entry, who: string, observerTerm: number): void {
    const fp = fingerprint(e);
    const known = this.committed.get(e.index);
    if (known === undefined) {
      this.committed.set(e.index, fp);
      this.commitTerm.set(e.index, observerTerm);
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
    } else if (known !== fp) {
      this.violate(`committed entry ${e.index} changed: was ${known}, ${who} has ${fp}`);
    }
  }

  /** A replica applied `e` (called from its state machine). */
  onApplied(node: NodeId, incarnation: number, e: Entry, currentTerm: number): void {
    const key = `${node}#${incarnation}`;
    const last = this.lastApplied.get(key) ?? 0;
    if (e.index !== last + 1) this.violate(`node ${node} applied ${e.index} after ${last} (gap or repeat)`);
    this.lastApplied.set(key, e.index);
    this.noteCommitted(e, `node ${node} (applied)`, currentTerm);
  }

  /** A replica restored its state machine from a snapshot at `index`. */
  onRestored(node: NodeId, incarnation: number, index: number): void {
    const key = `${node}#${incarnation}`;
    const last = this.lastApplied.get(key) ?? 0;
    if (index < last) this.violate(`node ${node} restored snapshot ${index} behind applied ${last}`);
    this.lastApplied.set(key, index);
  }

  /**
   * "Persist before you speak" (the Raft paper's Figure 2: state is updated on stable storage
   * before responding to RPCs): a message that claims durable state must
   * leave only once that state is on the sender's disk. Called for every message a host sends.
   */
  onSend(m: Message, senderDurable: LoadedState): void {
    const hs = senderDurable.hardState;
    if (m.type === 'append-response' && !m.reject) {
      const durableLast = senderDurable.snapshot.index + senderDurable.entries.length;
      if (durableLast < m.index) {
        this.violate(`node ${m.from} acknowledged entries up to ${m.index} with only ${durableLast} durable`);
      }
    }
    if (m.type === 'vote-response' && !m.pre && !m.reject) {
      if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) {
        this.violate(`node ${m.from} granted its vote to ${m.to} in term ${m.term} with durable term ${hs.term} vote ${hs.vote}`);
      }
    }
    if (hs.term < m.term && !(m.type === 'vote' && m.pre) && !(m.type === 'vote-response' && m.pre)) {
      this.violate(`node ${m.from} sent ${m.type} in term ${m.term} with durable term ${hs.term}`);
    }
  }

  /** Hash of a replica's state after applying `index` (first reporter is the reference). */
  private readonly stateHashes = new Map<number, { node: NodeId; hash: string }>();

  /**
   * Replica determinism: every replica that applied the same index has the same state, byte for
   * byte (compared as hashes of `snapshot()`).
   */
  onStateHash(node: NodeId, index: number, hash: string): void {
    const known = this.stateHashes.get(index);
    if (known === undefined) this.stateHashes.set(index, { node, hash });
    else if (known.hash !== hash) {
      this.violate(
        `replica divergence: node ${node} and node ${known.node} applied up to ${index} but their states differ (snapshot hash ${hash} vs ${known.hash})`,
      );
    }
  }

  /** A client was told its write at (index, term) was applied. */
  onAcknowledged(index: number, term: number, what: string): void {
    this.acked.push({ index, term, what });
    const fp = this.committed.get(index);
    if (fp === undefined || !fp.startsWith(`${term}|`)) {
      this.violate(`acknowledged ${what} at ${term}/${index} is not the committed entry there (${String(fp)})`);
    }
  }

  /** Checks everything cheap after an event; `full` adds pairwise log matching. */
  afterEvent(time: number, nodes: readonly ObservedNode[], full: boolean): void {
    this.now = time;
    for (const n of nodes) {
      this.checkDurable(n);
      if (!n.up) continue;
      const st = n.status();
      const key = `${n.id}#${n.incarnation}`;
      if (st.role === 'leader') {
        const other = this.leaderOfTerm.get(st.term);
        if (other === undefined) this.leaderOfTerm.set(st.term, n.id);
        else if (other !== n.id) this.violate(`two leaders in term ${st.term}: ${other} and ${n.id}`);
        this.checkLeaderCompleteness(n, st);
      }
      const prevCommit = this.lastCommit.get(key) ?? 0;
      if (st.commit < prevCommit) this.violate(`node ${n.id} commit went back ${prevCommit} → ${st.commit}`);
      if (st.commit > prevCommit) {
        const from = Math.max(prevCommit + 1, st.firstIndex);
        if (from <= st.commit) for (const e of n.entries(from, st.commit + 1)) this.noteCommitted(e, `node ${n.id}`, st.term);
        this.lastCommit.set(key, st.commit);
      }
      const prevApplied = this.lastAppliedStatus.get(key) ?? 0;
      if (st.applied < prevApplied) this.violate(`node ${n.id} applied went back ${prevApplied} → ${st.applied}`);
      this.lastAppliedStatus.set(key, st.applied);
    }
    this.checkCommittedIsSafe(nodes);
    if (this.membership && this.oneChangeAtATime) this.checkOneChangeAtATime(nodes);
    if (full) this.checkLogMatching(nodes);
  }

  /**
   * One membership change at a time (thesis §4.1): a leader appends a configuration entry only
   * once the previous one has committed, and every log holding the new entry holds the same
   * prefix. So no log holds two configuration entries beyond the highest index known committed.
   */
  private checkOneChangeAtATime(nodes: readonly ObservedNode[]): void {
    for (const n of nodes) {
      if (!n.up) continue;
      const st = n.status();
      const from = Math.max(this.maxCommitted + 1, st.firstIndex);
      if (from > st.lastIndex) continue;
      const pending = n.entries(from, st.lastIndex + 1).filter((e) => e.type === 'config');
      if (pending.length > 1) {
        this.violate(
          `node ${n.id} holds ${pending.length} uncommitted configuration entries (${pending.map((e) => `${e.term}/${e.index}`).join(', ')}) beyond committed ${this.maxCommitted}`,
        );
        return;
      }
    }
  }

  /**
   * The heart of Raft's safety proof (§5.4.3): once an entry is committed, no server lacking it
   * can win an election, because a majority holds it durably and would refuse such a candidate
   * (election restriction, §5.4.1). Judged on durable logs, the worst case after crashes. This
   * catches a committed entry put at risk before any schedule actually overwrites it.
   */
  private checkCommittedIsSafe(nodes: readonly ObservedNode[]): void {
    const i = this.maxCommitted;
    const fp = this.committed.get(i);
    if (fp === undefined) return;
    if (this.safeUpTo === i && this.safeCheckedAt === this.durableWrites(nodes)) return;
    const logs = nodes.map((n) => summarize(n.durable()));
    const all = nodes.map((n) => n.id);
    for (const [k, cand] of logs.entries()) {
      if (holds(cand, i, fp)) continue;
      // Without churn every node votes; with it, a candidate needs a majority of the voters of
      // the configuration its own log is in, and must be one of them.
      const node = nodes[k];
      const voters = this.membership && node !== undefined ? durableVoters(cand.state, node.bootstrapVoters) : all;
      if (node !== undefined && !voters.includes(node.id)) continue;
      let votes = 0;
      for (const [j, voter] of logs.entries()) {
        if (!voters.includes(nodes[j]?.id ?? 0)) continue;
        if (cand.lastTerm > voter.lastTerm || (cand.lastTerm === voter.lastTerm && cand.lastIndex >= voter.lastIndex)) votes++;
      }
      if (votes >= Math.floor(voters.length / 2) + 1) {
        this.violate(
          `committed entry ${i} (${fp}) at risk: node ${node?.id} lacks it yet its log is up to date for ${votes} of ${voters.length} voters`,
        );
        return;
      }
    }
    this.safeUpTo = i;
    this.safeCheckedAt = this.durableWrites(nodes);
  }

  private safeUpTo = 0;
  private safeCheckedAt = '';

  private durableWrites(nodes: readonly ObservedNode[]): string {
    return nodes.map((n) => n.durableVersion()).join(',');
  }

  private checkDurable(n: ObservedNode): void {
    const d = n.durable();
    const c = this.durableCommit.get(n.id) ?? 0;
    if (d.hardState.commit < c) this.violate(`node ${n.id} durable commit went back ${c} → ${d.hardState.commit}`);
    this.durableCommit.set(n.id, d.hardState.commit);
    const t = this.durableTerm.get(n.id) ?? 0;
    if (d.hardState.term < t) this.violate(`node ${n.id} durable term went back ${t} → ${d.hardState.term}`);
    this.durableTerm.set(n.id, d.hardState.term);
  }

  /** Raft §5.4 Leader Completeness: a leader holds every entry committed in earlier terms. */
  private checkLeaderCompleteness(n: ObservedNode, st: Status): void {
    const key = `${n.id}@${st.term}#${n.incarnation}`;
    const verified = this.verifiedLeader.get(key) ?? st.firstIndex - 1;
    if (this.maxCommitted <= verified) return;
    const from = Math.max(verified + 1, st.firstIndex);
    const upTo = Math.min(this.maxCommitted, st.lastIndex);
    const ents = upTo >= from ? n.entries(from, upTo + 1) : [];
    for (let i = from; i <= this.maxCommitted; i++) {
      const fp = this.committed.get(i);
      const ct = this.commitTerm.get(i);
      if (fp === undefined || ct === undefined || ct >= st.term) continue;
      const e = ents[i - from];
      if (e === undefined || fingerprint(e) !== fp) {
        this.violate(
          `leader ${n.id} (term ${st.term}) lacks ${fp} at ${i}, committed in term ${ct} (has ${e === undefined ? 'nothing' : fingerprint(e)})`,
        );
        break;
      }
    }
    this.verifiedLeader.set(key, this.maxCommitted);
  }

  /** Raft §5.3 Log Matching: same index and term ⇒ identical logs up to there. */
  private checkLogMatching(nodes: readonly ObservedNode[]): void {
    const logs: Array<{ id: NodeId; first: number; ents: readonly Entry[] }> = [];
    for (const n of nodes) {
      if (!n.up) continue;
      const st = n.status();
      const ents = st.lastIndex >= st.firstIndex ? n.entries(st.firstIndex, st.lastIndex + 1) : [];
      logs.push({ id: n.id, first: st.firstIndex, ents });
    }
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const x = logs[a];
        const y = logs[b];
        if (x === undefined || y === undefined) continue;
        const lo = Math.max(x.first, y.first);
        const hi = Math.min(x.first + x.ents.length, y.first + y.ents.length) - 1;
        let matched = false;
        for (let i = hi; i >= lo; i--) {
          const ex = x.ents[i - x.first];
          const ey = y.ents[i - y.first];
          if (ex === undefined || ey === undefined) continue;
          if (!matched) {
            if (ex.term === ey.term) matched = true;
            else continue;
          }
          if (fingerprint(ex) !== fingerprint(ey)) {
            this.violate(`log matching: nodes ${x.id} and ${y.id} agree on a later entry but differ at ${i}`);
            return;
          }
        }
      }
    }
  }

  /** Final checks at the end of a run. */
  finish(): void {
    for (const a of this.acked) {
      const fp = this.committed.get(a.index);
      if (fp === undefined || !fp.startsWith(`${a.term}|`)) this.violate(`acknowledged ${a.what} lost at ${a.term}/${a.index}`);
    }
  }
}
