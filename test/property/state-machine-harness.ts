/**
 * Drives the lock/counter state machine through random histories for the property tests.
 *
 * A history is a list of abstract {@link Step}s that the harness turns into log entries the
 * way a leader and its clients would: sessions referenced by slot, each client numbering its
 * writes (lock waits withdrawn with `cancel-wait` among them; semaphores, readers-writer locks
 * and elections, whose leaders proclaim) and sometimes acknowledging,
 * retrying an earlier `(session, seq)`, fencing with a current or stale token; the leader's
 * clock advancing (and behind or ahead after an election), proposing expiry from
 * `expiredSessions`, ticking; elections with or without a no-op; config and undecodable entries;
 * snapshot + restore into a fresh machine. Every entry goes to every replica; after each one
 * the harness runs the checks that were asked for:
 * - `model`: results (failures by code), events and observations equal the reference model's;
 * - `bytes`: all replicas' snapshots are identical (determinism; restore ≡ replay);
 * - `tokens`: grants are exclusive and fencing tokens increase ({@link GrantChecker});
 * - `waits`: waits time out neither early nor late ({@link WaitChecker});
 * - `check`: the caller's own check (the state digest's, state-digest.property.test.ts).
 */
import fc from 'fast-check';
import { pack } from 'msgpackr';
import type { Entry, EntryType } from '../../src/raft/index.js';
import { encodeEntry } from '../../src/state-machine/codec.js';
import type { Command, Fence, WriteCommand } from '../../src/state-machine/commands.js';
import { LockMachine, type LockMachineOptions } from '../../src/state-machine/lock-machine.js';
import type { ApplyOutput, CommandResult } from '../../src/state-machine/results.js';
import { holds, same } from './check.js';
import { Model, type ModelLimits } from './state-machine-model.js';
import { TEST_SECRET } from '../support/secrets.js';

export const LOCKS = ['a', 'b', 'c'] as const;
/** Semaphores, readers-writer locks and elections of the histories (the same names for all: separate namespaces). */
const PERMIT_NAMES = ['p', 'q'] as const;
/** Values candidates campaign with and leaders proclaim: empty, plain, and beyond ASCII. */
const VALUES = ['', 'node-1:7101', 'node-2:7102', 'é✓ 𝄞'] as const;
const PERMIT_KINDS = ['semaphore', 'rwlock', 'election'] as const;
/** The lock sets of acquire-all / release-all steps (in name order, as a parsed command has them). */
const SETS: ReadonlyArray<readonly string[]> = [
  ['a', 'b'],
  ['b', 'c'],
  ['a', 'c'],
  ['a', 'b', 'c'],
];
export const COUNTERS = ['x', 'y'] as const;
const MAX = Number.MAX_SAFE_INTEGER;

/** Small limits so that every limit is actually reached in short histories. */
export const SMALL_LIMITS: ModelLimits = { maxSessions: 6, maxWaitersPerLock: 2, maxUnackedResults: 6, maxGraceExtensions: 2 };

export type Step = { readonly dt: number; readonly skew: number } & (
  | { readonly k: 'open'; readonly ttl: number; readonly client: boolean }
  | { readonly k: 'keepalive'; readonly s: number; readonly ack: number }
  | {
      readonly k: 'acquire';
      readonly s: number;
      readonly lock: number;
      readonly wait: number;
      readonly fence: number;
      readonly ack: number;
    }
  | { readonly k: 'release'; readonly s: number; readonly lock: number; readonly fence: number; readonly ack: number }
  | {
      readonly k: 'cancel';
      readonly s: number;
      readonly lock: number;
      readonly fence: number;
      readonly ack: number;
      /** Then retry the withdrawn acquire's own (session, seq): it must answer `cancelled`. */
      readonly retry: boolean;
    }
  | {
      readonly k: 'counter';
      readonly s: number;
      readonly op: number;
      readonly name: number;
      readonly a: number;
      readonly b: number;
      readonly fence: number;
      readonly ack: number;
    }
  | { readonly k: 'close'; readonly s: number }
  /** acquire-permit of a semaphore (sometimes with another permit count) or a readers-writer lock. */
  | {
      readonly k: 'permit';
      readonly s: number;
      readonly rw: boolean;
      readonly name: number;
      readonly weight: number;
      readonly write: boolean;
      readonly odd: boolean;
      readonly wait: number;
      readonly ack: number;
    }
  /** A campaign in an election (acquire-permit of kind election), mostly by a session that does not lead it. */
  | {
      readonly k: 'campaign';
      readonly s: number;
      readonly name: number;
      readonly value: number;
      readonly wait: number;
      readonly ack: number;
    }
  /** A proclaim: mostly by the leader with its token, else with a stale token or by another session. */
  | {
      readonly k: 'proclaim';
      readonly s: number;
      readonly name: number;
      readonly value: number;
      readonly who: number;
      readonly ack: number;
    }
  /** release-permit / cancel-permit of one of the acquire-permits sent so far (`pick`). */
  | { readonly k: 'unpermit'; readonly cancel: boolean; readonly pick: number; readonly ack: number }
  /** acquire-all of two or three locks (`set` picks which), and release-all of a set. */
  | { readonly k: 'lockall'; readonly s: number; readonly set: number; readonly wait: number; readonly ack: number }
  | { readonly k: 'releaseall'; readonly s: number; readonly set: number; readonly ack: number }
  /** An operator breaks a lock (mostly a held one), with or without a reason. */
  | { readonly k: 'break'; readonly s: number; readonly lock: number; readonly reason: boolean; readonly ack: number }
  | { readonly k: 'retry'; readonly s: number; readonly pick: number }
  | { readonly k: 'expire'; readonly ahead: number; readonly extra: boolean }
  | { readonly k: 'tick' }
  | { readonly k: 'election'; readonly noop: boolean; readonly shift: number }
  | { readonly k: 'config' }
  | { readonly k: 'invalid'; readonly variant: number }
  | { readonly k: 'snapshot' }
);

