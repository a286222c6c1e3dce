/**
 * Seeded frame generators shared by the fuzz tests: random bytes, and mutations of a valid
 * frame (bit flips, truncation, extension, insertion, overwrite). FUZZ_SEED replays a run.
 */
import { SeededRandom } from '../../../src/raft/index.js';

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

export interface Fuzzer {
  readonly rnd: SeededRandom;
  readonly randomBytes: (n: number) => Buffer;
  readonly mutate: (frame: Uint8Array) => Buffer;
}

export function createFuzzer(seed: number = FUZZ_SEED): Fuzzer {
  const rnd = new SeededRandom(seed);
  const randomBytes = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let k = 0; k < n; k++) b[k] = rnd.nextInt(256);
    return b;
  };
  const mutate = (frame: Uint8Array): Buffer => {
    const b = Buffer.from(frame);
    switch (rnd.nextInt(5)) {
      case 0:
        for (let k = 0, n = 1 + rnd.nextInt(4); k < n && b.length > 0; k++) {
          const i = rnd.nextInt(b.length);
          b[i] = (b[i] ?? 0) ^ (1 << rnd.nextInt(8));
        }
        return b;
      case 1:
        return b.subarray(0, rnd.nextInt(Math.max(1, b.length)));
      case 2:
        return Buffer.concat([b, randomBytes(1 + rnd.nextInt(64))]);
      case 3: {
        const i = rnd.nextInt(b.length + 1);
        return Buffer.concat([b.subarray(0, i), randomBytes(1 + rnd.nextInt(16)), b.subarray(i)]);
      }
      default: {
        const i = rnd.nextInt(Math.max(1, b.length));
        randomBytes(Math.min(8, b.length - i)).copy(b, i);
        return b;
      }
    }
  };
  return { rnd, randomBytes, mutate };
}
