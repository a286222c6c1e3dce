/**
 * Leader elections in the SDK (docs/design.md#leader-elections): the handle a client gives out
 * ({@link Election}: no request until a method is called) and the grant a campaign wins
 * ({@link Leadership}). An election is a resource of one permit in the cluster: its holder leads,
 * its waiters are the candidates, in FIFO order. So a leadership is a held grant like a `Permit`
 * (signal, state, release, its completion in the background, the one acquire flow), with the
 * value it leads with and {@link Leadership.proclaim}.
 */
import { MAX_ELECTION_VALUE_LENGTH, type ElectionInfoValue, type OpValues, type WatchEvent } from '../protocol/index.js';
import type { LockInfoOptions, LockOptions } from './client.js';
import type { CallOptions } from './cluster-client.js';
import type { StateSource, WriteBody, WriteOptions } from './counter.js';
import { InvalidArgumentError, LockLostError, LockTimeoutError, NotHeldError } from './errors.js';
import type { GrantRequest, LockOwner } from './lock.js';
import { HeldPermit, permitRequest, type PermitOwner } from './permit.js';
import type { Session } from './session.js';

/** What an {@link Election} needs from its client. @internal */
export interface ElectionOwner extends PermitOwner, StateSource {
  write<B extends WriteBody>(body: B, opts: WriteOptions): Promise<OpValues[B['op']]>;
}

/** An election's leader: its session, its fencing token, and the value it leads with. */
export interface ElectionLeader {
  readonly sessionId: number;
  /** The leadership's fencing token: the log index of the entry that elected it. */
  readonly token: number;
  /** The value it campaigned with, or the last it proclaimed. */
  readonly value: string;
}

/** A change of an election's leader ({@link Election.observe}): who leads from the log entry `index` on. */
export interface LeaderChange {
  readonly index: number;
  /** The new leader (or the same leader with a new value), or null when nobody leads. */
  readonly leader: ElectionLeader | null;
}

/** Options of {@link Election.campaign}. */
export interface CampaignOptions extends CallOptions {
  /**
   * How long to wait to become leader before {@link LockTimeoutError}. Default: no limit (until
   * `signal` aborts, or the call's `timeoutMs` if given): a campaign normally waits its turn.
   */
  readonly waitMs?: number;
}

/** Options of {@link Election.observe}. */
export interface ObserveOptions {
  /** Ends the iteration: a pending `next()` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * How long one round of a campaign without `waitMs` queues in the cluster: the cluster's default
 * longest wait. A round that ends ungranted queues again (after a day, at the back).
 */
const CAMPAIGN_ROUND_MS = 24 * 60 * 60 * 1000;

/** How messages name a leadership. */
function electionLabel(name: string): string {
  return `leadership of election ${JSON.stringify(name)}`;
}

/**
 * The key of an election's local gate: a lone surrogate, which no lock name can hold (the name
 * rule refuses them), so it never shares a gate with a lock.
 */
function electionGate(name: string): string {
  return `\ud800election ${name}`;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '')
    throw new InvalidArgumentError(`name must be a non-empty string, got ${typeof name === 'string' ? '""' : typeof name}`, 'name');
  return name;
}

/** A value to lead with: a string of at most {@link MAX_ELECTION_VALUE_LENGTH} UTF-16 code units (the cluster checks the rest). */
function checkValue(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_ELECTION_VALUE_LENGTH)
    throw new InvalidArgumentError(
      `value must be a string of at most ${MAX_ELECTION_VALUE_LENGTH} UTF-16 code units, got ${typeof value === 'string' ? `${value.length}` : typeof value}`,
      'value',
    );
  return value;
}

/** The leader an `election-info` answer names, or null. */
function leaderOfInfo(info: ElectionInfoValue): ElectionLeader | null {
  const l = info.leader;
  return l === null ? null : { sessionId: l.sessionId, token: l.fencingToken, value: l.value };
}

/** The leader a `leader-changed` event names, or null (no session: nobody leads). */
function leaderOfEvent(ev: WatchEvent): ElectionLeader | null {
  if (ev.session === undefined) return null;
  return { sessionId: ev.session, token: ev.token ?? 0, value: typeof ev.value === 'string' ? ev.value : String(ev.value ?? '') };
}

