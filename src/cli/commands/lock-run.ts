/**
 * `raftlock lock run NAME [--wait D] [--ttl D] [--grace D] -- CMD ARGS…`
 * (docs/operations.md#client-commands).
 *
 * Holds the lock through the SDK (session kept alive, lease watchdog) while CMD runs:
 * - CMD gets `RAFTLOCK_FENCING_TOKEN`, `RAFTLOCK_LOCK_NAME` and `RAFTLOCK_SESSION_ID` in its
 *   environment, so it can pass the token to the resource it writes (or use
 *   `raftlock counter add … --fence "$RAFTLOCK_LOCK_NAME:$RAFTLOCK_FENCING_TOKEN"`).
 * - When the lock is lost **or may be lost** (the SDK's `Lock.signal`, which fires before the
 *   cluster could grant the lock to anyone else), CMD gets SIGTERM, then SIGKILL after
 *   `--grace`; raftlock prints a LOCK_LOST line and exits 1. `etcdctl lock` and `consul lock`
 *   each do only half of this (token or kill).
 * - Otherwise raftlock exits with CMD's exit code (128 + signal number if a signal ended it),
 *   after releasing the lock.
 * - SIGINT/SIGTERM sent to raftlock are passed on to CMD; raftlock then waits for CMD as usual.
 * - CMD runs in its own process group, and every signal above goes to the whole group: a
 *   shell's children, or a child that ignores SIGTERM, never outlive the lock. When CMD exits,
 *   whatever it left running in its group is stopped the same way (SIGTERM, SIGKILL after
 *   `--grace`) before the lock is released. `--foreground` keeps CMD in raftlock's group instead
 *   (so it may read the terminal), and then only CMD itself is signalled, as with
 *   `timeout --foreground`.
 * - Once CMD has exited, raftlock releases the lock and ends its session within about a second
 *   each; a cluster that does not answer by then lets the session's TTL free the lock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { connect, LockLostError, type Lock, type RaftlockClient } from '../../client/index.js';
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

interface RunFlags extends ClientFlags {
  readonly wait: string;
  readonly ttl: string;
  readonly grace: string;
  readonly foreground: boolean;
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

async function runUnderLock(ctx: ClientContext, name: string, argv: readonly string[], flags: RunFlags): Promise<number> {
  const [file, ...args] = argv;
  if (file === undefined) throw new UsageError('no command given: raftlock lock run NAME -- CMD ARGS…');
  const waitMs = durationOption(flags.wait, '--wait');
  const ttlMs = durationOption(flags.ttl, '--ttl');
  const graceMs = durationOption(flags.grace, '--grace');

  const interrupt = interruptSignal();
  let client: RaftlockClient | undefined;
  try {
    client = await connect({
      endpoints: ctx.endpoints,
      sessionTtlMs: ttlMs,
      clientId: 'raftlock-cli lock run',
      timeoutMs: ctx.timeoutMs,
      signal: interrupt.signal,
      ...credentials(ctx),
    });
    const lock = await client.lock(name, { waitMs, signal: interrupt.signal });
    interrupt.dispose(); // from here on, signals go to CMD
    return await supervise(ctx, lock, file, args, graceMs, !flags.foreground);
  } finally {
    interrupt.dispose();
    await client?.close({ timeoutMs: WRAP_UP_MS });
  }
}

/** Runs CMD while `lock` is held; stops it if the lock is lost. */
async function supervise(
  ctx: ClientContext,
  lock: Lock,
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
    env: {
      ...process.env,
      RAFTLOCK_FENCING_TOKEN: String(lock.fencingToken),
      RAFTLOCK_LOCK_NAME: lock.name,
      RAFTLOCK_SESSION_ID: String(lock.session.id),
    },
  });
  const ended = waitForExit(child);
  target = new Target(child, ownGroup);
  if (early !== undefined) target.kill(early);
  let killTimer: NodeJS.Timeout | undefined;
  let lost: unknown;
  const onLost = (): void => {
    lost = lock.signal.reason ?? new LockLostError(lock.name, `lock ${JSON.stringify(lock.name)} was lost`);
    target.kill('SIGTERM');
    killTimer = setTimeout(() => target.kill('SIGKILL'), graceMs);
  };
  if (lock.signal.aborted) onLost();
  else lock.signal.addEventListener('abort', onLost, { once: true });
  try {
    const e = await ended;
    if ('error' in e) {
      const code = (e.error as NodeJS.ErrnoException).code;
      printError(new UsageError(`cannot run ${JSON.stringify(file)}: ${code ?? e.error.message}`), ctx.json, 'lock run');
      return code === 'ENOENT' ? 127 : 126;
    }
    // Nothing CMD started may run on once the lock is released (or lost).
    await target.stopRest(graceMs);
    if (lost !== undefined) {
      printError(lost, ctx.json, 'lock run');
      return 1;
    }
    await lock.release({ timeoutMs: WRAP_UP_MS }).catch((err: unknown) => {
      // Lost in the instant CMD ended, or the cluster does not answer: CMD finished either way.
      process.stderr.write(
        `raftlock lock run: the lock could not be released (${(err as Error).message}); it is freed when the session's TTL runs out\n`,
      );
    });
    return exitCodeOf(e.code, e.signal);
  } finally {
    if (killTimer !== undefined) clearTimeout(killTimer);
    lock.signal.removeEventListener('abort', onLost);
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

/** What to do when the command's own options were read as raftlock's (no `--` before it). */
const DASH_DASH_HINT =
  "put `--` before the command, so its options are not taken for raftlock's: raftlock lock run NAME [options] -- CMD ARGS… (for example: raftlock lock run orders -- sh -c '…')";

/**
 * Adds {@link DASH_DASH_HINT} to commander's "unknown option '-c'" for `lock run NAME sh -c …`:
 * when the unknown option comes after NAME and the command's first word, it is the command's.
 * One before them is a misspelt option of raftlock's own, which commander answers with its
 * "Did you mean", and `--` would not help.
 */
function hintDashDash(run: Command): Command {
  return run.configureOutput({
    outputError: (message, write) => {
      const flag = /^error: unknown option '(.*)'/.exec(message)?.[1];
      // Commander has set `args` to the operands it read, then the unknown option and the rest.
      const operandsBefore = flag === undefined ? -1 : run.args.indexOf(flag);
      write(operandsBefore >= 2 ? `${message}${DASH_DASH_HINT}\n` : message);
    },
  });
}

/** Registers `lock run` under the `lock` command. */
export function registerLockRun(lock: Command): void {
  const run = withClientOptions(
    lock
      .command('run')
      .argument('<name>', 'lock name')
      .argument('<command...>', 'the command and its arguments, after --')
      .description(
        'hold the lock (kept alive) while CMD runs; CMD gets RAFTLOCK_FENCING_TOKEN; exit with its code; stop it if the lock is lost',
      )
      .usage('[options] <name> -- <command...>'),
  )
    .option('--wait <duration>', 'how long to wait for the lock (0: do not wait)', '10s')
    .option('--ttl <duration>', "the session's lease (kept alive every third of it)", '10s')
    .option('--grace <duration>', 'after SIGTERM on lock loss, how long before SIGKILL', '5s')
    .option('--foreground', "keep CMD in raftlock's process group (it may read the terminal; only CMD itself is signalled)", false)
    .action(async (name: string, command: string[], flags: RunFlags) => {
      process.exitCode = await runClientCommand('lock run', flags, (ctx) => runUnderLock(ctx, name, command, flags));
    });
  hintDashDash(run);
}
