/**
 * Shared driver for the simulation test files: runs a range of seeds, or only SIM_SEED when
 * set (exact replay: `SIM_SEED=123 npx vitest run test/sim`), and formats failures with the
 * command that replays them.
 */
import { expect } from 'vitest';
import { runSeed, type BugName, type SimResult, type Workload } from './world.js';

export const EVENTS = Number(process.env.SIM_EVENTS ?? 2000);

/** 3 nodes for seeds ≡ 0,1 (mod 4), 5 nodes otherwise: both sizes in every range. */
export function nodesFor(seed: number): 3 | 5 {
  return seed % 4 < 2 ? 3 : 5;
}

export function seedRange(first: number, count: number): number[] {
  const only = process.env.SIM_SEED;
  if (only !== undefined && only !== '') return [Number(only)];
  return Array.from({ length: count }, (_, k) => first + k);
}

export function describeFailure(r: SimResult, bug?: BugName, events = EVENTS): string {
  const workload = r.workload === 'locks' ? ' --workload locks' : '';
  const replay = `npm run sim -- --seed ${r.seed} --nodes ${r.nodes} --events ${events}${workload}${bug !== undefined ? ` --bug ${bug}` : ''}`;
  return `seed ${r.seed} (${r.nodes} nodes) failed; replay with: ${replay}  (or SIM_SEED=${r.seed} npx vitest run test/sim)\n  ${r.violations.slice(0, 5).join('\n  ')}`;
}

/** Runs seeds until one reports a violation; returns it (or undefined) and how many ran. */
export function firstFailing(
  seeds: readonly number[],
  opts: { bug: BugName; checkDurableClaims?: boolean; workload?: Workload; events?: number },
): { result: SimResult | undefined; ran: number; events: number } {
  let events = 0;
  for (const [k, seed] of seeds.entries()) {
    const r = runSeed({ ...opts, seed, events: opts.events ?? EVENTS, nodes: nodesFor(seed) });
    events += r.events + r.livenessEvents;
    if (r.violations.length > 0) return { result: r, ran: k + 1, events };
  }
  return { result: undefined, ran: seeds.length, events };
}

/**
 * Runs seeds [first, first + count) (or SIM_SEED alone) and asserts 0 violations, printing the
 * events, their rate and how many seeds had a liveness phase.
 */
export function expectSeedsClean(label: string, first: number, count: number, workload: Workload = 'register', perSeed = EVENTS): void {
  const seeds = seedRange(first, count);
  let events = 0;
  let liveness = 0;
  const failures: string[] = [];
  const started = performance.now();
  for (const seed of seeds) {
    const r = runSeed({ seed, events: perSeed, nodes: nodesFor(seed), workload });
    events += r.events + r.livenessEvents;
    if (r.livenessEvents > 0) liveness++;
    if (r.violations.length > 0) failures.push(describeFailure(r, undefined, perSeed));
  }
  const secs = (performance.now() - started) / 1000;
  console.log(`${label}: ${seeds.length} seeds, ${events} events (${Math.round(events / secs)} events/s), ${liveness} seeds with a liveness phase, ${failures.length} failing`);
  expect(failures, failures.join('\n')).toEqual([]);
  expect(events).toBeGreaterThanOrEqual(seeds.length * perSeed);
}
