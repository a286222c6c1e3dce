/**
 * Re-renders a chaos run's report from its records:
 *
 *   tsx scripts/chaos/render-report.ts DIR
 *
 * reads DIR/summary.json, DIR/history.json, DIR/nemesis.json and DIR/resource.json (a missing
 * resource.json counts as no writes) and writes DIR/report.html.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderReport } from './report.js';
import type { HistoryOp, NemesisEvent, ResourceWrite, Summary } from './types.js';

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Renders DIR's records into DIR/report.html and returns that file's path. */
export function renderReportDir(dir: string): string {
  const resourcePath = join(dir, 'resource.json');
  const html = renderReport({
    summary: readJson<Summary>(join(dir, 'summary.json')),
    history: readJson<HistoryOp[]>(join(dir, 'history.json')),
    nemesis: readJson<NemesisEvent[]>(join(dir, 'nemesis.json')),
    resource: existsSync(resourcePath) ? readJson<ResourceWrite[]>(resourcePath) : [],
  });
  const out = join(dir, 'report.html');
  writeFileSync(out, html);
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2];
  if (dir === undefined || process.argv.length > 3) {
    process.stderr.write('usage: tsx scripts/chaos/render-report.ts DIR\n');
    process.exit(2);
  }
  try {
    const out = renderReportDir(dir);
    process.stdout.write(`report: ${out}\n`);
  } catch (e) {
    process.stderr.write(`render-report: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
