/** Re-renders a chaos run's `report.html` from the records in its directory (`npm run chaos:report -- DIR`). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReport } from './report.js';
import type { HistoryOp, NemesisEvent, ResourceWrite, RwResourceUse, Summary } from './types.js';

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/**
 * Reads DIR/summary.json, DIR/history.json, DIR/nemesis.json, DIR/resource.json and
 * DIR/rw-resource.json (a missing resource file counts as no writes), writes DIR/report.html and
 * returns that file's path.
 */
export function renderReportDir(dir: string): string {
  const resourcePath = join(dir, 'resource.json');
  const rwPath = join(dir, 'rw-resource.json');
  const html = renderReport({
    summary: readJson<Summary>(join(dir, 'summary.json')),
    history: readJson<HistoryOp[]>(join(dir, 'history.json')),
    nemesis: readJson<NemesisEvent[]>(join(dir, 'nemesis.json')),
    resource: existsSync(resourcePath) ? readJson<ResourceWrite[]>(resourcePath) : [],
    rwResource: existsSync(rwPath) ? readJson<RwResourceUse[]>(rwPath) : [],
  });
  const out = join(dir, 'report.html');
  writeFileSync(out, html);
  return out;
}