const slot = fc.nat({ max: 7 });
const ack = fc.nat({ max: 6 });
const fenceChoice = fc.nat({ max: 14 });
const amount = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -5, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(MAX, -MAX, MAX - 2, -(MAX - 2)) },
);

const body: fc.Arbitrary<Omit<Step, 'dt' | 'skew'>> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('open' as const), ttl: fc.constantFrom(1_000, 5_000, 20_000), client: fc.boolean() }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('keepalive' as const), s: slot, ack }) },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('acquire' as const),
      s: slot,
      lock: fc.nat({ max: 2 }),
      wait: fc.constantFrom(0, 0, 300, 1_500, 6_000, 20_000),
      fence: fenceChoice,
      ack,
    }),
  },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('release' as const), s: slot, lock: fc.nat({ max: 2 }), fence: fenceChoice, ack }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('cancel' as const),
      s: slot,
      lock: fc.nat({ max: 2 }),
      fence: fenceChoice,
      ack,
      retry: fc.boolean(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('counter' as const),
      s: slot,
      op: fc.nat({ max: 4 }),
      name: fc.nat({ max: 1 }),
      a: amount,
      b: amount,
      fence: fenceChoice,
      ack,
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('close' as const), s: slot }) },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('permit' as const),
      s: slot,
      rw: fc.boolean(),
      name: fc.nat({ max: 1 }),
      weight: fc.constantFrom(1, 1, 2, 3),
      write: fc.boolean(),
      odd: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      wait: fc.constantFrom(0, 300, 1_500, 6_000, 20_000),
      ack,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('campaign' as const),
      s: slot,
      name: fc.nat({ max: 1 }),
      value: fc.nat({ max: VALUES.length - 1 }),
      wait: fc.constantFrom(0, 300, 1_500, 6_000, 20_000),
      ack,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('proclaim' as const),
      s: slot,
      name: fc.nat({ max: 1 }),
      value: fc.nat({ max: VALUES.length - 1 }),
      who: fc.nat({ max: 9 }),
      ack,
    }),
  },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('unpermit' as const), cancel: fc.boolean(), pick: fc.nat({ max: 40 }), ack }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('lockall' as const),
      s: slot,
      set: fc.nat({ max: 3 }),
      wait: fc.constantFrom(0, 300, 1_500, 6_000, 20_000),
      ack,
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('releaseall' as const), s: slot, set: fc.nat({ max: 3 }), ack }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('break' as const), s: slot, lock: fc.nat({ max: 2 }), reason: fc.boolean(), ack }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('retry' as const), s: slot, pick: fc.nat({ max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('expire' as const), ahead: fc.constantFrom(0, 500, 3_000), extra: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tick' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('election' as const),
      noop: fc.boolean(),
      // The new leader's clock against the old one's: the same, behind, or ahead.
      shift: fc.constantFrom(0, 0, -800, -4_000, 2_000, 15_000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('config' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('invalid' as const), variant: fc.nat({ max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('snapshot' as const) }) },
);

export const arbStep: fc.Arbitrary<Step> = fc
  .record({
    dt: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 4, arbitrary: fc.nat({ max: 600 }) },
      { weight: 2, arbitrary: fc.nat({ max: 3_000 }) },
    ),
    skew: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 2_000 }) }),
    b: body,
  })
  .map(({ dt, skew, b }) => ({ dt, skew, ...b }) as Step);

export const arbHistory = (maxLength = 80): fc.Arbitrary<Step[]> => fc.array(arbStep, { minLength: 1, maxLength, size: 'max' });

// ---- grant checker --------------------------------------------------------------------------

