/**
 * What `GET /status` answers (JSON): one node's view of itself and of the cluster. The CLI's
 * `status` command and operators' scripts read it; see docs/operations.md#http-endpoints.
 */

/**
 * The `leader` of a status or error when no leader is known. Equal to the core's `NONE`
 * (a test holds the two together); the protocol has its own so the SDK and CLI need no core.
 */
export const NO_LEADER = 0;

/** The body of `GET /status`. A `leader` of {@link NO_LEADER} means no leader is known. */
export interface NodeStatus {
  readonly id: number;
  readonly clusterId: string;
  readonly address: string;
  readonly pid: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
  readonly leaderAddress: string | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** Hash of the replicated state's canonical snapshot: equal on replicas at equal `applied`. */
  readonly digest: string;
  /** Process memory (bytes), for operators and the fuzz tests' "memory flat" check. */
  readonly memory: { readonly rss: number; readonly heapUsed: number };
  readonly peers: ReadonlyArray<{ id: number; address: string; match: number; next: number; state: string; active: boolean }>;
  /** The configuration in force here (the latest in this node's log), voters first. */
  readonly members: ReadonlyArray<{ readonly id: number; readonly address: string | null; readonly role: 'voter' | 'learner' }>;
  /** The index of the entry (or snapshot) that set it, and whether that entry is uncommitted. */
  readonly configIndex: number;
  readonly changePending: boolean;
}
