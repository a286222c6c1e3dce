/**
 * `raftlock counter get|add|set|cas|delete NAME [ARGS]` (docs/operations.md#client-commands):
 * counter operations through the SDK, so a write retried across a failover is applied at most
 * once.
 *
 * Writes open a session for the duration of the command (the SDK needs one for exactly-once)
 * and close it before exiting. `get` needs no session; a counter that is not set reads 0, and
 * `get` then says so on stderr (stdout stays the bare number), so a misspelt name is noticed.
 */
import type { Command } from 'commander';
import type { Fence } from '../../client/index.js';
import { DetachedSessions } from '../../client/detached-session.js';
import { formatTable } from '../table.js';
import { listRequest, readPages, withListOptions, type ListFlags } from './listing.js';
import { parseInteger, runClientCommand, UsageError, withClientOptions, withWriter, type ClientFlags } from '../client-command.js';

interface WriteFlags extends ClientFlags {
  readonly fence?: string;
}

/** Parses `--fence LOCK:TOKEN` (the last colon splits, lock names may contain colons). */
export function parseFence(text: string): Fence {
  const k = text.lastIndexOf(':');
  if (k <= 0)
    throw new UsageError(
      `--fence: ${JSON.stringify(text)} is not LOCK:TOKEN (inside \`raftlock lock run\`: --fence "$RAFTLOCK_LOCK_NAME:$RAFTLOCK_FENCING_TOKEN")`,
    );
  return { lock: text.slice(0, k), token: parseInteger(text.slice(k + 1), '--fence token') };
}

function fenceOf(flags: WriteFlags): { fence?: Fence } {
  return flags.fence !== undefined ? { fence: parseFence(flags.fence) } : {};
}

/**
 * The note `counter get` adds to a 0, for people (on stderr: stdout stays the bare number that
 * scripts read). A counter at 0 is not stored, so 0 is also what a misspelt name reads.
 */
function notSetNote(name: string): string {
  return `raftlock counter get: counter ${JSON.stringify(name)} is not set: it reads 0, the default (a counter at 0 is not stored; check the name's spelling)\n`;
}

/** Registers `counter …` on `program`. */
export function registerCounterCommands(program: Command): void {
  const counter = program.command('counter').description('named counters: get, list, add, set, cas, delete');
  const fenceHelp = 'apply only while lock LOCK is held with fencing token TOKEN (else FENCED)';

  withClientOptions(
    counter
      .command('get')
      .argument('<name>', 'counter name')
      .description('print the value (linearizable unless --stale); one not set prints 0, with a note on stderr'),
  )
    .option('--stale', "read the answering node's value, which may lag", false)
    .action(async (name: string, flags: ClientFlags & { stale: boolean }) => {
      process.exitCode = await runClientCommand('counter get', flags, async (ctx) => {
        const d = new DetachedSessions(ctx);
        try {
          const value: number = await d.read(flags.stale ? { op: 'counter-get', name, stale: true } : { op: 'counter-get', name });
          ctx.out(String(value), { name, value });
          if (value === 0 && !ctx.json) process.stderr.write(notSetNote(name));
        } finally {
          d.close();
        }
        return 0;
      });
    });

  withListOptions(counter.command('list').description('the counters that are not 0, in name order, with their values')).action(
    async (flags: ListFlags) => {
      process.exitCode = await runClientCommand('counter list', flags, async (ctx) => {
        const d = new DetachedSessions(ctx);
        try {
          const first = listRequest('list-counters', flags);
          const page = await readPages(ctx, flags, 'counter list', (after) =>
            d.read({ ...first, ...(after !== undefined ? { after } : {}) }),
          );
          const table =
            page.items.length === 0
              ? '(no counter is set)'
              : formatTable(
                  ['NAME', 'VALUE'],
                  page.items.map((c) => [c.name, String(c.value)]),
                );
          ctx.out(table, page);
          return 0;
        } finally {
          d.close();
        }
      });
    },
  );

  withClientOptions(
    counter
      .command('add')
      .argument('<name>', 'counter name')
      .argument('<delta>', 'integer to add (may be negative)')
      .description('add DELTA exactly once; print the new value'),
  )
    .option('--fence <lock:token>', fenceHelp)
    .action(async (name: string, delta: string, flags: WriteFlags) => {
      process.exitCode = await runClientCommand('counter add', flags, async (ctx) => {
        const d = parseInteger(delta, 'DELTA');
        const fence = fenceOf(flags);
        const value = await withWriter(ctx, (c) => c.counter(name).add(d, fence));
        ctx.out(String(value), { name, value });
        return 0;
      });
    });

  withClientOptions(
    counter
      .command('set')
      .argument('<name>', 'counter name')
      .argument('<value>', 'the new value')
      .description('set the value; print the previous one'),
  )
    .option('--fence <lock:token>', fenceHelp)
    .action(async (name: string, value: string, flags: WriteFlags) => {
      process.exitCode = await runClientCommand('counter set', flags, async (ctx) => {
        const v = parseInteger(value, 'VALUE');
        const fence = fenceOf(flags);
        const previous = await withWriter(ctx, (c) => c.counter(name).set(v, fence));
        ctx.out(String(previous), { name, previous });
        return 0;
      });
    });

  withClientOptions(
    counter
      .command('cas')
      .argument('<name>', 'counter name')
      .argument('<expected>', 'the value it must have')
      .argument('<next>', 'the value to set')
      .description('set NEXT if the value is EXPECTED; print true or false (exit 1 when false)'),
  )
    .option('--fence <lock:token>', fenceHelp)
    .action(async (name: string, expected: string, next: string, flags: WriteFlags) => {
      process.exitCode = await runClientCommand('counter cas', flags, async (ctx) => {
        const e = parseInteger(expected, 'EXPECTED');
        const n = parseInteger(next, 'NEXT');
        const fence = fenceOf(flags);
        const swapped = await withWriter(ctx, (c) => c.counter(name).compareAndSet(e, n, fence));
        ctx.out(String(swapped), { name, swapped });
        return swapped ? 0 : 1;
      });
    });

  withClientOptions(
    counter
      .command('delete')
      .argument('<name>', 'counter name')
      .description('delete the counter (it reads 0 again); print the previous value'),
  )
    .option('--fence <lock:token>', fenceHelp)
    .action(async (name: string, flags: WriteFlags) => {
      process.exitCode = await runClientCommand('counter delete', flags, async (ctx) => {
        const fence = fenceOf(flags);
        const previous = await withWriter(ctx, (c) => c.counter(name).delete(fence));
        ctx.out(String(previous), { name, previous });
        return 0;
      });
    });
}
