/**
 * The membership nemesis's decisions (scripts/chaos/membership.ts), kept free of processes so that
 * they can be tested alone: which step a change still needs given the leader's configuration,
 * which kind of change comes next, and what a failed `raftlock member …` command's message means.
 */
import type { MembersView } from '../../../src/server/index.js';
import { refusalMessage } from '../../../src/server/member-routes.js';
import type { Rng } from '../rng.js';
import type { ChangeOutcome } from './types.js';

/** The kinds of change: a node added, one removed, one replaced by a newcomer. */
export type ChangeKind = 'add' | 'remove' | 'replace';

/** One step of a change, as `POST /admin/members` takes it. */
export interface ChangeStep {
  readonly action: 'add-learner' | 'promote' | 'remove';
  readonly id: number;
}

/** How a step, or an attempt, ended. */
export type ChangeResult =
  | { readonly outcome: 'committed'; readonly view: MembersView | undefined }
  | { readonly outcome: Exclude<ChangeOutcome, 'committed'>; readonly reason: string };

/** Fewest and most voters the nemesis leaves the cluster with. */
export const MIN_VOTERS = 3;
export const MAX_VOTERS = 5;
/**
 * The step a change still needs given the configuration `view`: add the newcomer as a learner,
 * promote it, then remove the node that leaves; undefined when the goal is reached.
 */
export function nextStep(goal: { readonly join?: number; readonly leave?: number }, view: MembersView): ChangeStep | undefined {
  const role = (id: number): string | undefined => view.members.find((m) => m.id === id)?.role;
  if (goal.join !== undefined) {
    const r = role(goal.join);
    if (r === undefined) return { action: 'add-learner', id: goal.join };
    if (r === 'learner') return { action: 'promote', id: goal.join };
  }
  if (goal.leave !== undefined && role(goal.leave) !== undefined) return { action: 'remove', id: goal.leave };
  return undefined;
}

/** Refusal reasons the leader gives (docs/operations.md#changing-the-members). */
const REASONS = [
  'change-pending',
  'not-ready',
  'learner-behind',
  'transfer-in-progress',
  'already-member',
  'not-a-member',
  'not-a-learner',
  'last-voter',
] as const;

/**
 * What a failed `raftlock member …` said, as an outcome: the leader's refusal reason (found by
 * the message the node words it with), `learner-behind` when the command gave up waiting for the
 * learner, `leader-unknown` when it found no leader, `unknown` when the change may still commit
 * (`UNAVAILABLE`), else `failed` with the message's last line.
 */
export function classifyCliFailure(stderr: string, ids: readonly number[]): ChangeResult {
  for (const reason of REASONS) {
    for (const id of ids) if (stderr.includes(refusalMessage(reason, id))) return { outcome: 'refused', reason };
  }
  if (/has not caught up within/.test(stderr)) return { outcome: 'refused', reason: 'learner-behind' };
  if (/no leader is known|no node answered/.test(stderr)) return { outcome: 'refused', reason: 'leader-unknown' };
  const line =
    stderr
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? '(no message)';
  if (/\bUNAVAILABLE\b/.test(stderr)) return { outcome: 'unknown', reason: line.replace(/^raftlock: /, '') };
  return { outcome: 'failed', reason: line.replace(/^raftlock: /, '') };
}

/**
 * Which change to make next given the voters (and which of them leads): among those that keep
 * the voters within 3–5 (add and replace need a spare slot), the kind committed the fewest times
 * so far, ties broken by `r`; so that even a short run makes every kind. Undefined when none fits.
 */
export function chooseKind(
  voters: number,
  spareLeft: boolean,
  committed: Readonly<Record<ChangeKind, number>>,
  r: Rng,
): ChangeKind | undefined {
  const allowed: ChangeKind[] = [];
  if (voters < MAX_VOTERS && spareLeft) allowed.push('add', 'replace');
  if (voters > MIN_VOTERS) allowed.push('remove');
  if (allowed.length === 0) return undefined;
  const fewest = Math.min(...allowed.map((k) => committed[k]));
  return r.pick(allowed.filter((k) => committed[k] === fewest));
}
