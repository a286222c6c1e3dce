/**
 * TLS on real processes (docs/operations.md#tls): a 3-node cluster started by `raftlock start`
 * with certificates made at test time by `raftlock certs init`, requiring client certificates.
 *
 * - The SDK and the CLI work over `wss://` and HTTPS with the CA and a client certificate.
 * - Refused, each with an error that says why, and nothing changes (applied index and digest
 *   of every node): no TLS at all (plain `ws://` and HTTP), no CA, no client certificate, a
 *   client certificate from another CA.
 * - Peers: a node presenting another node's certificate, or one from another CA, is refused by
 *   the others (and cannot take part); with its own certificate back it catches up.
 * - Certificates replaced on disk while the cluster serves are picked up for new connections,
 *   with no election.
 * - The shipped `cluster-configs/three-node-tls.json` runs under `cluster up` as the README says.
 */
import { X509Certificate } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { makeCertificates } from '../../src/cli/commands/certs.js';
import { AuthError, connect, UnavailableError, type ClientTls, type RaftlockClient } from '../../src/client/index.js';
import { CLI, REPO, runCli } from './support/cli.js';

let cluster: ProcessCluster;
let certs: string;
/** Certificates of another CA, which the cluster must not trust. */
let stranger: ReturnType<typeof makeCertificates>;
const strangerDir = mkdtempSync(join(tmpdir(), 'raftlock-tls-stranger-'));

function clientTls(): { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } {
  const t = cluster.clientTls;
  if (t === undefined) throw new Error('the cluster has no TLS');
  return t;
}

function file(name: string): string {
  return join(certs, name);
}

/** The applied index and digest of every node: what a refused request must leave as it was. */
async function state(): Promise<string[]> {
  const sts = await Promise.all(cluster.ids.map((id) => cluster.status(id)));
  return sts.map((st) => `${st?.id}:${st?.applied}/${st?.digest}`);
}

