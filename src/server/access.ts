/**
 * Who may do what (docs/design.md#client-roles): client tokens, stored as hashes in the
 * configuration, each with a role, and the role every operation needs.
 *
 * Roles are ordered, each granting what the one before it grants:
 * - `read`: linearizable and stale reads (`counter-get`, `lock-info`, the listings), watches, the `status` op, and the
 *   HTTP `/status` and `/metrics`;
 * - `write`: sessions, locks and counter writes;
 * - `admin`: `break-lock` and the operator routes (snapshot, leadership transfer, membership).
 * `/healthz` needs nothing: load balancers and supervisors must reach it without a secret.
 *
 * A token is a random string minted by `raftlock token create`; the configuration holds only
 * `sha256:` of it, so a leaked configuration file grants nothing. A plain SHA-256 (not a slow
 * password hash) is enough because minted tokens carry 256 random bits: there is no dictionary
 * to try. A presented token is hashed and compared with every configured hash in constant
 * time, without stopping at the first match.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClientOp } from '../protocol/index.js';

/** A client's role; each grants everything the roles before it in {@link ROLES} grant. */
export type Role = 'read' | 'write' | 'admin';

export const ROLES: readonly Role[] = ['read', 'write', 'admin'];

/** One configured client token: its hash, a name for logs and errors, and its role. */
export interface ClientTokenEntry {
  /** Shown in logs and in AUTH messages; never the token itself. */
  readonly name: string;
  readonly role: Role;
  /** `sha256:` followed by 64 lowercase hex digits: the SHA-256 of the token's UTF-8 bytes. */
  readonly hash: string;
}

/** Who a connection or HTTP request authenticated as. */
export interface Identity {
  readonly name: string;
  readonly role: Role;
}

/** Everyone, when no token is configured: the cluster is open (loopback development). */
export const OPEN_ACCESS: Identity = { name: 'anyone', role: 'admin' };

const HASH_PREFIX = 'sha256:';

/** The configuration form of `token`'s hash: `sha256:<64 hex digits>`. */
export function hashToken(token: string): string {
  return HASH_PREFIX + createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `v` is a token hash as {@link hashToken} writes it. */
export function isTokenHash(v: unknown): v is string {
  return typeof v === 'string' && /^sha256:[0-9a-f]{64}$/.test(v);
}

/** A new random token: `rlt_` and 256 bits in base64url (47 characters). */
export function newToken(): string {
  return `rlt_${randomBytes(32).toString('base64url')}`;
}

/** Whether `role` grants what `needed` grants. */
export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** The role each `/client` operation needs. `hello` is what authenticates, so it needs none. */
export const OP_ROLES: Readonly<Record<ClientOp, Role | undefined>> = {
  hello: undefined,
  status: 'read',
  'counter-get': 'read',
  'lock-info': 'read',
  'list-locks': 'read',
  'list-counters': 'read',
  watch: 'read',
  unwatch: 'read',
  bind: 'write',
  'open-session': 'write',
  'keep-alive': 'write',
  'close-session': 'write',
  acquire: 'write',
  'acquire-all': 'write',
  'release-all': 'write',
  release: 'write',
  'cancel-wait': 'write',
  'break-lock': 'admin',
  'acquire-permit': 'write',
  'release-permit': 'write',
  'cancel-permit': 'write',
  'semaphore-info': 'read',
  'rwlock-info': 'read',
  'election-info': 'read',
  'list-permits': 'read',
  proclaim: 'write',
  'counter-add': 'write',
  'counter-set': 'write',
  'counter-cas': 'write',
  'counter-delete': 'write',
};

/** Finds who a presented token belongs to. */
export class Authenticator {
  private readonly entries: ReadonlyArray<{ readonly digest: Buffer; readonly identity: Identity }>;

  constructor(tokens: readonly ClientTokenEntry[]) {
    this.entries = tokens.map((t) => ({
      digest: Buffer.from(t.hash.slice(HASH_PREFIX.length), 'hex'),
      identity: { name: t.name, role: t.role },
    }));
  }

  /** Whether any token is configured (then every client must present one). */
  get required(): boolean {
    return this.entries.length > 0;
  }

  /**
   * Who `token` identifies: {@link OPEN_ACCESS} when no token is configured, undefined when it
   * matches none. Every configured hash is compared, each in constant time.
   */
  identify(token: string | undefined): Identity | undefined {
    if (!this.required) return OPEN_ACCESS;
    if (token === undefined) return undefined;
    const given = createHash('sha256').update(token, 'utf8').digest();
    let found: Identity | undefined;
    for (const e of this.entries) {
      // No early exit: the time taken does not depend on which entry (if any) matched.
      if (timingSafeEqual(e.digest, given) && found === undefined) found = e.identity;
    }
    return found;
  }
}

/** The AUTH message for `who` lacking `needed` to do `what`. */
export function forbidden(who: Identity, needed: Role, what: string): string {
  return `token ${JSON.stringify(who.name)} has role ${who.role}; ${what} needs role ${needed} or above`;
}
