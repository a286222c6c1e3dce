/**
 * Real processes started through the CLI (docs/testing.md#integration): elections, kill -9 of the
 * leader and of a majority, full-cluster crash, catch-up by snapshot, and garbage on /raft.
 * Deadlines are generous except where the contract states one (a leader within 3 s).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CounterWriter } from './support/counter-writer.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';

let cluster: ProcessCluster | undefined;
let writer: CounterWriter | undefined;
afterEach(async () => {
  writer?.close();
  writer = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

async function allUp(c: ProcessCluster, ids = c.ids): Promise<void> {
  await waitFor('every node answering /status', async () => ((await c.statuses(ids)).length === ids.length ? true : undefined), 30_000);
}

/** Adds `delta` to the test counter exactly once through /client; returns the entry's index. */
async function commit(c: ProcessCluster, delta: number): Promise<number> {
  writer ??= new CounterWriter(c);
  return (await writer.add(delta)).index;
}

/** Every node applied at least `index` and all report the same state digest there. */
async function converged(c: ProcessCluster, index: number, ids = c.ids): Promise<string> {
  let seen = 'no status yet';
  try {
    return await waitFor(
      `nodes ${ids.join(',')} converged at ${index}`,
      async () => {
        const sts = await c.statuses(ids);
        seen = sts.map((s) => `node ${s.id}: ${s.role} applied ${s.applied} snapshot ${s.snapshotIndex} digest ${s.digest}`).join('; ');
        if (sts.length !== ids.length) return undefined;
        const maxApplied = Math.max(...sts.map((s) => s.applied));
        if (sts.some((s) => s.applied < index || s.applied !== maxApplied)) return undefined;
        const digests = new Set(sts.map((s) => s.digest));
        return digests.size === 1 ? [...digests][0] : undefined;
      },
      20_000,
    );
  } catch (err) {
    // Say where each node stood, and what the slowest one logged, so a failure explains itself.
    const tails = ids.filter((id) => c.isRunning(id)).map((id) => `--- node ${id}:\n${c.logTail(id, 15)}`);
    throw new Error(`${(err as Error).message}; last seen: ${seen}\n${tails.join('\n')}`, { cause: err });
  }
}

/** Deltas 1, 2, 4, …: a double-applied or lost increment changes the sum detectably. */
function deltas(count: number, from = 0): number[] {
  return Array.from({ length: count }, (_, k) => 2 ** ((from + k) % 40));
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

describe('a 3-node cluster of real processes', () => {
  it('elects one leader within 3 s, re-elects within 3 s after kill -9, and the old leader catches up', async () => {
    cluster = await ProcessCluster.create({ nodes: 3 });
    cluster.startAll();
    await allUp(cluster);
    const first = await cluster.waitForLeader(cluster.ids, 3000);
    const leaders = (await cluster.statuses()).filter((s) => s.role === 'leader');
    expect(leaders.map((s) => s.id)).toEqual([first.id]);

    const datas = deltas(20);
    for (const d of datas.slice(0, 10)) await commit(cluster, d);
    await cluster.kill(first.id, 'SIGKILL');
    const rest = cluster.ids.filter((id) => id !== first.id);
    const second = await cluster.waitForLeader(rest, 3000);
    expect(second.id).not.toBe(first.id);
    for (const d of datas.slice(10)) await commit(cluster, d);

    cluster.start(first.id);
    await converged(cluster, second.commit);
    expect(await writer?.read()).toBe(sum(datas)); // every acknowledged increment, once
  });

  it('every committed entry survives kill -9 of all nodes', async () => {
    cluster = await ProcessCluster.create({ nodes: 3 });
    cluster.startAll();
    await allUp(cluster);
    await cluster.waitForLeader();
    const datas = deltas(50);
    let last = 0;
    for (const d of datas) last = await commit(cluster, d);
    writer?.close();
    await Promise.all(cluster.ids.map((id) => cluster!.kill(id, 'SIGKILL')));
    cluster.startAll();
    await allUp(cluster);
    await cluster.waitForLeader();
    await converged(cluster, last);
    expect(await writer?.read()).toBe(sum(datas));
  });

  it('a follower stopped while the leader writes past two snapshots catches up by snapshot', async () => {
    cluster = await ProcessCluster.create({ nodes: 3, snapshotEvery: 20 });
    cluster.startAll();
    await allUp(cluster);
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader.id) ?? 0;
    await cluster.kill(follower, 'SIGTERM');
    const datas = deltas(70);
    let last = 0;
    for (const d of datas) last = await commit(cluster, d);
    const lst = await cluster.status(leader.id);
    expect(lst?.snapshotIndex ?? 0).toBeGreaterThan(40); // compacted past what the follower has
    cluster.start(follower);
    await converged(cluster, last);
    expect(await writer?.read()).toBe(sum(datas));
    expect(cluster.logTail(follower, 400)).toMatch(/installing snapshot/);
  });

  it('garbage on /raft closes that connection and the node keeps serving', async () => {
    cluster = await ProcessCluster.create({ nodes: 3 });
    cluster.startAll();
    await allUp(cluster);
    await cluster.waitForLeader();
    const closed = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://${cluster?.address(1) ?? ''}/raft`);
      ws.on('open', () => {
        ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37]));
        ws.send('not a handshake');
      });
      ws.on('close', (code) => resolve(code));
      ws.on('error', () => resolve(-1));
    });
    expect(closed).not.toBe(1000);
    await commit(cluster, 1);
    expect((await cluster.statuses()).length).toBe(3);
  });
});

