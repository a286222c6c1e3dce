/**
 * Messages between the chaos runner and its client worker processes (Node IPC). Client
 * workers are separate processes so the nemesis can pause a lock holder with SIGSTOP.
 */
import type { HistoryOp, Workload } from '../lib/chaos/types.js';

/** Runner → worker. */
export type ToWorker =
  | {
      readonly type: 'start';
      readonly worker: number;
      readonly endpoints: readonly string[];
      /** With TLS: the CA and a client certificate (PEM). */
      readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
      readonly clients: number;
      /** Per client, in order: which workload it runs. */
      readonly roles: readonly Workload[];
      readonly seed: number;
      /** The run's time zero, on the run's shared clock (`scripts/lib/chaos/shared-clock.ts`). */
      readonly t0: number;
      readonly sessionTtlMs: number;
      readonly opTimeoutMs: number;
      /** Counter keys rotate every this many ms, so each key's history stays short to check. */
      readonly keyEpochMs: number;
      readonly counterKeys: number;
      readonly locks: number;
      /** The semaphores workload: how many semaphores (`sem-K`), and the permits each has. */
      readonly semaphores: number;
      readonly semaphorePermits: number;
      /** The rwlocks workload: how many readers-writer locks (`rw-K`). */
      readonly rwlocks: number;
      /** The elections workload: how many elections (`elec-K`). */
      readonly elections: number;
      /** False with `--no-fencing`: semaphore holders and leaders write without the fence. */
      readonly fencing: boolean;
    }
  | { readonly type: 'stop' }
  | { readonly type: 'write-result'; readonly req: number; readonly accepted: boolean };

/** Worker → runner. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'op'; readonly op: Omit<HistoryOp, 'id'> }
  | { readonly type: 'write'; readonly req: number; readonly lock: string; readonly client: string; readonly token: number }
  /** A readers-writer lock holder reads or writes the runner's resource with its token (answered with `write-result`). */
  | {
      readonly type: 'rw-use';
      readonly req: number;
      readonly lock: string;
      readonly client: string;
      readonly mode: 'read' | 'write';
      readonly token: number;
    }
  /** A client holds (or no longer holds) `lock`: a lock, semaphore or readers-writer lock name, for the nemesis's client pauses. */
  | { readonly type: 'holding'; readonly lock: string; readonly client: string; readonly holding: boolean }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly message: string };
