/**
 * Cluster configuration files (DESIGN §3.1, contract): parsing and validation. Unknown keys and
 * invalid values are refused with a message naming the key, so a typo never starts a node with
 * a silently different configuration.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** One member of the cluster. */
export interface NodeAddress {
  readonly id: number;
  /** `host:port`; the node listens here (unless `--listen`) and peers dial it. */
  readonly address: string;
}

/** Size limits (DESIGN §2.7); every field has the documented default. */
export interface Limits {
  readonly maxNameBytes: number;
  readonly maxClientFrameBytes: number;
  readonly maxPeerFrameBytes: number;
  readonly maxSessions: number;
  readonly maxWaitersPerLock: number;
}

export interface ClusterConfig {
  readonly clusterId: string;
  readonly nodes: readonly NodeAddress[];
  /** Node N keeps its data in `<dataDir>/node-N`; absolute after loading. */
  readonly dataDir: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Peer authentication secret (config key `secret` or env RAFTLOCK_SECRET). */
  readonly secret?: string;
  /** Token clients must present, if set. */
  readonly clientToken?: string;
  /** Snapshot every this many applied entries (0 = never). */
  readonly snapshotEvery: number;
  readonly limits: Limits;
}

export const DEFAULT_LIMITS: Limits = {
  maxNameBytes: 256,
  maxClientFrameBytes: 1024 * 1024,
  maxPeerFrameBytes: 16 * 1024 * 1024,
  maxSessions: 100_000,
  maxWaitersPerLock: 10_000,
};

