/**
 * Fault injection for tests and chaos runs (docs/design.md#peer-protocol): drop with a
 * probability, delay, and block traffic to or from given peers, each per direction so one-way
 * partitions can be built.
 *
 * Off unless constructed: a transport without a FaultLayer has no fault code path at all, and
 * the only way to get one is the transport's constructor option. Nothing on the wire or in the
 * client API can create or configure it; the node wires it only behind an explicit start flag.
 *
 * Rules apply per message on send (before it is queued) and on receive (after it is
 * validated and before it reaches the core), and to whole snapshot streams.
 */
import type { NodeId } from '../raft/index.js';

/** `send`: traffic this node sends to the peer; `receive`: traffic it gets from the peer. */
export type FaultDirection = 'send' | 'receive';

/** Where a rule applies: one peer or all (`peer` omitted), one direction or both. */
export interface FaultScope {
  readonly peer?: NodeId;
  readonly direction?: FaultDirection | 'both';
}

/** What to do with one unit of traffic. */
export type FaultDecision = { readonly deliver: false } | { readonly deliver: true; readonly delayMs: number };

/** The current rules, for status pages and test assertions. */
export interface FaultSettings {
  readonly drop: Readonly<Record<string, number>>;
  readonly delay: Readonly<Record<string, number>>;
  readonly blocked: readonly string[];
}

/** Construction options of {@link FaultLayer}. */
export interface FaultLayerOptions {
  /** Uniform random numbers in [0, 1) (default Math.random); inject a seeded one to replay. */
  readonly random?: () => number;
}

const ALL = '*';
/** Longest delay accepted: delays hold messages in timers, so keep them bounded. */
export const MAX_FAULT_DELAY_MS = 60_000;

const DELIVER_NOW: FaultDecision = { deliver: true, delayMs: 0 };
const DROP: FaultDecision = { deliver: false };

function directions(scope: FaultScope | undefined): FaultDirection[] {
  const d = scope?.direction ?? 'both';
  return d === 'both' ? ['send', 'receive'] : [d];
}

function key(direction: FaultDirection, peer: NodeId | typeof ALL): string {
  return `${direction}:${peer}`;
}

/** Mutable fault rules shared by a transport's send and receive paths. */
export class FaultLayer {
  private readonly random: () => number;
  private readonly drop = new Map<string, number>();
  private readonly delay = new Map<string, number>();
  private readonly blocked = new Set<string>();
  /** What the layer did so far. */
  readonly stats = { dropped: 0, blocked: 0, delayed: 0 };

  constructor(opts: FaultLayerOptions = {}) {
    this.random = opts.random ?? Math.random;
  }

  /** Drops each message in scope with probability `p` (0 removes the rule). */
  setDropProbability(p: number, scope?: FaultScope): void {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`drop probability must be in [0, 1], got ${p}`);
    for (const d of directions(scope)) {
      const k = key(d, scope?.peer ?? ALL);
      if (p === 0) this.drop.delete(k);
      else this.drop.set(k, p);
    }
  }

  /** Delays each message in scope by `ms` (0 removes the rule). */
  setDelay(ms: number, scope?: FaultScope): void {
    if (!(Number.isFinite(ms) && ms >= 0 && ms <= MAX_FAULT_DELAY_MS)) {
      throw new RangeError(`delay must be in [0, ${MAX_FAULT_DELAY_MS}] ms, got ${ms}`);
    }
    for (const d of directions(scope)) {
      const k = key(d, scope?.peer ?? ALL);
      if (ms === 0) this.delay.delete(k);
      else this.delay.set(k, ms);
    }
  }

  /** Blocks all traffic with `peer` in `direction` (both by default): a (one-way) partition. */
  block(peer: NodeId, direction: FaultDirection | 'both' = 'both'): void {
    for (const d of directions({ direction })) this.blocked.add(key(d, peer));
  }

  unblock(peer: NodeId, direction: FaultDirection | 'both' = 'both'): void {
    for (const d of directions({ direction })) this.blocked.delete(key(d, peer));
  }

  /** Removes every rule. */
  clear(): void {
    this.drop.clear();
    this.delay.clear();
    this.blocked.clear();
  }

  /** The fate of one message (or snapshot stream) in `direction` with `peer`. */
  decide(direction: FaultDirection, peer: NodeId): FaultDecision {
    if (this.blocked.has(key(direction, peer))) {
      this.stats.blocked++;
      return DROP;
    }
    const p = this.drop.get(key(direction, peer)) ?? this.drop.get(key(direction, ALL)) ?? 0;
    if (p > 0 && this.random() < p) {
      this.stats.dropped++;
      return DROP;
    }
    const delayMs = this.delay.get(key(direction, peer)) ?? this.delay.get(key(direction, ALL)) ?? 0;
    if (delayMs === 0) return DELIVER_NOW;
    this.stats.delayed++;
    return { deliver: true, delayMs };
  }

  settings(): FaultSettings {
    return { drop: Object.fromEntries(this.drop), delay: Object.fromEntries(this.delay), blocked: [...this.blocked] };
  }
}
