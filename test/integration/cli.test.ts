/**
 * The CLI as an operator uses it: `cluster up` supervising child processes, `status` reading
 * them, SIGINT stopping everything; and a leader stopped with SIGTERM handing leadership over;
 * a bad configuration refused with every problem at once, each at its line and column.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { CLI, REPO, runCli } from './support/cli.js';

let cluster: ProcessCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

describe('raftlock CLI', () => {
  it('cluster up starts and supervises the nodes, status shows them, SIGINT stops them all', async () => {
    cluster = await ProcessCluster.create({ nodes: 3 }); // only for its config file and ports
    const c = cluster;
    const up = spawn(process.execPath, ['--import', 'tsx', CLI, 'cluster', 'up', '--config', c.configPath], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    up.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    up.stderr.resume();
    const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
    try {
      await waitFor('cluster ready', () => (/cluster ready: leader is node \d/.test(out) ? true : undefined), 30_000);
      const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
      expect(pids.length).toBe(3);
      const endpoints = c.ids.map((id) => c.address(id)).join(',');
      const table = await runCli(['status', '--endpoints', endpoints]);
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+ADDRESS\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+LAG\s+REACHABLE/);
      expect(table.stdout.match(/ leader /g)?.length).toBe(1);
      const json = await runCli(['status', '--endpoints', endpoints, '--json']);
      const rows = JSON.parse(json.stdout) as Array<{ reachable: boolean }>;
      expect(rows.filter((r) => r.reachable).length).toBe(3);

      up.kill('SIGINT');
      expect(await exited).toBe(0);
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(); // every node is gone
      const down = await runCli(['status', '--endpoints', endpoints]);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/no node reachable/);
    } finally {
      if (up.exitCode === null) up.kill('SIGKILL');
    }
  });

  it('a leader stopped with SIGTERM hands leadership over before exiting', async () => {
    cluster = await ProcessCluster.create({ nodes: 3, tickMs: 50 });
    cluster.startAll();
    const leader = await cluster.waitForLeader(cluster.ids, 30_000);
    await cluster.kill(leader.id, 'SIGTERM');
    expect(cluster.logTail(leader.id, 50)).toMatch(/handing leadership over/);
    expect(cluster.logTail(leader.id, 50)).toMatch(/node stopped/);
    const rest = cluster.ids.filter((id) => id !== leader.id);
    const next = await cluster.waitForLeader(rest, 3000);
    expect(next.term).toBe(leader.term + 1); // one election: the transfer, not a timeout storm
  });

  it('a bad configuration is refused with the key named, and a non-zero exit', async () => {
    cluster = await ProcessCluster.create({ nodes: 3 });
    const bad = join(cluster.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ clusterId: 'x', nodes: [{ id: 1, address: '127.0.0.1:1' }], dataDir: 'd', tickMS: 5 }));
    const r = await runCli(['start', '--config', bad, '--id', '1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/tickMS: unknown key/);
  });

  it('a configuration with several problems: all printed at once, each as file:line:column, then exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftlock-cli-config-'));
    try {
      const bad = join(dir, 'cluster.json');
      writeFileSync(
        bad,
        '{\n  "clusterId": "x",\n  "nodes": [{ "id": 1, "adress": "127.0.0.1:7801" }],\n  "dataDir": "d",\n  "tickMS": 5\n}\n',
      );
      const r = await runCli(['start', '--config', bad, '--id', '1']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        `raftlock: ${bad} has 3 problems:`,
        `  ${bad}:3:13: nodes[0].address: must be "host:port", but it is missing`,
        `  ${bad}:3:24: nodes[0].adress: unknown key; did you mean "address"?`,
        `  ${bad}:5:3: tickMS: unknown key; did you mean "tickMs"?`,
      ]);

      writeFileSync(bad, '{\n  "clusterId": "x",\n  "dataDir": "d"\n  "tickMs": 5\n}\n');
      const syntax = await runCli(['start', '--config', bad, '--id', '1']);
      expect(syntax.code).toBe(1);
      expect(syntax.stderr).toContain(`raftlock: ${bad}:4:3: not valid JSON: expected ',' or '}' after the value of "dataDir"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('status with no node reachable says how to start a cluster as an installed user would', async () => {
    // A port no test of this file listens on.
    const r = await runCli(['status', '--endpoints', '127.0.0.1:7898']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'raftlock status: no node reachable at 127.0.0.1:7898; is the cluster running (`raftlock cluster up`, or `npm start` in a raftlock checkout)?\n',
    );
  });
});
