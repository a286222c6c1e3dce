/**
 * What `raftlock lock run`, `raftlock semaphore run`, `raftlock rwlock run` and `raftlock elect`
 * share (docs/operations.md#client-commands): hold a grant through the SDK (session kept alive,
 * lease watchdog) while CMD runs. Each command says only how it takes its grant and what CMD's
 * environment adds about it ({@link HoldSpec}); the rest is one implementation:
 *
 * - CMD gets `RAFTLOCK_FENCING_TOKEN`, `RAFTLOCK_LOCK_NAME` and `RAFTLOCK_SESSION_ID` in its
 *   environment (and what the command adds), so it can pass the token to the resource it writes.
 * - When the grant is lost **or may be lost** (its `signal`, which fires before the cluster
 *   could grant it to anyone else), CMD gets SIGTERM, then SIGKILL after `--grace`; raftlock
 *   prints a LOCK_LOST line and exits 1. `etcdctl lock` and `consul lock` each do only half of
 *   this (token or kill).
 * - Otherwise raftlock exits with CMD's exit code (128 + signal number if a signal ended it),
 *   after releasing the grant.
 * - SIGINT/SIGTERM sent to raftlock are passed on to CMD; raftlock then waits for CMD as usual.
 * - CMD runs in its own process group, and every signal above goes to the whole group: a
 *   shell's children, or a child that ignores SIGTERM, never outlive the grant. When CMD exits,
 *   whatever it left running in its group is stopped the same way (SIGTERM, SIGKILL after
 *   `--grace`) before the grant is released. `--foreground` keeps CMD in raftlock's group instead
 *   (so it may read the terminal), and then only CMD itself is signalled, as with
 *   `timeout --foreground`.
 * - Once CMD has exited, raftlock releases the grant and ends its session within about a second
 *   each; a cluster that does not answer by then lets the session's TTL free it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { connect, LockLostError, type CallOptions, type RaftlockClient } from '../../client/index.js';
import {
  credentials,
  durationOption,
  interruptSignal,
  printError,
  runClientCommand,
  UsageError,
  withClientOptions,
  type ClientContext,
  type ClientFlags,
} from '../client-command.js';

/** The options every `… run` command has, as commander parses them. */
export interface RunFlags extends ClientFlags {
  /** Absent when the command's `--wait` has no default and was not given: no limit. */
  readonly wait?: string;
  readonly ttl: string;
  readonly grace: string;
  readonly foreground: boolean;
}

/** A held grant, as the run machinery uses it (a `Lock`, a `Permit`, an `RwLockGrant`). */
export interface RunGrant {
  readonly fencingToken: number;
  readonly signal: AbortSignal;
  release(opts: CallOptions): Promise<void>;
}

/** How one `… run` command takes its grant. */
export interface HoldSpec<F extends RunFlags, G extends RunGrant> {
  /** The command, as its messages name it: `lock run`. */
  readonly command: string;
  /** What is held, for messages: `the lock`, `the permit`. */
  readonly what: string;
  /** `commander` help: the command's description. */
  readonly description: string;
  /** Adds the command's own options (after the shared ones). */
  readonly options?: (cmd: Command) => Command;
  /**
   * `--wait`'s help and default (default: "how long to wait for WHAT (0: do not wait)", `10s`);
   * a `default` of undefined waits without a limit unless `--wait` is given.
   */
  readonly wait?: { readonly help: string; readonly default: string | undefined };
  /**
   * Checks the command's own flags (before anything is dialled: a usage error reaches no
   * cluster) and returns how to take the grant on a connected client (`waitMs` absent: no limit).
   */
  prepare(name: string, flags: F): (client: RaftlockClient, opts: { readonly waitMs?: number; readonly signal: AbortSignal }) => Promise<G>;
  /** CMD's environment beyond `RAFTLOCK_FENCING_TOKEN`, `RAFTLOCK_LOCK_NAME` and `RAFTLOCK_SESSION_ID`. */
  env?(grant: G): Record<string, string>;
}

/** How long to wait for the release and the session's close once CMD has exited. */
const WRAP_UP_MS = 1_000;

/** The processes to signal: CMD's whole process group, or CMD alone with `--foreground`. */
class Target {
  constructor(
    private readonly child: ChildProcess,
    private readonly group: boolean,
  ) {}