/**
 * Mutual exclusion and fencing tokens from what clients are told
 * (docs/design.md#fencing-tokens): a session holds a lock from its grant (an acquire answered
 * `granted` with this entry's index as token, or a `granted` event) until its release succeeds
 * or its session ends (`session-expired` / `session-closed`); other `lock-released` events (of
 * expiry and close) are not trusted. A grant while another session holds the lock is a
 * violation; per lock, tokens strictly increase; across all locks, grants of later entries
 * carry larger tokens.
 */
export class GrantChecker {
  private readonly holder = new Map<string, { session: number; token: number }>();
  private readonly lastToken = new Map<string, number>();
  private lastGlobal = 0;
  private lastGlobalIndex = 0;

  observe(index: number, cmd: Command | undefined, out: ApplyOutput): void {
    // A successful release lets go at its own `lock-released` event (the one naming the released
    // token: expiries earlier in the same step may have handed this very lock to the releaser).
    // A retried release answers the token it released back then and emits nothing.
    // A release-all lets go of the names it answers, one lock-released event each; a retried
    // one emits nothing.
    const released =
      cmd?.type === 'release' && out.result.ok
        ? { names: [cmd.name], session: cmd.session, token: (out.result.value as { token: number }).token }
        : cmd?.type === 'release-all' && out.result.ok
          ? { names: (out.result.value as { released: string[] }).released, session: cmd.session, token: undefined }
          : undefined;
    for (const e of out.events) {
      // Semaphores and readers-writer locks share grants by design: the model holds them.
      if ('kind' in e && e.kind !== undefined) continue;
      if (
        e.type === 'lock-released' &&
        released !== undefined &&
        released.names.includes(e.name) &&
        e.session === released.session &&
        (released.token === undefined || e.token === released.token)
      ) {
        const h = this.holder.get(e.name);
        holds(
          h?.session === e.session && h.token === e.token,
          () => `release at ${index}: ${e.name} released by ${e.session} (token ${e.token}) but held by ${h?.session} (token ${h?.token})`,
        );
        this.holder.delete(e.name);
      } else if (e.type === 'lock-broken') {
        const h = this.holder.get(e.name);
        holds(
          h?.session === e.session && h.token === e.token,
          () =>
            `break at ${index}: ${e.name} broken as held by ${e.session} (token ${e.token}) but held by ${h?.session} (token ${h?.token})`,
        );
        this.holder.delete(e.name);
      } else if (e.type === 'session-expired' || e.type === 'session-closed') {
        for (const [name, h] of [...this.holder]) if (h.session === e.session) this.holder.delete(name);
      } else if (e.type === 'granted') {
        for (const name of e.names ?? [e.name]) this.grant(index, name, e.session, e.token);
      }
    }
    if (cmd?.type === 'acquire-all' && out.result.ok) {
      const v = out.result.value as { status: string; token?: number };
      const handedOff = out.events.some((e) => e.type === 'granted' && e.session === cmd.session && e.seq === cmd.seq);
      if (v.status === 'granted' && v.token === index && !handedOff)
        for (const name of cmd.names) this.grant(index, name, cmd.session, index);
    }
    if (cmd?.type === 'acquire' && out.result.ok) {
      // A new grant carries this entry's index — unless it is a retry of a queued acquire whose
      // wait was granted earlier in this same step (then the event above was that grant).
      const v = out.result.value as { status: string; token?: number };
      const handedOff = out.events.some((e) => e.type === 'granted' && e.name === cmd.name && e.session === cmd.session);
      if (v.status === 'granted' && v.token === index && !handedOff) this.grant(index, cmd.name, cmd.session, index);
    }
  }

  private grant(index: number, name: string, session: number, token: number): void {
    const h = this.holder.get(name);
    holds(
      h === undefined || h.session === session,
      () => `exclusion: ${name} granted to session ${session} at index ${index} while session ${h?.session} holds it`,
    );
    holds(token > (this.lastToken.get(name) ?? 0), () => `tokens: ${name} granted with ${token} after ${this.lastToken.get(name)}`);
    holds(
      token >= this.lastGlobal && (token > this.lastGlobal || index === this.lastGlobalIndex),
      () => `tokens: grant at ${index} with ${token} after ${this.lastGlobal}`,
    );
    this.holder.set(name, { session, token });
    this.lastToken.set(name, token);
    this.lastGlobal = token;
    this.lastGlobalIndex = index;
  }

  /** The checker's holders agree with the machine's own view. */
  agrees(m: LockMachine): void {
    for (const name of LOCKS) {
      const h = this.holder.get(name);
      const info = m.lockInfo(name).holder;
      same(
        info === undefined ? undefined : { session: info.sessionId, token: info.fencingToken },
        h,
        `holder of ${name} (checker vs machine)`,
      );
    }
  }
}

// ---- wait checker ---------------------------------------------------------------------------

interface TrackedWait {
  readonly name: string;
  readonly waitMs: number;
  /** Log time charged to the wait so far. */
  charged: number;
  /** Leader-change jumps not charged to it. */
  graced: number;
}

