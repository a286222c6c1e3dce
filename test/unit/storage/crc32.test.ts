/** The hand-rolled CRC-32 against the standard check value and, where present, zlib's. */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/raft/index.js';
import { crc32 } from '../../../src/storage/crc32.js';

describe('crc32', () => {
  it('matches the standard check value and the empty input', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('continues over chunks', () => {
    const all = new TextEncoder().encode('The quick brown fox jumps over the lazy dog');
    expect(crc32(all)).toBe(0x414fa339);
    expect(crc32(all.subarray(10), crc32(all.subarray(0, 10)))).toBe(crc32(all));
  });

  it('agrees with zlib.crc32 when this Node has it (20.15+)', () => {
    const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
    if (native === undefined) return;
    const rng = new SeededRandom(3);
    for (let k = 0; k < 50; k++) {
      const data = Uint8Array.from({ length: rng.nextInt(500) }, () => rng.nextInt(256));
      expect(crc32(data)).toBe(native(data));
    }
  });
});
