/**
 * `raftlock start --config F --id N [--data-dir D] [--listen host:port]`: one node in the
 * foreground, JSON-lines log on stderr; SIGTERM/SIGINT stop it gracefully (a leader hands
 * leadership over first). `cluster up` adds `--stop-on-stdin-close` (hidden): the node's stdin
 * is then a pipe from its supervisor, and its closing (the supervisor is gone, even SIGKILLed)
 * stops the node the same graceful way, so a node is never left running without one.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseEndpointList } from '../../client/index.js';
import {
  createJsonLogger,
  loadConfigFile,
  parseLogLevel,
  startNode,
  type ClusterConfig,
  type Logger,
  type MembersView,
} from '../../server/index.js';
import { addMember, fetchMembers, promoteWhenCaughtUp } from '../admin-client.js';
import { shippedConfig } from '../endpoints.js';
import { nodeAccess, nodeTlsOf, type NodeAccess } from '../node-http.js';

export interface StartArgs {
  readonly config: string;
  readonly id: string;
  readonly dataDir?: string;
  readonly listen?: string;
  readonly enableFaults?: boolean;
  /** False with the hidden --no-link-liveness (chaos runs' negative control). */
  readonly linkLiveness?: boolean;
  readonly clockOffset?: string;
  readonly dial?: string;
  readonly unsafeRawPropose?: boolean;
  readonly insecure?: boolean;
  readonly stopOnStdinClose?: boolean;
  /** `host:port,…` of running members: join that cluster instead of founding one. */
  readonly join?: string;
  /** This node's own address when it is not in the configuration file (with --join). */
  readonly address?: string;
  /** With --join: have the leader add this node (learner, then voter unless `learner`). */
  readonly addSelf?: boolean;
  readonly learner?: boolean;
  /** Client token for --join and --add-self (default: env RAFTLOCK_TOKEN). */
  readonly token?: string;
}

/**
 * The members of the cluster to join, as the first of `endpoints` that answers lists them
 * (`GET /admin/members`, with a token of role read when the cluster requires one).
 */
export async function fetchJoinMembers(endpoints: readonly string[], access: NodeAccess): Promise<Map<number, string>> {
  let view: MembersView;
  try {
    ({ view } = await fetchMembers(endpoints, access));
  } catch (err) {
    throw new Error(`--join: ${err instanceof Error ? err.message : String(err)}; give the addresses of running nodes`);
  }
  const members = new Map<number, string>();
  for (const m of view.members) if (m.address !== null) members.set(m.id, m.address);
  if (members.size === 0) throw new Error('--join: the cluster lists no member with an address');
  return members;
}

/**
 * Loads the configuration file named by `option` (`--config`). A path that does not exist is
 * refused with where the shipped configurations are: run from outside this checkout, the
 * README's `cluster-configs/three-node.json` is not relative to the current directory.
 */
export function loadConfigOption(path: string, option = '--config'): ClusterConfig {
  if (!existsSync(path)) {
    const shipped = dirname(shippedConfig('three-node.json'));
    throw new Error(
      `${option}: ${resolve(path)} does not exist; the shipped configurations are in ${shipped} (three-node.json, five-node.json): pass one of those paths, or your own file`,
    );
  }
  return loadConfigFile(path);
}

/** What `startNode` needs to join: this node's address and the members `--join` lists. */
async function joinOptions(args: StartArgs, config: ClusterConfig, id: number): Promise<{ address: string; members: Map<number, string> }> {
  const address = args.address ?? config.nodes.find((n) => n.id === id)?.address;
  if (address === undefined)
    throw new Error(`--join: node ${id} is not in the configuration file, so give its own address with --address host:port`);
  const members = await fetchJoinMembers(joinEndpoints(args), accessOf(args, config, id));
  return { address, members };
}

const joinEndpoints = (args: StartArgs): string[] => parseEndpointList(args.join ?? '', { field: '--join', urls: false });
/**
 * How this node speaks to the cluster it joins: the token, and with TLS its own certificate
 * (nodes' certificates are client certificates too) and CA.
 */
function accessOf(args: StartArgs, config: ClusterConfig, id: number): NodeAccess {
  return nodeAccess(args.token ?? process.env.RAFTLOCK_TOKEN, nodeTlsOf(config, id));
}

/** How long --add-self keeps trying while the cluster refuses for now (no leader, a change pending). */
const ADD_SELF_TRIES_MS = 120_000;

/**
 * `--add-self`: once the node serves, asks the cluster to add it, as `raftlock member add` does,
 * unless it is a member already (a restart). Retries what may pass later (no leader yet, another
 * change pending, the leader just elected) for a while; logs the outcome. The node runs on
 * whatever happens: an operator can still add it.
 */
