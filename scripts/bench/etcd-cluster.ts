/**
 * A 3-member etcd cluster for the comparison, from Debian's `etcd-server` package (etcd 3.4):
 * free loopback client and peer ports, data in a fresh temporary directory, etcd's defaults
 * otherwise (fsync on: `--unsafe-no-fsync` is not passed; heartbeat 100 ms, election 1,000 ms),
 * stopped by the PIDs recorded at start. etcd is never a runtime dependency of raftlock.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../lib/ports.js';
import { ServerProcess } from '../lib/processes.js';
import { waitFor } from '../lib/wait.js';

/** What to tell a user whose machine has no etcd. */
export const ETCD_INSTALL_HINT = [
  'etcd is not installed, so the etcd target is skipped.',
  'To compare with etcd, install etcd 3.4 from Debian/Ubuntu and run again:',
  '  sudo apt-get update && sudo apt-get install -y etcd-server etcd-client',
  'Where apt may start the packaged service on 2379/2380, stop it (e.g. `sudo systemctl disable --now etcd`):',
  'the benchmark starts its own 3 members on free loopback ports. Elsewhere, put an etcd 3.4+ binary',
  'on PATH or name it with ETCD_BIN=/path/to/etcd. The etcd3 npm client is a devDependency (`npm install`).',
].join('\n');

/** The etcd binary: `$ETCD_BIN`, else `/usr/bin/etcd` (Debian), else `etcd` on PATH; undefined if none. */
export function findEtcd(): { bin: string; version: string } | undefined {
  const explicit = process.env.ETCD_BIN;
  const candidates = explicit !== undefined && explicit !== '' ? [explicit] : ['/usr/bin/etcd', 'etcd'];
  for (const bin of candidates) {
    if (bin.includes('/') && !existsSync(bin)) continue;
    try {
      const out = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
      const version = /etcd Version:\s*(\S+)/.exec(out)?.[1] ?? out.split('\n')[0] ?? 'unknown';
      const go = /Go Version:\s*(\S+)/.exec(out)?.[1];
      return { bin, version: go !== undefined ? `${version} (${go})` : version };
    } catch {
      // not this one
    }
  }
  return undefined;
}

export class EtcdCluster {
  private readonly procs: ServerProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly bin: string,
    readonly version: string,
    /** `127.0.0.1:port` client addresses. */
    readonly endpoints: readonly string[],
  ) {}

  static async start(etcd: { bin: string; version: string }, log: (line: string) => void, members = 3): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-bench-'));
    const ports = await freePorts(members * 2);
    const client = ports.slice(0, members);
    const peer = ports.slice(members);
    const names = client.map((_, i) => `m${i + 1}`);
    const initial = names.map((n, i) => `${n}=http://127.0.0.1:${String(peer[i])}`).join(',');
    const cluster = new EtcdCluster(
      dir,
      etcd.bin,
      etcd.version,
      client.map((p) => `127.0.0.1:${p}`),
    );
    try {
      names.forEach((name, i) => {
        const c = `http://127.0.0.1:${String(client[i])}`;
        const p = `http://127.0.0.1:${String(peer[i])}`;
        cluster.procs.push(
          ServerProcess.start(
            `etcd ${name}`,
            etcd.bin,
            [
              '--name',
              name,
              '--data-dir',
              join(dir, name),
              '--listen-client-urls',
              c,
              '--advertise-client-urls',
              c,
              '--listen-peer-urls',
              p,
              '--initial-advertise-peer-urls',
              p,
              '--initial-cluster',
              initial,
              '--initial-cluster-token',
              `raftlock-bench-${process.pid}`,
              '--initial-cluster-state',
              'new',
              '--logger',
              'zap',
              '--log-outputs',
              'stderr',
              '--log-level',
              'warn',
            ],
            join(dir, `${name}.log`),
          ),
        );
      });
      await waitFor(
        'every etcd member to report healthy',
        async () => {
          for (const p of cluster.procs)
            if (!p.running) throw new Error(`${p.label} exited during start-up; log ${p.logFile}:\n${p.logTail()}`);
          const ok = await Promise.all(
            cluster.endpoints.map(async (e) => {
              try {
                const res = await fetch(`http://${e}/health`, { signal: AbortSignal.timeout(2_000) });
                return res.ok && ((await res.json()) as { health?: string }).health === 'true';
              } catch {
                return false;
              }
            }),
          );
          return ok.every(Boolean) ? true : undefined;
        },
        30_000,
        200,
      );
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    log(`etcd up: pids ${cluster.pids.join(' ')}`);
    return cluster;
  }

  get pids(): number[] {
    return this.procs.filter((p) => p.running).map((p) => p.pid);
  }

  describe(): string {
    return `${this.procs.length} members on 127.0.0.1 (${this.endpoints.join(', ')}), etcd ${this.version}, default timing (heartbeat 100 ms, election 1000 ms), fsync on, data in ${this.dir}`;
  }

  deadNode(): string | undefined {
    const p = this.procs.find((x) => !x.running);
    return p === undefined ? undefined : `${p.label} is not running; log ${p.logFile}:\n${p.logTail(10)}`;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop(10_000)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
