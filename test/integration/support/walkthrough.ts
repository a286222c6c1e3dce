/**
 * Runs a document's shell walkthrough as a reader would: the blocks a document marks as
 * runnable, taken from its text as written, typed in order into one long-lived `bash`, so that
 * what one step exports or keeps in a variable (`node1=$!`) is there for the next.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One runnable block: the marker's name, its text (dedented), and the line of its fence. */
export interface MarkedBlock {
  readonly name: string;
  readonly text: string;
  readonly line: number;
}

/**
 * The ```sh blocks of `markdown` that follow a `<!-- TAG: name -->` comment (blank lines may
 * separate the two), in document order. Unmarked blocks are prose examples and are skipped.
 * Throws on a marker that no ```sh block follows, an unclosed block, or a name used twice: a
 * walkthrough that cannot be read as intended must not run as something else.
 */
export function markedBlocks(markdown: string, tag: string): MarkedBlock[] {
  const lines = markdown.split('\n');
  const marker = new RegExp(`^\\s*<!--\\s*${tag}:\\s*([a-z0-9][a-z0-9-]*)\\s*-->\\s*$`);
  const blocks: MarkedBlock[] = [];
  for (let k = 0; k < lines.length; k++) {
    const name = marker.exec(lines[k] ?? '')?.[1];
    if (name === undefined) continue;
    let f = k + 1;
    while (f < lines.length && (lines[f] ?? '').trim() === '') f++;
    const fence = /^(\s*)```sh\s*$/.exec(lines[f] ?? '');
    if (fence === null) throw new Error(`line ${k + 1}: the marker "${name}" is not followed by a \`\`\`sh block`);
    const indent = fence[1] ?? '';
    const body: string[] = [];
    let end = f + 1;
    for (; end < lines.length && (lines[end] ?? '').trim() !== '```'; end++) {
      const line = lines[end] ?? '';
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    if (end >= lines.length) throw new Error(`line ${f + 1}: the block "${name}" is never closed`);
    if (blocks.some((b) => b.name === name)) throw new Error(`line ${k + 1}: the marker name "${name}" is used twice`);
    blocks.push({ name, text: `${body.join('\n')}\n`, line: f + 1 });
    k = end;
  }
  return blocks;
}

/** Whether `pid` is a live (not zombie) process whose command line contains `needle`. */
export function runningWith(pid: number, needle: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return false;
  }
}

/** Why a step did not finish: the shell stopped on a failing command, exited, or ran out of time. */
export class StepFailed extends Error {}

/**
 * One `bash` that runs the steps, with `set -e` (a failing command stops the walkthrough, as
 * it stops a careful reader) and `set -x` (its stderr shows which command ran last). Each step
 * is written to a file and sourced by one line, so nothing of a step waits in the shell's stdin
 * while its commands run. After each step, and when a command fails, the shell reports the PIDs
 * of its background jobs: {@link pids} collects them, so that the caller can stop whatever the
 * steps left running, by PID.
 */
export class WalkthroughShell {
  private readonly child: ChildProcessWithoutNullStreams;
  private stdout = '';
  private stderr = '';
  private exitCode: number | null | undefined;
  private steps = 0;
  private readonly nonce = Math.random().toString(36).slice(2);
  /** Every background job PID the shell has reported. */
  readonly pids = new Set<number>();

  constructor(
    private readonly dir: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn('bash', ['--norc', '--noprofile'], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.child.on('exit', (code, signal) => (this.exitCode = code ?? (signal !== null ? -1 : null)));
    this.child.stdin.write(
      [
        'set -e -x',
        `__walkthrough_pids() { jobs -p | tr '\\n' ' '; }`,
        `trap 'printf "\\n@@failed-${this.nonce} %s %s\\n" "$?" "$(__walkthrough_pids)"' ERR`,
        '',
      ].join('\n'),
    );
  }

  /**
   * Runs `block` and resolves with what it printed on stdout once its last command has
   * finished. Rejects with {@link StepFailed} (with the shell's stderr tail) if a command fails,
   * the shell exits, or `timeoutMs` passes.
   */
  async run(block: MarkedBlock, timeoutMs: number): Promise<string> {
    const file = join(this.dir, `.step-${++this.steps}-${block.name}.sh`);
    writeFileSync(file, block.text);
    const from = this.stdout.length;
    const done = `@@done-${this.nonce}`;
    this.child.stdin.write(`. '${file}'; printf '\\n${done} %s\\n' "$(__walkthrough_pids)"\n`);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const out = this.stdout.slice(from);
      const failed = new RegExp(`\\n@@failed-${this.nonce} (\\d+) ([\\d ]*)\\n`).exec(out);
      const end = failed ?? new RegExp(`\\n${done} ([\\d ]*)\\n`).exec(out);
      if (end !== null) {
        for (const pid of (end[end.length - 1] ?? '').split(' ').filter((p) => p !== '')) this.pids.add(Number(pid));
        if (failed !== null) throw this.failure(block, `a command exited with code ${failed[1]}`);
        return out.slice(0, end.index);
      }
      if (this.exitCode !== undefined) throw this.failure(block, `the shell exited (code ${this.exitCode})`);
      if (performance.now() > deadline) throw this.failure(block, `it did not finish within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private failure(block: MarkedBlock, what: string): StepFailed {
    const tail = this.stderr.trimEnd().split('\n').slice(-25).join('\n');
    return new StepFailed(
      `step "${block.name}" (the block at line ${block.line} of the document): ${what}; the shell's stderr ends with:\n${tail}`,
    );
  }

  /**
   * Ends the shell: its stdin closes, and a shell still busy with a step after `graceMs` gets
   * SIGKILL (it is our own child). Background jobs it started are left to the caller.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.exitCode !== undefined) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
