/**
 * Cluster configuration files (docs/operations.md#configuration-file): parsing and validation.
 * Unknown keys and invalid values are refused with a message naming the key, so a typo never
 * starts a node with a silently different configuration. Every problem is reported at once,
 * each with the line and column of its key in the file, and an unknown key with the known key
 * it most likely stands for ("did you mean …?").
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_LIMITS, LIMIT_NAMES, LIMIT_RANGES, parseHostPort, type HostPort, type Limits } from '../protocol/index.js';
import { isTokenHash, ROLES, type ClientTokenEntry, type Role } from './access.js';
import { childPath, itemPath, JsonSyntaxError, parseJsonWithLayout, type JsonLayout, type TextPosition } from './config-json.js';
import { suggest } from './config-suggest.js';

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
  /** TLS for every connection of the node's port (docs/operations.md#tls); absent: plain. */
  readonly tls?: TlsConfig;
}

/**
 * The config key `tls`: PEM files (absolute after loading; relative ones resolve against the
 * configuration file's folder), read at start and again whenever they change. One file serves
 * the whole cluster, so `cert` and `key` may hold `{id}`, which each node replaces with its id
 * ({@link tlsFilesOf}).
 */
export interface TlsConfig {
  /** This node's certificate chain, e.g. `certs/node-{id}.pem`. */
  readonly cert: string;
  /** Its private key, e.g. `certs/node-{id}-key.pem`. */
  readonly key: string;
  /** The CA(s) that sign peers' certificates and, if required, clients'. */
  readonly ca: string;
  /** Clients must present a certificate signed by `ca` (default false: a token or nothing). */
  readonly clientCertRequired: boolean;
  /**
   * A peer's certificate must name the node id it claims, as the URI `raftlock://node/<id>` in
   * its subjectAltName (default true), so one node's stolen key cannot pose as another.
   */
  readonly verifyPeerIds: boolean;
}

/** The placeholder of `tls.cert` and `tls.key` that stands for the node's id. */
export const TLS_ID_PLACEHOLDER = '{id}';

/** Node `id`'s own files of `tls`: `{id}` in `cert` and `key` replaced with its id. */
export function tlsFilesOf(tls: TlsConfig, id: number): TlsConfig {
  return { ...tls, cert: tls.cert.replaceAll(TLS_ID_PLACEHOLDER, String(id)), key: tls.key.replaceAll(TLS_ID_PLACEHOLDER, String(id)) };
}

/** The documented defaults of {@link NodeLimits}. */
export const DEFAULT_NODE_LIMITS: NodeLimits = {
  ...DEFAULT_LIMITS,
  maxClientFrameBytes: 1024 * 1024,
  maxPeerFrameBytes: 16 * 1024 * 1024,
};

/** One thing wrong with a configuration. */
export interface ConfigProblem {
  /**
   * What is wrong, as a JSON path (`nodes[1].address`, `limits.maxNameBytes`), or `(root)`,
   * `(file)` (unreadable, or not JSON) or `RAFTLOCK_SECRET`.
   */
  readonly key: string;
  /** What is wrong with it and, where that is not obvious, what to write instead. */
  readonly message: string;
  /** Where the key stands in the file (1-based line and column), when read from a file. */
  readonly line?: number;
  readonly column?: number;
}

/**
 * A configuration that cannot be used, with every problem found rather than the first, so one
 * round of edits can fix a file. Each problem is one line of the message,
 * `FILE:LINE:COLUMN: KEY: what is wrong` (the file and position when known); `key` is the first
 * problem's key.
 */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  /** The first problem's key. */
  readonly key: string;
  constructor(
    /** Never empty. */
    readonly problems: readonly ConfigProblem[],
    /** The file the configuration came from. */
    readonly source?: string,
  ) {
    super(describeProblems(problems, source));
    this.name = 'ConfigError';
    this.key = problems[0]?.key ?? '(root)';
  }
}

