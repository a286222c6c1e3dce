/**
 * `raftlock certs init --nodes N --out DIR`: makes a throwaway CA and, signed by it, a
 * certificate for each node and one for a client, so TLS can be tried locally.
 * The work is done by the system `openssl` binary (no crypto dependency in the package); its
 * requests, extension files and serial state stay in a temporary folder, and DIR receives the
 * finished PEM files only once every one of them was made.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';

/** A certificate and its private key, as absolute paths of PEM files. */
export interface CertificateFiles {
  cert: string;
  key: string;
}

/** What {@link makeCertificates} wrote: every path absolute. */
export interface CertificateSet {
  dir: string;
  ca: CertificateFiles;
  nodes: Array<CertificateFiles & { id: number }>;
  client: CertificateFiles;
}

/** What {@link makeCertificates} takes: the CLI's flags, already parsed. */
export interface CertificateOptions {
  /** Node ids 1..nodes get a certificate each; an integer from 1 to 99. */
  readonly nodes: number;
  /** The folder to write into (created if missing). */
  readonly out: string;
  /** Extra names for every node's subjectAltName: IP literals become `IP:`, the rest `DNS:`. */
  readonly hosts?: readonly string[];
  /** Validity in days (default 365). */
  readonly days?: number;
  /** Overwrite files that exist (default false: refuse, naming the first one). */
  readonly force?: boolean;
  /**
   * Sign with the CA already in `out` (its ca.pem and ca-key.pem) instead of making one: new
   * node and client certificates that every node and client already trusts, to replace ones
   * about to expire while the cluster serves (the nodes reload them by themselves).
   */
  readonly reuseCa?: boolean;
}

/** A whole-number flag's range; its checks name the flag, for the CLI and the programmatic caller alike. */
interface Range {
  readonly flag: string;
  readonly max: number;
}
/** Ids stay two digits, and no real cluster is larger. */
const NODES: Range = { flag: '--nodes', max: 99 };
/** 100 years: anything longer is a typo. */
const DAYS: Range = { flag: '--days', max: 36_500 };

/** `value` (a number, or a flag's text: digits only, so `3x` and `3.5` are refused) as an integer from 1 to `r.max`. */
function inRange(r: Range, value: number | string): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > r.max)
    throw new Error(`${r.flag} must be an integer from 1 to ${r.max}, not ${JSON.stringify(value)}`);
  return n;
}

