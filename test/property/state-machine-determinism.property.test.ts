/**
 * Determinism, snapshot equivalence, exclusion and fencing tokens, and robustness of the lock
 * machine (docs/testing.md#property-tests).
 *
 * - Determinism: the same random entry sequence applied on several replicas gives identical
 *   snapshot bytes after every entry; replica 0 is replaced at random points by a fresh machine
 *   restored from its snapshot, so `restore(snapshot) + apply(rest) ≡ apply(everything)` is
 *   checked byte for byte against the replicas that never restored.
 * - At most one session holds a lock at any index; fencing tokens of successive grants strictly
 *   increase per lock, and across locks never go back (GrantChecker).
 * - Waits end neither early nor late: each is charged the log time it waits, except the jumps
 *   at (a bounded number of) leader changes (WaitChecker).
 * - Any entry data whatsoever: apply never throws, and bad data changes nothing.
 *
 * Negative controls: expiry by each replica's own clock (the simulator's `local-clock-expiry`)
 * breaks determinism; a machine reporting a grant while the lock is held, or a reused token,
 * breaks the grant checker; waits without leader-change grace (`noWaitGrace`), with more grace
 * than the bound, or a wait timeout that is never reported, break the wait checker.
 */
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry } from '../../src/state-machine/codec.js';
import { validateCommand } from '../../src/state-machine/commands.js';
import { LockMachine } from '../../src/state-machine/lock-machine.js';
import type { ApplyOutput, MachineEvent } from '../../src/state-machine/results.js';
import type { Command } from '../../src/state-machine/commands.js';
import { decodeSnapshot } from '../../src/state-machine/snapshot.js';
import { expectCaught } from './check.js';
import { arbHistory, runHistory, type RunOptions } from './state-machine-harness.js';
import { TEST_SECRET } from '../support/secrets.js';

function report<T>(name: string, out: fc.RunDetails<T>): void {
  const why = out.errorInstance instanceof Error ? out.errorInstance.message.split('\n')[0]?.slice(0, 160) : '';
  console.log(`negative control "${name}": caught at run ${out.numRuns} (seed ${out.seed}): ${why}`);
}

describe('determinism (identical snapshot bytes on every replica, restore ≡ replay)', () => {
  const prop = (opts: RunOptions) => fc.property(arbHistory(120), (steps) => runHistory(steps, { replicas: 3, bytes: true, ...opts }));

  it('3 replicas, snapshot/restore at random points, 300 histories', () => {
    fc.assert(prop({}), { numRuns: 300 });
  });

  it('negative control: expiry from each replica’s own clock is caught', () => {
    const clock = { now: 0 };
    // Each replica's clock is the leader's plus its own skew, as real clocks are.
    const out = fc.check(prop({ clock, machine: (k) => ({ unsafeTestingKnobs: { localClock: () => clock.now + k * 150 } }) }), {
      numRuns: 100,
      endOnFailure: true,
    });
    expectCaught(out, /snapshot bytes/);
    report('local-clock expiry', out);
  });
});

describe('mutual exclusion and fencing tokens', () => {
  const prop = (opts: RunOptions) => fc.property(arbHistory(200), (steps) => runHistory(steps, { tokens: true, ...opts }));

  it('one holder per lock at every index; tokens strictly increase per lock and never go back; 300 histories', () => {
    fc.assert(prop({}), { numRuns: 300 });
  });

  it('negative control: an acquire reported granted while another session holds the lock is caught', () => {
    const corrupt = (out: ApplyOutput, cmd: Command | undefined, index: number): ApplyOutput => {
      if (cmd?.type !== 'acquire' || !out.result.ok || (out.result.value as { status: string }).status !== 'queued') return out;
      return { ...out, result: { ok: true, value: { status: 'granted', token: index, acquiredAt: 0, expiresAt: 0 } } };
    };
    const out = fc.check(prop({ corrupt }), { numRuns: 300, endOnFailure: true });
    expectCaught(out, /exclusion/);
    report('grant while held', out);
  });

  it('negative control: a hand-off that reuses the released token is caught', () => {
    const corrupt = (out: ApplyOutput): ApplyOutput => {
      let last = 0;
      const events = out.events.map((e): MachineEvent => {
        if (e.type === 'lock-released') last = e.token;
        return e.type === 'granted' ? { ...e, token: last } : e;
      });
      return { ...out, events };
    };
    const out = fc.check(prop({ corrupt }), { numRuns: 300, endOnFailure: true });
    expectCaught(out, /tokens/);
    report('reused token', out);
  });
});

