/**
 * `raftlock elect NAME --value V -- CMD ARGS…`, `raftlock elect observe NAME` and
 * `raftlock elect show NAME` (docs/operations.md#client-commands; the primitive:
 * docs/design.md#leader-elections).
 *
 * `elect` campaigns with V and runs CMD once elected, only while the leadership holds, with the
 * machinery every `… run` command shares (hold-run.ts): CMD's environment (the fencing token, and
 * `RAFTLOCK_ELECTION_VALUE`), its process group stopped (SIGTERM, then SIGKILL after `--grace`)
 * when the leadership is lost or may be lost, CMD's exit code. It waits to be elected without a
 * limit unless `--wait` says otherwise. `observe` prints the leader now and then one line per
 * change until interrupted; `show` prints the leader now. Neither needs a session: a token of
 * role `read` may run them.
 *
 * An election named `observe` or `show` cannot be run with `elect NAME` (the name is taken for
 * the subcommand); the SDK has no such restriction.
 */
import type { Command } from 'commander';
import { DetachedSessions } from '../../client/detached-session.js';
import type { ElectionLeader, LeaderChange, Leadership } from '../../client/index.js';
import { MAX_ELECTION_VALUE_LENGTH, type ElectionInfoValue } from '../../protocol/index.js';
import { interruptSignal, InterruptedError, runClientCommand, UsageError, withClientOptions, type ClientFlags } from '../client-command.js';
import { formatDuration } from '../duration.js';
import { defineHoldRun, type RunFlags } from './hold-run.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The flag that says what to lead with (checked by the command: commander's required options would bind `observe` and `show` too). */
interface ValueFlags {
  readonly value?: string;
}

/** `observe`'s line for a change: `index 57: led by "host-a" (session 12, token 57)`, or `index 60: no leader`. */
export function describeLeaderChange(change: LeaderChange): string {
  const l = change.leader;
  return `index ${change.index}: ${l === null ? 'no leader' : `led by ${JSON.stringify(l.value)} (session ${l.sessionId}, token ${l.token})`}`;
}

/** `show`'s text: the leader (its value, session, token, since when, its expiry) and the candidates. */
export function describeElection(name: string, info: ElectionInfoValue, nowMs: number): string {
  const n = JSON.stringify(name);
  const waiting = `${info.candidates} candidate${info.candidates === 1 ? '' : 's'} waiting`;
  const l = info.leader;
  if (l === null) return `election ${n}: no leader; ${waiting}`;
  const left = l.expiresAt - nowMs;
  const expiry =
    left > 0
      ? `expires ${iso(l.expiresAt)} (in ${formatDuration(Math.round(left / 100) * 100)}) unless renewed`
      : `expired ${iso(l.expiresAt)} (the cluster is about to end it)`;
  return `election ${n}: led by session ${l.sessionId} with value ${JSON.stringify(l.value)} and fencing token ${l.fencingToken} since ${iso(l.acquiredAt)}; ${expiry}; ${waiting}`;
}

/** A leader as `observe --json` prints it. */
function leaderJson(l: ElectionLeader | null): ElectionLeader | null {
  return l === null ? null : { sessionId: l.sessionId, token: l.token, value: l.value };
}

/** Registers `elect …` on `program`. */
export function registerElectCommands(program: Command): void {
  const elect = defineHoldRun<RunFlags & ValueFlags, Leadership>(
    // Positional: options after `observe` or `show` are the subcommand's, not those of `elect` itself.
    program.command('elect').enablePositionalOptions(),
    {
      command: 'elect',
      what: 'the leadership',
      description:
        'campaign in election NAME with --value and run CMD while leader (kept alive); CMD gets RAFTLOCK_FENCING_TOKEN; exit with its code; stop it if the leadership is lost. Also: elect observe, elect show',
      options: (cmd) =>
        cmd.option('--value <value>', 'the value to lead with, required (an address, an id): what `elect show` and `elect observe` print'),
      wait: { help: 'how long to wait to be elected (default: no limit)', default: undefined },
      prepare: (name, flags) => {
        const { value } = flags;
        if (value === undefined)
          throw new UsageError('give --value V: the value to lead with (an address, an id), which `elect show` prints');
        if (value.length > MAX_ELECTION_VALUE_LENGTH)
          throw new UsageError(`--value is ${value.length} characters long; at most ${MAX_ELECTION_VALUE_LENGTH}`);
        return (client, opts) => client.election(name).campaign(value, opts);
      },
      env: (leadership) => ({ RAFTLOCK_LOCK_KIND: 'election', RAFTLOCK_ELECTION_VALUE: leadership.value }),
    },
    'election name',
  );

  withClientOptions(
    elect
      .command('observe')
      .argument('<name>', 'election name')
      .description('print the leader now, then one line per change (a new leader, none, a new value) until interrupted'),
  ).action(async (name: string, flags: ClientFlags) => {
    process.exitCode = await runClientCommand('elect observe', flags, async (ctx) => {
      const d = new DetachedSessions(ctx);
      const interrupt = interruptSignal();
      try {
        for await (const change of d.observeElection(name, interrupt.signal)) {
          ctx.out(describeLeaderChange(change), { name, index: change.index, leader: leaderJson(change.leader) });
        }
        return 0;
      } catch (err) {
        // Ctrl-C is how observing ends: a clean stop.
        if (err instanceof InterruptedError) return 0;
        throw err;
      } finally {
        interrupt.dispose();
        d.close();
      }
    });
  });

  withClientOptions(
    elect
      .command('show')
      .argument('<name>', 'election name')
      .description('the leader now (session, value, fencing token, expiry) and how many candidates wait'),
  )
    .option('--stale', "read the answering node's state, which may lag", false)
    .action(async (name: string, flags: ClientFlags & { stale: boolean }) => {
      process.exitCode = await runClientCommand('elect show', flags, async (ctx) => {
        const d = new DetachedSessions(ctx);
        try {
          const info = await d.read(flags.stale ? { op: 'election-info', name, stale: true } : { op: 'election-info', name });
          ctx.out(describeElection(name, info, Date.now()), { name, leader: info.leader, candidates: info.candidates });
          return 0;
        } finally {
          d.close();
        }
      });
    });
}