/** The rejection of `p` (which must reject). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

function logOf(id: number): string {
  return readFileSync(cluster.logFileOf(id), 'utf8');
}

beforeAll(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, tls: { clientCertRequired: true }, httpTimeoutMs: 3_000 });
  certs = cluster.certsDir as string;
  stranger = makeCertificates({ nodes: 3, out: strangerDir });
  cluster.startAll();
  await cluster.waitForLeader(cluster.ids, 30_000);
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
  rmSync(strangerDir, { recursive: true, force: true });
});

describe('TLS between clients and nodes', () => {
  it('the SDK and the CLI work over wss:// and HTTPS with the CA and a client certificate', async () => {
    const client = await connect({ endpoints: cluster.endpoints, tls: clientTls(), clientId: 'tls-sdk' });
    try {
      expect(await client.counter('tls/sdk').add(2)).toBe(2);
      const lock = await client.lock('tls/lock', { waitMs: 5_000 });
      expect(lock.fencingToken).toBeGreaterThan(0);
      await lock.release();
    } finally {
      await client.close();
    }
    const endpoints = cluster.endpoints.join(',');
    const add = await cluster.cli(['counter', 'add', 'tls/cli', '5', '--endpoints', endpoints, '--json']);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ value: 5 });
    const status = await cluster.cli(['status', '--endpoints', endpoints, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as Array<{ reachable: boolean }>;
    expect(rows.filter((r) => r.reachable)).toHaveLength(3);
  }, 60_000);

  it('clients without TLS, without the CA, without a certificate or with another CA are refused, and nothing changes', async () => {
    const before = await state();
    const endpoints = cluster.endpoints;
    const { ca, cert, key } = clientTls();
    const attempts: Array<[string, ClientTls | undefined, new (...a: never[]) => Error, RegExp]> = [
      ['no TLS', undefined, UnavailableError, /accepts TLS only/],
      ['no CA', { cert, key }, AuthError, /TLS with .* failed: .*(SELF_SIGNED|UNABLE_TO_VERIFY|ISSUER)/],
      ['no client certificate', { ca }, AuthError, /client certificate signed by the cluster's CA is required/],
      [
        "another CA's client certificate",
        { ca, cert: readFileSync(stranger.client.cert), key: readFileSync(stranger.client.key) },
        AuthError,
        /client certificate signed by the cluster's CA is required/,
      ],
    ];
    for (const [what, tls, type, message] of attempts) {
      const err = await rejection(connect({ endpoints, timeoutMs: 5_000, ...(tls !== undefined ? { tls } : {}) }));
      expect(err, what).toBeInstanceOf(type);
      expect(err.message, what).toMatch(message);
    }
    // The CLI, with none of --cacert/--cert/--key: one line that says the node wants TLS.
    const cli = await runCli(['counter', 'add', 'tls/cli', '1', '--endpoints', endpoints.join(','), '--timeout', '3s']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/accepts TLS only/);
    // The CLI with the CA but without a client certificate: AUTH.
    const noCert = await runCli(['counter', 'add', 'tls/cli', '1', '--endpoints', endpoints.join(','), '--cacert', file('ca.pem')]);
    expect(noCert.code).toBe(1);
    expect(noCert.stderr).toMatch(/client certificate .* is required.*\(AUTH\)/);
    // Plain HTTP, and a plain WebSocket, to the TLS port.
    const plain = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`http://${endpoints[0]}/status`, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(plain.status).toBe(400);
    expect(plain.body).toMatch(/accepts TLS only: use https:\/\/ or wss:\/\//);
    const ws = new WebSocket(`ws://${endpoints[0]}/client`);
    const wsStatus = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => resolve(-1));
    });
    ws.terminate();
    expect(wsStatus).toBe(400);
    expect(await state()).toEqual(before);
  }, 60_000);
});

describe('mutual TLS between peers', () => {
  /** Restarts node 3 presenting `cert`/`key`, and waits for node 1 to refuse it with `why`. */
  async function node3With(certFile: string, keyFile: string, why: RegExp): Promise<void> {
    await cluster.stop(3);
    copyFileSync(certFile, file('node-3.pem'));
    copyFileSync(keyFile, file('node-3-key.pem'));
    const logged = logOf(1).length;
    cluster.start(3);
    await waitFor(`node 1 refusing node 3 (${String(why)})`, () => why.test(logOf(1).slice(logged)) || undefined, 30_000, 100);
  }

  it("a node presenting another node's certificate, or one from another CA, is refused; its own lets it back in", async () => {
    const own = { cert: join(strangerDir, 'own-node-3.pem'), key: join(strangerDir, 'own-node-3-key.pem') };
    copyFileSync(file('node-3.pem'), own.cert);
    copyFileSync(file('node-3-key.pem'), own.key);
    await node3With(file('node-2.pem'), file('node-2-key.pem'), /refused peer connection.*names node 2, not node 3/);
    // The majority serves on; the impostor takes no part in it.
    const client = await connect({ endpoints: cluster.endpoints.slice(0, 2), tls: clientTls() });
    try {
      await client.counter('tls/peers').add(1);
      const leader = await cluster.waitForLeader([1, 2], 20_000);
      const lead = await cluster.status(leader.id);
      const third = await cluster.status(3);
      expect(third === undefined || third.applied < (lead?.applied ?? 0)).toBe(true);

      await node3With(stranger.nodes[2]?.cert as string, stranger.nodes[2]?.key as string, /refused peer connection.*not verified/);
      await client.counter('tls/peers').add(1);
      const again = await cluster.status(3);
      const leadNow = await cluster.status(leader.id);
      expect(again === undefined || again.applied < (leadNow?.applied ?? 0)).toBe(true);

      await cluster.stop(3);
      copyFileSync(own.cert, file('node-3.pem'));
      copyFileSync(own.key, file('node-3-key.pem'));
      cluster.start(3);
      const target = (await cluster.status(leader.id))?.applied ?? 0;
      await waitFor(
        'node 3 caught up with its own certificate',
        async () => ((await cluster.status(3))?.applied ?? 0) >= target || undefined,
        30_000,
      );
    } finally {
      await client.close();
    }
  }, 120_000);
});

