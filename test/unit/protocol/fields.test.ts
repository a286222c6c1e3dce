import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkName, FieldError } from '../../../src/protocol/fields.js';

/** What the rule meant before it was measured by hand: the platform's encoder and a regex. */
function reference(s: string): number {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)) return -1;
  return new TextEncoder().encode(s).byteLength;
}

/** checkName's verdict on `s` with a limit of `max` bytes: the bytes it accepted, or its complaint. */
function verdict(s: string, max: number): string {
  try {
    checkName(s, 'name', max);
    return 'ok';
  } catch (e) {
    if (!(e instanceof FieldError)) throw e;
    return /lone surrogate/.test(e.message) ? 'surrogate' : /UTF-8 bytes/.test(e.message) ? 'long' : e.message;
  }
}

/** Strings of any code points, with surrogate halves on their own mixed in. */
const NAMES = fc
  .array(
    fc.oneof(fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '😀', 'é', '€', 'a'), fc.string({ unit: 'binary', maxLength: 4 })),
    {
      maxLength: 12,
    },
  )
  .map((parts) => parts.join(''));

describe('checkName', () => {
  it('counts UTF-8 bytes like TextEncoder, pairs included', () => {
    expect(verdict('a', 1)).toBe('ok');
    expect(verdict('é', 1)).toBe('long');
    expect(verdict('é', 2)).toBe('ok');
    expect(verdict('€', 2)).toBe('long');
    expect(verdict('€', 3)).toBe('ok');
    expect(verdict('😀', 3)).toBe('long');
    expect(verdict('😀', 4)).toBe('ok');
  });

  it('refuses lone surrogates wherever they stand', () => {
    for (const s of ['\uD800', '\uDC00', 'a\uD800', '\uD800a', '\uDC00\uD800', '\uD83D\uDE00\uD800', 'x\uDFFFy'])
      expect(verdict(s, 100)).toBe('surrogate');
  });

  it('agrees with the encoder on any string (fast-check)', () => {
    fc.assert(
      fc.property(NAMES, fc.integer({ min: 1, max: 80 }), (s, max) => {
        const want = reference(s);
        const expected = s.length === 0 ? 'name must not be empty' : s.length > max || want > max ? 'long' : want < 0 ? 'surrogate' : 'ok';
        expect(verdict(s, max)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });
});
