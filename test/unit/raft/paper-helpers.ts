/**
 * Helpers shared by the paper tests (paper-*.test.ts): a single RawNode over MemoryStorage
 * driven by hand-built messages, message builders, and a few InteractionEnv conveniences.
 *
 * Direct nodes default to the paper's base algorithm (no PreVote, no CheckQuorum); tests of
 * those extensions turn them on explicitly.
 */
import { expect } from 'vitest';
import {
  MemoryStorage,
  RawNode,
  SeededRandom,
  type AppendRequest,
  type AppendResponse,
  type Entry,
  type EntryType,
  type HardState,
  type Heartbeat,
  type Message,
  type MessageType,
  type NodeId,
  type Ready,
  type Status,
  type VoteRequest,
  type VoteResponse,
} from '../../../src/raft/index.js';
import type { InteractionEnv } from '../../support/interaction-env.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Payload text of an entry (empty for a no-op). */
export function text(e: Entry): string {
  return decoder.decode(e.data);
}

export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Entries firstIndex, firstIndex+1, ... with the given terms. Data follows InteractionEnv.setLog
 * ("t<term>i<index>") so that equal (index, term) pairs carry equal data everywhere.
 */
export function ents(firstIndex: number, terms: readonly number[], type: EntryType = 'normal'): Entry[] {
  return terms.map((term, k) => ({
    index: firstIndex + k,
    term,
    type,
    data: type === 'noop' ? new Uint8Array(0) : bytes(`t${term}i${firstIndex + k}`),
  }));
}

export interface NodeSpec {
  readonly id?: NodeId;
  /** Voters; default [1, 2, 3]. */
  readonly voters?: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** A durable snapshot the log starts after (its entries compacted away). */
  readonly snapshot?: { readonly index: number; readonly term: number };
  /** Terms of the durable log entries, from index 1 (or just after `snapshot`). */
  readonly terms?: readonly number[];
  /** Durable hard state; term defaults to the last log term. */
  readonly hard?: Partial<HardState>;
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly seed?: number;
  readonly maxSizePerMsg?: number;
  readonly commitPriorTerm?: boolean;
  /** Negative control: step peer messages without the core's refusal checks. */
  readonly skipPeerMessageChecks?: boolean;
}

/**
 * One RawNode with its MemoryStorage and a correct driver: {@link handleReady} persists a Ready,
 * records what was applied and the messages, then advances.
 */
export class TestNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly raw: RawNode;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  /** Entries handed out as committed, in order. */
  readonly applied: Entry[] = [];
  /** Every Ready handled, in order. */
  readonly readys: Ready[] = [];

  constructor(spec: NodeSpec = {}) {
    this.id = spec.id ?? 1;
    this.electionTick = spec.electionTick ?? 10;
    this.heartbeatTick = spec.heartbeatTick ?? 1;
    const confState = { voters: [...(spec.voters ?? [1, 2, 3])], learners: [...(spec.learners ?? [])] };
    this.storage = new MemoryStorage(confState);
    if (spec.snapshot !== undefined) this.storage.applySnapshot({ ...spec.snapshot, confState });
    const first = (spec.snapshot?.index ?? 0) + 1;
    const terms = spec.terms ?? [];
    if (terms.length > 0) this.storage.append(ents(first, terms));
    const lastTerm = terms[terms.length - 1] ?? spec.snapshot?.term ?? 0;
    this.storage.setHardState({ term: spec.hard?.term ?? lastTerm, vote: spec.hard?.vote ?? 0, commit: spec.hard?.commit ?? 0 });
    const created = RawNode.create({
      id: this.id,
      storage: this.storage,
      electionTick: this.electionTick,
      heartbeatTick: this.heartbeatTick,
      random: new SeededRandom(spec.seed ?? this.id),
      preVote: spec.preVote ?? false,
      checkQuorum: spec.checkQuorum ?? false,
      ...(spec.maxSizePerMsg !== undefined ? { maxSizePerMsg: spec.maxSizePerMsg } : {}),
      unsafeTestingKnobs: { commitPriorTerm: spec.commitPriorTerm ?? false, skipPeerMessageChecks: spec.skipPeerMessageChecks ?? false },
    });
    if (!created.ok) throw new Error(created.errors.map((e) => e.message).join('; '));
    this.raw = created.node;
  }

  status(): Status {
    return this.raw.status();
  }

  step(m: Message): void {
    this.raw.step(m);
  }

  tick(count = 1): void {
    for (let k = 0; k < count; k++) this.raw.tick();
  }

  /** Persists a Ready exactly as ready.ts prescribes, without advancing. */
  persist(rd: Ready): void {
    if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    this.applied.push(...rd.committedEntries);
  }

  /** Takes, persists and advances one Ready; undefined when there is none. */
  handleReady(): Ready | undefined {
    if (!this.raw.hasReady()) return undefined;
    const rd = this.raw.ready();
    this.persist(rd);
    this.readys.push(rd);
    this.raw.advance();
    return rd;
  }

  /** Handles Readys until none is left; returns every message they carried, in order. */
  flush(): Message[] {
    const out: Message[] = [];
    for (let rd = this.handleReady(); rd !== undefined; rd = this.handleReady()) {
      out.push(...rd.messages, ...rd.persistedMessages);
    }
    return out;
  }

  /** Log entries from the first available index to the last (durable and unstable). */
  entries(): readonly Entry[] {
    const st = this.status();
    return st.lastIndex >= st.firstIndex ? this.raw.entries(st.firstIndex, st.lastIndex + 1) : [];
  }

  terms(): number[] {
    return this.entries().map((e) => e.term);
  }

  /**
   * Wins an election by campaigning and receiving granted votes from every other voter (the
   * node must be configured without PreVote). Returns the messages of the new leader's first
   * Readys (its appends carrying the no-op).
   */
  becomeLeader(): Message[] {
    this.raw.campaign();
    const out = this.flush();
    const st = this.status();
    for (const v of this.voters()) {
      if (v !== this.id && this.status().role !== 'leader') {
        this.step(voteResp({ from: v, to: this.id, term: st.term, reject: false }));
      }
    }
    expect(this.status().role).toBe('leader');
    out.push(...this.flush());
    return out.filter((m) => m.type !== 'vote');
  }

  /** Leader: acknowledges every append in `msgs` as its follower would, and flushes. */
  ackAll(msgs: readonly Message[]): Message[] {
    for (const m of msgs) if (m.type === 'append') this.step(acceptAndReply(m));
    return this.flush();
  }

  private voters(): NodeId[] {
    return [...this.storage.confState().voters];
  }
}

