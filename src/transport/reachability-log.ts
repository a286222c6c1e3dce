/**
 * What an outbound peer link says about its peer at info level: up, down, unreachable, and
 * reachable again. A dead peer is redialled every couple of seconds (ws-link.ts); logging each
 * failed dial would bury the log, and logging none (as before: `debug` only) left an operator
 * whose node could not reach anyone with nothing to read. So an outage is reported once it has
 * lasted a short grace (a peer still starting when this node dials it is not news), then again
 * at doubling intervals while it lasts, and its end is reported with how long it lasted.
 *
 * A link that goes down is news at once (`peer link down`, with why: the peer closed it, the
 * connection was lost, or this side found it silent), and so is its coming back (`peer link
 * up`, with how long it was down and how many dials failed meanwhile), however short the outage:
 * an operator reading a log after a network blip wants both ends of it.
 */
import type { Logger, NodeId } from '../raft/index.js';

/** When {@link ReachabilityLog} speaks; all in milliseconds. */
export interface ReachabilityTiming {
  /** An outage is reported once it has lasted this long (default 5 s). */
  readonly graceMs: number;
  /** The first "still unreachable" comes this long after the first report (default 30 s)… */
  readonly firstRepeatMs: number;
  /** …and the interval doubles up to this (default 10 min). */
  readonly maxRepeatMs: number;
}

export const DEFAULT_REACHABILITY_TIMING: ReachabilityTiming = { graceMs: 5_000, firstRepeatMs: 30_000, maxRepeatMs: 600_000 };

/** An outage in progress: since when, why, how many dials failed, whether and when it was reported. */
interface Outage {
  readonly since: number;
  /** Why the link went down, when it had been up ('' for a peer never reached yet). */
  readonly cause: string;
  failedDials: number;
  reported: boolean;
  nextReportAt: number;
  repeatMs: number;
}

/**
 * The link-state log lines of one outbound peer link (see the module comment). The link calls
 * {@link up} when its handshake completes, {@link down} when an open connection closes, and
 * {@link dialFailed} for every dial that did not get to open. Time comes from `now`, so the
 * back-off can be tested without waiting.
 */
export class ReachabilityLog {
  private outage: Outage | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly peer: NodeId,
    private readonly address: string,
    private readonly now: () => number = Date.now,
    private readonly timing: ReachabilityTiming = DEFAULT_REACHABILITY_TIMING,
  ) {}

  /**
   * The link is open: `peer reachable again` after a reported outage, else `peer link up`; after
   * a link that was down (or dials that failed), with `downMs`, `failedDials` and the `cause` it
   * went down for.
   */
  up(): void {
    const outage = this.outage;
    this.outage = undefined;
    if (outage === undefined) {
      this.logger.info('peer link up', { peer: this.peer, address: this.address });
      return;
    }
    const fields = {
      peer: this.peer,
      address: this.address,
      downMs: this.now() - outage.since,
      failedDials: outage.failedDials,
      ...(outage.cause !== '' ? { cause: outage.cause } : {}),
    };
    this.logger.info(outage.reported ? 'peer reachable again' : 'peer link up', fields);
  }

  /**
   * An open connection closed: logged at once (it is news), and an outage begins. `cause` says
   * why in words (this side found the link silent, the connection was lost, the peer closed it).
   */
  down(code: number, reason: string, cause = ''): void {
    this.logger.info('peer link down', {
      peer: this.peer,
      address: this.address,
      code,
      reason,
      ...(cause !== '' ? { cause } : {}),
    });
    this.outage ??= this.newOutage(cause);
  }

  /** A dial failed (`error` says why): reported once the outage outlasts the grace, then with back-off. */
  dialFailed(error: string): void {
    const outage = (this.outage ??= this.newOutage());
    outage.failedDials++;
    const t = this.now();
    const fields = { peer: this.peer, address: this.address, error, downMs: t - outage.since, failedDials: outage.failedDials };
    if (!outage.reported) {
      if (t - outage.since < this.timing.graceMs) return;
      outage.reported = true;
      outage.nextReportAt = t + outage.repeatMs;
      this.logger.info('peer unreachable', fields);
      return;
    }
    if (t < outage.nextReportAt) return;
    outage.repeatMs = Math.min(outage.repeatMs * 2, this.timing.maxRepeatMs);
    outage.nextReportAt = t + outage.repeatMs;
    this.logger.info('peer still unreachable', fields);
  }

  private newOutage(cause = ''): Outage {
    return { since: this.now(), cause, failedDials: 0, reported: false, nextReportAt: 0, repeatMs: this.timing.firstRepeatMs };
  }
}
