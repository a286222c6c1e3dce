/**
 * The same workloads on etcd, through the `etcd3` client (one `Etcd3` with all members'
 * endpoints, as a user would configure it; it spreads calls over the members and followers
 * forward writes to the leader):
 *
 * - counters: etcd has no increment. A linearizable `get` (etcd3's default, not serializable),
 *   then `Txn{ if mod_revision(k) == rev then put(k, v+1) else get(k) }`; on a conflict the
 *   else-branch's fresh value and revision feed the next Txn (no extra read), retried until it
 *   succeeds. The latency of one add includes its retries.
 * - locks: the etcd3 client's recipe, `client.lock(name).acquire()` / `.release()`: lease grant,
 *   `Txn{ if create_revision(k) == 0 then put(k, lease) }`, release = lease revoke. It is a
 *   try-lock (`EtcdLockFailedError` when held), so a worker retries at once until it holds it.
 * - get: a linearizable range read of one key.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Etcd3 } from 'etcd3';
import type * as etcd3 from 'etcd3';
import type { EtcdCluster } from './etcd-cluster.js';
import { CounterTally, LockObserver, type Check, type Target, type WorkloadName, type WorkloadRun } from './workload.js';

type Etcd3Module = typeof etcd3;

/** Loads the etcd3 client (a devDependency), or explains how to get it. */
export async function loadEtcd3(): Promise<Etcd3Module | string> {
  try {
    return await import('etcd3');
  } catch {
    return 'the etcd3 npm client is missing: run `npm install` (it is a devDependency of raftlock)';
  }
}

export class EtcdTarget implements Target {
  readonly name = 'etcd' as const;
  private rows = 0;

  private constructor(
    readonly cluster: EtcdCluster,
    private readonly mod: Etcd3Module,
    private readonly client: Etcd3,
    private readonly clientVersion: string,
    /** A try-lock loop gives up this long after the measured window ends. */
    private readonly deadline: () => number,
  ) {}

  static async start(cluster: EtcdCluster, mod: Etcd3Module, clientVersion: string, deadline: () => number): Promise<EtcdTarget> {
    const client = new mod.Etcd3({ hosts: cluster.endpoints.map((e) => `http://${e}`) });
    await client.put('bench/warm').value('1').exec(); // open the channels before anything is timed
    return new EtcdTarget(cluster, mod, client, clientVersion, deadline);
  }

  describe(): string[] {
    return [
      `etcd: ${this.cluster.describe()}`,
      `etcd client: etcd3@${this.clientVersion} (@grpc/grpc-js), one Etcd3 client with all members' endpoints`,
    ];
  }

  serverPids(): number[] {
    return this.cluster.pids;
  }

  problem(): string | undefined {
    return this.cluster.deadNode();
  }

  async prepare(workload: WorkloadName, concurrency: number): Promise<WorkloadRun> {
    const pfx = `bench/${++this.rows}/${workload}-c${concurrency}`;
    const client = this.client;
    const { EtcdLockFailedError } = this.mod;
    let retries = 0;
    const cleanup = async (): Promise<void> => {
      await client
        .delete()
        .prefix(`${pfx}/`)
        .exec()
        .catch(() => {});
    };

    switch (workload) {
      case 'counter-hot':
      case 'counter-distinct': {
        const tally = new CounterTally();
        const names = Array.from({ length: concurrency }, (_, w) => (workload === 'counter-hot' ? `${pfx}/hot` : `${pfx}/w${w}`));
        const incr = async (key: string): Promise<void> => {
          const r = await client.get(key).exec();
          let kv = r.kvs[0];
          for (let attempt = 0; attempt < 100_000; attempt++) {
            const cur = kv !== undefined ? Number(kv.value.toString()) : 0;
            const rev = kv !== undefined ? kv.mod_revision : 0;
            let res;
            try {
              res = await client
                .if(key, 'Mod', '==', rev)
                .then(client.put(key).value(String(cur + 1)))
                .else(client.get(key))
                .commit();
            } catch (err) {
              tally.unknown(key); // the Txn may have been applied
              throw err;
            }
            if (res.succeeded) {
              tally.ack(key);
              return;
            }
            retries++;
            kv = res.responses[0]?.response_range.kvs[0];
          }
          throw new Error('etcd increment: 100,000 conflicts in a row');
        };
        return {
          op: (w) => incr(names[w] as string),
          async verify(): Promise<Check> {
            const all = await client.getAll().prefix(`${pfx}/`).strings();
            return tally.check(new Map(Object.entries(all).map(([k, v]) => [k, Number(v)])));
          },
          retries: () => retries,
          close: cleanup,
        };
      }
      case 'get': {
        const key = `${pfx}/read`;
        const expected = String(1_000_000 + concurrency);
        await client.put(key).value(expected).exec();
        let reads = 0;
        let wrong = 0;
        return {
          async op() {
            const v = await client.get(key).string(); // linearizable: serializable is off by default
            reads++;
            if (v !== expected) wrong++;
          },
          verify: async () => ({
            ok: wrong === 0 && reads > 0,
            detail: `${reads} linearizable reads, ${wrong} returned a value other than ${expected}`,
          }),
          retries: () => 0,
          close: cleanup,
        };
      }
      case 'lock-hot':
      case 'lock-distinct': {
        const obs = new LockObserver();
        const names = Array.from({ length: concurrency }, (_, w) => (workload === 'lock-hot' ? `${pfx}/hot` : `${pfx}/w${w}`));
        const deadline = this.deadline;
        return {
          async op(w) {
            const name = names[w] as string;
            for (;;) {
              const lock = client.lock(name);
              try {
                await lock.acquire();
              } catch (err) {
                if (err instanceof EtcdLockFailedError && performance.now() < deadline()) {
                  retries++;
                  continue;
                }
                throw err;
              }
              obs.enter(name); // the etcd3 recipe exposes no fencing token to check
              await nextTurn();
              obs.leave(name);
              await lock.release();
              return;
            }
          },
          async verify(): Promise<Check> {
            const left = await client.getAll().prefix(`${pfx}/`).keys();
            return {
              ok: obs.ok && left.length === 0 && obs.grants > 0,
              detail: `${obs.summary()}; ${left.length === 0 ? 'no lock keys left behind' : `${left.length} lock keys left behind`}`,
            };
          },
          retries: () => retries,
          close: cleanup,
        };
      }
    }
  }

  async stop(): Promise<void> {
    await this.client
      .delete()
      .prefix('bench/')
      .exec()
      .catch(() => {});
    this.client.close();
    await this.cluster.destroy();
  }
}
