/**
 * RaftHost's ready loop on its own: group commit, proposal outcomes by (index, term), reads
 * answered only once applied, and persist-before-send, with a disk whose writes complete only
 * when the test says so (no timers, no real time).
 */
import { describe, expect, it } from 'vitest';
import {
  SeededRandom,
  silentLogger,
  type Entry,
  type Logger,
  type Message,
  type SnapshotRequest,
  type StateMachine,
} from '../../../src/raft/index.js';
import { RaftHost, type ProposeOutcome } from '../../../src/host/raft-host.js';
import { MemoryDurableLog } from '../../../src/storage/memory-durable-log.js';
import { MemorySnapshotStore } from '../../../src/storage/snapshot-store.js';
import type { PeerTransport, TransportHandler } from '../../../src/transport/peer-transport.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Applies "x" entries by appending them; result = number of entries applied so far. */
class ListMachine implements StateMachine<number> {
  items: string[] = [];
  apply(e: Entry): number {
    if (e.type === 'normal') this.items.push(dec.decode(e.data));
    return this.items.length;
  }
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = JSON.parse(dec.decode(data)) as string[];
  }
}

class RecordingTransport implements PeerTransport {
  sent: Message[] = [];
  handler: TransportHandler | undefined;
  start(h: TransportHandler): void {
    this.handler = h;
  }
  send(messages: readonly Message[]): void {
    this.sent.push(...messages);
  }
  sendSnapshot(_m: unknown, _d: Uint8Array, done: (ok: boolean) => void): void {
    done(false);
  }
  setPeers(): void {}
  stop(): void {
    this.handler = undefined;
  }
}

function makeHost(voters: number[], id = 1, logger: Logger = silentLogger) {
  const writes: Array<() => void> = [];
  const disk = new MemoryDurableLog((complete) => writes.push(complete));
  const transport = new RecordingTransport();
  const sm = new ListMachine();
  const host = new RaftHost<number>({
    id,
    raft: { electionTick: 10, heartbeatTick: 1, random: new SeededRandom(id) },
    bootstrap: { voters, learners: [] },
    log: disk,
    loaded: disk.load(),
    snapshots: new MemorySnapshotStore(),
    transport,
    stateMachine: sm,
    logger,
  });
  /** Completes the oldest pending write; returns whether there was one. */
  const completeWrite = (): boolean => {
    const w = writes.shift();
    w?.();
    return w !== undefined;
  };
  const drain = (): void => {
    while (completeWrite()) {
      /* until idle */
    }
  };
  return { host, disk, transport, sm, writes, completeWrite, drain };
}

/** Refusal log lines: `[level, reason]`. */
function refusalLines(): { lines: Array<[string, string]>; logger: Logger } {
  const lines: Array<[string, string]> = [];
  const note =
    (level: string) =>
    (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      if (message === 'refused peer message') lines.push([level, String(fields?.['reason'])]);
    };
  return { lines, logger: { debug: note('debug'), info: () => {}, warn: note('warn'), error: note('error') } };
}

/** Node 1 of three, just elected leader by node 2's votes; `peer(m)` delivers a message. */
function makeElected(logger: Logger = silentLogger) {
  const h = makeHost([1, 2, 3], 1, logger);
  const peer = (m: Message): void => void h.transport.handler?.onMessage(m);
  h.host.campaign(); // pre-vote
  h.drain();
  peer({ type: 'vote-response', from: 2, to: 1, term: 1, pre: true, reject: false });
  h.drain();
  peer({ type: 'vote-response', from: 2, to: 1, term: 1, pre: false, reject: false });
  h.drain();
  expect(h.host.status().role).toBe('leader');
  return { ...h, peer };
}

/**
 * Node 1 of three, elected leader with its no-op (index 1) committed and applied; `ack(from,
 * index)` delivers a follower's append acknowledgement, `answerHeartbeats()` has both followers
 * answer every heartbeat sent so far (ReadIndex rounds).
 */
function makeLeader(logger: Logger = silentLogger) {
  const h = makeElected(logger);
  const { peer } = h;
  const term = h.host.status(false).term;
  const ack = (from: number, index: number): void =>
    peer({ type: 'append-response', from, to: 1, term, index, reject: false, hintIndex: 0, hintTerm: 0 });
  ack(2, 1);
  h.drain();
  expect(h.host.status(false)).toMatchObject({ role: 'leader', commit: 1 });
  expect(h.host.appliedIndex).toBe(1);
  const answerHeartbeats = (): void => {
    const beats = h.transport.sent.filter((m) => m.type === 'heartbeat');
    h.transport.sent = [];
    for (const m of beats)
      peer({ type: 'heartbeat-response', from: m.to, to: 1, term, context: m.type === 'heartbeat' ? m.context : null });
  };
  return { ...h, ack, answerHeartbeats };
}

