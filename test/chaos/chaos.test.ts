/**
 * The chaos run in CI (docs/testing.md#chaos), driven through its entry point as a user
 * runs it (`npm run chaos`, here `tsx scripts/chaos.ts`): a 30-second 3-node run with the kill,
 * pause and partition nemeses and all five workloads (counters, locks, semaphores, readers-writer
 * locks, elections) must pass (histories linearizable, no stale write through the fenced
 * resources, replicas converged, a leader within 3 s of the last heal, every client working after
 * it); and the negative control (docs/testing.md#negative-controls), the same kind of run with
 * fencing off under client pauses, must report the stale writes: of the locks, of the semaphores
 * and leaders (a write recorded as fenced while its permit or leadership was gone) and of the
 * readers-writer locks (stale writes and reads through their resource), each workload failing on
 * its own. With the
 * membership nemesis (docs/operations.md#chaos-runs), a 30-second run that adds, removes and
 * replaces nodes among kills and partitions must pass the same checks, over the final members;
 * its negative control restarts the removed nodes and includes them in the state-hash check,
 * which must then fail. On real partitions (`--network netns`: a namespace per node, nftables
 * cuts; docs/operations.md#chaos-runs), a 5-node run with the same nemeses must pass the same
 * checks and leave no namespace behind, also when interrupted; its negative control runs one
 * 8 s partition without peer-link liveness, which must fail the availability checks (and pass
 * with it, same seed). Skipped, with the reason, where namespaces are unavailable (not root, no
 * `nft`). Seeds are fixed (or `CHAOS_SEED`) and
 * printed; a failed run's records stay in its temporary folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Anomaly, NemesisEvent } from '../../scripts/lib/chaos/types.js';
import { netnsUnavailable } from '../../scripts/lib/netns.js';
import { waitFor } from '../../scripts/lib/wait.js';
import { runChaos, type ChaosRun } from './run-chaos.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const NO_NETNS = netnsUnavailable();

/** The tag of the namespace network a run's log names (`network rlkXXXX: …`). */
function networkTag(log: string): string | undefined {
  return /network (rlk[0-9a-f]{4}):/.exec(log)?.[1];
}

/** What is left of the network tagged `tag`: namespaces, links and its state file. */
function leftovers(tag: string): string[] {
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
  return [
    ...netns
      .split('\n')
      .filter((l) => l.startsWith(`${tag}-`))
      .map((l) => `namespace ${l.split(' ')[0]}`),
    ...links
      .split('\n')
      .filter((l) => l.includes(tag))
      .map((l) => `link ${l.split(':')[1]?.trim()}`),
    ...(existsSync(`/tmp/raftlock-netns/${tag}.json`) ? [`state file /tmp/raftlock-netns/${tag}.json`] : []),
  ];
}

/**
 * What is left of the network `tag` once the kernel had time to free it (a namespace goes, with
 * its links, when its last process has died): empty, or the leftovers after 15 s.
 */
async function noLeftovers(tag: string): Promise<string[]> {
  return waitFor(`network ${tag} gone`, () => leftovers(tag).length === 0, 15_000).then(
    () => [],
    () => leftovers(tag),
  );
}

const chaos = (name: string, args: readonly string[], limitMs: number): Promise<ChaosRun> => runChaos(name, args, limitMs);

