/**
 * raftlock's linearizability checker (WGL search with memoization, in the style of Porcupine).
 *
 * ```ts
 * import { check, counterModel } from './src/checker/index.js';
 * const verdict = check(counterModel, history, { timeoutMs: 60_000 });
 * if (verdict.result !== 'ok') throw new Error(verdict.anomaly?.explanation ?? verdict.result);
 * ```
 *
 * Only `'ok'` is a pass: `'inconclusive'` (time budget exhausted) must fail a test or a chaos run
 * just like `'illegal'`, or a slow check would hide any bug.
 */
import { type EventConversionOptions, type HistoryEvent, eventsToOperations } from './history.js';
import type { Model } from './model.js';
import { type CheckOptions, type CheckResult, check } from './wgl.js';

export {
  type ClientId,
  type EventConversionOptions,
  type FailEvent,
  type HistoryEvent,
  type InfoEvent,
  type InvokeEvent,
  type OkEvent,
  type Operation,
  type OperationId,
  type OperationStatus,
  HistoryError,
  effectiveReturn,
  eventsToOperations,
  operationsToEvents,
  precedes,
  validateOperations,
} from './history.js';
export {
  type Model,
  type Partition,
  type StepResult,
  DEFAULT_KEY,
  formatOperation,
  partitionByKey,
  show,
  singlePartition,
} from './model.js';
export { type Anomaly, type CheckOptions, type CheckResult, type PartitionResult, type Verdict, check } from './wgl.js';
export { type BruteForceOptions, type BruteForceResult, bruteForceCheck, verifyLinearization } from './brute-force.js';
export {
  type RegisterInput,
  type RegisterModelOptions,
  type RegisterOperation,
  type RegisterOutput,
  type RegisterValue,
  createRegisterModel,
  registerModel,
} from './models/register.js';
export { type CounterInput, type CounterOperation, type CounterOutput, counterModel } from './models/counter.js';
export {
  type AcquireOutput,
  type MutexInput,
  type MutexOperation,
  type MutexOutput,
  type MutexState,
  type ReleaseOutput,
  mutexModel,
} from './models/mutex.js';
export { leaseMutexModel } from './models/lease-mutex.js';
export {
  type FencedWriteOutput,
  type SemaphoreHolder,
  type SemaphoreInput,
  type SemaphoreOperation,
  type SemaphoreOutput,
  type SemaphoreState,
  type TokenBounds,
  semaphoreModel,
} from './models/semaphore.js';
export {
  type RwLockHolder,
  type RwLockInput,
  type RwLockMode,
  type RwLockOperation,
  type RwLockOutput,
  type RwLockState,
  rwlockModel,
} from './models/rwlock.js';
export {
  type ElectionInput,
  type ElectionLeader,
  type ElectionLeaderState,
  type ElectionOperation,
  type ElectionOutput,
  type ElectionState,
  electionModel,
} from './models/election.js';

/**
 * {@link check} on a history in event form: converts with {@link eventsToOperations} (same
 * contract and errors), then checks. Callers must treat `'inconclusive'` as failure.
 */
export function checkEvents<State, Input, Output>(
  model: Model<State, Input, Output>,
  events: readonly HistoryEvent<Input, Output>[],
  options: CheckOptions & EventConversionOptions = {},
): CheckResult<Input, Output> {
  const conversion = options.timestamps === undefined ? {} : { timestamps: options.timestamps };
  return check(model, eventsToOperations(events, conversion), options);
}
