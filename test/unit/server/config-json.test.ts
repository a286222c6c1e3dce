/**
 * Configuration files as JSON text (src/server/config-json.ts): syntax errors by line and column
 * with the line quoted, where each key stands, keys given twice, and agreement with JSON.parse on
 * what is JSON at all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseJsonWithLayout } from '../../../src/server/config-json.js';

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJsonWithLayout(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('syntax errors', () => {
  it.each([
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /expected ',' or '}' after the value of "a", found '"' \(is a comma missing\?\)/],
    ['{\n  "nodes": [\n    { "id": 1 }\n    { "id": 2 }\n  ]\n}', 4, 5, /after nodes\[0\].*comma missing/],
    ['{\n  "a": 1,\n}', 2, 9, /trailing comma/],
    ['[1, 2, ]', 1, 6, /trailing comma/],
    ['{\n  // the cluster\n  "a": 1\n}', 2, 3, /comments are not allowed/],
    ["{ 'a': 1 }", 1, 3, /double quotes/],
    ['{ a: 1 }', 1, 3, /keys must be strings in double quotes: write "a"/],
    ['{ "a": yes }', 1, 8, /yes is not a JSON value/],
    ['{ "a": 01 }', 1, 8, /not a valid JSON number/],
    ['{ "a": 1. }', 1, 8, /not a valid JSON number/],
    ['{ "a": "x\\q" }', 1, 10, /invalid escape \\q/],
    ['{ "a": "line\nbreak" }', 1, 13, /raw control character/],
    ['{ "a" 1 }', 1, 7, /expected ':' after the key "a"/],
    ['{ "a": 1 } }', 1, 12, /after the end of the JSON value/],
    ['{\n  "a": [1, 2', 2, 8, /end of file: the array opened here is not closed with \]/],
    ['{ "a": "open', 1, 8, /end of file: the string opened here is not closed/],
    ['   \n', 1, 1, /the file is empty/],
  ])('%j: line %i, column %i', (text, line, column, message) => {
    const err = syntaxError(text);
    expect(err.message).toMatch(message);
    expect(err.position).toEqual({ line, column });
  });

  it('quotes the offending line with a caret under the column', () => {
    const err = syntaxError('{\n  "clusterId": "a"\n  "nodes": []\n}');
    expect(err.position).toEqual({ line: 3, column: 3 });
    expect(err.excerpt).toBe('      "nodes": []\n      ^');
  });

  it('columns count characters, not UTF-16 units, and a long line is cut around the column', () => {
    expect(syntaxError('{ "😀😀": 1 "b": 2 }').position).toEqual({ line: 1, column: 11 }); // 13 in UTF-16 units
    const long = `{ "a": "${'x'.repeat(200)}" "b": 1 }`;
    const err = syntaxError(long);
    expect(err.position).toEqual({ line: 1, column: 211 });
    const [quoted, caret] = err.excerpt.split('\n') as [string, string];
    expect(quoted.length).toBeLessThan(100);
    expect(quoted[caret.indexOf('^')]).toBe('"'); // the caret is under the offending quote
  });

  it('a leading byte-order mark is not an error', () => {
    expect(parseJsonWithLayout('\uFEFF{ "a": 1 }').value).toEqual({ a: 1 });
  });
});

describe('layout', () => {
  const text = [
    '{',
    '  "clusterId": "a",',
    '  "nodes": [',
    '    { "id": 1, "address": "x" },',
    '    7',
    '  ],',
    '  "limits": { "maxSessions": 2 }',
    '}',
  ].join('\n');

  it('maps each key to its line and column, and each array element to its first character', () => {
    const { value, layout } = parseJsonWithLayout(text);
    expect(value).toEqual(JSON.parse(text));
    const at = (path: string): unknown => layout.position(path);
    expect(at('')).toEqual({ line: 1, column: 1 });
    expect(at('clusterId')).toEqual({ line: 2, column: 3 });
    expect(at('nodes')).toEqual({ line: 3, column: 3 });
    expect(at('nodes[0]')).toEqual({ line: 4, column: 5 });
    expect(at('nodes[0].address')).toEqual({ line: 4, column: 16 });
    expect(at('nodes[1]')).toEqual({ line: 5, column: 5 });
    expect(at('limits.maxSessions')).toEqual({ line: 7, column: 15 });
    expect(at('limits.maxsessions')).toBeUndefined();
    expect(layout.duplicates).toEqual([]);
  });

  it('finds keys given twice in one object (JSON.parse keeps the last), escaped spellings included', () => {
    const { value, layout } = parseJsonWithLayout('{\n  "tickMs": 10,\n  "a": { "tickMs": 1 },\n  "tick\\u004ds": 20\n}');
    expect(value).toEqual({ tickMs: 20, a: { tickMs: 1 } });
    expect(layout.duplicates).toEqual([{ path: 'tickMs', first: { line: 2, column: 3 }, again: { line: 4, column: 3 } }]);
    expect(layout.position('tickMs')).toEqual({ line: 4, column: 3 });
  });

  it('nesting deeper than a configuration has: parsed by JSON.parse, without positions', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expect(parseJsonWithLayout(deep).layout.position('')).toBeUndefined();
    expect(() => parseJsonWithLayout(`${'['.repeat(5000)}${']'.repeat(4999)}`)).toThrow(JsonSyntaxError);
  });
});

describe('agrees with JSON.parse', () => {
  // Random texts built from JSON's own pieces, often just broken: the scanner must accept
  // exactly what JSON.parse accepts, and give the same value.
  const piece = fc.constantFrom(
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"a"',
    '"b"',
    '1',
    '-0.5e3',
    'true',
    'null',
    ' ',
    '\n',
    '"',
    '01',
    '/',
    "'",
    'x',
  );
  const seed = Number(process.env.RAFTLOCK_JSON_SEED ?? Date.now() % 1_000_000);

  it('on random texts (seed printed; rerun with RAFTLOCK_JSON_SEED)', () => {
    console.log(`config-json agreement: seed ${seed}`);
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = pieces.join('');
        let expected: unknown;
        let valid = true;
        try {
          expected = JSON.parse(text);
        } catch {
          valid = false;
        }
        if (valid) expect(parseJsonWithLayout(text).value).toEqual(expected);
        else expect(() => parseJsonWithLayout(text)).toThrow(JsonSyntaxError);
      }),
      { seed, numRuns: 3000 },
    );
  });

  it('on random JSON values, pretty-printed or not', () => {
    console.log(`config-json values: seed ${seed}`);
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        expect(parseJsonWithLayout(text).value).toEqual(JSON.parse(text));
      }),
      { seed, numRuns: 500 },
    );
  });
});
