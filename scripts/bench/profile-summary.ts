/**
 * Summarises V8 CPU profiles (`.cpuprofile`, from `node --cpu-prof` or `npm run bench --
 * --cpu-prof DIR`): the functions with the most self time, and self time by source file or
 * package, so a bottleneck can be read without opening DevTools (`npm run bench:profile`).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  readonly idleMs: number;
  readonly functions: ReadonlyArray<{ name: string; where: string; selfMs: number }>;
  readonly groups: ReadonlyArray<{ group: string; selfMs: number }>;
}

/** Groups a script URL: a package under node_modules, a file of this repo, or a V8 pseudo-node. */
function groupOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm !== null) return `pkg ${nm[1] as string}`;
  if (url.startsWith('node:')) return url;
  const m = /\/(dist|src|scripts)\/(.*)$/.exec(url);
  return m !== null ? `${m[1] as string}/${m[2] as string}` : url;
}

export function summarise(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Self time per node: sum of the time deltas of the samples that landed on it.
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0) / 1000);
  }
  const fns = new Map<string, { name: string; where: string; selfMs: number }>();
  const groups = new Map<string, number>();
  let idleMs = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const name = n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName;
    if (name === '(idle)') idleMs += ms;
    const where = n.callFrame.url === '' ? '' : `${groupOf(n.callFrame.url, name)}:${n.callFrame.lineNumber + 1}`;
    const key = `${name}@${where}`;
    const f = fns.get(key) ?? { name, where, selfMs: 0 };
    f.selfMs += ms;
    fns.set(key, f);
    const g = groupOf(n.callFrame.url, name);
    groups.set(g, (groups.get(g) ?? 0) + ms);
  }
  return {
    file,
    totalMs: (p.endTime - p.startTime) / 1000,
    idleMs,
    functions: [...fns.values()].sort((a, b) => b.selfMs - a.selfMs),
    groups: [...groups.entries()].map(([group, selfMs]) => ({ group, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

export function render(s: ProfileSummary, top: number): string {
  const busy = s.totalMs - s.idleMs;
  const pct = (ms: number): string => `${((ms / Math.max(1, busy)) * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `${basename(s.file)}: ${(s.totalMs / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy (percentages are of busy time)`,
  ];
  lines.push('  by package / file:');
  for (const g of s.groups.filter((x) => x.group !== '(idle)').slice(0, top)) lines.push(`    ${pct(g.selfMs)}  ${g.group}`);
  lines.push('  functions by self time:');
  for (const f of s.functions.filter((x) => x.name !== '(idle)').slice(0, top)) lines.push(`    ${pct(f.selfMs)}  ${f.name}  ${f.where}`);
  return lines.join('\n');
}
