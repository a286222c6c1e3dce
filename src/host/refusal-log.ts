/**
 * Logging of refused peer messages (docs/design.md#security) that a flood of them cannot turn
 * into a flood of log lines: per reason, the first refusal is a warning, and the ones after it
 * are debug lines until a window of ticks has passed; the next one is a warning again and says
 * how many were refused since the last warning. Memory is one entry per reason (a closed set).
 * Measured in the host's ticks, not a clock, so the simulator runs it deterministically.
 */
import type { Logger } from '../raft/index.js';

/** Rate-limited logging of refused peer messages, per reason, in ticks (see the module comment). */
export class RefusalLog {
  private ticks = 0;
  private readonly lastWarning = new Map<string, { tick: number; since: number }>();

  constructor(
    private readonly logger: Logger,
    /** Ticks between two warnings for the same reason. */
    private readonly windowTicks: number,
  ) {}

  /** One host tick: the clock of the warning windows. */
  tick(): void {
    this.ticks++;
  }

  /** Logs one refusal for `reason`: a warning if none for it this window, else a debug line. */
  refused(reason: string, fields: Readonly<Record<string, unknown>>): void {
    const last = this.lastWarning.get(reason);
    if (last !== undefined && this.ticks - last.tick < this.windowTicks) {
      last.since++;
      this.logger.debug('refused peer message', { reason, ...fields });
      return;
    }
    this.lastWarning.set(reason, { tick: this.ticks, since: 0 });
    this.logger.warn('refused peer message', {
      reason,
      ...fields,
      ...(last !== undefined ? { refusedSinceLastWarning: last.since } : {}),
    });
  }
}