// ---- message builders --------------------------------------------------------------------

export function appendMsg(p: {
  from: NodeId;
  to: NodeId;
  term: number;
  prevLogIndex?: number;
  prevLogTerm?: number;
  entries?: readonly Entry[];
  commit?: number;
}): AppendRequest {
  return {
    type: 'append',
    from: p.from,
    to: p.to,
    term: p.term,
    prevLogIndex: p.prevLogIndex ?? 0,
    prevLogTerm: p.prevLogTerm ?? 0,
    entries: p.entries ?? [],
    commit: p.commit ?? 0,
  };
}

export function appendResp(p: {
  from: NodeId;
  to: NodeId;
  term: number;
  index: number;
  reject?: boolean;
  hintIndex?: number;
  hintTerm?: number;
}): AppendResponse {
  return {
    type: 'append-response',
    from: p.from,
    to: p.to,
    term: p.term,
    index: p.index,
    reject: p.reject ?? false,
    hintIndex: p.hintIndex ?? 0,
    hintTerm: p.hintTerm ?? 0,
  };
}

export function voteReq(p: {
  from: NodeId;
  to: NodeId;
  term: number;
  lastLogIndex?: number;
  lastLogTerm?: number;
  pre?: boolean;
  transfer?: boolean;
}): VoteRequest {
  return {
    type: 'vote',
    from: p.from,
    to: p.to,
    term: p.term,
    pre: p.pre ?? false,
    lastLogIndex: p.lastLogIndex ?? 0,
    lastLogTerm: p.lastLogTerm ?? 0,
    transfer: p.transfer ?? false,
  };
}

export function voteResp(p: { from: NodeId; to: NodeId; term: number; reject: boolean; pre?: boolean }): VoteResponse {
  return { type: 'vote-response', from: p.from, to: p.to, term: p.term, pre: p.pre ?? false, reject: p.reject };
}

export function heartbeatMsg(p: { from: NodeId; to: NodeId; term: number; commit?: number; context?: string | null }): Heartbeat {
  return { type: 'heartbeat', from: p.from, to: p.to, term: p.term, commit: p.commit ?? 0, context: p.context ?? null };
}

/** The follower's acknowledgement of an append it accepted in full. */
export function acceptAndReply(m: AppendRequest): AppendResponse {
  return appendResp({ from: m.to, to: m.from, term: m.term, index: m.prevLogIndex + m.entries.length });
}

/** Messages of one type, narrowed. */
export function ofType<T extends MessageType>(msgs: readonly Message[], type: T): Array<Extract<Message, { type: T }>> {
  return msgs.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

/** Sorted recipients of `msgs`. */
export function recipients(msgs: readonly Message[]): NodeId[] {
  return msgs.map((m) => m.to).sort((a, b) => a - b);
}

// ---- InteractionEnv conveniences ---------------------------------------------------------

/** `id` campaigns and the environment settles; asserts it won. */
export function elect(env: InteractionEnv, id: NodeId): void {
  env.campaign(id);
  env.stabilize();
  expect(env.leaders()).toEqual([id]);
}

/** Every node's entries from its first index, as "term/index:data" strings. */
export function logOf(env: InteractionEnv, id: NodeId): string[] {
  const st = env.status(id);
  if (st.lastIndex < st.firstIndex) return [];
  return env
    .node(id)
    .raw.entries(st.firstIndex, st.lastIndex + 1)
    .map((e) => `${e.term}/${e.index}:${e.type === 'noop' ? 'noop' : text(e)}`);
}

/** Ticks every node once per round, settling the environment after each round. */
export function tickAll(env: InteractionEnv, rounds: number, until?: () => boolean): void {
  for (let k = 0; k < rounds; k++) {
    for (const id of env.nodes.keys()) env.tick(id);
    env.stabilize();
    if (until?.()) return;
  }
}
