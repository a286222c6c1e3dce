/**
 * `raftlock cluster up [--nodes 3|5] [--config F] [--data-dir D]`: starts every node of a
 * configuration as a child process on this machine, prints the endpoints, waits for a leader
 * and supervises. A node that dies is reported, not silently restarted. Ctrl-C (or SIGTERM)
 * stops them all, gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../server/index.js';
import { shippedConfig } from '../endpoints.js';
import { fetchStatuses } from './status.js';

export interface ClusterUpArgs {
  readonly nodes?: string;
  readonly config?: string;
  readonly dataDir?: string;
  readonly enableFaults?: boolean;
}

/** Path of the CLI entry (this package's main.js or main.ts), for spawning `start`. */
function cliEntry(): string {
  return fileURLToPath(new URL('../main' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url));
}

export async function runClusterUp(args: ClusterUpArgs): Promise<number> {
  const size = args.nodes ?? '3';
  if (size !== '3' && size !== '5') throw new Error(`--nodes must be 3 or 5, got ${size}`);
  const configPath = args.config ?? shippedConfig(size === '5' ? 'five-node.json' : 'three-node.json');
  const config = loadConfigFile(configPath);
  const out = process.stdout;
  out.write(`raftlock cluster ${config.clusterId}: starting ${config.nodes.length} nodes (config ${configPath})\n`);

  const children = new Map<number, ChildProcess>();
  let stopping = false;
  let exited = 0;
  let resolveAll: (() => void) | undefined;
  const allExited = new Promise<void>((r) => (resolveAll = r));
  for (const n of config.nodes) {
    const argv = [...process.execArgv, cliEntry(), 'start', '--config', configPath, '--id', String(n.id)];
    if (args.dataDir !== undefined) argv.push('--data-dir', args.dataDir);
    if (args.enableFaults === true) argv.push('--enable-faults');
    // Node logs (JSON lines) go straight to our stderr; stdout stays ours.
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    children.set(n.id, child);
    out.write(`  node ${n.id}  ${n.address}  pid ${child.pid ?? '?'}  data ${args.dataDir ?? config.dataDir}/node-${n.id}\n`);
    child.on('exit', (code, signal) => {
      exited++;
      if (!stopping) {
        process.stderr.write(
          `raftlock cluster: node ${n.id} (pid ${child.pid ?? '?'}) exited (${signal ?? `code ${code ?? '?'}`}); it is not restarted. Check its log above.\n`,
        );
      }
      if (exited === children.size) resolveAll?.();
    });
  }
  const endpoints = config.nodes.map((n) => n.address);
  out.write(`\nclient endpoints: ${endpoints.join(',')}\n`);
  out.write(`status:           raftlock status --endpoints ${endpoints.join(',')}\n`);
  out.write('Ctrl-C stops the cluster.\n\n');

  const stopAll = (signal: NodeJS.Signals): void => {
    if (stopping) {
      for (const c of children.values()) c.kill('SIGKILL');
      return;
    }
    stopping = true;
    out.write(`\nraftlock cluster: stopping all nodes (${signal})…\n`);
    for (const c of children.values()) c.kill('SIGTERM');
    // A node that does not stop within 15 s is killed: never leave orphans behind.
    setTimeout(() => {
      for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, 15_000).unref();
  };
  process.on('SIGINT', () => stopAll('SIGINT'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));

  // Progress until a leader is known by every node, or 30 s.
  const deadline = Date.now() + 30_000;
  let reported = false;
  while (!stopping && Date.now() < deadline && exited === 0) {
    const rows = await fetchStatuses(endpoints, 1000, process.env.RAFTLOCK_TOKEN);
    const leaders = new Set(rows.map((r) => r.status?.leader ?? 0));
    const up = rows.filter((r) => r.reachable).length;
    if (up === endpoints.length && leaders.size === 1 && !leaders.has(0)) {
      const leader = rows.find((r) => r.status?.role === 'leader')?.status;
      out.write(`cluster ready: leader is node ${leader?.id ?? '?'} (term ${leader?.term ?? '?'}), ${up}/${endpoints.length} nodes up\n`);
      reported = true;
      break;
    }
    process.stderr.write(
      `  waiting for the cluster: ${up}/${endpoints.length} nodes answering, leader ${[...leaders].filter((l) => l !== 0).join(',') || 'none yet'}\n`,
    );
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!reported && !stopping)
    process.stderr.write('raftlock cluster: no agreed leader after 30 s; still supervising (check the node logs)\n');
  await allExited;
  return stopping ? 0 : 1;
}
