/**
 * Membership changes on real processes (docs/operations.md#changing-the-members), through the CLI
 * as an operator runs them: a 3-node cluster grows to 5 with `start --join` and `member add`,
 * removes its leader, shrinks back to 3, while a client keeps adding to a counter. Each increment
 * is a distinct power of two, so the final value shows none was lost or applied twice; the
 * remaining members must converge on one state digest. An SDK client given only the first
 * leader's address learns the other members and outlives that node's removal. A machine whose
 * disk died is replaced by a new node with `member replace`. A node whose data directory was
 * wiped is refused under its old id (docs/design.md#data-identity) until it is removed and
 * added again.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';
import type { NodeStatus } from '../../src/protocol/index.js';
import type { MembersView } from '../../src/server/member-routes.js';
import { connect, type RaftlockClient } from '../../src/client/index.js';
import { runCli } from './support/cli.js';
import { CounterWriter } from './support/counter-writer.js';
import { statusAt } from './support/status.js';

/** Resolves once every node at `addresses` answers with one applied index and digest. */
async function converged(what: string, addresses: readonly string[]): Promise<void> {
  await waitFor(
    what,
    async () => {
      const sts = await Promise.all(addresses.map((a) => statusAt(a)));
      if (sts.some((st) => st === undefined)) return undefined;
      return new Set(sts.map((st) => `${st?.applied}/${st?.digest}`)).size === 1 ? true : undefined;
    },
    20_000,
  );
}

/**
 * A running 3-node cluster, its first leader, and `write`, which adds each delta through the
 * shared {@link CounterWriter} and keeps the sum the counter must show.
 */
async function writingCluster(): Promise<{
  c: ProcessCluster;
  leader: NodeStatus;
  write: (...deltas: number[]) => Promise<void>;
  expected: () => number;
}> {
  const c = await ProcessCluster.create({ nodes: 3 });
  cluster = c;
  c.startAll();
  const leader = await c.waitForLeader(c.ids, 15_000);
  const w = new CounterWriter(c);
  writer = w;
  let sum = 0;
  const write = async (...deltas: number[]): Promise<void> => {
    for (const delta of deltas) {
      await w.add(delta);
      sum += delta;
    }
  };
  return { c, leader, write, expected: () => sum };
}

