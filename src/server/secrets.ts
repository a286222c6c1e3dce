/**
 * Comparing a secret a caller presents with the one configured, in constant time: both are
 * hashed first, so neither the content nor the length of the configured secret leaks through
 * how long a wrong guess takes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Checks presented secrets against `secret`. With no secret configured, every check passes. */
export interface SecretCheck {
  /** Whether a secret is configured at all. */
  readonly required: boolean;
  /** Whether `given` is the configured secret (true when none is configured). */
  matches(given: string | undefined): boolean;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A {@link SecretCheck} for `secret` (undefined: nothing required). */
export function secretCheck(secret: string | undefined): SecretCheck {
  if (secret === undefined) return { required: false, matches: () => true };
  const expected = digest(secret);
  return { required: true, matches: (given) => given !== undefined && timingSafeEqual(expected, digest(given)) };
}
