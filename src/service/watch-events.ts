/**
 * The watch events of one applied entry (docs/design.md#watches): a pure function of the
 * committed entry, what applying it returned (result and machine events, results.ts) and the
 * machine right before and right after it. Every replica applies the same entries to the same
 * state, so every replica derives the same events for each index, and a client may follow a
 * watch on one node and resume it on another.
 *
 * Where each event comes from:
 * - `granted`: a grant to a free resource is in the acquire's *result* (its token is this
 *   entry's index: a retry answers its stored grant, with an older token, and is no event);
 *   a hand-off to a waiter is a `granted` machine event.
 * - `waiter-joined`: an acquire whose result is `queued`. A retry of an acquire that still
 *   waits answers `queued` too and repeats the event (the same session and seq): the result is
 *   all that tells a new wait from a retried one, and that only for some kinds, so the rule
 *   is the same for all. `waiter-left`: `wait-timeout` or `wait-cancelled`.
 * - `released`, `expired`, `broken`: a `lock-released` machine event, `expired` when its session
 *   expired in this entry, `broken` (one event, with the reason) when a `lock-broken` named it.
 * - `counter-changed`: a counter write after which the counter's value differs from the
 *   value before the entry (so retries and writes that change nothing are no event).
 * - sessions: the `open-session` result, and the `session-closed` / `session-expired` events.
 * - `leader-changed`: once per election whose leader or leader's value differs after the
 *   entry: one granted or released in it (a new leader, or none), or a `proclaim` that changed
 *   the value. Elections have no `granted`/`released` events of their own; their candidates
 *   have waiter events.
 *
 * Events of an index come in the machine's order (timeouts and expiries, then the command,
 * then hand-offs), the command's own events before the hand-offs, and `leader-changed` last,
 * in name order.
 */
import type { WatchEvent, WatchKind } from '../protocol/index.js';
import type { AcquireValue, ApplyOutput, Command, LockMachine, MachineEvent } from '../state-machine/index.js';

/**
 * What {@link deriveWatchEvents} needs of the state *before* the entry, read by
 * {@link watchProbe}: a counter's value, an election's leader. O(1) to take.
 */
export interface WatchProbe {
  /** The written counter's value, for a counter write. */
  readonly counter?: number;
  /** The election's leader (`session:token:value`, or empty for none), for a `proclaim`. */
  readonly leader?: string;
}

/** Reads what {@link deriveWatchEvents} will compare against; call it right before applying `command`. */
export function watchProbe(command: Command | undefined, machine: LockMachine): WatchProbe {
  switch (command?.type) {
    case 'counter-add':
    case 'counter-set':
    case 'counter-cas':
    case 'counter-delete':
      return { counter: machine.counterValue(command.name) };
    case 'proclaim':
      return { leader: leaderKey(machine, command.name) };
    default:
      return {};
  }
}

/**
 * The watch events of entry `index`, whose decoded command is `command` (undefined for a
 * `noop`, a `config` entry or undecodable data), given what applying it returned (`out`), the
 * machine after it, and the {@link watchProbe} taken before it. Pure: reads the machine only.
 */
export function deriveWatchEvents(
  index: number,
  command: Command | undefined,
  out: ApplyOutput,
  machine: LockMachine,
  before: WatchProbe,
): WatchEvent[] {
  const d = new Derivation(index, machine);
  const own = command === undefined ? [] : d.commandEvents(command, out, before);
  // The command's own events go before the hand-offs, which come last in a step.
  const handOffsAt = out.events.findIndex((ev) => ev.type === 'granted');
  out.events.forEach((ev, k) => {
    if (k === handOffsAt) d.push(...own);
    d.machineEvent(ev);
  });
  if (handOffsAt < 0) d.push(...own);
  return d.finish();
}

/** The events of one entry as they are derived. */
class Derivation {
  private readonly events: WatchEvent[] = [];
  /** Sessions that expired in this entry: the releases of their grants are `expired`. */
  private readonly expired = new Set<number>();
  /** Grants an operator revoked in this entry (`name`, token), with the reason: their release is `broken`. */
  private readonly broken = new Map<string, string | undefined>();
  /** Elections whose leader changed in this entry. */
  private readonly elections = new Set<string>();
  /** Holders of a semaphore or readers-writer lock after the entry, looked up once per resource. */
  private readonly holders = new Map<string, ReadonlyArray<{ sessionId: number; fencingToken: number; weight?: number; mode?: string }>>();

  constructor(
    private readonly index: number,
    private readonly machine: LockMachine,
  ) {}

  push(...evs: WatchEvent[]): void {
    this.events.push(...evs);
  }

  /** The events the command's result and the probe show (not its machine events). */
  commandEvents(cmd: Command, out: ApplyOutput, before: WatchProbe): WatchEvent[] {
    const r = out.result;
    if (!r.ok) return [];
    const index = this.index;
    switch (cmd.type) {
      case 'open-session': {
        const v = r.value as { readonly sessionId: number };
        return [{ index, type: 'session-opened', kind: 'session', session: v.sessionId }];
      }
      case 'acquire':
      case 'acquire-all': {
        const names = cmd.type === 'acquire' ? [cmd.name] : cmd.names;
        return names.flatMap((name) => this.acquired(r.value as AcquireValue, 'lock', name, cmd.session, cmd.seq, {}));
      }
      case 'acquire-permit': {
        const v = r.value as AcquireValue;
        if (cmd.kind === 'election') {
          if (this.isGrantNow(v)) this.elections.add(cmd.name);
          return v.status === 'queued' ? this.acquired(v, 'election', cmd.name, cmd.session, cmd.seq, { value: cmd.value }) : [];
        }
        const terms = cmd.kind === 'semaphore' ? { weight: cmd.weight ?? 1 } : { mode: cmd.mode };
        return this.acquired(v, cmd.kind, cmd.name, cmd.session, cmd.seq, terms);
      }
      case 'counter-add':
      case 'counter-set':
      case 'counter-cas':
      case 'counter-delete': {
        const value = this.machine.counterValue(cmd.name);
        return value === before.counter ? [] : [{ index, type: 'counter-changed', kind: 'counter', name: cmd.name, value }];
      }
      case 'proclaim':
        if (leaderKey(this.machine, cmd.name) !== before.leader) this.elections.add(cmd.name);
        return [];
      default:
        return [];
    }
  }