/** The key of a problem with the file itself: unreadable, or not JSON. */
const FILE = '(file)';

function describeProblem(p: ConfigProblem, source: string | undefined): string {
  const at = p.line !== undefined ? `:${p.line}:${p.column ?? 1}` : '';
  // A problem with the file as a whole has no key to name.
  return `${source !== undefined ? `${source}${at}: ` : ''}${p.key === FILE ? '' : `${p.key}: `}${p.message}`;
}

/** One problem: one line (a syntax error adds its excerpt); more: a count, then one line each. */
function describeProblems(problems: readonly ConfigProblem[], source: string | undefined): string {
  if (problems.length === 1) return describeProblem(problems[0] as ConfigProblem, source);
  const lines = problems.map((p) => `  ${describeProblem(p, source)}`);
  return `${source ?? 'the configuration'} has ${problems.length} problems:\n${lines.join('\n')}`;
}

const TOP_KEYS = [
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
] as const;
const NODE_KEYS = ['id', 'address'] as const;
const TOKEN_KEYS = ['name', 'role', 'hash'] as const;
const TLS_KEYS = ['cert', 'key', 'ca', 'clientCertRequired', 'verifyPeerIds'] as const;
const LIMIT_KEYS = Object.keys(DEFAULT_NODE_LIMITS);

/**
 * Top-level keys that are gone, each with what replaced it: refused with that, not as a typo.
 * A Map, so a key named like an Object method (`constructor`) is never looked up as one.
 */
const OBSOLETE_KEYS: ReadonlyMap<string, string> = new Map([
  [
    'clientToken',
    'replaced by clientTokens (hashed tokens with roles): make one with `raftlock token create --role admin` and list it under clientTokens',
  ],
]);

/** Gathers every problem as validation goes, so all of them are reported at once. */
class Problems {
  readonly list: ConfigProblem[] = [];

  /** Records a problem; returns undefined, the value of whatever has one. */
  add(key: string, message: string): undefined {
    this.list.push({ key, message });
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as a message shows it: JSON, cut short; a missing key says so. */
function got(v: unknown): string {
  if (v === undefined) return 'but it is missing';
  let json: string;
  try {
    // validateConfig is public: a caller may pass what JSON cannot show (a BigInt, a function).
    json = JSON.stringify(v) ?? typeof v;
  } catch {
    json = typeof v;
  }
  return `got ${json.length > 60 ? `${json.slice(0, 60)}…` : json}`;
}

/** The key `obj[key]` as an integer from `min` to `max`; `fallback` when absent, if there is one. */
function int(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  min: number,
  max: number,
  p: Problems,
  fallback?: number,
): number | undefined {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    return p.add(path, `must be an integer from ${min} to ${max}, ${got(v)}`);
  }
  return v;
}

/**
 * Reports each key of the object at `path` that is not one of `known`, with the known key it
 * most likely stands for; `misplaced` names keys that belong in another object (`limits`).
 */
function checkKeys(
  obj: Record<string, unknown>,
  path: string,
  known: readonly string[],
  p: Problems,
  misplaced?: { readonly keys: readonly string[]; readonly home: string },
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const obsolete = path === '' ? OBSOLETE_KEYS.get(key) : undefined;
    if (obsolete !== undefined) {
      p.add(key, obsolete);
      continue;
    }
    p.add(childPath(path, key), unknownKeyMessage(key, known, misplaced));
  }
}

/** Refuses an unknown key with the key it most likely stands for, else the known keys. */
function unknownKeyMessage(
  key: string,
  known: readonly string[],
  misplaced?: { readonly keys: readonly string[]; readonly home: string },
): string {
  const near = suggest(key, known);
  if (near !== undefined) return `unknown key; did you mean "${near}"?`;
  const moved = misplaced === undefined ? undefined : suggest(key, misplaced.keys);
  if (moved !== undefined && misplaced !== undefined) {
    return `unknown key here; did you mean "${misplaced.home}": { "${moved}": … }? (it belongs in the "${misplaced.home}" object)`;
  }
  return `unknown key (known: ${known.join(', ')})`;
}

