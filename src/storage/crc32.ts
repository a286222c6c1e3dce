/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zlib, PNG and gzip.
 *
 * `zlib.crc32` computes it natively from Node 20.15 / 22.2; older runtimes get the same function
 * hand-rolled (a 256-entry table, one byte at a time), so the on-disk format does not depend on
 * the runtime's minor version. The native one matters at boot, when every record of the log is
 * checked: a tenth of the time of opening a 100,000-entry log went to the table loop.
 */
import * as zlib from 'node:zlib';

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32 of `data`, as an unsigned 32-bit integer. Pass a previous result as `previous` to
 * continue over several chunks: `crc32(b, crc32(a)) === crc32(concat(a, b))`.
 */
export const crc32: (data: Uint8Array, previous?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (data, previous = 0) => (zlib as unknown as { crc32(d: Uint8Array, v: number): number }).crc32(data, previous)
    : crc32Table;

/** {@link crc32} by table, for runtimes without `zlib.crc32` (and to check the native one). */
export function crc32Table(data: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) {
    // Both indexes are in range by construction; `?? 0` only satisfies noUncheckedIndexedAccess.
    c = (TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