/**
 * Waits end neither early nor late, stated without deadlines
 * (docs/design.md#time-in-the-state-machine): a queued acquire is charged the log time that
 * passes while it waits, except the jump of log time at the first stamped entry of a new term,
 * for its first `maxGrace` such jumps (leader-change grace; a jump of 0 is not one). Its
 * `wait-timeout` must come at the first entry at which the charge reaches `waitMs`: not before
 * (a new leader whose clock runs ahead must not cut it short) and not after (grace is bounded).
 * A grant, its withdrawal (`cancel-wait`), or the end of its session ends a wait too. Log time
 * is computed here from the stamps, not read from the machine.
 */
export class WaitChecker {
  /** By `session/seq` of the acquire. */
  private readonly waits = new Map<string, TrackedWait>();
  private time = 0;
  private term = 0;
  /** A term began and none of its entries was stamped yet. */
  private leaderChange = false;

  constructor(private readonly maxGrace: number) {}

  /** One applied entry; `stamp` for a valid command entry, undefined when no time passes. */
  observe(index: number, term: number, stamp: number | undefined, cmd: Command | undefined, out: ApplyOutput): void {
    if (term > this.term) {
      this.term = term;
      this.leaderChange = true;
    }
    if (stamp === undefined) return;
    const jump = Math.max(this.time, stamp) - this.time;
    this.time += jump;
    const graced = this.leaderChange && jump > 0;
    this.leaderChange = false;
    for (const w of this.waits.values()) {
      if (graced && w.graced < this.maxGrace) w.graced++;
      else w.charged += jump;
    }
    for (const e of out.events) {
      if (e.type === 'wait-cancelled') {
        const key = `${e.session}/${e.seq}`;
        holds(this.waits.has(key), () => `wait: a wait-cancelled at index ${index} for ${key} on ${e.name}, which is not waiting`);
        this.waits.delete(key);
      } else if (e.type === 'wait-timeout') {
        const key = `${e.session}/${e.seq}`;
        const w = this.waits.get(key);
        holds(w !== undefined, () => `wait: a wait-timeout at index ${index} for ${key} on ${e.name}, which is not waiting`);
        holds(
          w !== undefined && w.charged >= w.waitMs,
          () =>
            `wait: session ${e.session} (seq ${e.seq}) timed out early on ${e.name} at index ${index}: ${w?.charged} of its ${w?.waitMs} ms charged (${w?.graced} leader-change jumps not charged)`,
        );
        this.waits.delete(key);
      } else if (e.type === 'granted') {
        this.waits.delete(`${e.session}/${e.seq}`);
      } else if (e.type === 'session-expired' || e.type === 'session-closed') {
        for (const key of [...this.waits.keys()]) if (key.startsWith(`${e.session}/`)) this.waits.delete(key);
      }
    }
    const waiting = cmd?.type === 'acquire' || cmd?.type === 'acquire-all' || cmd?.type === 'acquire-permit' ? cmd : undefined;
    if (waiting !== undefined && out.result.ok && (out.result.value as { status: string }).status === 'queued') {
      const key = `${waiting.session}/${waiting.seq}`;
      // A retry while queued answers `queued` again: the same wait, or one that the end of this
      // very step granted (its `granted` event, above).
      const grantedNow = out.events.some((e) => e.type === 'granted' && e.session === waiting.session && e.seq === waiting.seq);
      const name =
        waiting.type === 'acquire'
          ? waiting.name
          : waiting.type === 'acquire-all'
            ? waiting.names.join('+')
            : `${waiting.kind} ${waiting.name}`;
      if (!this.waits.has(key) && !grantedNow) this.waits.set(key, { name, waitMs: waiting.waitMs, charged: 0, graced: 0 });
    }
    for (const [key, w] of this.waits) {
      holds(
        w.charged < w.waitMs,
        () =>
          `wait: session/seq ${key} still queued on ${w.name} at index ${index}: ${w.charged} of its ${w.waitMs} ms charged (${w.graced} leader-change jumps not charged)`,
      );
    }
  }
}

// ---- the driver -------------------------------------------------------------------------------

export interface RunOptions {
  /** Options of every replica (e.g. a deliberate bug); `k` is the replica number. */
  readonly machine?: (k: number) => LockMachineOptions;
  readonly replicas?: number;
  readonly model?: boolean;
  readonly bytes?: boolean;
  readonly tokens?: boolean;
  readonly waits?: boolean;
  /** Negative controls of the checkers: rewrites what replica 0 reports. */
  readonly corrupt?: (out: ApplyOutput, cmd: Command | undefined, index: number) => ApplyOutput;
  /** Observed by the determinism negative control: each replica's clock. */
  readonly clock?: { now: number };
  /** A check of the caller's, after every entry and every restore, over all replicas. */
  readonly check?: (machines: readonly LockMachine[], where: string) => void;
}