/** Validates `host:port` (IPv4, hostname or [IPv6]) and returns it unchanged. */
export function parseAddress(value: unknown, key: string): HostPort {
  try {
    return parseHostPort(value, key);
  } catch (err) {
    throw new ConfigError([{ key, message: (err as Error).message.slice(key.length + 2) }]);
  }
}

function checkAddress(value: unknown, key: string, p: Problems): string | undefined {
  if (value === undefined) return p.add(key, `must be "host:port", ${got(value)}`);
  try {
    parseHostPort(value, key);
    return value as string;
  } catch (err) {
    return p.add(key, (err as Error).message.slice(key.length + 2));
  }
}

function checkClusterId(v: unknown, p: Problems): string | undefined {
  if (typeof v === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(v)) return v;
  return p.add('clusterId', `must be 1-64 characters of letters, digits, '.', '_' or '-', ${got(v)}`);
}

/** `nodes`: 1 to 9 `{ id, address }`, ids and addresses unique. */
function checkNodes(v: unknown, p: Problems): NodeAddress[] | undefined {
  if (!Array.isArray(v) || v.length < 1 || v.length > 9) {
    return p.add(
      'nodes',
      `must be an array of 1 to 9 nodes (3 or 5 for fault tolerance), ${Array.isArray(v) ? `got ${v.length}` : got(v)}`,
    );
  }
  const ids = new Map<number, string>();
  const addresses = new Map<string, string>();
  const nodes: NodeAddress[] = [];
  v.forEach((n: unknown, k: number) => {
    const path = itemPath('nodes', k);
    if (!isRecord(n)) return p.add(path, `must be an object { "id", "address" }, ${got(n)}`);
    checkKeys(n, path, NODE_KEYS, p);
    const id = int(n, 'id', `${path}.id`, 1, 1_000_000, p);
    const address = checkAddress(n.address, `${path}.address`, p);
    const idTwin = id === undefined ? undefined : ids.get(id);
    if (idTwin !== undefined) p.add(`${path}.id`, `duplicate node id ${id} (also ${idTwin}): each node needs its own id`);
    const addressTwin = address === undefined ? undefined : addresses.get(address);
    if (addressTwin !== undefined)
      p.add(`${path}.address`, `duplicate address ${address} (also ${addressTwin}): each node needs its own port`);
    if (id === undefined || address === undefined) return;
    ids.set(id, `${path}.id`);
    addresses.set(address, `${path}.address`);
    nodes.push({ id, address });
  });
  return nodes.length === v.length ? nodes : undefined;
}

/** The three timing keys; `heartbeatTicks` below `electionTicks`. */
function checkTicks(
  raw: Record<string, unknown>,
  p: Problems,
): Pick<ClusterConfig, 'tickMs' | 'electionTicks' | 'heartbeatTicks'> | undefined {
  const tickMs = int(raw, 'tickMs', 'tickMs', 1, 10_000, p, 50);
  const electionTicks = int(raw, 'electionTicks', 'electionTicks', 2, 10_000, p, 10);
  const heartbeatTicks = int(raw, 'heartbeatTicks', 'heartbeatTicks', 1, 10_000, p, 1);
  if (electionTicks !== undefined && heartbeatTicks !== undefined && heartbeatTicks >= electionTicks) {
    return p.add('heartbeatTicks', `must be less than electionTicks (${electionTicks}), got ${heartbeatTicks}`);
  }
  if (tickMs === undefined || electionTicks === undefined || heartbeatTicks === undefined) return undefined;
  return { tickMs, electionTicks, heartbeatTicks };
}