function sameLeader(a: ElectionLeader | null, b: ElectionLeader | null): boolean {
  if (a === null || b === null) return a === b;
  return a.sessionId === b.sessionId && a.token === b.token && a.value === b.value;
}

/**
 * The leaders of election `name` (see {@link Election.observe}), from `source`: the leader now,
 * then each change, as a watch of its `leader-changed` events from the index after that read.
 * @internal
 */
export async function* electionLeaders(
  source: StateSource,
  name: string,
  opts: ObserveOptions = {},
): AsyncGenerator<LeaderChange, void, undefined> {
  checkName(name);
  const { signal } = opts;
  const call = signal !== undefined ? { signal } : {};
  // A linearizable read answers with the index its state is exactly at: the watch goes on from there.
  const first = await source.readIndexed({ op: 'election-info', name }, call);
  let last = leaderOfInfo(first.value);
  yield { index: first.index, leader: last };
  const watch = source.watch({ prefix: name, kinds: ['election'], fromIndex: first.index + 1, ...call });
  try {
    for (;;) {
      const r = await watch.nextEntry();
      if (r.done === true) return;
      // The leader after the whole entry: at most one change of this election per index.
      let ev: WatchEvent | undefined;
      for (const e of r.value) if (e.type === 'leader-changed' && e.name === name) ev = e;
      if (ev === undefined) continue;
      const leader = leaderOfEvent(ev);
      if (sameLeader(leader, last)) continue;
      last = leader;
      yield { index: ev.index, leader };
    }
  } finally {
    await watch.return();
  }
}

/**
 * This client's leadership of an election, won by {@link Election.campaign}. While it is held,
 * nobody else leads the election. Give it up with {@link resign} (or `await using`); watch
 * {@link signal} while acting as leader: it fires **before** another candidate could be elected
 * (its session ended, or its lease is in doubt: no keep-alive acknowledged for so long that the
 * cluster could expire the session before this client hears of it), as a lock's does.
 *
 * {@link token} is the fencing token: the log index of the entry that elected it, strictly
 * increasing from one leader of the election to the next. A resource that a leader commands
 * remembers the highest token it has seen and refuses lower ones, so a deposed leader that still
 * believes it leads is refused; a counter write with {@link fence} is applied only while this
 * leadership holds.
 */
export class Leadership extends HeldPermit {
  private proclaimed: string;

  /** @internal Created by the client. */
  constructor(
    private readonly electionOwner: ElectionOwner & LockOwner,
    session: Session,
    name: string,
    value: string,
    acquireSeq: number,
    fencingToken: number,
    onGone: (leftover: readonly string[]) => void,
  ) {
    super(electionOwner, session, 'election', name, acquireSeq, fencingToken, onGone, electionLabel(name));
    this.proclaimed = value;
  }

  declare readonly kind: 'election';

  /** The fencing token (the same as {@link fencingToken}): strictly increasing per election. */
  get token(): number {
    return this.fencingToken;
  }

  /** The value this leader leads with: the one it campaigned with, or the last it proclaimed. */
  get value(): string {
    return this.proclaimed;
  }

  /**
   * Publishes a new value without giving up the leadership (a new address, a new term of your
   * own): observers see it as a change. Throws {@link NotHeldError} when this client no longer
   * leads (and the leadership is then lost: its `signal` fires); {@link InvalidArgumentError}
   * for a value that is not a string of at most 1,024 UTF-16 code units. Exactly once, like
   * every write.
   */
  async proclaim(value: string, opts: CallOptions = {}): Promise<void> {
    const v = checkValue(value);
    if (this.state !== 'held') throw new NotHeldError(`${this.label} (token ${this.token}) is no longer held: nothing to proclaim`);
    try {
      await this.electionOwner.write({ op: 'proclaim', name: this.name, token: this.token, value: v }, opts);
    } catch (err) {
      // The cluster says this session does not lead with this token: it is lost for sure.
      if (err instanceof NotHeldError) this.lose(new LockLostError(this.name, `${this.label}: ${err.message}`), true, []);
      throw err;
    }
    this.proclaimed = v;
  }

  /**
   * Gives the leadership up: the next candidate, if any, is elected in the same log entry.
   * {@link release} by another name, with its contract: {@link NotHeldError} when it is no longer
   * held (resigned already, or lost with its session).
   */
  resign(opts: CallOptions = {}): Promise<void> {
    return this.release(opts);
  }
}

