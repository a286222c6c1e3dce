/**
 * The availability checks of a chaos run (docs/operations.md#chaos-runs), as pure functions:
 * the runner's leadership samples (`GET /healthz` of every member, about every 100 ms), its
 * `GET /status` polls after the final heal, the nemesis windows and the history go in; the
 * figures (time to a leader per fault, each client's longest stretch without progress while a
 * leader it could reach existed, heal-to-rejoin per node) and the anomalies against the bars
 * come out. The sampling itself is the runner's (scripts/chaos/availability.ts).
 */
import {
  isEndSession,
  type Anomaly,
  type AvailabilitySummary,
  type FaultAvailability,
  type HistoryOp,
  type LeaderSample,
  type NemesisEvent,
  type RejoinSample,
} from './types.js';

/** A lock, semaphore or readers-writer lock acquire: it may wait (`waitMs`), and its grant is held for the client's own work. */
function isAcquire(op: HistoryOp): boolean {
  return op.kind !== 'counter' && op.input.op === 'acquire';
}

/** The bars the verdict holds a run to (milliseconds). */
export interface AvailabilityBars {
  /** A leader agreed by a majority within this long after each heal. */
  readonly leaderAfterHealMs: number;
  /** Every member back in the cluster within this long after the final heal. */
  readonly rejoinMs: number;
  /** No client that can reach a leader goes longer than this without a successful operation. */
  readonly noProgressMs: number;
}

export const DEFAULT_BARS: AvailabilityBars = {
  leaderAfterHealMs: 3_000,
  rejoinMs: 2_000,
  noProgressMs: 2_000,
};

type Interval = readonly [number, number];

/**
 * The leader agreed by a majority in one sample: a node that says it leads at term T, named as
 * leader at T by more than half of the members (itself included); undefined if there is none.
 * A node that did not answer (killed, paused, unreachable from the runner) counts against.
 */
export function agreedLeader(s: LeaderSample): number | undefined {
  const views = s.views;
  for (const id of s.members) {
    const v = views[String(id)];
    if (v === undefined || v === null || v.role !== 'leader' || v.leader !== id) continue;
    const votes = s.members.filter((m) => {
      const w = views[String(m)];
      return w !== undefined && w !== null && w.leader === id && w.term === v.term;
    }).length;
    if (votes * 2 > s.members.length) return id;
  }
  return undefined;
}

/**
 * The stretches (sorted, disjoint) during which a majority-agreed leader existed, each sample
 * standing for the time until the next one (the last one for `endMs`).
 */
export function leaderIntervals(samples: readonly LeaderSample[], endMs: number): Interval[] {
  const out: [number, number][] = [];
  for (let k = 0; k < samples.length; k++) {
    const s = samples[k] as LeaderSample;
    const until = Math.max(s.time, samples[k + 1]?.time ?? endMs);
    if (agreedLeader(s) === undefined || until <= s.time) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last[1] >= s.time) last[1] = Math.max(last[1], until);
    else out.push([s.time, until]);
  }
  return out;
}

/** `a` minus every interval of `cut` (both sorted, disjoint). */
function subtract(a: readonly Interval[], cut: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const [s, e] of a) {
    let from = s;
    for (const [cs, ce] of cut) {
      if (ce <= from || cs >= e) continue;
      if (cs > from) out.push([from, cs]);
      from = Math.max(from, ce);
    }
    if (from < e) out.push([from, e]);
  }
  return out;
}

/** How much of [from, to] `intervals` cover. */
function overlap(intervals: readonly Interval[], from: number, to: number): number {
  let sum = 0;
  for (const [s, e] of intervals) sum += Math.max(0, Math.min(e, to) - Math.max(s, from));
  return sum;
}

/** The first `budget` ms of `leader` time from `from` on, ending by `until` at the latest. */
function leaderTimeAfter(leader: readonly Interval[], from: number, budget: number, until: number): Interval[] {
  const out: Interval[] = [];
  let left = budget;
  for (const [s, e] of leader) {
    if (left <= 0) break;
    const a = Math.max(s, from);
    const b = Math.min(e, until, a + left);
    if (b <= a) continue;
    out.push([a, b]);
    left -= b - a;
  }
  return out;
}