/** The peer secret, from the file or else RAFTLOCK_SECRET; `null` when it is invalid. */
function checkSecret(raw: Record<string, unknown>, env: NodeJS.ProcessEnv | undefined, p: Problems): string | undefined | null {
  const envSecret = env?.RAFTLOCK_SECRET;
  const secret = raw.secret ?? (envSecret !== undefined && envSecret !== '' ? envSecret : undefined);
  if (secret === undefined || (typeof secret === 'string' && secret.length >= 16)) return secret;
  p.add(raw.secret !== undefined ? 'secret' : 'RAFTLOCK_SECRET', 'must be a string of at least 16 characters');
  return null;
}

/**
 * Validates a parsed JSON value as a cluster configuration, reporting every problem at once (a
 * {@link ConfigError} listing them). `baseDir` resolves a relative `dataDir` (the current
 * directory); `env` supplies RAFTLOCK_SECRET; `source` names the file in the messages.
 */
export function validateConfig(
  raw: unknown,
  opts: { baseDir: string; env?: NodeJS.ProcessEnv; source?: string } = { baseDir: process.cwd() },
): ClusterConfig {
  const p = new Problems();
  const config = checkConfig(raw, opts, p);
  if (config === undefined || p.list.length > 0) throw new ConfigError(p.list, opts.source);
  return config;
}

/** Every check of a configuration; undefined when any failed (then `p` says why). */
function checkConfig(
  raw: unknown,
  opts: { baseDir: string; configDir?: string; env?: NodeJS.ProcessEnv },
  p: Problems,
): ClusterConfig | undefined {
  if (!isRecord(raw)) return p.add('(root)', `must be a JSON object { "clusterId", "nodes", "dataDir", … }, ${got(raw)}`);
  checkKeys(raw, '', TOP_KEYS, p, { keys: LIMIT_KEYS, home: 'limits' });
  const clusterId = checkClusterId(raw.clusterId, p);
  const nodes = checkNodes(raw.nodes, p);
  const dataDir =
    typeof raw.dataDir === 'string' && raw.dataDir.length > 0
      ? raw.dataDir
      : p.add('dataDir', `must be a non-empty path, ${got(raw.dataDir)}`);
  const ticks = checkTicks(raw, p);
  const secret = checkSecret(raw, opts.env, p);
  const clientTokens = raw.clientTokens === undefined ? [] : checkClientTokens(raw.clientTokens, p);
  const tls = raw.tls === undefined ? undefined : checkTls(raw.tls, opts.configDir ?? opts.baseDir, nodes?.map((n) => n.id) ?? [], p);
  const snapshotEvery = int(raw, 'snapshotEvery', 'snapshotEvery', 0, 100_000_000, p, 10_000);
  const limits = raw.limits === undefined ? DEFAULT_NODE_LIMITS : checkLimits(raw.limits, p);
  if (
    clusterId === undefined ||
    nodes === undefined ||
    dataDir === undefined ||
    ticks === undefined ||
    secret === null ||
    clientTokens === undefined ||
    snapshotEvery === undefined ||
    limits === undefined ||
    tls === null
  ) {
    return undefined;
  }
  return {
    clusterId,
    nodes,
    dataDir: resolve(opts.baseDir, dataDir),
    ...ticks,
    ...(secret !== undefined ? { secret } : {}),
    clientTokens,
    snapshotEvery,
    limits,
    ...(tls !== undefined ? { tls } : {}),
  };
}

/**
 * `tls`: `{ cert, key, ca }` PEM files that can be read (`cert` and `key` for every node of
 * `ids` when they hold `{id}`), and two switches; `null` when invalid.
 */