type WriteFieldsOf = { session: number; seq: number; ackedSeq?: number; fence?: Fence };

const norm = (r: CommandResult): unknown => (r.ok ? r : { ok: false, code: r.code });

/** Runs `steps`; throws (with the step number) at the first failed check. */
export function runHistory(steps: readonly Step[], opts: RunOptions): void {
  const limits = { ...SMALL_LIMITS };
  const make = (k: number): LockMachine => {
    const o = opts.machine?.(k) ?? {};
    return new LockMachine({ ...o, limits: { ...limits, ...o.limits } });
  };
  const machines = Array.from({ length: opts.replicas ?? 1 }, (_, k) => make(k));
  const model = opts.model === true ? new Model(limits) : undefined;
  const grants = opts.tokens === true ? new GrantChecker() : undefined;
  const waits = opts.waits === true ? new WaitChecker(limits.maxGraceExtensions) : undefined;

  let index = 0;
  let term = 1;
  let clock = 1_000_000;
  const ids: number[] = [];
  const seqs = new Map<number, number>();
  const sent = new Map<number, WriteCommand[]>();
  const tokens: number[] = [1];

  const apply = (
    type: EntryType,
    data: Uint8Array,
    modelEntry: Parameters<Model['apply']>[2],
    cmd: Command | undefined,
    stepNo: number,
  ): void => {
    index++;
    const entry: Entry = { index, term, type, data };
    if (opts.clock !== undefined) opts.clock.now = clock;
    const outs = machines.map((m) => m.apply(entry, { index, term }));
    let out = outs[0]!;
    if (opts.corrupt !== undefined) out = opts.corrupt(out, cmd, index);
    const where = `step ${stepNo} (index ${index}, ${cmd?.type ?? type})`;
    for (const e of out.events) if (e.type === 'granted') tokens.push(e.token);
    if (out.result.ok && (out.result.value as { token?: number } | null)?.token !== undefined)
      tokens.push((out.result.value as { token: number }).token);
    if (model !== undefined) {
      const expected = model.apply(term, index, modelEntry);
      same(norm(out.result), expected.result, `${where}: result`);
      same<unknown>(out.events, expected.events, `${where}: events`);
      observe(machines[0]!, model, clock, where);
    }
    if (grants !== undefined) {
      grants.observe(index, cmd, out);
      grants.agrees(machines[0]!);
    }
    waits?.observe(index, term, modelEntry.kind === 'cmd' ? modelEntry.time : undefined, cmd, out);
    if (opts.bytes === true) {
      const first = machines[0]!.snapshot();
      for (let k = 1; k < machines.length; k++) same(machines[k]!.snapshot(), first, `${where}: replica ${k} snapshot bytes`);
    }
    opts.check?.(machines, where);
  };

  const command = (cmd: Command, stamp: number, stepNo: number): void =>
    apply('normal', encodeEntry(stamp, cmd), { kind: 'cmd', time: stamp, cmd }, cmd, stepNo);

  const fenceFor = (choice: number, lock: number): Fence | undefined => {
    if (choice < 9) return undefined;
    const name = LOCKS[lock % LOCKS.length]!;
    if (choice === 9) return { lock: name, token: machines[0]!.lockInfo(name).holder?.fencingToken ?? index + 1 };
    if (choice === 10) return { lock: name, token: tokens[(lock * 7 + index) % tokens.length]! };
    if (choice === 14) {
      // An election fence: with its leader's token (the writer's own only if it leads), or a guess.
      const pname = PERMIT_NAMES[lock % PERMIT_NAMES.length]!;
      return { lock: pname, kind: 'election', token: machines[0]!.electionInfo(pname).leader?.fencingToken ?? index + 1 };
    }
    if (choice >= 12) {
      // A semaphore or readers-writer lock fence: with the token of one of its holders (the
      // writer's own, or another's), or a guess.
      const kind = choice === 12 ? ('semaphore' as const) : ('rwlock' as const);
      const pname = PERMIT_NAMES[lock % PERMIT_NAMES.length]!;
      const info = kind === 'semaphore' ? machines[0]!.semaphoreInfo(pname) : machines[0]!.rwlockInfo(pname);
      return { lock: pname, kind, token: info.holders[lock % Math.max(1, info.holders.length)]?.fencingToken ?? index + 1 };
    }
    return {
      lock: LOCKS[(lock + 1) % LOCKS.length]!,
      token: machines[0]!.lockInfo(LOCKS[(lock + 1) % LOCKS.length]!).holder?.fencingToken ?? 1,
    };
  };

  /** Slots 0–6 name a live session when there is one; 7 any session ever opened (maybe dead). */
  const pick = (s: number): number => {
    const live = s < 7 ? ids.filter((id) => machines[0]!.sessionInfo(id) !== undefined) : [];
    const from = live.length > 0 ? live : ids;
    return from[s % from.length]!;
  };

  const write = (
    id: number,
    ackChoice: number,
    fence: Fence | undefined,
    make: (w: WriteFieldsOf) => WriteCommand,
    stamp: number,
    stepNo: number,
  ): void => {
    const seq = (seqs.get(id) ?? 0) + 1;
    seqs.set(id, seq);
    const w: WriteFieldsOf = { session: id, seq };
    if (ackChoice < 4) w.ackedSeq = Math.max(0, seq - 1 - ackChoice * 2);
    if (fence !== undefined) w.fence = fence;
    const cmd = make(w);
    const list = sent.get(id) ?? [];
    list.push(cmd);
    sent.set(id, list);
    command(cmd, stamp, stepNo);
  };

  steps.forEach((step, stepNo) => {
    clock += step.dt;
    const stamp = clock - step.skew;
    if (
      ids.length === 0 &&
      [
        'keepalive',
        'acquire',
        'release',
        'cancel',
        'counter',
        'close',
        'break',
        'lockall',
        'releaseall',
        'permit',
        'campaign',
        'proclaim',
        'unpermit',
        'retry',
      ].includes(step.k)
    ) {
      command({ type: 'open-session', secret: TEST_SECRET, ttlMs: 20_000 }, stamp, stepNo);
      ids.push(index);
      return;
    }
    switch (step.k) {
      case 'open': {
        command(
          step.client
            ? { type: 'open-session', secret: TEST_SECRET, ttlMs: step.ttl, clientId: `client-${stepNo}` }
            : { type: 'open-session', secret: TEST_SECRET, ttlMs: step.ttl },
          stamp,
          stepNo,
        );
        if (machines[0]!.sessionInfo(index) !== undefined) ids.push(index);
        return;
      }
      case 'keepalive': {
        const id = pick(step.s);
        const seq = seqs.get(id) ?? 0;
        const cmd: Command =
          step.ack < 4 && seq > 0
            ? { type: 'keep-alive', session: id, ackedSeq: Math.max(0, seq - step.ack * 2) }
            : { type: 'keep-alive', session: id };
        return command(cmd, stamp, stepNo);
      }
      case 'acquire': {
        // Mostly a contender (someone other than the holder), so that queues form.
        const holder = machines[0]!.lockInfo(LOCKS[step.lock]!).holder?.sessionId;
        const others = ids.filter((id) => id !== holder && machines[0]!.sessionInfo(id) !== undefined);
        const id = step.s < 5 && others.length > 0 ? others[step.s % others.length]! : pick(step.s);
        return write(
          id,
          step.ack,
          fenceFor(step.fence, step.lock),
          (w) => ({ type: 'acquire', ...w, name: LOCKS[step.lock]!, waitMs: step.wait }),
          stamp,
          stepNo,
        );
      }
      case 'release': {
        // Mostly the holder of a lock with waiters lets go (that is what hands locks over);
        // sometimes anyone releases anything.
        const contended = LOCKS.filter((n) => machines[0]!.lockInfo(n).waiters > 0);
        const name = step.s < 5 && contended.length > 0 ? contended[step.lock % contended.length]! : LOCKS[step.lock]!;
        const holder = machines[0]!.lockInfo(name).holder?.sessionId;
        const id = step.s < 6 && holder !== undefined ? holder : pick(step.s);
        return write(id, step.ack, fenceFor(step.fence, step.lock), (w) => ({ type: 'release', ...w, name }), stamp, stepNo);
      }
      case 'cancel': {
        // Mostly a session that waits withdraws its wait; sometimes anyone cancels anything
        // (not-waiting: the holder, a session that never queued, a dead one).
        const name = LOCKS[step.lock]!;
        const queued = machines[0]!.lockWaiters(name).map((w) => w.session);
        const id = step.s < 5 && queued.length > 0 ? queued[step.s % queued.length]! : pick(step.s);
        const waitSeq = machines[0]!.lockWaiters(name).find((w) => w.session === id)?.seq;
        write(id, step.ack, fenceFor(step.fence, step.lock), (w) => ({ type: 'cancel-wait', ...w, name }), stamp, stepNo);
        const withdrawn = sent.get(id)?.find((c) => c.type === 'acquire' && c.seq === waitSeq);
        if (step.retry && withdrawn !== undefined) command(withdrawn, stamp, stepNo);
        return;
      }
      case 'counter': {
        const name = COUNTERS[step.name]!;
        const ops: ReadonlyArray<(w: WriteFieldsOf) => WriteCommand> = [
          (w) => ({ type: 'counter-add', ...w, name, delta: step.a }),
          (w) => ({ type: 'counter-set', ...w, name, value: step.a }),
          (w) => ({ type: 'counter-cas', ...w, name, expected: step.b % 3, next: step.a }),
          (w) => ({ type: 'counter-get', ...w, name }),
          (w) => ({ type: 'counter-delete', ...w, name }),
        ];
        return write(pick(step.s), step.ack, fenceFor(step.fence, step.name), ops[step.op]!, stamp, stepNo);
      }
      case 'close':
        return write(pick(step.s), 6, undefined, (w) => ({ type: 'close-session', ...w }), stamp, stepNo);
      case 'permit': {
        const name = PERMIT_NAMES[step.name]!;
        const make = (w: WriteFieldsOf): WriteCommand =>
          step.rw
            ? { type: 'acquire-permit', ...w, kind: 'rwlock', name, mode: step.write ? 'write' : 'read', waitMs: step.wait }
            : {
                type: 'acquire-permit',
                ...w,
                kind: 'semaphore',
                name,
                permits: step.odd ? 2 : 3,
                weight: Math.min(step.weight, step.odd ? 2 : 3),
                waitMs: step.wait,
              };
        return write(pick(step.s), step.ack, undefined, make, stamp, stepNo);
      }
      case 'campaign': {
        const name = PERMIT_NAMES[step.name]!;
        // Mostly a session other than the leader (a candidate's second campaign is refused too,
        // as is the leader's, which the other slots try).
        const leader = machines[0]!.electionInfo(name).leader?.sessionId;
        const fresh = ids.filter((id) => id !== leader && machines[0]!.sessionInfo(id) !== undefined);
        const id = step.s < 6 && fresh.length > 0 ? fresh[step.s % fresh.length]! : pick(step.s);
        const value = VALUES[step.value]!;
        return write(
          id,
          step.ack,
          undefined,
          (w) => ({ type: 'acquire-permit', ...w, kind: 'election', name, value, waitMs: step.wait }),
          stamp,
          stepNo,
        );
      }
      case 'proclaim': {
        const name = PERMIT_NAMES[step.name]!;
        const leader = machines[0]!.electionInfo(name).leader;
        // The leader with its token; the leader with a stale or guessed token; anyone.
        const id = step.who < 7 && leader !== null ? leader.sessionId : pick(step.s);
        const token = step.who < 5 && leader !== null ? leader.fencingToken : tokens[(step.s * 7 + index) % tokens.length]!;
        const value = VALUES[step.value]!;
        return write(id, step.ack, undefined, (w) => ({ type: 'proclaim', ...w, name, token, value }), stamp, stepNo);
      }
      case 'unpermit': {
        const sentPermits = [...sent.values()].flatMap((list) => list.filter((c) => c.type === 'acquire-permit'));
        const acq = sentPermits[step.pick % Math.max(1, sentPermits.length)];
        if (acq === undefined || acq.type !== 'acquire-permit') return command({ type: 'tick' }, stamp, stepNo);
        const type = step.cancel ? ('cancel-permit' as const) : ('release-permit' as const);
        // Half the withdrawals take one of the latest waiting acquires, then retry it: a retry of a
        // withdrawn wait must answer cancelled.
        const waiting = sentPermits.filter((c) => c.type === 'acquire-permit' && c.waitMs > 0);
        const latest = waiting[waiting.length - 1 - (step.pick % Math.min(3, Math.max(1, waiting.length)))];
        if (step.cancel && step.pick % 2 === 0 && latest !== undefined && latest.type === 'acquire-permit') {
          write(
            latest.session,
            step.ack,
            undefined,
            (w) => ({ type, ...w, kind: latest.kind, name: latest.name, acquireSeq: latest.seq }),
            stamp,
            stepNo,
          );
          return command(latest, stamp, stepNo);
        }
        return write(
          acq.session,
          step.ack,
          undefined,
          (w) => ({ type, ...w, kind: acq.kind, name: acq.name, acquireSeq: acq.seq }),
          stamp,
          stepNo,
        );
      }
      case 'lockall': {
        const names = SETS[step.set]!;
        return write(pick(step.s), step.ack, undefined, (w) => ({ type: 'acquire-all', ...w, names, waitMs: step.wait }), stamp, stepNo);
      }
      case 'releaseall': {
        // Mostly a session that holds one of the set.
        const names = SETS[step.set]!;
        const holders = names.map((n) => machines[0]!.lockInfo(n).holder?.sessionId).filter((id) => id !== undefined);
        const id = step.s < 6 && holders.length > 0 ? holders[step.s % holders.length]! : pick(step.s);
        return write(id, step.ack, undefined, (w) => ({ type: 'release-all', ...w, names }), stamp, stepNo);
      }
      case 'break': {
        const held = LOCKS.filter((n) => machines[0]!.lockInfo(n).holder !== undefined);
        const name = step.s < 6 && held.length > 0 ? held[step.lock % held.length]! : LOCKS[step.lock]!;
        const reason = step.reason ? { reason: `maintenance ${stepNo}` } : {};
        return write(pick(step.s), step.ack, undefined, (w) => ({ type: 'break-lock', ...w, name, ...reason }), stamp, stepNo);
      }
      case 'retry': {
        const list = sent.get(pick(step.s)) ?? [];
        if (list.length === 0) return command({ type: 'tick' }, stamp, stepNo);
        return command(list[step.pick % list.length]!, stamp, stepNo);
      }
      case 'expire': {
        const proposal = machines[0]!.expiredSessions(clock + step.ahead);
        if (model !== undefined) same(proposal, model.expiredSessions(clock + step.ahead), `step ${stepNo}: expiredSessions`);
        if (step.extra) proposal.push(ids[stepNo % Math.max(1, ids.length)] ?? 99);
        return command({ type: 'expire-sessions', sessions: proposal }, stamp, stepNo);
      }
      case 'tick':
        return command({ type: 'tick' }, stamp, stepNo);
      case 'election':
        term++;
        clock += step.shift; // the new leader's clock may be behind the log's time, or ahead
        if (step.noop) apply('noop', new Uint8Array(0), { kind: 'noop' }, undefined, stepNo);
        return;
      case 'config':
        return apply('config', new Uint8Array([stepNo & 0xff]), { kind: 'noop' }, undefined, stepNo);
      case 'invalid': {
        const id = ids[0] ?? 1;
        const variants: Uint8Array[] = [
          new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
          pack({ v: 9, time: stamp, cmd: { type: 'tick' } }),
          pack({ v: 1, time: stamp, cmd: { type: 'acquire', session: id, seq: 1, name: '', waitMs: 0 } }),
          pack({ v: 1, time: stamp, cmd: { type: 'release', session: id, seq: 2, ackedSeq: 2, name: 'a' } }),
          pack({ v: 1, time: -stamp, cmd: { type: 'tick' } }),
        ];
        return apply('normal', variants[step.variant % variants.length]!, { kind: 'invalid' }, undefined, stepNo);
      }
      case 'snapshot': {
        const bytes = machines[0]!.snapshot();
        const fresh = make(0);
        fresh.restore(bytes);
        same(fresh.snapshot(), bytes, `step ${stepNo}: snapshot of the restored machine`);
        machines[0] = fresh;
        opts.check?.(machines, `step ${stepNo} (restore)`);
        return;
      }
    }
  });
}

