/**
 * What the host replicates: a deterministic state machine fed committed entries in log order.
 * Every replica applying the same entries must reach the same state, byte for byte, so it never
 * reads a clock: time comes from the entries, the same on every replica.
 */
import type { Entry } from './types.js';

/** Facts about the entry being applied, beyond its bytes. */
export interface ApplyContext {
  readonly index: number;
  readonly term: number;
}

export interface StateMachine<Result = unknown> {
  /**
   * Applies one committed entry and returns the result to hand the proposer (if it is waiting
   * on this node). Called for `noop` entries too (result ignored), so the machine may observe
   * leader changes. Must not throw for bad data in the entry: return an error result instead
   * (the entry is committed; every replica must reach the same outcome).
   */
  apply(entry: Entry, context: ApplyContext): Result;
  /** Serializes the whole state as of the last applied entry. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void;
}
