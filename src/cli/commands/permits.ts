/**
 * `raftlock semaphore acquire|release|show|run` and `raftlock rwlock show|run`
 * (docs/operations.md#client-commands; the primitives: docs/design.md#semaphores-and-readers-writer-locks).
 *
 * `semaphore acquire` takes permits under a new session that nobody keeps alive, as
 * `lock acquire` takes a lock: they stay held after the command exits, until
 * `semaphore release NAME --session ID:SECRET:SEQ` or the session's TTL runs out. The handle it
 * prints names the session, proves it (the secret) and names the grant (`SEQ`, the seq of the
 * acquire that was granted: a session may hold several grants of one semaphore). The `run`
 * commands hold their grant through the SDK while a command runs (hold-run.ts).
 */
import type { Command } from 'commander';
import { DetachedSessions, formatPermitHandle, parsePermitHandle } from '../../client/detached-session.js';
import type { Permit, RwLockGrant } from '../../client/index.js';
import { MAX_PERMITS, type PermitHolderInfo, type RwLockInfo, type SemaphoreInfo } from '../../protocol/index.js';
import {
  durationOption,
  interruptSignal,
  parseInteger,
  runClientCommand,
  UsageError,
  withClientOptions,
  type ClientContext,
  type ClientFlags,
} from '../client-command.js';
import { formatDuration } from '../duration.js';
import { formatTable } from '../table.js';
import { registerHoldRun, type RunFlags } from './hold-run.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `1 holder`, `2 holders`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The flags that say what a semaphore grant takes. */
interface PermitFlags {
  readonly permits: string;
  readonly weight: string;
}

/** `--permits` and `--weight`, checked: 1 – MAX_PERMITS, and a weight within the count. */
export function permitFlags(flags: PermitFlags): { readonly permits: number; readonly weight: number } {
  const permits = parseInteger(flags.permits, '--permits');
  if (permits < 1 || permits > MAX_PERMITS) throw new UsageError(`--permits must be between 1 and ${MAX_PERMITS}, got ${permits}`);
  const weight = parseInteger(flags.weight, '--weight');
  if (weight < 1) throw new UsageError(`--weight must be at least 1, got ${weight}`);
  if (weight > permits)
    throw new UsageError(`--weight ${weight} is more than the semaphore's ${permits} permits (--permits): it could never be granted`);
  return { permits, weight };
}

/** Adds `--permits` and `--weight` to `cmd`. */
function withPermitOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--permits <n>', "the semaphore's permit count: every user must give the same while it is in use")
    .option('--weight <n>', 'how many of its permits to take (1 to --permits)', '1');
}

/** A holders table, the expiry as time left from `nowMs`; `extra` is the column of weights or modes. */
function holdersTable<H extends PermitHolderInfo>(holders: readonly H[], extra: [string, (h: H) => string], nowMs: number): string {
  const rows = holders.map((h) => {
    const left = h.expiresAt - nowMs;
    return [
      String(h.sessionId),
      extra[1](h),
      String(h.fencingToken),
      iso(h.acquiredAt),
      left > 0 ? formatDuration(Math.round(left / 100) * 100) : 'expired',
    ];
  });
  return formatTable(['SESSION', extra[0], 'TOKEN', 'ACQUIRED', 'EXPIRES IN'], rows);
}

/** The line after a table when the answer listed only the first of its holders. */
function moreHolders(listed: number, total: number): string {
  return total > listed ? `\n(and ${count(total - listed, 'more holder')}: an answer lists the first ${listed})` : '';
}

/** `semaphore show`'s text: a summary line, then its holders in grant order. */
export function describeSemaphore(name: string, info: SemaphoreInfo, nowMs: number): string {
  const n = JSON.stringify(name);
  if (info.permits === undefined) return `semaphore ${n}: not in use (nobody holds or awaits it; its next user sets the permit count)`;
  const summary = `semaphore ${n}: ${count(info.permits, 'permit')}, ${info.available ?? 0} available; ${count(info.holderCount, 'holder')}; ${info.waiters} waiting`;
  if (info.holders.length === 0) return summary;
  const table = holdersTable(info.holders, ['WEIGHT', (h) => String(h.weight)], nowMs);
  return `${summary}\n${table}${moreHolders(info.holders.length, info.holderCount)}`;
}

