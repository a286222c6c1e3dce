/**
 * What every client command of the CLI shares (docs/operations.md#client-commands):
 * `--endpoints` / RAFTLOCK_ENDPOINTS, `--token` / RAFTLOCK_TOKEN, `--cacert`, `--cert`, `--key`
 * (etcdctl's names; RAFTLOCK_CACERT, RAFTLOCK_CERT, RAFTLOCK_KEY), `--timeout`, `--json`, and
 * errors as one line that says what happened and what to do (or, with `--json`, one JSON object
 * with the stable code on stdout).
 *
 * Exit codes: 0 success; 1 any error (the line or the JSON says which); 130/143 when interrupted
 * by SIGINT/SIGTERM while waiting; `counter cas` exits 1 when the value was not the expected
 * one; `lock run`, `semaphore run`, `rwlock run` and `elect` exit with their command's code;
 * `watch` and `elect observe`, which run until interrupted, exit 0 on SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import {
  AuthError,
  connect,
  InvalidArgumentError,
  RaftlockError,
  UnavailableError,
  type ClientTls,
  type RaftlockClient,
} from '../client/index.js';
import { DurationError, parseDuration } from './duration.js';
import { parseEndpoints } from './endpoints.js';

/** The options every client command accepts, as commander parses them. */
export interface ClientFlags {
  readonly endpoints?: string;
  readonly token?: string;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly timeout: string;
  readonly json: boolean;
}

/** The resolved settings a client command runs with. */
export interface ClientContext {
  readonly endpoints: string[];
  readonly token?: string;
  /** From --cacert, --cert and --key (or their variables): with it, nodes are dialled over TLS. */
  readonly tls?: ClientTls;
  readonly timeoutMs: number;
  readonly json: boolean;
  /** Prints a success: `human` as a line, or `data` as one JSON line with `--json`. */
  out(human: string, data: unknown): void;
}

/** Adds the shared client options to `cmd`. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--endpoints <list>', 'host:port,… of the nodes (default: env RAFTLOCK_ENDPOINTS or the three-node loopback config)')
    .option('--token <token>', 'client token, when the cluster requires one (default: env RAFTLOCK_TOKEN)')
    .option('--cacert <file>', "CA certificate (PEM) that signed the nodes' certificates: talk TLS (default: env RAFTLOCK_CACERT)")
    .option('--cert <file>', 'client certificate (PEM), when the cluster requires one (default: env RAFTLOCK_CERT)')
    .option('--key <file>', "the client certificate's private key (PEM) (default: env RAFTLOCK_KEY)")
    .option(
      '--timeout <duration>',
      'deadline of each request, failover and retries included (with no node reachable at all, the command fails after about 1.5 s)',
      '15s',
    )
    .option('--json', 'machine-readable output: one JSON object on stdout, errors included', false);
}

/** The credentials of `ctx` as `connect()` takes them: the token and TLS settings it has. */
export function credentials(ctx: Pick<ClientContext, 'token' | 'tls'>): { token?: string; tls?: ClientTls } {
  return { ...(ctx.token !== undefined ? { token: ctx.token } : {}), ...(ctx.tls !== undefined ? { tls: ctx.tls } : {}) };
}

/**
 * Runs `fn` with an SDK client (and so a session) for the length of a command, closed (the
 * session ended) before it returns: what writes need for exactly-once.
 */
