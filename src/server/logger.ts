/**
 * Structured logging (docs/operations.md#logs): one JSON object per line on stderr, with
 * node id, term and role. Fields that describe the node (id, term, role) come from a context
 * function so every line carries the current values without callers repeating them.
 */
import type { Logger } from '../raft/index.js';

export { silentLogger, type Logger } from '../raft/index.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLoggerOptions {
  readonly level?: LogLevel;
  /** Current node context (id, term, role...), merged into every line. */
  readonly context?: () => Readonly<Record<string, unknown>>;
  /** Where lines go (default: process.stderr). */
  readonly write?: (line: string) => void;
  readonly now?: () => number;
}

/**
 * The level named by `value` (RAFTLOCK_LOG_LEVEL), `info` when unset. Throws naming the levels
 * for anything else: a typo must not silently log at another level.
 */
export function parseLogLevel(value: string | undefined): LogLevel {
  if (value === undefined || value === '') return 'info';
  if (Object.hasOwn(RANK, value)) return value as LogLevel;
  throw new Error(`RAFTLOCK_LOG_LEVEL: unknown level ${JSON.stringify(value.slice(0, 40))}; use one of ${Object.keys(RANK).join(', ')}`);
}

export function createJsonLogger(opts: JsonLoggerOptions = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? Date.now;
  const emit = (level: LogLevel, msg: string, fields?: Readonly<Record<string, unknown>>): void => {
    if (RANK[level] < min) return;
    const record = { time: new Date(now()).toISOString(), level, ...(opts.context?.() ?? {}), msg, ...(fields ?? {}) };
    let line: string;
    try {
      line = JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? v.message : v));
    } catch {
      line = JSON.stringify({ time: record.time, level, msg, note: 'fields not serializable' });
    }
    write(`${line}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