/** Every observation the machine offers equals the model's. */
function observe(m: LockMachine, model: Model, clock: number, where: string): void {
  same(m.lastTime, model.time, `${where}: lastTime`);
  for (const name of LOCKS) {
    same(m.lockInfo(name), model.lockInfo(name), `${where}: lockInfo(${name})`);
    same(m.lockWaiters(name), model.lockWaiters(name), `${where}: lockWaiters(${name})`);
  }
  for (const name of COUNTERS) same(m.counterValue(name), model.counterValue(name), `${where}: counter ${name}`);
  same(m.listLocks(), model.listLocks(), `${where}: listLocks`);
  for (const name of PERMIT_NAMES) {
    // What the permits promise, whatever the model says: the weights held fit in the count,
    // and a writer holds alone.
    const sem = m.semaphoreInfo(name);
    const held = sem.holders.reduce((sum, h) => sum + h.weight, 0);
    holds(
      sem.permits === undefined || (held <= sem.permits && sem.available === sem.permits - held),
      () => `${where}: ${name}: ${held} permits held of ${sem.permits}`,
    );
    const rw = m.rwlockInfo(name);
    holds(!rw.holders.some((h) => h.mode === 'write') || rw.holders.length === 1, () => `${where}: ${name}: a writer shares the lock`);
    same(m.semaphoreInfo(name), model.permits.semaphoreInfo(name), `${where}: semaphoreInfo(${name})`);
    same(m.rwlockInfo(name), model.permits.rwlockInfo(name), `${where}: rwlockInfo(${name})`);
    same(m.electionInfo(name), model.permits.electionInfo(name), `${where}: electionInfo(${name})`);
  }
  for (const kind of PERMIT_KINDS) same(m.listPermits(kind), model.permits.listPermits(kind, 100), `${where}: listPermits(${kind})`);
  same(m.listPermits('election', { limit: 1 }), model.permits.listPermits('election', 1), `${where}: listPermits(election, 1)`);
  same(m.listCounters({ limit: 1 }), model.listCounters(1), `${where}: listCounters`);
  for (const id of Object.keys(model.sessions).map(Number)) same(m.sessionInfo(id), model.sessionInfo(id), `${where}: sessionInfo(${id})`);
  same(m.sessionCount, Object.keys(model.sessions).length, `${where}: session count`);
  same(m.expiredSessions(clock + 2_000), model.expiredSessions(clock + 2_000), `${where}: expiredSessions`);
  same(m.nextDeadline(), model.nextDeadline(), `${where}: nextDeadline`);
}
