/**
 * The header of a benchmark run: machine, versions, commit and load, so a table can be read
 * (and compared) later.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../lib/build.js';

function git(args: readonly string[]): string | undefined {
  try {
    return execFileSync('git', [...args], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

/** `abc1234` plus ` (+ uncommitted changes)` when the work tree differs from it. */
export function commitLabel(): string {
  const head = git(['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return dirty !== undefined && dirty !== '' ? `${head} (+ uncommitted changes)` : head;
}

export function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function virtualization(): string {
  try {
    return execFileSync('systemd-detect-virt', [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
  } catch {
    return '';
  }
}

export function loadLine(): string {
  const [a, b, c] = loadavg();
  return `load average ${(a ?? 0).toFixed(2)} ${(b ?? 0).toFixed(2)} ${(c ?? 0).toFixed(2)} (1/5/15 min) on ${cpus().length} cores`;
}

/** Lines describing the machine and the software. */
export function machineLines(): string[] {
  const cpu = cpus();
  const virt = virtualization();
  return [
    `machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}${virt !== '' && virt !== 'none' ? ` (${virt})` : ''}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} free), ${osType()} ${release()}`,
    `software: node ${process.version}, raftlock commit ${commitLabel()}, msgpackr ${packageVersion('msgpackr')}, ws ${packageVersion('ws')}, level ${packageVersion('level')}`,
    loadLine(),
  ];
}
