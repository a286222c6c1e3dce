/**
 * The harness of the peer fuzz (docs/testing.md#security): an in-process cluster of the real
 * RaftHost and core on nodes 1 and 2, over simulated disks (writes complete after a random
 * latency, a crash keeps only what was synced) and an in-memory network with random delays,
 * loss and duplication. The configuration has three voters, and node 3 does not exist: its
 * identity belongs to a fuzzer, an authenticated peer that sends node 1, and only node 1,
 * well-formed messages with adversarial kinds, terms, indexes, commits, entries and snapshots.
 *
 * Forged messages reach node 1 the way WsPeerTransport hands over a peer's traffic: encoded and
 * decoded as one frame (snapshots in a snapshot stream, or wrongly in a messages frame), then
 * the link's check that the authenticated peer speaks only for itself and only to us, then the
 * node, whose answer is counted. What the real nodes send node 3 is what the fuzzer sees.
 *
 * Raft is not Byzantine-tolerant, and a member identity can always claim to lead a term
 * (docs/design.md#security). So the fuzzer has two modes:
 * - `no-leader-claims`: every kind, but a message only a leader sends goes out only where node 1
 *   knows no member can lead (a term below its own, or its own term while it leads or follows
 *   a real leader), or, for the answers a leader sends (TimeoutNow, a ReadIndex answer), in a
 *   term node 1 has not reached: what must be refused or ignored. Agreement between the real
 *   nodes is checked, with everything else.
 * - `leader-claims`: the same, and also leader messages in any term. Node 1 may then follow the
 *   forged leader and commit what it sends: agreement is the Byzantine limit and is only
 *   counted, while the node's own checks still hold.
 *
 * Traffic comes in bursts, each either wild (terms far ahead, which keep deposing node 1) or
 * calm (terms at or below node 1's, so that it keeps its role and the checks of a settled
 * leader or follower are reached too). Before a calm burst an operator may hand leadership to
 * node 1, and once in a run, while node 1 leads, the fuzzer floods it with more ReadIndex
 * requests than a leader holds.
 *
 * Everything is a pure function of the seed.
 */
import { createHash } from 'node:crypto';
import {
  encodeConfigEntry,
  MAX_PENDING_READS,
  SeededRandom,
  type ApplyContext,
  type ConfigEntryData,
  type Entry,
  type Logger,
  type Message,
  type NodeId,
  type SnapshotRequest,
  type StateMachine,
  type Status,
} from '../../../src/raft/index.js';
import { RaftHost } from '../../../src/host/raft-host.js';
import { MemoryDurableLog } from '../../../src/storage/memory-durable-log.js';
import { MemorySnapshotStore } from '../../../src/storage/snapshot-store.js';
import { MemoryNetwork, type MemoryNetworkPolicy, type Packet } from '../../../src/transport/memory-transport.js';
import { DecodeError } from '../../../src/protocol/index.js';
import { decodeFrame, encodeControl, encodeMessagesFrame } from '../../../src/transport/wire.js';
import { EventQueue } from '../../../scripts/lib/sim/event-queue.js';

/** The node under attack. */
export const TARGET: NodeId = 1;
/** The other real node, which hears only node 1. */
export const HONEST: NodeId = 2;
/** The member identity the fuzzer holds (an authenticated peer; no real node has it). */
export const FORGED: NodeId = 3;
const VOTERS: readonly NodeId[] = [1, 2, 3];
const TICK_MS = 10;
const ELECTION_TICK = 10;
/** Virtual time between two refusal warnings for one reason: RaftHost's 20 election timeouts. */
export const WARNING_WINDOW_MS = ELECTION_TICK * 20 * TICK_MS;

/** Whether the fuzzer may claim to lead a term no member leads yet (see the module comment). */
export type AdversaryMode = 'no-leader-claims' | 'leader-claims';

/** One fuzz run; the report is a pure function of these. */
export interface FuzzOptions {
  readonly seed: number;
  readonly mode: AdversaryMode;
  /** Forged messages to send (each counted once, whatever becomes of it). */
  readonly messages: number;
  /** Negative control: node 1's core steps every message without its checks. */
  readonly skipPeerMessageChecks?: boolean;
}

