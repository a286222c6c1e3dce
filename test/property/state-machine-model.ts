/**
 * Reference model of the lock/counter state machine, for the model-based property test.
 *
 * Written from the rules in lock-machine.ts' module comment, as plainly as possible: plain
 * objects, full scans and sorts on every step, no indexes, no heaps, no incremental anything.
 * It takes already-validated commands (decoding is tested on its own) and answers failures by
 * code only (messages are prose).
 */
import type { Command, WriteCommand } from '../../src/state-machine/commands.js';
import { PermitModel } from './permit-model.js';

export type ModelResult = { ok: true; value: unknown } | { ok: false; code: string };
export type ModelEvent = Record<string, unknown> & { type: string };

interface MSession {
  id: number;
  ttl: number;
  clientId: string | undefined;
  lastKA: number;
  deadline: number;
  grace: number;
  acked: number;
  results: Record<number, ModelResult>;
  /** Revoked grants, oldest first, at most MAX_REVOCATIONS_KEPT. */
  revoked: Array<{ name: string; token: number; reason?: string }>;
}
/** A wait for one lock, or for several at once (acquire-all): in the queue of each of its names. */
interface MWaiter {
  id: number;
  names: string[];
  session: number;
  seq: number;
  deadline: number;
  grace: number;
}
interface MLock {
  holder: { session: number; token: number; acquiredAt: number; seq: number } | null;
  queue: MWaiter[];
}

export interface ModelLimits {
  maxSessions: number;
  maxWaitersPerLock: number;
  maxUnackedResults: number;
  maxGraceExtensions: number;
}

const byNum = (a: number, b: number): number => a - b;

/** A wait's lock in events: its name, and all its names when it waits for several. */
const names = (w: MWaiter): { name: string; names?: string[] } =>
  w.names.length === 1 ? { name: w.names[0]! } : { name: w.names[0]!, names: w.names };
const byStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class Model {
  time = 0;
  term = 0;
  gracePending = false;
  sessions: Record<number, MSession> = {};
  locks: Record<string, MLock> = {};
  counters: Record<string, number> = {};
  /** Locks freed in the current step that had waiters then. */
  private freed: string[] = [];
  /** Semaphores and readers-writer locks. */
  readonly permits: PermitModel;

  constructor(private readonly limits: ModelLimits) {
    this.permits = new PermitModel(() => this.sessions, limits.maxWaitersPerLock);
  }

  /** A noop/config entry (`stamped` false), an invalid one, or a command with its stamp. */
  apply(
    term: number,
    index: number,
    entry: { kind: 'noop' } | { kind: 'invalid' } | { kind: 'cmd'; time: number; cmd: Command },
  ): { result: ModelResult; events: ModelEvent[] } {
    if (term > this.term) {
      this.term = term;
      this.gracePending = true;
    }
    if (entry.kind === 'noop') return { result: { ok: true, value: null }, events: [] };
    if (entry.kind === 'invalid') return { result: { ok: false, code: 'INVALID_ARGUMENT' }, events: [] };
    const before = this.time;
    const t = Math.max(this.time, entry.time);
    this.time = t;
    if (this.gracePending) {
      this.gracePending = false;
      for (const s of Object.values(this.sessions)) {
        if (s.deadline < t + s.ttl && s.grace < this.limits.maxGraceExtensions) {
          s.deadline = t + s.ttl;
          s.grace++;
        }
      }
      // A wait keeps the time it had left at the last stamped entry before this term.
      for (const w of this.waiters()) {
        const left = w.deadline - before;
        if (w.deadline < t + left && w.grace < this.limits.maxGraceExtensions) {
          w.deadline = t + left;
          w.grace++;
        }
      }
      this.permits.grace(t, before, this.limits.maxGraceExtensions);
    }
    const events: ModelEvent[] = [];
    this.freed = [];
    this.permits.beginStep();
    // Waiters that timed out, all locks together, by (deadline, id).
    const due = this.waiters()
      .filter((w) => w.deadline <= t)
      .sort((a, b) => a.deadline - b.deadline || a.id - b.id);
    for (const w of due) {
      this.dropWait(w);
      events.push({ type: 'wait-timeout', ...names(w), session: w.session, seq: w.seq });
      const s = this.sessions[w.session];
      if (s !== undefined && s.results[w.seq] !== undefined) s.results[w.seq] = { ok: true, value: { status: 'timed-out' } };
    }
    this.permits.timeouts(t, events);
    // Sessions past their deadline: all removed with their waits first, then their locks freed.
    const dead = Object.values(this.sessions)
      .filter((s) => s.deadline <= t)
      .sort((a, b) => a.deadline - b.deadline || a.id - b.id);
    for (const s of dead) {
      delete this.sessions[s.id];
      for (const w of this.waiters().filter((x) => x.session === s.id)) this.dropWait(w);
      this.permits.dropWaitsOf(s.id);
    }
    for (const s of dead) {
      events.push({ type: 'session-expired', session: s.id });
      this.releaseAllOf(s.id, t, index, events);
      this.permits.releaseAllOf(s.id, events);
    }
    const result = this.execute(entry.cmd, t, index, events);
    // End of the step: each freed lock goes to its first waiter, by name; a first waiter for
    // several locks gets them all once it is first in each and all are free, else it waits.
    for (const name of [...new Set(this.freed)].sort(byStr)) {
      const lock = this.locks[name];
      if (lock === undefined || lock.holder !== null) continue;
      const next = lock.queue[0];
      if (next === undefined) continue;
      if (!next.names.every((n) => this.locks[n]!.holder === null && this.locks[n]!.queue[0] === next)) continue;
      for (const n of next.names) {
        const l = this.locks[n]!;
        l.queue.shift();
        l.holder = { session: next.session, token: index, acquiredAt: t, seq: next.seq };
      }
      const s = this.sessions[next.session]!;
      const grant = { token: index, acquiredAt: t, expiresAt: s.deadline };
      events.push({ type: 'granted', ...names(next), session: next.session, seq: next.seq, ...grant });
      if (s.results[next.seq] !== undefined) s.results[next.seq] = { ok: true, value: { status: 'granted', ...grant } };
    }
    this.permits.handOffs(t, index, events);
    return { result, events };
  }

  /** Every queued wait once, by id. */
  private waiters(): MWaiter[] {
    const all = new Map<number, MWaiter>();
    for (const lock of Object.values(this.locks)) for (const w of lock.queue) all.set(w.id, w);
    return [...all.values()].sort((a, b) => a.id - b.id);
  }

  /** `w` leaves every queue it is in; a lock it kept free goes to the next waiter at the end of the step. */
  private dropWait(w: MWaiter): void {
    for (const n of w.names) {
      const lock = this.locks[n]!;
      lock.queue = lock.queue.filter((x) => x !== w);
      if (lock.holder !== null) continue;
      if (lock.queue.length === 0) delete this.locks[n];
      else this.freed.push(n);
    }
  }

  private releaseAllOf(session: number, t: number, index: number, events: ModelEvent[]): string[] {
    const names = Object.keys(this.locks)
      .filter((n) => this.locks[n]!.holder?.session === session)
      .sort(byStr);
    for (const n of names) this.free(n, t, index, events);
    return names;
  }

  /** The holder lets go; waiters get it at the end of the step. */
  private free(name: string, t: number, index: number, events: ModelEvent[]): void {
    void t;
    void index;
    const lock = this.locks[name]!;
    const h = lock.holder!;
    events.push({ type: 'lock-released', name, session: h.session, token: h.token });
    lock.holder = null;
    if (lock.queue.length === 0) delete this.locks[name];
    else this.freed.push(name);
  }

  private execute(cmd: Command, t: number, index: number, events: ModelEvent[]): ModelResult {
    switch (cmd.type) {
      case 'open-session':
        if (Object.keys(this.sessions).length >= this.limits.maxSessions) return { ok: false, code: 'LIMIT_EXCEEDED' };
        this.sessions[index] = {
          id: index,
          ttl: cmd.ttlMs,
          clientId: cmd.clientId,
          lastKA: t,
          deadline: t + cmd.ttlMs,
          grace: 0,
          acked: 0,
          results: {},
          revoked: [],
        };
        return { ok: true, value: { sessionId: index, ttlMs: cmd.ttlMs, expiresAt: t + cmd.ttlMs, secret: cmd.secret } };
      case 'keep-alive': {
        const s = this.sessions[cmd.session];
        if (s === undefined) return { ok: false, code: 'SESSION_EXPIRED' };
        this.renew(s, t);
        this.ack(s, cmd.ackedSeq);
        if (s.revoked.length === 0) return { ok: true, value: { expiresAt: s.deadline } };
        return { ok: true, value: { expiresAt: s.deadline, revoked: s.revoked.map((r) => ({ ...r })) } };
      }
      case 'expire-sessions':
        return {
          ok: true,
          value: {
            expired: cmd.sessions.filter((id) => this.sessions[id] === undefined),
            survived: cmd.sessions.filter((id) => this.sessions[id] !== undefined),
          },
        };
      case 'tick':
        return { ok: true, value: null };
      default:
        return this.write(cmd, t, index, events);
    }
  }

  private renew(s: MSession, t: number): void {
    s.lastKA = t;
    s.deadline = t + s.ttl;
    s.grace = 0;
  }

  private ack(s: MSession, acked: number | undefined): void {
    if (acked === undefined || acked <= s.acked) return;
    s.acked = acked;
    for (const k of Object.keys(s.results)) if (Number(k) <= acked) delete s.results[Number(k)];
  }

  private write(cmd: WriteCommand, t: number, index: number, events: ModelEvent[]): ModelResult {
    const s = this.sessions[cmd.session];
    if (s === undefined) return { ok: false, code: 'SESSION_EXPIRED' };
    this.renew(s, t);
    this.ack(s, cmd.ackedSeq);
    const stored = s.results[cmd.seq];
    if (stored !== undefined) {
      if (stored.ok && (stored.value as { status?: string } | null)?.status === 'queued') {
        const w = this.waiters().find((x) => x.session === s.id && x.seq === cmd.seq);
        const position = w === undefined ? 0 : this.locks[w.names[0]!]!.queue.indexOf(w) + 1;
        if (w !== undefined) return { ok: true, value: { status: 'queued', position, deadline: w.deadline } };
        const permit = this.permits.queuedAgain(s.id, cmd.seq);
        if (permit !== undefined) return permit;
      }
      return stored;
    }
    if (cmd.seq <= s.acked) return { ok: false, code: 'STALE_SEQUENCE' };
    if (Object.keys(s.results).length >= this.limits.maxUnackedResults) return { ok: false, code: 'LIMIT_EXCEEDED' };
    let result: ModelResult;
    const f = cmd.fence;
    const fenced =
      f !== undefined &&
      (f.kind === undefined ? this.locks[f.lock]?.holder?.token !== f.token : !this.permits.fenceHolds(f.kind, f.lock, f.token, s.id));
    if (fenced) result = { ok: false, code: 'FENCED' };
    else result = this.run(cmd, s, t, index, events);
    if (this.sessions[s.id] !== undefined) s.results[cmd.seq] = result;
    return result;
  }

  private run(cmd: WriteCommand, s: MSession, t: number, index: number, events: ModelEvent[]): ModelResult {
    const SAFE = Number.MAX_SAFE_INTEGER;
    const okIfSafe = (v: number, then: () => ModelResult): ModelResult =>
      Number.isSafeInteger(v) && Math.abs(v) <= SAFE ? then() : { ok: false, code: 'OVERFLOW' };
    const put = (name: string, v: number): void => {
      if (v === 0) delete this.counters[name];
      else this.counters[name] = v;
    };
    switch (cmd.type) {
      case 'close-session': {
        events.push({ type: 'session-closed', session: s.id });
        for (const w of this.waiters().filter((x) => x.session === s.id)) this.dropWait(w);
        this.permits.dropWaitsOf(s.id);
        delete this.sessions[s.id];
        const released = this.releaseAllOf(s.id, t, index, events);
        this.permits.releaseAllOf(s.id, events);
        return { ok: true, value: { released } };
      }
      case 'acquire': {
        const lock = this.locks[cmd.name];
        if (lock === undefined) {
          this.locks[cmd.name] = { holder: { session: s.id, token: index, acquiredAt: t, seq: cmd.seq }, queue: [] };
          return { ok: true, value: { status: 'granted', token: index, acquiredAt: t, expiresAt: s.deadline } };
        }
        // Held, or freed in this step with waiters (who come first).
        const h = lock.holder;
        if (h !== null && h.session === s.id)
          return { ok: true, value: { status: 'held-by-you', token: h.token, acquiredAt: h.acquiredAt, expiresAt: s.deadline } };
        if (cmd.waitMs === 0) return { ok: true, value: { status: 'not-acquired' } };
        if (lock.queue.some((w) => w.session === s.id)) return { ok: false, code: 'INVALID_ARGUMENT' };
        if (lock.queue.length >= this.limits.maxWaitersPerLock) return { ok: false, code: 'LIMIT_EXCEEDED' };
        lock.queue.push({ id: index, names: [cmd.name], session: s.id, seq: cmd.seq, deadline: t + cmd.waitMs, grace: 0 });
        return { ok: true, value: { status: 'queued', position: lock.queue.length, deadline: t + cmd.waitMs } };
      }
      case 'acquire-all': {
        // All at once, or a wait in every queue, holding none; each lock once per session.
        for (const n of cmd.names) {
          const lock = this.locks[n];
          if (lock?.holder?.session === s.id || lock?.queue.some((w) => w.session === s.id)) return { ok: false, code: 'INVALID_ARGUMENT' };
          if (cmd.waitMs > 0 && lock !== undefined && lock.queue.length >= this.limits.maxWaitersPerLock)
            return { ok: false, code: 'LIMIT_EXCEEDED' };
        }
        if (cmd.names.every((n) => this.locks[n] === undefined)) {
          for (const n of cmd.names) this.locks[n] = { holder: { session: s.id, token: index, acquiredAt: t, seq: cmd.seq }, queue: [] };
          return { ok: true, value: { status: 'granted', token: index, acquiredAt: t, expiresAt: s.deadline } };
        }
        if (cmd.waitMs === 0) return { ok: true, value: { status: 'not-acquired' } };
        const w: MWaiter = { id: index, names: [...cmd.names], session: s.id, seq: cmd.seq, deadline: t + cmd.waitMs, grace: 0 };
        for (const n of cmd.names) (this.locks[n] ??= { holder: null, queue: [] }).queue.push(w);
        return { ok: true, value: { status: 'queued', position: this.locks[cmd.names[0]!]!.queue.length, deadline: w.deadline } };
      }
      case 'release-all': {
        const released = cmd.names.filter((n) => this.locks[n]?.holder?.session === s.id);
        if (released.length === 0) return { ok: false, code: 'NOT_HELD' };
        for (const n of released) this.free(n, t, index, events);
        return { ok: true, value: { released } };
      }
      case 'release': {
        const h = this.locks[cmd.name]?.holder;
        if (h === undefined || h === null || h.session !== s.id) return { ok: false, code: 'NOT_HELD' };
        this.free(cmd.name, t, index, events);
        return { ok: true, value: { status: 'released', token: h.token } };
      }
      case 'cancel-wait': {
        // The session's wait on the lock, if any, leaves the queue; its acquire ends `cancelled`.
        const w = this.locks[cmd.name]?.queue.find((x) => x.session === s.id);
        if (w === undefined) return { ok: true, value: { status: 'not-waiting' } };
        this.dropWait(w);
        events.push({ type: 'wait-cancelled', ...names(w), session: s.id, seq: w.seq });
        if (s.results[w.seq] !== undefined) s.results[w.seq] = { ok: true, value: { status: 'cancelled' } };
        return { ok: true, value: { status: 'cancelled' } };
      }
      case 'acquire-permit':
        return this.permits.acquire(cmd, { id: s.id, deadline: s.deadline }, t, index);
      case 'release-permit':
        return this.permits.releaseCommand(cmd, s.id, events);
      case 'cancel-permit':
        return this.permits.cancel(cmd, { id: s.id, results: s.results }, events);
      case 'proclaim':
        return this.permits.proclaim(cmd, s.id);
      case 'break-lock': {
        // Whoever holds it loses it (and remembers why); the next waiter gets it at the step's end.
        const h = this.locks[cmd.name]?.holder;
        if (h === undefined || h === null) return { ok: false, code: 'NOT_HELD' };
        const reason = cmd.reason === undefined ? {} : { reason: cmd.reason };
        events.push({ type: 'lock-broken', name: cmd.name, session: h.session, token: h.token, ...reason });
        this.free(cmd.name, t, index, events);
        const victim = this.sessions[h.session];
        if (victim !== undefined) {
          victim.revoked.push({ name: cmd.name, token: h.token, ...reason });
          if (victim.revoked.length > 8) victim.revoked.shift();
        }
        return { ok: true, value: { status: 'broken', session: h.session, token: h.token } };
      }
      case 'counter-add': {
        const v = (this.counters[cmd.name] ?? 0) + cmd.delta;
        return okIfSafe(v, () => (put(cmd.name, v), { ok: true, value: v }));
      }
      case 'counter-set': {
        const prev = this.counters[cmd.name] ?? 0;
        put(cmd.name, cmd.value);
        return { ok: true, value: prev };
      }
      case 'counter-cas': {
        if ((this.counters[cmd.name] ?? 0) !== cmd.expected) return { ok: true, value: false };
        put(cmd.name, cmd.next);
        return { ok: true, value: true };
      }
      case 'counter-get':
        return { ok: true, value: this.counters[cmd.name] ?? 0 };
      case 'counter-delete': {
        const prev = this.counters[cmd.name] ?? 0;
        delete this.counters[cmd.name];
        return { ok: true, value: prev };
      }
    }
  }

  // ---- observations, in the shapes the machine's queries return ------------------------------

  lockInfo(name: string): unknown {
    const lock = this.locks[name];
    if (lock === undefined || lock.holder === null) return { waiters: lock?.queue.length ?? 0 };
    const h = lock.holder;
    return {
      holder: { sessionId: h.session, fencingToken: h.token, acquiredAt: h.acquiredAt, expiresAt: this.sessions[h.session]?.deadline ?? 0 },
      waiters: lock.queue.length,
    };
  }

  lockWaiters(name: string): unknown {
    return (this.locks[name]?.queue ?? []).map((w) => ({ session: w.session, seq: w.seq, deadline: w.deadline, graceExtensions: w.grace }));
  }

  listLocks(): unknown {
    return {
      items: Object.keys(this.locks)
        .sort(byStr)
        .map((name) => ({ name, ...(this.lockInfo(name) as object) })),
    };
  }

  listCounters(limit: number): unknown {
    const names = Object.keys(this.counters).sort(byStr);
    const items = names.slice(0, limit).map((name) => ({ name, value: this.counters[name] }));
    return names.length > limit ? { items, next: names[limit - 1] } : { items };
  }

  counterValue(name: string): number {
    return this.counters[name] ?? 0;
  }

  sessionInfo(id: number): unknown {
    const s = this.sessions[id];
    if (s === undefined) return undefined;
    const locks = Object.keys(this.locks)
      .filter((n) => this.locks[n]!.holder?.session === id)
      .sort(byStr);
    const waits = Object.keys(this.locks)
      .filter((n) => this.locks[n]!.queue.some((w) => w.session === id))
      .sort(byStr);
    const info = {
      sessionId: id,
      ttlMs: s.ttl,
      lastKeepAlive: s.lastKA,
      expiresAt: s.deadline,
      graceExtensions: s.grace,
      ackedSeq: s.acked,
      storedResults: Object.keys(s.results).length,
      locks,
      waits,
    };
    return s.clientId === undefined ? info : { ...info, clientId: s.clientId };
  }

  expiredSessions(now: number): number[] {
    return Object.values(this.sessions)
      .filter((s) => s.deadline <= now)
      .sort((a, b) => a.deadline - b.deadline || a.id - b.id)
      .map((s) => s.id);
  }

  nextDeadline(): number | undefined {
    const all = [
      ...Object.values(this.sessions).map((s) => s.deadline),
      ...Object.values(this.locks).flatMap((l) => l.queue.map((w) => w.deadline)),
      ...this.permits.deadlines(),
    ].sort(byNum);
    return all[0];
  }
}
