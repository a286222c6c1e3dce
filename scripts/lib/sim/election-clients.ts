/**
 * The election cycles of the 'elections' workload (docs/design.md#leader-elections): the lock
 * workload's clients (lock-clients.ts), half of whose cycles campaign in one of two elections,
 * through the same requests that retry through failovers (session-requests.ts).
 *
 * A cycle campaigns (`acquire-permit` of kind `election`, with a value of its own), waiting or
 * not; three waiting campaigns in ten are withdrawn (`cancel-permit`) while they may still
 * wait. A leader proclaims new values, reads who leads (a linearizable `election-info`), writes
 * to the election's protected counter fenced with `{ lock, kind: 'election', token }`, and
 * resigns by the campaign's seq. Sometimes it stalls past its TTL in the middle of its first
 * proclaim (its session may end meanwhile, and with it its term of office), and sometimes it
 * also proclaims and writes with a token it held before, which must be refused. A refused candidate sometimes reads who leads, or tries
 * its old token too. One cycle in five only reads who leads.
 *
 * Each election has its own history (`el:<name>`), checked with the checker's election model:
 * one leader at a time, tokens that only grow, a leader's value one it campaigned with or
 * proclaimed, proclaims and fenced writes accepted only from the leader with its token. A
 * session campaigns at most once per election at a time (the machine refuses a second), and one
 * that may still lead or wait when the run ends gets an `end-session` of unknown outcome.
 */
import type { ElectionInput, ElectionOutput } from '../../../src/checker/index.js';
import type { AcquireValue, ElectionInfoValue } from '../../../src/protocol/index.js';
import type { ClientState, LockWorkloadOp, PermitTarget, Session, SessionRequests } from './session-requests.js';
import type { World } from './world.js';

/** The history key of election `name` (also what `Session.mayHold` holds for it). */
function electionKey(name: string): string {
  return `el:${name}`;
}

const ELECTIONS: readonly PermitTarget[] = ['E0', 'E1'].map((name) => ({ kind: 'election', name, key: electionKey(name) }));
/**
 * Session TTLs of the elections workload: the shortest of the locks workload's, so that a leader
 * that stalls past its TTL comes back before the liveness phase's deadline.
 */
export const ELECTION_TTLS: readonly number[] = [1000, 1000, 1500];
/** Share of election cycles that only read who leads. */
const READ_ONLY_P = 0.2;
/** Share of waiting campaigns withdrawn before their wait ends. */
const WITHDRAW_P = 0.3;
/** Share of terms of office in which the leader stalls past its TTL in its first proclaim. */
const STALL_P = 0.12;

type By = 'holder' | 'stale' | 'stalled';

/** Election cycles of simulated clients, recorded in `requests.history`. */
export class ElectionClients {
  constructor(
    private readonly world: World,
    private readonly requests: SessionRequests,
  ) {}

  /** One election cycle of client `cl` with its live session `s`, then `then`. */
  cycle(cl: ClientState, s: Session, then: () => void): void {
    const w = this.world;
    const e = ELECTIONS[w.rnd.nextInt(ELECTIONS.length)] ?? ELECTIONS[0];
    if (e === undefined) throw new Error('no elections');
    if (w.rnd.nextFloat() < READ_ONLY_P) this.readLeader(cl, e, then);
    else if (s.mayHold.has(e.key)) then();
    else this.campaign(cl, s, e, then);
  }

