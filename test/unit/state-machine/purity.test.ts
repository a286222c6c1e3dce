/**
 * The state machine reads time only from entries (docs/design.md#time-in-the-state-machine).
 * This scan fails on any clock, timer, ambient randomness, process or I/O use anywhere in
 * src/state-machine. msgpackr is allowed (it is the entry and snapshot codec, pure computation).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../../../src/state-machine/', import.meta.url).pathname;

const FORBIDDEN: ReadonlyArray<{ readonly name: string; readonly pattern: RegExp }> = [
  { name: 'node: import', pattern: /from\s+['"]node:|import\(\s*['"]node:|require\(/ },
  {
    name: 'I/O library import',
    pattern: /from\s+['"](level|classic-level|ws|fs|net|http|https|crypto|path|os|child_process|worker_threads)(\/[^'"]*)?['"]/,
  },
  { name: 'import from server code other than the interface', pattern: /from\s+['"]\.\.\/server\/(?!state-machine\.js)/ },
  { name: 'Date', pattern: /\bDate\b/ },
  { name: 'Math.random', pattern: /\bMath\s*\.\s*random\b/ },
  { name: 'crypto randomness', pattern: /\b(getRandomValues|randomUUID|randomBytes)\b/ },
  { name: 'timer', pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask|clearTimeout|clearInterval)\b/ },
  { name: 'performance', pattern: /\bperformance\b/ },
  { name: 'process', pattern: /\bprocess\s*\./ },
  { name: 'hrtime', pattern: /\bhrtime\b/ },
  { name: 'Promise/async', pattern: /\b(Promise|async|await)\b/ },
];

/** Strips comments so prose may mention the forbidden words. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function findImpurities(file: string, source: string): string[] {
  const found: string[] = [];
  stripComments(source)
    .split('\n')
    .forEach((line, k) => {
      for (const f of FORBIDDEN) if (f.pattern.test(line)) found.push(`${file}:${k + 1}: ${f.name}: ${line.trim()}`);
    });
  return found;
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(p));
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('purity of src/state-machine (time only from entries)', () => {
  it('has no clock, timer, randomness, process or I/O use', () => {
    const all = files(DIR);
    expect(all.length).toBeGreaterThanOrEqual(10);
    const found = all.flatMap((f) => findImpurities(f, readFileSync(f, 'utf8')));
    expect(found, found.join('\n')).toEqual([]);
  });

  it('negative control: catches each forbidden use', () => {
    const samples = [
      "import { readFileSync } from 'node:fs';",
      "import WebSocket from 'ws';",
      "import { Clock } from '../server/clock.js';",
      'const now = Date.now();',
      'const r = Math.random();',
      'const id = crypto.randomUUID();',
      'setTimeout(() => expire(), 10);',
      'const t = performance.now();',
      'if (process.env.X) {}',
      'const t = process.hrtime.bigint();',
      'await persist();',
    ];
    for (const s of samples) expect(findImpurities('sample.ts', s), s).not.toEqual([]);
    expect(findImpurities('sample.ts', "import type { StateMachine } from '../server/state-machine.js';")).toEqual([]);
    expect(findImpurities('sample.ts', '// no Date.now() here, no setTimeout')).toEqual([]);
  });
});
