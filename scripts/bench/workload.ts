/**
 * What a benchmark target (raftlock or etcd) provides for each workload: one operation per
 * worker call, a correctness check after the load, and a tally of retries. The definitions of
 * the workloads (docs/operations.md#benchmarks):
 *
 * - `counter-hot`: add 1 to one counter shared by all workers.
 * - `counter-distinct`: add 1 to the worker's own counter.
 * - `lock-hot`: acquire + release one lock contended by all workers (a handoff per op).
 * - `lock-distinct`: acquire + release the worker's own lock.
 * - `get`: a linearizable read of one counter.
 */

export const WORKLOADS = ['counter-hot', 'counter-distinct', 'lock-hot', 'lock-distinct', 'get'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const TARGETS = ['raftlock', 'raftlock-tls', 'etcd'] as const;
export type TargetName = (typeof TARGETS)[number];

/** The outcome of a workload's correctness check. */
export interface Check {
  readonly ok: boolean;
  /** e.g. `counter 12345 == 12345 acknowledged adds`. */
  readonly detail: string;
}

/** One workload prepared on one target for one concurrency. */
export interface WorkloadRun {
  /** One operation of worker `worker` (0-based). Throws on failure. */
  op(worker: number): Promise<void>;
  /** Checks the target's state against what the workers were told (after the load). */
  verify(): Promise<Check>;
  /** Failed attempts that were retried inside an operation (CAS conflicts, busy try-locks). */
  retries(): number;
  /** Releases what the run opened (clients, keys). */
  close(): Promise<void>;
  /** Server-side figures for the row (e.g. fsyncs/s), printed beside it on stderr. */
  notes?(): Promise<string>;
}

/** A benchmark target: a running cluster plus a client side that can run the workloads. */
export interface Target {
  readonly name: TargetName;
  /** Header lines: versions and cluster configuration. */
  describe(): string[];
  /** Prepares `workload` for `concurrency` workers under a fresh key prefix. */
  prepare(workload: WorkloadName, concurrency: number): Promise<WorkloadRun>;
  /** PIDs of the server processes (for CPU accounting). */
  serverPids(): number[];
  /** Why the cluster is broken (a server process died), if it is. */
  problem(): string | undefined;
  stop(): Promise<void>;
}

/** Mutual-exclusion and fencing bookkeeping for the lock workloads (in-process observations). */
export class LockObserver {
  private readonly holders = new Map<string, number>();
  private readonly lastToken = new Map<string, number>();
  violations = 0;
  tokenRegressions = 0;
  grants = 0;

  /** Called when a worker holds `name`; `token` is its fencing token when the system has one. */
  enter(name: string, token?: number): void {
    this.grants++;
    const h = (this.holders.get(name) ?? 0) + 1;
    this.holders.set(name, h);
    if (h > 1) this.violations++;
    if (token !== undefined) {
      const last = this.lastToken.get(name);
      if (last !== undefined && token <= last) this.tokenRegressions++;
      this.lastToken.set(name, token);
    }
  }

  leave(name: string): void {
    this.holders.set(name, (this.holders.get(name) ?? 1) - 1);
  }

  summary(): string {
    return `${this.grants} grants, ${this.violations} overlapping holders, ${this.tokenRegressions} fencing-token regressions`;
  }

  get ok(): boolean {
    return this.violations === 0 && this.tokenRegressions === 0;
  }
}

/** Bookkeeping for counter workloads: acknowledged adds, and adds whose outcome is unknown. */
export class CounterTally {
  readonly acked = new Map<string, number>();
  readonly uncertain = new Map<string, number>();

  ack(key: string): void {
    this.acked.set(key, (this.acked.get(key) ?? 0) + 1);
  }

  unknown(key: string): void {
    this.uncertain.set(key, (this.uncertain.get(key) ?? 0) + 1);
  }

  /** Compares the final values (by key) with the tally: acked ≤ value ≤ acked + uncertain. */
  check(values: ReadonlyMap<string, number>): Check {
    let acked = 0;
    let found = 0;
    let unknown = 0;
    const bad: string[] = [];
    const keys = new Set([...this.acked.keys(), ...this.uncertain.keys()]);
    for (const k of keys) {
      const a = this.acked.get(k) ?? 0;
      const u = this.uncertain.get(k) ?? 0;
      const v = values.get(k) ?? 0;
      acked += a;
      unknown += u;
      found += v;
      if (v < a || v > a + u) bad.push(`${k}: value ${v}, acknowledged ${a}${u > 0 ? ` (+${u} unknown)` : ''}`);
    }
    const detail = `counter sum ${found} ${bad.length === 0 ? '==' : '!='} ${acked} acknowledged adds${unknown > 0 ? ` (+ up to ${unknown} with unknown outcome)` : ''} over ${keys.size} key(s)`;
    return { ok: bad.length === 0 && keys.size > 0, detail: bad.length === 0 ? detail : `${detail}; ${bad.slice(0, 3).join('; ')}` };
  }
}
