/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zlib, PNG and gzip.
 *
 * Hand-rolled rather than `zlib.crc32` because that only exists from Node 20.15 / 22.2 and the
 * on-disk format must not depend on the runtime's minor version. A 256-entry table, one byte at
 * a time: plenty fast for log records (the disk write dominates by orders of magnitude).
 */

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
export function crc32(data: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) {
    // Both indexes are in range by construction; `?? 0` only satisfies noUncheckedIndexedAccess.
    c = (TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
