/**
 * The state digest (docs/design.md#the-state-digest): `LockMachine.digest()` is kept up to date
 * as the state changes, and must always equal the digest computed from scratch from the
 * machine's snapshot (`digestOfState`), on every replica, after every entry and every restore.
 *
 * - Random histories (the harness of the determinism and model properties) on 3 replicas; replica
 *   0 is replaced now and then by a machine restored from its snapshot. After each entry: each
 *   replica's digest equals the one from scratch of its own snapshot, the replicas' digests are
 *   equal, and within the history no digest stands for two different snapshots.
 * - Negative control: `staleDigest` (counter deletes do not update the digest) is caught.
 *
 * That each field of each record is hashed at all is test/unit/state-machine/digest.test.ts.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { digestOfState } from '../../src/state-machine/digest.js';
import type { LockMachine } from '../../src/state-machine/lock-machine.js';
import { decodeSnapshot } from '../../src/state-machine/snapshot.js';
import { expectCaught, holds, same } from './check.js';
import { arbHistory, runHistory, type RunOptions } from './state-machine-harness.js';

/** The digest checks over one history; `seen` maps each digest to the snapshot it stood for. */
function digestCheck(): NonNullable<RunOptions['check']> {
  const seen = new Map<string, string>();
  return (machines: readonly LockMachine[], where: string): void => {
    const first = machines[0]!.digest();
    machines.forEach((m, k) => {
      const bytes = m.snapshot();
      const digest = m.digest();
      same(digest, digestOfState(decodeSnapshot(bytes)), `${where}: replica ${k}: digest kept up to date vs from scratch`);
      if (k > 0) same(digest, first, `${where}: replica ${k}: digest vs replica 0's`);
      const key = Buffer.from(bytes).toString('base64');
      const before = seen.get(digest);
      holds(before === undefined || before === key, () => `${where}: replica ${k}: digest ${digest} stands for two different snapshots`);
      seen.set(digest, key);
    });
  };
}

/**
 * The size accounting (docs/design.md#limits): a snapshot never takes more bytes than the
 * records' accounted size plus a small header, and replicas account the same. `scale` < 1 is
 * the negative control: an accounting that small must be caught.
 */
const SNAPSHOT_HEADER_BYTES = 256;
function sizeCheck(scale = 1): NonNullable<RunOptions['check']> {
  return (machines: readonly LockMachine[], where: string): void => {
    const first = machines[0]!.stateBytes;
    machines.forEach((m, k) => {
      const bytes = m.snapshot().length;
      const accounted = m.stateBytes * scale;
      holds(bytes <= accounted + SNAPSHOT_HEADER_BYTES, () => `${where}: replica ${k}: snapshot ${bytes} bytes > accounted ${accounted}`);
      same(m.stateBytes, first, `${where}: replica ${k}: accounted size vs replica 0's`);
    });
  };
}

function report<T>(name: string, out: fc.RunDetails<T>): void {
  const why = out.errorInstance instanceof Error ? out.errorInstance.message.split('\n')[0]?.slice(0, 160) : '';
  console.log(`negative control "${name}": caught at run ${out.numRuns} (seed ${out.seed}): ${why}`);
}

describe('state digest (kept up to date ≡ from scratch, equal on replicas, one snapshot per digest)', () => {
  const prop = (opts: RunOptions) =>
    fc.property(arbHistory(120), (steps) => runHistory(steps, { replicas: 3, ...opts, check: digestCheck() }));

  it('3 replicas, snapshot/restore at random points, 300 histories', () => {
    fc.assert(prop({}), { numRuns: 300 });
  });

  it('the accounted state size bounds the snapshot, equal on replicas, 300 histories', () => {
    fc.assert(
      fc.property(arbHistory(120), (steps) => runHistory(steps, { replicas: 3, check: sizeCheck() })),
      { numRuns: 300 },
    );
  });

  it('negative control: an accounting a quarter of the real one is caught', () => {
    const out = fc.check(
      fc.property(arbHistory(120), (steps) => runHistory(steps, { replicas: 3, check: sizeCheck(0.25) })),
      { numRuns: 300, endOnFailure: true },
    );
    expectCaught(out, /accounted/);
    report('undercounted size', out);
  });

  it('negative control: a digest that misses counter deletes (staleDigest) is caught', () => {
    const out = fc.check(prop({ machine: () => ({ unsafeTestingKnobs: { staleDigest: true } }) }), { numRuns: 300, endOnFailure: true });
    expectCaught(out, /digest kept up to date vs from scratch/);
    report('stale digest', out);
  });
});