describe('peer authentication between real processes', () => {
  it('refuses a peer with the wrong secret or the wrong cluster id, and keeps serving', async () => {
    const secret = 'correct-horse-battery-staple';
    cluster = await ProcessCluster.create({ nodes: 3, secret });
    cluster.startAll();
    await allUp(cluster);
    await cluster.waitForLeader();
    const base = JSON.parse(readFileSync(cluster.configPath, 'utf8')) as Record<string, unknown>;
    const rogueSecret = join(cluster.dir, 'rogue-secret.json');
    const rogueCluster = join(cluster.dir, 'rogue-cluster.json');
    writeFileSync(rogueSecret, JSON.stringify({ ...base, secret: 'a-wrong-secret-of-length', dataDir: join(cluster.dir, 'rogue1') }));
    writeFileSync(rogueCluster, JSON.stringify({ ...base, clusterId: 'other', dataDir: join(cluster.dir, 'rogue2') }));
    const [p1, p2] = await freePorts(2);
    // Each rogue claims to be node 3 and dials nodes 1 and 2.
    cluster.startExtra(101, rogueSecret, 3, ['--listen', `127.0.0.1:${p1 ?? 0}`]);
    cluster.startExtra(102, rogueCluster, 3, ['--listen', `127.0.0.1:${p2 ?? 0}`]);
    const c = cluster;
    // Mutual authentication: the wrong-secret rogue cannot verify the real acceptors (nor they
    // it), so its links never come up; the wrong-cluster rogue is refused by the acceptors.
    await waitFor(
      'both rogues refused',
      () => {
        const secretRefused = /failed authentication|refused/.test(c.logTail(101, 200));
        const clusterRefused = /refused peer connection[^\n]*wrong cluster id/.test(c.logTail(1, 2000));
        return secretRefused && clusterRefused ? true : undefined;
      },
      20_000,
    );
    const rogueStatus = async (port: number | undefined): Promise<number | undefined> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port ?? 0}/status`);
        return ((await res.json()) as { leader: number }).leader;
      } catch {
        return undefined;
      }
    };
    await waitFor('rogues answering', async () =>
      (await rogueStatus(p1)) !== undefined && (await rogueStatus(p2)) !== undefined ? true : undefined,
    );
    expect(await rogueStatus(p1)).toBe(0); // never learned of a leader: no message got through
    expect(await rogueStatus(p2)).toBe(0);
    const before = (await c.status(1))?.term ?? 0;
    const index = await commit(c, 1);
    expect(index).toBeGreaterThan(1);
    expect((await c.waitForLeader(c.ids)).term).toBe(before); // no disruption from the rogues
  });
});

describe('a 5-node cluster of real processes', () => {
  it('commits with 2 nodes down, not with 3, and converges after restarts', async () => {
    cluster = await ProcessCluster.create({ nodes: 5, rawPropose: true });
    cluster.startAll();
    await allUp(cluster);
    const leader = await cluster.waitForLeader();
    await commit(cluster, 1);
    const victims = cluster.ids.filter((id) => id !== leader.id).slice(0, 2);
    for (const id of victims) await cluster.kill(id, 'SIGKILL');
    const afterTwo = await commit(cluster, 2);

    const third = cluster.ids.find((id) => id !== leader.id && !victims.includes(id)) ?? 0;
    await cluster.kill(third, 'SIGKILL');
    const survivors = cluster.ids.filter((id) => cluster?.isRunning(id));
    const r = await cluster.propose(leader.id, 'must-not-commit', 3000);
    expect('index' in r).toBe(false);
    for (const s of await cluster.statuses(survivors)) expect(s.commit).toBeLessThanOrEqual(afterTwo);

    for (const id of [...victims, third]) cluster.start(id);
    await allUp(cluster);
    await cluster.waitForLeader();
    const last = await commit(cluster, 4);
    await converged(cluster, last);
  });
});
