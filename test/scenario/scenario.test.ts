/**
 * One test per scenario script in testdata/: runs it and compares every command's output with
 * the transcript in the file. With RAFTLOCK_REWRITE=1 (`npm run test:scenario:rewrite`) the
 * files are rewritten from the actual outputs instead; review the diff before committing.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeMismatches, parseScript, renderScript, runScript } from './runner.js';

const DIR = fileURLToPath(new URL('./testdata/', import.meta.url));
const REWRITE = process.env['RAFTLOCK_REWRITE'] === '1';
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('scenario scripts', () => {
  it('has the stories the suite promises', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(32);
  });

  for (const name of FILES) {
    it(name, () => {
      const path = join(DIR, name);
      const text = readFileSync(path, 'utf8');
      const script = parseScript(text, `test/scenario/testdata/${name}`, { allowMissingOutput: REWRITE });
      const results = runScript(script);
      if (REWRITE) {
        const next = renderScript(script, results);
        if (next !== text) writeFileSync(path, next);
        return;
      }
      const mismatch = describeMismatches(script, results);
      if (mismatch !== undefined) expect.fail(mismatch);
    });
  }
});