let cluster: ProcessCluster | undefined;
let writer: CounterWriter | undefined;
let sdk: RaftlockClient | undefined;
afterEach(async () => {
  await sdk?.close();
  sdk = undefined;
  writer?.close();
  writer = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

describe('membership changes on real processes', () => {
  it('grows 3 → 5, removes the leader, shrinks to 3: no write lost or doubled, members converge', { timeout: 240_000 }, async () => {
    const c = await ProcessCluster.create({ nodes: 3 });
    cluster = c;
    c.startAll();
    await c.waitForLeader(c.ids, 15_000);
    const [p4, p5] = await freePorts(2);
    const address = new Map<number, string>([
      ...c.ids.map((id) => [id, c.address(id)] as const),
      [4, `127.0.0.1:${p4}`],
      [5, `127.0.0.1:${p5}`],
    ]);
    const endpoints = (ids: readonly number[]): string => ids.map((id) => address.get(id)).join(',');
    const member = async (...args: string[]): Promise<MembersView> => {
      const r = await runCli(['member', ...args, '--json', '--endpoints', endpoints([...address.keys()])]);
      expect(r.code, `member ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as MembersView;
    };

    writer = new CounterWriter(c);
    let expected = 0;
    let next = 0;
    const write = async (n: number): Promise<void> => {
      for (let k = 0; k < n; k++) {
        const delta = 2 ** (next++ % 40);
        await writer?.add(delta);
        expected += delta;
      }
    };
    await write(5);

    // Grow: each new node starts with --join (no configuration of its own), then is added.
    for (const id of [4, 5]) {
      c.startExtra(100 + id, c.configPath, id, ['--join', endpoints(c.ids), '--address', address.get(id) ?? '']);
      const view = await member('add', '--id', String(id), '--address', address.get(id) ?? '');
      expect(view.members.find((m) => m.id === id)).toMatchObject({ role: 'voter', address: address.get(id) });
      await write(5);
    }
    // `status` given one endpoint finds every member.
    const status = await runCli(['status', '--json', '--endpoints', endpoints([1])]);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as Array<{ status?: NodeStatus }>).map((r) => r.status?.id)).toEqual([1, 2, 3, 4, 5]);
    const five = await member('list');
    expect(five.members.map((m) => `${m.id}:${m.role}`)).toEqual(['1:voter', '2:voter', '3:voter', '4:voter', '5:voter']);
    expect(five.changePending).toBe(false);
    await waitFor(
      'every member reachable from the leader',
      async () => ((await member('list')).members.every((m) => m.reachable === true) ? true : undefined),
      20_000,
    );

    // An SDK client told of the leader alone learns the other members from it, so it keeps
    // working once that node is removed and stopped.
    const oldLeader = five.leader;
    sdk = await connect({ endpoints: [address.get(oldLeader) ?? ''], timeoutMs: 20_000 });
    expect(await sdk.counter('sdk').add(1)).toBe(1);

    // Remove the leader: it hands over once the removal commits.
    const afterRemoval = await member('remove', String(oldLeader));
    expect(afterRemoval.members.map((m) => m.id)).not.toContain(oldLeader);
    const rest = [...address.keys()].filter((id) => id !== oldLeader);
    const newLeader = await waitFor(
      'a new leader among the remaining members',
      async () => {
        const sts = await Promise.all(rest.map((id) => statusAt(address.get(id) ?? '')));
        return sts.find((s) => s?.role === 'leader')?.id;
      },
      20_000,
    );
    expect(newLeader).not.toBe(oldLeader);
    await c.stop(oldLeader <= 3 ? oldLeader : 100 + oldLeader);
    address.delete(oldLeader);
    await write(5);
    expect(await sdk.counter('sdk').add(1)).toBe(2);

    // Shrink to 3: remove one more member that is not the leader.
    const victim = [...address.keys()].find((id) => id !== newLeader) ?? 0;
    const three = await member('remove', String(victim));
    expect(three.members.length).toBe(3);
    await c.stop(victim <= 3 ? victim : 100 + victim);
    address.delete(victim);
    await write(5);

    expect(await writer.read()).toBe(expected);
    const ids = [...address.keys()];
    await waitFor(
      `members ${ids.join(',')} at one state`,
      async () => {
        const sts = await Promise.all(ids.map((id) => statusAt(address.get(id) ?? '')));
        if (sts.some((s) => s === undefined)) return undefined;
        const applied = new Set(sts.map((s) => s?.applied));
        const digests = new Set(sts.map((s) => s?.digest));
        return applied.size === 1 && digests.size === 1 ? true : undefined;
      },
      20_000,
    );
    const final = await member('list');
    expect(final.members.map((m) => m.id).sort()).toEqual(ids.sort());
  });

  it(
    'replaces a machine whose data directory was wiped: member replace adds the new node, then removes the old',
    { timeout: 180_000 },
    async () => {
      const { c, leader, write, expected } = await writingCluster();
      await write(1, 2, 4);
      // The machine of a follower dies with its disk.
      const dead = c.ids.find((id) => id !== leader.id) ?? 0;
      await c.kill(dead);
      rmSync(join(c.dir, 'data', `node-${dead}`), { recursive: true, force: true });
      const [port] = await freePorts(1);
      const fresh = `127.0.0.1:${port}`;
      const alive = c.ids.filter((id) => id !== dead).map((id) => c.address(id));
      c.startExtra(104, c.configPath, 4, ['--join', alive.join(','), '--address', fresh]);
      const r = await runCli(['member', 'replace', String(dead), '--address', fresh, '--json', '--endpoints', alive.join(',')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`replacing node ${dead} by node 4 at ${fresh}`);
      const view = JSON.parse(r.stdout) as MembersView;
      expect(view.members.map((m) => `${m.id}:${m.role}`).sort()).toEqual(
        [...c.ids.filter((id) => id !== dead), 4].sort().map((id) => `${id}:voter`),
      );
      await write(8, 16);
      expect(await writer?.read()).toBe(expected());
      // The new node holds the whole state: it converges with the others.
      await converged('the replaced cluster at one state', [...alive, fresh]);
    },
  );

  it(
    'a node restarted with a wiped data directory is refused under its old id, and rejoins once removed and added again',
    { timeout: 180_000 },
    async () => {
      const { c, leader, write, expected } = await writingCluster();
      await write(1, 2, 4);
      const wiped = c.ids.find((id) => id !== leader.id) ?? 0;
      const others = c.ids.filter((id) => id !== wiped);
      const endpoints = others.map((id) => c.address(id)).join(',');
      await c.kill(wiped);
      rmSync(join(c.dir, 'data', `node-${wiped}`), { recursive: true, force: true });
      // Back under its old id with an empty directory, as if nothing happened: it has forgotten
      // its votes and log, so the others must not count it.
      c.start(wiped);
      const logOf = (id: number): string => readFileSync(join(c.dir, 'logs', `node-${id}.log`), 'utf8');
      await waitFor(
        'both other nodes refusing the wiped node',
        () => others.every((id) => logOf(id).includes('peer refused: it runs on another data directory')),
        20_000,
      );
      await write(8, 16);
      const cut = await statusAt(c.address(wiped));
      expect(cut?.applied, 'the wiped node received nothing').toBe(0);
      expect(cut?.commit).toBe(0);

      // The documented way back: remove it, start it empty with --join, add it again.
      const removed = await runCli(['member', 'remove', String(wiped), '--json', '--endpoints', endpoints]);
      expect(removed.code, removed.stderr).toBe(0);
      await c.kill(wiped);
      rmSync(join(c.dir, 'data', `node-${wiped}`), { recursive: true, force: true });
      c.start(wiped, ['--join', endpoints, '--address', c.address(wiped)]);
      const added = await runCli([
        'member',
        'add',
        '--id',
        String(wiped),
        '--address',
        c.address(wiped),
        '--json',
        '--endpoints',
        endpoints,
      ]);
      expect(added.code, added.stderr).toBe(0);
      const view = JSON.parse(added.stdout) as MembersView;
      expect(view.members.map((m) => `${m.id}:${m.role}`).sort()).toEqual(c.ids.map((id) => `${id}:voter`));
      await write(32, 64);
      expect(await writer?.read()).toBe(expected());
      await converged(
        'the re-added node at the same state as the others',
        c.ids.map((id) => c.address(id)),
      );
    },
  );

  it(
    'a node started with --join --add-self adds itself with an admin token; with a read token it is refused and says what to do',
    {
      timeout: 180_000,
    },
    async () => {
      const c = await ProcessCluster.create({
        nodes: 3,
        clientToken: 'admin-secret',
        extraTokens: [{ name: 'reader', role: 'read', token: 'read-secret' }],
      });
      cluster = c;
      c.startAll();
      await c.waitForLeader(c.ids, 15_000);
      const [p4, p5] = await freePorts(2);
      const endpoints = c.ids.map((id) => c.address(id)).join(',');
      const list = async (): Promise<MembersView> => {
        const r = await runCli(['member', 'list', '--json', '--token', 'read-secret', '--endpoints', endpoints]);
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as MembersView;
      };
      // A read token lists the members (for --join) but may not change them.
      c.startExtra(105, c.configPath, 5, ['--join', endpoints, '--address', `127.0.0.1:${p5}`, '--add-self', '--token', 'read-secret']);
      const logOf = (slot: number): string => readFileSync(join(c.dir, 'logs', `process-${slot}.log`), 'utf8');
      await waitFor('node 5 giving up', () => logOf(105).includes('--add-self: this node was not added'), 30_000);
      expect(logOf(105)).toContain('raftlock member add');
      expect((await list()).members.map((m) => m.id)).toEqual([1, 2, 3]);
      // An admin token: added as a learner, caught up, promoted, with no operator command.
      c.startExtra(104, c.configPath, 4, ['--join', endpoints, '--address', `127.0.0.1:${p4}`, '--add-self', '--token', 'admin-secret']);
      await waitFor(
        'node 4 a voter',
        async () => ((await list()).members.some((m) => m.id === 4 && m.role === 'voter') ? true : undefined),
        60_000,
      );
      // Restarted, it finds itself a member and changes nothing.
      await c.stop(104);
      const before = (await list()).configIndex;
      c.startExtra(104, c.configPath, 4, ['--join', endpoints, '--address', `127.0.0.1:${p4}`, '--add-self', '--token', 'admin-secret']);
      await waitFor('node 4 seeing itself a member', () => logOf(104).includes('--add-self: already a member'), 30_000);
      expect((await list()).configIndex).toBe(before);
    },
  );

  it('a node that was down while a member was added catches up when that member leads', { timeout: 180_000 }, async () => {
    const { c, leader, write, expected } = await writingCluster();
    await write(1, 2);
    const away = c.ids.find((id) => id !== leader.id) ?? 0;
    await c.stop(away);
    const [p4] = await freePorts(1);
    const a4 = `127.0.0.1:${p4}`;
    const endpoints = c.ids.map((id) => c.address(id)).join(',');
    c.startExtra(104, c.configPath, 4, ['--join', endpoints, '--address', a4]);
    const added = await runCli(['member', 'add', '--id', '4', '--address', a4, '--json', '--endpoints', endpoints]);
    expect(added.code, added.stderr).toBe(0);
    const moved = await runCli(['leader', 'transfer', '4', '--json', '--endpoints', endpoints]);
    expect(moved.code, moved.stderr).toBe(0);
    await write(4, 8);
    // Back, it knows nothing of node 4, the leader: it must hear it and answer it anyway.
    c.start(away);
    await write(16);
    expect(await writer?.read()).toBe(expected());
    await converged('the node that was away at the same state as the others', [...c.ids.map((id) => c.address(id)), a4]);
  });
});
