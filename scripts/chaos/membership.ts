/**
 * The `membership` nemesis of a chaos run (docs/operations.md#chaos-runs): while the other faults
 * come and go, it grows, shrinks and repairs the cluster with the commands an operator runs
 * (docs/operations.md#changing-the-members), one change at a time:
 *
 * - **add**: a node starts in a spare slot with an empty data directory and `--join`, then
 *   `raftlock member add` (learner, catch up, promote), or the same steps over
 *   `POST /admin/members`;
 * - **remove**: a voter leaves, the leader sometimes (`raftlock member remove` or the route);
 *   its process is stopped once the removal has committed;
 * - **replace**: a voter is SIGKILLed as a failed machine, a successor with a new id and an empty
 *   data directory starts with `--join`, then `raftlock member replace OLD --address A --new-id N`.
 *
 * Voters stay between 3 and 5: an add or a replace only from 4 voters or fewer (a replace adds
 * before it removes), a remove only from 4 or more. Each attempt is a fault window in
 * `nemesis.json` with its outcome. One the cluster refuses (`change-pending`, `not-ready`,
 * `learner-behind`, `leader-unknown`…) or whose outcome is unknown (leadership changed before the
 * commit) is no error of the run: it is recorded with its reason and the change is retried
 * later from where it got to, as the configuration shows (add the learner, promote it, remove
 * the old node), through the route or the single-step commands. Requests go to any running
 * member; the commands and the route find the leader as they do for users.
 *
 * **Link proxies.** Every slot, spare ones included, has proxies on all its links from the start
 * (the cluster's `spares`), and every node starts with `--dial` naming all of them. So a node that
 * joins mid-run reaches the others only through proxies the partition nemesis can cut, like the
 * founding nodes, and the nodes it joins dial it through its proxies too. The alternative, new
 * nodes talking directly, would leave them outside every later partition, and once every founding
 * node had been replaced the run would partition nothing at all. A partition cuts the members of
 * its moment: a node added while one holds is on both sides. With `--network netns` the spare
 * slots have namespaces from the start instead, and cuts are drops there: the same holds.
 *
 * **Turns.** Every 1–3 s a change falls due and gets up to four attempts; meanwhile the other
 * faults start nothing new (see {@link MembershipNemesis.busy}), but the fault in effect goes on,
 * so changes begin during faults and must cope with them.
 *
 * **Newcomers.** The next one is started ahead, empty, waiting to be added (an operator starts
 * the node, then runs `member add`); a start takes seconds on a loaded machine. It is started
 * again after each committed change: a node waiting to join accepts peer connections only from
 * the members it was told of at its start, and refuses a member added since ("not a configured
 * peer"), which, should that member lead, would leave the newcomer a learner that never catches up.
 *
 * Victims of remove and replace are mostly the oldest members, so that in a long enough run the
 * nodes the clients were first given leave, and the clients must have followed the members to
 * keep working (the run checks that each client completes operations after the heal).
 */
import type { ProcessCluster } from '../lib/cluster.js';
import type { ChangeOutcome, FaultKind, MembershipSummary } from '../lib/chaos/types.js';
import { Rng } from '../lib/rng.js';
import { sleep, waitFor } from '../lib/wait.js';
import type { MembersView } from '../../src/server/index.js';
import {
  MAX_VOTERS,
  MIN_VOTERS,
  chooseKind,
  classifyCliFailure,
  nextStep,
  type ChangeKind as Kind,
  type ChangeResult as Result,
  type ChangeStep,
} from '../lib/chaos/membership-plan.js';

/** A change in progress, until its goal is in the committed configuration. */
interface Intent {
  readonly kind: Kind;
  /** The node that must end up a voter (add, replace). */
  readonly join?: number;
  /** The node that must end up out of the configuration (remove, replace). */
  readonly leave?: number;
  /** Attempts made so far. */
  attempts: number;
}

/** What the membership nemesis acts on and records into. */
export interface MembershipTarget {
  readonly cluster: ProcessCluster;
  /** Run time (ms since the run's start). */
  readonly clock: () => number;
  readonly log: (line: string) => void;
  /** Opens a fault window; returns its id. */
  begin(kind: FaultKind, description: string, nodes: readonly number[]): number;
  /** Closes it with the attempt's outcome. */
  end(id: number, outcome: ChangeOutcome, reason?: string): void;
}

