/**
 * `raftlock certs init` (src/cli/commands/certs.ts) as an operator runs it: the files, their
 * modes, openssl's own verdict on the chain, the names in the certificates, a real mutual-TLS
 * handshake with Node's tls module (and one refused for a foreign CA), the refusal to
 * overwrite, `--json`, and the messages when openssl is missing or `--nodes` is wrong.
 */
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificates, type CertificateSet } from '../../src/cli/commands/certs.js';
import { CLI, REPO, runCli } from './support/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test. */
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftlock-certs-test-'));
  dirs.push(d);
  return d;
}

/** Every file of `dir` with its bytes, to tell whether anything changed. */
function snapshot(dir: string): Map<string, Buffer> {
  return new Map(
    readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(join(dir, f))]),
  );
}

/** The CLI from source with another environment (runCli inherits this process's). */
function runCliWithEnv(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const EXPECTED_FILES = [
  'ca-key.pem',
  'ca.pem',
  'client-key.pem',
  'client.pem',
  'node-1-key.pem',
  'node-1.pem',
  'node-2-key.pem',
  'node-2.pem',
  'node-3-key.pem',
  'node-3.pem',
];

describe('raftlock certs init', () => {
  it('writes a CA, node and client certificates that openssl verifies, keys 0600, with the node id and hosts in the SAN', async () => {
    const out = join(tempDir(), 'certs'); // not there yet: created
    const r = await runCli(['certs', 'init', '--nodes', '3', '--out', out, '--hosts', '10.1.2.3,db.example']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`"tls": { "cert": "${out}/node-{id}.pem", "key": "${out}/node-{id}-key.pem", "ca": "${out}/ca.pem" }`);
    expect(r.stdout).toContain(`--cacert ${out}/ca.pem --cert ${out}/client.pem --key ${out}/client-key.pem`);
    expect(readdirSync(out).sort()).toEqual(EXPECTED_FILES); // no CSR, .srl or config left behind
    for (const f of EXPECTED_FILES) expect(statSync(join(out, f)).mode & 0o777, f).toBe(f.endsWith('-key.pem') ? 0o600 : 0o644);

    const verify = (cert: string, purpose: string): string =>
      execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), '-purpose', purpose, join(out, cert)], { encoding: 'utf8' });
    for (const id of [1, 2, 3]) {
      expect(verify(`node-${id}.pem`, 'sslserver')).toContain(': OK');
      expect(verify(`node-${id}.pem`, 'sslclient')).toContain(': OK');
    }
    expect(verify('client.pem', 'sslclient')).toContain(': OK');

    const node2 = new X509Certificate(readFileSync(join(out, 'node-2.pem')));
    expect(node2.subject).toBe('CN=raftlock-node-2');
    const san = node2.subjectAltName ?? '';
    for (const name of ['URI:raftlock://node/2', 'DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:10.1.2.3', 'DNS:db.example'])
      expect(san).toContain(name);
    expect(san).not.toContain('raftlock://node/1');
    const ca = new X509Certificate(readFileSync(join(out, 'ca.pem')));
    expect(ca.ca).toBe(true);
    expect(ca.subject).toMatch(/^CN=raftlock CA [0-9a-f]{6}$/);
    expect(node2.ca).toBe(false);
    expect(node2.checkIssued(ca)).toBe(true);
    const client = new X509Certificate(readFileSync(join(out, 'client.pem')));
    expect(client.subject).toBe('CN=raftlock-client');
    expect(client.subjectAltName).toBe('URI:raftlock://client');
    expect(client.serialNumber).not.toBe(node2.serialNumber);
  });

  it('a mutual TLS handshake on 127.0.0.1 succeeds with these certificates, and fails for a client trusting another run’s CA', async () => {
    const set = makeCertificates({ nodes: 1, out: tempDir() });
    const other = makeCertificates({ nodes: 1, out: tempDir() });
    const pem = (path: string): Buffer => readFileSync(path);
    const node1 = set.nodes[0] as CertificateSet['nodes'][number];
    const accepted: Array<{ authorized: boolean; cn: unknown }> = [];
    const server = createServer({ cert: pem(node1.cert), key: pem(node1.key), ca: pem(set.ca.cert), requestCert: true }, (s) => {
      accepted.push({ authorized: s.authorized, cn: s.getPeerCertificate().subject.CN });
      s.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const dial = (caFile: string): Promise<{ authorized: boolean; data: string }> =>
      new Promise((resolve, reject) => {
        const s: TLSSocket = connect({ host: '127.0.0.1', port, ca: pem(caFile), cert: pem(set.client.cert), key: pem(set.client.key) });
        let data = '';
        s.setEncoding('utf8').on('data', (d: string) => (data += d));
        s.on('error', reject);
        s.on('end', () => resolve({ authorized: s.authorized, data }));
      });
    try {
      const ok = await dial(set.ca.cert);
      expect(ok).toEqual({ authorized: true, data: 'hello' });
      expect(accepted).toEqual([{ authorized: true, cn: 'raftlock-client' }]);

      const refused = await dial(other.ca.cert).then(
        () => undefined,
        (err: NodeJS.ErrnoException) => err,
      );
      // The server sends its CA along (OpenSSL builds the chain from `ca`), so the client sees a
      // self-signed root it does not trust; without it, the leaf's issuer would be unknown.
      expect(refused?.code).toMatch(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)$/);
      expect(accepted).toHaveLength(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses to overwrite, naming a file that exists and changing nothing; --force replaces them', async () => {
    const out = tempDir();
    expect((await runCli(['certs', 'init', '--nodes', '3', '--out', out])).code).toBe(0);
    const before = snapshot(out);

    const again = await runCli(['certs', 'init', '--nodes', '3', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`${out}/(ca|ca-key|client|client-key|node-\\d|node-\\d-key)\\.pem exists`));
    expect(again.stderr).toContain('--force');
    expect(snapshot(out)).toEqual(before);

    const forced = await runCli(['certs', 'init', '--nodes', '3', '--out', out, '--force']);
    expect(forced.code).toBe(0);
    const after = snapshot(out);
    expect([...after.keys()]).toEqual([...before.keys()]);
    expect(after.get('ca.pem')).not.toEqual(before.get('ca.pem'));
    expect(statSync(join(out, 'ca-key.pem')).mode & 0o777).toBe(0o600);
  });

  it('--json prints one object of absolute paths that exist', async () => {
    const out = tempDir();
    const r = await runCli(['certs', 'init', '--nodes', '2', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const set = JSON.parse(r.stdout) as CertificateSet;
    expect(Object.keys(set).sort()).toEqual(['ca', 'client', 'dir', 'nodes']);
    expect(set.dir).toBe(out);
    expect(set.nodes.map((n) => n.id)).toEqual([1, 2]);
    const paths = [set.ca.cert, set.ca.key, set.client.cert, set.client.key, ...set.nodes.flatMap((n) => [n.cert, n.key])];
    expect(paths).toHaveLength(8);
    for (const p of paths) {
      expect(isAbsolute(p), p).toBe(true);
      expect(existsSync(p), p).toBe(true);
    }
  });

  it('without openssl on PATH: exit 1, saying openssl is not found, and nothing written', async () => {
    const emptyBin = join(tempDir(), 'bin');
    mkdirSync(emptyBin);
    const out = join(tempDir(), 'certs');
    const r = await runCliWithEnv(['certs', 'init', '--nodes', '1', '--out', out], { ...process.env, PATH: emptyBin });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('openssl not found on PATH');
    expect(r.stderr).toContain('apt-get install openssl');
    expect(existsSync(out)).toBe(false);
  });

  it('--nodes 0 and --nodes abc: exit 1 naming --nodes', async () => {
    const out = tempDir();
    for (const bad of ['0', 'abc']) {
      const r = await runCli(['certs', 'init', '--nodes', bad, '--out', out]);
      expect(r.code, bad).toBe(1);
      expect(r.stderr, bad).toContain('--nodes must be an integer from 1 to 99');
    }
    expect(readdirSync(out)).toEqual([]);
  });
});
