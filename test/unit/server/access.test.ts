/**
 * Client tokens and roles (docs/design.md#client-roles): hashing, minting, identification and
 * the order of roles.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allows, Authenticator, hashToken, isTokenHash, newToken, OPEN_ACCESS, ROLES } from '../../../src/server/access.js';

describe('client tokens', () => {
  it('hashToken is sha256: and the hex SHA-256 of the UTF-8 bytes', () => {
    const h = hashToken('rlt_é');
    expect(h).toBe(`sha256:${createHash('sha256').update(Buffer.from('rlt_é', 'utf8')).digest('hex')}`);
    expect(isTokenHash(h)).toBe(true);
    expect(isTokenHash(h.slice(0, -1))).toBe(false);
  });

  it('newToken mints distinct tokens of 256 random bits', () => {
    const a = newToken();
    expect(a).toMatch(/^rlt_[A-Za-z0-9_-]{43}$/);
    const many = new Set(Array.from({ length: 1000 }, newToken));
    expect(many.size).toBe(1000);
  });

  it('identify: the entry whose hash matches, or undefined; everyone when none is configured', () => {
    const auth = new Authenticator([
      { name: 'r', role: 'read', hash: hashToken('tok-r') },
      { name: 'w', role: 'write', hash: hashToken('tok-w') },
    ]);
    expect(auth.required).toBe(true);
    expect(auth.identify('tok-w')).toEqual({ name: 'w', role: 'write' });
    expect(auth.identify('tok-r')).toEqual({ name: 'r', role: 'read' });
    expect(auth.identify('tok-')).toBeUndefined();
    expect(auth.identify(undefined)).toBeUndefined();
    expect(auth.identify('')).toBeUndefined();
    const open = new Authenticator([]);
    expect(open.required).toBe(false);
    expect(open.identify(undefined)).toBe(OPEN_ACCESS);
    expect(open.identify('anything')).toBe(OPEN_ACCESS);
  });

  it('roles are ordered: each grants what the ones before it grant, and no more', () => {
    expect(ROLES).toEqual(['read', 'write', 'admin']);
    expect(allows('admin', 'read')).toBe(true);
    expect(allows('write', 'write')).toBe(true);
    expect(allows('write', 'admin')).toBe(false);
    expect(allows('read', 'write')).toBe(false);
  });
});
