/**
 * Running the simulator over seeds: the cluster size of a seed, the command that replays a
 * failure, and the first failing seed of a range.
 */
import { churnsMembership, runSeed, type BugName, type SimOptions, type SimResult, type Workload } from './world.js';

/** 3 nodes for seeds ≡ 0,1 (mod 4), 5 nodes otherwise: both sizes in every range. */
export function nodesFor(seed: number): 3 | 5 {
  return seed % 4 < 2 ? 3 : 5;
}

/** The `npm run sim` command that replays one seed exactly. */
export function replayCommand(seed: number, nodes: number, events: number, workload: Workload, bug?: BugName, membership = false): string {
  const churn = membership && !churnsMembership(bug !== undefined ? { bug } : {}) ? ' --membership' : '';
  return `npm run sim -- --seed ${seed} --nodes ${nodes} --events ${events}${workload !== 'register' ? ` --workload ${workload}` : ''}${churn}${bug !== undefined ? ` --bug ${bug}` : ''}`;
}

/** A failed run: its first violations and the commands that replay it. */
export function describeFailure(r: SimResult, events: number, bug?: BugName): string {
  return `seed ${r.seed} (${r.nodes} nodes) failed; replay with: ${replayCommand(r.seed, r.nodes, events, r.workload, bug, r.membership)}  (or SIM_SEED=${r.seed} npx vitest run test/sim)\n  ${r.violations.slice(0, 5).join('\n  ')}`;
}

/** How the runs of a negative control are made: its bug, and what else differs from a plain run. */
export type ControlRunOptions = { readonly bug: BugName; readonly events: number } & Pick<
  SimOptions,
  'checkDurableClaims' | 'checkOneChangeAtATime' | 'workload' | 'membership'
>;

/** Runs seeds until one reports a violation; returns it (or undefined), how many ran and their events. */
export function firstFailing(
  seeds: readonly number[],
  opts: ControlRunOptions,
): { result: SimResult | undefined; ran: number; events: number } {
  let events = 0;
  for (const [k, seed] of seeds.entries()) {
    const r = runSeed({ ...opts, seed, nodes: nodesFor(seed) });
    events += r.events + r.livenessEvents;
    if (r.violations.length > 0) return { result: r, ran: k + 1, events };
  }
  return { result: undefined, ran: seeds.length, events };
}