describe('waits end neither early nor late across leader changes', () => {
  const prop = (opts: RunOptions) => fc.property(arbHistory(200), (steps) => runHistory(steps, { waits: true, ...opts }));

  it('each wait times out exactly when its charged log time (leader-change jumps excepted, boundedly) reaches waitMs; 300 histories', () => {
    fc.assert(prop({}), { numRuns: 300 });
  });

  it('negative control: waits without leader-change grace time out early when a new leader’s clock is ahead', () => {
    const out = fc.check(prop({ machine: () => ({ unsafeTestingKnobs: { noWaitGrace: true } }) }), { numRuns: 300, endOnFailure: true });
    expectCaught(out, /timed out early/);
    report('no wait grace', out);
  });

  it('negative control: waits given more leader-change grace than the bound are caught', () => {
    // The machine allows 10 extensions; the checker holds it to SMALL_LIMITS' 2. It takes a wait
    // through three leader changes with a clock jump, which some seeds reach only after a few
    // hundred runs: the bound on runs is generous, and a catch ends the check at once.
    const out = fc.check(prop({ machine: () => ({ limits: { maxGraceExtensions: 10 } }) }), { numRuns: 3_000, endOnFailure: true });
    expectCaught(out, /still queued/);
    report('unbounded wait grace', out);
  });

  it('negative control: a wait that outlives its time (its timeout never reported) is caught', () => {
    const corrupt = (out: ApplyOutput): ApplyOutput => ({ ...out, events: out.events.filter((e) => e.type !== 'wait-timeout') });
    const out = fc.check(prop({ corrupt }), { numRuns: 300, endOnFailure: true });
    expectCaught(out, /still queued/);
    report('wait outlives its time', out);
  });
});

describe('robustness: any entry data is answered, never thrown on, and bad data changes nothing', () => {
  /** The machine after a few real entries, so there is state to (not) change. */
  function primed(): { m: LockMachine; next: number } {
    const m = new LockMachine();
    const cmds: Command[] = [
      { type: 'open-session', secret: TEST_SECRET, ttlMs: 10_000 },
      { type: 'acquire', session: 1, seq: 1, name: 'L', waitMs: 0 },
      { type: 'open-session', secret: TEST_SECRET, ttlMs: 10_000 },
      { type: 'acquire', session: 3, seq: 1, name: 'L', waitMs: 5_000 },
      { type: 'counter-add', session: 1, seq: 2, name: 'c', delta: 7 },
    ];
    cmds.forEach((cmd, k) =>
      m.apply({ index: k + 1, term: 1, type: 'normal', data: encodeEntry(1_000 + k, cmd) }, { index: k + 1, term: 1 }),
    );
    return { m, next: cmds.length + 1 };
  }
  const stateOf = (m: LockMachine): unknown => {
    const { appliedIndex: _i, ...rest } = decodeSnapshot(m.snapshot());
    return rest;
  };
  const valid = encodeEntry(2_000, {
    type: 'counter-cas',
    session: 1,
    seq: 3,
    ackedSeq: 1,
    name: 'c',
    expected: 7,
    next: 8,
    fence: { lock: 'L', token: 2 },
  });

  const arbData = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.anything().map((v) => Uint8Array.from(pack(v))),
    fc.record({ v: fc.constantFrom(1, 2), time: fc.oneof(fc.nat(), fc.double()), cmd: fc.anything() }).map((v) => Uint8Array.from(pack(v))),
    // A valid entry with bytes flipped, dropped or appended.
    fc.record({ at: fc.nat({ max: valid.length - 1 }), byte: fc.nat({ max: 255 }), how: fc.nat({ max: 2 }) }).map(({ at, byte, how }) => {
      if (how === 0) return Uint8Array.from(valid, (b, k) => (k === at ? byte : b));
      if (how === 1) return valid.slice(0, at);
      return Uint8Array.from([...valid, byte]);
    }),
  );

  it('apply returns a result for any bytes; an INVALID_ARGUMENT entry leaves the state as it was', () => {
    fc.assert(
      fc.property(arbData, (data) => {
        const { m, next } = primed();
        const before = stateOf(m);
        const out = m.apply({ index: next, term: 1, type: 'normal', data }, { index: next, term: 1 });
        if (!out.result.ok && out.result.code === 'INVALID_ARGUMENT' && decodeEntry(data).ok === false) {
          expect(out.events).toEqual([]);
          expect(stateOf(m)).toEqual(before);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('validateCommand never throws, and what it accepts re-validates to itself', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              type: fc.constantFrom('acquire', 'counter-add', 'open-session', 'expire-sessions'),
              session: fc.anything(),
              seq: fc.anything(),
              name: fc.anything(),
              waitMs: fc.anything(),
              delta: fc.anything(),
              ttlMs: fc.anything(),
              sessions: fc.anything(),
            },
            { requiredKeys: ['type'] },
          ),
        ),
        (v) => {
          const r = validateCommand(v);
          if (r.ok) expect(validateCommand(r.value)).toEqual(r);
          else expect(r.code).toBe('INVALID_ARGUMENT');
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
