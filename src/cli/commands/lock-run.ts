/**
 * `raftlock lock run NAME [--wait D] [--ttl D] [--grace D] -- CMD ARGS…`
 * (docs/operations.md#client-commands): holds the lock through the SDK while CMD runs, with the
 * machinery every `… run` command shares (hold-run.ts: CMD's environment, its process group,
 * SIGTERM then SIGKILL when the lock is lost or may be lost, CMD's exit code). CMD gets
 * `RAFTLOCK_FENCING_TOKEN`, `RAFTLOCK_LOCK_NAME` and `RAFTLOCK_SESSION_ID`, so it can pass the
 * token to the resource it writes (or use
 * `raftlock counter add … --fence "$RAFTLOCK_LOCK_NAME:$RAFTLOCK_FENCING_TOKEN"`).
 */
import type { Command } from 'commander';
import type { Lock } from '../../client/index.js';
import { registerHoldRun, type RunFlags } from './hold-run.js';

/** Registers `lock run` under the `lock` command. */
export function registerLockRun(lock: Command): void {
  registerHoldRun<RunFlags, Lock>(
    lock,
    {
      command: 'lock run',
      what: 'the lock',
      description:
        'hold the lock (kept alive) while CMD runs; CMD gets RAFTLOCK_FENCING_TOKEN; exit with its code; stop it if the lock is lost',
      prepare: (name) => (client, opts) => client.lock(name, opts),
    },
    'lock name',
  );
}