  /**
   * A campaign, waiting or not (and maybe withdrawn while it waits). Leading, the client serves
   * its term ({@link leading}); refused, it may look who leads and try an old token. An unknown
   * outcome abandons the session, which may then lead or wait: an `end-session` of unknown
   * outcome covers both.
   */
  private campaign(cl: ClientState, s: Session, e: PermitTarget, then: () => void): void {
    const w = this.world;
    const r = this.requests;
    const waitMs = w.rnd.nextFloat() < 0.5 ? 0 : 50 + w.rnd.nextInt(900);
    const value = `${s.key}/${r.unique()}`;
    // Named by the campaign's seq, known once the write is stamped (below).
    const ref: { ref: string; readonly waits: boolean; withdrawn?: boolean } = { ref: '', waits: waitMs > 0 };
    const input: ElectionInput = { op: 'campaign', client: s.key, value };
    const op = r.record({ family: 'election', client: s.key, key: e.key, input, call: w.now, permitAcquire: ref });
    const firstTerm = r.terms().min;
    let withdrawing = false;
    const seq = r.write(cl, s, { type: 'acquire-permit', kind: 'election', name: e.name, waitMs, value }, waitMs, (res) => {
      if (res.kind === 'value') {
        const v = res.value as AcquireValue;
        if (v.status === 'timed-out') r.checkWait(s, `election ${e.name}`, waitMs, op.call, firstTerm);
        if (v.status === 'granted') {
          r.resolve(op, 'ok', { acquired: true, token: v.token });
          s.mayHold.add(e.key);
          this.leading(cl, s, e, seq, v.token, then);
          return;
        }
        // 'cancelled' answers only a campaign this client withdrew.
        if (v.status === 'cancelled' && withdrawing) ref.withdrawn = true;
        if (v.status === 'not-acquired' || v.status === 'timed-out' || ref.withdrawn === true) {
          r.resolve(op, 'ok', { acquired: false });
          this.refused(cl, s, e, then);
          return;
        }
        // 'queued' never reaches a client (the service parks it), and 'held-by-you' is no
        // answer of an acquire-permit: treat as unknown.
        r.resolve(op, 'unknown');
      } else if (res.kind === 'not-applied') {
        // Never applied, or its wait ended with its session before any grant: it leads nothing.
        r.resolve(op, 'fail');
        then();
        return;
      } else r.resolve(op, 'unknown');
      s.mayHold.add(e.key);
      r.abandon(cl, s);
      then();
    });
    ref.ref = `${s.id}:${seq}`;
    if (waitMs > 0 && w.rnd.nextFloat() < WITHDRAW_P) {
      w.schedule(w.now + w.rnd.nextFloat() * waitMs, `withdraw ${cl.id}`, () => {
        // Only while the campaign is unanswered: an answered one waits no more.
        if (op.status !== 'pending' || s.dead) return;
        withdrawing = true;
        r.write(cl, s, { type: 'cancel-permit', kind: 'election', name: e.name, acquireSeq: seq }, 0, () => {});
      });
    }
  }

  /** After a refused campaign: sometimes a look at who leads, sometimes an old token tried. */
  private refused(cl: ClientState, s: Session, e: PermitTarget, then: () => void): void {
    const w = this.world;
    const steps: Array<(next: () => void) => void> = [];
    if (w.rnd.nextFloat() < 0.4) steps.push((next) => this.readLeader(cl, e, next));
    const old = cl.oldTokens.get(e.key);
    if (old !== undefined && w.rnd.nextFloat() < 0.3) steps.push((next) => this.proclaim(cl, s, e, old, 'stale', next));
    this.requests.sequence(steps, then);
  }

