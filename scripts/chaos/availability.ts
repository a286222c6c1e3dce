/**
 * The runner's side of the availability checks (docs/operations.md#chaos-runs): it samples
 * every member's view of the leader during the run and polls every member's `/status` after
 * the final heal. What the samples mean and how they are judged is in
 * scripts/lib/chaos/availability.ts.
 */
import { rejoinTimes } from '../lib/chaos/availability.js';
import type { LeaderSample, RejoinSample } from '../lib/chaos/types.js';

export { availabilityBars, checkAvailability } from '../lib/chaos/availability.js';

/** What the samplers poll (ProcessCluster's `ids`, `health` and `statuses`). */
export interface SampledCluster {
  readonly ids: readonly number[];
  health(id: number): Promise<{ role: string; term: number; leader: number } | undefined>;
  statuses(ids?: readonly number[]): Promise<
    ReadonlyArray<{
      id: number;
      role: string;
      term: number;
      leader: number;
      commit: number;
      applied: number;
    }>
  >;
}

/**
 * Polls every member's `/healthz` every `everyMs` (never two rounds at once, so a slow round
 * stretches the interval instead of piling up) until {@link LeaderSampler.stop}.
 */
export class LeaderSampler {
  readonly samples: LeaderSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly cluster: SampledCluster,
    private readonly clock: () => number,
    private readonly everyMs = 100,
  ) {}

  start(): void {
    // Unref: a run that fails before stop() must still let the process exit.
    this.timer = setInterval(() => void this.round(), this.everyMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const members = [...this.cluster.ids];
      const time = this.clock();
      const hs = await Promise.all(members.map((id) => this.cluster.health(id)));
      const views: Record<string, LeaderSample['views'][string]> = {};
      members.forEach((id, k) => {
        const h = hs[k];
        views[String(id)] = h === undefined ? null : { role: h.role, term: h.term, leader: h.leader };
      });
      this.samples.push({ time, members, views });
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * After the final heal: polls every member's `/status` every `everyMs` until each is back in the
 * cluster (as {@link rejoinTimes} defines it) or `timeoutMs` passed; returns the samples.
 */
export async function sampleRejoin(
  cluster: SampledCluster,
  clock: () => number,
  healedAt: number,
  timeoutMs: number,
  everyMs = 100,
): Promise<RejoinSample[]> {
  const samples: RejoinSample[] = [];
  const deadline = clock() + timeoutMs;
  while (clock() < deadline) {
    const time = clock();
    const nodes = (await cluster.statuses(cluster.ids)).map((s) => ({
      id: s.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      commit: s.commit,
      applied: s.applied,
    }));
    samples.push({ time, nodes });
    const times = rejoinTimes(samples, cluster.ids, healedAt);
    if (Object.values(times).every((t) => t !== null)) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return samples;
}
