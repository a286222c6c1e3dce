/** The records of a chaos run (history, nemesis events, resource writes, summary), as written to its JSON files and read by the report. */
/**
 * The records of a chaos run (`npm run chaos`): what `history.json`, `nemesis.json`
 * and `summary.json` hold, and what the report is drawn from. Times are milliseconds since the
 * run started, on one clock shared by every process of the run (`shared-clock.ts`), so
 * operations of different client processes and fault windows can be compared.
 */

/** A counter operation's input (matches the checker's counter model). */
export type CounterInput =
  | { readonly op: 'add'; readonly delta: number }
  | { readonly op: 'set'; readonly value: number }
  | { readonly op: 'cas'; readonly expected: number; readonly next: number }
  | { readonly op: 'get' };

/** A lock operation's input: `acquire` (FIFO wait up to `waitMs`) or `release` of a grant. */
export type LockInput = { readonly op: 'acquire'; readonly waitMs: number } | { readonly op: 'release'; readonly token: number };

/** The workloads a run's clients can run (`--workload`). */
export const WORKLOADS = ['counters', 'locks', 'semaphores', 'rwlocks', 'elections'] as const;
export type Workload = (typeof WORKLOADS)[number];

/**
 * A semaphore or readers-writer lock operation's input. Every operation of one grant carries
 * `grant`, a number unique per client: the checker's holder is `<client>#<grant>` (one grant
 * per holder, whatever sessions the client went through).
 * - `acquire`: a semaphore's `weight` of its `permits`, or a readers-writer lock's `mode`,
 *   waiting up to `waitMs`; answered `{ acquired: true, token }` or `{ acquired: false }`.
 * - `write` (semaphores): a counter write under the grant, fenced with `permit.fence` when
 *   `fenced`; answered `'applied'` or `'FENCED'`. Unfenced (`--no-fencing`) it is recorded as
 *   if it had been fenced: the check must then find the writes of holders that had lost their
 *   permits.
 * - `release`: of the grant with `token`; `'ok'` or `'NOT_HELD'`.
 * - Elections (a one-permit resource: the grant is a leadership) use `acquire` with `value` (a
 *   campaign: the value is `<client>#<grant>`, so a leader read names its holder), `proclaim`
 *   (a new value `<client>#<grant>/p<k>`, `'ok'` or `'NOT_HELD'`), `read` (who leads:
 *   `{ token, value }` or null), `write` (fenced with the leadership's fence) and `release`
 *   (resign).
 * - `end-session`: not a call but what the client saw of its grant's session: `ok` with a return
 *   when it learned the session had ended (between the acquire's call and that return), unknown
 *   (no return) when the grant ended without a release answered `'ok'` and the client never
 *   learned when the session ended. So a lease that ran out silently frees the grant in the
 *   model, somewhere after the acquire.
 */
export type PermitInput =
  | {
      readonly op: 'acquire';
      readonly grant: number;
      readonly waitMs: number;
      readonly weight?: number;
      readonly permits?: number;
      readonly mode?: 'read' | 'write';
      readonly value?: string;
    }
  | { readonly op: 'proclaim'; readonly grant: number; readonly token: number; readonly value: string }
  | { readonly op: 'read'; readonly grant: number }
  | { readonly op: 'write'; readonly grant: number; readonly token: number; readonly fenced: boolean }
  | { readonly op: 'release'; readonly grant: number; readonly token: number }
  | { readonly op: 'end-session'; readonly grant: number; readonly session: number | null };

/**
 * One operation as the client saw it: invoked at `call`, then `ok` (with `output`), `fail`
 * (definitely not applied) or `unknown` (may or may not have been applied; `return` is when
 * the client gave up, or null if it never came back).
 */
