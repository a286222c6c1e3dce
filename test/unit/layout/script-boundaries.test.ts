/**
 * Who may import what between test/ and scripts/, and where the scripts' entry points are.
 *
 * - A test (any file under test/) imports only from src/, test/ and scripts/lib/.
 * - A script (any file under scripts/) imports only from src/ and scripts/; never from test/.
 * - scripts/lib/ (the shared tooling) imports only from src/ and scripts/lib/.
 * - Entry points are the files directly in scripts/: each is run by a package.json script, no
 *   package.json script runs a file below scripts/, and no file below scripts/ reads
 *   `process.argv` (which would make it a hidden entry point).
 *
 * Every relative specifier counts: `import` and `export … from` (type-only included),
 * side-effect imports and `import('…')` (dynamic or in a type). Package specifiers are not
 * checked. The checkers are exported so the negative controls below can feed them planted
 * files that must be caught.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scan, sourcesUnder, specifiers } from '../../support/imports.js';

const REPO = new URL('../../../', import.meta.url).pathname;

/** Where a file (repository-relative, `/`-separated) may import from, as repository-relative prefixes. */
function allowedRoots(file: string): { roots: readonly string[]; rule: string } | undefined {
  if (file.startsWith('scripts/lib/'))
    return { roots: ['src/', 'scripts/lib/'], rule: 'scripts/lib imports only from src/ and scripts/lib/' };
  if (file.startsWith('scripts/')) return { roots: ['src/', 'scripts/'], rule: 'scripts import only from src/ and scripts/ (never test/)' };
  if (file.startsWith('test/'))
    return { roots: ['src/', 'test/', 'scripts/lib/'], rule: 'tests import only from src/, test/ and scripts/lib/' };
  return undefined;
}

/** Violations of the import rules in one file (`file` repository-relative), one line each naming the file, line and import. */
export function checkImports(file: string, source: string): string[] {
  const allowed = allowedRoots(file);
  if (allowed === undefined) return [];
  const out: string[] = [];
  for (const { spec, line } of specifiers(source)) {
    if (!spec.startsWith('.')) continue; // a package
    const target = posix.normalize(posix.join(posix.dirname(file), spec));
    if (!allowed.roots.some((r) => target.startsWith(r))) out.push(`${file}:${line}: imports '${spec}' (${target}): ${allowed.rule}`);
  }
  return out;
}

/**
 * Violations of the entry-point rules: `topLevel` are the file names directly in scripts/,
 * `npmScripts` package.json's "scripts", `below` the files under scripts' subfolders with
 * their text.
 */
export function checkEntryPoints(
  topLevel: readonly string[],
  npmScripts: Readonly<Record<string, string>>,
  below: ReadonlyArray<{ file: string; source: string }>,
): string[] {
  const out: string[] = [];
  const referenced = new Map<string, string>();
  for (const [name, command] of Object.entries(npmScripts)) {
    for (const m of command.matchAll(/\bscripts\/[\w./-]+/g)) referenced.set(m[0], name);
  }
  for (const f of topLevel) if (!referenced.has(`scripts/${f}`)) out.push(`scripts/${f}: an entry point that no package.json script runs`);
  for (const [path, name] of referenced) {
    if (path.split('/').length !== 2)
      out.push(`package.json script "${name}" runs ${path}: entry points are the files directly in scripts/`);
    else if (!topLevel.includes(path.slice('scripts/'.length)))
      out.push(`package.json script "${name}" runs ${path}, which does not exist`);
  }
  for (const { file, source } of below) {
    const { text, strings } = scan(source);
    const m = [...text.matchAll(/\bprocess\.argv\b/g)].find((x) => !strings.some(([a, b]) => (x.index ?? 0) >= a && (x.index ?? 0) <= b));
    const k = m === undefined ? -1 : text.slice(0, m.index).split('\n').length - 1;
    if (k >= 0) out.push(`${file}:${k + 1}: reads process.argv: only the entry points directly in scripts/ parse a command line`);
  }
  return out;
}

/** Every .ts file under `dir` (repository-relative, `/`-separated). */
const tsFiles = (dir: string): string[] => sourcesUnder(dir).map((f) => f.path);

const read = (file: string): string => readFileSync(join(REPO, file), 'utf8');