function merge(xs: readonly Interval[]): Interval[] {
  const sorted = [...xs].filter(([s, e]) => e > s).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** The client process a fault cut off or stopped: its `workers`, or the worker a `pause-client` description names. */
function affectedWorkers(e: NemesisEvent): readonly number[] {
  if (e.workers !== undefined) return e.workers;
  if (e.kind !== 'pause-client') return [];
  const m = /client process (\d+)/.exec(e.description);
  return m === null ? [] : [Number(m[1])];
}

/** One client's longest stretch without progress while it could reach a leader. */
export interface ClientGap {
  readonly client: string;
  readonly gapMs: number;
  /** The success the stretch started from (or the client's first call) and the one that ended it (or the end). */
  readonly from: number;
  readonly to: number;
  /** The first moment of the stretch that counted (a leader the client could reach existed). */
  readonly countedFrom: number;
}

/**
 * Per client, its longest stretch without progress ({@link noProgressStretches}); 0 for a client
 * with no operation at all (the run's clients-stuck check covers those).
 */
export function clientGaps(
  history: readonly HistoryOp[],
  samples: readonly LeaderSample[],
  events: readonly NemesisEvent[],
  clients: readonly string[],
  endMs: number,
): ClientGap[] {
  return longestPerClient(noProgressStretches(history, samples, events, clients, endMs), clients);
}

function longestPerClient(stretches: readonly ClientGap[], clients: readonly string[]): ClientGap[] {
  const best = new Map<string, ClientGap>(clients.map((c) => [c, { client: c, gapMs: 0, from: 0, to: 0, countedFrom: 0 }]));
  for (const g of stretches) if (g.gapMs > (best.get(g.client)?.gapMs ?? Infinity)) best.set(g.client, g);
  return [...best.values()];
}

/**
 * Every client's stretches of time without a successful operation during which a
 * majority-agreed leader existed and nothing cut the client off, measured in that eligible
 * time. Not counted: time before the client's first call and after `endMs` (when the runner
 * told the clients to stop), the windows of faults that stopped or cut off the client's
 * process, and the part of a lock acquire (answered or not) that the client asked to wait: its
 * first `waitMs` of time with a leader, as the cluster counts a wait (a lock held by someone else
 * is not unavailability); nor the time it holds a lock, from its acquire's return
 * to its next call (its own work). Semaphore and readers-writer lock acquires count as lock
 * acquires; grants' `end-session` records are not calls and are left out. A stretch ends at the
 * return of an `ok` operation. Stretches of no eligible time are left out.
 */
export function noProgressStretches(
  history: readonly HistoryOp[],
  samples: readonly LeaderSample[],
  events: readonly NemesisEvent[],
  clients: readonly string[],
  endMs: number,
): ClientGap[] {
  const leader = leaderIntervals(samples, endMs);
  const out: ClientGap[] = [];
  for (const client of clients) {
    // A grant's end-session is what the client saw of its session, not a call it made.
    const ops = history.filter((op) => op.client === client && !isEndSession(op));
    const first = Math.min(...ops.map((op) => op.call));
    if (!Number.isFinite(first)) continue;
    const worker = (ops[0] as HistoryOp).worker;
    const cutOff = events.filter((e) => affectedWorkers(e).includes(worker)).map((e): Interval => [e.start, e.end ?? endMs]);
    // Whatever the acquire's outcome: a wait that failed over to another leader still asked to
    // wait. The cluster charges a queued wait only while it has a leader (docs/design.md, grace
    // for queued waits), so the wait is the first `waitMs` of leader time after the call.
    const waiting = ops
      .filter(isAcquire)
      .flatMap((op) => leaderTimeAfter(leader, op.call, (op.input as { waitMs: number }).waitMs, op.return ?? endMs));
    // While it holds a lock the client does its own work (the fenced resource's writes go through
    // the runner): from an acquire's return to its next call, it is not waiting on the cluster.
    const sorted = [...ops].sort((x, y) => x.call - y.call);
    const holding = sorted.flatMap((op, k): Interval[] => {
      const next = sorted[k + 1];
      const held = isAcquire(op) && op.status === 'ok' && op.return !== null;
      return held && next !== undefined ? [[op.return, next.call]] : [];
    });
    const eligible = subtract(
      subtract(
        leader.map(([s, e]): Interval => [Math.max(s, first), Math.min(e, endMs)]).filter(([s, e]) => e > s),
        merge(cutOff),
      ),
      merge([...waiting, ...holding]),
    );
    const progress = ops
      .filter((op) => op.status === 'ok' && op.return !== null)
      .map((op) => op.return as number)
      .sort((x, y) => x - y);
    // Walk the eligible time; a stretch accumulates eligible time until the next success, so a
    // leader that flickers or a lock wait in the middle does not reset it.
    let acc = 0;
    let since = first;
    let counted: number | undefined;
    let to = first;
    let p = 0;
    for (const [s, e] of eligible) {
      let cursor = s;
      while (p < progress.length && (progress[p] as number) < e) {
        const at = progress[p] as number;
        if (at > cursor) {
          counted ??= cursor;
          acc += at - cursor;
        }
        if (acc > 0)
          out.push({
            client,
            gapMs: Math.round(acc),
            from: since,
            to: at,
            countedFrom: counted ?? since,
          });
        acc = 0;
        counted = undefined;
        since = at;
        cursor = Math.max(cursor, at);
        p++;
      }
      if (e > cursor) counted ??= cursor;
      acc += e - cursor;
      to = e;
    }
    if (acc > 0)
      out.push({
        client,
        gapMs: Math.round(acc),
        from: since,
        to,
        countedFrom: counted ?? since,
      });
  }
  return out;
}

/**
 * Per fault: the time to a majority-agreed leader from its start (the start of the leader
 * stretch that lasts until the heal; 0 if one lasted through it; null: none settled before the
 * heal) and from its heal (null: none before the next fault began or the samples ended; then
 * `cutShort` says the next fault came first), the time with a leader until the nodes it struck
 * (every member for a fault that names none) follow it again, before another fault strikes
 * them (null: not within that time; always for a client pause), and the longest of `stretches`
 * (from {@link noProgressStretches}) that overlaps the window or the 2 s after its heal (from
 * the stretch's first counted moment to its end: time the client was stopped or had no leader
 * before that is not this fault's doing).
 */
export function faultAvailability(
  samples: readonly LeaderSample[],
  events: readonly NemesisEvent[],
  stretches: readonly ClientGap[],
  endMs: number,
): FaultAvailability[] {
  const leader = leaderIntervals(samples, endMs);
  const starts = events.map((e) => e.start).sort((x, y) => x - y);
  return events.map((e) => {
    const end = e.end ?? endMs;
    const settled = leader.find(([s, t]) => t >= end && s <= end);
    const leaderFromStartMs = settled === undefined ? null : Math.round(Math.max(0, settled[0] - e.start));
    const next = starts.find((s) => s > end) ?? endMs;
    const after = leader.find(([s, t]) => t > end && s < next);
    const leaderAfterHealMs = after === undefined ? null : Math.round(Math.max(0, after[0] - end));
    // The nodes it struck are back once they follow the agreed leader, unless another fault
    // strikes them first: the nemesis starts the next fault well before a restarted node is up,
    // so waiting for every member would leave most restarts unmeasured.
    const strikes = (o: NemesisEvent): boolean =>
      o.kind !== 'pause-client' && (o.nodes.length === 0 || e.nodes.length === 0 || o.nodes.some((n) => e.nodes.includes(n)));
    const until = events.filter((o) => o.start > end && strikes(o)).reduce((m, o) => Math.min(m, o.start), endMs);
    const back = e.kind === 'pause-client' ? undefined : samples.find((x) => x.time >= end && x.time < until && follows(x, e.nodes));
    // Counted only while a leader existed: time without one is the leader figures' (a kill of the
    // majority right after a pause's heal is no slowness of the paused node's).
    const rejoinAfterHealMs = back === undefined ? null : Math.round(overlap(leader, end, back.time));
    const worst = stretches
      .filter((g) => g.gapMs > 0 && g.countedFrom < end + DEFAULT_BARS.noProgressMs && g.to > e.start)
      .reduce<ClientGap | undefined>((w, g) => (w === undefined || g.gapMs > w.gapMs ? g : w), undefined);
    return {
      id: e.id,
      kind: e.kind,
      start: e.start,
      end,
      leaderFromStartMs,
      leaderAfterHealMs,
      cutShort: after === undefined && next < endMs,
      rejoinAfterHealMs,
      worstGapMs: worst?.gapMs ?? 0,
      worstGapClient: worst?.client ?? null,
    };
  });
}

/** Whether `nodes` (every member when empty) answered and name the majority-agreed leader at its term. */
function follows(s: LeaderSample, nodes: readonly number[]): boolean {
  const leader = agreedLeader(s);
  if (leader === undefined) return false;
  const term = s.views[String(leader)]?.term;
  return (nodes.length > 0 ? nodes : s.members).every((m) => {
    const v = s.views[String(m)];
    return v !== undefined && v !== null && v.leader === leader && v.term === term;
  });
}

/**
 * Per member, the milliseconds from the final heal until it was back in the cluster: it
 * answered `/status`, named the leader the majority agreed on at that leader's term, and had
 * applied at least what that leader had committed one poll earlier (about 100 ms before).
 * null: not within the samples.
 */
export function rejoinTimes(samples: readonly RejoinSample[], members: readonly number[], healedAt: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const id of members) out[String(id)] = null;
  let prevCommit: number | undefined;
  for (const s of samples) {
    const leaderView = s.nodes.find((n) => n.role === 'leader' && n.leader === n.id);
    const votes = leaderView === undefined ? 0 : s.nodes.filter((n) => n.leader === leaderView.id && n.term === leaderView.term).length;
    if (leaderView === undefined || votes * 2 <= members.length) {
      prevCommit = undefined;
      continue;
    }
    if (prevCommit !== undefined) {
      for (const n of s.nodes) {
        const key = String(n.id);
        if (!(key in out) || out[key] !== null) continue;
        if (n.leader === leaderView.id && n.term === leaderView.term && n.applied >= prevCommit) {
          out[key] = Math.round(Math.max(0, s.time - healedAt));
        }
      }
    }
    prevCommit = leaderView.commit;
  }
  return out;
}

