/**
 * Reference model of semaphores, readers-writer locks and elections (the rules in
 * src/state-machine/permit-machine.ts), for the model-based property test: plain objects, full
 * scans, no indexes. The lock/counter model (state-machine-model.ts) runs it at the same points
 * of each step as the machine does.
 */
import type { AcquirePermitCommand, CancelPermitCommand, ProclaimCommand, ReleasePermitCommand } from '../../src/state-machine/commands.js';
import type { ModelEvent, ModelResult } from './state-machine-model.js';

type Kind = 'semaphore' | 'rwlock' | 'election';
const KINDS: readonly Kind[] = ['semaphore', 'rwlock', 'election'];
/** RW_PERMITS of the protocol, written out. */
const RW = 1_000_000;

interface Grant {
  session: number;
  seq: number;
  weight: number;
  token: number;
  acquiredAt: number;
  /** An election's: the leader's value. */
  value?: string;
}
interface Wait {
  id: number;
  session: number;
  seq: number;
  weight: number;
  deadline: number;
  grace: number;
  /** An election's: the candidate's value. */
  value?: string;
}
interface Resource {
  permits: number;
  holders: Grant[];
  queue: Wait[];
}

/** What the model needs to know of a session. */
export interface PermitSessionView {
  deadline: number;
  results: Record<number, ModelResult>;
}

const byStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class PermitModel {
  readonly tables: Record<Kind, Record<string, Resource>> = { semaphore: {}, rwlock: {}, election: {} };
  private moved: Record<Kind, string[]> = { semaphore: [], rwlock: [], election: [] };

  constructor(
    private readonly sessions: () => Record<number, PermitSessionView>,
    private readonly maxWaiters: number,
  ) {}

  beginStep(): void {
    this.moved = { semaphore: [], rwlock: [], election: [] };
  }

  grace(t: number, before: number, max: number): void {
    for (const kind of KINDS) {
      for (const w of this.waitsOf(kind)) {
        const left = w.deadline - before;
        if (w.deadline < t + left && w.grace < max) {
          w.deadline = t + left;
          w.grace++;
        }
      }
    }
  }

  timeouts(t: number, events: ModelEvent[]): void {
    for (const kind of KINDS) {
      const due = this.waitsOf(kind)
        .filter((w) => w.deadline <= t)
        .sort((a, b) => a.deadline - b.deadline || a.id - b.id);
      for (const w of due) {
        const name = this.nameOf(kind, w);
        this.drop(kind, name, w);
        events.push({ type: 'wait-timeout', kind, name, session: w.session, seq: w.seq });
        const s = this.sessions()[w.session];
        if (s !== undefined && s.results[w.seq] !== undefined) s.results[w.seq] = { ok: true, value: { status: 'timed-out' } };
      }
    }
  }

  dropWaitsOf(session: number): void {
    for (const kind of KINDS)
      for (const w of this.waitsOf(kind).filter((x) => x.session === session)) this.drop(kind, this.nameOf(kind, w), w);
  }

  releaseAllOf(session: number, events: ModelEvent[]): void {
    for (const kind of KINDS) {
      const mine: Array<[string, Grant]> = [];
      for (const [name, r] of Object.entries(this.tables[kind])) for (const g of r.holders) if (g.session === session) mine.push([name, g]);
      mine.sort((a, b) => byStr(a[0], b[0]) || a[1].seq - b[1].seq);
      for (const [name, g] of mine) this.release(kind, name, g, events);
    }
  }

  acquire(cmd: AcquirePermitCommand, s: { id: number; deadline: number }, t: number, index: number): ModelResult {
    // An election: one permit; a session campaigns once at a time (leading or waiting).
    const permits = cmd.kind === 'rwlock' ? RW : cmd.kind === 'election' ? 1 : cmd.permits;
    const weight = cmd.kind === 'rwlock' ? (cmd.mode === 'read' ? 1 : RW) : cmd.kind === 'election' ? 1 : (cmd.weight ?? 1);
    const value = cmd.kind === 'election' ? { value: cmd.value } : {};
    const r = this.tables[cmd.kind][cmd.name];
    if (r !== undefined && r.permits !== permits) return { ok: false, code: 'INVALID_ARGUMENT' };
    if (cmd.kind === 'election' && r !== undefined && [...r.holders, ...r.queue].some((x) => x.session === s.id))
      return { ok: false, code: 'INVALID_ARGUMENT' };
    const used = r === undefined ? 0 : r.holders.reduce((sum, g) => sum + g.weight, 0);
    if (r === undefined || (r.queue.length === 0 && used + weight <= permits)) {
      const res = (this.tables[cmd.kind][cmd.name] ??= { permits, holders: [], queue: [] });
      this.addGrant(res, { session: s.id, seq: cmd.seq, weight, token: index, acquiredAt: t, ...value });
      return { ok: true, value: { status: 'granted', token: index, acquiredAt: t, expiresAt: s.deadline } };
    }
    if (cmd.waitMs === 0) return { ok: true, value: { status: 'not-acquired' } };
    if (r.queue.length >= this.maxWaiters) return { ok: false, code: 'LIMIT_EXCEEDED' };
    r.queue.push({ id: index, session: s.id, seq: cmd.seq, weight, deadline: t + cmd.waitMs, grace: 0, ...value });
    return { ok: true, value: { status: 'queued', position: r.queue.length, deadline: t + cmd.waitMs } };
  }

  /** The leader with exactly `token` sets its value; anyone else is NOT_HELD. */
  proclaim(cmd: ProclaimCommand, session: number): ModelResult {
    const g = this.tables.election[cmd.name]?.holders.find((x) => x.session === session && x.token === cmd.token);
    if (g === undefined) return { ok: false, code: 'NOT_HELD' };
    g.value = cmd.value;
    return { ok: true, value: null };
  }

  releaseCommand(cmd: ReleasePermitCommand, session: number, events: ModelEvent[]): ModelResult {
    const g = this.tables[cmd.kind][cmd.name]?.holders.find((x) => x.session === session && x.seq === cmd.acquireSeq);
    if (g === undefined) return { ok: false, code: 'NOT_HELD' };
    this.release(cmd.kind, cmd.name, g, events);
    return { ok: true, value: { status: 'released', token: g.token } };
  }

  cancel(cmd: CancelPermitCommand, s: { id: number; results: Record<number, ModelResult> }, events: ModelEvent[]): ModelResult {
    const w = this.tables[cmd.kind][cmd.name]?.queue.find((x) => x.session === s.id && x.seq === cmd.acquireSeq);
    if (w === undefined) return { ok: true, value: { status: 'not-waiting' } };
    this.drop(cmd.kind, cmd.name, w);
    events.push({ type: 'wait-cancelled', kind: cmd.kind, name: cmd.name, session: s.id, seq: w.seq });
    if (s.results[w.seq] !== undefined) s.results[w.seq] = { ok: true, value: { status: 'cancelled' } };
    return { ok: true, value: { status: 'cancelled' } };
  }

  queuedAgain(session: number, seq: number): ModelResult | undefined {
    for (const kind of KINDS) {
      for (const r of Object.values(this.tables[kind])) {
        const k = r.queue.findIndex((w) => w.session === session && w.seq === seq);
        if (k >= 0) return { ok: true, value: { status: 'queued', position: k + 1, deadline: r.queue[k]!.deadline } };
      }
    }
    return undefined;
  }

  fenceHolds(kind: Kind, name: string, token: number, session: number): boolean {
    const r = this.tables[kind][name];
    return r?.holders.some((g) => g.session === session && g.token === token && (kind !== 'rwlock' || g.weight === RW)) ?? false;
  }

  handOffs(t: number, index: number, events: ModelEvent[]): void {
    for (const kind of KINDS) {
      for (const name of [...new Set(this.moved[kind])].sort(byStr)) {
        for (;;) {
          const r = this.tables[kind][name];
          const w = r?.queue[0];
          if (r === undefined || w === undefined) break;
          if (r.holders.reduce((sum, g) => sum + g.weight, 0) + w.weight > r.permits) break;
          r.queue.shift();
          this.addGrant(r, {
            session: w.session,
            seq: w.seq,
            weight: w.weight,
            token: index,
            acquiredAt: t,
            ...(w.value === undefined ? {} : { value: w.value }),
          });
          const s = this.sessions()[w.session]!;
          const grant = { token: index, acquiredAt: t, expiresAt: s.deadline };
          events.push({ type: 'granted', kind, name, session: w.session, seq: w.seq, ...grant });
          if (s.results[w.seq] !== undefined) s.results[w.seq] = { ok: true, value: { status: 'granted', ...grant } };
        }
      }
    }
  }

  deadlines(): number[] {
    return KINDS.flatMap((kind) => this.waitsOf(kind).map((w) => w.deadline));
  }

  semaphoreInfo(name: string): unknown {
    const r = this.tables.semaphore[name];
    if (r === undefined) return { holders: [], holderCount: 0, waiters: 0 };
    const used = r.holders.reduce((sum, g) => sum + g.weight, 0);
    const holders = r.holders.map((g) => ({ ...this.holderInfo(g), weight: g.weight }));
    return { permits: r.permits, available: r.permits - used, holders, holderCount: r.holders.length, waiters: r.queue.length };
  }

  rwlockInfo(name: string): unknown {
    const r = this.tables.rwlock[name];
    if (r === undefined || r.holders.length === 0) return { mode: 'free', holders: [], holderCount: 0, waiters: r?.queue.length ?? 0 };
    const write = r.holders.length === 1 && r.holders[0]!.weight === RW;
    const holders = r.holders.map((g) => ({ ...this.holderInfo(g), mode: g.weight === RW ? 'write' : 'read' }));
    return { mode: write ? 'write' : 'read', holders, holderCount: r.holders.length, waiters: r.queue.length };
  }

  electionInfo(name: string): unknown {
    const r = this.tables.election[name];
    const g = r?.holders[0];
    const candidates = r?.queue.length ?? 0;
    if (g === undefined) return { leader: null, candidates };
    const h = this.holderInfo(g);
    return {
      leader: { sessionId: h.sessionId, fencingToken: h.fencingToken, value: g.value, acquiredAt: h.acquiredAt, expiresAt: h.expiresAt },
      candidates,
    };
  }

  /** A listing of `kind`, at most `limit` entries (the names are few: far below the byte bound). */
  listPermits(kind: Kind, limit: number): unknown {
    const names = Object.keys(this.tables[kind]).sort(byStr);
    const info = (name: string): unknown =>
      kind === 'election' ? this.electionInfo(name) : kind === 'rwlock' ? this.rwlockInfo(name) : this.semaphoreInfo(name);
    const items = names.slice(0, limit).map((name) => ({ name, ...(info(name) as object) }));
    return names.length > limit ? { items, next: names[limit - 1] } : { items };
  }

  private holderInfo(g: Grant): { sessionId: number; fencingToken: number; acquiredAt: number; expiresAt: number } {
    return { sessionId: g.session, fencingToken: g.token, acquiredAt: g.acquiredAt, expiresAt: this.sessions()[g.session]?.deadline ?? 0 };
  }

  /** Holders in (token, session, seq) order. */
  private addGrant(r: Resource, g: Grant): void {
    r.holders.push(g);
    r.holders.sort((a, b) => a.token - b.token || a.session - b.session || a.seq - b.seq);
  }

  private release(kind: Kind, name: string, g: Grant, events: ModelEvent[]): void {
    const r = this.tables[kind][name]!;
    r.holders = r.holders.filter((x) => x !== g);
    events.push({ type: 'lock-released', kind, name, session: g.session, token: g.token });
    this.settle(kind, name);
  }

  private drop(kind: Kind, name: string, w: Wait): void {
    const r = this.tables[kind][name]!;
    r.queue = r.queue.filter((x) => x !== w);
    this.settle(kind, name);
  }

  /** An idle resource is forgotten; one with waiters may hand off at the end of the step. */
  private settle(kind: Kind, name: string): void {
    const r = this.tables[kind][name]!;
    if (r.holders.length === 0 && r.queue.length === 0) delete this.tables[kind][name];
    else this.moved[kind].push(name);
  }

  private waitsOf(kind: Kind): Wait[] {
    return Object.values(this.tables[kind])
      .flatMap((r) => r.queue)
      .sort((a, b) => a.id - b.id);
  }

  private nameOf(kind: Kind, w: Wait): string {
    return Object.keys(this.tables[kind]).find((n) => this.tables[kind][n]!.queue.includes(w))!;
  }
}
