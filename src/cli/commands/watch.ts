/**
 * `raftlock watch [--prefix P] [--kinds k1,k2] [--from-index N] [--json]`
 * (docs/operations.md#client-commands; the events: docs/design.md#watches): one line per event
 * of the cluster, each with the log index it comes from, until interrupted. Ctrl-C (or SIGTERM)
 * ends it cleanly, exit 0, with the index to go on from on stderr (`--from-index`). No session:
 * a token of role `read` may run it.
 *
 * Output waits for its reader: a line is written only once the previous ones were taken (a pipe
 * into a slow program), so the events wait in the SDK's bounded buffer, and a reader that falls
 * too far behind ends the command with LIMIT_EXCEEDED rather than growing its memory.
 */
import { once } from 'node:events';
import type { Command } from 'commander';
import { DetachedSessions } from '../../client/detached-session.js';
import { WATCH_KINDS, type WatchEvent, type WatchKind } from '../../protocol/index.js';
import {
  interruptSignal,
  InterruptedError,
  parseInteger,
  runClientCommand,
  UsageError,
  withClientOptions,
  type ClientFlags,
} from '../client-command.js';

/** The options of `watch`, as commander parses them. */
interface WatchFlags extends ClientFlags {
  readonly prefix?: string;
  readonly kinds?: string;
  readonly fromIndex?: string;
}

/** The fields of an event after its name, in the order a line shows them. */
const FIELDS = ['session', 'token', 'seq', 'weight', 'mode', 'value', 'reason'] as const;

/** One line for an event: `57 granted lock "orders" session=12 token=57 seq=3`. */
export function describeEvent(ev: WatchEvent): string {
  const parts = [String(ev.index), ev.type, ev.kind];
  if (ev.name !== undefined) parts.push(JSON.stringify(ev.name));
  for (const f of FIELDS) {
    const v = ev[f];
    // Free text is quoted (it may hold spaces); numbers and modes are not.
    if (v !== undefined) parts.push(`${f}=${f === 'value' || f === 'reason' ? JSON.stringify(v) : String(v)}`);
  }
  return parts.join(' ');
}

/** `--kinds k1,k2`, checked: known kinds, each once. */
export function parseKinds(text: string): WatchKind[] {
  const kinds = text.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(WATCH_KINDS as readonly string[]).includes(k))
      throw new UsageError(`--kinds: unknown kind ${JSON.stringify(k)}; the kinds are ${WATCH_KINDS.join(', ')}`);
  }
  if (new Set(kinds).size !== kinds.length) throw new UsageError('--kinds lists a kind twice');
  return kinds as WatchKind[];
}

/** Writes `line` to stdout, resolving once the stream takes more (its reader keeps up). */
async function writeLine(line: string): Promise<void> {
  if (!process.stdout.write(`${line}\n`)) await once(process.stdout, 'drain');
}

/** Registers `watch` on `program`. */
export function registerWatchCommand(program: Command): void {
  withClientOptions(
    program
      .command('watch')
      .description(
        "print the cluster's events (locks, semaphores, rwlocks, elections, counters, sessions), one line each with its log index, until Ctrl-C",
      ),
  )
    .option('--prefix <prefix>', 'only events about names that start with PREFIX')
    .option('--kinds <k1,k2,…>', `only events of these kinds: ${WATCH_KINDS.join(', ')}`)
    .option('--from-index <n>', 'start at this log index (the index a stopped watch printed, to go on where it stopped)')
    .action(async (flags: WatchFlags) => {
      process.exitCode = await runClientCommand('watch', flags, async (ctx) => {
        const kinds = flags.kinds !== undefined ? parseKinds(flags.kinds) : undefined;
        const fromIndex = flags.fromIndex !== undefined ? parseInteger(flags.fromIndex, '--from-index') : undefined;
        if (fromIndex !== undefined && fromIndex < 1)
          throw new UsageError(`--from-index must be a log index (1 or more), got ${fromIndex}`);
        const d = new DetachedSessions(ctx);
        const interrupt = interruptSignal();
        const watch = d.watch({
          ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
          ...(kinds !== undefined ? { kinds } : {}),
          ...(fromIndex !== undefined ? { fromIndex } : {}),
          signal: interrupt.signal,
        });
        void watch.ready.then(
          (index) => process.stderr.write(`raftlock watch: events from index ${index} on; Ctrl-C to stop\n`),
          () => {},
        );
        try {
          for await (const ev of watch) await writeLine(ctx.json ? JSON.stringify(ev) : describeEvent(ev));
          return 0;
        } catch (err) {
          if (!(err instanceof InterruptedError)) throw err;
          // Ctrl-C is how watching ends: a clean stop, and where to go on from.
          const next = watch.nextIndex;
          process.stderr.write(`raftlock watch: stopped${next !== undefined ? `; go on with --from-index ${next}` : ''}\n`);
          return 0;
        } finally {
          interrupt.dispose();
          d.close();
        }
      });
    });
}