/** Faults whose heal starts node processes again. */
const RESTARTING_HEALS: ReadonlySet<string> = new Set(['kill', 'clock']);

/**
 * Per fault whose heal restarted nodes: from the heal until every node it restarted answered a
 * leader sample (`endMs` if one never did).
 */
function restartWindows(samples: readonly LeaderSample[], events: readonly NemesisEvent[], endMs: number): Interval[] {
  return events
    .filter((e) => RESTARTING_HEALS.has(e.kind) && e.end !== null && e.end !== undefined)
    .map((e): Interval => {
      const healed = e.end as number;
      const up = samples.find(
        (x) => x.time >= healed && e.nodes.every((n) => x.views[String(n)] !== null && x.views[String(n)] !== undefined),
      );
      return [healed, up?.time ?? endMs];
    });
}

/** The figures and the anomalies of a run's availability against `bars`. */
export function checkAvailability(input: {
  readonly history: readonly HistoryOp[];
  readonly leaderSamples: readonly LeaderSample[];
  readonly rejoinSamples: readonly RejoinSample[];
  readonly events: readonly NemesisEvent[];
  readonly clients: readonly string[];
  readonly members: readonly number[];
  /** When the runner healed the last fault and when it told the clients to stop. */
  readonly healedAt: number;
  readonly endMs: number;
  readonly bars?: AvailabilityBars;
}): { summary: AvailabilitySummary; anomalies: Anomaly[] } {
  const bars = input.bars ?? DEFAULT_BARS;
  const stretches = noProgressStretches(input.history, input.leaderSamples, input.events, input.clients, input.endMs);
  const gaps = longestPerClient(stretches, input.clients);
  const faults = faultAvailability(input.leaderSamples, input.events, stretches, input.endMs);
  const rejoin = rejoinTimes(input.rejoinSamples, input.members, input.healedAt);
  const anomalies: Anomaly[] = [];
  const restarts = restartWindows(input.leaderSamples, input.events, input.endMs);
  for (const f of faults) {
    if (f.kind.startsWith('member-') || f.cutShort) continue;
    // A heal that restarts processes (kill, clock) waits for them to start, which on a loaded
    // 2-core machine alone took 2.4-4.6 s: reported per fault, judged at the final heal only,
    // until restarts are fast under contention. So is a heal whose leader waited on such a
    // restart still under way (a partition made while the killed majority was starting again).
    if (RESTARTING_HEALS.has(f.kind)) continue;
    const waitedUntil = f.end + (f.leaderAfterHealMs ?? bars.leaderAfterHealMs);
    if (restarts.some(([s, e]) => s < waitedUntil && e > f.start)) continue;
    // A heal the run's end cut short is judged by the final-heal check instead.
    const observed = (f.leaderAfterHealMs ?? Infinity) <= bars.leaderAfterHealMs || input.endMs - f.end >= bars.leaderAfterHealMs;
    if (observed && (f.leaderAfterHealMs === null || f.leaderAfterHealMs > bars.leaderAfterHealMs)) {
      anomalies.push({
        kind: 'no-leader-after-heal',
        message: `fault ${f.id} (${f.kind}) healed at ${Math.round(f.end)} ms: ${
          f.leaderAfterHealMs === null
            ? 'no leader agreed by a majority before the next fault'
            : `a leader only after ${f.leaderAfterHealMs} ms`
        } (bar: ${bars.leaderAfterHealMs} ms); see the node logs for elections around then`,
        ops: [],
      });
    }
  }
  const late = Object.entries(rejoin).filter(([, ms]) => ms === null || ms > bars.rejoinMs);
  if (late.length > 0) {
    anomalies.push({
      kind: 'slow-rejoin',
      message: `node(s) back in the cluster later than ${bars.rejoinMs} ms after the final heal: ${late
        .map(([id, ms]) => `node ${id} ${ms === null ? 'not within the polls' : `after ${ms} ms`}`)
        .join(', ')}; look for "peer link" lines in those nodes' logs`,
      ops: [],
    });
  }
  const slow = gaps.filter((g) => g.gapMs > bars.noProgressMs).sort((x, y) => y.gapMs - x.gapMs);
  if (slow.length > 0) {
    anomalies.push({
      kind: 'client-no-progress',
      message: `${slow.length} client(s) went longer than ${bars.noProgressMs} ms without a successful operation while a leader they could reach existed: ${slow
        .slice(0, 5)
        .map((g) => `${g.client} ${g.gapMs} ms (${Math.round(g.from)}–${Math.round(g.to)} ms)`)
        .join(', ')}; logs/client-N.log (N: the client's process, its name's w number) says why its operations failed`,
      ops: input.history
        .filter((op) => slow.some((g) => g.client === op.client && op.call <= g.to && (op.return ?? Infinity) >= g.from))
        .slice(0, 50)
        .map((op) => op.id),
    });
  }
  const rejoinValues = Object.values(rejoin);
  const summary: AvailabilitySummary = {
    bars,
    leaderSamples: input.leaderSamples.length,
    worstGapMs: gaps.reduce((m, g) => Math.max(m, g.gapMs), 0),
    clientGaps: Object.fromEntries(gaps.map((g) => [g.client, g.gapMs])),
    faults,
    rejoinMs: rejoin,
    healToRejoinMs: rejoinValues.some((v) => v === null) ? null : rejoinValues.reduce<number>((m, v) => Math.max(m, v ?? 0), 0),
    byKind: byKind(faults),
  };
  return { summary, anomalies };
}