describe('certificate reload', () => {
  it('certificates replaced on disk are used for new connections, SIGHUP reloads at once, and no election happens', async () => {
    const leader = await cluster.waitForLeader(cluster.ids, 20_000);
    const elections = await cluster.elections();
    const logged = cluster.ids.map((id) => logOf(id).length);
    const old = new X509Certificate(readFileSync(file('node-1.pem'))).fingerprint256;
    const renew = await runCli(['certs', 'init', '--nodes', '3', '--out', certs, '--reuse-ca', '--force']);
    expect(renew.code, renew.stderr).toBe(0);
    const fresh = new X509Certificate(readFileSync(file('node-1.pem'))).fingerprint256;
    expect(fresh).not.toBe(old);
    for (const [k, id] of cluster.ids.entries())
      await waitFor(`node ${id} reloading`, () => /tls certificates reloaded/.test(logOf(id).slice(logged[k])) || undefined, 20_000, 100);
    // A new connection is served with the new certificate.
    const served = await new Promise<string>((resolve, reject) => {
      const [host, port] = (cluster.endpoints[0] as string).split(':');
      const s = tlsConnect({ host, port: Number(port), ca: clientTls().ca, cert: clientTls().cert, key: clientTls().key }, () => {
        resolve(s.getPeerCertificate().fingerprint256);
        s.end();
      });
      s.on('error', reject);
    });
    expect(served).toBe(fresh);
    const client: RaftlockClient = await connect({ endpoints: cluster.endpoints, tls: clientTls() });
    try {
      await client.counter('tls/reload').add(1);
    } finally {
      await client.close();
    }
    // SIGHUP reloads at once, without a change on disk.
    const pid = (await cluster.status(2))?.pid;
    expect(pid).toBeGreaterThan(0);
    const before = logOf(2).length;
    process.kill(pid as number, 'SIGHUP');
    await waitFor(
      'node 2 reloading on SIGHUP',
      () => /tls certificates reloaded.*"why":"SIGHUP"/.test(logOf(2).slice(before)) || undefined,
      20_000,
      100,
    );
    expect(await cluster.elections()).toBe(elections);
    expect((await cluster.waitForLeader(cluster.ids, 20_000)).term).toBe(leader.term);
  }, 60_000);
});

describe('the shipped TLS configuration', () => {
  it('cluster-configs/three-node-tls.json with `certs init` certificates: cluster up, then status over HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-tls-shipped-'));
    let up: ChildProcess | undefined;
    try {
      // The shipped file on free ports, beside the certs/ folder its relative paths name.
      const shipped = JSON.parse(readFileSync(join(REPO, 'cluster-configs/three-node-tls.json'), 'utf8')) as Record<string, unknown>;
      const ports = await freePorts(3);
      const config = {
        ...shipped,
        dataDir: join(dir, 'data'),
        nodes: ports.map((port, k) => ({ id: k + 1, address: `127.0.0.1:${port}` })),
      };
      writeFileSync(join(dir, 'three-node-tls.json'), JSON.stringify(config));
      const made = await runCli(['certs', 'init', '--nodes', '3', '--out', join(dir, 'certs')]);
      expect(made.code, made.stderr).toBe(0);
      up = spawn(process.execPath, ['--import', 'tsx', CLI, 'cluster', 'up', '--config', join(dir, 'three-node-tls.json')], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      up.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
      up.stderr?.resume();
      await waitFor(
        'cluster ready',
        () => /^cluster ready: leader is node \d/m.test(out) || up?.exitCode !== null || undefined,
        60_000,
        100,
      );
      expect(out).toMatch(/^cluster ready/m);
      expect(out).toContain(`--cacert ${join(dir, 'certs/ca.pem')}`);
      const endpoints = ports.map((p) => `127.0.0.1:${p}`).join(',');
      const status = await runCli(['status', '--endpoints', endpoints, '--cacert', join(dir, 'certs/ca.pem'), '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect((JSON.parse(status.stdout) as Array<{ reachable: boolean }>).every((r) => r.reachable)).toBe(true);
      const plain = await runCli(['status', '--endpoints', endpoints, '--json']);
      expect(plain.code).toBe(1);
      expect(plain.stdout).toMatch(/accepts TLS only/);
    } finally {
      if (up !== undefined && up.exitCode === null) {
        up.kill('SIGINT');
        await new Promise((r) => up?.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
