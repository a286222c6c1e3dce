/**
 * Finding the node to talk to, asking every endpoint at once: the decisions of one leader
 * search, on an injected clock (the {@link ClusterClient} dials, asks `status` and feeds the
 * outcomes in; see docs/design.md#routing-redirect-not-forward).
 *
 * Asking in parallel matters when a node is silent: one after the other, each silent node costs
 * a whole connect timeout before the next is asked; in parallel it costs nothing while another
 * node answers.
 *
 * The rules, in order:
 *
 * 1. A node that says it is the leader is taken at once (the highest term if several did).
 *    A *suspect* (a node that just failed this client: went silent, or let a request time out)
 *    is taken only once every other endpoint has answered or failed, so a stale leader that
 *    still believes in itself does not win the race against the real one.
 * 2. With no leader among the endpoints, a follower that knows a leader is taken when that
 *    leader is not one of the endpoints, or its endpoint failed (the leader is beyond reach
 *    here: reads still work through the follower, and a write follows the follower's hint),
 *    once every endpoint that is not a suspect answered or failed, or {@link FOLLOWER_GRACE_MS}
 *    passed.
 * 3. Fail fast: while the client has never reached any node, a search in which every endpoint
 *    failed (refused, DNS, no answer) and none ever opened gives up after
 *    {@link FAIL_FAST_MS}, naming each endpoint's cause. A cluster that is up but has no leader
 *    yet is reachable, so it is waited for (until the call's deadline).
 *
 * Otherwise the search goes on: the client keeps asking each endpoint (a short backoff).
 */
import { hostOf } from './connection.js';

/** How long every endpoint must have been unreachable before a search fails fast. */
export const FAIL_FAST_MS = 1_500;

/** How long a search waits for endpoints still silent before settling for a follower (rule 2). */
export const FOLLOWER_GRACE_MS = 500;

/** What a node said about itself (`status`). */
export interface NodeAnswer {
  readonly role: string;
  readonly term: number;
  /** The leader's client URL (`ws://host:port/client`) as the node knows it, or null. */
  readonly leaderUrl: string | null;
}

/** How a search ends. */
export type SearchDecision =
  | { readonly kind: 'leader'; readonly url: string }
  | { readonly kind: 'follower'; readonly url: string }
  | { readonly kind: 'unreachable'; readonly message: string };

interface Probe {
  readonly url: string;
  readonly suspect: boolean;
  /** Dialled for a leader another node named, not one of the endpoints searched. */
  readonly extra: boolean;
  /** Whether a connection to it ever opened during this search. */
  opened: boolean;
  /** Answered or failed at least once. */
  settled: boolean;
  failures: number;
  /** Its latest answer; undefined before the first, and after a failure. */
  answer: NodeAnswer | undefined;
  /** What the latest failure or answer said, for messages. */
  cause: string | undefined;
}

/** Options of a {@link LeaderSearch}. */
export interface LeaderSearchOptions {
  /** Endpoints that just failed this client (rule 1). */
  readonly suspects?: ReadonlySet<string>;
  /** Whether rule 3 applies: the client never reached any node. */
  readonly failFast: boolean;
  /** Whether leaders named by the nodes but missing from the endpoints may be dialled. */
  readonly followHints: boolean;
}

/** One search for the leader among `urls` (see the module comment). */
export class LeaderSearch {
  private readonly probes = new Map<string, Probe>();

  constructor(
    urls: readonly string[],
    /** When the search began (monotonic ms). */
    private readonly startedAt: number,
    private readonly opts: LeaderSearchOptions,
  ) {
    for (const url of urls) this.add(url, false);
  }

  /** The endpoints being asked, extra ones included. */
  get urls(): string[] {
    return [...this.probes.keys()];
  }

  /** A connection to `url` opened. */
  opened(url: string): void {
    const p = this.probes.get(url);
    if (p !== undefined) p.opened = true;
  }

  /** Dialling or asking `url` failed with `cause` (`connection refused`, `no answer within 1000 ms`…). */
  failed(url: string, cause: string): void {
    const p = this.probes.get(url);
    if (p === undefined) return;
    p.settled = true;
    p.failures++;
    p.answer = undefined;
    p.cause = cause;
  }

