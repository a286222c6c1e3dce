/**
 * `npm run chaos:report -- DIR`: re-renders the report of the chaos run whose records are in
 * DIR (summary.json, history.json, nemesis.json, resource.json, rw-resource.json) into DIR/report.html, e.g.
 * after the report's code changed. Exit 0 on success, 1 if the records cannot be read, 2 on
 * bad usage.
 */
import { renderReportDir } from './lib/chaos/render-report.js';

const args = process.argv.slice(2);
const dir = args[0];
if (dir === undefined || args.length > 1 || dir === '--help' || dir === '-h') {
  process.stderr.write('usage: npm run chaos:report -- DIR\n');
  process.exit(dir === '--help' || dir === '-h' ? 0 : 2);
}
try {
  process.stdout.write(`report: ${renderReportDir(dir)}\n`);
} catch (e) {
  process.stderr.write(`chaos:report: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
