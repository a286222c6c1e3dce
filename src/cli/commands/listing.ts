/**
 * What `lock list` and `counter list` share (docs/operations.md#client-commands): the paging
 * options and the walk over pages. One page by default (`--limit`, 100), with the cursor to the
 * next on stderr; `--all` walks every page, each a linearizable read of its own.
 */
import type { Command } from 'commander';
import type { ListPage, RequestOf } from '../../protocol/index.js';
import { parseInteger, UsageError, withClientOptions, type ClientContext, type ClientFlags } from '../client-command.js';

/** The options of a listing, as commander parses them. */
export interface ListFlags extends ClientFlags {
  readonly prefix?: string;
  readonly after?: string;
  readonly limit: string;
  readonly all: boolean;
  readonly stale: boolean;
}

/** Adds the shared client options and the listing's own to `cmd`. */
export function withListOptions(cmd: Command): Command {
  return withClientOptions(cmd)
    .option('--prefix <prefix>', 'only names that start with PREFIX')
    .option('--after <name>', 'start after this name (the cursor a previous page printed)')
    .option('--limit <n>', 'most entries per page (1-1000)', '100')
    .option('--all', 'walk every page, not just the first', false)
    .option('--stale', "read the answering node's state, which may lag", false);
}

/** The request fields of a listing's first page, from its flags. */
export function listRequest<O extends 'list-locks' | 'list-counters'>(op: O, flags: ListFlags): RequestOf<O> {
  const limit = parseInteger(flags.limit, '--limit');
  if (limit < 1 || limit > 1000) throw new UsageError(`--limit must be between 1 and 1000, got ${limit}`);
  return {
    op,
    limit,
    ...(flags.prefix !== undefined && flags.prefix !== '' ? { prefix: flags.prefix } : {}),
    ...(flags.after !== undefined ? { after: flags.after } : {}),
    ...(flags.stale ? { stale: true } : {}),
  } as RequestOf<O>;
}

/**
 * Reads the first page (or, with `--all`, every page) and returns the entries and the cursor of
 * what is left. Without `--all`, a cursor is also noted on stderr for people (stdout stays the
 * table or the JSON).
 */
export async function readPages<T>(
  ctx: ClientContext,
  flags: ListFlags,
  command: string,
  read: (after: string | undefined) => Promise<ListPage<T>>,
): Promise<{ readonly items: T[]; readonly next?: string }> {
  const items: T[] = [];
  let after = flags.after;
  for (;;) {
    const page = await read(after);
    items.push(...page.items);
    if (page.next === undefined) return { items };
    if (!flags.all) {
      if (!ctx.json) process.stderr.write(`raftlock ${command}: more entries follow: --after ${JSON.stringify(page.next)} (or --all)\n`);
      return { items, next: page.next };
    }
    after = page.next;
  }
}