function checkTls(v: unknown, baseDir: string, ids: readonly number[], p: Problems): TlsConfig | null {
  if (!isRecord(v)) {
    p.add('tls', `must be an object { "cert", "key", "ca" } of PEM file paths, ${got(v)}`);
    return null;
  }
  checkKeys(v, 'tls', TLS_KEYS, p);
  const file = (key: 'cert' | 'key' | 'ca', what: string): string | undefined => {
    const path = v[key];
    if (typeof path !== 'string' || path.length === 0) return p.add(`tls.${key}`, `must be the path of ${what} (PEM), ${got(path)}`);
    const abs = resolve(baseDir, path);
    const each = key !== 'ca' && abs.includes(TLS_ID_PLACEHOLDER) ? ids.map((id) => abs.replaceAll(TLS_ID_PLACEHOLDER, String(id))) : [abs];
    const problems = each.map((f) => pemProblem(f, what)).filter((m) => m !== undefined);
    if (problems.length > 0) return p.add(`tls.${key}`, problems.join('; '));
    return abs;
  };
  const flag = (key: 'clientCertRequired' | 'verifyPeerIds', fallback: boolean): boolean | undefined => {
    const b = v[key];
    if (b === undefined) return fallback;
    if (typeof b !== 'boolean') return p.add(`tls.${key}`, `must be true or false, ${got(b)}`);
    return b;
  };
  const cert = file('cert', "this node's certificate");
  const key = file('key', "this node's private key");
  const ca = file('ca', 'the CA certificate');
  const clientCertRequired = flag('clientCertRequired', false);
  const verifyPeerIds = flag('verifyPeerIds', true);
  if (cert === undefined || key === undefined || ca === undefined || clientCertRequired === undefined || verifyPeerIds === undefined)
    return null;
  return { cert, key, ca, clientCertRequired, verifyPeerIds };
}

/** Why `path` cannot serve as `what` (unreadable, or not PEM), or undefined. */
function pemProblem(path: string, what: string): string | undefined {
  try {
    if (!readFileSync(path, 'utf8').includes('-----BEGIN ')) return `${path} is not PEM (no "-----BEGIN" line): expected ${what}`;
  } catch (err) {
    return `cannot read ${path}: ${(err as Error).message} (make test certificates with \`raftlock certs init\`)`;
  }
  return undefined;
}

/** Bounds the per-request work of checking a token (each configured hash is compared). */
const MAX_CLIENT_TOKENS = 1000;

/** `clientTokens`: `[{ name, role, hash }]`, names and hashes unique. */
function checkClientTokens(v: unknown, p: Problems): ClientTokenEntry[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_CLIENT_TOKENS) {
    return p.add('clientTokens', `must be an array of at most ${MAX_CLIENT_TOKENS} { "name", "role", "hash" } objects`);
  }
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  const tokens: ClientTokenEntry[] = [];
  v.forEach((t: unknown, k) => {
    const path = itemPath('clientTokens', k);
    const entry = checkClientToken(t, path, p);
    if (entry === undefined) return;
    const { name, hash } = entry;
    if (names.has(name)) p.add(`${path}.name`, `duplicate token name ${name}`);
    const twin = hashes.get(hash);
    if (twin !== undefined) p.add(`${path}.hash`, `the same token is listed twice (also as ${JSON.stringify(twin)})`);
    names.add(name);
    hashes.set(hash, name);
    tokens.push(entry);
  });
  return tokens.length === v.length ? tokens : undefined;
}

function checkClientToken(t: unknown, path: string, p: Problems): ClientTokenEntry | undefined {
  if (!isRecord(t)) return p.add(path, 'must be an object { "name", "role", "hash" }');
  checkKeys(t, path, TOKEN_KEYS, p);
  const { name, role, hash } = t;
  const nameOk = typeof name === 'string' && /^[A-Za-z0-9._@-]{1,64}$/.test(name);
  if (!nameOk) p.add(`${path}.name`, `must be 1-64 characters of letters, digits, '.', '_', '@' or '-', ${got(name)}`);
  const roleOk = typeof role === 'string' && (ROLES as readonly string[]).includes(role);
  if (!roleOk) p.add(`${path}.role`, `must be one of ${ROLES.join(', ')}, ${got(role)}`);
  const hashOk = isTokenHash(hash);
  if (!hashOk) {
    p.add(
      `${path}.hash`,
      'must be "sha256:" and 64 lowercase hex digits, as `raftlock token create` prints (the configuration never holds the token itself)',
    );
  }
  return nameOk && roleOk && hashOk ? { name, role: role as Role, hash } : undefined;
}