/** What became of a run's forged messages, and what the checks found. */
export interface FuzzReport {
  readonly seed: number;
  readonly mode: AdversaryMode;
  /** Forged messages sent, and what became of them. */
  readonly sent: number;
  /** Messages in frames the decoder refused (the whole frame is refused and its link closed). */
  readonly refusedByCodec: number;
  /** The decoder's reasons for those frames (field and why, indexes elided), frames per reason. */
  readonly codecReasons: Readonly<Record<string, number>>;
  readonly droppedByLink: number;
  /** Messages node 1 refused (host and core), by reason, as counted from its log lines. */
  readonly refusedByNode: Readonly<Record<string, number>>;
  /**
   * Node 1's messages node 2 refused, by reason: a violation in `no-leader-claims` mode, and in
   * `leader-claims` mode counted among the disagreements (node 1 may follow a forged leader).
   */
  readonly refusedByHonest: Readonly<Record<string, number>>;
  /** Messages of messages frames node 1 took (stepped into its core); see also `snapshotsTaken`. */
  readonly stepped: number;
  /**
   * Snapshot streams node 1 did not refuse (stepped: a stale one is then ignored, so in
   * `no-leader-claims` mode none is installed).
   */
  readonly snapshotsTaken: number;
  /** ReadIndex floods sent (see the module comment). */
  readonly readFloods: number;
  /** Times an operator handed leadership to node 1 before a calm burst. */
  readonly transfers: number;
  /** Warnings node 1 logged for refusals (bounded per reason and window). */
  readonly refusalWarnings: number;
  readonly virtualMs: number;
  readonly crashes: number;
  readonly maxTerm: number;
  readonly commits: Readonly<Record<number, number>>;
  /** Broken checks (empty when all held); `exception` is set when a node threw. */
  readonly violations: readonly string[];
  readonly exception: Error | undefined;
  /** In `leader-claims` mode: disagreements between the real nodes (the Byzantine limit). */
  readonly byzantineDisagreements: number;
  /** The cluster committed a fresh entry on both real nodes after the fuzzer went quiet. */
  readonly liveAfterwards: boolean;
}

const encoder = new TextEncoder();

/** A replicated machine whose state is a hash chain over every applied entry. */
class ChainMachine implements StateMachine<null> {
  index = 0;
  hash = 'genesis';
  constructor(
    private readonly onApply: (entry: Entry, hash: string) => void,
    private readonly onRestore: (index: number, hash: string) => void,
  ) {}
  apply(entry: Entry, context: ApplyContext): null {
    this.hash = createHash('sha1').update(`${this.hash}|${entry.term}|${entry.type}|`).update(entry.data).digest('base64');
    this.index = context.index;
    this.onApply(entry, this.hash);
    return null;
  }
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify({ index: this.index, hash: this.hash }));
  }
  restore(data: Uint8Array): void {
    const s = JSON.parse(new TextDecoder().decode(data)) as { index: number; hash: string };
    this.index = s.index;
    this.hash = s.hash;
    this.onRestore(s.index, s.hash);
  }
}

function fingerprint(e: Entry): string {
  return `${e.term}|${e.type}|${Buffer.from(e.data).toString('base64')}`;
}

/** One real node: a RaftHost over its disk, snapshot store and network endpoint. */
class RealNode {
  readonly disk: MemoryDurableLog;
  readonly snapshots = new MemorySnapshotStore();
  host!: RaftHost<null>;
  machine!: ChainMachine;
  incarnation = 0;
  up = true;
  private diskBusyUntil = 0;

  constructor(
    readonly id: NodeId,
    private readonly world: ForgedPeerWorld,
  ) {
    this.disk = new MemoryDurableLog((complete) => {
      const at = Math.max(world.now, this.diskBusyUntil) + 0.05 + world.rnd.nextFloat() * 1.5;
      this.diskBusyUntil = at;
      world.queue.push(at, `disk ${id}`, complete);
    });
    this.boot();
  }

  boot(): void {
    this.incarnation++;
    const key = `${this.id}#${this.incarnation}`;
    const w = this.world;
    this.machine = new ChainMachine(
      (entry, hash) => w.checks.applied(this.id, key, entry, this.machine.index, hash),
      (index, hash) => w.checks.restored(this.id, key, index, hash),
    );
    this.host = new RaftHost<null>({
      id: this.id,
      raft: {
        electionTick: ELECTION_TICK,
        heartbeatTick: 2,
        random: new SeededRandom(w.rnd.nextUint32()),
        maxSizePerMsg: 400,
        maxInflightMsgs: 8,
        logger: w.logger,
        unsafeTestingKnobs: { skipPeerMessageChecks: this.id === TARGET && w.opts.skipPeerMessageChecks === true },
      },
      bootstrap: { voters: VOTERS, learners: [] },
      log: this.disk,
      loaded: this.disk.load(),
      snapshots: this.snapshots,
      transport: w.network.endpoint(this.id),
      stateMachine: this.machine,
      snapshotEvery: 40,
      snapshotCatchUpEntries: 5,
      logger: w.logger,
      onFatal: (err) => w.checks.violate(`node ${this.id} stopped on a fatal error: ${err.message}`),
    });
    this.up = true;
  }

  crash(): void {
    if (!this.up) return;
    this.up = false;
    this.host.stop();
    this.disk.crash();
    this.diskBusyUntil = 0;
  }

