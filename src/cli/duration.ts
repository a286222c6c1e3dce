/**
 * Human durations for CLI options (docs/operations.md#client-commands): `500ms`, `10s`, `2m`,
 * `1h`, `1.5s`, and a bare `0`. A bare non-zero number is refused: `--wait 10` could mean
 * seconds or milliseconds, and a lock wait a thousand times too short (or too long) is a bug
 * the user would not see.
 */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration option's value was not understood; the message names the option and the forms. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/**
 * Parses `text` into whole milliseconds (rounded). `option` names the flag in the error, e.g.
 * `--wait`. Throws {@link DurationError} on anything else, including negative values.
 */
export function parseDuration(text: string, option: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(t);
  if (m === null) {
    throw new DurationError(`${option}: ${JSON.stringify(text)} is not a duration; use a number with a unit: 500ms, 10s, 2m, 1h`);
  }
  const ms = Math.round(Number(m[1]) * (UNITS[m[2] as string] as number));
  if (!Number.isSafeInteger(ms)) throw new DurationError(`${option}: ${JSON.stringify(text)} is too long`);
  return ms;
}

/** Formats milliseconds the way {@link parseDuration} reads them, to the largest exact unit. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms >= 1_000 ? `${(ms / 1_000).toFixed(1)}s` : `${ms}ms`;
}
