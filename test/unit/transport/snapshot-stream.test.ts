/** Snapshot streaming: sender pacing and completion, receiver bounds and checksum. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SnapshotRequest } from '../../../src/raft/index.js';
import { OutgoingSnapshot, SnapshotAssembler } from '../../../src/transport/snapshot-stream.js';
import { decodeFrame, type Frame } from '../../../src/transport/wire.js';

const message: SnapshotRequest = {
  type: 'snapshot',
  from: 1,
  to: 2,
  term: 2,
  snapshot: { index: 5, term: 2, confState: { voters: [1, 2], learners: [] } },
};
async function until(cond: () => boolean): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > 10_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
const sha = (d: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(d).digest());

describe('SnapshotAssembler', () => {
  it('reassembles chunks and checks size and checksum', () => {
    const data = Uint8Array.from({ length: 10 }, (_, k) => k);
    const a = new SnapshotAssembler(100);
    expect(a.begin(1, message, 10).ok).toBe(true);
    expect(a.chunk(data.subarray(0, 4)).ok).toBe(true);
    expect(a.chunk(data.subarray(4)).ok).toBe(true);
    const r = a.end(sha(data));
    expect(r.ok && [...r.snapshot.data]).toEqual([...data]);
  });

  it('refuses a declared size over the limit, extra data, short data and a bad checksum', () => {
    const a = new SnapshotAssembler(8);
    expect(a.begin(1, message, 9).ok).toBe(false);
    expect(a.begin(2, message, 4).ok).toBe(true);
    expect(a.chunk(new Uint8Array(5)).ok).toBe(false);
    expect(a.activeStream).toBeUndefined();
    expect(a.begin(3, message, 4).ok).toBe(true);
    a.chunk(new Uint8Array(3));
    expect(a.end(sha(new Uint8Array(3))).ok).toBe(false);
    expect(a.begin(4, message, 2).ok).toBe(true);
    a.chunk(new Uint8Array(2));
    expect(a.end(new Uint8Array(32)).ok).toBe(false);
  });
});

describe('OutgoingSnapshot', () => {
  it('sends begin, paced chunks and end; done once on ack', async () => {
    const frames: Frame[] = [];
    const results: boolean[] = [];
    const data = new Uint8Array(5000).map((_, k) => k % 256);
    const s = new OutgoingSnapshot(
      7,
      message,
      data,
      (ok) => results.push(ok),
      1024,
      10_000,
      () => {},
    );
    let inFlight = 0;
    let maxInFlight = 0;
    s.start({
      send: (frame, written) => {
        frames.push(decodeFrame(frame));
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setImmediate(() => {
          inFlight--;
          written();
        });
      },
      sentBytes: () => {},
    });
    await until(() => frames.some((f) => f.kind === 'control' && f.control.k === 'snap-end'));
    expect(frames[0]?.kind === 'control' && frames[0].control.k).toBe('snap-begin');
    const chunks = frames.filter((f) => f.kind === 'chunk');
    expect(chunks.length).toBe(5);
    const last = frames.at(-1);
    expect(last?.kind === 'control' && last.control.k === 'snap-end' && [...last.control.checksum]).toEqual([...sha(data)]);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    s.onAck(true);
    s.onAck(false);
    s.fail();
    expect(results).toEqual([true]);
  });

  it('fails on timeout and tells the link', async () => {
    const results: boolean[] = [];
    let stalled = false;
    const s = new OutgoingSnapshot(
      1,
      message,
      new Uint8Array(10),
      (ok) => results.push(ok),
      1024,
      20,
      () => (stalled = true),
    );
    s.start({ send: (_f, written) => written(), sentBytes: () => {} });
    await until(() => results.length > 0);
    expect(results).toEqual([false]);
    expect(stalled).toBe(true);
  });
});
