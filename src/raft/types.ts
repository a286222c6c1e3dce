/**
 * Value types shared by every part of the Raft core.
 *
 * Everything here is plain data: no classes, no methods, no I/O. Values that cross the
 * core's boundary (entries, messages, hard state, snapshot metadata) are `readonly` so a
 * driver cannot mutate what the core still refers to.
 */

/** A node's identity inside one cluster. Positive safe integer; 0 means "none". */
export type NodeId = number;

/** The "no node" value: no leader known, no vote cast. */
export const NONE: NodeId = 0;

/**
 * Kinds of log entry.
 * - `normal`: application data, opaque to the core.
 * - `noop`: the empty entry a new leader appends in its term (Raft §8, thesis §6.4) so that it
 *   can commit entries of earlier terms and serve ReadIndex reads.
 * - `config`: a cluster membership change (reserved for the membership issue).
 */
export type EntryType = 'normal' | 'noop' | 'config';

/** One log entry. `index` and `term` identify it uniquely (Raft §5.3, Log Matching). */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/**
 * State that must be on stable storage before the node answers any RPC (Raft Figure 2,
 * "Persistent state on all servers"). `commit` is carried along so a restarted node need not
 * re-learn it, but it is never trusted beyond the log it refers to.
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/** The cluster configuration: voters decide elections and commits; learners only replicate. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /**
   * What the host attached to members when it added them (their addresses), by id, opaque to
   * the core; carried with the configuration into every later configuration and snapshot.
   * Members the host knows otherwise (a cluster's first members) have none. Absent when empty.
   */
  readonly contexts?: readonly MemberContext[];
}

/** One member's host context (see {@link ConfState.contexts}). */
export interface MemberContext {
  readonly id: NodeId;
  readonly context: Uint8Array;
}

/**
 * What the core knows of a snapshot: the last index and term it covers and the configuration
 * at that point. The snapshot's bytes never enter the core; the driver stores and streams them.
 */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

/** Roles of Raft §5.2, plus the pre-candidate of the PreVote extension (thesis §9.6). */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state worth reporting when it changes (who leads, and our role). */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * A linearizable read point: once the local state machine has applied `index`, a read issued
 * with `context` may be served (Raft thesis §6.4, ReadIndex).
 */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/** Fields every peer message carries. */
interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/**
 * RequestVote (Raft §5.2, Figure 2), or the PreVote probe when `pre` is true (thesis §9.6).
 * A pre-vote carries the term the sender *would* campaign in, without having adopted it.
 * `transfer` marks a campaign started by leadership transfer (thesis §3.10), which voters
 * honour even while they believe a leader is alive.
 */
export interface VoteRequest extends MessageBase {
  readonly type: 'vote';
  readonly pre: boolean;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly transfer: boolean;
}

/** Reply to a {@link VoteRequest}. Claims durable state when granted (§5.2: vote persisted). */
export interface VoteResponse extends MessageBase {
  readonly type: 'vote-response';
  readonly pre: boolean;
  readonly reject: boolean;
}

/** AppendEntries (Raft §5.3, Figure 2). */
export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Reply to an {@link AppendRequest}. On success `index` is the last index the follower now
 * durably holds matching the leader. On rejection `index` echoes the rejected prevLogIndex and
 * (`hintIndex`, `hintTerm`) let the leader skip a whole divergent term at once (§5.3, "the
 * follower can include the term of the conflicting entry").
 */
export interface AppendResponse extends MessageBase {
  readonly type: 'append-response';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/**
 * Leader heartbeat: an empty append that carries the commit index the follower may safely use
 * (never beyond what it is known to match), and optionally a ReadIndex context to confirm.
 */
export interface Heartbeat extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly context: string | null;
}

/** Reply to a {@link Heartbeat}, echoing its context. */
export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeat-response';
  readonly context: string | null;
}

/**
 * InstallSnapshot (Raft §7), metadata only. The driver streams the snapshot's bytes itself and
 * steps this message into the receiver's core once they are all there.
 */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: SnapshotMeta;
}

/** Tells a caught-up transferee to start an election at once (thesis §3.10). */
export interface TimeoutNow extends MessageBase {
  readonly type: 'timeout-now';
}

/** A follower forwards a ReadIndex request to its leader (thesis §6.4). */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'read-index';
  readonly context: string;
}

/** The leader's answer to a forwarded ReadIndex request, after its quorum check. */
export interface ReadIndexResponse extends MessageBase {
  readonly type: 'read-index-response';
  readonly context: string;
  readonly index: number;
}

/** Every message peers exchange. Discriminated on `type`. */
export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

/** The `type` tags of {@link Message}. */
export type MessageType = Message['type'];

/** Exhaustiveness guard for discriminated unions: a new variant fails to compile here. */
export function assertNever(value: never, what: string): never {
  throw new Error(`raft: unhandled ${what}: ${JSON.stringify(value)}`);
}

/**
 * Broken internal invariant. Thrown, never returned: the process must stop (fail-stop) rather
 * than continue with a state the protocol's proofs do not cover.
 */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant violated: ${message}`);
    this.name = 'RaftInvariantError';
  }
}

/** Throws {@link RaftInvariantError} unless `condition` holds. */
export function invariant(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new RaftInvariantError(message());
}

/** Bytes an entry counts for in size limits: its payload plus a fixed framing overhead. */
export function entrySize(entry: Entry): number {
  return entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** Per-entry framing overhead assumed for byte limits (index, term, type, length). */
export const ENTRY_OVERHEAD_BYTES = 24;

/** Sum of {@link entrySize} over entries. */
export function entriesSize(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += entrySize(e);
  return total;
}
