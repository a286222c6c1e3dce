/**
 * The core's only source of randomness: an injected, seeded generator.
 *
 * Raft needs randomness for one thing, election timeout jitter (§5.2). Taking it as a
 * parameter instead of calling `Math.random` is what lets a simulator replay a whole cluster
 * bit for bit from one seed.
 */
export interface RandomSource {
  /** A uniformly distributed integer in [0, maxExclusive). `maxExclusive` ≥ 1. */
  nextInt(maxExclusive: number): number;
}

/**
 * A small, fast, seedable generator (SplitMix32-style mixing over a 32-bit counter state).
 * Statistical quality is ample for jitter and test schedules; it is not for cryptography.
 */
export class SeededRandom implements RandomSource {
  private state: number;

  constructor(seed: number) {
    // Fold the seed into 32 bits so any safe integer is a valid, distinct-ish seed.
    this.state = (seed ^ Math.floor(seed / 0x100000000)) >>> 0;
  }

  /** Next 32-bit unsigned value. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  nextInt(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1) {
      throw new RangeError(`nextInt: maxExclusive must be a positive integer, got ${maxExclusive}`);
    }
    // Two draws give 53 bits, so the modulo bias is negligible for any realistic bound.
    const high = this.nextUint32() >>> 11; // 21 bits
    const low = this.nextUint32(); // 32 bits
    return (high * 0x100000000 + low) % maxExclusive;
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }
}
