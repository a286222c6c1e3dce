/**
 * Client roles (docs/design.md#client-roles): every role (and no token at all) against every
 * `/client` operation and every HTTP route. An operation the role does not grant is answered
 * `AUTH` naming the role it needs, and changes nothing; one it grants gets past the door (it may
 * still fail for its own reasons, never for the role).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_OPS, type ClientOp, type ClientResponse } from '../../src/protocol/client-protocol.js';
import { Authenticator, allows, hashToken, OP_ROLES, ROLES, type Role } from '../../src/server/access.js';
import { silentLogger, startNode, validateConfig, type NodeHandle } from '../../src/server/index.js';
import { startClientCluster, TestClient, type ClientCluster, type RequestBody } from '../integration/support/client-cluster.js';
import { freePorts } from '../../scripts/lib/ports.js';
import { waitFor } from '../../scripts/lib/wait.js';

const TOKENS: Readonly<Record<Role, string>> = {
  read: 'rlt_read-token-for-the-role-matrix',
  write: 'rlt_write-token-for-the-role-matrix',
  admin: 'rlt_admin-token-for-the-role-matrix',
};
const ENTRIES = ROLES.map((role) => ({ name: `${role}-client`, role, hash: hashToken(TOKENS[role]) }));

/** The documented matrix (docs/design.md#client-roles), written out independently of the code. */
const NEEDS: Readonly<Record<Exclude<ClientOp, 'hello'>, Role>> = {
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

/** Who asks: a role's token, or no hello at all. */
type Caller = Role | 'nobody';
const CALLERS: readonly Caller[] = ['nobody', ...ROLES];

function isRoleRefusal(r: ClientResponse): boolean {
  return !r.ok && r.error.code === 'AUTH' && /needs role|authenticate first/.test(r.error.message);
}

describe('/client: each role × each operation', () => {
  let cluster: ClientCluster;
  const clients: TestClient[] = [];
  let victim: { id: number; secret: string };

  beforeAll(async () => {
    cluster = await startClientCluster(3, { access: new Authenticator(ENTRIES) });
    const leader = await cluster.leader();
    const owner = await TestClient.connect(leader.address);
    clients.push(owner);
    await owner.ok({ op: 'hello', token: TOKENS.write });
    const v = await owner.ok<{ sessionId: number; secret: string }>({ op: 'open-session', ttlMs: 60_000 });
    victim = { id: v.sessionId, secret: v.secret };
    await owner.ok({ op: 'acquire', session: victim.id, seq: 1, name: 'held', waitMs: 0 });
    await owner.ok({ op: 'counter-add', session: victim.id, seq: 2, name: 'n', delta: 5 });
  });

  afterEach(() => {
    for (const c of clients.splice(1)) c.close();
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await cluster.stop();
  });

  /** A well-formed request for `op`, naming session `target` where one is needed. */
  function body(op: Exclude<ClientOp, 'hello'>, seq: number, target: { id: number; secret: string }): RequestBody {
    const s = { session: target.id, seq };
    switch (op) {
      case 'status':
        return { op };
      case 'counter-get':
      case 'lock-info':
        return { op, name: 'n' };
      case 'list-locks':
      case 'list-counters':
        return { op, prefix: 'n', limit: 5 };
      case 'watch':
        // A prefix no name has: the watch starts, and sends no event frames.
        return { op, prefix: 'role-matrix-none/' };
      case 'unwatch':
        return { op, watch: 1 };
      case 'bind':
        return { op, session: target.id, secret: target.secret };
      case 'open-session':
        return { op, ttlMs: 5_000 };
      case 'keep-alive':
        return { op, session: target.id };
      case 'close-session':
        return { op, ...s };
      case 'acquire':
        return { op, ...s, name: 'other', waitMs: 0 };
      case 'release':
      case 'cancel-wait':
        return { op, ...s, name: 'other' };
      case 'acquire-all':
        return { op, ...s, names: ['other', 'other2'], waitMs: 0 };
      case 'release-all':
        return { op, ...s, names: ['other', 'other2'] };
      case 'acquire-permit':
        return { op, ...s, kind: 'semaphore', name: 'sem', permits: 2, waitMs: 0 };
      case 'release-permit':
      case 'cancel-permit':
        return { op, ...s, kind: 'rwlock', name: 'rw', acquireSeq: 1 };
      case 'semaphore-info':
      case 'rwlock-info':
      case 'election-info':
        return { op, name: 'sem' };
      case 'list-permits':
        return { op, kind: 'election', prefix: 'e', limit: 5 };
      case 'proclaim':
        return { op, ...s, name: 'leader', token: 1, value: 'role matrix' };
      case 'break-lock':
        return { op, ...s, name: 'other', reason: 'role matrix' };
      case 'counter-add':
        return { op, ...s, name: 'm', delta: 1 };
      case 'counter-set':
        return { op, ...s, name: 'm', value: 1 };
      case 'counter-cas':
        return { op, ...s, name: 'm', expected: 0, next: 1 };
      case 'counter-delete':
        return { op, ...s, name: 'm' };
    }
  }

  it.each(CALLERS)('caller %s', async (caller) => {
    const leader = await cluster.leader();
    const c = await TestClient.connect(leader.address);
    clients.push(c);
    if (caller !== 'nobody') expect(await c.ok({ op: 'hello', token: TOKENS[caller] })).toMatchObject({ protocol: 1 });
    // close-session last: it ends the target session the others use.
    const ops = CLIENT_OPS.filter((op): op is Exclude<ClientOp, 'hello'> => op !== 'hello' && op !== 'close-session');
    ops.push('close-session');
    const owner = clients[0];
    if (owner === undefined) throw new Error('no owner connection');
    const t = await owner.ok<{ sessionId: number; secret: string }>({ op: 'open-session', ttlMs: 60_000 });
    const target = { id: t.sessionId, secret: t.secret };
    // Every op has the documented role; none is silently open.
    expect(ops.length).toBe(Object.keys(NEEDS).length);
    for (const op of ops) expect(OP_ROLES[op], op).toBe(NEEDS[op]);
    const before = leader.service.machine.snapshot();
    let seq = 100;
    const outcome: Record<string, string> = {};
    for (const op of ops) {
      const needed = NEEDS[op];
      const granted = caller !== 'nobody' && allows(caller, needed);
      const r = await c.request(body(op, seq++, target));
      outcome[op] = r.ok ? 'ok' : r.error.code;
      if (granted) expect(isRoleRefusal(r), `${caller} ${op}: ${JSON.stringify(r)}`).toBe(false);
      else {
        expect(isRoleRefusal(r), `${caller} ${op}: ${JSON.stringify(r)}`).toBe(true);
        if (caller !== 'nobody' && !r.ok) expect(r.error.message).toContain(`needs role ${needed}`);
      }
    }
    if (caller === 'nobody' || caller === 'read') {
      // Refused writes reached nothing: the replicated state is byte for byte what it was.
      expect(leader.service.machine.snapshot()).toEqual(before);
      expect(leader.service.machine.lockInfo('held').holder?.sessionId).toBe(victim.id);
    }
    if (caller === 'read') expect(outcome).toMatchObject({ status: 'ok', 'counter-get': 'ok', 'lock-info': 'ok' });
    if (caller !== 'nobody' && caller !== 'read') {
      expect(outcome).toMatchObject({ bind: 'ok', 'open-session': 'ok', 'counter-add': 'ok', acquire: 'ok', 'close-session': 'ok' });
    }
  });

  it('sessions are bounded per token, across its connections', async () => {
    const c = await startClientCluster(3, { access: new Authenticator(ENTRIES) }, { maxSessionsPerOwner: 2 });
    try {
      const leader = await c.leader();
      const conns = await Promise.all([TestClient.connect(leader.address), TestClient.connect(leader.address)]);
      clients.push(...conns);
      for (const conn of conns) await conn.ok({ op: 'hello', token: TOKENS.write });
      const [a, b] = conns;
      await a.ok({ op: 'open-session', ttlMs: 5_000 });
      await b.ok({ op: 'open-session', ttlMs: 5_000 });
      const third = await a.request({ op: 'open-session', ttlMs: 5_000 });
      expect(third).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
      expect(!third.ok && third.error.message).toContain('token "write-client" already has 2 sessions');
      // Another token is not affected.
      const other = await TestClient.connect(leader.address);
      clients.push(other);
      await other.ok({ op: 'hello', token: TOKENS.admin });
      await other.ok({ op: 'open-session', ttlMs: 5_000 });
    } finally {
      await c.stop();
    }
  });

  it('a wrong token is refused and the connection closed; a later wrong hello does not drop an authenticated one', async () => {
    const leader = await cluster.leader();
    const wrong = await TestClient.connect(leader.address);
    clients.push(wrong);
    expect(isRoleRefusal(await wrong.request({ op: 'status' }))).toBe(true);
    const r = await wrong.request({ op: 'hello', token: `${TOKENS.admin}x` });
    expect(r).toMatchObject({ ok: false, error: { code: 'AUTH' } });
    expect(await wrong.closed).toBe(4003);
    const reader = await TestClient.connect(leader.address);
    clients.push(reader);
    await reader.ok({ op: 'hello', token: TOKENS.read });
    expect((await reader.request({ op: 'hello', token: 'nope' })).ok).toBe(false);
    expect(await reader.ok({ op: 'counter-get', name: 'n' })).toBe(5);
  });
});

describe('HTTP routes: each role × each route', () => {
  let node: NodeHandle;
  let dir: string;
  let address: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'raftlock-roles-'));
    const [port] = await freePorts(1);
    address = `127.0.0.1:${port ?? 0}`;
    const config = validateConfig(
      { clusterId: 'roles', nodes: [{ id: 1, address }], dataDir: dir, tickMs: 20, clientTokens: ENTRIES },
      { baseDir: dir },
    );
    node = await startNode({ config, id: 1, logger: silentLogger });
    await waitFor('a leader', () => (node.status().role === 'leader' ? true : undefined));
  });

  afterAll(async () => {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ROUTES: ReadonlyArray<{ method: string; path: string; needs: Role | undefined; ok: number }> = [
    { method: 'GET', path: '/healthz', needs: undefined, ok: 200 },
    { method: 'GET', path: '/status', needs: 'read', ok: 200 },
    { method: 'GET', path: '/metrics', needs: 'read', ok: 200 },
    { method: 'POST', path: '/admin/snapshot', needs: 'admin', ok: 202 },
    { method: 'POST', path: '/admin/transfer-leader?to=1', needs: 'admin', ok: 200 },
  ];

  it.each(CALLERS)('caller %s', async (caller) => {
    for (const route of ROUTES) {
      const headers: Record<string, string> = caller === 'nobody' ? {} : { authorization: `Bearer ${TOKENS[caller]}` };
      const res = await fetch(`http://${address}${route.path}`, { method: route.method, headers });
      const granted = route.needs === undefined || (caller !== 'nobody' && allows(caller, route.needs));
      const want = granted ? route.ok : caller === 'nobody' ? 401 : 403;
      expect(res.status, `${caller} ${route.method} ${route.path}`).toBe(want);
      if (!granted) {
        const err = ((await res.json()) as { error: { code: string; message: string } }).error;
        expect(err.code).toBe('AUTH');
        expect(err.message).toContain(`role ${route.needs ?? ''}`);
      } else await res.arrayBuffer();
    }
  });
});