describe('boundaries between test/ and scripts/', () => {
  it('no test imports scripts/ outside scripts/lib, no script imports test/, scripts/lib imports only src/ and scripts/lib', () => {
    const files = [...tsFiles('test'), ...tsFiles('scripts')];
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('test/unit/layout/script-boundaries.test.ts');
    expect(files).toContain('scripts/lib/cluster.ts');
    // The scan sees imports at all: this file's own three.
    expect(specifiers(read('test/unit/layout/script-boundaries.test.ts')).map((s) => s.spec)).toEqual([
      'node:fs',
      'node:path',
      'vitest',
      '../../support/imports.js',
    ]);
    const found = files.flatMap((f) => checkImports(f, read(f)));
    expect(found, found.join('\n')).toEqual([]);
  });

  it('every file directly in scripts/ is run by a package.json script, and nothing else is', () => {
    const top = readdirSync(join(REPO, 'scripts'), { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => e.name);
    expect(top).toContain('chaos.ts');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const below = tsFiles('scripts')
      .filter((f) => f.split('/').length > 2)
      .map((file) => ({ file, source: read(file) }));
    const found = checkEntryPoints(top, pkg.scripts, below);
    expect(found, found.join('\n')).toEqual([]);
  });

  describe('negative controls: planted violations are reported', () => {
    it('a test importing scripts/ outside scripts/lib, in every import form', () => {
      const planted = [
        "import { runChaos } from '../../scripts/chaos/run.js';",
        "import type { Summary } from '../../scripts/chaos/types.js';",
        "import {\n  type A,\n  b,\n} from '../../scripts/bench/workload.js';",
        "export { x } from '../../scripts/sim.js';",
        "export * from '../../scripts/chaos/run.js';",
        "import '../../scripts/chaos/worker.js';",
        "const m = await import('../../scripts/chaos/run.js');",
        "type T = typeof import('../../scripts/chaos/run.js');",
      ];
      for (const source of planted) {
        const found = checkImports('test/chaos/planted.test.ts', source);
        expect(found, source).toHaveLength(1);
        expect(found[0]).toMatch(
          /^test\/chaos\/planted\.test\.ts:\d+: imports '\.\.\/\.\.\/scripts\/(chaos|bench|sim)[^']*' \(scripts\/.*\): tests import only from/,
        );
      }
    });

    it('a script importing test/, and scripts/lib importing a script outside scripts/lib', () => {
      expect(checkImports('scripts/sim.ts', "import { runSeed } from '../test/sim/world.js';")).toEqual([
        "scripts/sim.ts:1: imports '../test/sim/world.js' (test/sim/world.js): scripts import only from src/ and scripts/ (never test/)",
      ]);
      expect(checkImports('scripts/lib/chaos/report.ts', "\n\nimport type { X } from '../../chaos/run.js';")).toEqual([
        "scripts/lib/chaos/report.ts:3: imports '../../chaos/run.js' (scripts/chaos/run.js): scripts/lib imports only from src/ and scripts/lib/",
      ]);
      expect(checkImports('scripts/lib/cluster.ts', "import { x } from '../../test/integration/support/fuzz.js';")).toHaveLength(1);
    });

    it('allowed imports and imports in comments are not reported', () => {
      const source = [
        "// import { runChaos } from '../../scripts/chaos/run.js';",
        "/* import '../../scripts/chaos/worker.js'; */",
        "import { ProcessCluster } from '../../scripts/lib/cluster.js';",
        "import { connect } from '../../src/client/index.js';",
        "import { expect } from 'vitest';",
        "const url = 'http://example.invalid//x';",
      ].join('\n');
      expect(checkImports('test/integration/planted.test.ts', source)).toEqual([]);
      expect(checkImports('scripts/bench/planted.ts', "import { x } from '../chaos/run.js';\nimport { y } from '../lib/wait.js';")).toEqual(
        [],
      );
    });

    it('an entry point below scripts/, one without a package.json script, and a file below scripts/ reading process.argv', () => {
      const found = checkEntryPoints(
        ['sim.ts', 'orphan.ts'],
        { sim: 'tsx scripts/sim.ts', scale: 'tsx scripts/bench/scale.ts', gone: 'tsx scripts/gone.ts' },
        [{ file: 'scripts/chaos/render.ts', source: '/** process.argv in prose is fine */\nconst dir = process.argv[2];' }],
      );
      expect(found).toEqual([
        'scripts/orphan.ts: an entry point that no package.json script runs',
        'package.json script "scale" runs scripts/bench/scale.ts: entry points are the files directly in scripts/',
        'package.json script "gone" runs scripts/gone.ts, which does not exist',
        'scripts/chaos/render.ts:2: reads process.argv: only the entry points directly in scripts/ parse a command line',
      ]);
    });
  });
});
