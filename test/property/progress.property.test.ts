/**
 * Progress (src/raft/progress.ts): the leader's flow-control state machine for one follower,
 * under random sequences of sentEntries / maybeUpdate / maybeDecrTo / becomeProbe /
 * becomeReplicate / becomeSnapshot. Checked after every step:
 *   - next > match, and match never decreases;
 *   - paused semantics per state: probe ⇔ probeSent, replicate ⇔ inflights full, snapshot always;
 *   - each operation's postcondition (what it returns and what it changes, or leaves alone).
 *
 * Negative control: a Progress whose probe-state maybeDecrTo forgets the `match + 1` floor must
 * be caught.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { Progress } from '../../src/raft/progress.js';
import { expectCaught, holds, same } from './check.js';

type Op =
  | { kind: 'sent'; count: number; bytes: number }
  | { kind: 'update'; r: number }
  | { kind: 'decr'; answersProbe: boolean; r: number; hint: number }
  | { kind: 'probe' }
  | { kind: 'replicate' }
  | { kind: 'snapshot'; r: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('sent' as const),
      count: fc.integer({ min: 0, max: 3 }),
      bytes: fc.integer({ min: 0, max: 60 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('update' as const), r: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('decr' as const), answersProbe: fc.boolean(), r: fc.nat(), hint: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('probe' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replicate' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), r: fc.nat() }) },
);

interface Snap {
  match: number;
  next: number;
  state: Progress['state'];
  probeSent: boolean;
  pendingSnapshot: number;
  inflight: number[];
}

const snap = (p: Progress): Snap => ({
  match: p.match,
  next: p.next,
  state: p.state,
  probeSent: p.probeSent,
  pendingSnapshot: p.pendingSnapshot,
  inflight: p.inflights.snapshot(),
});

function checkInvariants(p: Progress, before: Snap): void {
  holds(p.next > p.match, () => `next ${p.next} not above match ${p.match}`);
  holds(p.match >= before.match, () => `match decreased from ${before.match} to ${p.match}`);
  switch (p.state) {
    case 'probe':
      same(p.isPaused(), p.probeSent, 'probe: paused ⇔ probe sent');
      same(p.inflights.count, 0, 'probe: nothing in flight');
      same(p.pendingSnapshot, 0, 'probe: no pending snapshot');
      break;
    case 'replicate':
      same(p.isPaused(), p.inflights.full(), 'replicate: paused ⇔ window full');
      same(p.pendingSnapshot, 0, 'replicate: no pending snapshot');
      break;
    case 'snapshot':
      same(p.isPaused(), true, 'snapshot: always paused');
      same(p.inflights.count, 0, 'snapshot: nothing in flight');
      break;
  }
}

function step(p: Progress, op: Op): void {
  const b = snap(p);
  switch (op.kind) {
    case 'sent': {
      // Callers send only when not paused, entries [next, next + count).
      if (p.isPaused()) return;
      const lastIndex = p.next - 1 + op.count;
      p.sentEntries(op.count, op.bytes, lastIndex);
      if (b.state === 'replicate' && op.count > 0) {
        same(p.next, lastIndex + 1, 'replicate: next advances past what was sent');
        same(p.inflights.snapshot(), [...b.inflight, lastIndex], 'replicate: the message is in flight');
      } else if (b.state === 'replicate') {
        same(snap(p), b, 'replicate: sending nothing changes nothing');
      } else {
        same(p.probeSent, true, 'probe: a sent probe pauses');
        same(p.isPaused(), true, 'probe: paused after sending');
        same(p.next, b.next, 'probe: next does not move on send');
      }
      break;
    }
    case 'update': {
      // Acknowledgements up to a little past what we believe was sent (stale ones included).
      const index = op.r % (p.next + 4);
      const updated = p.maybeUpdate(index);
      same(updated, index > b.match, `maybeUpdate(${index}) result`);
      same(p.match, Math.max(b.match, index), `maybeUpdate(${index}) match`);
      same(p.next, Math.max(b.next, index + 1), `maybeUpdate(${index}) next`);
      if (updated) same(p.probeSent, false, 'a useful ack unpauses a probe');
      same(p.state, b.state, 'maybeUpdate does not change state');
      break;
    }
    case 'decr': {
      // A rejection of prevLogIndex `rejected`: the answer to the current probe, or anything.
      const rejected = op.answersProbe ? p.next - 1 : op.r % (p.next + 3);
      const hint = op.hint % (rejected + 1);
      const ok = p.maybeDecrTo(rejected, hint);
      if (!ok) {
        same(snap(p), b, `stale maybeDecrTo(${rejected}, ${hint}) changes nothing`);
      } else if (b.state === 'replicate') {
        holds(rejected > b.match, () => `replicate: accepted a rejection ${rejected} at or below match ${b.match}`);
        same(p.next, b.match + 1, 'replicate: a rejection restarts from match + 1');
        same(p.match, b.match, 'maybeDecrTo never changes match');
        // The window still holds the doomed messages; the caller (replication.ts) always falls
        // back to probing here, which empties it. Do the same, or the next send would be refused.
        p.becomeProbe();
        same(p.next, b.match + 1, 'probe after a replicate rejection restarts from match + 1');
      } else {
        same(rejected, b.next - 1, 'probe: only the answer to the outstanding probe counts');
        same(p.next, Math.max(Math.min(rejected, hint + 1), b.match + 1), `maybeDecrTo(${rejected}, ${hint}) next`);
        same(p.probeSent, false, 'probe: a rejection unpauses');
        holds(p.next <= b.next, () => 'a rejection never moves next forward');
      }
      same(p.match, b.match, 'maybeDecrTo never changes match');
      break;
    }
    case 'probe': {
      p.becomeProbe();
      same(p.state, 'probe', 'state');
      same(p.next, b.state === 'snapshot' ? Math.max(b.match + 1, b.pendingSnapshot + 1) : b.match + 1, 'becomeProbe next');
      same(p.isPaused(), false, 'a fresh probe may send');
      break;
    }
    case 'replicate': {
      p.becomeReplicate();
      same(p.state, 'replicate', 'state');
      same(p.next, b.match + 1, 'becomeReplicate next');
      same(p.inflights.count, 0, 'becomeReplicate empties the window');
      same(p.isPaused(), false, 'a fresh pipeline may send');
      break;
    }
    case 'snapshot': {
      const index = b.match + (op.r % 10);
      p.becomeSnapshot(index);
      same(p.state, 'snapshot', 'state');
      same(p.pendingSnapshot, index, 'pending snapshot');
      same(p.next, b.next, 'becomeSnapshot keeps next');
      break;
    }
  }
  checkInvariants(p, b);
}

function progressProperty(make: (next: number, maxMsgs: number, maxBytes: number) => Progress) {
  return fc.property(
    fc.integer({ min: 1, max: 10 }),
    fc.integer({ min: 1, max: 5 }),
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120 })),
    fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }),
    (next, maxMsgs, maxBytes, ops) => {
      const p = make(next, maxMsgs, maxBytes);
      checkInvariants(p, snap(p));
      for (const op of ops) step(p, op);
    },
  );
}

/** Negative control: probe-state maybeDecrTo without the `match + 1` floor. */
class NoFloorProgress extends Progress {
  override maybeDecrTo(rejected: number, probeHint: number): boolean {
    if (this.state === 'replicate') return super.maybeDecrTo(rejected, probeHint);
    if (this.next - 1 !== rejected) return false;
    this.next = Math.min(rejected, probeHint + 1); // BUG: may fall to or below match
    this.probeSent = false;
    return true;
  }
}

describe('Progress state machine', () => {
  it('keeps next > match, never lowers match, pauses per state, and meets each postcondition', () => {
    fc.assert(
      progressProperty((n, m, b) => new Progress(n, m, b, false)),
      { numRuns: 1000 },
    );
  });

  it('negative control: finds a maybeDecrTo that can drop next to match', () => {
    const out = fc.check(
      progressProperty((n, m, b) => new NoFloorProgress(n, m, b, false)),
      { numRuns: 1000, endOnFailure: true },
    );
    expectCaught(out, /next|maybeDecrTo/);
  });
});
