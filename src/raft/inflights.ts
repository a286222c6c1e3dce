/**
 * The window of append messages sent to one follower and not yet acknowledged, limited by count
 * and by bytes. It is what makes pipelining safe: the leader keeps sending while the window has
 * room and pauses when it is full, so a slow follower cannot make it buffer without bound.
 *
 * Implemented as a growable ring buffer; property-tested against a plain array in
 * test/property/inflights.property.test.ts.
 */
import { invariant } from './types.js';

export class Inflights {
  private indexes: number[] = [];
  private sizes: number[] = [];
  private start = 0;
  private countValue = 0;
  private bytesValue = 0;

  /**
   * @param maxCount most messages in flight (≥ 1)
   * @param maxBytes most payload bytes in flight; 0 means unlimited. One message larger than the
   *   limit is still allowed when the window is empty, or nothing could ever be sent.
   */
  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {
    invariant(Number.isSafeInteger(maxCount) && maxCount >= 1, () => `inflights maxCount ${maxCount} < 1`);
    invariant(Number.isSafeInteger(maxBytes) && maxBytes >= 0, () => `inflights maxBytes ${maxBytes} < 0`);
  }

  /** Messages in flight. */
  get count(): number {
    return this.countValue;
  }

  /** Payload bytes in flight. */
  get bytes(): number {
    return this.bytesValue;
  }

  /** True when no further message may be sent until some are acknowledged. */
  full(): boolean {
    return this.countValue >= this.maxCount || (this.maxBytes > 0 && this.bytesValue >= this.maxBytes);
  }

  /**
   * Records a sent message whose last entry has `index`. Indexes must increase: a leader sends
   * entries in log order. Adding to a full window is a caller bug.
   */
  add(index: number, bytes: number): void {
    invariant(!this.full(), () => 'inflights: add to a full window');
    if (this.countValue > 0) {
      const last = this.indexes[(this.start + this.countValue - 1) % this.indexes.length];
      invariant(last !== undefined && index > last, () => `inflights: index ${index} not above last ${String(last)}`);
    }
    if (this.countValue === this.indexes.length) this.grow();
    const slot = (this.start + this.countValue) % this.indexes.length;
    this.indexes[slot] = index;
    this.sizes[slot] = bytes;
    this.countValue++;
    this.bytesValue += bytes;
  }

  /** Frees every message whose last index is ≤ `index` (they are acknowledged). */
  freeLE(index: number): void {
    while (this.countValue > 0) {
      const i = this.indexes[this.start];
      if (i === undefined || i > index) break;
      this.bytesValue -= this.sizes[this.start] ?? 0;
      this.start = (this.start + 1) % this.indexes.length;
      this.countValue--;
    }
    if (this.countValue === 0) this.start = 0;
  }

  /** Forgets everything in flight (the follower's state was reset). */
  reset(): void {
    this.start = 0;
    this.countValue = 0;
    this.bytesValue = 0;
  }

  /** The last indexes of the messages in flight, oldest first (for status and tests). */
  snapshot(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.countValue; k++) {
      const v = this.indexes[(this.start + k) % this.indexes.length];
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  private grow(): void {
    const capacity = Math.min(Math.max(this.indexes.length * 2, 4), this.maxCount);
    const indexes: number[] = new Array<number>(capacity);
    const sizes: number[] = new Array<number>(capacity);
    for (let k = 0; k < this.countValue; k++) {
      const from = (this.start + k) % this.indexes.length;
      indexes[k] = this.indexes[from] ?? 0;
      sizes[k] = this.sizes[from] ?? 0;
    }
    this.indexes = indexes;
    this.sizes = sizes;
    this.start = 0;
  }
}
