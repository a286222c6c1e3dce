/**
 * Reads the imports of TypeScript sources as text: the one parser of the boundary tests. Every
 * form counts: `import … from`, `import type`, `export … from`, side-effect `import '…'` and
 * `import('…')`. Comments are blanked first and string literals skipped, so prose and planted
 * examples may quote an import.
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

/**
 * The source with its comments blanked (same length, line breaks kept, so indexes and line
 * numbers still match), and the spans of its string and template literals.
 */
export function scan(source: string): { text: string; strings: Array<readonly [number, number]> } {
  const text = source.split('');
  const strings: Array<readonly [number, number]> = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && (next === '/' || next === '*')) {
      const end = next === '/' ? source.indexOf('\n', i) : source.indexOf('*/', i + 2) + 2;
      const stop = end <= 1 ? source.length : end;
      for (let k = i; k < stop; k++) if (text[k] !== '\n') text[k] = ' ';
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      strings.push([i, j]);
      i = j + 1;
    } else {
      i++;
    }
  }
  return { text: text.join(''), strings };
}

/** Every module specifier of a file, with its line: static imports and re-exports (type-only too), side-effect imports, `import('…')`. */
export function specifiers(source: string): Array<{ spec: string; line: number; at: number }> {
  const { text, strings } = scan(source);
  const inString = (at: number): boolean => strings.some(([a, b]) => at >= a && at <= b);
  const found = new Map<number, string>();
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[\w*{}\s,$]*?\bfrom\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const keyword = m.index ?? 0;
      if (inString(keyword)) continue; // code in a string, e.g. a planted example
      found.set(keyword + m[0].lastIndexOf(m[2] as string), m[2] as string);
    }
  }
  return [...found].sort((a, b) => a[0] - b[0]).map(([at, spec]) => ({ spec, line: text.slice(0, at).split('\n').length, at }));
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

const TYPE_ONLY = /\b(?:import|export)\s+(type\s+)?([\w*{}\s,$]*?)\s*\bfrom\s*(['"])([^'"\n]+)\3/g;

/** Every import of `text` ({@link specifiers}), each marked whether only types come through it. */
export function importsOf(text: string): ImportRef[] {
  const typeOnly = new Set<number>();
  const { text: code } = scan(text);
  for (const m of code.matchAll(TYPE_ONLY)) {
    if (onlyTypes(m[1] !== undefined, m[2] ?? '')) typeOnly.add((m.index ?? 0) + m[0].lastIndexOf(m[4] ?? ''));
  }
  return specifiers(text).map(({ spec, line, at }) => ({ specifier: spec, line, typeOnly: typeOnly.has(at) }));
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