/** How close to the leader's log a learner must be before it is promoted (as `raftlock member add` waits). */
const CAUGHT_UP_LAG = 64;
/** How long an attempt waits for a learner to catch up (`--wait` of the commands). */
const CATCH_UP_MS = 10_000;
/** Longest a command may run before it is killed (its own requests are bounded well below). */
const CLI_TIMEOUT_MS = 60_000;

export class MembershipNemesis {
  /** Decisions (which change, which victim): their own sequence, so request routing does not shift them. */
  private readonly r: Rng;
  /** Where requests go and by which route. */
  private readonly route: Rng;
  private intent: Intent | undefined;
  private lastView: MembersView | undefined;
  private stopping = false;
  /** Whether a change is due: its turn's attempts are under way. */
  private due = false;
  /**
   * The next newcomer, started ahead and waiting to be added (as an operator starts the node
   * before `raftlock member add`): a node's start takes seconds on a loaded machine.
   */
  private warm: number | undefined;
  /** Cuts the attempt in flight short (at the run's end, after a grace). */
  private abort = new AbortController();
  private readonly committed: Record<Kind, number> = { add: 0, remove: 0, replace: 0 };
  private readonly notCommitted: Record<string, number> = {};
  private readonly removed: number[] = [];
  private readonly initial: readonly number[];
  private final: readonly number[] | undefined;

  constructor(
    private readonly t: MembershipTarget,
    seed: number,
    /** Negative control: restart the removed nodes at the end (the run then includes them in its hash check). */
    private readonly restartRemoved = false,
  ) {
    this.r = new Rng(seed ^ 0x3e3be7);
    this.route = new Rng(seed ^ 0x70a7e);
    this.initial = t.cluster.ids;
  }

  /**
   * Makes changes until `untilMs` (run time) or {@link stop}: every 1–3 s a change is due, and
   * is attempted up to four times (0.4–1.2 s apart) while the other faults hold off (see
   * {@link busy}); one still not through is taken up again at the next turn.
   */
  async run(untilMs: number): Promise<void> {
    this.warmUp();
    await this.nap(1_500 + this.r.int(1_500));
    while (!this.stopping && this.t.clock() < untilMs - 4_000) {
      this.due = true;
      try {
        for (let k = 0; k < 4 && !this.stopping; k++) {
          if ((await this.attempt()) === 'committed') break;
          await this.nap(400 + this.r.int(800));
        }
      } finally {
        this.due = false;
      }
      await this.nap(1_000 + this.r.int(2_000));
    }
  }

  /** Begins no new attempt; the one in flight is cut short after `graceMs`. */
  stop(graceMs: number): void {
    this.stopping = true;
    const abort = this.abort;
    setTimeout(() => abort.abort(), graceMs).unref();
  }

  /**
   * Whether the other faults should hold off before their next one: while a change is due (its
   * attempts of this turn), and from a replace's first attempt until it has committed. The fault
   * in effect when a change falls due goes on and is healed on time, so a change begins during a
   * fault and must cope with it (be refused, time out, retry); but faults do not pile on while
   * it is under way. Without this, in 30 s runs on a busy 2-core machine some kind of change
   * never committed: a replace leaves 3 or 4 voters with one down, which any further fault stops,
   * and a 4-voter cluster went 10 s without a leader under back-to-back kills and partitions.
   */
  get busy(): boolean {
    return this.due || (this.intent?.kind === 'replace' && this.intent.attempts > 0);
  }

  /** The nodes whose removal committed, in order. */
  get removedNodes(): readonly number[] {
    return this.removed;
  }