async function addSelf(args: StartArgs, config: ClusterConfig, id: number, address: string, logger: Logger): Promise<void> {
  const endpoints = joinEndpoints(args);
  const access = accessOf(args, config, id);
  const learner = args.learner === true;
  const deadline = Date.now() + ADD_SELF_TRIES_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const { view } = await fetchMembers(endpoints, access);
      const self = view.members.find((m) => m.id === id);
      if (self !== undefined && (learner || self.role === 'voter')) {
        logger.info('--add-self: already a member', { role: self.role });
        return;
      }
      logger.info('--add-self: asking the leader to add this node', { address, learner, attempt });
      const after =
        self === undefined
          ? await addMember(endpoints, access, id, address, { learner, waitMs: 60_000 })
          : await promoteWhenCaughtUp(endpoints, access, id, 60_000); // a learner left from an earlier --add-self
      logger.info('--add-self: added', { role: after.members.find((m) => m.id === id)?.role, configIndex: after.configIndex });
      return;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const retry = Date.now() < deadline && !/AUTH|FORBIDDEN|HTTP 40[13]|already-member|INVALID_ARGUMENT/.test(message);
      if (!retry) {
        logger.error('--add-self: this node was not added; add it with `raftlock member add`', { error: message, address });
        return;
      }
      logger.warn('--add-self: not added yet; retrying', { error: message, attempt });
      await new Promise((r) => setTimeout(r, Math.min(5_000, 500 * attempt)));
    }
  }
}

/** Parses `--dial 2=127.0.0.1:9002,3=127.0.0.1:9003` (chaos runs' per-link proxies). */
export function parseDial(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const item of text.split(',').filter((x) => x.trim() !== '')) {
    const m = /^\s*(\d+)=([^\s=,]+:\d{1,5})\s*$/.exec(item);
    if (m === null) throw new Error(`--dial: ${JSON.stringify(item)} is not ID=host:port`);
    out.set(Number(m[1]), m[2] as string);
  }
  return out;
}

export async function runStart(args: StartArgs): Promise<void> {
  const id = Number(args.id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`--id must be a positive integer, got ${JSON.stringify(args.id)}`);
  const config = loadConfigOption(args.config);
  const clockOffsetMs = args.clockOffset === undefined ? 0 : Number(args.clockOffset);
  if (!Number.isSafeInteger(clockOffsetMs) || Math.abs(clockOffsetMs) > 3_600_000)
    throw new Error(`--clock-offset must be an integer number of ms within ±1 h, got ${JSON.stringify(args.clockOffset)}`);
  let status: (() => { term: number; role: string }) | undefined;
  const logger = createJsonLogger({
    level: parseLogLevel(process.env.RAFTLOCK_LOG_LEVEL),
    context: () => ({ node: id, ...(status?.() ?? {}) }),
  });
  if (args.addSelf === true && args.join === undefined)
    throw new Error(
      '--add-self needs --join host:port,… (the running members to ask), and --address when the node is not in the configuration file',
    );
  const join = args.join !== undefined ? await joinOptions(args, config, id) : undefined;
  const node = await startNode({
    config,
    id,
    ...(join !== undefined ? { join } : {}),
    ...(args.dataDir !== undefined ? { dataDir: args.dataDir } : {}),
    ...(args.listen !== undefined ? { listen: args.listen } : {}),
    ...(args.enableFaults === true ? { enableFaults: true } : {}),
    ...(args.linkLiveness === false ? { linkLiveness: false } : {}),
    ...(clockOffsetMs !== 0 ? { clockOffsetMs } : {}),
    ...(args.dial !== undefined ? { dialAddresses: parseDial(args.dial) } : {}),
    ...(args.unsafeRawPropose === true ? { unsafeRawPropose: true } : {}),
    ...(args.insecure === true ? { insecure: true } : {}),
    logger,
  });
  status = () => {
    const st = node.host.status(false);
    return { term: st.term, role: st.role };
  };
  const stop = gracefulStop(node, logger);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn('second signal: exiting without a graceful stop', { signal: sig });
      process.exit(130);
    }
    stop({ signal: sig });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // As nginx and etcd do: SIGHUP re-reads the certificates (changed files are also noticed alone).
  if (config.tls !== undefined) process.on('SIGHUP', () => void node.reloadTls('SIGHUP'));
  if (args.stopOnStdinClose === true) stopWhenStdinCloses(() => stop({ reason: 'stdin closed: the supervisor is gone' }));
  if (args.addSelf === true && join !== undefined) void addSelf(args, config, id, join.address, logger);
}

/** Stops `node` gracefully once (later calls do nothing), then exits 0, or 1 if the stop failed. */
function gracefulStop(node: { stop(): Promise<void> }, logger: Logger): (why: Readonly<Record<string, string>>) => void {
  let stopping = false;
  return (why) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', why);
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('stop failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
}

/**
 * Calls `stop` when stdin reaches its end or fails. The supervisor keeps the pipe's other end
 * open for as long as it lives, and the kernel closes it however the supervisor ends. Its
 * stderr pipe goes with it, so a write error there is ignored: the node must still finish its
 * graceful stop rather than die on EPIPE in the middle of it.
 */
function stopWhenStdinCloses(stop: () => void): void {
  process.stderr.on('error', () => {});
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