  /**
   * A term of office with token `token` (campaign `seq`): proclaims, reads, fenced writes
   * (sometimes with an old token too), then a resignation. Sometimes the leader stalls past its
   * TTL in the middle of its first proclaim (called, then sent after the pause: its session
   * has likely ended meanwhile, and with it the term).
   */
  private leading(cl: ClientState, s: Session, e: PermitTarget, seq: number, token: number, then: () => void): void {
    const w = this.world;
    const stall = w.rnd.nextFloat() < STALL_P;
    // Past the TTL, by less than the liveness phase's patience, so a stalled leader comes back.
    const pause = stall ? s.ttl * (1 + 0.3 * w.rnd.nextFloat()) : w.rnd.nextFloat() * 60;
    if (stall) s.stalledUntil = w.now + pause;
    const by: By = stall ? 'stalled' : 'holder';
    const term = (): void => {
      const steps: Array<(next: () => void) => void> = [];
      if (stall) steps.push((next) => this.proclaim(cl, s, e, token, by, next, pause));
      else if (w.rnd.nextFloat() < 0.6) steps.push((next) => this.proclaim(cl, s, e, token, by, next));
      if (w.rnd.nextFloat() < 0.5) steps.push((next) => this.readLeader(cl, e, next));
      steps.push((next) => this.fencedWrite(cl, s, e, token, by, next));
      const old = cl.oldTokens.get(e.key);
      if (old !== undefined && w.rnd.nextFloat() < 0.4) {
        steps.push((next) => this.proclaim(cl, s, e, old, 'stale', next));
        steps.push((next) => this.fencedWrite(cl, s, e, old, 'stale', next));
      }
      if (w.rnd.nextFloat() < 0.3) steps.push((next) => this.readLeader(cl, e, next));
      steps.push((next) => this.requests.releasePermit(cl, s, e, seq, token, next));
      this.requests.sequence(steps, () => {
        // A term that ended with its session: the client keeps its token to try it later.
        if (s.dead) cl.oldTokens.set(e.key, token);
        then();
      });
    };
    if (stall) term();
    else w.schedule(w.now + pause, `lead ${cl.id}`, term);
  }

  /**
   * `proclaim` of a new value with `token`: by the leader, by one that stalled, or with an old
   * token. `stallMs`: the client stalls that long between the call and sending it.
   */
  private proclaim(cl: ClientState, s: Session, e: PermitTarget, token: number, by: By, then: () => void, stallMs = 0): void {
    const w = this.world;
    const r = this.requests;
    if (s.dead) {
      then();
      return;
    }
    const value = `${s.key}/${r.unique()}`;
    const input: ElectionInput = { op: 'proclaim', client: s.key, token, value };
    const op = r.record({ family: 'election', client: s.key, key: e.key, input, call: w.now, fencedBy: by });
    const send = (): void => {
      r.write(cl, s, { type: 'proclaim', name: e.name, token, value }, 0, (res) => {
        if (res.kind === 'value') r.resolve(op, 'ok', 'ok');
        else if (res.kind === 'refused' && res.code === 'NOT_HELD') r.resolve(op, 'ok', 'NOT_HELD');
        else if (res.kind === 'maybe') r.resolve(op, 'unknown');
        else {
          r.resolve(op, 'fail');
          if (res.kind === 'not-applied' && res.expired === true) op.expired = true;
        }
        then();
      });
    };
    if (stallMs > 0) w.schedule(w.now + stallMs, `stalled ${cl.id}`, send);
    else send();
  }

  /** An add to the election's protected counter fenced with `{ lock, kind: 'election', token }`. */
  private fencedWrite(cl: ClientState, s: Session, e: PermitTarget, token: number, by: By, then: () => void): void {
    const fence = { lock: e.name, kind: 'election' as const, token };
    this.requests.fencedCounterWrite(cl, s, { family: 'election', key: e.key }, `p:${e.key}`, fence, by, then);
  }

  /** A linearizable `election-info`, recorded as a leader read (a read with no answer had no effect). */
  private readLeader(cl: ClientState, e: PermitTarget, then: () => void): void {
    const w = this.world;
    const r = this.requests;
    const op = r.record({ family: 'election', client: `c${cl.id}`, key: e.key, input: { op: 'read' }, call: w.now });
    r.send(cl, { query: { type: 'election-info', name: e.name } }, 300, w.now + 1500, (f) => {
      if (f.type === 'answer' && f.outcome.type === 'ok') {
        const leader = (f.outcome.value as ElectionInfoValue).leader;
        const seen: ElectionOutput =
          leader === null ? null : { session: `s${leader.sessionId}`, token: leader.fencingToken, value: leader.value };
        r.resolve(op, 'ok', seen);
      } else r.resolve(op, 'fail');
      then();
    });
  }
}

