/**
 * `npm run bench:profile -- <file.cpuprofile | dir>... [--top 25]`: summarises V8 CPU profiles
 * (from `npm run bench -- --cpu-prof DIR` or `node --cpu-prof`): for each profile, self time by
 * package or source file and the functions with the most self time.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { render, summarise } from './bench/profile-summary.js';

new Command()
  .name('npm run bench:profile --')
  .description('summarise V8 CPU profiles: self time by package or file, and the top functions')
  .argument('<paths...>', '.cpuprofile files, or directories holding them')
  .option('--top <n>', 'rows per list', '25')
  .action((paths: string[], opts: { top: string }) => {
    const top = Number(opts.top);
    if (!Number.isSafeInteger(top) || top < 1) throw new Error(`--top must be a positive integer, got ${opts.top}`);
    for (const p of paths) {
      const files = statSync(p).isDirectory()
        ? readdirSync(p)
            .filter((f) => f.endsWith('.cpuprofile'))
            .map((f) => join(p, f))
        : [p];
      if (files.length === 0) process.stderr.write(`bench:profile: no .cpuprofile in ${p}\n`);
      for (const f of files) process.stdout.write(`${render(summarise(f), top)}\n\n`);
    }
  })
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`bench:profile: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
