/**
 * A tiny log driver for the lock machine's unit tests: it numbers entries, keeps the term and
 * the leader's clock, wraps commands in the entry envelope and tracks each session's next seq.
 */
import type { Entry, EntryType } from '../../../src/raft/index.js';
import { encodeEntry } from '../../../src/state-machine/codec.js';
import type { Command, WriteCommand } from '../../../src/state-machine/commands.js';
import type { Failure } from '../../../src/state-machine/errors.js';
import { LockMachine, type LockMachineOptions } from '../../../src/state-machine/lock-machine.js';
import type { ApplyOutput, CommandResult, CommandValue, OpenSessionValue } from '../../../src/state-machine/results.js';
import { digestOfState } from '../../../src/state-machine/digest.js';
import { decodeSnapshot } from '../../../src/state-machine/snapshot.js';
import { TEST_SECRET } from '../../support/secrets.js';

/** A write command without its session/seq (the driver fills them in). */
export type WriteBody = WriteCommand extends infer C ? (C extends WriteCommand ? Omit<C, 'session' | 'seq'> : never) : never;

export class Driver {
  readonly m: LockMachine;
  index = 0;
  term = 1;
  /** The leader's clock: the time stamp the next entry carries. */
  time = 1_000_000;
  private readonly seqs = new Map<number, number>();

  constructor(options: LockMachineOptions = {}) {
    this.m = new LockMachine(options);
  }

  entry(type: EntryType, data: Uint8Array): ApplyOutput {
    this.index++;
    const e: Entry = { index: this.index, term: this.term, type, data };
    return this.m.apply(e, { index: e.index, term: e.term });
  }

  /** Applies `cmd` stamped with the current clock (or `time`). */
  apply(cmd: Command, time = this.time): ApplyOutput {
    return this.entry('normal', encodeEntry(time, cmd));
  }

  raw(data: Uint8Array): ApplyOutput {
    return this.entry('normal', data);
  }

  /** A leader change: the term goes up and the new leader's no-op is applied. */
  election(): ApplyOutput {
    this.term++;
    return this.entry('noop', new Uint8Array(0));
  }

  advance(ms: number): this {
    this.time += ms;
    return this;
  }

  open(ttlMs = 10_000, clientId?: string): number {
    const out = this.apply(
      clientId === undefined
        ? { type: 'open-session', secret: TEST_SECRET, ttlMs }
        : { type: 'open-session', secret: TEST_SECRET, ttlMs, clientId },
    );
    return value<OpenSessionValue>(out.result).sessionId;
  }

  nextSeq(session: number): number {
    const seq = (this.seqs.get(session) ?? 0) + 1;
    this.seqs.set(session, seq);
    return seq;
  }

  /** Applies a write of `session` with its next seq (or the given one). */
  write(session: number, body: WriteBody, seq = this.nextSeq(session)): ApplyOutput {
    return this.apply({ ...body, session, seq });
  }

  keepAlive(session: number): ApplyOutput {
    return this.apply({ type: 'keep-alive', session });
  }

  tick(): ApplyOutput {
    return this.apply({ type: 'tick' });
  }

  /** The replicated state without the applied index (which every entry changes). */
  state(): unknown {
    const { appliedIndex: _ignored, ...rest } = decodeSnapshot(this.m.snapshot());
    return rest;
  }
}

/** The value of a success, or throw. */
export function value<T = CommandValue>(r: CommandResult): T {
  if (!r.ok) throw new Error(`expected success, got ${r.code}: ${r.message}`);
  return r.value as T;
}

/** The failure, or throw. */
export function failure(r: CommandResult): Failure {
  if (r.ok) throw new Error(`expected failure, got ${JSON.stringify(r.value)}`);
  return r;
}

/** A driver with `n` sessions of `ttl` open. */
export function withSessions(n = 3, ttl = 60_000): { d: Driver; s: number[] } {
  const d = new Driver();
  const s = Array.from({ length: n }, () => d.open(ttl));
  return { d, s };
}

/** Throws unless the machine's O(1) digest equals the digest of its state, computed from its snapshot. */
export function checkDigestOfState(d: Driver): void {
  const want = digestOfState(decodeSnapshot(d.m.snapshot()));
  if (d.m.digest() !== want) throw new Error(`digest ${d.m.digest()} is not that of the state (${want})`);
}
