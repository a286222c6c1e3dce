/** The JSON-lines logger's level: unset means info, a known name is taken, anything else is an error. */
import { describe, expect, it } from 'vitest';
import { parseLogLevel } from '../../../src/server/index.js';

describe('RAFTLOCK_LOG_LEVEL', () => {
  it('unset or empty is info; the four levels are taken as written', () => {
    expect(parseLogLevel(undefined)).toBe('info');
    expect(parseLogLevel('')).toBe('info');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) expect(parseLogLevel(level)).toBe(level);
  });

  it('an unknown level is an error naming the known ones, not a silent info', () => {
    expect(() => parseLogLevel('verbose')).toThrow(/unknown level "verbose"; use one of debug, info, warn, error/);
    expect(() => parseLogLevel('toString')).toThrow(/unknown level/);
  });
});