  /** `url` answered `status` with `answer`. */
  answered(url: string, answer: NodeAnswer): void {
    const p = this.probes.get(url);
    if (p === undefined) return;
    p.opened = true;
    p.settled = true;
    p.answer = answer;
    p.cause =
      answer.role === 'leader'
        ? `leader (term ${answer.term})`
        : `${answer.role}, ${answer.leaderUrl !== null ? `leader ${hostOf(answer.leaderUrl)}` : 'no leader known'} (term ${answer.term})`;
  }

  /**
   * Leaders the nodes named that are not among the endpoints: to dial as extra endpoints (only
   * when hints may be followed, and once every endpoint has answered or failed, so an endpoint
   * that is the leader under another address, behind a proxy, wins first). Each is returned once.
   */
  hintsToDial(): string[] {
    if (!this.opts.followHints || !this.allSettled(false)) return [];
    const out: string[] = [];
    for (const p of [...this.probes.values()]) {
      const hint = p.answer?.leaderUrl;
      if (hint === null || hint === undefined || this.probes.has(hint)) continue;
      this.add(hint, true);
      out.push(hint);
    }
    return out;
  }

  /** The decision at `t`, or undefined to go on asking. */
  decide(t: number): SearchDecision | undefined {
    const probes = [...this.probes.values()];
    // 1. A leader.
    const claims = probes.filter((p) => p.answer?.role === 'leader').sort((a, b) => (b.answer?.term ?? 0) - (a.answer?.term ?? 0));
    const best = claims[0];
    if (best !== undefined && (!best.suspect || this.allSettled(true))) return { kind: 'leader', url: best.url };
    if (best !== undefined) return undefined; // a suspect claims it: wait for the others first
    // 2. A follower that knows a leader beyond reach.
    if (this.allSettled(true) || t - this.startedAt >= FOLLOWER_GRACE_MS) {
      const followers = probes
        .filter((p) => p.answer !== undefined && p.answer.leaderUrl !== null && this.beyondReach(p.answer.leaderUrl))
        .sort((a, b) => Number(a.suspect) - Number(b.suspect) || (b.answer?.term ?? 0) - (a.answer?.term ?? 0));
      const f = followers[0];
      if (f !== undefined) return { kind: 'follower', url: f.url };
    }
    // 3. Nothing reachable, for a client that never reached anything.
    const listed = probes.filter((p) => !p.extra);
    if (this.opts.failFast && t - this.startedAt >= FAIL_FAST_MS && listed.length > 0 && listed.every((p) => p.failures > 0 && !p.opened)) {
      return {
        kind: 'unreachable',
        message: `no raftlock node reachable (${this.causes()}): check that the cluster is running and that the endpoints are its nodes' client addresses`,
      };
    }
    return undefined;
  }

  /** What `url` last said or why it failed. */
  causeOf(url: string): string {
    return this.probes.get(url)?.cause ?? 'no answer yet';
  }

  /** Each endpoint with what it last said or why it failed: `host:port: cause; …`. */
  causes(): string {
    return [...this.probes.values()].map((p) => `${hostOf(p.url)}: ${p.cause ?? 'no answer yet'}`).join('; ');
  }

  private add(url: string, extra: boolean): void {
    this.probes.set(url, {
      url,
      suspect: this.opts.suspects?.has(url) === true,
      extra,
      opened: false,
      settled: false,
      failures: 0,
      answer: undefined,
      cause: undefined,
    });
  }

  /** Whether every endpoint answered or failed at least once (suspects aside, if `skipSuspects`). */
  private allSettled(skipSuspects: boolean): boolean {
    for (const p of this.probes.values()) if (!p.settled && !(skipSuspects && p.suspect)) return false;
    return true;
  }

  /** Whether the leader at `url` cannot be asked here: not an endpoint, or its endpoint failed last. */
  private beyondReach(url: string): boolean {
    const p = this.probes.get(url);
    return p === undefined || (p.settled && p.answer === undefined);
  }
}
