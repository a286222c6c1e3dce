#!/usr/bin/env node
/**
 * The `raftlock` command. Until the node exists (issue: real node) it only prints its version
 * and the commands that are coming, so `npm install` leaves a runnable package.
 */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const PLANNED = [
  'start --config F --id N [--data-dir D]   run one node',
  'cluster up [--nodes 3|5]                  run a local cluster',
  'status [--endpoints E]                    show every node',
  'lock acquire|release|run|show NAME        locks',
  'counter get|add|set|cas|delete NAME       counters',
  'member list|add|remove, leader transfer   membership',
];

process.stdout.write(`raftlock ${pkg.version}\n\nThe Raft core is built; the node and these commands are on their way:\n`);
for (const line of PLANNED) process.stdout.write(`  raftlock ${line}\n`);
const args = process.argv.slice(2);
if (args.length > 0 && args[0] !== '--help' && args[0] !== '--version') {
  process.stderr.write(`raftlock: '${args.join(' ')}' is not available yet in this version\n`);
  process.exitCode = 2;
}