  status(): Status {
    return this.host.status(false);
  }
}

/** Safety checks over the real nodes, after every event. */
class Checks {
  readonly violations: string[] = [];
  byzantineDisagreements = 0;
  private readonly stateAt = new Map<number, { node: NodeId; hash: string }>();
  private readonly committedAt = new Map<number, { node: NodeId; fp: string }>();
  private readonly ownCommitted = new Map<string, Map<number, string>>();
  private readonly lastApplied = new Map<string, number>();
  private readonly lastCommit = new Map<string, number>();
  private readonly leaderOfTerm = new Map<number, NodeId>();

  constructor(private readonly agreement: boolean) {}

  violate(msg: string): void {
    if (this.violations.length < 20) this.violations.push(msg);
  }

  /** Agreement between real nodes: a violation, or in `leader-claims` mode a count. */
  disagree(msg: string): void {
    if (this.agreement) this.violate(msg);
    else this.byzantineDisagreements++;
  }

  applied(node: NodeId, key: string, entry: Entry, index: number, hash: string): void {
    const last = this.lastApplied.get(key) ?? 0;
    if (index !== last + 1) this.violate(`node ${node} applied ${index} after ${last}`);
    this.lastApplied.set(key, index);
    if (entry.index !== index) this.violate(`node ${node} applied entry ${entry.index} as ${index}`);
    this.noteState(node, index, hash);
  }

  restored(node: NodeId, key: string, index: number, hash: string): void {
    const last = this.lastApplied.get(key) ?? 0;
    if (index < last) this.violate(`node ${node} restored snapshot ${index} behind applied ${last}`);
    this.lastApplied.set(key, index);
    this.noteState(node, index, hash);
  }

  /** State-machine safety: equal applied index, equal state (a hash of every applied entry). */
  private noteState(node: NodeId, index: number, hash: string): void {
    const known = this.stateAt.get(index);
    if (known === undefined) this.stateAt.set(index, { node, hash });
    else if (known.hash !== hash && known.node !== node) {
      this.disagree(`nodes ${known.node} and ${node} applied up to ${index} into different states`);
    }
  }

  afterEvent(nodes: readonly RealNode[]): void {
    for (const n of nodes) {
      if (!n.up) continue;
      if (n.host.isStopped()) this.violate(`node ${n.id} stopped`);
      const st = n.status();
      const key = `${n.id}#${n.incarnation}`;
      if (st.role === 'leader') {
        const other = this.leaderOfTerm.get(st.term);
        if (other === undefined) this.leaderOfTerm.set(st.term, n.id);
        else if (other !== n.id) this.violate(`nodes ${other} and ${n.id} both led term ${st.term}`);
      }
      if (st.applied > st.commit) this.violate(`node ${n.id} handed out ${st.applied} beyond commit ${st.commit}`);
      if (n.host.appliedIndex > st.commit) this.violate(`node ${n.id} applied ${n.host.appliedIndex} beyond commit ${st.commit}`);
      const prev = this.lastCommit.get(key) ?? 0;
      if (st.commit < prev) this.violate(`node ${n.id} commit went back ${prev} → ${st.commit}`);
      if (st.commit > prev) {
        this.lastCommit.set(key, st.commit);
        const from = Math.max(prev + 1, st.firstIndex);
        if (from <= st.commit) this.noteCommitted(n.id, key, n.host.logEntries(from, st.commit + 1));
      }
    }
  }

  private noteCommitted(node: NodeId, key: string, entries: readonly Entry[]): void {
    let own = this.ownCommitted.get(key);
    if (own === undefined) this.ownCommitted.set(key, (own = new Map<number, string>()));
    for (const e of entries) {
      const fp = fingerprint(e);
      const mine = own.get(e.index);
      if (mine !== undefined && mine !== fp) this.violate(`node ${node}'s committed entry ${e.index} changed`);
      own.set(e.index, fp);
      const known = this.committedAt.get(e.index);
      if (known === undefined) this.committedAt.set(e.index, { node, fp });
      else if (known.fp !== fp && known.node !== node)
        this.disagree(`nodes ${known.node} and ${node} committed different entries at ${e.index}`);
    }
  }
}

/** What the real nodes log about refusals: by node and reason, and node 1's warnings. */
class RefusalCounts {
  readonly byNode = new Map<NodeId, Map<string, number>>();
  targetWarnings = 0;

  constructor(private readonly onHonestRefusal: (fields: Readonly<Record<string, unknown>>) => void) {}