  /**
   * At the run's end, once the other faults are healed and {@link run} has returned: finishes
   * the change in progress if it can (a few attempts), brings back every node that may be in the
   * configuration (the members, both ends of a change still unfinished), waits for a leader with
   * no change pending, then makes the harness's members the configuration's: members run,
   * others are stopped. A change that could not be finished stays as it is, a learner or an old
   * node still a member (then running again). With `restartRemoved`, the removed nodes start again.
   */
  async settle(timeoutMs = 30_000): Promise<void> {
    const c = this.t.cluster;
    this.stopping = true;
    this.abort.abort();
    this.abort = new AbortController();
    const signal = this.abort.signal;
    const leader = async (ids: readonly number[]): Promise<MembersView | undefined> => {
      // Again at each check: a node that joined mid-run restarts with --join, which fails if no
      // other node answered at that moment.
      for (const id of ids) if (!c.isRunning(id)) c.start(id);
      return this.leaderView(ids, signal);
    };
    if (this.intent !== undefined) {
      // Finish the change in progress, now that the other faults are healed.
      await waitFor('a leader', () => leader(c.ids), timeoutMs / 2, 250).catch(() => undefined);
      for (let k = 0; this.intent !== undefined && k < 4; k++) {
        if ((await this.attempt(false)) !== 'committed') await sleep(1_000);
      }
    }
    const it = this.intent;
    const maybe = [...new Set([...c.ids, ...(it?.join !== undefined ? [it.join] : []), ...(it?.leave !== undefined ? [it.leave] : [])])];
    const view = await waitFor(
      'a leader with no membership change pending',
      async () => {
        const v = await leader(maybe);
        return v !== undefined && !v.changePending ? v : undefined;
      },
      timeoutMs,
      250,
    ).catch(() => undefined);
    if (view === undefined) {
      this.t.log(`membership: no leader with a settled configuration within ${timeoutMs} ms; the members stay ${c.ids.join(',')}`);
      this.final = c.ids;
      return;
    }
    const members = view.members.map((m) => m.id);
    for (const id of c.slots) {
      if (members.includes(id)) {
        c.admit(id);
        if (!c.isRunning(id)) c.start(id);
        continue;
      }
      // Not in the configuration: a node whose removal's outcome was unknown but committed (the
      // old node of a replace too), or a newcomer never added.
      if ((c.isMember(id) || it?.leave === id) && !this.removed.includes(id)) this.removed.push(id);
      c.retire(id);
      if (c.isRunning(id)) await c.stop(id, 3_000);
    }
    if (it !== undefined && nextStep(it, view) === undefined) this.committed[it.kind]++;
    this.intent = undefined;
    this.final = c.ids;
    this.t.log(`membership: final members ${view.members.map((m) => `${m.id}${m.role === 'learner' ? ' (learner)' : ''}`).join(', ')}`);
    if (this.restartRemoved) {
      for (const id of this.removed) if (!c.isRunning(id)) c.start(id);
      this.t.log(`membership: removed nodes ${this.removed.join(',') || 'none'} started again (negative control)`);
    }
  }

  /** What the nemesis did, for `summary.json`. */
  summary(): MembershipSummary {
    return {
      initial: this.initial,
      final: this.final ?? this.t.cluster.ids,
      removed: this.removed,
      committed: { ...this.committed },
      notCommitted: { ...this.notCommitted },
    };
  }

