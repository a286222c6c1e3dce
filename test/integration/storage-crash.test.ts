/**
 * Crash safety of LevelDurableLog across real process deaths: a child process writes synced
 * operations in a loop (./fixtures/storage-crash-child.ts) and is killed with SIGKILL at a
 * random moment, over and over, on the same directory. After every kill the parent reopens the
 * log (which verifies every record) and checks it equals the state after *some prefix* of the
 * operations the child began, a prefix that includes every operation the child reported
 * complete: nothing acknowledged is lost, nothing is half-applied, order is kept.
 *
 * Scope: SIGKILL loses the process, not the OS page cache, so this tests atomicity, ordering
 * and recovery of torn process state; it cannot test fsync against power loss.
 *
 * Seeded: set RAFTLOCK_CRASH_SEED to replay a seed's choices (kill timing still varies).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/raft/index.js';
import type { LoadedState } from '../../src/storage/durable-log.js';
import { LevelDurableLog } from '../../src/storage/level-durable-log.js';
import { MemoryDurableLog } from '../../src/storage/memory-durable-log.js';
import { StorageError } from '../../src/storage/storage-error.js';
import { CRASH_IDS, opFromWire, type CrashOp } from './fixtures/storage-crash-protocol.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/storage-crash-child.ts', import.meta.url));
const CYCLES = 24;
const SEED = Number(process.env.RAFTLOCK_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface ChildRun {
  readonly ready: boolean;
  readonly begun: Array<{ readonly seq: number; readonly op: CrashOp }>;
  readonly lastOk: number;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stderr: string;
}

/**
 * Runs one child on `path` and SIGKILLs it (by its PID, and only it) `killAfterMs` after it
 * reports ready, or after spawning when `beforeReady`. Resolves once it has exited and its
 * output is fully read. `whileReady` runs while the child is alive and has the log open.
 */
function runChild(
  path: string,
  seed: number,
  killAfterMs: number,
  beforeReady: boolean,
  whileReady?: () => Promise<void>,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, String(seed)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let ready = false;
    let lastOk = 0;
    const begun: Array<{ seq: number; op: CrashOp }> = [];
    let stderr = '';
    let buffered = '';
    let timer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    // Generous: a child that never gets ready is killed and reported, not waited on forever.
    const deadline = setTimeout(kill, 30_000);
    if (beforeReady) timer = setTimeout(kill, killAfterMs);
    const onLine = (line: string): void => {
      const [tag, seq, ...rest] = line.split(' ');
      if (tag === 'ready') {
        ready = true;
        if (!beforeReady) {
          if (whileReady !== undefined) {
            whileReady().then(kill, (err: unknown) => {
              kill();
              reject(err instanceof Error ? err : new Error(String(err)));
            });
          } else timer = setTimeout(kill, killAfterMs);
        }
      } else if (tag === 'begin') begun.push({ seq: Number(seq), op: opFromWire(rest.join(' ')) });
      else if (tag === 'ok') lastOk = Math.max(lastOk, Number(seq));
      else if (line !== '') stderr += `unexpected stdout line: ${line}\n`;
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    // 'close' fires after the process exited and its pipes are drained: every line is in.
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (timer !== undefined) clearTimeout(timer);
      onLine(buffered);
      resolve({ ready, begun, lastOk, signal, code, stderr });
    });
  });
}

/** Applies ops one by one to a memory log holding `start`; yields the state after each prefix. */
function* prefixStates(start: LoadedState, ops: readonly CrashOp[]): Generator<LoadedState> {
  const model = new MemoryDurableLog();
  const fail = (err: Error | null): void => {
    if (err !== null) throw err;
  };
  model.persist(
    { ...(start.snapshot.index > 0 ? { snapshot: start.snapshot } : {}), hardState: start.hardState, entries: start.entries, sync: true },
    fail,
  );
  yield model.load();
  for (const op of ops) {
    if (op.kind === 'compact') model.compact(op.meta, fail);
    else model.persist(op.batch, fail);
    yield model.load();
  }
}