  logger(): Logger {
    const note = (level: 'warn' | 'debug', message: string, fields: Readonly<Record<string, unknown>> = {}): void => {
      if (message !== 'refused peer message') return;
      const id = Number(fields['id']);
      let counts = this.byNode.get(id);
      if (counts === undefined) this.byNode.set(id, (counts = new Map<string, number>()));
      const reason = String(fields['reason']);
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
      if (id === TARGET && level === 'warn') this.targetWarnings++;
      if (id === HONEST) this.onHonestRefusal(fields);
    };
    return {
      debug: (message, fields) => note('debug', message, fields),
      info: () => {},
      warn: (message, fields) => note('warn', message, fields),
      error: () => {},
    };
  }

  of(id: NodeId): Record<string, number> {
    return Object.fromEntries([...(this.byNode.get(id) ?? [])].sort());
  }
}

/** The simulated world: event queue, network, the two real nodes and the fuzzer. */
export class ForgedPeerWorld implements MemoryNetworkPolicy {
  readonly rnd: SeededRandom;
  readonly queue = new EventQueue();
  readonly network: MemoryNetwork;
  readonly checks: Checks;
  readonly refusals: RefusalCounts;
  readonly logger: Logger;
  readonly nodes: RealNode[] = [];
  now = 0;
  /** What the real nodes sent node 3, newest last (the fuzzer reads it). */
  readonly seen: Message[] = [];
  private proposals = 0;

  constructor(readonly opts: FuzzOptions) {
    this.rnd = new SeededRandom(opts.seed);
    this.network = new MemoryNetwork(this);
    this.checks = new Checks(opts.mode === 'no-leader-claims');
    // Node 2 hears only node 1, which stays a correct member however it is attacked (unless it
    // follows a forged leader, the Byzantine limit): node 2 refusing it is a broken check.
    this.refusals = new RefusalCounts((f) =>
      this.checks.disagree(
        `node 2 refused node ${String(f['from'])}'s ${String(f['type'])} of term ${String(f['term'])}: ${String(f['reason'])}`,
      ),
    );
    this.logger = this.refusals.logger();
    for (const id of [TARGET, HONEST]) this.nodes.push(new RealNode(id, this));
    for (const n of this.nodes) this.scheduleTick(n, this.rnd.nextFloat() * TICK_MS);
  }

