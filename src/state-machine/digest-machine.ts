/**
 * The node's state machine until the lock and counter machine exists: it applies raw entries
 * by folding them into a running digest. Two replicas that applied the same entries report the
 * same (applied, digest) pair, which is what integration and chaos tests compare.
 */
import type { Entry } from '../raft/index.js';
import type { ApplyContext, StateMachine } from '../server/state-machine.js';

/** 64-bit FNV-1a over a byte string, as two 32-bit halves (no BigInt on the hot path). */
function fnv1a(hi: number, lo: number, bytes: Uint8Array): [number, number] {
  for (const b of bytes) {
    lo ^= b;
    // Multiply the 64-bit value (hi, lo) by the FNV prime 0x100000001b3.
    const loMul = Math.imul(lo, 0x1b3) >>> 0;
    const carry = Math.floor(((lo >>> 0) * 0x1b3) / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) >>> 0;
    lo = loMul;
  }
  return [hi >>> 0, lo >>> 0];
}

export interface DigestState {
  readonly applied: number;
  readonly entries: number;
  readonly digest: string;
}

export class DigestMachine implements StateMachine<DigestState> {
  private applied = 0;
  private entries = 0;
  private hi = 0xcbf29ce4;
  private lo = 0x84222325;

  apply(entry: Entry, context: ApplyContext): DigestState {
    this.applied = context.index;
    if (entry.type === 'normal') {
      this.entries++;
      [this.hi, this.lo] = fnv1a(this.hi, this.lo, entry.data);
    }
    return this.state();
  }

  state(): DigestState {
    return { applied: this.applied, entries: this.entries, digest: this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0') };
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ applied: this.applied, entries: this.entries, hi: this.hi, lo: this.lo }));
  }

  restore(data: Uint8Array): void {
    const s = JSON.parse(new TextDecoder().decode(data)) as { applied: number; entries: number; hi: number; lo: number };
    this.applied = s.applied;
    this.entries = s.entries;
    this.hi = s.hi;
    this.lo = s.lo;
  }
}