/** {@link inRange} as a commander argument parser, which reports an InvalidArgumentError with the option. */
function rangeFlag(r: Range): (text: string) => number {
  return (text) => {
    try {
      return inRange(r, text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** Names every node's certificate carries, so a local cluster works by name and by either loopback address. */
const LOOPBACK_SANS = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];

/** The message when `openssl` cannot be run at all: what it is for and how to get it. */
export const OPENSSL_MISSING =
  'openssl not found on PATH: raftlock certs init uses it to make certificates; install it (Debian/Ubuntu: apt-get install openssl)';

/**
 * One `--hosts` entry as a subjectAltName entry. DNS names are held to the characters a host
 * name has: the entry goes into an openssl config file, where `$`, `#` or a newline would be
 * read as syntax rather than as part of the name.
 */
export function hostSan(host: string): string {
  if (host.length === 0) throw new Error('--hosts: an entry is empty (give host names or IP addresses separated by commas)');
  if (/[\s,]/.test(host)) throw new Error(`--hosts: ${JSON.stringify(host)} contains a space or a comma; give one name per entry`);
  if (isIP(host) !== 0 && !host.includes('%')) return `IP:${host}`;
  if (!/^[A-Za-z0-9*_][A-Za-z0-9._*-]*$/.test(host))
    throw new Error(`--hosts: ${JSON.stringify(host)} is neither an IP address nor a DNS name (letters, digits, '.', '-', '_', '*')`);
  return `DNS:${host}`;
}

/** The file names of a set, relative to its folder, in the order they are reported. */
function fileNames(nodes: number): { ca: CertificateFiles; nodes: Array<CertificateFiles & { id: number }>; client: CertificateFiles } {
  return {
    ca: { cert: 'ca.pem', key: 'ca-key.pem' },
    nodes: Array.from({ length: nodes }, (_, i) => ({ id: i + 1, cert: `node-${i + 1}.pem`, key: `node-${i + 1}-key.pem` })),
    client: { cert: 'client.pem', key: 'client-key.pem' },
  };
}

/** Runs openssl in `cwd`; failures become one Error saying what it was doing and what openssl said. */
function openssl(cwd: string, purpose: string, args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number | null; stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error(OPENSSL_MISSING);
    const said = (e.stderr?.toString('utf8') ?? '').trim().split('\n').slice(0, 6).join('\n  ');
    throw new Error(`openssl failed to ${purpose} (openssl ${args[0] ?? ''}, exit ${e.status ?? '?'})${said ? `:\n  ${said}` : ''}`);
  }
}

/** A random positive serial number of 127 bits (RFC 5280: at most 20 octets, unpredictable). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] as number) & 0x7f;
  return `0x${b.toString('hex')}`;
}

/** A new EC P-256 key in `tmp/name`. */
function newKey(tmp: string, name: string, purpose: string): void {
  openssl(tmp, `make the key of ${purpose}`, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
}

/**
 * The openssl config file: `req` needs a distinguished_name section even with -subj, and
 * giving our own keeps the system's openssl.cnf (its defaults and extensions) out of it.
 */
function writeConfig(tmp: string): string {
  const path = join(tmp, 'openssl.cnf');
  writeFileSync(
    path,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      '[ca_ext]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  return path;
}

/** The CA: a key and a self-signed certificate, its CN made unique so two runs' CAs are told apart. */
function makeCa(tmp: string, config: string, files: CertificateFiles, days: number): void {
  newKey(tmp, files.key, 'the CA');
  const cn = `raftlock CA ${randomBytes(3).toString('hex')}`;
  const args = ['-x509', '-new', '-key', files.key, '-subj', `/CN=${cn}`, '-days', String(days), '-sha256'];
  openssl(tmp, 'make the CA certificate', [
    'req',
    ...args,
    '-set_serial',
    serial(),
    '-config',
    config,
    '-extensions',
    'ca_ext',
    '-out',
    files.cert,
  ]);
}

/**
 * A key and a certificate signed by the CA with the extensions `ext`. An explicit serial keeps
 * openssl from writing a .srl file; the request is left in the temporary folder.
 */
function makeLeaf(
  tmp: string,
  config: string,
  ca: CertificateFiles,
  leaf: CertificateFiles,
  cn: string,
  ext: readonly string[],
  days: number,
): void {
  newKey(tmp, leaf.key, cn);
  const csr = `${leaf.cert}.csr`;
  const extFile = `${leaf.cert}.ext`;
  writeFileSync(join(tmp, extFile), `[leaf]\n${ext.join('\n')}\n`);
  openssl(tmp, `make the certificate request of ${cn}`, [
    'req',
    '-new',
    '-key',
    leaf.key,
    '-subj',
    `/CN=${cn}`,
    '-config',
    config,
    '-out',
    csr,
  ]);
  const sign = ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', serial(), '-days', String(days), '-sha256'];
  openssl(tmp, `sign the certificate of ${cn}`, [...sign, '-extfile', extFile, '-extensions', 'leaf', '-out', leaf.cert]);
}

/** Extensions of every certificate the CA signs: an end entity that signs TLS handshakes. */
function leafExtensions(san: readonly string[], usage: string): string[] {
  return [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    `extendedKeyUsage = ${usage}`,
    `subjectAltName = ${san.join(', ')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid, issuer',
  ];
}

/** The CA of `dir` copied into `tmp` to sign with; fails naming a file that is missing. */
function copyCa(dir: string, tmp: string, ca: CertificateFiles): void {
  for (const name of [ca.cert, ca.key]) {
    const from = join(dir, name);
    if (!existsSync(from)) throw new Error(`--reuse-ca: ${from} does not exist; run without --reuse-ca to make a CA first`);
    writeFileSync(join(tmp, name), readFileSync(from), { mode: 0o600 });
  }
}

/** Fails naming the first file of `paths` that exists, unless `force`. */
function refuseOverwrite(paths: readonly string[], force: boolean): void {
  if (force) return;
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length === 0) return;
  const more = existing.length > 1 ? ` (and ${existing.length - 1} more of the files it would write)` : '';
  throw new Error(`${existing[0]} exists${more}; nothing was written: pass --force to replace them, or choose another --out`);
}

/**
 * Copies one finished file into `dir` with `mode`. The old file is removed first, so a
 * replaced key never sits, even briefly, in a file whose mode was looser.
 */
function install(tmp: string, name: string, dir: string, mode: number): void {
  const dest = join(dir, name);
  rmSync(dest, { force: true });
  writeFileSync(dest, readFileSync(join(tmp, name)), { mode, flag: 'wx' });
  chmodSync(dest, mode); // the umask may have taken bits off a certificate's 0644
}

/**
 * Makes a CA and, signed by it, certificates for nodes 1..`nodes` and for one client, and
 * writes them to `out` (keys 0600, certificates 0644). Node certificates: CN
 * `raftlock-node-<id>`, subjectAltName `URI:raftlock://node/<id>`, localhost, 127.0.0.1, ::1
 * and every `hosts` entry, usable as TLS server and client. The client's: CN `raftlock-client`,
 * `URI:raftlock://client`, client only. Throws an Error naming the problem (a bad option, a
 * file that exists without `force`, openssl missing or failing), having written nothing.
 */
export function makeCertificates(opts: CertificateOptions): CertificateSet {
  const nodes = inRange(NODES, opts.nodes);
  const days = inRange(DAYS, opts.days ?? 365);
  const hostSans = (opts.hosts ?? []).map(hostSan);
  const dir = resolve(opts.out);
  const names = fileNames(nodes);
  const reuse = opts.reuseCa === true;
  const all = reuse ? [...names.nodes, names.client] : [names.ca, ...names.nodes, names.client];
  refuseOverwrite(
    all.flatMap((f) => [join(dir, f.cert), join(dir, f.key)]),
    opts.force ?? false,
  );
  const tmp = mkdtempSync(join(tmpdir(), 'raftlock-certs-'));
  try {
    const config = writeConfig(tmp);
    if (reuse) copyCa(dir, tmp, names.ca);
    else makeCa(tmp, config, names.ca, days);
    for (const n of names.nodes) {
      const san = [`URI:raftlock://node/${n.id}`, ...new Set([...LOOPBACK_SANS, ...hostSans])];
      makeLeaf(tmp, config, names.ca, n, `raftlock-node-${n.id}`, leafExtensions(san, 'serverAuth, clientAuth'), days);
    }
    makeLeaf(tmp, config, names.ca, names.client, 'raftlock-client', leafExtensions(['URI:raftlock://client'], 'clientAuth'), days);
    mkdirSync(dir, { recursive: true });
    for (const f of all) {
      install(tmp, f.key, dir, 0o600);
      install(tmp, f.cert, dir, 0o644);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const abs = (f: CertificateFiles): CertificateFiles => ({ cert: join(dir, f.cert), key: join(dir, f.key) });
  return { dir, ca: abs(names.ca), nodes: names.nodes.map((n) => ({ id: n.id, ...abs(n) })), client: abs(names.client) };
}

/** The human summary: what was written, and where each file goes. */
function summary(set: CertificateSet, reusedCa: boolean): string {
  const node = set.nodes[0] ?? { cert: '', key: '' };
  const q = JSON.stringify;
  return (
    `wrote ${2 * (set.nodes.length + (reusedCa ? 1 : 2))} files to ${set.dir}:\n` +
    (reusedCa
      ? `  (ca.pem, ca-key.pem                 kept: the certificates below are signed by it)\n`
      : `  ca.pem, ca-key.pem                  the CA; ca-key.pem signs certificates: keep it off the nodes\n`) +
    `  node-<id>.pem, node-<id>-key.pem    nodes 1..${set.nodes.length}: TLS servers to clients, both ends between peers\n` +
    `  client.pem, client-key.pem          a client\n` +
    `Keys are mode 0600. This CA is for trying TLS locally, not for production.\n` +
    `In the cluster configuration ({id} stands for each node's id):\n` +
    `  "tls": { "cert": ${q(node.cert.replace(/node-1\.pem$/, 'node-{id}.pem'))}, "key": ${q(node.key.replace(/node-1-key\.pem$/, 'node-{id}-key.pem'))}, "ca": ${q(set.ca.cert)} }\n` +
    `Client commands take:\n` +
    `  --cacert ${set.ca.cert} --cert ${set.client.cert} --key ${set.client.key}\n`
  );
}

/** Registers `certs …` on `program`. */
export function registerCertsCommands(program: Command): void {
  const certs = program.command('certs').description('certificates for TLS: make a local CA and node and client certificates');
  certs
    .command('init')
    .description('make a CA, a certificate for each node id 1..N and one for a client, with openssl (for trying TLS locally)')
    .requiredOption('--nodes <n>', `node count, 1 to ${NODES.max}`, rangeFlag(NODES))
    .requiredOption('--out <dir>', 'folder to write the PEM files into (created if missing)')
    .option('--hosts <h1,h2,…>', "more host names or IP addresses for the nodes' certificates (besides localhost, 127.0.0.1, ::1)")
    .option('--days <d>', 'validity in days', rangeFlag(DAYS), 365)
    .option('--force', 'replace files that exist', false)
    .option(
      '--reuse-ca',
      'sign with the CA already in --out (new certificates the cluster trusts, e.g. before the old ones expire; with --force)',
      false,
    )
    .option('--json', 'machine-readable output', false)
    .action((opts: { nodes: number; out: string; hosts?: string; days: number; force: boolean; reuseCa: boolean; json: boolean }) => {
      const set = makeCertificates({
        nodes: opts.nodes,
        out: opts.out,
        hosts: opts.hosts === undefined ? [] : opts.hosts.split(','),
        days: opts.days,
        force: opts.force,
        reuseCa: opts.reuseCa,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(set)}\n` : summary(set, opts.reuseCa));
    });
}
