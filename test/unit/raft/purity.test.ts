/**
 * The core is pure (docs/design.md#the-pure-core). This scan fails on any import of Node
 * built-ins or I/O libraries, and on any use of the clock, timers, ambient randomness or the
 * process object, anywhere in src/raft. `findImpurities` is exported-by-test so its own
 * negative control can feed it a line that must be caught.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const RAFT_DIR = new URL('../../../src/raft/', import.meta.url).pathname;

const FORBIDDEN: ReadonlyArray<{ readonly name: string; readonly pattern: RegExp }> = [
  { name: 'node: import', pattern: /from\s+['"]node:|import\(\s*['"]node:|require\(/ },
  {
    name: 'I/O library import',
    pattern: /from\s+['"](level|classic-level|ws|msgpackr|fs|net|http|crypto|path|os|child_process)(\/[^'"]*)?['"]/,
  },
  { name: 'Date', pattern: /\bDate\b/ },
  { name: 'Math.random', pattern: /\bMath\s*\.\s*random\b/ },
  { name: 'timer', pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask|clearTimeout|clearInterval)\b/ },
  { name: 'performance', pattern: /\bperformance\b/ },
  { name: 'process', pattern: /\bprocess\s*\./ },
  { name: 'Promise/async', pattern: /\b(Promise|async|await)\b/ },
  { name: 'Buffer', pattern: /\bBuffer\b/ },
];

/** Strips comments so prose may mention the forbidden words. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function findImpurities(file: string, source: string): string[] {
  const found: string[] = [];
  const lines = stripComments(source).split('\n');
  lines.forEach((line, k) => {
    for (const f of FORBIDDEN) if (f.pattern.test(line)) found.push(`${file}:${k + 1}: ${f.name}: ${line.trim()}`);
  });
  return found;
}

function coreFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...coreFiles(p));
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('purity of src/raft', () => {
  it('has no I/O, clock, timer, randomness or process use', () => {
    const files = coreFiles(RAFT_DIR);
    expect(files.length).toBeGreaterThan(8);
    const found = files.flatMap((f) => findImpurities(f, readFileSync(f, 'utf8')));
    expect(found, found.join('\n')).toEqual([]);
  });

  it('negative control: catches each forbidden use', () => {
    const samples = [
      "import { readFileSync } from 'node:fs';",
      "import { Level } from 'level';",
      "import WebSocket from 'ws';",
      "import { pack } from 'msgpackr';",
      'const now = Date.now();',
      'const r = Math.random();',
      'setTimeout(() => tick(), 10);',
      'const t = performance.now();',
      'if (process.env.X) {}',
      'await persist();',
    ];
    for (const s of samples) expect(findImpurities('sample.ts', s), s).not.toEqual([]);
    // Comments may talk about them.
    expect(findImpurities('sample.ts', '// no Date.now() here, no setTimeout')).toEqual([]);
  });
});
