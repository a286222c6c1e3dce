/**
 * What the simulation test files share: the seed range to run (only SIM_SEED when set, for an
 * exact replay: `SIM_SEED=123 npx vitest run test/sim`), the events per seed (SIM_EVENTS,
 * default 2,000), and the assertion that a range of seeds runs clean, with failures printed
 * with the command that replays them.
 */
import { expect } from 'vitest';
import {
  describeFailure as failureText,
  firstFailing as firstFailingOf,
  nodesFor,
  type ControlRunOptions,
} from '../../scripts/lib/sim/seeds.js';
import { acquireAllCounts, permitCounts, type PermitCounts } from '../../scripts/lib/sim/lock-clients.js';
import { runSeed, type BugName, type SimResult, type Workload } from '../../scripts/lib/sim/world.js';

export { nodesFor };

export const EVENTS = Number(process.env.SIM_EVENTS ?? 2000);

export function seedRange(first: number, count: number): number[] {
  const only = process.env.SIM_SEED;
  if (only !== undefined && only !== '') return [Number(only)];
  return Array.from({ length: count }, (_, k) => first + k);
}

export function describeFailure(r: SimResult, bug?: BugName, events = EVENTS): string {
  return failureText(r, events, bug);
}

/** Runs seeds until one reports a violation; returns it (or undefined) and how many ran. */
export function firstFailing(
  seeds: readonly number[],
  opts: Omit<ControlRunOptions, 'events'> & { readonly events?: number },
): { result: SimResult | undefined; ran: number; events: number } {
  return firstFailingOf(seeds, { ...opts, events: opts.events ?? EVENTS });
}

/** Adds up counts of many runs: every number of `b` to the same field of `a`, nested objects alike. */
function addCounts<T extends object>(a: T | undefined, b: T): T {
  if (a === undefined) return b;
  const sum: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) {
    const x: unknown = (a as Record<string, unknown>)[k];
    sum[k] = typeof v === 'number' ? (x as number) + v : addCounts(x as object, v as object);
  }
  return sum as T;
}

/** One line of {@link PermitCounts}. */
function describePermitCounts(c: PermitCounts): string {
  const fw = c.fencedWrites;
  return (
    `semaphore permits granted ${c.semaphoreGrantedAtOnce} at once / ${c.semaphoreGrantedAfterWait} after waiting (of ${c.semaphoreAcquires} acquires), ` +
    `rwlock grants ${c.readGrants} read (${c.readGrantsAfterWait} after waiting) / ${c.writeGrants} write (${c.writeGrantsAfterWait} after waiting) (of ${c.rwlockAcquires} acquires), ` +
    `${c.notAcquired} not acquired, ${c.unknown} unknown, ${c.released} released, ${c.releaseNotHeld} NOT_HELD; ` +
    `fenced writes applied/FENCED: holders ${fw.holder.applied}/${fw.holder.fenced}, readers ${fw.reader.applied}/${fw.reader.fenced}, old tokens ${fw.stale.applied}/${fw.stale.fenced}`
  );
}

/**
 * Runs seeds [first, first + count) (or SIM_SEED alone) and asserts 0 violations, printing the
 * events, their rate, how many seeds had a liveness phase, with the locks workload how many
 * `acquire-all` commands were granted, with the permits workload what came of its semaphore and
 * readers-writer lock operations (over a whole range, each kind of grant and fenced write must
 * have happened) and, with membership churn, how many changes the leaders took. Returns how many
 * changes were taken (0 without churn).
 */
export function expectSeedsClean(
  label: string,
  first: number,
  count: number,
  workload: Workload = 'register',
  perSeed = EVENTS,
  membership = false,
): number {
  const seeds = seedRange(first, count);
  let events = 0;
  let liveness = 0;
  let changes = 0;
  let allGrants = 0;
  let permits: PermitCounts | undefined;
  const failures: string[] = [];
  const started = performance.now();
  for (const seed of seeds) {
    const r = runSeed({ seed, events: perSeed, nodes: nodesFor(seed), workload, membership });
    events += r.events + r.livenessEvents;
    changes += r.churn?.accepted ?? 0;
    if (workload !== 'register') allGrants += acquireAllCounts(r.history).granted;
    if (workload === 'permits') permits = addCounts(permits, permitCounts(r.history));
    if (r.livenessEvents > 0) liveness++;
    if (r.violations.length > 0) failures.push(failureText(r, perSeed));
  }
  const secs = (performance.now() - started) / 1000;
  const churn = membership ? `, ${changes} membership changes taken` : '';
  const grants = workload !== 'register' ? `, ${allGrants} acquire-all grants` : '';
  const permitLine = permits !== undefined ? `\n  ${describePermitCounts(permits)}` : '';
  console.log(
    `${label}: ${seeds.length} seeds, ${events} events (${Math.round(events / secs)} events/s), ${liveness} seeds with a liveness phase${grants}${churn}, ${failures.length} failing${permitLine}`,
  );
  expect(failures, failures.join('\n')).toEqual([]);
  expect(events).toBeGreaterThanOrEqual(seeds.length * perSeed);
  if (permits !== undefined && seeds.length > 1) {
    // A workload that stopped reaching a case would pass vacuously.
    const fw = permits.fencedWrites;
    const reached = {
      semaphoreGrantedAtOnce: permits.semaphoreGrantedAtOnce,
      semaphoreGrantedAfterWait: permits.semaphoreGrantedAfterWait,
      readGrants: permits.readGrants,
      writeGrants: permits.writeGrants,
      grantsAfterWait: permits.readGrantsAfterWait + permits.writeGrantsAfterWait,
      notAcquired: permits.notAcquired,
      holderWritesApplied: fw.holder.applied,
      readerWritesFenced: fw.reader.fenced,
      oldTokenWritesFenced: fw.stale.fenced,
    };
    for (const [what, n] of Object.entries(reached)) expect(n, `${label}: no ${what} in ${seeds.length} seeds`).toBeGreaterThan(0);
  }
  return changes;
}
