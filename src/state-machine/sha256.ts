/**
 * SHA-256 (FIPS 180-4) in plain JavaScript, for the one place where the state digest hashes a
 * secret: a session's secret enters the digest only as its SHA-256 (digest.ts). The digest's own
 * hash is fast but not one-way, and `/status`, which shows the digest, is readable by clients
 * that must not learn anything about a session's secret. The state machine uses no Node
 * built-in (its purity test), hence this rather than `node:crypto`; it runs once per session
 * opened, ended or restored, never per entry.
 */

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

// Scratch, reused: hashing is synchronous and never re-entered, and a secret is hashed whenever
// a session opens, ends or is restored (100,000 times in a restore of 100,000 sessions).
const w = new Int32Array(64);
const h = new Int32Array(8);
let padded = new Uint8Array(64);
const utf8 = new TextEncoder();

/** `text` as UTF-8, padded (0x80, zeros, the bit length as 64 bits big-endian) in `padded`. */
function pad(text: string): number {
  let len = text.length;
  let ascii = true;
  for (let k = 0; k < len && ascii; k++) ascii = text.charCodeAt(k) < 0x80;
  const data = ascii ? undefined : utf8.encode(text);
  if (data !== undefined) len = data.length;
  const size = Math.ceil((len + 9) / 64) * 64;
  if (padded.length < size) padded = new Uint8Array(size);
  padded.fill(0, 0, size);
  if (data !== undefined) padded.set(data);
  else for (let k = 0; k < len; k++) padded[k] = text.charCodeAt(k);
  padded[len] = 0x80;
  const bits = len * 8;
  padded[size - 5] = Math.floor(bits / 2 ** 32) & 0xff;
  for (let k = 0; k < 4; k++) padded[size - 1 - k] = (bits >>> (8 * k)) & 0xff;
  return size;
}

/** SHA-256 of the UTF-8 bytes of `text`, as eight 32-bit words (big-endian, as the standard). */
export function sha256Words(text: string): number[] {
  const size = pad(text);
  const p = padded;
  h.set(H0);
  for (let o = 0; o < size; o += 64) {
    for (let t = 0; t < 16; t++) {
      const i = o + t * 4;
      w[t] = ((p[i] as number) << 24) | ((p[i + 1] as number) << 16) | ((p[i + 2] as number) << 8) | (p[i + 3] as number);
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15] as number;
      const y = w[t - 2] as number;
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[t] = ((w[t - 16] as number) + s0 + (w[t - 7] as number) + s1) | 0;
    }
    let a = h[0] as number;
    let b = h[1] as number;
    let c = h[2] as number;
    let d = h[3] as number;
    let e = h[4] as number;
    let f = h[5] as number;
    let g = h[6] as number;
    let hh = h[7] as number;
    for (let t = 0; t < 64; t++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + (K[t] as number) + (w[t] as number)) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0] as number) + a;
    h[1] = (h[1] as number) + b;
    h[2] = (h[2] as number) + c;
    h[3] = (h[3] as number) + d;
    h[4] = (h[4] as number) + e;
    h[5] = (h[5] as number) + f;
    h[6] = (h[6] as number) + g;
    h[7] = (h[7] as number) + hh;
  }
  return Array.from(h, (x) => x >>> 0);
}