export async function withWriter<T>(ctx: ClientContext, fn: (c: RaftlockClient) => Promise<T>): Promise<T> {
  const client = await connect({ endpoints: ctx.endpoints, clientId: 'raftlock-cli', timeoutMs: ctx.timeoutMs, ...credentials(ctx) });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/**
 * The TLS settings of `--cacert`, `--cert`, `--key` (else RAFTLOCK_CACERT, RAFTLOCK_CERT,
 * RAFTLOCK_KEY), the files read; undefined when none is given. Shared by `raftlock status` and
 * the member commands, which speak HTTPS to the same nodes.
 */
export function tlsFlags(flags: { readonly cacert?: string; readonly cert?: string; readonly key?: string }): ClientTls | undefined {
  const env = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);
  const files = {
    ca: flags.cacert ?? env('RAFTLOCK_CACERT'),
    cert: flags.cert ?? env('RAFTLOCK_CERT'),
    key: flags.key ?? env('RAFTLOCK_KEY'),
  };
  if (files.ca === undefined && files.cert === undefined && files.key === undefined) return undefined;
  if ((files.cert === undefined) !== (files.key === undefined))
    throw new UsageError('--cert and --key go together (a client certificate and its key): give both, or neither');
  const read = (file: string | undefined, flag: string): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const ca = read(files.ca, '--cacert');
  const cert = read(files.cert, '--cert');
  const key = read(files.key, '--key');
  return { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}

/** A usage error found by the command itself (bad number, bad duration...). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The user interrupted the command (SIGINT/SIGTERM) while it waited; it cleaned up first. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** Aborts on SIGINT/SIGTERM while a command waits, so it can clean up (close its session). */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const on = (sig: NodeJS.Signals): void => ac.abort(new InterruptedError(sig));
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** Parses a safe integer argument, naming it in the error. */
export function parseInteger(text: string, what: string): number {
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what}: ${JSON.stringify(text)} is not an integer within ±(2^53−1)`);
  return n;
}

/** Parses a duration option, turning its error into a usage error. */
export function durationOption(text: string, option: string): number {
  try {
    return parseDuration(text, option);
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(err.message);
    throw err;
  }
}

interface ErrorReport {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  readonly outcomeUnknown?: boolean;
}

/** What to do about each error code: the second half of the one-line message. */
const HINTS: Readonly<Record<string, string>> = {
  LOCK_TIMEOUT: 'wait longer (--wait) or see the holder with `raftlock lock show NAME`',
  NOT_HELD:
    'the lock is not held (by that session): it was released already, its session expired, or an operator broke it; see `raftlock lock show NAME`',
  SESSION_EXPIRED: 'the session ended (its TTL ran out or it was closed); acquire the lock again',
  LOCK_LOST: 'the command was stopped (SIGTERM, then SIGKILL after --grace); run it again once the cluster answers (`raftlock status`)',
  FENCED: 'the lock is no longer held with that fencing token; stop writing on its behalf',
  // Installed users have the `raftlock` bin, not the repository's npm scripts.
  UNAVAILABLE: 'is the cluster running (`raftlock cluster up`, or `npm start` in a raftlock checkout)? check it with `raftlock status`',
  INVALID_ARGUMENT: 'check the arguments (`raftlock help`)',
  LIMIT_EXCEEDED: 'a cluster limit was reached (see `limits` in the cluster configuration); retry later or raise the limit',
  OVERFLOW: 'the result would leave ±(2^53−1); nothing changed',
  AUTH: 'the cluster refused the client token or its role: pass --token or set RAFTLOCK_TOKEN to a token whose role allows the command (`raftlock token create`)',
  COMPACTED:
    'the cluster no longer keeps events that old: read the state again (`lock show`, `counter get`, `elect show`…), then watch with --from-index the index the message names',
};

const SESSION_AUTH_HINT = "the session's secret does not match: pass the whole handle ID:SECRET that `raftlock lock acquire` printed";

/**
 * Hints of the semaphore and readers-writer lock commands (by the command's first word), where
 * they differ from those of locks: which `show` to look at, which handle to pass.
 */
const KIND_HINTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  semaphore: {
    LOCK_TIMEOUT: 'wait longer (--wait) or see the holders and waiters with `raftlock semaphore show NAME`',
    NOT_HELD:
      'that session holds no such grant of the semaphore: it was released already, or its session expired; pass the handle ID:SECRET:SEQ that `raftlock semaphore acquire` printed (`raftlock semaphore show NAME` lists the holders)',
    INVALID_ARGUMENT:
      'check the arguments (`raftlock help semaphore`); a semaphore in use keeps the permit count its first user gave: `raftlock semaphore show NAME` shows it',
    SESSION_AUTH: "the session's secret does not match: pass the whole handle ID:SECRET:SEQ that `raftlock semaphore acquire` printed",
  },
  rwlock: {
    LOCK_TIMEOUT: 'wait longer (--wait) or see the holders and waiters with `raftlock rwlock show NAME`',
  },
  elect: {
    LOCK_TIMEOUT: 'wait longer (--wait, no limit by default) or see the leader and candidates with `raftlock elect show NAME`',
    NOT_HELD: 'this client no longer leads the election (it resigned, or its session ended); see `raftlock elect show NAME`',
    LOCK_LOST:
      'the leadership was lost or may be lost, and the command was stopped (SIGTERM, then SIGKILL after --grace); campaign again once the cluster answers (`raftlock status`)',
  },
  watch: {
    LIMIT_EXCEEDED:
      'the output was read too slowly and the events waiting for it passed the bound; nothing was lost: run again with --from-index the index the message names',
  },
};

/** When no endpoint could be reached at all (the message names each one's cause). */
const UNREACHABLE_HINT =
  'start the cluster (`raftlock cluster up`, or `npm start` in a raftlock checkout) or fix --endpoints / RAFTLOCK_ENDPOINTS; `raftlock status` shows which nodes answer';

/** The hint for `err` from `command`: by its code, or for the cases of a code that need their own. */
function hintFor(err: RaftlockError, command: string): string {
  const kind = KIND_HINTS[command.split(' ')[0] ?? ''] ?? {};
  if (err instanceof AuthError && err.field === 'session') return kind['SESSION_AUTH'] ?? SESSION_AUTH_HINT;
  // By name: the SDK's internal class is not part of its surface (docs/design.md#layers).
  if (err instanceof UnavailableError && err.cause instanceof Error && err.cause.name === 'UnreachableError') return UNREACHABLE_HINT;
  // A refused flag (`--session`, `--grant`) is about the arguments alone, whatever the command.
  if (err instanceof InvalidArgumentError && err.field?.startsWith('--') === true) return HINTS['INVALID_ARGUMENT'] ?? '';
  return kind[err.code] ?? HINTS[err.code] ?? '';
}

function report(err: unknown, command: string): ErrorReport {
  if (err instanceof RaftlockError) {
    const unknown = err instanceof UnavailableError && err.outcomeUnknown;
    const hint = hintFor(err, command) + (unknown ? '; the write may have been applied (at most once): check before retrying' : '');
    return {
      code: err.code,
      message: err.message,
      hint,
      ...(err instanceof UnavailableError ? { outcomeUnknown: err.outcomeUnknown } : {}),
    };
  }
  if (err instanceof InterruptedError)
    return { code: 'INTERRUPTED', message: err.message, hint: 'the command stopped waiting and closed its session; nothing was left held' };
  if (err instanceof UsageError || err instanceof DurationError)
    return { code: 'INVALID_ARGUMENT', message: err.message, hint: 'see `raftlock help`' };
  const message = err instanceof Error ? err.message : String(err);
  if (/^--endpoints|endpoint/i.test(message))
    return { code: 'INVALID_ARGUMENT', message, hint: 'expected --endpoints host:port,host:port,…' };
  return { code: 'INTERNAL', message, hint: 'this is a bug in raftlock; please report it with the command you ran' };
}

/**
 * Prints `err` as one line on stderr (or JSON on stdout) and returns the exit code: 1, or
 * 128 + the signal's number when the user interrupted the command, as shells do.
 */
export function printError(err: unknown, json: boolean, command: string): number {
  const r = report(err, command);
  if (json) process.stdout.write(`${JSON.stringify({ error: r })}\n`);
  else process.stderr.write(`raftlock ${command}: ${r.message} (${r.code}); ${r.hint}\n`);
  return err instanceof InterruptedError ? 128 + (err.signal === 'SIGINT' ? 2 : 15) : 1;
}

/**
 * Resolves the shared options and runs `body`; every error becomes one printed line (or JSON)
 * and exit code 1. Returns the exit code for `process.exitCode`.
 */
export async function runClientCommand(
  command: string,
  flags: ClientFlags,
  body: (ctx: ClientContext) => Promise<number>,
): Promise<number> {
  try {
    const token = flags.token ?? process.env.RAFTLOCK_TOKEN;
    const tls = tlsFlags(flags);
    const ctx: ClientContext = {
      endpoints: parseEndpoints(flags.endpoints),
      ...(token !== undefined && token !== '' ? { token } : {}),
      ...(tls !== undefined ? { tls } : {}),
      timeoutMs: durationOption(flags.timeout, '--timeout'),
      json: flags.json,
      out: (human, data) => process.stdout.write(flags.json ? `${JSON.stringify(data)}\n` : `${human}\n`),
    };
    if (ctx.timeoutMs <= 0) throw new UsageError('--timeout must be above 0');
    return await body(ctx);
  } catch (err) {
    return printError(err, flags.json, command);
  }
}