  /** Events of an acquire's result: a grant made now, or a wait. */
  private acquired(
    v: AcquireValue,
    kind: WatchKind,
    name: string,
    session: number,
    seq: number,
    extra: Pick<WatchEvent, 'weight' | 'mode' | 'value'>,
  ): WatchEvent[] {
    const index = this.index;
    if (this.isGrantNow(v)) return [{ index, type: 'granted', kind, name, session, token: index, seq, ...extra }];
    if (v.status === 'queued') return [{ index, type: 'waiter-joined', kind, name, session, seq, ...extra }];
    return [];
  }

  /** A grant made by this entry (a retry's stored grant carries an older token). */
  private isGrantNow(v: AcquireValue): boolean {
    return v.status === 'granted' && v.token === this.index;
  }

  machineEvent(ev: MachineEvent): void {
    const index = this.index;
    switch (ev.type) {
      case 'session-expired':
      case 'session-closed':
        if (ev.type === 'session-expired') this.expired.add(ev.session);
        this.push({ index, type: ev.type, kind: 'session', session: ev.session });
        return;
      case 'lock-broken':
        this.broken.set(brokenKey(ev.name, ev.token), ev.reason);
        return;
      case 'lock-released':
        this.released(ev);
        return;
      case 'granted':
        if (ev.kind === 'election') this.elections.add(ev.name);
        else for (const name of ev.names ?? [ev.name]) this.push(this.handOff(ev, name));
        return;
      case 'wait-timeout':
      case 'wait-cancelled': {
        const reason = ev.type === 'wait-timeout' ? 'timeout' : 'cancelled';
        for (const name of ev.names ?? [ev.name]) {
          this.push({ index, type: 'waiter-left', kind: ev.kind ?? 'lock', name, session: ev.session, seq: ev.seq, reason });
        }
        return;
      }
    }
  }

  private released(ev: Extract<MachineEvent, { type: 'lock-released' }>): void {
    if (ev.kind === 'election') {
      this.elections.add(ev.name);
      return;
    }
    const base = { index: this.index, kind: ev.kind ?? 'lock', name: ev.name, session: ev.session, token: ev.token } as const;
    const key = brokenKey(ev.name, ev.token);
    if (ev.kind === undefined && this.broken.has(key)) {
      const reason = this.broken.get(key);
      this.broken.delete(key);
      this.push({ ...base, type: 'broken', ...(reason === undefined ? {} : { reason }) });
      return;
    }
    this.push({ ...base, type: this.expired.has(ev.session) ? 'expired' : 'released' });
  }

  /** A hand-off to a waiter of a lock, semaphore or readers-writer lock, with its weight or mode when known. */
  private handOff(ev: Extract<MachineEvent, { type: 'granted' }>, name: string): WatchEvent {
    const kind = ev.kind;
    const base = {
      index: this.index,
      type: 'granted',
      kind: kind ?? 'lock',
      name,
      session: ev.session,
      token: ev.token,
      seq: ev.seq,
    } as const;
    if (kind === undefined || kind === 'election') return base;
    const mine = this.holdersOf(kind, name).filter((h) => h.sessionId === ev.session && h.fencingToken === ev.token);
    const first = mine[0];
    if (first === undefined) return base;
    if (kind === 'rwlock') return first.mode === 'read' || first.mode === 'write' ? { ...base, mode: first.mode } : base;
    // Grants of one session in one step share the token: the weight is known when they agree on it.
    return first.weight !== undefined && mine.every((h) => h.weight === first.weight) ? { ...base, weight: first.weight } : base;
  }

  private holdersOf(
    kind: 'semaphore' | 'rwlock',
    name: string,
  ): ReadonlyArray<{ sessionId: number; fencingToken: number; weight?: number; mode?: string }> {
    const key = `${kind}:${name}`;
    let list = this.holders.get(key);
    if (list === undefined) {
      list = kind === 'semaphore' ? this.machine.semaphoreInfo(name).holders : this.machine.rwlockInfo(name).holders;
      this.holders.set(key, list);
    }
    return list;
  }

  /** The events in order, with one `leader-changed` per election whose leader changed, in name order. */
  finish(): WatchEvent[] {
    for (const name of [...this.elections].sort()) {
      const leader = this.machine.electionInfo(name).leader;
      const base = { index: this.index, type: 'leader-changed', kind: 'election', name } as const;
      this.push(leader === null ? base : { ...base, session: leader.sessionId, token: leader.fencingToken, value: leader.value });
    }
    return this.events;
  }
}

function brokenKey(name: string, token: number): string {
  return `${token}:${name}`;
}

/** Election `name`'s leader as one comparable string (empty when it has none). */
function leaderKey(machine: LockMachine, name: string): string {
  const l = machine.electionInfo(name).leader;
  return l === null ? '' : `${l.sessionId}:${l.fencingToken}:${l.value}`;
}