/** `rwlock show`'s text: a summary line, then its holders in grant order. */
export function describeRwLock(name: string, info: RwLockInfo, nowMs: number): string {
  const n = JSON.stringify(name);
  const held =
    info.mode === 'free' ? 'free' : info.mode === 'write' ? 'held for writing' : `held for reading by ${count(info.holderCount, 'holder')}`;
  const summary = `rwlock ${n}: ${held}; ${info.waiters} waiting`;
  if (info.holders.length === 0) return summary;
  const table = holdersTable(info.holders, ['MODE', (h) => h.mode], nowMs);
  return `${summary}\n${table}${moreHolders(info.holders.length, info.holderCount)}`;
}

/** Runs `fn` with a {@link DetachedSessions} client, closed afterwards. */
async function detached<T>(ctx: ClientContext, fn: (d: DetachedSessions) => Promise<T>): Promise<T> {
  const d = new DetachedSessions(ctx);
  try {
    return await fn(d);
  } finally {
    d.close();
  }
}

/** Registers `semaphore …` on `program`. */
export function registerSemaphoreCommands(program: Command): void {
  const semaphore = program.command('semaphore').description('counting semaphores: acquire, release, run, show');

  withPermitOptions(
    withClientOptions(
      semaphore
        .command('acquire')
        .argument('<name>', 'semaphore name')
        .description(
          'take permits under a new session with --ttl and no keep-alive; print the fencing token and the grant handle ID:SECRET:SEQ for `semaphore release`',
        ),
    ),
  )
    .option('--ttl <duration>', "the session's lease: the permits are freed this long after the acquire unless released", '30s')
    .option('--wait <duration>', "how long to wait in the semaphore's FIFO queue (0: do not wait)", '10s')
    .action(async (name: string, flags: ClientFlags & PermitFlags & { ttl: string; wait: string }) => {
      process.exitCode = await runClientCommand('semaphore acquire', flags, async (ctx) => {
        const { permits, weight } = permitFlags(flags);
        const ttlMs = durationOption(flags.ttl, '--ttl');
        const waitMs = durationOption(flags.wait, '--wait');
        const interrupt = interruptSignal();
        try {
          const g = await detached(ctx, (d) =>
            d.acquirePermit(name, { kind: 'semaphore', permits, weight }, ttlMs, waitMs, 'raftlock-cli', interrupt.signal),
          );
          // The handle carries the session's secret: whoever has it can release the permits.
          const handle = formatPermitHandle(g);
          const taken = weight === 1 ? '1 permit' : `${weight} permits`;
          ctx.out(
            `acquired ${taken} of semaphore ${JSON.stringify(name)} (of ${permits}): fencing token ${g.fencingToken}, session ${g.sessionId}\n` +
              `held until \`raftlock semaphore release ${name} --session ${handle}\` or for ${formatDuration(g.ttlMs)} (no keep-alive; expires ${iso(g.expiresAt)})`,
            {
              name,
              permits,
              weight,
              fencingToken: g.fencingToken,
              sessionId: g.sessionId,
              session: handle,
              grant: g.acquireSeq,
              ttlMs: g.ttlMs,
              expiresAt: g.expiresAt,
            },
          );
          return 0;
        } finally {
          interrupt.dispose();
        }
      });
    });

  withClientOptions(
    semaphore
      .command('release')
      .argument('<name>', 'semaphore name')
      .description('give back permits taken by `semaphore acquire`: pass the handle it printed, --session ID:SECRET:SEQ'),
  )
    .requiredOption('--session <ID:SECRET:SEQ>', 'the grant handle `semaphore acquire` printed (or ID:SECRET with --grant SEQ)')
    .option('--grant <seq>', 'the grant: the seq of the acquire that took it (the SEQ of the handle)')
    .action(async (name: string, flags: ClientFlags & { session: string; grant?: string }) => {
      process.exitCode = await runClientCommand('semaphore release', flags, async (ctx) => {
        const handle = parsePermitHandle(flags.session, '--session', flags.grant);
        const r = await detached(ctx, (d) => d.releasePermit('semaphore', name, handle));
        ctx.out(
          `released the permits of semaphore ${JSON.stringify(name)} granted to session ${handle.sessionId} (grant ${handle.acquireSeq}, fencing token ${r.token})`,
          { name, sessionId: handle.sessionId, grant: handle.acquireSeq, fencingToken: r.token, released: true },
        );
        return 0;
      });
    });

  withClientOptions(
    semaphore
      .command('show')
      .argument('<name>', 'semaphore name')
      .description('permit count, permits available, holders (session, weight, fencing token, expiry) and number of waiters'),
  )
    .option('--stale', "read the answering node's state, which may lag", false)
    .action(async (name: string, flags: ClientFlags & { stale: boolean }) => {
      process.exitCode = await runClientCommand('semaphore show', flags, async (ctx) => {
        const info = await detached(ctx, (d) =>
          d.read(flags.stale ? { op: 'semaphore-info', name, stale: true } : { op: 'semaphore-info', name }),
        );
        const { permits, available, holderCount, waiters, holders } = info;
        ctx.out(describeSemaphore(name, info, Date.now()), { name, permits, available, holderCount, waiters, holders });
        return 0;
      });
    });

  registerHoldRun<RunFlags & PermitFlags, Permit>(
    semaphore,
    {
      command: 'semaphore run',
      what: 'the permit',
      description:
        'hold permits (kept alive) while CMD runs; CMD gets RAFTLOCK_FENCING_TOKEN; exit with its code; stop it if the permits are lost',
      options: withPermitOptions,
      prepare: (name, flags) => {
        const { permits, weight } = permitFlags(flags);
        return (client, opts) => client.semaphore(name, { permits }).acquire({ ...opts, weight });
      },
      env: (permit) => ({ RAFTLOCK_LOCK_KIND: 'semaphore', RAFTLOCK_PERMIT_WEIGHT: String(permit.weight) }),
    },
    'semaphore name',
  );
}

