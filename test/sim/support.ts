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
import { electionCounts, type ElectionCounts } from '../../scripts/lib/sim/election-clients.js';
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

/** One line of {@link ElectionCounts}. */
function describeElectionCounts(c: ElectionCounts): string {
  const o = (x: ElectionCounts['proclaims']['holder']): string => `${x.accepted}/${x.refused}/${x.expired}`;
  return (
    `elections: ${c.campaigns} campaigns (${c.waiting} could wait): leaders elected ${c.electedAtOnce} at once / ${c.electedAfterWait} after waiting, ` +
    `${c.notAcquired} not acquired (${c.withdrawn} withdrawn), ${c.unknown} unknown; leader reads ${c.readsLeader} a leader / ${c.readsNobody} nobody; ` +
    `${c.resigned} resigned, ${c.resignNotHeld} NOT_HELD; accepted/refused/SESSION_EXPIRED: ` +
    `proclaims by leaders ${o(c.proclaims.holder)}, after a stall ${o(c.proclaims.stalled)}, with old tokens ${o(c.proclaims.stale)}; ` +
    `fenced writes by leaders ${o(c.fencedWrites.holder)}, after a stall ${o(c.fencedWrites.stalled)}, with old tokens ${o(c.fencedWrites.stale)}`
  );
}

/**
 * Runs seeds [first, first + count) (or SIM_SEED alone) and asserts 0 violations, printing the
 * events, their rate, how many seeds had a liveness phase, with the locks workload how many
 * `acquire-all` commands were granted, with the permits workload what came of its semaphore and
 * readers-writer lock operations, with the elections workload what came of its campaigns,
 * proclaims, reads and fenced writes (over a whole range, each kind of grant, answer and fenced
 * write must have happened) and, with membership churn, how many changes the leaders took.
 * Returns how many changes were taken (0 without churn).
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
  let elections: ElectionCounts | undefined;
  const failures: string[] = [];
  const started = performance.now();
  for (const seed of seeds) {
    const r = runSeed({ seed, events: perSeed, nodes: nodesFor(seed), workload, membership });
    events += r.events + r.livenessEvents;
    changes += r.churn?.accepted ?? 0;
    if (workload !== 'register') allGrants += acquireAllCounts(r.history).granted;
    if (workload === 'permits') permits = addCounts(permits, permitCounts(r.history));
    if (workload === 'elections') elections = addCounts(elections, electionCounts(r.history));
    if (r.livenessEvents > 0) liveness++;
    if (r.violations.length > 0) failures.push(failureText(r, perSeed));
  }
  const secs = (performance.now() - started) / 1000;
  const churn = membership ? `, ${changes} membership changes taken` : '';
  const grants = workload !== 'register' ? `, ${allGrants} acquire-all grants` : '';
  const permitLine =
    permits !== undefined
      ? `\n  ${describePermitCounts(permits)}`
      : elections !== undefined
        ? `\n  ${describeElectionCounts(elections)}`
        : '';
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
  if (elections !== undefined && seeds.length > 1) expectElectionsReached(label, seeds.length, elections);
  return changes;
}

/** Over a range of seeds, each kind of campaign outcome, read, proclaim and fenced write must have happened. */
function expectElectionsReached(label: string, seeds: number, c: ElectionCounts): void {
  const reached = {
    electedAtOnce: c.electedAtOnce,
    electedAfterWait: c.electedAfterWait,
    notAcquired: c.notAcquired,
    withdrawn: c.withdrawn,
    readsLeader: c.readsLeader,
    readsNobody: c.readsNobody,
    resigned: c.resigned,
    leaderProclaimsAccepted: c.proclaims.holder.accepted,
    leaderWritesAccepted: c.fencedWrites.holder.accepted,
    oldTokenProclaimsRefused: c.proclaims.stale.refused,
    oldTokenWritesFenced: c.fencedWrites.stale.refused,
    stalledLeadersRefused: c.proclaims.stalled.expired + c.fencedWrites.stalled.expired,
  };
  for (const [what, n] of Object.entries(reached)) expect(n, `${label}: no ${what} in ${seeds} seeds`).toBeGreaterThan(0);
  // A write or proclaim with a token its client held before is refused, always.
  expect(c.proclaims.stale.accepted + c.fencedWrites.stale.accepted, `${label}: old tokens accepted`).toBe(0);
}
