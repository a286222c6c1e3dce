import { describe, expect, it } from 'vitest';
import { certifiedNodeIds } from '../../../src/transport/index.js';

describe('certifiedNodeIds: the node ids a certificate names (URI:raftlock://node/<id>)', () => {
  it('reads every node URI of a subjectAltName, and nothing else', () => {
    expect(certifiedNodeIds({ subjectaltname: 'URI:raftlock://node/3, DNS:localhost, IP Address:127.0.0.1' })).toEqual([3]);
    expect(certifiedNodeIds({ subjectaltname: 'DNS:n1, URI:raftlock://node/1, URI:raftlock://node/12' })).toEqual([1, 12]);
  });

  it('names no node for look-alikes: other schemes, a DNS name, leading zeros, trailing text, no SAN', () => {
    for (const san of [
      'URI:raftlock://client',
      'DNS:raftlock://node/3',
      'URI:https://node/3',
      'URI:raftlock://node/03',
      'URI:raftlock://node/3x',
      'URI:raftlock://node/3/4',
      'URI:raftlock://node/0',
      'URI:raftlock://node/99999999999999999999',
      '',
    ])
      expect(certifiedNodeIds({ subjectaltname: san }), san).toEqual([]);
    expect(certifiedNodeIds(undefined)).toEqual([]);
    expect(certifiedNodeIds({})).toEqual([]);
  });
});
