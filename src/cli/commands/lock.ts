/**
 * `raftlock lock acquire|release|show` (docs/operations.md#client-commands); `lock run` lives
 * in lock-run.ts.
 *
 * `acquire` takes the lock under a new session that nobody keeps alive: the lock stays held
 * after the command exits, until `lock release NAME --session ID:SECRET` or the session's TTL runs out.
 * That is the shape shell scripts need (acquire in one step, release in another); a process
 * that should hold a lock while it works uses `lock run` or the SDK, which keep the lease alive.
 */
import type { Command } from 'commander';
import { DetachedSessions, formatSessionHandle, parseSessionHandle } from '../../client/detached-session.js';
import type { LockInfo, LockListEntry } from '../../protocol/index.js';
import { durationOption, interruptSignal, runClientCommand, withClientOptions, withWriter, type ClientFlags } from '../client-command.js';
import { formatDuration } from '../duration.js';
import { formatTable } from '../table.js';
import { listRequest, readPages, withListOptions, type ListFlags } from './listing.js';
import { registerLockRun } from './lock-run.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** One line describing a lock's state, for `lock show`. */
export function describeLock(name: string, info: LockInfo, nowMs: number): string {
  const waiting = `${info.waiters} waiting`;
  const h = info.holder;
  if (h === undefined) return `lock ${JSON.stringify(name)}: free; ${waiting}`;
  const left = h.expiresAt - nowMs;
  const expiry =
    left > 0
      ? `expires ${iso(h.expiresAt)} (in ${formatDuration(Math.round(left / 100) * 100)}) unless renewed`
      : `expired ${iso(h.expiresAt)} (the cluster is about to release it)`;
  return `lock ${JSON.stringify(name)}: held by session ${h.sessionId} with fencing token ${h.fencingToken} since ${iso(h.acquiredAt)}; ${expiry}; ${waiting}`;
}

/** `lock list`'s table: one row per lock, the holder's expiry as time left from `nowMs`. */
export function formatLockList(items: readonly LockListEntry[], nowMs: number): string {
  if (items.length === 0) return '(no lock is held or awaited)';
  const rows = items.map((l) => {
    const h = l.holder;
    if (h === undefined) return [l.name, '-', '-', '-', String(l.waiters)];
    const left = h.expiresAt - nowMs;
    return [
      l.name,
      String(h.sessionId),
      String(h.fencingToken),
      left > 0 ? formatDuration(Math.round(left / 100) * 100) : 'expired',
      String(l.waiters),
    ];
  });
  return formatTable(['NAME', 'SESSION', 'TOKEN', 'EXPIRES IN', 'WAITERS'], rows);
}

/** Registers `lock …` on `program`. */
export function registerLockCommands(program: Command): void {
  const lock = program.command('lock').description('distributed locks: acquire, release, run, show, list, break');

  withClientOptions(
    lock
      .command('acquire')
      .argument('<name>', 'lock name')
      .description('acquire under a new session with --ttl and no keep-alive; print the fencing token and session handle'),
  )
    .option('--ttl <duration>', "the session's lease: the lock is freed this long after the acquire unless released", '30s')
    .option('--wait <duration>', "how long to wait in the lock's FIFO queue (0: do not wait)", '10s')
    .action(async (name: string, flags: ClientFlags & { ttl: string; wait: string }) => {
      process.exitCode = await runClientCommand('lock acquire', flags, async (ctx) => {
        const ttlMs = durationOption(flags.ttl, '--ttl');
        const waitMs = durationOption(flags.wait, '--wait');
        const d = new DetachedSessions(ctx);
        const interrupt = interruptSignal();
        try {
          const g = await d.acquire(name, ttlMs, waitMs, 'raftlock-cli', interrupt.signal);
          // The handle carries the session's secret: whoever has it can release the lock.
          const handle = formatSessionHandle(g);
          ctx.out(
            `acquired lock ${JSON.stringify(name)}: fencing token ${g.fencingToken}, session ${g.sessionId}\n` +
              `held until \`raftlock lock release ${name} --session ${handle}\` or for ${formatDuration(g.ttlMs)} (no keep-alive; expires ${iso(g.expiresAt)})`,
            { name, fencingToken: g.fencingToken, sessionId: g.sessionId, session: handle, ttlMs: g.ttlMs, expiresAt: g.expiresAt },
          );
          return 0;
        } finally {
          interrupt.dispose();
          d.close();
        }
      });
    });

  withClientOptions(
    lock.command('release').argument('<name>', 'lock name').description('release a lock held by a session (from `lock acquire`)'),
  )
    .requiredOption('--session <ID:SECRET>', 'the session handle `lock acquire` printed')
    .action(async (name: string, flags: ClientFlags & { session: string }) => {
      process.exitCode = await runClientCommand('lock release', flags, async (ctx) => {
        const { sessionId, secret } = parseSessionHandle(flags.session, '--session');
        const d = new DetachedSessions(ctx);
        try {
          const r = await d.release(name, { sessionId, secret });
          ctx.out(`released lock ${JSON.stringify(name)} (fencing token ${r.token}, session ${sessionId})`, {
            name,
            sessionId,
            fencingToken: r.token,
            released: true,
          });
          return 0;
        } finally {
          d.close();
        }
      });
    });

  withClientOptions(lock.command('show').argument('<name>', 'lock name').description('holder, fencing token, expiry and number of waiters'))
    .option('--stale', "read the answering node's state, which may lag", false)
    .action(async (name: string, flags: ClientFlags & { stale: boolean }) => {
      process.exitCode = await runClientCommand('lock show', flags, async (ctx) => {
        const d = new DetachedSessions(ctx);
        try {
          const info: LockInfo = await d.read(flags.stale ? { op: 'lock-info', name, stale: true } : { op: 'lock-info', name });
          const h = info.holder;
          ctx.out(describeLock(name, info, Date.now()), {
            name,
            ...(h !== undefined ? { holder: h } : {}),
            waiters: info.waiters,
          });
          return 0;
        } finally {
          d.close();
        }
      });
    });

  withClientOptions(
    lock
      .command('break')
      .argument('<name>', 'lock name')
      .description("revoke the lock's current grant (admin token): the next waiter gets it with a higher token"),
  )
    .option('--reason <text>', 'why, shown to the holder whose grant is revoked')
    .action(async (name: string, flags: ClientFlags & { reason?: string }) => {
      process.exitCode = await runClientCommand('lock break', flags, async (ctx) => {
        const opts = flags.reason !== undefined ? { reason: flags.reason } : {};
        const r = await withWriter(ctx, (c) => c.breakLock(name, opts));
        ctx.out(
          `broke lock ${JSON.stringify(name)}: revoked the grant of session ${r.session} (fencing token ${r.token}); its next waiter, if any, holds it now`,
          { name, session: r.session, fencingToken: r.token, broken: true },
        );
        return 0;
      });
    });

  withListOptions(
    lock.command('list').description('the locks held or waited for, in name order: holder session, fencing token, expiry, waiters'),
  ).action(async (flags: ListFlags) => {
    process.exitCode = await runClientCommand('lock list', flags, async (ctx) => {
      const d = new DetachedSessions(ctx);
      try {
        const first = listRequest('list-locks', flags);
        const page = await readPages(ctx, flags, 'lock list', (after) => d.read({ ...first, ...(after !== undefined ? { after } : {}) }));
        ctx.out(formatLockList(page.items, Date.now()), page);
        return 0;
      } finally {
        d.close();
      }
    });
  });

  registerLockRun(lock);
}
