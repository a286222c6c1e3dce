/**
 * Mutual TLS between peers (docs/operations.md#tls): what a link presents and trusts, and the
 * rule that binds a certificate to a node id.
 *
 * A peer's certificate names the node it belongs to as the URI `raftlock://node/<id>` in its
 * subjectAltName. With {@link PeerTls.verifyPeerIds}, each end refuses a peer whose
 * certificate does not name the id it claims (the dialer: the id it dialled; the acceptor: the
 * id in the hello), so the key of node 2, stolen, cannot pose as node 3.
 */
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { NodeId } from '../raft/index.js';

/** What the transport needs of the node's TLS set-up. */
export interface PeerTls {
  /**
   * The PEM material for the next dial: read at every dial, so certificates replaced on disk
   * are used by the next connection.
   */
  readonly material: () => { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };
  /** Whether a peer's certificate must name the node id it claims. */
  readonly verifyPeerIds: boolean;
}

/** The URI scheme and path of a node id in a certificate's subjectAltName. */
export const NODE_ID_URI = 'raftlock://node/';

/** The node ids `cert` names (`URI:raftlock://node/<id>` entries of its subjectAltName). */
export function certifiedNodeIds(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): NodeId[] {
  const san = cert?.subjectaltname;
  if (typeof san !== 'string') return [];
  const ids: NodeId[] = [];
  for (const part of san.split(',')) {
    const entry = part.trim();
    if (!entry.startsWith(`URI:${NODE_ID_URI}`)) continue;
    const text = entry.slice(4 + NODE_ID_URI.length);
    if (/^[1-9][0-9]{0,15}$/.test(text) && Number.isSafeInteger(Number(text))) ids.push(Number(text));
  }
  return ids;
}

/** Why the certificate on `socket` is not one the CA signed, or null when it is. */
export function unverifiedCertificate(socket: Duplex): string | null {
  const tlsSocket = socket as Partial<TLSSocket>;
  if (typeof tlsSocket.getPeerCertificate !== 'function') return 'not a TLS connection';
  if (tlsSocket.authorized !== true) return `peer certificate not verified: ${String(tlsSocket.authorizationError ?? 'none presented')}`;
  return null;
}

/**
 * Why the certificate on `socket` does not prove `peer`, or null when it does: the CA signed
 * it and (with `verifyPeerIds`) it names `peer`.
 */
export function peerCertificateProblem(socket: Duplex, peer: NodeId, verifyPeerIds: boolean): string | null {
  const unverified = unverifiedCertificate(socket);
  if (unverified !== null || !verifyPeerIds) return unverified;
  const ids = certifiedNodeIds((socket as TLSSocket).getPeerCertificate());
  return ids.includes(peer)
    ? null
    : `the certificate names ${ids.length === 0 ? 'no node id' : `node ${ids.join(', ')}`}, not node ${peer}`;
}

/**
 * `checkServerIdentity` for dialling `peer`: the usual host name check, then (with
 * `verifyPeerIds`) the node id the certificate names.
 */
export function peerServerIdentity(peer: NodeId, verifyPeerIds: boolean): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const err = checkServerIdentity(host, cert);
    if (err !== undefined || !verifyPeerIds) return err;
    const ids = certifiedNodeIds(cert);
    if (ids.includes(peer)) return undefined;
    return new Error(`certificate of ${host} names ${ids.length === 0 ? 'no node id' : `node ${ids.join(', ')}`}, not node ${peer}`);
  };
}