export interface HistoryOp {
  readonly id: number;
  /** `w<worker>c<k>`: worker process and client within it. */
  readonly client: string;
  readonly worker: number;
  readonly kind: 'counter' | 'lock' | 'semaphore' | 'rwlock' | 'election';
  /** Counter, lock, semaphore or readers-writer lock name. */
  readonly key: string;
  readonly input: CounterInput | LockInput | PermitInput;
  /**
   * Counter: number | boolean. Acquire: `{ acquired: true, token }` or `{ acquired: false }`. Release: `'ok'` or `'NOT_HELD'`.
   * Semaphore write: `'applied'` or `'FENCED'`. End-session: `'ok'`.
   */
  readonly output?: unknown;
  readonly status: 'ok' | 'fail' | 'unknown';
  readonly call: number;
  readonly return: number | null;
  /** The error code for `fail` / `unknown` (e.g. `UNAVAILABLE`, `LOCK_TIMEOUT`). */
  readonly error?: string;
}

/**
 * Whether `op` is a grant's `end-session`: what a client saw of a session, not a call it made.
 * Throughput, latency and the availability checks leave these out.
 */
export function isEndSession(op: HistoryOp): boolean {
  return op.input.op === 'end-session';
}

/** Kinds of fault the nemesis injects; `member-*` are membership changes (one attempt each). */
export type FaultKind = 'kill' | 'pause' | 'partition' | 'clock' | 'pause-client' | 'member-add' | 'member-remove' | 'member-replace';

/**
 * How a membership change attempt ended: `committed` (the change, or the part of it still to
 * do, is in the committed configuration), `refused` (the cluster said no, with a reason:
 * `change-pending`, `not-ready`, `learner-behind`, `leader-unknown`…; nothing changed),
 * `unknown` (it may still commit: leadership changed, a timeout, or cut short at the run's end),
 * `failed` (anything else, e.g. an unexpected answer). All but `committed` are retried later.
 */
export type ChangeOutcome = 'committed' | 'refused' | 'unknown' | 'failed';

/** One fault: when it began and when it was healed (null: still active at the end, healed then). */
export interface NemesisEvent {
  readonly id: number;
  readonly kind: FaultKind;
  /** e.g. `kill leader (node 2)`, `partition majority/minority {1,2} | {3}`, `pause client worker 3 (holds lock-a)`. */
  readonly description: string;
  /** Node ids affected (empty for client pauses). */
  readonly nodes: readonly number[];
  readonly start: number;
  readonly end: number | null;
  /** Membership changes only: how the attempt ended. */
  readonly outcome?: ChangeOutcome;
  /** Membership changes only: the refusal reason, or what made the outcome unknown or failed. */
  readonly reason?: string;
  /**
   * Client processes (worker numbers) the fault stopped or cut off from the nodes, when the
   * nemesis says so; a `pause-client` fault without it names its process in `description`.
   * The availability checks do not hold those clients to the no-progress bar during the window.
   */
  readonly workers?: readonly number[];
}

/** What the membership nemesis did (`summary.json`, runs with `membership` only). */
export interface MembershipSummary {
  /** The voters the run started with, and the members (voters and learners) it ended with. */
  readonly initial: readonly number[];
  readonly final: readonly number[];
  /** Nodes whose removal committed (removed or replaced), in order. */
  readonly removed: readonly number[];
  /** Changes that committed, by kind. */
  readonly committed: { readonly add: number; readonly remove: number; readonly replace: number };
  /** Attempts that did not commit, by outcome and reason (e.g. `refused: change-pending`). */
  readonly notCommitted: Readonly<Record<string, number>>;
}

/** One write the fenced resource saw: accepted or rejected as stale. */
export interface ResourceWrite {
  readonly time: number;
  readonly lock: string;
  readonly client: string;
  readonly token: number;
  readonly accepted: boolean;
  /** The highest token the resource had accepted for this lock before this write. */
  readonly highest: number;
}

/**
 * One use of the readers-writer locks' resource (`rw-resource.json`): a read or a write by a
 * holder with its grant's token, accepted or refused by the rule of
 * docs/design.md#semaphores-and-readers-writer-locks (a write only if its token is at least every
 * token seen, a read only if above every write's).
 */
export interface RwResourceUse {
  readonly time: number;
  readonly lock: string;
  readonly client: string;
  readonly mode: 'read' | 'write';
  readonly token: number;
  readonly accepted: boolean;
  /** Before this use: the highest token a write came with (W), and that anything came with (T). */
  readonly highestWrite: number;
  readonly highest: number;
}

