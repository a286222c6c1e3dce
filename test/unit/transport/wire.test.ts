/** wire: control frames round-trip; malformed frames of every kind are DecodeErrors only. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SnapshotRequest } from '../../../src/raft/index.js';
import { DecodeError, packValue } from '../../../src/protocol/index.js';
import { proof, proofMatches } from '../../../src/transport/handshake.js';
import { decodeFrame, encodeChunk, encodeControl, encodeMessagesFrame, type ControlFrame } from '../../../src/transport/wire.js';

const snap: SnapshotRequest = {
  type: 'snapshot',
  from: 1,
  to: 2,
  term: 3,
  snapshot: { index: 9, term: 3, confState: { voters: [1, 2, 3], learners: [4] } },
};
const n32 = new Uint8Array(32).fill(7);

describe('wire frames', () => {
  const controls: ControlFrame[] = [
    { k: 'hello', protocol: 2, clusterId: 'c', from: 1, to: 2, nonce: null, dataId: 'd', address: '' },
    { k: 'hello', protocol: 2, clusterId: 'c', from: 1, to: 2, nonce: n32, dataId: 'd', address: '' },
    { k: 'challenge', nonce: n32, proof: n32 },
    { k: 'auth', proof: n32 },
    { k: 'welcome', dataId: 'd' },
    { k: 'snap-begin', stream: 5, message: snap, size: 1000 },
    { k: 'snap-end', stream: 5, checksum: n32 },
    { k: 'snap-ack', stream: 0xffffffff, ok: true },
  ];
  for (const c of controls) {
    it(`round-trips ${c.k}`, () => {
      expect(decodeFrame(encodeControl(c))).toEqual({ kind: 'control', control: c });
    });
  }

  it('round-trips messages and chunks', () => {
    const beat = { type: 'heartbeat', from: 1, to: 2, term: 3, commit: 2, context: 'ctx' } as const;
    expect(decodeFrame(encodeMessagesFrame([beat]))).toEqual({ kind: 'messages', messages: [beat] });
    const f = decodeFrame(encodeChunk(0x80000001, Uint8Array.from([1, 2, 3])));
    expect(f.kind === 'chunk' && f.stream).toBe(0x80000001);
    expect(f.kind === 'chunk' && [...f.data]).toEqual([1, 2, 3]);
  });

  it('a messages frame never carries a snapshot: its data travels only in a snapshot stream', () => {
    const heartbeat = { type: 'heartbeat', from: 1, to: 2, term: 3, commit: 0, context: null } as const;
    expect(() => decodeFrame(encodeMessagesFrame([heartbeat, snap]))).toThrow(DecodeError);
    try {
      decodeFrame(encodeMessagesFrame([heartbeat, snap]));
    } catch (err) {
      expect((err as DecodeError).field).toBe('messages[1].type');
    }
    // The same message is welcome where it belongs: at the start of a snapshot stream.
    expect(decodeFrame(encodeControl({ k: 'snap-begin', stream: 1, message: snap, size: 10 }))).toMatchObject({ kind: 'control' });
  });

  it('refuses bad control frames, naming the field', () => {
    const bad: Array<[unknown, string]> = [
      [{ k: 'hello', protocol: 2, clusterId: 'c', from: 1, to: 2, nonce: new Uint8Array(3), dataId: 'd', address: '' }, 'control.nonce'],
      [{ k: 'hello', protocol: 2, clusterId: 7, from: 1, to: 2, nonce: null, dataId: 'd', address: '' }, 'control.clusterId'],
      [{ k: 'welcome', extra: true }, 'control.extra'],
      [{ k: 'dance' }, 'control.k'],
      [{ k: 'snap-begin', stream: 1, message: { ...snap, type: 'timeout-now', snapshot: undefined }, size: 1 }, 'control.message'],
      [{ k: 'snap-ack', stream: 0, ok: true }, 'control.stream'],
    ];
    for (const [value, field] of bad) {
      const frame = Buffer.concat([Buffer.of(2), packValue(value)]);
      let caught: unknown;
      try {
        decodeFrame(frame);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DecodeError);
      expect((caught as DecodeError).field.startsWith(field)).toBe(true);
    }
    expect(() => decodeFrame(Uint8Array.of(3, 0, 0, 0, 0, 1))).toThrow(DecodeError);
    expect(() => decodeFrame(Uint8Array.of(3, 0, 0))).toThrow(DecodeError);
    expect(() => decodeFrame(Uint8Array.of(9, 1))).toThrow(DecodeError);
    expect(() => decodeFrame(new Uint8Array(0))).toThrow(DecodeError);
  });

  it('any bytes decode or throw DecodeError, nothing else', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 4), fc.uint8Array({ maxLength: 128 }), (kind, body) => {
        try {
          decodeFrame(Uint8Array.from([kind, ...body]));
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('handshake proofs', () => {
  it('depend on secret, role, nonce, cluster and both ids', () => {
    const p = proof('s', 'dialer', n32, 'c', 1, 2);
    expect(proofMatches(p, proof('s', 'dialer', n32, 'c', 1, 2))).toBe(true);
    expect(proofMatches(p, proof('t', 'dialer', n32, 'c', 1, 2))).toBe(false);
    expect(proofMatches(p, proof('s', 'acceptor', n32, 'c', 1, 2))).toBe(false);
    expect(proofMatches(p, proof('s', 'dialer', new Uint8Array(32), 'c', 1, 2))).toBe(false);
    expect(proofMatches(p, proof('s', 'dialer', n32, 'd', 1, 2))).toBe(false);
    expect(proofMatches(p, proof('s', 'dialer', n32, 'c', 2, 1))).toBe(false);
    expect(proofMatches(p, new Uint8Array(5))).toBe(false);
  });
});