/**
 * A leader election of the cluster, by name (docs/design.md#leader-elections). Created by
 * `client.election(name)`; no request is made until a method is called.
 *
 * - **One leader at a time**, with a fencing token strictly increasing per election.
 * - **Candidates wait in FIFO order**: when the leader resigns, or its session ends, the next
 *   candidate leads, in the same log entry.
 * - **One campaign per client at a time** in one election: a second `campaign()` of this client
 *   waits (here, in the client) until the first one's leadership ends.
 * - Each leader has a value (its address, say), set by its campaign and changed with
 *   {@link Leadership.proclaim}; {@link leader} and {@link observe} show it.
 *
 * ```ts
 * const election = client.election('scheduler');
 * await using leadership = await election.campaign('host-a:8080');
 * while (!leadership.signal.aborted) await runOneRound(leadership.token);
 * ```
 */
export class Election {
  /** @internal Created by `client.election(name)`. */
  constructor(
    private readonly owner: ElectionOwner,
    /** The election's name (its own namespace, apart from locks, semaphores and readers-writer locks). */
    readonly name: string,
  ) {
    checkName(name);
  }

  /**
   * Stands for election with `value`: resolves once this client leads, with its
   * {@link Leadership}. Waits in the candidates' FIFO queue without a limit by default; `waitMs`
   * bounds the wait ({@link LockTimeoutError}), `timeoutMs` the whole call, and `signal` ends it
   * (the call rejects with its reason): a campaign that ends early is withdrawn from the queue at
   * once, and a leadership won meanwhile is given up. {@link InvalidArgumentError} for a value
   * that is not a string of at most 1,024 UTF-16 code units.
   */
  async campaign(value: string, opts: CampaignOptions = {}): Promise<Leadership> {
    const request = this.request(checkValue(value));
    if (opts.waitMs !== undefined) return this.owner.waitForGrant(request, opts);
    for (;;) {
      try {
        return await this.owner.waitForGrant(request, { ...opts, waitMs: CAMPAIGN_ROUND_MS } satisfies LockOptions);
      } catch (err) {
        // A round that ended ungranted, the cluster said so: stand again.
        if (!(err instanceof LockTimeoutError) || err.outcomeUnknown) throw err;
      }
    }
  }

  /** Who leads now (a linearizable read unless `stale`), or null when nobody does. */
  async leader(opts: LockInfoOptions = {}): Promise<ElectionLeader | null> {
    return leaderOfInfo(await this.info(opts));
  }

  /**
   * The leader now, with when it was elected and when its session expires unless renewed, and how
   * many candidates wait (a linearizable read unless `stale`).
   */
  async info(opts: LockInfoOptions = {}): Promise<ElectionInfoValue> {
    const { name } = this;
    return this.owner.read(opts.stale === true ? { op: 'election-info', name, stale: true } : { op: 'election-info', name }, opts);
  }

  /**
   * The leader now, then every change: an async iterator of {@link LeaderChange}s (a new leader,
   * nobody leading, or the same leader proclaiming a new value), each with the index of the log
   * entry that made it. It rides out failovers and reconnects as a watch does, and ends when you
   * `break` (or its `signal` aborts), or as a watch ends (`CompactedError`, `LimitExceededError`
   * for a consumer that falls behind: see `client.watch()`).
   *
   * ```ts
   * for await (const { leader } of client.election('scheduler').observe()) {
   *   console.log(leader === null ? 'no leader' : `led by ${leader.value} (token ${leader.token})`);
   * }
   * ```
   */
  observe(opts: ObserveOptions = {}): AsyncGenerator<LeaderChange, void, undefined> {
    return electionLeaders(this.owner, this.name, opts);
  }

  private request(value: string): GrantRequest<Leadership> {
    const { name, owner } = this;
    return {
      ...permitRequest<Leadership>(
        'election',
        name,
        electionLabel(name),
        (waitMs) => ({ op: 'acquire-permit', kind: 'election', name, waitMs, value }),
        (s, seq, token, onGone) => new Leadership(owner, s, name, value, seq, token, onGone),
      ),
      gates: [electionGate(name)],
    };
  }
}
