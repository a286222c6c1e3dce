/**
 * The simulator's membership churn: at random moments the leader is asked for one membership
 * change (add a learner, promote one, remove a member), drawn from the world's seeded generator
 * (docs/design.md#membership). Two spare nodes start outside the configuration, with none of
 * their own, so there is always someone to add; a removed node may be added back later, stale
 * log and all, as an operator reusing its id would.
 */
import type { ConfChange, ProposeConfChangeResult } from '../../../src/raft/index.js';
import type { SimNode } from './sim-node.js';
import type { World } from './world.js';

/** Nodes a membership run keeps outside the initial configuration. */
export const SPARE_NODES = 2;

/** What the churn did, for the run's summary and for tests that it really churned. */
export interface ChurnStats {
  proposed: number;
  accepted: number;
  /** Refusals by reason (a refused change is normal: the leader says why). */
  readonly refused: Record<string, number>;
}

export class MembershipChurn {
  readonly stats: ChurnStats = { proposed: 0, accepted: 0, refused: {} };
  private active = false;

  constructor(private readonly world: World) {}

  start(): void {
    this.active = true;
    this.scheduleNext();
  }

  stop(): void {
    this.active = false;
  }

  private scheduleNext(): void {
    const w = this.world;
    w.schedule(w.now + 10 + w.rnd.nextFloat() * 100, 'membership', () => {
      if (!this.active) return;
      this.strike();
      this.scheduleNext();
    });
  }

  private strike(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    this.propose(leader);
    // Sometimes a second change in the same instant: the leader must refuse it while the first
    // is uncommitted (the rule the concurrent-conf-changes control breaks).
    if (this.world.rnd.nextFloat() < 0.3) this.propose(leader);
  }

  /** The live leader of the highest term, if any. */
  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.world.nodes) {
      if (!n.up || n.paused) continue;
      const st = n.status();
      if (st.role === 'leader' && (best === undefined || st.term > best.status().term)) best = n;
    }
    return best;
  }

  private propose(leader: SimNode): void {
    const cc = this.pickChange(leader);
    if (cc === undefined) return;
    this.stats.proposed++;
    const r: ProposeConfChangeResult = leader.host.proposeConfChange(cc);
    if (r.type === 'accepted') this.stats.accepted++;
    else this.stats.refused[r.reason] = (this.stats.refused[r.reason] ?? 0) + 1;
  }

  /** A change that makes sense against the leader's configuration, or none. */
  private pickChange(leader: SimNode): ConfChange | undefined {
    const w = this.world;
    const { voters, learners } = leader.status().config;
    const outsiders = w.nodes.map((n) => n.id).filter((id) => !voters.includes(id) && !learners.includes(id));
    const options: ConfChange[] = [
      // With a context, as a node adds one with its address: it must travel with every later
      // configuration, snapshots included.
      ...outsiders.map((node): ConfChange => ({ type: 'add-learner', node, context: new TextEncoder().encode(`sim-node-${node}`) })),
      ...learners.map((node): ConfChange => ({ type: 'promote', node })),
      ...learners.map((node): ConfChange => ({ type: 'remove', node })),
      // Down to two voters at least, the leader included: a run keeps a quorum that can lose
      // nobody only briefly, and removing the leader is where the step-down path is.
      ...(voters.length > 2 ? voters.map((node): ConfChange => ({ type: 'remove', node })) : []),
    ];
    return options[w.rnd.nextInt(Math.max(1, options.length))];
  }
}
