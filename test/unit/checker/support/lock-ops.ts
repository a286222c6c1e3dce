/**
 * Inputs and outputs for the semaphore and readers-writer lock models' hand-written histories
 * (use with `builder` from ops.ts).
 */
import type { RwLockInput, RwLockOutput, SemaphoreInput, SemaphoreOutput } from '../../../../src/checker/index.js';

/** Semaphore inputs for a semaphore of `permits` permits, and its outputs. */
export function semaphoreOps(permits: number) {
  return {
    acquire: (client: string, weight: number): SemaphoreInput => ({ op: 'acquire', client, weight, permits }),
    release: (client: string, token: number): SemaphoreInput => ({ op: 'release', client, token }),
    endSession: (client: string): SemaphoreInput => ({ op: 'end-session', client }),
    fencedWrite: (client: string, token: number): SemaphoreInput => ({ op: 'fenced-write', client, token }),
    granted: (token: number): SemaphoreOutput => ({ acquired: true, token }),
    refused: { acquired: false } as SemaphoreOutput,
  };
}

/** Readers-writer lock inputs and outputs. */
export const rwlockOps = {
  read: (client: string): RwLockInput => ({ op: 'acquire', client, mode: 'read' }),
  write: (client: string): RwLockInput => ({ op: 'acquire', client, mode: 'write' }),
  release: (client: string, token: number): RwLockInput => ({ op: 'release', client, token }),
  endSession: (client: string): RwLockInput => ({ op: 'end-session', client }),
  fencedWrite: (client: string, token: number): RwLockInput => ({ op: 'fenced-write', client, token }),
  granted: (token: number): RwLockOutput => ({ acquired: true, token }),
  refused: { acquired: false } as RwLockOutput,
};
