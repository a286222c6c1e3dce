/**
 * Reads the imports of TypeScript sources as text: what the boundary tests check. Every form
 * counts: `import … from`, `import type`, `export … from`, side-effect `import '…'` and dynamic
 * `import('…')`. Comments are stripped first, so prose may quote an import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** One import of a file. */
export interface ImportRef {
  /** The specifier as written (`../raft/index.js`, `ws`, `node:fs`). */
  readonly specifier: string;
  /** Whether only types come through it (erased at run time). */
  readonly typeOnly: boolean;
  /** 1-based line of the import, for messages. */
  readonly line: number;
}

/** A source file: its path relative to the repository root (`src/raft/raft.ts`) and its text. */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

function stripComments(source: string): string {
  // Keep line breaks so line numbers stay right.
  return source.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const STATIC = /(^|[;\n}])\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
const BARE = /(^|[;\n])\s*import\s+['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let k = 0; k < index; k++) if (text.charCodeAt(k) === 10) n++;
  return n;
}

/** Whether the clause imports types only: `import type {…}`, or every named binding marked `type`. */
function onlyTypes(typeKeyword: boolean, clause: string): boolean {
  if (typeKeyword) return true;
  const named = /^\{([\s\S]*)\}$/.exec(clause.trim());
  if (named === null) return false; // a default or namespace import is a value
  const parts = (named[1] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return parts.length > 0 && parts.every((p) => p.startsWith('type '));
}

/** Every import of `text`. */
export function importsOf(text: string): ImportRef[] {
  const src = stripComments(text);
  const out: ImportRef[] = [];
  for (const m of src.matchAll(STATIC)) {
    const at = (m.index ?? 0) + m[0].search(/\b(import|export)\b/);
    out.push({ specifier: m[5] ?? '', typeOnly: onlyTypes(m[3] !== undefined, m[4] ?? ''), line: lineOf(src, at) });
  }
  for (const m of src.matchAll(BARE))
    out.push({ specifier: m[2] ?? '', typeOnly: false, line: lineOf(src, (m.index ?? 0) + m[0].indexOf('import')) });
  for (const m of src.matchAll(DYNAMIC)) out.push({ specifier: m[1] ?? '', typeOnly: false, line: lineOf(src, m.index ?? 0) });
  return out;
}

/** The repository-relative `.ts` path a relative specifier of `from` points at, or undefined for a package. */
export function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = normalize(join(dirname(from), specifier)).replace(/\\/g, '/');
  return target.endsWith('.js') ? `${target.slice(0, -3)}.ts` : target;
}

/** The repository root (two levels above this file). */
export const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), '..', '..'));

/** Every `.ts` file below `dir` (repository-relative), read. */
export function sourcesUnder(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const p = join(abs, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) out.push({ path: relative(ROOT, p).replace(/\\/g, '/'), text: readFileSync(p, 'utf8') });
    }
  };
  walk(join(ROOT, dir));
  return out;
}