/** The flags of `rwlock run` that say how it holds the lock. */
interface ModeFlags {
  readonly read?: boolean;
  readonly write?: boolean;
}

/** Registers `rwlock …` on `program`. */
export function registerRwLockCommands(program: Command): void {
  const rwlock = program.command('rwlock').description('readers-writer locks: run, show');

  withClientOptions(
    rwlock
      .command('show')
      .argument('<name>', 'readers-writer lock name')
      .description('how it is held (free, read, write), its holders (session, mode, fencing token, expiry) and number of waiters'),
  )
    .option('--stale', "read the answering node's state, which may lag", false)
    .action(async (name: string, flags: ClientFlags & { stale: boolean }) => {
      process.exitCode = await runClientCommand('rwlock show', flags, async (ctx) => {
        const info = await detached(ctx, (d) =>
          d.read(flags.stale ? { op: 'rwlock-info', name, stale: true } : { op: 'rwlock-info', name }),
        );
        const { mode, holderCount, waiters, holders } = info;
        ctx.out(describeRwLock(name, info, Date.now()), { name, mode, holderCount, waiters, holders });
        return 0;
      });
    });

  registerHoldRun<RunFlags & ModeFlags, RwLockGrant>(
    rwlock,
    {
      command: 'rwlock run',
      what: 'the rwlock',
      description:
        'hold the lock for reading (shared) or writing (exclusive), kept alive, while CMD runs; CMD gets RAFTLOCK_FENCING_TOKEN; exit with its code; stop it if the lock is lost',
      options: (cmd) =>
        cmd.option('--read', 'hold it for reading, shared with other readers').option('--write', 'hold it for writing, alone'),
      prepare: (name, flags) => {
        if (flags.read === flags.write) throw new UsageError('give one of --read and --write: how to hold the readers-writer lock');
        const mode = flags.read === true ? 'read' : 'write';
        return (client, opts) => (mode === 'read' ? client.rwLock(name).read(opts) : client.rwLock(name).write(opts));
      },
      env: (grant) => ({ RAFTLOCK_LOCK_KIND: 'rwlock', RAFTLOCK_RWLOCK_MODE: grant.mode }),
    },
    'readers-writer lock name',
  );
}