/** Something the checks found wrong, with the operations involved (ids in history.json). */
export interface Anomaly {
  readonly kind:
    | 'not-linearizable'
    | 'stale-write'
    /** The readers-writer locks' resource accepted a read below a write's token. */
    | 'stale-read'
    | 'replicas-diverged'
    | 'no-leader-after-heal'
    | 'clients-stuck'
    | 'inconclusive'
    /** A member back in the cluster later than the bar after the final heal. */
    | 'slow-rejoin'
    /** A client that could reach a leader went longer than the bar without a successful operation. */
    | 'client-no-progress';
  readonly message: string;
  /** Counter, lock, semaphore or readers-writer lock name, when the anomaly is about one. */
  readonly key?: string;
  /** The workload whose check found it, when one did (absent: the cluster's or the run's checks). */
  readonly workload?: Workload;
  readonly ops: readonly number[];
}

/** `summary.json`'s figures of the semaphores workload. */
export interface SemaphoreFigures {
  readonly semaphores: number;
  readonly permits: number;
  /** Acquires: granted, not acquired (timed out), failed or of unknown outcome. */
  readonly acquires: { readonly granted: number; readonly notAcquired: number; readonly failed: number; readonly unknown: number };
  /** Counter writes under a permit: `applied`, `FENCED`, failed (e.g. SESSION_EXPIRED), unknown; `fenced` false with --no-fencing. */
  readonly writes: {
    readonly fenced: boolean;
    readonly applied: number;
    readonly refused: number;
    readonly failed: number;
    readonly unknown: number;
  };
  /** Grants whose session the holder saw end (`observed`), or that ended some unknown time after the acquire. */
  readonly sessionEnds: { readonly observed: number; readonly unknown: number };
}

/** `summary.json`'s figures of the elections workload. */
export interface ElectionFigures {
  readonly elections: number;
  /** Campaigns: elected, not elected in their wait, failed or of unknown outcome. */
  readonly acquires: { readonly granted: number; readonly notAcquired: number; readonly failed: number; readonly unknown: number };
  /** Proclaims answered `ok` / `NOT_HELD`; leader reads answered; fenced writes `applied` / `FENCED`. */
  readonly proclaims: { readonly ok: number; readonly refused: number };
  readonly reads: number;
  readonly writes: { readonly fenced: boolean; readonly applied: number; readonly refused: number };
  readonly sessionEnds: { readonly observed: number; readonly unknown: number };
}

/** `summary.json`'s figures of the rwlocks workload. */
export interface RwLockFigures {
  readonly locks: number;
  readonly acquires: {
    readonly read: number;
    readonly write: number;
    readonly granted: number;
    readonly notAcquired: number;
    readonly failed: number;
    readonly unknown: number;
  };
  /** The resource's reads and writes, accepted or refused as stale. */
  readonly resource: {
    readonly readsAccepted: number;
    readonly readsRejected: number;
    readonly writesAccepted: number;
    readonly writesRejected: number;
  };
  readonly sessionEnds: { readonly observed: number; readonly unknown: number };
}