/** The `limits` object: frame sizes here, the cluster's limits by their one set of ranges. */
function checkLimits(l: unknown, p: Problems): NodeLimits | undefined {
  if (!isRecord(l)) return p.add('limits', `must be an object { "maxSessions": …, … }, ${got(l)}`);
  checkKeys(l, 'limits', LIMIT_KEYS, p);
  // Checked here, key by key, against the one table of ranges (so the error names the key).
  const machine: { -readonly [K in keyof Limits]: number } = { ...DEFAULT_LIMITS };
  let valid = true;
  for (const field of LIMIT_NAMES) {
    const [min, max] = LIMIT_RANGES[field];
    const value = int(l, field, `limits.${field}`, min, max, p, DEFAULT_LIMITS[field]);
    if (value === undefined) valid = false;
    else machine[field] = value;
  }
  const frames = {
    maxClientFrameBytes: int(
      l,
      'maxClientFrameBytes',
      'limits.maxClientFrameBytes',
      1024,
      64 * 1024 * 1024,
      p,
      DEFAULT_NODE_LIMITS.maxClientFrameBytes,
    ),
    maxPeerFrameBytes: int(
      l,
      'maxPeerFrameBytes',
      'limits.maxPeerFrameBytes',
      64 * 1024,
      256 * 1024 * 1024,
      p,
      DEFAULT_NODE_LIMITS.maxPeerFrameBytes,
    ),
  };
  if (!valid || frames.maxClientFrameBytes === undefined || frames.maxPeerFrameBytes === undefined) return undefined;
  return { ...machine, maxClientFrameBytes: frames.maxClientFrameBytes, maxPeerFrameBytes: frames.maxPeerFrameBytes };
}

/**
 * Reads and validates a configuration file; relative `dataDir` resolves against `cwd`, relative
 * `tls` files against the file's folder. Throws
 * one {@link ConfigError}: unreadable, not JSON (line, column and the line quoted), or every
 * problem of its content, each with the line and column of its key in the file.
 */
export function loadConfigFile(path: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ key: FILE, message: `cannot read ${path}: ${(err as Error).message}` }]);
  }
  let parsed: ReturnType<typeof parseJsonWithLayout>;
  try {
    parsed = parseJsonWithLayout(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const excerpt = err.excerpt === '' ? '' : `\n${err.excerpt}`;
    throw new ConfigError([{ key: FILE, message: `not valid JSON: ${err.message}${excerpt}`, ...err.position }], path);
  }
  const { value, layout } = parsed;
  const p = new Problems();
  for (const d of layout.duplicates) {
    p.add(d.path, `given twice (also at line ${d.first.line}, column ${d.first.column}); JSON keeps only the last: remove one`);
  }
  const config = checkConfig(
    value,
    { baseDir: opts.cwd ?? process.cwd(), configDir: dirname(resolve(path)), env: opts.env ?? process.env },
    p,
  );
  if (config !== undefined && p.list.length === 0) return config;
  const located = p.list.map((problem) => ({ ...problem, ...positionOf(problem.key, layout) }));
  // In file order, as an editor walks them; those with no place in the file last.
  located.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  throw new ConfigError(located, path);
}

/**
 * Where problem `key` points in the file: the key itself, or for a missing key the object that
 * lacks it (`nodes[2]` for `nodes[2].id`). Top-level keys that are missing, and the environment,
 * have no place in the file.
 */
function positionOf(key: string, layout: JsonLayout): TextPosition | undefined {
  for (let path = key; path !== ''; path = path.replace(/(\.[^.[]*|\[\d+\])$/, '')) {
    const at = layout.position(path);
    if (at !== undefined) return at;
    if (!/[.[]/.test(path)) return undefined;
  }
  return undefined;
}