  /** Sends `sig`; false when nothing was left to receive it. */
  kill(sig: NodeJS.Signals | 0): boolean {
    const pid = this.child.pid;
    if (pid === undefined) return false;
    if (!this.group) return sig === 0 ? this.child.exitCode === null && this.child.signalCode === null : this.child.kill(sig);
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      return false; // ESRCH: no process left in the group
    }
  }

  /**
   * Stops whatever is left of the group: SIGTERM, then SIGKILL after `graceMs`. Resolves once
   * nothing is left (or, with `--foreground`, at once: CMD has exited and its children are not
   * ours to find).
   */
  async stopRest(graceMs: number): Promise<void> {
    if (!this.group || !this.kill(0)) return;
    this.kill('SIGTERM');
    if (await this.goneWithin(graceMs)) return;
    this.kill('SIGKILL');
    await this.goneWithin(5_000);
  }

  private async goneWithin(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (this.kill(0)) {
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }
}

/** How a child process ended. */
type Ended = { readonly code: number | null; readonly signal: NodeJS.Signals | null } | { readonly error: Error };

/** The exit code a shell would report for a child that ended so. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal !== null ? (constants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 0);
}

function waitForExit(child: ChildProcess): Promise<Ended> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** `raftlock <command> NAME [options] -- CMD ARGS…`, as usage messages show it. */
function usageLine(command: string): string {
  return `raftlock ${command} NAME [options] -- CMD ARGS…`;
}

async function runHolding<F extends RunFlags, G extends RunGrant>(
  ctx: ClientContext,
  spec: HoldSpec<F, G>,
  name: string,
  argv: readonly string[],
  flags: F,
): Promise<number> {
  const [file, ...args] = argv;
  if (file === undefined) throw new UsageError(`no command given: ${usageLine(spec.command)}`);
  const waitMs = flags.wait === undefined ? undefined : durationOption(flags.wait, '--wait');
  const ttlMs = durationOption(flags.ttl, '--ttl');
  const graceMs = durationOption(flags.grace, '--grace');
  const take = spec.prepare(name, flags);

  const interrupt = interruptSignal();
  let client: RaftlockClient | undefined;
  try {
    client = await connect({
      endpoints: ctx.endpoints,
      sessionTtlMs: ttlMs,
      clientId: `raftlock-cli ${spec.command}`,
      timeoutMs: ctx.timeoutMs,
      signal: interrupt.signal,
      ...credentials(ctx),
    });
    const grant = await take(client, { ...(waitMs !== undefined ? { waitMs } : {}), signal: interrupt.signal });
    interrupt.dispose(); // from here on, signals go to CMD
    const env = {
      RAFTLOCK_FENCING_TOKEN: String(grant.fencingToken),
      RAFTLOCK_LOCK_NAME: name,
      RAFTLOCK_SESSION_ID: String(client.sessionId),
      ...spec.env?.(grant),
    };
    return await supervise(ctx, spec, name, grant, env, file, args, graceMs, !flags.foreground);
  } finally {
    interrupt.dispose();
    await client?.close({ timeoutMs: WRAP_UP_MS });
  }
}

