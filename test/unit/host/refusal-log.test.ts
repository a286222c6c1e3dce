/**
 * RefusalLog (docs/design.md#security): a flood of refused peer messages costs one warning per
 * reason per window of ticks, the rest are debug lines, and the next warning says how many were
 * refused since the last one. Time is ticks, so no clock is involved.
 */
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/raft/index.js';
import { RefusalLog } from '../../../src/host/refusal-log.js';

function recorder(): { lines: Array<{ level: string; reason: unknown; since: unknown }>; logger: Logger } {
  const lines: Array<{ level: string; reason: unknown; since: unknown }> = [];
  const note =
    (level: string) =>
    (_message: string, fields?: Readonly<Record<string, unknown>>): void => {
      lines.push({ level, reason: fields?.['reason'], since: fields?.['refusedSinceLastWarning'] });
    };
  return { lines, logger: { debug: note('debug'), info: note('info'), warn: note('warn'), error: note('error') } };
}

describe('RefusalLog', () => {
  it('warns once per reason per window; the rest are debug lines', () => {
    const { lines, logger } = recorder();
    const log = new RefusalLog(logger, 10);
    for (let k = 0; k < 1000; k++) log.refused('second-leader', { from: 3 });
    log.refused('commit-beyond-log', { from: 3 });
    expect(lines.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', reason: 'second-leader', since: undefined },
      { level: 'warn', reason: 'commit-beyond-log', since: undefined },
    ]);
    expect(lines.filter((l) => l.level === 'debug')).toHaveLength(999);
  });

  it('warns again once the window has passed, with the count refused since the last warning', () => {
    const { lines, logger } = recorder();
    const log = new RefusalLog(logger, 10);
    log.refused('second-leader', {});
    for (let t = 0; t < 9; t++) {
      log.tick();
      log.refused('second-leader', {});
    }
    // 9 ticks later: still inside the window.
    expect(lines.map((l) => l.level)).toEqual(['warn', ...Array<string>(9).fill('debug')]);
    log.tick();
    log.refused('second-leader', {});
    expect(lines.at(-1)).toEqual({ level: 'warn', reason: 'second-leader', since: 9 });
    // A quiet spell longer than the window: the next refusal warns at once, counting none.
    for (let t = 0; t < 50; t++) log.tick();
    log.refused('second-leader', {});
    expect(lines.at(-1)).toEqual({ level: 'warn', reason: 'second-leader', since: 0 });
  });

  it('carries the fields of the refused message', () => {
    const seen: Array<Readonly<Record<string, unknown>> | undefined> = [];
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (_m, f) => void seen.push(f), error: () => {} };
    new RefusalLog(logger, 10).refused('not-our-leader', { id: 1, from: 3, type: 'timeout-now', term: 9 });
    expect(seen).toEqual([{ reason: 'not-our-leader', id: 1, from: 3, type: 'timeout-now', term: 9 }]);
  });
});
