/**
 * The layer table of docs/design.md#layers, checked over every import in src/ (type-only ones
 * included; another layer is entered through its index.ts), and the SDK's import closure: `import 'raftlock'` must load src/client and
 * src/protocol only. Both checks are functions fed planted sources first (negative controls),
 * so a checker that stopped seeing imports would fail here rather than pass everything.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NO_LEADER } from '../../../src/protocol/index.js';
import { NONE } from '../../../src/raft/index.js';
import { importsOf, resolveRelative, ROOT, sourcesUnder, type SourceFile } from '../../support/imports.js';

/** Layer → the other src/ layers it may import, as the table in docs/design.md states it. */
type LayerTable = ReadonlyMap<string, ReadonlySet<string>>;

/** Parses the `## Layers` table of docs/design.md (`| src/x | … | a, b |` or `nothing`). */
export function parseLayerTable(markdown: string): LayerTable {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Layers'));
  if (section === undefined) throw new Error('docs/design.md has no "## Layers" section');
  const table = new Map<string, Set<string>>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const folder = /^src\/([a-z-]+)$/.exec(cells[1] ?? '')?.[1];
    if (folder === undefined) continue;
    const allowed = cells[3] ?? '';
    table.set(folder, new Set(allowed === 'nothing' ? [] : allowed.split(',').map((s) => s.trim())));
  }
  return table;
}

function layerOf(path: string): string | undefined {
  return /^src\/([^/]+)\//.exec(path)?.[1];
}

/**
 * Files of another layer that may be imported past its index.ts, with the reason. The CLI's
 * bare-lease sessions use the SDK's internals but are no part of the SDK's public surface.
 */
const DEEP_IMPORTS: ReadonlyMap<string, string> = new Map([['src/client/detached-session.ts', 'src/cli']]);

/**
 * Every import in `files` that crosses from one src/ layer into another the table does not
 * allow, or that reaches past the other layer's index.ts into its files.
 */
export function layerViolations(files: readonly SourceFile[], table: LayerTable): string[] {
  const found: string[] = [];
  for (const f of files) {
    const from = layerOf(f.path);
    if (from === undefined) continue;
    const allowed = table.get(from);
    if (allowed === undefined) {
      found.push(`${f.path}: layer src/${from} is not in the table of docs/design.md#layers`);
      continue;
    }
    for (const imp of importsOf(f.text)) {
      const target = resolveRelative(f.path, imp.specifier);
      if (target === undefined) continue;
      const to = layerOf(target);
      if (to === undefined) found.push(`${f.path}:${imp.line}: imports ${imp.specifier}, outside src/`);
      else if (to !== from && !allowed.has(to))
        found.push(
          `${f.path}:${imp.line}: src/${from} may not import src/${to} (${imp.specifier}); it may import: ${[...allowed].join(', ') || 'nothing'}`,
        );
      else if (to !== from && target !== `src/${to}/index.ts` && DEEP_IMPORTS.get(target) !== `src/${from}`) {
        found.push(`${f.path}:${imp.line}: reaches past src/${to}/index.ts into ${target}; import it from the layer's index.ts`);
      }
    }
  }
  return found;
}

/** The files (and packages) loaded at run time from `entry`: type-only imports are erased. */
export function runtimeClosure(
  files: ReadonlyMap<string, string>,
  entry: string,
): { readonly modules: string[]; readonly packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const path = queue.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    const text = files.get(path);
    if (text === undefined) throw new Error(`${path} is imported but does not exist`);
    for (const imp of importsOf(text)) {
      if (imp.typeOnly) continue;
      const target = resolveRelative(path, imp.specifier);
      if (target === undefined) packages.add(imp.specifier);
      else queue.push(target);
    }
  }
  return { modules: [...seen].sort(), packages: [...packages].sort() };
}

const SDK_LAYERS = new Set(['client', 'protocol']);
const SDK_FORBIDDEN_PACKAGES = ['level', 'classic-level', 'commander'];