function fingerprint(s: LoadedState): string {
  const dec = new TextDecoder();
  return JSON.stringify({
    hs: s.hardState,
    snap: s.snapshot,
    entries: s.entries.map((e) => `${e.index}/${e.term}/${e.type}/${dec.decode(e.data)}`),
  });
}

async function reopenAndLoad(path: string): Promise<LoadedState> {
  const log = await LevelDurableLog.open({ path, ...CRASH_IDS });
  try {
    return await log.load();
  } finally {
    await log.close();
  }
}

describe('LevelDurableLog under SIGKILL', () => {
  it(`keeps every acknowledged write and applies writes atomically and in order (${CYCLES} kill cycles)`, async () => {
    console.log(`storage-crash seed: ${SEED} (replay with RAFTLOCK_CRASH_SEED=${SEED})`);
    const rng = new SeededRandom(SEED);
    const dir = await mkdtemp(join(tmpdir(), 'raftlock-crash-'));
    dirs.push(dir);
    const path = join(dir, 'node-1');
    let state: LoadedState = {
      hardState: { term: 0, vote: 0, commit: 0 },
      snapshot: { index: 0, term: 0, confState: { voters: [], learners: [] } },
      entries: [],
    };
    const stats = { acked: 0, begun: 0, killedMidWrite: 0, killedBeforeReady: 0 };
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const beforeReady = rng.nextInt(6) === 0;
      const killAfterMs = beforeReady ? rng.nextInt(400) : rng.nextInt(250);
      const run = await runChild(path, rng.nextUint32(), killAfterMs, beforeReady);
      const where = `seed ${SEED}, cycle ${cycle}, kill after ${killAfterMs} ms${beforeReady ? ' from spawn' : ''}`;
      expect(run.signal, `${where}: child must die by our SIGKILL, not by itself (code ${run.code}):\n${run.stderr}`).toBe('SIGKILL');

      const recovered = await reopenAndLoad(path);
      const got = fingerprint(recovered);
      // The recovered log must be the state after some prefix j of the begun operations, with
      // j at least the last acknowledged one (acks are in order, seqs start at 1).
      let matched = -1;
      let j = 0;
      for (const s of prefixStates(
        state,
        run.begun.map((b) => b.op),
      )) {
        if (j >= run.lastOk && fingerprint(s) === got) {
          matched = j;
          break;
        }
        j++;
      }
      expect(
        matched,
        `${where}: recovered log (last ${recovered.snapshot.index + recovered.entries.length}) matches no prefix from ${run.lastOk} to ${run.begun.length} of the begun operations`,
      ).toBeGreaterThanOrEqual(run.lastOk);
      stats.acked += run.lastOk;
      stats.begun += run.begun.length;
      if (run.begun.length > run.lastOk) stats.killedMidWrite++;
      if (!run.ready) stats.killedBeforeReady++;
      state = recovered;
    }
    console.log(
      `storage-crash: ${CYCLES} kills, ${stats.begun} operations begun, ${stats.acked} acknowledged, ${stats.killedMidWrite} kills with writes in flight, ${stats.killedBeforeReady} before ready; final log ${state.snapshot.index}+${state.entries.length}`,
    );
    // Not a timing assertion: with this many cycles the child must have got work done at all.
    expect(stats.acked).toBeGreaterThan(0);
  }, 120_000);

  it('a second process cannot open a directory in use; the lock dies with the process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'raftlock-crash-lock-'));
    dirs.push(dir);
    const path = join(dir, 'node-1');
    let refused: unknown;
    const run = await runChild(path, 1, 0, false, async () => {
      refused = await LevelDurableLog.open({ path, ...CRASH_IDS }).then(
        async (log) => {
          await log.close();
          return undefined;
        },
        (err: unknown) => err,
      );
    });
    expect(run.signal).toBe('SIGKILL');
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as StorageError).code).toBe('STORAGE_LOCKED');
    expect((refused as StorageError).message).toContain(path);
    // The kernel released the dead child's lock: opening now works.
    await reopenAndLoad(path);
  }, 60_000);
});