describe('RaftHost', () => {
  it('group commit: proposals arriving during an fsync go into the next single write', () => {
    const h = makeHost([1]);
    h.host.campaign();
    h.drain();
    expect(h.host.status().role).toBe('leader');
    const outcomes: Array<ProposeOutcome<number>> = [];
    h.host.propose(enc.encode('a'), (o) => outcomes.push(o));
    const writesBefore = h.disk.writes;
    expect(h.writes.length).toBe(1); // 'a' is being written
    for (const x of ['b', 'c', 'd', 'e']) h.host.propose(enc.encode(x), (o) => outcomes.push(o));
    expect(h.writes.length).toBe(1); // nothing new is written while the fsync is in flight
    h.drain();
    // 'a' alone, then b..e together, then commit-only writes.
    const entriesWritten = h.host.stats.entriesPersisted;
    expect(entriesWritten).toBeGreaterThanOrEqual(6);
    expect(h.disk.writes - writesBefore).toBeLessThanOrEqual(4);
    expect(outcomes.map((o) => o.type)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied']);
    expect(outcomes.map((o) => (o.type === 'applied' ? o.result : -1))).toEqual([1, 2, 3, 4, 5]);
    expect(h.sm.items).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a proposal on a follower fails at once with NOT_LEADER', () => {
    const h = makeHost([1, 2, 3]);
    let outcome: ProposeOutcome<number> | undefined;
    h.host.propose(enc.encode('x'), (o) => (outcome = o));
    expect(outcome).toEqual({ type: 'failed', code: 'NOT_LEADER', leader: 0 });
  });

  it('vote replies leave only after the vote is durable', () => {
    const h = makeHost([1, 2, 3], 2);
    h.transport.handler?.onMessage({ type: 'vote', from: 1, to: 2, term: 1, pre: false, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    expect(h.transport.sent).toEqual([]); // the write of term 1 / vote 1 is in flight
    expect(h.disk.durableState().hardState.vote).toBe(0);
    h.completeWrite();
    expect(h.disk.durableState().hardState).toMatchObject({ term: 1, vote: 1 });
    expect(h.transport.sent).toEqual([{ type: 'vote-response', from: 2, to: 1, term: 1, pre: false, reject: false }]);
  });

  it('leadership lost with a proposal pending: the outcome is unknown, not failed', () => {
    const h = makeElected();
    const { peer } = h;
    let outcome: ProposeOutcome<number> | undefined;
    h.host.propose(enc.encode('x'), (o) => (outcome = o));
    h.drain();
    expect(outcome).toBeUndefined(); // not committed: no follower acknowledged
    peer({ type: 'heartbeat', from: 3, to: 1, term: 5, commit: 0, context: null }); // a newer leader
    h.drain();
    expect(h.host.status().role).toBe('follower');
    expect(outcome).toEqual({ type: 'unknown', reason: 'leadership-lost' });
  });

  it('a read is answered only once the state machine reached the read point', () => {
    // The read point (commit index 2, learnt from the followers) is ahead of what the leader
    // has applied (its own write of entry 2 is still in flight): the read must wait for it.
    const h = makeLeader();
    h.host.propose(enc.encode('a'), () => {});
    expect(h.writes.length).toBe(1); // entry 2 being written on the leader
    h.ack(2, 2);
    h.ack(3, 2);
    expect(h.host.status(false).commit).toBe(2); // committed by the followers' copies
    let seen: string[] | undefined;
    h.host.read((o) => {
      expect(o).toEqual({ type: 'ready', index: 2 });
      seen = [...h.sm.items];
    });
    h.answerHeartbeats(); // sent at once, though a write is in flight
    expect(seen).toBeUndefined(); // read point 2, applied 1
    h.drain();
    expect(seen).toEqual(['a']);
  });

  it('an entry committed while this node still writes it is applied only once durable here', () => {
    const h = makeLeader();
    let outcome: ProposeOutcome<number> | undefined;
    h.host.propose(enc.encode('a'), (o) => (outcome = o));
    h.ack(2, 2);
    h.ack(3, 2);
    expect(h.host.status(false).commit).toBe(2);
    // Persist before you speak: no apply, no client reply, before the leader's own fsync.
    expect(h.sm.items).toEqual([]);
    expect(outcome).toBeUndefined();
    expect(h.completeWrite()).toBe(true);
    expect(h.sm.items).toEqual(['a']);
    expect(outcome).toMatchObject({ type: 'applied', index: 2, result: 1 });
  });

  it('entries committed during a write are applied without waiting for that write', () => {
    const h = makeLeader();
    const outcomes: string[] = [];
    h.host.propose(enc.encode('a'), () => outcomes.push('a'));
    expect(h.completeWrite()).toBe(true); // 'a' durable on the leader
    h.host.propose(enc.encode('b'), () => outcomes.push('b'));
    expect(h.writes.length).toBe(1); // 'b' being written
    h.ack(2, 2); // the follower's acknowledgement of 'a' arrives during the write of 'b'
    expect(outcomes).toEqual(['a']); // applied and answered now, not after the fsync of 'b'
    expect(h.sm.items).toEqual(['a']);
    expect(h.writes.length).toBe(1);
    h.drain();
    h.ack(2, 3);
    h.drain();
    expect(outcomes).toEqual(['a', 'b']);
  });

  it('a snapshot message without its data is refused and counted: the node keeps running and serving', () => {
    const { lines, logger } = refusalLines();
    const h = makeLeader(logger);
    const before = h.host.status(false);
    // A transport must deliver snapshots through onSnapshot; one that hands the metadata alone
    // to onMessage (a bug, or a hostile frame that got through) must not reach the core, which
    // would ask to install data this node does not have.
    const taken = h.transport.handler?.onMessage({
      type: 'snapshot',
      from: 2,
      to: 1,
      term: before.term + 5,
      snapshot: { index: 50, term: before.term + 5, confState: { voters: [1, 2, 3], learners: [] } },
    });
    h.drain();
    expect(taken).toBe(false);
    expect(h.host.stats.refusedMessages).toBe(1);
    expect(lines).toEqual([['warn', 'snapshot-without-data']]);
    expect(h.host.isStopped()).toBe(false);
    expect(h.host.status(false)).toMatchObject({ role: 'leader', term: before.term, commit: before.commit });
    const outcomes: string[] = [];
    h.host.propose(enc.encode('after'), (o) => outcomes.push(o.type));
    h.drain();
    h.ack(2, 2);
    h.drain();
    expect(outcomes).toEqual(['applied']);
  });

  it("a ReadIndex request carrying another node's read context is refused; one with the sender's own is served", () => {
    const { lines, logger } = refusalLines();
    const h = makeLeader(logger);
    const term = h.host.status(false).term;
    h.transport.sent = [];
    // Contexts name the node that issued them: node 2 must not take node 3's read hostage (the
    // leader keeps one request per context).
    expect(h.transport.handler?.onMessage({ type: 'read-index', from: 2, to: 1, term, context: '3.abc.1' })).toBe(false);
    expect(h.transport.handler?.onMessage({ type: 'read-index', from: 2, to: 1, term, context: 'x' })).toBe(false);
    expect(h.transport.sent).toEqual([]);
    expect(h.host.stats.refusedMessages).toBe(2);
    expect(lines).toEqual([
      ['warn', 'foreign-read-context'],
      ['debug', 'foreign-read-context'],
    ]);
    expect(h.transport.handler?.onMessage({ type: 'read-index', from: 2, to: 1, term, context: '2.abc.1' })).toBe(true);
    // The leader confirms its leadership with a heartbeat round carrying that context.
    expect(h.transport.sent.filter((m) => m.type === 'heartbeat').map((m) => (m.type === 'heartbeat' ? m.context : null))).toEqual([
      '2.abc.1',
      '2.abc.1',
    ]);
  });

  it("the core's refusals reach the transport as false, are counted, and leave the node serving", () => {
    const { lines, logger } = refusalLines();
    const h = makeLeader(logger);
    const before = h.host.status(false);
    // Both used to reach a fail-stop invariant: a second leader in our term, an ack beyond our log.
    expect(h.transport.handler?.onMessage({ type: 'heartbeat', from: 2, to: 1, term: before.term, commit: 1, context: null })).toBe(false);
    for (let k = 0; k < 1000; k++) {
      const m: Message = {
        type: 'append-response',
        from: 3,
        to: 1,
        term: before.term,
        index: 99,
        reject: false,
        hintIndex: 0,
        hintTerm: 0,
      };
      expect(h.transport.handler?.onMessage(m)).toBe(false);
    }
    h.drain();
    expect(h.host.isStopped()).toBe(false);
    expect(h.host.stats.refusedMessages).toBe(1001);
    // One warning per reason; the flood after it is debug lines only.
    expect(lines.filter(([level]) => level === 'warn')).toEqual([
      ['warn', 'second-leader'],
      ['warn', 'ack-beyond-log'],
    ]);
    expect(h.host.status(false)).toMatchObject({ role: 'leader', term: before.term, commit: before.commit, lastIndex: before.lastIndex });
    const outcomes: string[] = [];
    h.host.propose(enc.encode('after'), (o) => outcomes.push(o.type));
    h.drain();
    h.ack(2, 2);
    h.drain();
    expect(outcomes).toEqual(['applied']);
  });

  it('a refused snapshot stream is reported failed to the transport and its data not kept', () => {
    const h = makeHost([1, 2, 3]);
    const snapshot = (voters: number[]): SnapshotRequest => ({
      type: 'snapshot',
      from: 2,
      to: 1,
      term: 3,
      snapshot: { index: 40, term: 3, confState: { voters, learners: [] } },
    });
    // A configuration with no voter (the codec refuses it on the wire; the core too).
    expect(h.transport.handler?.onSnapshot(snapshot([]), enc.encode('["forged"]'))).toBe(false);
    h.drain();
    expect(h.host.status(false)).toMatchObject({ term: 0, commit: 0 });
    expect(h.sm.items).toEqual([]);
    expect(h.transport.handler?.onSnapshot(snapshot([1, 2, 3]), enc.encode('["real"]'))).toBe(true);
    h.drain();
    expect(h.host.status(false)).toMatchObject({ term: 3, commit: 40, leader: 2 });
    expect(h.sm.items).toEqual(['real']);
  });

  it('a snapshot the core ignores does not replace the data of one it took whose write is still pending', () => {
    const h = makeHost([1, 2, 3]);
    const snapshot = (index: number): SnapshotRequest => ({
      type: 'snapshot',
      from: 2,
      to: 1,
      term: 1,
      snapshot: { index, term: 1, confState: { voters: [1, 2, 3], learners: [] } },
    });
    // An append starts a write, so the snapshot's Ready waits for it with its data held.
    h.transport.handler?.onMessage({
      type: 'append',
      from: 2,
      to: 1,
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [{ index: 1, term: 1, type: 'normal', data: enc.encode('e1') }],
      commit: 0,
    });
    expect(h.writes.length).toBe(1);
    expect(h.transport.handler?.onSnapshot(snapshot(50), enc.encode('["at 50"]'))).toBe(true);
    // A duplicate or older snapshot, at or behind the commit the first one brought: ignored.
    expect(h.transport.handler?.onSnapshot(snapshot(40), enc.encode('["at 40"]'))).toBe(true);
    h.drain();
    expect(h.host.isStopped()).toBe(false);
    expect(h.host.status(false)).toMatchObject({ commit: 50 });
    expect(h.host.appliedIndex).toBe(50);
    expect(h.sm.items).toEqual(['at 50']);
  });

  it("an election is logged once: the core's 'became leader', not a second line from the host", () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, info: (message: string) => void lines.push(message) };
    const transport = new RecordingTransport();
    const disk = new MemoryDurableLog();
    const host = new RaftHost<number>({
      id: 1,
      raft: { electionTick: 10, heartbeatTick: 1, random: new SeededRandom(1), logger },
      bootstrap: { voters: [1], learners: [] },
      log: disk,
      loaded: disk.load(),
      snapshots: new MemorySnapshotStore(),
      transport,
      stateMachine: new ListMachine(),
      logger,
    });
    host.campaign();
    expect(host.status(false).role).toBe('leader');
    expect(lines.filter((l) => l === 'became leader')).toHaveLength(1);
  });

  it('stop answers everything that waits', () => {
    const h = makeHost([1]);
    h.host.campaign();
    h.drain();
    const outcomes: string[] = [];
    h.host.propose(enc.encode('a'), (o) => outcomes.push(o.type));
    h.host.stop();
    h.host.propose(enc.encode('b'), (o) => outcomes.push(o.type === 'failed' ? o.code : o.type));
    expect(outcomes).toEqual(['unknown', 'STOPPED']);
  });
});
