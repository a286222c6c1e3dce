/**
 * Cheap assertions for the hot paths of the property tests. Vitest's `expect` is convenient but
 * costs tens of microseconds a call, which dominates a property that checks every index after
 * every step; these throw plain Errors with the same information and let fast-check shrink.
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import type fc from 'fast-check';
import { RaftInvariantError } from '../../src/raft/types.js';

const show = (v: unknown): string => inspect(v, { depth: 6, breakLength: Infinity });

/** Deep strict equality, or throw naming `what`. */
export function same<T>(actual: T, expected: T, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) throw new Error(`${what}: got ${show(actual)}, want ${show(expected)}`);
}

/** Throw `what()` unless `cond`. */
export function holds(cond: boolean, what: () => string): void {
  if (!cond) throw new Error(what());
}

/** `f` must throw a RaftInvariantError (a contract violation the code detects). */
export function throwsInvariant(f: () => unknown, what: string): void {
  try {
    f();
  } catch (e) {
    if (e instanceof RaftInvariantError) return;
    throw new Error(`${what}: expected RaftInvariantError, got ${show(e)}`);
  }
  throw new Error(`${what}: expected RaftInvariantError, nothing thrown`);
}

/**
 * Negative controls: `out` (from fc.check on a deliberately broken implementation) must report a
 * counterexample, and for the right reason: not a bug in the test's own generators, and
 * matching `reason` when given.
 */
export function expectCaught<T>(out: fc.RunDetails<T>, reason?: RegExp): void {
  if (!out.failed) throw new Error(`negative control: no counterexample in ${out.numRuns} runs; the property cannot fail`);
  const message = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
  if (/test bug/.test(message)) throw new Error(`negative control failed for the wrong reason: ${message}`);
  if (reason !== undefined && !reason.test(message)) throw new Error(`negative control failed for another reason: ${message}`);
}
