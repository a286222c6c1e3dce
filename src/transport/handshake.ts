/**
 * Peer authentication helpers and the close codes of the peer link protocol (wire.ts).
 *
 * With a cluster secret, each side proves it knows the secret by an HMAC-SHA256 over a fresh
 * nonce chosen by the *other* side, bound to the cluster id and both node ids, so a proof can
 * neither be replayed on another connection nor reflected back (the role label differs per
 * direction). This authenticates the two endpoints of the connection; it does not protect the
 * frames that follow against an on-path attacker (run peers on a private network or behind TLS
 * for that).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../raft/index.js';
import { NONCE_BYTES } from './wire.js';

/** WebSocket close codes used on peer links (4000–4999 are for applications). */
export const CloseCode = {
  /** A frame that is valid but not allowed at this point of the protocol. */
  PROTOCOL: 4000,
  /** Authentication failed or is required but missing. */
  AUTH: 4001,
  /** A frame that does not decode. */
  MALFORMED: 4002,
  /** The peer belongs to another cluster. */
  CLUSTER: 4003,
  /** Wrong addressee, or a sender that is not a configured peer. */
  NODE: 4004,
  /** Unsupported link protocol version. */
  VERSION: 4005,
  /** The peer runs on another data directory than the one it was known by. */
  IDENTITY: 4006,
  /** The handshake did not complete in time. */
  TIMEOUT: 4008,
  /** A newer authenticated connection from the same peer replaced this one. */
  REPLACED: 4009,
  /** A snapshot stream stalled (sender side: no ack in time). */
  SNAPSHOT_TIMEOUT: 4010,
  /** This side is stopping. */
  GOING_AWAY: 1001,
} as const;

/** Which end of a connection gives a proof: the dialer or the acceptor. */
export type Role = 'dialer' | 'acceptor';

/** A fresh random nonce. */
export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/**
 * The proof `role` gives over the other side's `nonce` on the connection dialer `from` →
 * acceptor `to`. The fields are JSON-encoded as an array so no two inputs serialise alike.
 */
export function proof(secret: string, role: Role, nonce: Uint8Array, clusterId: string, from: NodeId, to: NodeId): Uint8Array {
  const input = JSON.stringify(['raftlock-peer-v1', role, Buffer.from(nonce).toString('base64'), clusterId, from, to]);
  return new Uint8Array(createHmac('sha256', secret).update(input).digest());
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.byteLength === received.byteLength && timingSafeEqual(expected, received);
}