  node(id: NodeId): RealNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no real node ${id}`);
    return n;
  }

  route(packet: Packet, network: MemoryNetwork): void {
    const { to } = packet.message;
    if (to === FORGED) {
      if (packet.kind === 'message') {
        this.seen.push(packet.message);
        if (this.seen.length > 64) this.seen.shift();
      } else this.queue.push(this.now + 1, 'snapshot to nobody', () => packet.done(false));
      return;
    }
    const copies = this.rnd.nextFloat() < 0.01 ? 0 : this.rnd.nextFloat() < 0.01 ? 2 : 1;
    if (copies === 0 && packet.kind === 'snapshot') this.queue.push(this.now + 1, 'snapshot lost', () => packet.done(false));
    for (let c = 0; c < copies; c++) {
      const at = this.now + 0.2 + this.rnd.nextFloat() * 3;
      if (packet.kind === 'message') this.queue.push(at, `deliver ${packet.message.type}`, () => network.deliver(packet));
      else if (c === 0) this.queue.push(at, 'deliver snapshot', () => network.deliver(packet));
    }
  }

  private scheduleTick(n: RealNode, at: number): void {
    this.queue.push(at, `tick ${n.id}`, () => {
      if (n.up) n.host.tick();
      this.scheduleTick(n, this.now + TICK_MS);
    });
  }

  /**
   * An operator hands leadership from node 2 to node 1 (thesis §3.10), and the world runs until
   * node 1 leads or 100 ms passed. Returns whether a transfer started.
   */
  moveLeadershipTo(id: NodeId): boolean {
    const from = this.nodes.find((n) => n.id !== id && n.up && n.status().role === 'leader');
    if (from === undefined || from.host.transferLeadership(id).type !== 'started') return false;
    const until = this.now + 100;
    while (this.now < until && this.node(id).status().role !== 'leader') this.runUntil(this.now + 5);
    return true;
  }

  /** A client write on whichever real node leads. */
  propose(): void {
    for (const n of this.nodes) {
      if (n.up && n.status().role === 'leader') n.host.propose(encoder.encode(`w${this.proposals++}`), () => {});
    }
  }

  /** Runs every event up to virtual time `until`, checking after each one. */
  runUntil(until: number): void {
    let reached = false;
    this.queue.push(until, 'until', () => (reached = true));
    while (!reached) {
      const ev = this.queue.pop();
      if (ev === undefined) return;
      this.now = ev.time;
      ev.run();
      this.checks.afterEvent(this.nodes);
    }
  }
}

/**
 * How a burst picks terms: `wild` reaches far ahead (deposing node 1 again and again), `calm`
 * stays at or below node 1's term, so that a settled leader's and follower's checks are reached.
 */
export type Temper = 'calm' | 'wild';

/** The fuzzer: node 3's identity, speaking to node 1. */
export class Adversary {
  sent = 0;
  refusedByCodec = 0;
  readonly codecReasons = new Map<string, number>();
  droppedByLink = 0;
  stepped = 0;
  snapshotsTaken = 0;
  readFloods = 0;
  temper: Temper = 'wild';
  private forged = 0;
  private floodContexts = 0;
  private readonly rnd: SeededRandom;
  /** The last few frames sent, for the report of an exception. */
  readonly recent: string[] = [];

  constructor(private readonly world: ForgedPeerWorld) {
    this.rnd = new SeededRandom(world.opts.seed ^ 0x5eed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.rnd.nextInt(xs.length)] as T;
  }

  private chance(p: number): boolean {
    return this.rnd.nextFloat() < p;
  }

  private target(): RealNode {
    return this.world.node(TARGET);
  }

  /** The term node 1's log holds at `i`, if it holds `i`. */
  private termAt(i: number, st: Status): number | undefined {
    if (i === 0) return 0;
    if (i < st.firstIndex || i > st.lastIndex) return undefined;
    return this.target().host.logEntries(i, i + 1)[0]?.term;
  }

  private index(st: Status): number {
    const i = this.pick([
      0,
      1,
      st.commit - 1,
      st.commit,
      st.commit,
      st.commit + 1,
      st.lastIndex - 1,
      st.lastIndex,
      st.lastIndex,
      st.lastIndex + 1,
      st.lastIndex + 2 + this.rnd.nextInt(50),
      st.firstIndex - 1,
      this.rnd.nextInt(st.lastIndex + 2),
      2 ** 40 + this.rnd.nextInt(1000),
    ]);
    return Math.max(0, i);
  }

  private term(st: Status): number {
    if (this.temper === 'calm')
      return Math.max(0, this.pick([st.term, st.term, st.term, st.term - 1, 1 + this.rnd.nextInt(Math.max(st.term, 1))]));
    const t = this.pick([
      0,
      st.term - 1,
      st.term,
      st.term,
      st.term,
      st.term,
      st.term + 1,
      st.term + 1 + this.rnd.nextInt(5),
      1 + this.rnd.nextInt(st.term + 3),
      2 ** 40,
    ]);
    return Math.max(0, t);
  }

  /** A term for the position `i`: mostly the one node 1 holds there, so that it matches. */
  private termFor(i: number, atMost: number, st: Status): number {
    const held = this.termAt(i, st);
    if (held !== undefined && this.chance(0.7)) return held;
    if (i === 0) return this.chance(0.9) ? 0 : 1;
    return Math.max(this.chance(0.05) ? 0 : 1, this.rnd.nextInt(atMost + 2));
  }

  private context(): string {
    const seenContexts = this.world.seen.flatMap((m) => (m.type === 'heartbeat' && m.context !== null ? [m.context] : []));
    if (seenContexts.length > 0 && this.chance(0.4)) return this.pick(seenContexts);
    return this.pick([`${FORGED}.f.${this.rnd.nextInt(40).toString(36)}`, `${TARGET}.x.0`, `${HONEST}.y.${this.rnd.nextInt(3)}`, 'c', '']);
  }

  /**
   * Whether a leader's message of term `t` is one node 1 knows no member may send: a term below
   * its own, or its own while it leads or follows a real leader; for a leader's answer
   * (`answer`: TimeoutNow, a ReadIndex answer), also a term node 1 has not reached, since it
   * answers a message node 1 sent in its own term.
   */
  private claimImpossible(t: number, st: Status, answer: boolean): boolean {
    if (answer && t > st.term) return true;
    return t < st.term || (t === st.term && (st.role === 'leader' || (st.leader !== 0 && st.leader !== FORGED)));
  }

  /** One forged message (its addressing is mostly, not always, honest). */
  private message(st: Status): { m: Message; stream: boolean } {
    const from = this.chance(0.95) ? FORGED : this.pick([TARGET, HONEST, 4]);
    const to = this.chance(0.95) ? TARGET : this.pick([HONEST, FORGED, 7]);
    let term = this.term(st);
    const kind = this.pick([
      'vote',
      'vote-response',
      'append',
      'append',
      'append-response',
      'append-response',
      'heartbeat',
      'heartbeat-response',
      'snapshot',
      'timeout-now',
      'read-index',
      'read-index-response',
    ] as const);
    const answer = kind === 'timeout-now' || kind === 'read-index-response';
    // An answer of a term node 1 has not reached: what no member sends, whoever leads.
    if (answer && this.chance(0.25)) term = st.term + 1 + this.rnd.nextInt(3);
    const leaderKind = answer || kind === 'append' || kind === 'heartbeat' || kind === 'snapshot';
    if (leaderKind && this.world.opts.mode === 'no-leader-claims' && !this.claimImpossible(term, st, answer)) {
      const known = st.role === 'leader' || (st.leader !== 0 && st.leader !== FORGED);
      term = known && this.chance(0.7) ? st.term : Math.max(0, st.term - 1 - this.rnd.nextInt(2));
    }
    const b = { from, to, term };
    switch (kind) {
      case 'vote': {
        const lastLogIndex = this.index(st);
        return {
          m: {
            type: 'vote',
            ...b,
            pre: this.chance(0.5),
            lastLogIndex,
            lastLogTerm: this.termFor(lastLogIndex, term, st),
            transfer: this.chance(0.1),
          },
          stream: false,
        };
      }
      case 'vote-response':
        return { m: { type: 'vote-response', ...b, pre: this.chance(0.5), reject: this.chance(0.3) }, stream: false };
      case 'append': {
        const prevLogIndex = this.index(st);
        const prevLogTerm = this.termFor(prevLogIndex, term, st);
        const n = this.rnd.nextInt(5);
        const entries: Entry[] = [];
        let t = Math.max(prevLogTerm, 1);
        const copy = this.chance(0.3);
        for (let k = 0; k < n; k++) {
          const index = prevLogIndex + 1 + k;
          const held =
            copy && index <= st.lastIndex && index >= st.firstIndex ? this.target().host.logEntries(index, index + 1)[0] : undefined;
          if (held !== undefined) {
            entries.push(held);
            t = held.term;
            continue;
          }
          if (this.chance(0.3)) t += 1;
          const type = this.pick(['normal', 'normal', 'normal', 'noop', 'config'] as const);
          entries.push({ index, term: Math.min(t, Math.max(term, 1)), type, data: this.entryData(type) });
        }
        return { m: { type: 'append', ...b, prevLogIndex, prevLogTerm, entries, commit: this.index(st) }, stream: false };
      }
      case 'append-response': {
        if (this.chance(0.5)) {
          const index = this.index(st);
          const hintIndex = this.chance(0.9) ? this.rnd.nextInt(index + 1) : index + 1;
          return {
            m: { type: 'append-response', ...b, index, reject: true, hintIndex, hintTerm: this.rnd.nextInt(term + 1) },
            stream: false,
          };
        }
        // An acknowledgement: of what was sent to node 3 (a plausible one), or of anything.
        const appends = this.world.seen.filter((m) => m.type === 'append');
        const last = appends[appends.length - 1];
        const echoed = last?.type === 'append' ? last.prevLogIndex + last.entries.length : undefined;
        const index = echoed !== undefined && this.chance(0.5) ? echoed : this.index(st);
        return { m: { type: 'append-response', ...b, index, reject: false, hintIndex: 0, hintTerm: 0 }, stream: false };
      }
      case 'heartbeat':
        return {
          m: { type: 'heartbeat', ...b, commit: this.index(st), context: this.chance(0.5) ? null : this.context() },
          stream: false,
        };
      case 'heartbeat-response':
        return { m: { type: 'heartbeat-response', ...b, context: this.chance(0.3) ? null : this.context() }, stream: false };
      case 'snapshot': {
        const index = this.chance(0.6) ? st.commit + 1 + this.rnd.nextInt(60) : this.index(st);
        const confState = this.pick([
          { voters: [1, 2, 3], learners: [] },
          { voters: [3, 1, 2], learners: [] },
          { voters: [1, 2, 3], learners: [] },
          { voters: [1, 2], learners: [] },
          { voters: [1, 2, 3, 4], learners: [] },
          { voters: [1, 2, 3], learners: [4] },
          { voters: [1, 2], learners: [3] },
          { voters: [1, 2, 3], learners: [3] },
          { voters: [2, 3], learners: [] },
          { voters: [2, 3], learners: [4] },
        ]);
        const snapshot = { index, term: this.termFor(index, term, st), confState };
        // Mostly in a snapshot stream with its data, as it must travel; else wrongly in a
        // messages frame, which the decoder refuses.
        return { m: { type: 'snapshot', ...b, snapshot }, stream: this.chance(0.7) };
      }
      case 'timeout-now':
        return { m: { type: 'timeout-now', ...b }, stream: false };
      case 'read-index':
        return { m: { type: 'read-index', ...b, context: this.context() }, stream: false };
      case 'read-index-response':
        return { m: { type: 'read-index-response', ...b, context: this.context(), index: this.index(st) }, stream: false };
    }
  }

  /**
   * An entry's data: for a configuration entry mostly a well-formed change (some excluding
   * node 1 or adding members that do not exist), else bytes the codec must refuse.
   */
  private entryData(type: Entry['type']): Uint8Array {
    if (type !== 'config' || this.chance(0.1)) return encoder.encode(`forged-${this.forged++}`);
    return encodeConfigEntry(
      this.pick([
        { change: { type: 'add-learner', node: 4 }, conf: { voters: [1, 2, 3], learners: [4] } },
        { change: { type: 'promote', node: 4 }, conf: { voters: [1, 2, 3, 4], learners: [] } },
        { change: { type: 'remove', node: 3 }, conf: { voters: [1, 2], learners: [] } },
        { change: { type: 'remove', node: 1 }, conf: { voters: [2, 3], learners: [] } },
        { change: { type: 'add-learner', node: 3 }, conf: { voters: [1, 2], learners: [3] } },
      ] satisfies ConfigEntryData[]),
    );
  }

  /** Sends one frame of forged traffic to node 1, as WsPeerTransport would hand it over. */
  sendFrame(): void {
    const target = this.target();
    if (!target.up) return;
    const st = target.status();
    const first = this.message(st);
    if (first.stream && first.m.type === 'snapshot') return this.sendStream(first.m);
    const batch = [first.m];
    if (this.chance(0.15)) for (let k = 1 + this.rnd.nextInt(3); k > 0; k--) batch.push(this.message(st).m);
    this.deliverFrame(batch);
  }

  /**
   * More ReadIndex requests than a leader holds ({@link MAX_PENDING_READS}), each with a
   * context of its own, in frames of 64 and with no other event in between: the leader must
   * refuse the excess rather than hold without bound what a member can send.
   */
  readFlood(): void {
    this.readFloods++;
    const target = this.target();
    for (let k = 0; k < MAX_PENDING_READS + 256 && target.up; k += 64) {
      const { term } = target.status();
      const batch: Message[] = [];
      for (let j = 0; j < 64; j++)
        batch.push({ type: 'read-index', from: FORGED, to: TARGET, term, context: `${FORGED}.flood.${this.floodContexts++}` });
      this.deliverFrame(batch);
    }
  }

  /** One messages frame: encoded, decoded, checked by the link, handed to node 1. */
  private deliverFrame(batch: Message[]): void {
    this.sent += batch.length;
    this.remember(`frame ${JSON.stringify(batch.map(brief))}`);
    let messages: Message[];
    try {
      const frame = decodeFrame(encodeMessagesFrame(batch));
      if (frame.kind !== 'messages') throw new Error('a messages frame decoded as something else');
      messages = frame.messages;
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      // The connection is closed (4002): nothing of the frame reaches the node.
      this.refusedByCodec += batch.length;
      this.noteCodecReason(err);
      return;
    }
    const handler = this.world.network.endpoint(TARGET).handler;
    for (const m of messages) {
      // ws-inbound: an authenticated peer speaks only for itself, and only to us.
      if (m.from !== FORGED || m.to !== TARGET) {
        this.droppedByLink++;
        continue;
      }
      if (handler?.onMessage(m) === true) this.stepped++;
    }
  }

  /** A snapshot stream: snap-begin (validated), then the data, as ws-inbound assembles it. */
  private sendStream(m: SnapshotRequest): void {
    this.sent++;
    this.remember(`stream ${JSON.stringify(brief(m))}`);
    let message: SnapshotRequest;
    try {
      const frame = decodeFrame(encodeControl({ k: 'snap-begin', stream: 1, message: m, size: 0 }));
      if (frame.kind !== 'control' || frame.control.k !== 'snap-begin') throw new Error('snap-begin decoded as something else');
      message = frame.control.message;
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.refusedByCodec++;
      this.noteCodecReason(err);
      return;
    }
    if (message.from !== FORGED || message.to !== TARGET) {
      this.droppedByLink++;
      return;
    }
    const data = encoder.encode(JSON.stringify({ index: message.snapshot.index, hash: `forged-${this.forged++}` }));
    if (this.world.network.endpoint(TARGET).handler?.onSnapshot(message, data) === true) this.snapshotsTaken++;
  }

  /** The decoder's reason, without the positions that vary from frame to frame. */
  private noteCodecReason(err: DecodeError): void {
    const why = err.message.replace(/\[\d+\]/g, '[k]').replace(/expected \d+$/, 'expected the next index');
    this.codecReasons.set(why, (this.codecReasons.get(why) ?? 0) + 1);
  }

  private remember(line: string): void {
    this.recent.push(line.slice(0, 600));
    if (this.recent.length > 5) this.recent.shift();
  }
}

/** A message without its entries' data, for reports. */
function brief(m: Message): object {
  return m.type === 'append' ? { ...m, entries: m.entries.map((e) => `${e.index}@${e.term}:${e.type}`) } : m;
}

/**
 * One seeded fuzz run: the cluster settles, then bursts of forged traffic alternate with quiet
 * spells in which clients write and node crashes happen, until `opts.messages` forged messages
 * were sent; then, in `no-leader-claims` mode, the cluster must commit a fresh write on both
 * real nodes within 100 election timeouts. Exceptions are caught and reported, never thrown.
 */
export function runFuzz(opts: FuzzOptions): FuzzReport {
  const world = new ForgedPeerWorld(opts);
  const adversary = new Adversary(world);
  const rnd = new SeededRandom(opts.seed ^ 0xc0ffee);
  let exception: Error | undefined;
  let crashes = 0;
  let transfers = 0;
  let liveAfterwards = false;
  const commits: Record<number, number> = {};
  try {
    world.runUntil(1_000);
    let nextCrash = world.now + 2_000 + rnd.nextInt(2_000);
    while (adversary.sent < opts.messages && world.checks.violations.length === 0) {
      // A quiet spell: client writes, the cluster recovers.
      const quietUntil = world.now + 50 + rnd.nextInt(250);
      while (world.now < quietUntil) {
        world.propose();
        world.runUntil(world.now + 2 + rnd.nextInt(6));
      }
      if (world.now >= nextCrash) {
        const victim = world.nodes[rnd.nextInt(world.nodes.length)];
        if (victim !== undefined && victim.up) {
          victim.crash();
          crashes++;
          world.runUntil(world.now + 20 + rnd.nextInt(200));
          victim.boot();
        }
        nextCrash = world.now + 2_000 + rnd.nextInt(2_000);
      }
      // A burst: forged frames between the cluster's own events, with writes still coming.
      const calm = rnd.nextFloat() < 0.5;
      adversary.temper = calm ? 'calm' : 'wild';
      if (calm && rnd.nextFloat() < 0.5 && world.moveLeadershipTo(TARGET)) transfers++;
      const target = world.node(TARGET);
      if (calm && adversary.readFloods === 0 && adversary.sent >= opts.messages / 4 && target.up && target.status().role === 'leader') {
        adversary.readFlood();
        world.checks.afterEvent(world.nodes);
      }
      const burst = 200 + rnd.nextInt(1_500);
      for (let k = 0; k < burst && adversary.sent < opts.messages; k++) {
        adversary.sendFrame();
        world.checks.afterEvent(world.nodes);
        if (k % 25 === 0) world.propose();
        world.runUntil(world.now + rnd.nextFloat() * 0.3);
      }
    }
    if (opts.mode === 'no-leader-claims' && world.checks.violations.length === 0) {
      // Quiet now: a fresh write must commit and apply on both real nodes.
      for (const n of world.nodes) if (!n.up) n.boot();
      const deadline = world.now + 100 * ELECTION_TICK * TICK_MS;
      let markerIndex: number | undefined;
      let pending = false;
      const done = (): boolean => markerIndex !== undefined && world.nodes.every((n) => n.host.appliedIndex >= (markerIndex ?? 0));
      while (world.now < deadline && !done()) {
        const leader = world.nodes.find((n) => n.status().role === 'leader');
        if (markerIndex === undefined && !pending && leader !== undefined) {
          pending = true;
          leader.host.propose(encoder.encode('after-the-fuzz'), (o) => {
            pending = false;
            if (o.type === 'applied') markerIndex = o.index;
          });
        }
        world.runUntil(world.now + 20);
      }
      liveAfterwards = done();
    }
  } catch (err) {
    exception = err instanceof Error ? err : new Error(String(err));
  }
  let maxTerm = 0;
  for (const n of world.nodes) {
    const st = n.status();
    maxTerm = Math.max(maxTerm, st.term);
    commits[n.id] = st.commit;
  }
  const violations = [...world.checks.violations];
  if (exception !== undefined) violations.push(`exception: ${exception.message}\nlast frames:\n${adversary.recent.join('\n')}`);
  return {
    seed: opts.seed,
    mode: opts.mode,
    sent: adversary.sent,
    refusedByCodec: adversary.refusedByCodec,
    codecReasons: Object.fromEntries([...adversary.codecReasons].sort()),
    droppedByLink: adversary.droppedByLink,
    refusedByNode: world.refusals.of(TARGET),
    refusedByHonest: world.refusals.of(HONEST),
    stepped: adversary.stepped,
    snapshotsTaken: adversary.snapshotsTaken,
    readFloods: adversary.readFloods,
    transfers,
    refusalWarnings: world.refusals.targetWarnings,
    virtualMs: world.now,
    crashes,
    maxTerm,
    commits,
    violations,
    exception,
    byzantineDisagreements: world.checks.byzantineDisagreements,
    liveAfterwards,
  };
}