/** Per fault kind: the count, the worst no-progress gap, the slowest leader and the slowest rejoin after a heal. */
function byKind(faults: readonly FaultAvailability[]): AvailabilitySummary['byKind'] {
  const out: Record<
    string,
    {
      faults: number;
      worstGapMs: number;
      worstLeaderAfterHealMs: number | null;
      worstRejoinAfterHealMs: number | null;
    }
  > = {};
  const worse = (a: number | null, b: number | null): number | null => (b === null ? a : Math.max(a ?? 0, b));
  for (const f of faults) {
    const k = (out[f.kind] ??= {
      faults: 0,
      worstGapMs: 0,
      worstLeaderAfterHealMs: null,
      worstRejoinAfterHealMs: null,
    });
    k.faults++;
    k.worstGapMs = Math.max(k.worstGapMs, f.worstGapMs);
    k.worstLeaderAfterHealMs = worse(k.worstLeaderAfterHealMs, f.leaderAfterHealMs);
    k.worstRejoinAfterHealMs = worse(k.worstRejoinAfterHealMs, f.rejoinAfterHealMs);
  }
  return out;
}

/**
 * The bars of a run: {@link DEFAULT_BARS}, all multiplied by `RAFTLOCK_CHAOS_BAR_SCALE` when
 * set. That variable is for the checks' negative control only (a scale of 0.01 must make a run
 * with faults fail); a value that is not a positive number is refused.
 */
export function availabilityBars(env: Readonly<Record<string, string | undefined>>): AvailabilityBars {
  const raw = env.RAFTLOCK_CHAOS_BAR_SCALE;
  if (raw === undefined || raw === '') return DEFAULT_BARS;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new Error(`RAFTLOCK_CHAOS_BAR_SCALE=${raw} is not a positive number; unset it, or give e.g. 0.01 for the negative control`);
  }
  return {
    leaderAfterHealMs: DEFAULT_BARS.leaderAfterHealMs * scale,
    rejoinMs: DEFAULT_BARS.rejoinMs * scale,
    noProgressMs: DEFAULT_BARS.noProgressMs * scale,
  };
}
