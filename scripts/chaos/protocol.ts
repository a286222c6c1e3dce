/**
 * Messages between the chaos runner and its client worker processes (Node IPC). Client
 * workers are separate processes so the nemesis can pause a lock holder with SIGSTOP.
 */
import type { HistoryOp } from '../lib/chaos/types.js';

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
      readonly roles: readonly ('counters' | 'locks')[];
      readonly seed: number;
      /** The run's time zero, on the run's shared clock (`scripts/lib/chaos/shared-clock.ts`). */
      readonly t0: number;
      readonly sessionTtlMs: number;
      readonly opTimeoutMs: number;
      /** Counter keys rotate every this many ms, so each key's history stays short to check. */
      readonly keyEpochMs: number;
      readonly counterKeys: number;
      readonly locks: number;
    }
  | { readonly type: 'stop' }
  | { readonly type: 'write-result'; readonly req: number; readonly accepted: boolean };

/** Worker → runner. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'op'; readonly op: Omit<HistoryOp, 'id'> }
  | { readonly type: 'write'; readonly req: number; readonly lock: string; readonly client: string; readonly token: number }
  | { readonly type: 'holding'; readonly lock: string; readonly client: string; readonly holding: boolean }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly message: string };