/** Throughput and latency in one time bucket (for the report's plots). */
export interface Bucket {
  readonly start: number;
  readonly ok: number;
  readonly fail: number;
  readonly unknown: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** `summary.json`: the verdict and the run's figures. */
export interface Summary {
  readonly verdict: 'pass' | 'fail';
  readonly seed: number;
  readonly nodes: number;
  readonly clients: number;
  readonly workloads: readonly string[];
  readonly nemeses: readonly string[];
  readonly fencing: boolean;
  readonly durationMs: number;
  readonly ops: { readonly total: number; readonly ok: number; readonly fail: number; readonly unknown: number; readonly checked: number };
  readonly faults: number;
  readonly anomalies: readonly Anomaly[];
  /** The lock workload's fenced resource. */
  readonly resource: { readonly accepted: number; readonly rejected: number };
  /** Per workload of the run: `fail` when one of its checks found an anomaly (absent in older records). */
  readonly workloadVerdicts?: Readonly<Partial<Record<Workload, 'pass' | 'fail'>>>;
  /** Runs with the semaphores workload. */
  readonly semaphores?: SemaphoreFigures;
  /** Runs with the rwlocks workload. */
  readonly rwlocks?: RwLockFigures;
  /** Runs with the elections workload. */
  readonly elections?: ElectionFigures;
  /** Milliseconds from the last heal until every node agreed on a leader (null: never). */
  readonly leaderAfterHealMs: number | null;
  /** Every replica's state hash after the heal, by node id: the final members'. */
  readonly stateHashes: Readonly<Record<string, string>>;
  readonly hashesEqual: boolean;
  /** Runs with the `membership` nemesis: the changes and the members at the end. */
  readonly membership?: MembershipSummary;
  readonly buckets: readonly Bucket[];
  readonly startedAt: string;
  /** The availability figures (absent in records of runs made before they existed). */
  readonly availability?: AvailabilitySummary;
}

/**
 * One round of the runner's leadership polling (`GET /healthz` of every member): each member's
 * view, or null when it did not answer (killed, stopped, unreachable).
 */
export interface LeaderSample {
  readonly time: number;
  readonly members: readonly number[];
  readonly views: Readonly<Record<string, { readonly role: string; readonly term: number; readonly leader: number } | null>>;
}

/** One round of `GET /status` of every member after the final heal (those that answered). */
export interface RejoinSample {
  readonly time: number;
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly role: string;
    readonly term: number;
    readonly leader: number;
    readonly commit: number;
    readonly applied: number;
  }>;
}

/** The availability figures of one fault window. */
export interface FaultAvailability {
  readonly id: number;
  readonly kind: FaultKind;
  readonly start: number;
  readonly end: number;
  /** From the start to the leader the cluster settled on for the rest of the window (0: one held throughout; null: none). */
  readonly leaderFromStartMs: number | null;
  /** From the heal to a leader agreed by a majority (null: none before the next fault or the end). */
  readonly leaderAfterHealMs: number | null;
  /** The next fault began before a leader came after this heal. */
  readonly cutShort: boolean;
  /**
   * From the heal until every member answered `/healthz` naming that leader at its term (null:
   * not before the next fault or the end). The final heal's stricter figure, which also waits
   * for each node to catch up, is {@link AvailabilitySummary.rejoinMs}.
   */
  readonly rejoinAfterHealMs: number | null;
  /** The longest no-progress stretch of any client that overlaps the window or the bar's time after its heal. */
  readonly worstGapMs: number;
  readonly worstGapClient: string | null;
}

/** `summary.json`'s `availability`: the figures the availability verdict is drawn from. */
export interface AvailabilitySummary {
  readonly bars: { readonly leaderAfterHealMs: number; readonly rejoinMs: number; readonly noProgressMs: number };
  /** How many leadership polling rounds the run took. */
  readonly leaderSamples: number;
  /** The longest no-progress stretch of any client while it could reach a leader. */
  readonly worstGapMs: number;
  /** Per client: its longest such stretch. */
  readonly clientGaps: Readonly<Record<string, number>>;
  readonly faults: readonly FaultAvailability[];
  /** Per final member: milliseconds from the final heal until it was back in the cluster (null: not seen). */
  readonly rejoinMs: Readonly<Record<string, number | null>>;
  /** The slowest of those (null if one was never seen back). */
  readonly healToRejoinMs: number | null;
  /** Per fault kind: count, worst no-progress gap, slowest leader and slowest rejoin after a heal. */
  readonly byKind: Readonly<
    Record<
      string,
      {
        readonly faults: number;
        readonly worstGapMs: number;
        readonly worstLeaderAfterHealMs: number | null;
        readonly worstRejoinAfterHealMs: number | null;
      }
    >
  >;
}

/** What a run's `summary.json` adds to {@link Summary}: how it ran. */
export interface RunConditions {
  readonly network: 'proxy' | 'netns';
  /** The busy processes that loaded the machine (`--cpu-hog`), by PID. */
  readonly cpuHog: { readonly processes: number; readonly pids: readonly number[] };
  /** False when the nodes ran without peer-link liveness (the negative control). */
  readonly linkLiveness: boolean;
  /** Whether the nodes ran with TLS (`--tls`). */
  readonly tls: boolean;
}
