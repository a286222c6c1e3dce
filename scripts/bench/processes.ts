/**
 * Server processes the benchmark starts itself: spawned with their output in a log file, and
 * stopped only by the PID recorded at spawn (SIGTERM, then SIGKILL after a grace period). A
 * process-exit hook kills whatever is still running, so an aborted benchmark leaves nothing
 * behind. Also: free loopback ports, and CPU time of a PID from /proc.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** One child process started by the benchmark. */
export class ServerProcess {
  private exited: Promise<number | null>;
  private alive = true;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
    /** Where its stdout and stderr go. */
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.alive = false;
        LIVE.delete(this);
        resolve(code ?? (signal !== null ? -1 : null));
      });
    });
    LIVE.add(this);
  }

  /** Spawns `command args` with stdout and stderr appended to `logFile`. */
  static start(label: string, command: string, args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env, cwd?: string): ServerProcess {
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(command, [...args], { stdio: ['ignore', fd, fd], env, ...(cwd !== undefined ? { cwd } : {}) });
      if (child.pid === undefined) throw new Error(`could not start ${label} (${command})`);
      return new ServerProcess(label, child, logFile);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.alive;
  }

  /** Resolves with the exit code once the process has exited. */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  /** SIGTERM (graceful), then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.exited, timer])) === 'timeout' && this.alive) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** SIGKILL, at once. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The last `lines` lines of its log (for error messages). */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Kills every process still running (synchronous: safe in an exit hook). */
  static killAll(): void {
    for (const p of LIVE) {
      try {
        p.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

const LIVE = new Set<ServerProcess>();
process.once('exit', () => ServerProcess.killAll());

export { freePorts, sleep, waitUntil } from '../process-support.js';

/** Clock ticks per second of /proc times (`getconf CLK_TCK`; 100 on Linux in practice). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) used so far by `pid`, or NaN if it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Whole-machine CPU counters from /proc/stat: total and busy (non-idle, non-iowait) seconds. */
export function machineCpuSeconds(): { total: number; busy: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1, 9).map(Number) ?? [];
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { total: total / CLK_TCK, busy: (total - idle) / CLK_TCK };
  } catch {
    return { total: NaN, busy: NaN };
  }
}