/** A configuration that cannot be used; `key` names the offending key (dotted path). */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(
    readonly key: string,
    message: string,
    readonly source?: string,
  ) {
    super(`${source !== undefined ? `${source}: ` : ''}${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

const TOP_KEYS = new Set(['clusterId', 'nodes', 'dataDir', 'tickMs', 'electionTicks', 'heartbeatTicks', 'secret', 'clientToken', 'tls', 'snapshotEvery', 'limits']);
const NODE_KEYS = new Set(['id', 'address']);
const LIMIT_KEYS = new Set(Object.keys(DEFAULT_LIMITS));

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(obj: Record<string, unknown>, key: string, path: string, min: number, max: number, fallback?: number): number {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ConfigError(path, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validates `host:port` (IPv4, hostname or [IPv6]) and returns it unchanged. */
export function parseAddress(value: unknown, key: string): { host: string; port: number } {
  if (typeof value !== 'string') throw new ConfigError(key, `must be "host:port", got ${JSON.stringify(value)}`);
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || m[1] === undefined || !(port >= 1 && port <= 65535)) {
    throw new ConfigError(key, `must be "host:port" with a port from 1 to 65535, got ${JSON.stringify(value)}`);
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/**
 * Validates a parsed JSON value as a cluster configuration. `baseDir` resolves a relative
 * `dataDir` (the current directory, per DESIGN §3.1); `env` supplies RAFTLOCK_SECRET.
 */
export function validateConfig(raw: unknown, opts: { baseDir: string; env?: NodeJS.ProcessEnv; source?: string } = { baseDir: process.cwd() }): ClusterConfig {
  const src = opts.source;
  try {
    if (!isRecord(raw)) throw new ConfigError('(root)', 'must be a JSON object');
    for (const k of Object.keys(raw)) if (!TOP_KEYS.has(k)) throw new ConfigError(k, `unknown key (known: ${[...TOP_KEYS].join(', ')})`);
    const clusterId = raw.clusterId;
    if (typeof clusterId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(clusterId)) {
      throw new ConfigError('clusterId', `must be 1-64 characters of letters, digits, '.', '_' or '-', got ${JSON.stringify(clusterId)}`);
    }
    if (!Array.isArray(raw.nodes) || raw.nodes.length < 1 || raw.nodes.length > 9) {
      throw new ConfigError('nodes', 'must be an array of 1 to 9 nodes (3 or 5 for fault tolerance)');
    }
    const ids = new Set<number>();
    const addresses = new Set<string>();
    const nodes: NodeAddress[] = raw.nodes.map((n: unknown, k: number) => {
      const path = `nodes[${k}]`;
      if (!isRecord(n)) throw new ConfigError(path, 'must be an object { "id", "address" }');
      for (const key of Object.keys(n)) if (!NODE_KEYS.has(key)) throw new ConfigError(`${path}.${key}`, 'unknown key (known: id, address)');
      const id = int(n, 'id', `${path}.id`, 1, 1_000_000);
      parseAddress(n.address, `${path}.address`);
      const address = n.address as string;
      if (ids.has(id)) throw new ConfigError(`${path}.id`, `duplicate node id ${id}`);
      if (addresses.has(address)) throw new ConfigError(`${path}.address`, `duplicate address ${address}`);
      ids.add(id);
      addresses.add(address);
      return { id, address };
    });
    if (typeof raw.dataDir !== 'string' || raw.dataDir.length === 0) throw new ConfigError('dataDir', 'must be a non-empty path');
    const tickMs = int(raw, 'tickMs', 'tickMs', 1, 10_000, 50);
    const electionTicks = int(raw, 'electionTicks', 'electionTicks', 2, 10_000, 10);
    const heartbeatTicks = int(raw, 'heartbeatTicks', 'heartbeatTicks', 1, 10_000, 1);
    if (heartbeatTicks >= electionTicks) throw new ConfigError('heartbeatTicks', `must be less than electionTicks (${electionTicks})`);
    const envSecret = opts.env?.RAFTLOCK_SECRET;
    const secret = raw.secret ?? (envSecret !== undefined && envSecret !== '' ? envSecret : undefined);
    if (secret !== undefined && (typeof secret !== 'string' || secret.length < 16)) {
      throw new ConfigError(raw.secret !== undefined ? 'secret' : 'RAFTLOCK_SECRET', 'must be a string of at least 16 characters');
    }
    const clientToken = raw.clientToken;
    if (clientToken !== undefined && (typeof clientToken !== 'string' || clientToken.length < 8)) {
      throw new ConfigError('clientToken', 'must be a string of at least 8 characters');
    }
    if (raw.tls !== undefined) throw new ConfigError('tls', 'TLS (wss) is not supported by this version yet; remove the key');
    const snapshotEvery = int(raw, 'snapshotEvery', 'snapshotEvery', 0, 100_000_000, 10_000);
    let limits = DEFAULT_LIMITS;
    if (raw.limits !== undefined) {
      if (!isRecord(raw.limits)) throw new ConfigError('limits', 'must be an object');
      for (const k of Object.keys(raw.limits)) if (!LIMIT_KEYS.has(k)) throw new ConfigError(`limits.${k}`, `unknown key (known: ${[...LIMIT_KEYS].join(', ')})`);
      const l = raw.limits;
      limits = {
        maxNameBytes: int(l, 'maxNameBytes', 'limits.maxNameBytes', 1, 65_536, DEFAULT_LIMITS.maxNameBytes),
        maxClientFrameBytes: int(l, 'maxClientFrameBytes', 'limits.maxClientFrameBytes', 1024, 64 * 1024 * 1024, DEFAULT_LIMITS.maxClientFrameBytes),
        maxPeerFrameBytes: int(l, 'maxPeerFrameBytes', 'limits.maxPeerFrameBytes', 64 * 1024, 256 * 1024 * 1024, DEFAULT_LIMITS.maxPeerFrameBytes),
        maxSessions: int(l, 'maxSessions', 'limits.maxSessions', 1, 10_000_000, DEFAULT_LIMITS.maxSessions),
        maxWaitersPerLock: int(l, 'maxWaitersPerLock', 'limits.maxWaitersPerLock', 1, 1_000_000, DEFAULT_LIMITS.maxWaitersPerLock),
      };
    }
    return {
      clusterId,
      nodes,
      dataDir: resolve(opts.baseDir, raw.dataDir),
      tickMs,
      electionTicks,
      heartbeatTicks,
      ...(typeof secret === 'string' ? { secret } : {}),
      ...(typeof clientToken === 'string' ? { clientToken } : {}),
      snapshotEvery,
      limits,
    };
  } catch (err) {
    if (err instanceof ConfigError && src !== undefined && err.source === undefined) throw new ConfigError(err.key, err.message.replace(/^[^:]*: /, ''), src);
    throw err;
  }
}

/** Reads and validates a configuration file; relative `dataDir` resolves against `cwd`. */
export function loadConfigFile(path: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('(file)', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  return validateConfig(raw, { baseDir: opts.cwd ?? process.cwd(), env: opts.env ?? process.env, source: path });
}