/** What an elections-workload history says of its elections. */
export interface ElectionCounts {
  /** Campaigns sent, and of them those that could wait. */
  readonly campaigns: number;
  readonly waiting: number;
  /** Leaders elected at once, and granted from the candidates' queue after waiting. */
  readonly electedAtOnce: number;
  readonly electedAfterWait: number;
  /** Campaigns answered not acquired (`not-acquired`, `timed-out`, or withdrawn: `cancelled`), and the withdrawn ones. */
  readonly notAcquired: number;
  readonly withdrawn: number;
  /** Campaigns of unknown outcome. */
  readonly unknown: number;
  /** Leader reads that showed a leader, and nobody. */
  readonly readsLeader: number;
  readonly readsNobody: number;
  /** Proclaims and fenced writes answered accepted / refused (NOT_HELD, FENCED) / SESSION_EXPIRED, by who sent them. */
  readonly proclaims: Readonly<Record<By, Outcomes>>;
  readonly fencedWrites: Readonly<Record<By, Outcomes>>;
  /** Resignations answered released / NOT_HELD. */
  readonly resigned: number;
  readonly resignNotHeld: number;
}

/** How proclaims or fenced writes of one kind of sender were answered. */
export interface Outcomes {
  readonly accepted: number;
  readonly refused: number;
  readonly expired: number;
}

/** Counts the election operations of an elections-workload history (`SimResult.history`). */
export function electionCounts(history: readonly object[]): ElectionCounts {
  const c = {
    campaigns: 0,
    waiting: 0,
    electedAtOnce: 0,
    electedAfterWait: 0,
    notAcquired: 0,
    withdrawn: 0,
    unknown: 0,
    readsLeader: 0,
    readsNobody: 0,
    resigned: 0,
    resignNotHeld: 0,
  };
  const outcomes = (): Record<By, { accepted: number; refused: number; expired: number }> => ({
    holder: { accepted: 0, refused: 0, expired: 0 },
    stale: { accepted: 0, refused: 0, expired: 0 },
    stalled: { accepted: 0, refused: 0, expired: 0 },
  });
  const proclaims = outcomes();
  const fencedWrites = outcomes();
  for (const op of history as readonly LockWorkloadOp[]) {
    if (op.family !== 'election') continue;
    const input = op.input as ElectionInput;
    const output = op.status === 'ok' ? (op.output as ElectionOutput) : undefined;
    if (input.op === 'campaign') countCampaign(c, op, output);
    else if (input.op === 'read' && op.status === 'ok') {
      if (output === null) c.readsNobody++;
      else c.readsLeader++;
    } else if (input.op === 'resign') {
      if (output === 'ok') c.resigned++;
      else if (output === 'NOT_HELD') c.resignNotHeld++;
    } else if ((input.op === 'proclaim' || input.op === 'fenced-write') && op.fencedBy !== undefined && op.fencedBy !== 'reader') {
      const o = (input.op === 'proclaim' ? proclaims : fencedWrites)[op.fencedBy];
      if (output === 'ok' || output === 'applied') o.accepted++;
      else if (output === 'NOT_HELD' || output === 'FENCED') o.refused++;
      else if (op.expired === true) o.expired++;
    }
  }
  return { ...c, proclaims, fencedWrites };
}

function countCampaign(
  c: {
    campaigns: number;
    waiting: number;
    electedAtOnce: number;
    electedAfterWait: number;
    notAcquired: number;
    withdrawn: number;
    unknown: number;
  },
  op: LockWorkloadOp,
  output: ElectionOutput,
): void {
  c.campaigns++;
  if (op.permitAcquire?.waits === true) c.waiting++;
  if (op.status === 'unknown' || op.status === 'pending') c.unknown++;
  if (typeof output !== 'object' || output === null || !('acquired' in output)) return;
  if (!output.acquired) {
    c.notAcquired++;
    if (op.permitAcquire?.withdrawn === true) c.withdrawn++;
  } else if (op.permitAcquire?.handedOff === true) c.electedAfterWait++;
  else c.electedAtOnce++;
}
