/**
 * The chaos run's shared clock orders events of different processes as they happened: a child
 * process's reading, taken between a message from this process and its answer, falls between
 * this process's readings before the message and after the answer. Checked on 6 processes
 * started together with `--import tsx`, like the chaos workers (where `performance.timeOrigin +
 * performance.now()` was seen to disagree by up to 22 ms on a busy machine), with a negative
 * control: a clock 3 ms off in the child is caught.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedNow } from '../../../scripts/lib/chaos/shared-clock.js';

const CLOCK_MODULE = fileURLToPath(new URL('../../../scripts/lib/chaos/shared-clock.ts', import.meta.url));

/** A child that answers each message with its shared clock's reading plus `skewMs`. */
function startChild(skewMs: number): ChildProcess {
  const source = `import { sharedNow } from ${JSON.stringify(CLOCK_MODULE)};
    process.on('message', () => process.send(sharedNow() + ${skewMs}));
    process.send('ready');`;
  return fork('--input-type=module', [], { execArgv: ['--import', 'tsx', '-e', source], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

function next(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve) => child.once('message', resolve));
}

/** Round trips to `child`; how many of its readings fell outside [sent, answered] on this process's clock. */
async function misordered(child: ChildProcess, rounds: number): Promise<number> {
  let bad = 0;
  for (let i = 0; i < rounds; i++) {
    const sent = sharedNow();
    const answer = next(child);
    child.send('now?');
    const theirs = (await answer) as number;
    const answered = sharedNow();
    if (theirs < sent || theirs > answered) bad++;
  }
  return bad;
}

async function withChildren(n: number, skewMs: number, rounds: number): Promise<number[]> {
  const children = Array.from({ length: n }, () => startChild(skewMs));
  try {
    await Promise.all(children.map((c) => next(c)));
    return await Promise.all(children.map((c) => misordered(c, rounds)));
  } finally {
    for (const c of children) c.kill();
  }
}

describe('sharedNow', () => {
  it('orders readings of 6 processes started together as their messages were', async () => {
    expect(await withChildren(6, 0, 50)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('negative control: a child whose clock is 3 ms off is caught', async () => {
    for (const bad of await withChildren(2, 3, 20)) expect(bad).toBeGreaterThan(0);
  });
});