/** Runs CMD while `grant` is held; stops it if the grant is lost. */
async function supervise(
  ctx: ClientContext,
  spec: { readonly command: string; readonly what: string },
  name: string,
  grant: RunGrant,
  env: Readonly<Record<string, string>>,
  file: string,
  args: readonly string[],
  graceMs: number,
  ownGroup: boolean,
): Promise<number> {
  // Listening before CMD exists: CMD may run (and be seen running) before this process is
  // scheduled again after the spawn, and a SIGTERM with no listener would kill raftlock alone.
  let target: Target | undefined;
  let early: NodeJS.Signals | undefined;
  const forward = (sig: NodeJS.Signals): void => {
    if (target === undefined) early = sig;
    else target.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const child = spawn(file, args, {
    stdio: 'inherit',
    // A new process group (setsid-like) whose id is CMD's pid: signalled as one.
    detached: ownGroup,
    env: { ...process.env, ...env },
  });
  const ended = waitForExit(child);
  target = new Target(child, ownGroup);
  if (early !== undefined) target.kill(early);
  let killTimer: NodeJS.Timeout | undefined;
  let lost: unknown;
  const onLost = (): void => {
    lost = grant.signal.reason ?? new LockLostError(name, `${spec.what} ${JSON.stringify(name)} was lost`);
    target.kill('SIGTERM');
    killTimer = setTimeout(() => target.kill('SIGKILL'), graceMs);
  };
  if (grant.signal.aborted) onLost();
  else grant.signal.addEventListener('abort', onLost, { once: true });
  try {
    const e = await ended;
    if ('error' in e) {
      const code = (e.error as NodeJS.ErrnoException).code;
      printError(new UsageError(`cannot run ${JSON.stringify(file)}: ${code ?? e.error.message}`), ctx.json, spec.command);
      return code === 'ENOENT' ? 127 : 126;
    }
    // Nothing CMD started may run on once the grant is released (or lost).
    await target.stopRest(graceMs);
    if (lost !== undefined) {
      printError(lost, ctx.json, spec.command);
      return 1;
    }
    await grant.release({ timeoutMs: WRAP_UP_MS }).catch((err: unknown) => {
      // Lost in the instant CMD ended, or the cluster does not answer: CMD finished either way.
      process.stderr.write(
        `raftlock ${spec.command}: ${spec.what} could not be released (${(err as Error).message}); it is freed when the session's TTL runs out\n`,
      );
    });
    return exitCodeOf(e.code, e.signal);
  } finally {
    if (killTimer !== undefined) clearTimeout(killTimer);
    grant.signal.removeEventListener('abort', onLost);
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

/**
 * Adds a hint to commander's "unknown option '-c'" for `… run NAME sh -c …`: put `--` before
 * the command. When the unknown option comes after NAME and the command's first word, it is
 * the command's. One before them is a misspelt option of raftlock's own, which commander
 * answers with its "Did you mean", and `--` would not help.
 */
function hintDashDash(run: Command, command: string): Command {
  const hint = `put \`--\` before the command, so its options are not taken for raftlock's: ${usageLine(command)} (for example: raftlock ${command} NAME -- sh -c '…')`;
  return run.configureOutput({
    outputError: (message, write) => {
      const flag = /^error: unknown option '(.*)'/.exec(message)?.[1];
      // Commander has set `args` to the operands it read, then the unknown option and the rest.
      const operandsBefore = flag === undefined ? -1 : run.args.indexOf(flag);
      write(operandsBefore >= 2 ? `${message}${hint}\n` : message);
    },
  });
}

/** Registers `run` under `parent` (`lock`, `semaphore`, `rwlock`), as `spec` says. */
export function registerHoldRun<F extends RunFlags, G extends RunGrant>(parent: Command, spec: HoldSpec<F, G>, nameHelp: string): void {
  defineHoldRun(parent.command('run'), spec, nameHelp);
}

/**
 * Makes `cmd` a command that holds a grant while CMD runs, as `spec` says: `NAME -- CMD ARGS…`,
 * the shared options and the action (`… run`, and `raftlock elect` itself).
 */
export function defineHoldRun<F extends RunFlags, G extends RunGrant>(cmd: Command, spec: HoldSpec<F, G>, nameHelp: string): Command {
  const base = withClientOptions(
    cmd
      .argument('<name>', nameHelp)
      .argument('<command...>', 'the command and its arguments, after --')
      .description(spec.description)
      .usage('[options] <name> -- <command...>'),
  );
  const wait = spec.wait ?? { help: `how long to wait for ${spec.what} (0: do not wait)`, default: '10s' };
  const run = (spec.options?.(base) ?? base)
    .option('--wait <duration>', wait.help, wait.default)
    .option('--ttl <duration>', "the session's lease (kept alive every third of it)", '10s')
    .option('--grace <duration>', `after SIGTERM on losing ${spec.what}, how long before SIGKILL`, '5s')
    .option('--foreground', "keep CMD in raftlock's process group (it may read the terminal; only CMD itself is signalled)", false)
    .action(async (name: string, command: string[], flags: F) => {
      process.exitCode = await runClientCommand(spec.command, flags, (ctx) => runHolding(ctx, spec, name, command, flags));
    });
  return hintDashDash(run, spec.command);
}
