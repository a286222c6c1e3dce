/**
 * Every document a comment cites is one in this repository: links into docs/ name a file and
 * heading that exist, and no source, script or test cites the design documents the project
 * started from, or an issue number (provenance belongs in commit messages).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, sourcesUnder, type SourceFile } from '../../support/imports.js';

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings. */
function anchorsOf(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1] ?? '')));
}

const LINK = /docs\/([a-z0-9-]+\.md)(?:#([a-z0-9-]+))?/g;
// Built from parts so this file does not match itself.
const STALE = new RegExp(['DES', 'IGN\\b|TEST', 'ING\\b(?!\\.md)|[Ii]ssue [0-9]'].join(''));

/** Links into docs/ that name a missing file or heading. */
export function brokenLinks(files: readonly SourceFile[], readDoc: (name: string) => string | undefined): string[] {
  const found: string[] = [];
  for (const f of files) {
    f.text.split('\n').forEach((line, k) => {
      for (const m of line.matchAll(LINK)) {
        const doc = readDoc(m[1] ?? '');
        if (doc === undefined) found.push(`${f.path}:${k + 1}: docs/${m[1]} does not exist`);
        else if (m[2] !== undefined && !anchorsOf(doc).has(m[2])) found.push(`${f.path}:${k + 1}: docs/${m[1]} has no heading #${m[2]}`);
      }
    });
  }
  return found;
}

/** Lines citing documents outside the repository or issue numbers. */
export function staleCitations(files: readonly SourceFile[]): string[] {
  const found: string[] = [];
  for (const f of files) {
    f.text.split('\n').forEach((line, k) => {
      if (STALE.test(line)) found.push(`${f.path}:${k + 1}: ${line.trim().slice(0, 120)}`);
    });
  }
  return found;
}

const readDoc = (name: string): string | undefined => {
  const p = join(ROOT, 'docs', name);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
};
// This file plants dead links on purpose (the negative controls below).
const files = ['src', 'scripts', 'test'].flatMap((d) => sourcesUnder(d)).filter((f) => f.path !== 'test/unit/layout/docs-links.test.ts');

describe('citations in code', () => {
  it('every docs/ link names an existing file and heading', () => {
    expect(brokenLinks(files, readDoc)).toEqual([]);
  });

  it('nothing cites the starting design documents or an issue number', () => {
    expect(staleCitations(files)).toEqual([]);
  });

  it('negative controls: a dead anchor, a missing file and a stale citation are each reported', () => {
    const planted: SourceFile[] = [
      { path: 'src/x.ts', text: '// see docs/design.md#no-such-heading\n// see docs/nowhere.md\n// see docs/design.md#layers' },
      { path: 'src/y.ts', text: `// as ${'DES'}IGN §2.4 says\n// found in ${'iss'}ue 5` },
    ];
    expect(brokenLinks(planted, readDoc)).toEqual([
      'src/x.ts:1: docs/design.md has no heading #no-such-heading',
      'src/x.ts:2: docs/nowhere.md does not exist',
    ]);
    expect(staleCitations(planted)).toHaveLength(2);
    expect(slug('Routing: redirect, not forward')).toBe('routing-redirect-not-forward');
  });
});