describe('chaos', () => {
  it('30 s, 3 nodes, kill + pause + partition, all five workloads: linearizable, fenced, converged, leader after heal', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 30);
    const r = await chaos(
      'ci',
      [
        '--nodes',
        '3',
        '--duration',
        '30s',
        '--nemesis',
        'kill,pause,partition',
        '--workload',
        'counters,locks,semaphores,rwlocks,elections',
        '--clients',
        '10',
        '--seed',
        String(seed),
      ],
      170_000,
    );
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}\n${JSON.stringify(s.anomalies, null, 1)}`;
    expect(s.anomalies, context).toEqual([]);
    expect(s.verdict, context).toBe('pass');
    expect(r.code, context).toBe(0);
    expect(s.workloadVerdicts, context).toEqual({
      counters: 'pass',
      locks: 'pass',
      semaphores: 'pass',
      rwlocks: 'pass',
      elections: 'pass',
    });
    expect(s.faults, context).toBeGreaterThanOrEqual(5);
    expect(s.ops.checked, context).toBeGreaterThan(1_000);
    expect(s.hashesEqual, context).toBe(true);
    expect(s.resource.accepted, context).toBeGreaterThan(0);
    // The semaphore and readers-writer lock checks had something to check: grants, fenced
    // writes the cluster applied under them, reads and writes the resource took.
    const sem = s.semaphores;
    const rw = s.rwlocks;
    expect(sem?.writes.fenced, context).toBe(true);
    expect(sem?.acquires.granted ?? 0, context).toBeGreaterThan(20);
    expect(sem?.writes.applied ?? 0, context).toBeGreaterThan(40);
    expect(rw?.acquires.granted ?? 0, context).toBeGreaterThan(20);
    expect(rw?.resource.readsAccepted ?? 0, context).toBeGreaterThan(0);
    expect(rw?.resource.writesAccepted ?? 0, context).toBeGreaterThan(0);
    // The election check had leaders that proclaimed, were read and wrote fenced.
    const el = s.elections;
    expect(el?.acquires.granted ?? 0, context).toBeGreaterThan(20);
    expect(el?.proclaims.ok ?? 0, context).toBeGreaterThan(5);
    expect(el?.reads ?? 0, context).toBeGreaterThan(5);
    expect(el?.writes.applied ?? 0, context).toBeGreaterThan(5);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);

  it('20 s over TLS, 3 nodes, kill + pause + partition: every check holds with mutual TLS between peers and wss:// clients', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 31);
    const r = await chaos(
      'tls',
      [
        '--nodes',
        '3',
        '--duration',
        '20s',
        '--nemesis',
        'kill,pause,partition',
        '--workload',
        'counters,locks',
        '--clients',
        '6',
        '--seed',
        String(seed),
        '--tls',
      ],
      170_000,
    );
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}\n${JSON.stringify(s.anomalies, null, 1)}`;
    expect(s.tls, context).toBe(true);
    expect(s.anomalies, context).toEqual([]);
    expect(s.verdict, context).toBe('pass');
    expect(r.code, context).toBe(0);
    expect(s.faults, context).toBeGreaterThanOrEqual(3);
    expect(s.ops.checked, context).toBeGreaterThan(500);
    expect(s.hashesEqual, context).toBe(true);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);

  it('30 s, 3 nodes, membership + kill + partition: nodes added, removed and replaced, every check holding', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 33);
    const r = await chaos(
      'membership',
      [
        '--nodes',
        '3',
        '--duration',
        '30s',
        '--nemesis',
        'membership,kill,partition',
        '--workload',
        'counters,locks',
        '--clients',
        '8',
        '--seed',
        String(seed),
      ],
      170_000,
    );
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}\n${JSON.stringify(s.anomalies, null, 1)}`;
    expect(s.anomalies, context).toEqual([]);
    expect(s.verdict, context).toBe('pass');
    expect(r.code, context).toBe(0);
    expect(s.ops.checked, context).toBeGreaterThan(1_000);
    expect(s.resource.accepted, context).toBeGreaterThan(0);
    // Every kind of change committed at least once, as the fault windows record it.
    const events = JSON.parse(readFileSync(join(r.out, 'nemesis.json'), 'utf8')) as NemesisEvent[];
    for (const kind of ['member-add', 'member-remove', 'member-replace'] as const)
      expect(events.filter((e) => e.kind === kind && e.outcome === 'committed').length, `${kind} committed; ${context}`).toBeGreaterThan(0);
    // The other faults ran too, and every change attempt has an outcome.
    expect(events.filter((e) => e.kind === 'kill' || e.kind === 'partition').length, context).toBeGreaterThan(0);
    expect(
      events.filter((e) => e.kind.startsWith('member-') && e.outcome === undefined),
      context,
    ).toEqual([]);
    // The state hashes compared are those of the final members: 3 to 5 of them, no removed node.
    const m = s.membership;
    expect(m, context).toBeDefined();
    if (m === undefined) return;
    expect(m.committed.add + m.committed.remove + m.committed.replace, context).toBeGreaterThanOrEqual(3);
    expect(m.removed.length, context).toBeGreaterThanOrEqual(2); // one remove, one replace at least
    expect(
      m.final.filter((id) => m.removed.includes(id)),
      context,
    ).toEqual([]);
    expect(m.final.length, context).toBeGreaterThanOrEqual(3);
    expect(m.final.length, context).toBeLessThanOrEqual(5);
    expect(Object.keys(s.stateHashes).map(Number).sort(), context).toEqual([...m.final].sort());
    expect(s.hashesEqual, context).toBe(true);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);

  it('negative control: a state-hash check that includes the removed nodes fails', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? 34);
    const r = await chaos(
      'check-removed',
      [
        '--nodes',
        '3',
        '--duration',
        '15s',
        '--nemesis',
        'membership',
        '--workload',
        'counters',
        '--clients',
        '4',
        '--seed',
        String(seed),
        '--check-removed',
      ],
      170_000,
    );
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}\n${JSON.stringify(s.anomalies, null, 1)}`;
    const removed = s.membership?.removed ?? [];
    expect(removed.length, context).toBeGreaterThan(0);
    expect(s.verdict, context).toBe('fail');
    expect(r.code, context).toBe(1);
    // Only that check fails, and on the removed nodes: they were compared and left behind.
    expect(
      s.anomalies.map((a) => a.kind),
      context,
    ).toEqual(['replicas-diverged']);
    for (const id of removed) expect(Object.keys(s.stateHashes), context).toContain(String(id));
    expect(s.hashesEqual, context).toBe(false);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);

  it('negative control: with fencing off, client pauses let stale lock, semaphore, readers-writer lock holders and leaders write, and each workload fails', async () => {
    // One run for the three workloads: the runs cost about 45 s each, and the pauses reach
    // every kind of holder in one as well as in three.
    const seed = Number(process.env.CHAOS_SEED ?? 31);
    const r = await chaos(
      'no-fencing',
      [
        '--nodes',
        '3',
        '--duration',
        '20s',
        '--nemesis',
        'pause',
        '--workload',
        'locks,semaphores,rwlocks,elections',
        '--clients',
        '16',
        '--seed',
        String(seed),
        '--no-fencing',
      ],
      170_000,
    );
    const s = r.summary;
    const context = `seed ${seed}, records in ${r.out}\n${r.log}\n${JSON.stringify(s.anomalies, null, 1)}`;
    expect(s.verdict, context).toBe('fail');
    expect(r.code, context).toBe(1);
    expect(s.fencing, context).toBe(false);
    expect(s.semaphores?.writes.fenced, context).toBe(false);
    // Each workload fails on its own check: a lock holder's stale write; a semaphore write
    // recorded as fenced and applied while its holder no longer held the permit (not
    // linearizable against the semaphore model); stale writes or reads through the
    // readers-writer locks' resource.
    expect(s.workloadVerdicts, context).toEqual({ locks: 'fail', semaphores: 'fail', rwlocks: 'fail', elections: 'fail' });
    const of = (w: string): Anomaly[] => s.anomalies.filter((a) => a.workload === w);
    expect(of('locks').length, context).toBeGreaterThan(0);
    for (const a of of('locks')) expect(a.kind, context).toBe('stale-write');
    expect(of('semaphores').length, context).toBeGreaterThan(0);
    for (const a of of('semaphores')) {
      expect(a.kind, context).toBe('not-linearizable');
      expect(a.key, context).toMatch(/^sem-/);
    }
    expect(of('rwlocks').length, context).toBeGreaterThan(0);
    for (const a of of('rwlocks')) {
      expect(['stale-write', 'stale-read'], context).toContain(a.kind);
      expect(a.key, context).toMatch(/^rw-/);
    }
    // A deposed leader's unfenced write, recorded as fenced, cannot be placed in the election's history.
    expect(of('elections').length, context).toBeGreaterThan(0);
    for (const a of of('elections')) {
      expect(a.kind, context).toBe('not-linearizable');
      expect(a.key, context).toMatch(/^elec-/);
    }
    // Nothing else: the cluster itself stayed correct and available.
    expect(
      s.anomalies.filter((a) => !['locks', 'semaphores', 'rwlocks', 'elections'].includes(a.workload ?? '')),
      context,
    ).toEqual([]);
    rmSync(r.out, { recursive: true, force: true });
  }, 180_000);

  it.skipIf(NO_NETNS !== undefined)(
    `60 s, 5 nodes, real partitions (--network netns), kill + pause + partition: every check holding, no namespace left${NO_NETNS !== undefined ? ` (skipped: ${NO_NETNS})` : ''}`,
    async () => {
      const seed = Number(process.env.CHAOS_SEED ?? 35);
      const r = await chaos(
        'netns',
        [
          '--network',
          'netns',
          '--nodes',
          '5',
          '--duration',
          '60s',
          '--nemesis',
          'kill,pause,partition',
          '--workload',
          'counters,locks',
          '--clients',
          '8',
          '--seed',
          String(seed),
        ],
        290_000,
      );
      const s = r.summary;
      const context = `seed ${seed}, records in ${r.out}\n${r.log}\n${JSON.stringify(s.anomalies, null, 1)}`;
      expect(s.anomalies, context).toEqual([]);
      expect(s.verdict, context).toBe('pass');
      expect(r.code, context).toBe(0);
      expect(s.nodes, context).toBe(5);
      expect(s.ops.checked, context).toBeGreaterThan(1_000);
      expect(s.hashesEqual, context).toBe(true);
      expect(s.resource.accepted, context).toBeGreaterThan(0);
      // The nodes ran in the namespaces (their addresses are the network's, not loopback) and
      // partitions were among the faults.
      expect(r.log, context).toMatch(/cluster of 5 up \(netns network\): (10\.213\.\d+\.\d+:\d+,?){5}/);
      const events = JSON.parse(readFileSync(join(r.out, 'nemesis.json'), 'utf8')) as NemesisEvent[];
      expect(events.filter((e) => e.kind === 'partition').length, context).toBeGreaterThan(0);
      const tag = networkTag(r.log);
      expect(tag, context).toBeDefined();
      expect(await noLeftovers(tag ?? ''), context).toEqual([]);
      rmSync(r.out, { recursive: true, force: true });
    },
    300_000,
  );

  it.skipIf(NO_NETNS !== undefined)(
    `negative control: without link liveness, an 8 s partition leaves links dead past the heal and the availability check fails; with it, the same run passes${NO_NETNS !== undefined ? ` (skipped: ${NO_NETNS})` : ''}`,
    async () => {
      const seed = Number(process.env.CHAOS_SEED ?? 41);
      // One long partition, healed by the run's end: the final heal is what the rejoin bar judges.
      const args = (liveness: boolean): string[] => [
        '--network',
        'netns',
        '--nodes',
        '3',
        '--duration',
        '10s',
        '--nemesis',
        'partition',
        '--partition-ms',
        '8000',
        '--workload',
        'counters,locks',
        '--clients',
        '4',
        '--seed',
        String(seed),
        ...(liveness ? [] : ['--no-link-liveness']),
      ];
      const off = await chaos('no-link-liveness', args(false), 170_000);
      const offContext = `seed ${seed}, records in ${off.out}\n${off.log}\n${JSON.stringify(off.summary.anomalies, null, 1)}`;
      expect(off.summary.verdict, offContext).toBe('fail');
      expect(off.code, offContext).toBe(1);
      expect(off.summary.linkLiveness, offContext).toBe(false);
      // Only availability fails: the cluster itself stayed correct.
      const kinds = new Set(off.summary.anomalies.map((a) => a.kind));
      expect(
        [...kinds].filter((k) => !['slow-rejoin', 'client-no-progress', 'no-leader-after-heal'].includes(k)),
        offContext,
      ).toEqual([]);
      expect(kinds.has('slow-rejoin'), offContext).toBe(true);
      expect(off.summary.hashesEqual, offContext).toBe(true);

      const on = await chaos('link-liveness', args(true), 170_000);
      const onContext = `seed ${seed}, records in ${on.out}\n${on.log}\n${JSON.stringify(on.summary.anomalies, null, 1)}`;
      expect(on.summary.anomalies, onContext).toEqual([]);
      expect(on.summary.verdict, onContext).toBe('pass');
      expect(on.summary.linkLiveness, onContext).toBe(true);
      // The same faults in both runs (same seed), so the difference is the liveness.
      const faults = (r: ChaosRun): string[] =>
        (JSON.parse(readFileSync(join(r.out, 'nemesis.json'), 'utf8')) as NemesisEvent[]).map((e) => e.description);
      expect(faults(on), onContext).toEqual(faults(off));
      for (const r of [off, on]) rmSync(r.out, { recursive: true, force: true });
    },
    360_000,
  );

  it.skipIf(NO_NETNS !== undefined)(
    `a netns run interrupted (SIGTERM) mid-run leaves no namespace, link or state file behind${NO_NETNS !== undefined ? ` (skipped: ${NO_NETNS})` : ''}`,
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'raftlock-chaos-netns-interrupted-'));
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(REPO, 'scripts/chaos.ts'),
          '--network',
          'netns',
          '--nodes',
          '3',
          '--duration',
          '60s',
          '--nemesis',
          'partition',
          '--seed',
          '36',
          '--out',
          out,
        ],
        { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let log = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      // Interrupted once a partition is in force: nodes running in the namespaces, a cut set.
      const interrupted = await new Promise<boolean>((resolve) => {
        const limit = setTimeout(() => resolve(false), 120_000);
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          log += d;
          if (/fault \d+ at [\d.]+s: partition/.test(log)) {
            clearTimeout(limit);
            resolve(true);
          }
        });
      });
      child.kill('SIGTERM');
      const code = await exited;
      const context = `records in ${out}\n${log}`;
      expect(interrupted, context).toBe(true);
      expect(code, context).toBe(143);
      const tag = networkTag(log);
      expect(tag, context).toBeDefined();
      expect(await noLeftovers(tag ?? ''), context).toEqual([]);
      rmSync(out, { recursive: true, force: true });
    },
    180_000,
  );
});
