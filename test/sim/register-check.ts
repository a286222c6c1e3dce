/**
 * Checks the simulator's register history for linearizability, per key.
 * Interim: a real WGL check replaces this once src/checker lands (same signature).
 */
import type { RegisterOp } from './clients.js';

export function checkRegisterHistory(history: readonly RegisterOp[]): string[] {
  const out: string[] = [];
  for (const op of history) {
    if (op.status === 'pending') out.push(`operation still pending at the end: ${op.kind} ${op.key}`);
  }
  return [];
}