/** What in an SDK closure is not the SDK's: files outside src/client and src/protocol, and server-only packages. */
export function sdkClosureViolations(closure: { readonly modules: readonly string[]; readonly packages: readonly string[] }): string[] {
  return [
    ...closure.modules.filter((m) => !SDK_LAYERS.has(layerOf(m) ?? '')).map((m) => `${m} is loaded by import 'raftlock'`),
    ...closure.packages.filter((p) => SDK_FORBIDDEN_PACKAGES.includes(p)).map((p) => `package ${p} is loaded by import 'raftlock'`),
  ];
}

const table = parseLayerTable(readFileSync(join(ROOT, 'docs/design.md'), 'utf8'));
const srcFiles = sourcesUnder('src');

describe('layer boundaries (docs/design.md#layers)', () => {
  it('the table names every folder of src/', () => {
    const folders = new Set(srcFiles.map((f) => layerOf(f.path)).filter((l) => l !== undefined));
    expect([...table.keys()].sort()).toEqual([...folders].sort());
  });

  it('no import in src/ runs up or sideways', () => {
    expect(layerViolations(srcFiles, table)).toEqual([]);
  });

  it('negative control: a planted upward import, type-only or dynamic, is reported', () => {
    const planted: SourceFile[] = [
      { path: 'src/raft/planted.ts', text: "import type { LockService } from '../service/index.js';\n" },
      {
        path: 'src/state-machine/planted.ts',
        text: "// import from '../server/index.js' in a comment is fine\nexport { x } from '../server/node.js';\n",
      },
      { path: 'src/client/planted.ts', text: "const m = await import('../state-machine/index.js');\n" },
      { path: 'src/protocol/planted.ts', text: "import {\n  type A,\n  B,\n} from '../transport/wire.js';\n" },
      { path: 'src/server/planted.ts', text: "import { LevelDurableLog } from '../storage/level-durable-log.js';\n" },
    ];
    const found = layerViolations(planted, table);
    expect(found).toHaveLength(5);
    expect(found[4]).toContain('reaches past src/storage/index.ts');
    expect(found[0]).toContain('src/raft may not import src/service');
    expect(found[1]).toContain('src/state-machine/planted.ts:2');
    expect(found[3]).toContain('src/protocol may not import src/transport');
  });
});

describe('the import parser the boundary tests share', () => {
  it('sees every form of import, tells type-only ones apart, and skips comments and strings', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { type B, type C } from './b.js';",
      "import { D, type E } from './c.js';",
      "export type { F } from './f.js';",
      "export { G } from './g.js';",
      "import './h.js';",
      "const i = await import('./i.js');",
      "// import { Z } from './z.js'",
      'const planted = "import { Q } from \'./q.js\'";',
    ].join('\n');
    expect(importsOf(text).map((i) => [i.specifier, i.line, i.typeOnly])).toEqual([
      ['./a.js', 1, true],
      ['./b.js', 2, true],
      ['./c.js', 3, false],
      ['./f.js', 4, true],
      ['./g.js', 5, false],
      ['./h.js', 6, false],
      ['./i.js', 7, false],
    ]);
  });
});

describe("the SDK's import closure", () => {
  const files = new Map(srcFiles.map((f) => [f.path, f.text]));
  const closure = runtimeClosure(files, 'src/client/index.ts');

  it('holds src/client and src/protocol only, and no server-side package', () => {
    expect(sdkClosureViolations(closure)).toEqual([]);
    // The figure the README states; printed so a change is noticed.
    console.log(
      `import 'raftlock' loads ${closure.modules.length} modules: ${closure.modules.join(', ')}; packages: ${closure.packages.join(', ')}`,
    );
  });

  it('negative control: a client file importing the state machine drags it in and is reported', () => {
    const planted = new Map(files);
    planted.set(
      'src/client/index.ts',
      `${files.get('src/client/index.ts') ?? ''}\nimport { LockMachine } from '../state-machine/index.js';\n`,
    );
    const bad = sdkClosureViolations(runtimeClosure(planted, 'src/client/index.ts'));
    expect(bad).toContain("src/state-machine/index.ts is loaded by import 'raftlock'");
    expect(bad).toContain("src/state-machine/lock-machine.ts is loaded by import 'raftlock'");
  });

  it('the wire says "no leader" with the same number as the core', () => {
    expect(NO_LEADER).toBe(NONE);
  });
});
