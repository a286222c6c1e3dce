/** CRC-32 (native where Node has it, else by table) against the standard check values, and the table against zlib's. */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/raft/index.js';
import { crc32, crc32Table } from '../../../src/storage/crc32.js';

describe('crc32', () => {
  for (const [name, f] of [
    ['crc32', crc32],
    ['crc32Table', crc32Table],
  ] as const) {
    it(`${name} matches the standard check value and the empty input`, () => {
      expect(f(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
      expect(f(new Uint8Array(0))).toBe(0);
    });

    it(`${name} continues over chunks`, () => {
      const all = new TextEncoder().encode('The quick brown fox jumps over the lazy dog');
      expect(f(all)).toBe(0x414fa339);
      expect(f(all.subarray(10), f(all.subarray(0, 10)))).toBe(f(all));
    });
  }

  it('agrees with zlib.crc32 when this Node has it (20.15+)', () => {
    const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
    if (native === undefined) return;
    const rng = new SeededRandom(3);
    for (let k = 0; k < 50; k++) {
      const data = Uint8Array.from({ length: rng.nextInt(500) }, () => rng.nextInt(256));
      expect(crc32Table(data)).toBe(native(data));
      expect(crc32(data)).toBe(native(data));
    }
  });
});
