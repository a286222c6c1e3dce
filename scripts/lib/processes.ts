/**
 * Child processes this process starts, with output in a log file, signalled only by the PID
 * recorded at spawn and SIGKILLed if still running when this process exits; plus CPU time read
 * from /proc.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

/** One child process started here. */
export class ServerProcess {
  private readonly exited: Promise<number | null>;
  private alive = true;
  private stopped = false;
  private frozen = false;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
    /** Where its stdout and stderr go. */
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.alive = false;
        this.frozen = false;
        LIVE.delete(this);
        resolve(code ?? (signal !== null ? -1 : null));
      });
    });
    LIVE.add(this);
  }

  /** Spawns `command args` with stdout and stderr appended to `logFile`. */
  static start(
    label: string,
    command: string,
    args: readonly string[],
    logFile: string,
    env: NodeJS.ProcessEnv = process.env,
    cwd?: string,
  ): ServerProcess {
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

  /** Whether it exited without being told to ({@link stop} or {@link kill}). */
  get crashed(): boolean {
    return !this.alive && !this.stopped;
  }

  /** Whether it is frozen by {@link pause}. */
  get paused(): boolean {
    return this.frozen;
  }

  /** Resolves with the exit code (-1 if killed by a signal) once the process has exited. */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  /** SIGTERM (graceful), then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.stopped = true;
    this.signal('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.exited, timer])) === 'timeout' && this.alive) {
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  /** Sends `signal` (SIGKILL unless told otherwise) and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    this.stopped = true;
    this.signal(signal);
    await this.exited;
  }

  /** Freezes it (SIGSTOP): its sockets stay open but it answers nothing. */
  pause(): void {
    if (!this.alive || this.frozen) return;
    this.child.kill('SIGSTOP');
    this.frozen = true;
  }

  /** Thaws it (SIGCONT) after {@link pause}. */
  resume(): void {
    if (!this.alive || !this.frozen) return;
    this.child.kill('SIGCONT');
    this.frozen = false;
  }

  /** A frozen process gets SIGCONT after the signal, so that it can act on it. */
  private signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
    if (this.frozen && signal !== 'SIGKILL') this.resume();
  }

  /** The last `lines` lines of its log (for error messages and log assertions). */
  logTail(lines = 20): string {
    return tailOfFile(this.logFile, lines);
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

/** The last `lines` lines of a text file, reading at most its last 1 MiB. */
export function tailOfFile(path: string, lines: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '(no log)';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 1 << 20);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}

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
