/**
 * Cluster configuration files (docs/operations.md#configuration-file): parsing and validation.
 * Unknown keys and invalid values are refused with a message naming the key, so a typo never
 * starts a node with a silently different configuration.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_LIMITS, LIMIT_NAMES, LIMIT_RANGES, parseHostPort, type HostPort, type Limits } from '../protocol/index.js';
import { isTokenHash, ROLES, type ClientTokenEntry, type Role } from './access.js';

/** One member of the cluster. */
export interface NodeAddress {
  readonly id: number;
  /** `host:port`; the node listens here (unless `--listen`) and peers dial it. */
  readonly address: string;
}

/**
 * A node's limits: the cluster's {@link Limits} (the one definition, shared by the edge and the
 * state machine) and the frame sizes of the node's two endpoints.
 */
export interface NodeLimits extends Limits {
  /** Largest client frame (default 1 MiB); a larger one closes the connection. */
  readonly maxClientFrameBytes: number;
  /** Largest peer frame (default 16 MiB). */
  readonly maxPeerFrameBytes: number;
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
  /**
   * Client tokens (hashed) and their roles; when any is configured, clients must present one
   * (docs/design.md#client-roles). Empty: the cluster is open to anyone who reaches it.
   */
  readonly clientTokens: readonly ClientTokenEntry[];
  /** Snapshot every this many applied entries (0 = never). */
  readonly snapshotEvery: number;
  readonly limits: NodeLimits;
}

/** The documented defaults of {@link NodeLimits}. */
export const DEFAULT_NODE_LIMITS: NodeLimits = {
  ...DEFAULT_LIMITS,
  maxClientFrameBytes: 1024 * 1024,
  maxPeerFrameBytes: 16 * 1024 * 1024,
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

const TOP_KEYS = new Set([
  'clusterId',
  'nodes',
  'dataDir',
  'tickMs',
  'electionTicks',
  'heartbeatTicks',
  'secret',
  'clientTokens',
  'tls',
  'snapshotEvery',
  'limits',
]);
const NODE_KEYS = new Set(['id', 'address']);
const LIMIT_KEYS = new Set(Object.keys(DEFAULT_NODE_LIMITS));

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
export function parseAddress(value: unknown, key: string): HostPort {
  try {
    return parseHostPort(value, key);
  } catch (err) {
    throw new ConfigError(key, (err as Error).message.slice(key.length + 2));
  }
}

/**
 * Validates a parsed JSON value as a cluster configuration. `baseDir` resolves a relative
 * `dataDir` (the current directory); `env` supplies RAFTLOCK_SECRET.
 */
export function validateConfig(
  raw: unknown,
  opts: { baseDir: string; env?: NodeJS.ProcessEnv; source?: string } = { baseDir: process.cwd() },
): ClusterConfig {
  const src = opts.source;
  try {
    if (!isRecord(raw)) throw new ConfigError('(root)', 'must be a JSON object');
    if (raw.clientToken !== undefined) {
      throw new ConfigError(
        'clientToken',
        'replaced by clientTokens (hashed tokens with roles): make one with `raftlock token create --role admin` and list it under clientTokens',
      );
    }
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
      for (const key of Object.keys(n))
        if (!NODE_KEYS.has(key)) throw new ConfigError(`${path}.${key}`, 'unknown key (known: id, address)');
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
    const clientTokens = raw.clientTokens === undefined ? [] : parseClientTokens(raw.clientTokens);
    if (raw.tls !== undefined) throw new ConfigError('tls', 'TLS (wss) is not supported by this version yet; remove the key');
    const snapshotEvery = int(raw, 'snapshotEvery', 'snapshotEvery', 0, 100_000_000, 10_000);
    const limits = raw.limits === undefined ? DEFAULT_NODE_LIMITS : parseLimits(raw.limits);
    return {
      clusterId,
      nodes,
      dataDir: resolve(opts.baseDir, raw.dataDir),
      tickMs,
      electionTicks,
      heartbeatTicks,
      ...(typeof secret === 'string' ? { secret } : {}),
      clientTokens,
      snapshotEvery,
      limits,
    };
  } catch (err) {
    if (err instanceof ConfigError && src !== undefined && err.source === undefined)
      throw new ConfigError(err.key, err.message.replace(/^[^:]*: /, ''), src);
    throw err;
  }
}

const TOKEN_KEYS = new Set(['name', 'role', 'hash']);
/** Bounds the per-request work of checking a token (each configured hash is compared). */
const MAX_CLIENT_TOKENS = 1000;

/** `clientTokens`: `[{ name, role, hash }]`, names and hashes unique. */
function parseClientTokens(v: unknown): ClientTokenEntry[] {
  if (!Array.isArray(v) || v.length > MAX_CLIENT_TOKENS) {
    throw new ConfigError('clientTokens', `must be an array of at most ${MAX_CLIENT_TOKENS} { "name", "role", "hash" } objects`);
  }
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  return v.map((t: unknown, k): ClientTokenEntry => {
    const path = `clientTokens[${k}]`;
    if (!isRecord(t)) throw new ConfigError(path, 'must be an object { "name", "role", "hash" }');
    for (const key of Object.keys(t))
      if (!TOKEN_KEYS.has(key)) throw new ConfigError(`${path}.${key}`, 'unknown key (known: name, role, hash)');
    const { name, role, hash } = t;
    if (typeof name !== 'string' || !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
      throw new ConfigError(
        `${path}.name`,
        `must be 1-64 characters of letters, digits, '.', '_', '@' or '-', got ${JSON.stringify(name)}`,
      );
    }
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      throw new ConfigError(`${path}.role`, `must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`);
    }
    if (!isTokenHash(hash)) {
      throw new ConfigError(
        `${path}.hash`,
        'must be "sha256:" and 64 lowercase hex digits, as `raftlock token create` prints (the configuration never holds the token itself)',
      );
    }
    if (names.has(name)) throw new ConfigError(`${path}.name`, `duplicate token name ${name}`);
    const twin = hashes.get(hash);
    if (twin !== undefined) throw new ConfigError(`${path}.hash`, `the same token is listed twice (also as ${JSON.stringify(twin)})`);
    names.add(name);
    hashes.set(hash, name);
    return { name, role: role as Role, hash };
  });
}

/** The `limits` object: frame sizes here, the cluster's limits by their one set of ranges. */
function parseLimits(l: unknown): NodeLimits {
  if (!isRecord(l)) throw new ConfigError('limits', 'must be an object');
  for (const k of Object.keys(l))
    if (!LIMIT_KEYS.has(k)) throw new ConfigError(`limits.${k}`, `unknown key (known: ${[...LIMIT_KEYS].join(', ')})`);
  // Checked here, key by key, against the one table of ranges (so the error names the key).
  const machine: { -readonly [K in keyof Limits]: number } = { ...DEFAULT_LIMITS };
  for (const field of LIMIT_NAMES) {
    const [min, max] = LIMIT_RANGES[field];
    machine[field] = int(l, field, `limits.${field}`, min, max, DEFAULT_LIMITS[field]);
  }
  return {
    ...machine,
    maxClientFrameBytes: int(
      l,
      'maxClientFrameBytes',
      'limits.maxClientFrameBytes',
      1024,
      64 * 1024 * 1024,
      DEFAULT_NODE_LIMITS.maxClientFrameBytes,
    ),
    maxPeerFrameBytes: int(
      l,
      'maxPeerFrameBytes',
      'limits.maxPeerFrameBytes',
      64 * 1024,
      256 * 1024 * 1024,
      DEFAULT_NODE_LIMITS.maxPeerFrameBytes,
    ),
  };
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
