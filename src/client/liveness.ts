/**
 * Telling a silent node from a quiet one, on the client's side of one connection.
 *
 * A node whose process is paused (SIGSTOP, a frozen VM) or cut off by a network that drops
 * packets keeps its TCP connection open: no close, no error, requests simply go unanswered.
 * The client therefore pings (a WebSocket ping, which the node's `ws` server answers by
 * itself, from its own event loop) whenever it has heard nothing for half the timeout, and gives
 * the connection up once nothing at all (no answer, no pong) came for the whole timeout.
 *
 * Pure bookkeeping on an injected clock, so the rules are tested without real time; the
 * connection feeds it and acts on its verdicts.
 */

/** What to do at a check: nothing, ping the node, or give the connection up as dead. */
export type SilenceVerdict = 'quiet' | 'ping' | 'silent';

/** The silence bookkeeping of one connection (see the module comment). */
export class SilenceWatch {
  /** How often the connection should call {@link check}: a quarter of the timeout. */
  readonly checkEveryMs: number;
  private lastHeard: number;
  private lastCheck: number;

  /**
   * @param timeoutMs How long the node may stay silent, pings unanswered, before it counts as
   *   dead. A silent node is found at most `timeoutMs + checkEveryMs` after it went silent.
   * @param t The current time (monotonic ms): the connection just opened, which counts as heard.
   */
  constructor(
    readonly timeoutMs: number,
    t: number,
  ) {
    if (!(timeoutMs > 0)) throw new RangeError(`a silence timeout must be positive, got ${timeoutMs}`);
    this.checkEveryMs = Math.max(1, timeoutMs / 4);
    this.lastHeard = t;
    this.lastCheck = t;
  }

  /** Something arrived from the node at `t` (an answer or a pong). */
  heard(t: number): void {
    if (t > this.lastHeard) this.lastHeard = t;
  }

  /** How long nothing has been heard, at `t`. */
  silentFor(t: number): number {
    return Math.max(0, t - this.lastHeard);
  }

  /**
   * The verdict at `t`. A check that comes more than half a timeout after the previous one means
   * this process itself did not run meanwhile (a busy event loop, a paused client): whatever the
   * node sent is still unread in the socket, so the silence is not the node's. The node then
   * gets the benefit of the doubt (counted as heard now, and pinged) rather than being dropped
   * for our own stall.
   */
  check(t: number): SilenceVerdict {
    const sinceLastCheck = t - this.lastCheck;
    this.lastCheck = t;
    if (sinceLastCheck > this.timeoutMs / 2) {
      this.heard(t);
      return 'ping';
    }
    const silent = this.silentFor(t);
    if (silent >= this.timeoutMs) return 'silent';
    return silent >= this.timeoutMs / 2 ? 'ping' : 'quiet';
  }
}
