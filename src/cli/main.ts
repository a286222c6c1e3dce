#!/usr/bin/env node
/**
 * The `raftlock` command (docs/operations.md#running-nodes,
 * docs/operations.md#client-commands). Errors print one clear line and exit non-zero.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerCertsCommands } from './commands/certs.js';
import { runClusterUp } from './commands/cluster-up.js';
import { registerCounterCommands } from './commands/counter.js';
import { registerElectCommands } from './commands/elect.js';
import { registerLockCommands } from './commands/lock.js';
import { registerRwLockCommands, registerSemaphoreCommands } from './commands/permits.js';
import { runStart } from './commands/start.js';
import { registerMemberCommands } from './commands/member.js';
import { runStatus } from './commands/status.js';
import { registerTokenCommands } from './commands/token.js';
import { registerWatchCommand } from './commands/watch.js';
import { tlsFlags } from './client-command.js';
import { parseEndpoints } from './endpoints.js';
import { nodeAccess } from './node-http.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('raftlock')
  .description('Distributed locks, semaphores, readers-writer locks, leader elections and counters on a self-contained Raft cluster')
  .version(pkg.version)
  .showHelpAfterError()
  // A command's options are its own wherever they stand (`elect observe NAME --json` is
  // observe's --json, not that of `elect`): each level parses only what comes after its name.
  .enablePositionalOptions();

program
  .command('start')
  .description('run one node in the foreground (JSON-lines log on stderr)')
  .requiredOption('--config <file>', "cluster configuration file (required; the shipped ones are in the package's cluster-configs/)")
  .requiredOption('--id <n>', "this node's id in the configuration (required)")
  .option('--data-dir <dir>', "overrides the configuration's dataDir")
  .option('--listen <host:port>', 'overrides the address this node listens on')
  .option(
    '--join <host:port,…>',
    'join the running cluster of these members (then add it with `raftlock member add`, or give --add-self) instead of founding one',
  )
  .option('--address <host:port>', "this node's address, when it is not in the configuration file (with --join)")
  .option(
    '--add-self',
    'with --join: ask the leader to add this node (as `raftlock member add` does: a learner, then a voter once caught up); needs a token of role admin when the cluster requires tokens',
  )
  .option('--learner', 'with --add-self: stay a learner (a read replica)')
  .option('--token <token>', 'client token for --join and --add-self (default: env RAFTLOCK_TOKEN)')
  .option('--insecure', 'allow a non-loopback address without a peer secret (anyone reaching the port can pose as a member)')
  .addOption(new Option('--enable-faults', 'enable the fault-injection layer (tests and chaos runs only)').hideHelp())
  .addOption(new Option('--stop-on-stdin-close', 'stop gracefully when stdin closes (cluster up: its nodes stop if it dies)').hideHelp())
  .addOption(
    new Option('--no-link-liveness', "peer links neither ping nor close silent connections (chaos runs' negative control only)").hideHelp(),
  )
  .addOption(new Option('--clock-offset <ms>', "skew this node's log clock by ms (chaos runs only)").hideHelp())
  .addOption(new Option('--dial <id=host:port,…>', "dial these peers at other addresses (chaos runs' link proxies)").hideHelp())
  .addOption(
    new Option(
      '--unsafe-raw-propose',
      'serve POST /admin/propose, raw log entries (tests and the raw Raft benchmark; loopback only)',
    ).hideHelp(),
  )
  .action(
    async (opts: {
      config: string;
      id: string;
      dataDir?: string;
      listen?: string;
      enableFaults?: boolean;
      linkLiveness?: boolean;
      clockOffset?: string;
      dial?: string;
      unsafeRawPropose?: boolean;
      insecure?: boolean;
      stopOnStdinClose?: boolean;
      join?: string;
      addSelf?: boolean;
      learner?: boolean;
      token?: string;
      address?: string;
    }) => {
      await runStart(opts);
    },
  );

const cluster = program.command('cluster').description('run a whole local cluster');
cluster
  .command('up')
  .description('start every node of a configuration as child processes and supervise them')
  .addOption(new Option('--nodes <n>', 'cluster size (picks the shipped config)').choices(['3', '5']).default('3'))
  .option('--config <file>', 'cluster configuration file (default: cluster-configs/three-node.json or five-node.json)')
  .option('--data-dir <dir>', "overrides the configuration's dataDir")
  .addOption(new Option('--enable-faults', 'start nodes with the fault-injection layer').hideHelp())
  .action(async (opts: { nodes?: string; config?: string; dataDir?: string; enableFaults?: boolean }) => {
    process.exitCode = await runClusterUp(opts);
  });

program
  .command('status')
  .description('one row per node: id, address, role, term, leader, commit, applied, lag, reachable')
  .option('--endpoints <list>', 'host:port,… (default: env RAFTLOCK_ENDPOINTS or the three-node loopback config)')
  .option('--token <token>', 'client token (role read or above), when the cluster requires one (default: env RAFTLOCK_TOKEN)')
  .option('--cacert <file>', "CA certificate (PEM) that signed the nodes' certificates: talk HTTPS (default: env RAFTLOCK_CACERT)")
  .option('--cert <file>', 'client certificate (PEM), when the cluster requires one (default: env RAFTLOCK_CERT)')
  .option('--key <file>', "the client certificate's private key (PEM) (default: env RAFTLOCK_KEY)")
  .option('--json', 'machine-readable output', false)
  .action(async (opts: { endpoints?: string; token?: string; cacert?: string; cert?: string; key?: string; json: boolean }) => {
    const token = opts.token ?? process.env.RAFTLOCK_TOKEN;
    const tls = tlsFlags(opts);
    process.exitCode = await runStatus(parseEndpoints(opts.endpoints), opts.json, nodeAccess(token, tls));
  });

registerLockCommands(program);
registerSemaphoreCommands(program);
registerRwLockCommands(program);
registerElectCommands(program);
registerCounterCommands(program);
registerWatchCommand(program);
registerTokenCommands(program);
registerMemberCommands(program);
registerCertsCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`raftlock: ${message}\n`);
  process.exit(1);
});
