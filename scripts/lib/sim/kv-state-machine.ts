/** The simulator's key/value register state machine; every apply is reported to the invariant checker. */
/**
 * The simulator's test state machine: a key/value register. Commands are JSON
 * `{ k: key, v: value }` writes; reads go through the host's ReadIndex and look at `get`.
 * Every apply is reported to an observer so the invariant checker sees each replica's applied
 * sequence.
 */
import type { ApplyContext, Entry, StateMachine } from '../../../src/raft/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface KvWrite {
  readonly k: string;
  readonly v: number;
}

export function encodeWrite(w: KvWrite): Uint8Array {
  return encoder.encode(JSON.stringify(w));
}

/** Called for every applied entry, and with the snapshot's index when state is restored. */
export interface ApplyObserver {
  applied(entry: Entry): void;
  restored(index: number): void;
}

export class KvStateMachine implements StateMachine<null> {
  private values = new Map<string, number>();
  /** Index of the last applied entry: part of snapshots so restores are observable exactly. */
  private appliedIndex = 0;

  constructor(private readonly observe: ApplyObserver) {}

  apply(entry: Entry, context: ApplyContext): null {
    this.observe.applied(entry);
    this.appliedIndex = context.index;
    if (entry.type !== 'normal') return null;
    const w = JSON.parse(decoder.decode(entry.data)) as KvWrite;
    this.values.set(w.k, w.v);
    return null;
  }

  get(key: string): number | null {
    return this.values.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    const entries = [...this.values.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    return encoder.encode(JSON.stringify({ index: this.appliedIndex, entries }));
  }

  restore(data: Uint8Array): void {
    const s = JSON.parse(decoder.decode(data)) as { index: number; entries: Array<[string, number]> };
    this.values = new Map(s.entries);
    this.appliedIndex = s.index;
    this.observe.restored(s.index);
  }
}
