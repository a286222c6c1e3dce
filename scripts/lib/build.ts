/** The repository's root directory, and `dist/` rebuilt when `src/` is newer than it. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The newest modification time (ms) of the files under `dir`. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Compiles `src/` into `dist/` (`tsc -p tsconfig.build.json`) unless `dist/cli/main.js` is newer
 * than every file of `src/`. Throws with tsc's output if the build fails.
 */
export function ensureBuilt(log: (line: string) => void, force = false): 'fresh' | 'built' {
  const main = join(REPO, 'dist/cli/main.js');
  if (!force && existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(REPO, 'src'))) return 'fresh';
  log('building dist/ (tsc -p tsconfig.build.json) because src/ changed since the last build...');
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json')], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? String(err);
    throw new Error(
      `the build failed (run \`npm run build\` to see why, or pass --runtime source):\n${out.split('\n').slice(0, 20).join('\n')}`,
    );
  }
  return 'built';
}