  /** Sleeps `ms`, or less if the nemesis stops meanwhile. */
  private async nap(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.stopping && performance.now() < until) await sleep(Math.min(100, until - performance.now()));
  }

  /** Starts the next spare slot's node, if none is waiting already. */
  private warmUp(): void {
    const c = this.t.cluster;
    if (this.stopping) return;
    this.warm ??= c.spareIds[0];
    // Again if it exited: its --join fails when no member answered at that moment.
    if (this.warm !== undefined && !c.isRunning(this.warm)) c.start(this.warm);
  }

  /**
   * One attempt at the change in progress, or at a new one (with `begin`): a fault window.
   * Returns its outcome, or undefined when there was nothing to attempt (no leader to plan a
   * first change from, or no change that keeps the voters in bounds).
   */
  private async attempt(begin = true): Promise<ChangeOutcome | undefined> {
    const c = this.t.cluster;
    const view = await this.leaderView(c.ids, this.abort.signal);
    if (view !== undefined) this.lastView = view;
    const first = this.intent === undefined;
    // A new change is planned only from the leader's configuration of now: one seen earlier may
    // predate a change that has committed since.
    if (this.intent === undefined && begin && view !== undefined) {
      this.intent = this.plan(view);
      if (this.intent?.join !== undefined && this.intent.join === this.warm) this.warm = undefined;
    }
    const it = this.intent;
    if (it === undefined) {
      if (begin) this.t.log(view === undefined ? 'membership: no leader answered; no change begun' : 'membership: no change fits now');
      return undefined;
    }
    it.attempts++;
    // The combined commands on a change's first attempt (replace always: it is the operator's
    // documented way to replace a machine); otherwise the route or the single-step commands.
    const cli = it.kind === 'replace' && first ? true : this.route.next() < 0.5;
    const how = this.describe(it, first, cli);
    const nodes = [it.leave, it.join].filter((x): x is number => x !== undefined);
    const event = this.t.begin(`member-${it.kind}`, how, nodes);
    if (first) await this.prepare(it);
    else if (it.join !== undefined && !c.isRunning(it.join)) c.start(it.join);
    this.warmUp();
    const result: Result = view === undefined ? { outcome: 'refused', reason: 'leader-unknown' } : await this.advance(it, view, cli, first);
    this.t.end(event, result.outcome, result.outcome === 'committed' ? undefined : result.reason);
    if (result.outcome === 'committed') {
      await this.finish(it);
    } else {
      const key = result.outcome === 'refused' ? `refused: ${result.reason}` : result.outcome;
      this.notCommitted[key] = (this.notCommitted[key] ?? 0) + 1;
      this.t.log(`membership: ${it.kind} ${result.outcome} (${result.reason}); retried later`);
    }
    return result.outcome;
  }

  private describe(it: Intent, first: boolean, cli: boolean): string {
    const c = this.t.cluster;
    const via = cli ? 'raftlock member' : 'POST /admin/members';
    const retry = first ? '' : ` (retry ${it.attempts - 1}: what is left of it)`;
    switch (it.kind) {
      case 'add':
        return `member add: node ${it.join} at ${c.address(it.join ?? 0)}, started empty with --join, becomes a learner then a voter, via ${via}${retry}`;
      case 'remove':
        return `member remove: node ${it.leave}${this.lastView?.leader === it.leave ? ' (the leader)' : ''}, stopped once removed, via ${via}${retry}`;
      case 'replace':
        return `member replace: node ${it.leave} killed as a failed machine, node ${it.join} at ${c.address(it.join ?? 0)}, started empty with --join, takes its place, via ${first ? 'raftlock member replace' : via}${retry}`;
    }
  }

  /** Picks the next change from the configuration `v`. */
  private plan(v: MembersView): Intent | undefined {
    const c = this.t.cluster;
    const voters = v.members.filter((m) => m.role === 'voter').map((m) => m.id);
    // Leftovers first (a change given up on would leave them): a learner, a node the harness no longer counts.
    const learner = v.members.find((m) => m.role === 'learner')?.id;
    if (learner !== undefined)
      return voters.length < MAX_VOTERS ? { kind: 'add', join: learner, attempts: 0 } : { kind: 'remove', leave: learner, attempts: 0 };
    const stray = voters.find((id) => !c.isMember(id));
    if (stray !== undefined && voters.length > MIN_VOTERS) return { kind: 'remove', leave: stray, attempts: 0 };
    const spare = this.warm ?? c.spareIds[0];
    const kind = chooseKind(voters.length, spare !== undefined, this.committed, this.r);
    if (kind === undefined) return undefined;
    if (kind === 'add') return spare === undefined ? undefined : { kind, join: spare, attempts: 0 };
    // The leader now and then; otherwise the oldest voter, so that the founding nodes leave.
    const others = voters.filter((id) => id !== v.leader).sort((a, b) => a - b);
    const victim = this.r.next() < 0.3 || others.length === 0 ? v.leader : (others[0] as number);
    if (kind === 'remove') return { kind, leave: victim, attempts: 0 };
    return spare === undefined ? undefined : { kind, leave: victim, join: spare, attempts: 0 };
  }

  /** A change's first moves: the failed machine dies (replace), the newcomer starts empty with --join. */
  private async prepare(it: Intent): Promise<void> {
    const c = this.t.cluster;
    if (it.kind === 'replace' && it.leave !== undefined) {
      c.retire(it.leave);
      await c.kill(it.leave);
    }
    if (it.join !== undefined && !c.isRunning(it.join)) c.start(it.join);
  }

  /** After the goal committed: the newcomer counts as a member, the node that left stops. */
  private async finish(it: Intent): Promise<void> {
    const c = this.t.cluster;
    this.committed[it.kind]++;
    this.intent = undefined;
    if (it.join !== undefined) c.admit(it.join);
    if (it.leave !== undefined) {
      c.retire(it.leave);
      if (!this.removed.includes(it.leave)) this.removed.push(it.leave);
      await c.stop(it.leave, 3_000);
    }
    this.t.log(`membership: ${it.kind} committed; members ${c.ids.join(',')}`);
    // A node waiting to join accepts peer connections only from the members it was told of at
    // its start: one added since, should it lead, is refused as "not a configured peer", and the
    // newcomer could never catch up. So the waiting newcomer starts again with the members of now.
    if (this.warm !== undefined && c.isRunning(this.warm) && !this.stopping) await c.restart(this.warm);
  }

  /** Takes the change as far as it goes in one attempt, starting from the configuration `view`. */
  private async advance(it: Intent, view: MembersView, cli: boolean, first: boolean): Promise<Result> {
    const c = this.t.cluster;
    const ids = [it.join, it.leave].filter((x): x is number => x !== undefined);
    let v: MembersView | undefined = view;
    if (first && it.kind === 'replace' && it.leave !== undefined && it.join !== undefined) {
      const r = await this.runCli(
        [
          'member',
          'replace',
          String(it.leave),
          '--address',
          c.address(it.join),
          '--new-id',
          String(it.join),
          '--wait',
          String(CATCH_UP_MS),
        ],
        ids,
      );
      if (r.outcome !== 'committed') return r;
      v = r.view;
    } else if (first && cli && it.kind === 'add' && it.join !== undefined) {
      const r = await this.runCli(
        ['member', 'add', '--id', String(it.join), '--address', c.address(it.join), '--wait', String(CATCH_UP_MS)],
        ids,
      );
      if (r.outcome !== 'committed') return r;
      v = r.view;
    }
    for (let k = 0; k < 4; k++) {
      v ??= await this.leaderView(c.ids, this.abort.signal);
      if (v === undefined) return { outcome: 'refused', reason: 'leader-unknown' };
      const step = nextStep(it, v);
      if (step === undefined) {
        // Reached in a configuration not committed yet (an earlier attempt's entry): not yet done.
        return v.changePending
          ? { outcome: 'unknown', reason: 'the change is in the log but not committed yet' }
          : { outcome: 'committed', view: v };
      }
      if (step.action === 'promote' && !(await this.caughtUp(step.id))) return { outcome: 'refused', reason: 'learner-behind' };
      const r = cli ? await this.runCli(cliArgs(step, c.address(step.id)), ids) : await this.post(step, c.address(step.id));
      if (r.outcome !== 'committed') return r;
      // A newcomer counts as a member (a fault target, a node to send requests to) once its
      // addition committed, not before: a node still waiting to join knows no leader, and a
      // command given it as its first endpoint would say so.
      if (step.action === 'add-learner') c.admit(step.id);
      v = r.view;
    }
    return { outcome: 'failed', reason: 'the change did not settle in four steps' };
  }

  /** Waits until learner `id` is reachable and close to the leader's log (as `raftlock member add` does). */
  private async caughtUp(id: number): Promise<boolean> {
    const until = performance.now() + CATCH_UP_MS;
    while (!this.abort.signal.aborted && performance.now() < until) {
      const m = (await this.leaderView(this.t.cluster.ids, this.abort.signal))?.members.find((x) => x.id === id);
      if (m?.reachable === true && m.lag !== null && m.lag <= CAUGHT_UP_LAG) return true;
      await sleep(250);
    }
    return false;
  }

  /** Running members not paused: where requests may go. */
  private reachable(ids: readonly number[]): number[] {
    const c = this.t.cluster;
    return ids.filter((id) => c.isRunning(id) && !c.isPaused(id));
  }

  /** `raftlock member ARGS --endpoints <running members, shuffled> --json`, as an outcome. */
  private async runCli(args: readonly string[], ids: readonly number[]): Promise<Result> {
    const c = this.t.cluster;
    const endpoints = this.route.shuffle(this.reachable(c.ids)).map((id) => c.address(id));
    if (endpoints.length === 0) return { outcome: 'refused', reason: 'leader-unknown' };
    const r = await c.cli([...args, '--endpoints', endpoints.join(','), '--json'], {
      timeoutMs: CLI_TIMEOUT_MS,
      signal: this.abort.signal,
    });
    if (r.killed)
      return { outcome: 'unknown', reason: this.abort.signal.aborted ? 'cut short at the end of the run' : 'the command timed out' };
    if (r.code === 0) {
      try {
        return { outcome: 'committed', view: JSON.parse(r.stdout) as MembersView };
      } catch {
        return { outcome: 'committed', view: undefined };
      }
    }
    return classifyCliFailure(r.stderr, ids);
  }

  /** `POST /admin/members` to a running member, following NOT_LEADER to the leader, as an outcome. */
  private async post(step: ChangeStep, address: string): Promise<Result> {
    const c = this.t.cluster;
    const body = step.action === 'add-learner' ? { action: step.action, id: step.id, address } : step;
    const start = this.reachable(c.ids);
    let target: string | null = start.length > 0 ? c.address(this.route.pick(start)) : null;
    for (let hop = 0; hop < 4 && target !== null; hop++) {
      let status: number;
      let answer: { error?: { code?: string; reason?: string; message?: string; leaderAddress?: string | null } };
      try {
        const res = await c.request(target, 'POST', '/admin/members', { body, timeoutMs: 25_000, signal: this.abort.signal });
        status = res.status;
        answer = res.body;
      } catch (err) {
        const cause = (err as { code?: string }).code ?? (err as Error).name;
        // Refused at connect: the request never left; otherwise it may have been taken.
        if (cause === 'ECONNREFUSED') return { outcome: 'failed', reason: `${target} unreachable (ECONNREFUSED)` };
        return { outcome: 'unknown', reason: `no answer from ${target} (${cause})` };
      }
      if (status === 200) return { outcome: 'committed', view: answer as unknown as MembersView };
      const e = answer.error;
      if (e?.code === 'CHANGE_REFUSED') return { outcome: 'refused', reason: e.reason ?? 'unknown reason' };
      if (e?.code === 'NOT_LEADER') {
        target = e.leaderAddress ?? null;
        continue;
      }
      if (e?.code === 'UNAVAILABLE') return { outcome: 'unknown', reason: e.message ?? 'UNAVAILABLE' };
      return { outcome: 'failed', reason: `HTTP ${status} ${e?.code ?? ''}: ${e?.message ?? ''}` };
    }
    return { outcome: 'refused', reason: 'leader-unknown' };
  }

  /**
   * The leader's `GET /admin/members`, asked of up to three of `ids` (running, not paused) in a
   * random order and following each one's leader hint; undefined when no leader answers.
   */
  private async leaderView(ids: readonly number[], signal: AbortSignal): Promise<MembersView | undefined> {
    const c = this.t.cluster;
    for (const id of this.route.shuffle(this.reachable(ids)).slice(0, 3)) {
      const v = await members(c, c.address(id), signal);
      if (v === undefined) continue;
      if (v.leader === v.from) return v;
      if (v.leaderAddress === null) continue;
      const l = await members(c, v.leaderAddress, signal);
      if (l !== undefined && l.leader === l.from) return l;
    }
    return undefined;
  }
}

/** The single-step command for `step`. */
function cliArgs(step: ChangeStep, address: string): string[] {
  return step.action === 'add-learner'
    ? ['member', 'add', '--id', String(step.id), '--address', address, '--learner']
    : ['member', step.action, String(step.id)];
}

/** `GET /admin/members` of one node, or undefined if it does not answer within 2 s. */
async function members(c: ProcessCluster, address: string, signal: AbortSignal): Promise<MembersView | undefined> {
  try {
    const res = await c.request(address, 'GET', '/admin/members', { timeoutMs: 2_000, signal });
    return res.status === 200 ? (res.body as unknown as MembersView) : undefined;
  } catch {
    return undefined;
  }
}
