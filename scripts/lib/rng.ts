/** Seeded randomness for the scripts: the core's SeededRandom (src/raft) with `pick` and `shuffle`, so a run replays from its seed. */
import { SeededRandom } from '../../src/raft/index.js';

export class Rng {
  private readonly source: SeededRandom;

  constructor(seed: number) {
    this.source = new SeededRandom(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.source.nextFloat();
  }

  /** Uniform integer in [0, n); n must be a positive integer. */
  int(n: number): number {
    return this.source.nextInt(n);
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick: nothing to pick from');
    return xs[this.int(xs.length)] as T;
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}
