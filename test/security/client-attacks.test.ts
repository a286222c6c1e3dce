/**
 * What a hostile client would try, against real `raftlock start` processes through the wire
 * protocol (docs/testing.md#security): forging log time, acting for someone else's session,
 * reading or writing beyond a token's role, and proposing leader-only commands. Each is refused,
 * the replicated state (applied index and digest on every node) is what it was, and the
 * victim's lock is still held with its signal quiet.
 *
 * The peer-side attacks (one forged frame crashing a node, forged appends from a claimed id)
 * are in test/integration/fuzz-peer.test.ts against real processes, and in
 * test/security/peer-fuzz.test.ts with 100,000 forged messages per run.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Lock, type RaftlockClient } from '../../src/client/index.js';
import { encodeEntry } from '../../src/state-machine/index.js';
import type { NodeStatus } from '../../src/server/index.js';
import { TestClient, type RequestBody } from '../integration/support/client-cluster.js';
import { ProcessCluster } from '../../scripts/lib/cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';

const ADMIN = 'rlt_attack-suite-admin-token';
const VICTIM = 'rlt_attack-suite-victim-token';
const ATTACKER = 'rlt_attack-suite-attacker-token';
const READER = 'rlt_attack-suite-reader-token';

let cluster: ProcessCluster;
let victim: RaftlockClient;
let lock: Lock;
let victimSession: number;
let leaderAddress: string;
const attackers: TestClient[] = [];

/** Every node's applied index and digest, once they all agree (nothing in flight). */
async function settledState(): Promise<Array<Pick<NodeStatus, 'id' | 'applied' | 'digest'>>> {
  return waitFor(
    'every node applied the same index',
    async () => {
      const sts = await cluster.statuses();
      if (sts.length !== cluster.ids.length || new Set(sts.map((s) => `${s.applied}/${s.digest}`)).size !== 1) return undefined;
      return sts.map((s) => ({ id: s.id, applied: s.applied, digest: s.digest })).sort((a, b) => a.id - b.id);
    },
    30_000,
  );
}

async function attacker(token: string = ATTACKER): Promise<TestClient> {
  const c = await TestClient.connect(leaderAddress);
  attackers.push(c);
  await c.ok({ op: 'hello', token });
  return c;
}

function refusal(r: Awaited<ReturnType<TestClient['request']>>): { code: string; field?: string; message: string } {
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r)}`);
  return r.error;
}

beforeAll(async () => {
  cluster = await ProcessCluster.create({
    nodes: 3,
    tickMs: 50,
    electionTicks: 20,
    secret: 'attack-suite-peer-secret-0123',
    clientToken: ADMIN,
    extraTokens: [
      { name: 'victim', role: 'write', token: VICTIM },
      { name: 'attacker', role: 'write', token: ATTACKER },
      { name: 'reader', role: 'read', token: READER },
    ],
  });
  cluster.startAll();
  leaderAddress = (await cluster.waitForLeader(cluster.ids, 30_000)).address;
  // A long lease: its keep-alives (every TTL / 3) must not land while a test compares states.
  victim = await connect({ endpoints: cluster.endpoints, token: VICTIM, sessionTtlMs: 300_000, timeoutMs: 20_000 });
  lock = await victim.lock('precious');
  expect(await victim.counter('balance').add(10)).toBe(10);
  const sid = victim.sessionId;
  if (sid === undefined) throw new Error('the victim has no session');
  victimSession = sid;
}, 120_000);

afterAll(async () => {
  for (const c of attackers) c.close();
  await victim?.close({ timeoutMs: 5_000 });
  await cluster?.destroy();
});

describe('a hostile client against real nodes', () => {
  it('cannot act for a session whose id it can read: release, close, keep-alive, writes, acquire, bind', async () => {
    const before = await settledState();
    const spy = await attacker();
    // The id is no secret: lock-info shows it to anyone with a read role.
    expect(await spy.ok({ op: 'lock-info', name: 'precious' })).toMatchObject({ holder: { sessionId: victimSession } });
    const s = { session: victimSession };
    // Seqs the victim has not used yet: taking one would drop the victim's real write.
    const attempts: RequestBody[] = [
      { op: 'release', ...s, seq: 1_000, name: 'precious' },
      { op: 'close-session', ...s, seq: 1_001 },
      { op: 'keep-alive', ...s },
      { op: 'counter-add', ...s, seq: 3, name: 'balance', delta: -10 },
      { op: 'counter-set', ...s, seq: 4, name: 'balance', value: 0 },
      { op: 'acquire', ...s, seq: 5, name: 'other', waitMs: 60_000 },
    ];
    for (const body of attempts) expect(refusal(await spy.request(body)), body.op).toMatchObject({ code: 'AUTH', field: 'session' });
    for (let k = 0; k < 20; k++) {
      const guess = randomBytes(16).toString('hex');
      expect(refusal(await spy.request({ op: 'bind', ...s, secret: guess })).code).toBe('AUTH');
    }
    // Refused on the followers too (they redirect writes, but the session check comes first).
    for (const address of cluster.endpoints.filter((a) => a !== leaderAddress)) {
      const c = await TestClient.connect(address);
      attackers.push(c);
      await c.ok({ op: 'hello', token: ATTACKER });
      expect(refusal(await c.request({ op: 'release', ...s, seq: 1_002, name: 'precious' })).code).toBe('AUTH');
    }

    expect(await settledState()).toEqual(before);
    expect(lock.signal.aborted).toBe(false);
    expect(await spy.ok({ op: 'lock-info', name: 'precious' })).toMatchObject({ holder: { sessionId: victimSession } });
    // The victim's own next write is applied once, with its own result.
    expect(await victim.counter('balance').add(1)).toBe(11);
    expect(await victim.counter('balance').get()).toBe(11);
  }, 60_000);

  it('cannot forge log time or propose what only the leader proposes', async () => {
    const before = await settledState();
    // The raw-propose route does not exist on a production node, whatever the token.
    for (const token of [undefined, ATTACKER, ADMIN]) {
      const res = await fetch(`http://${leaderAddress}/admin/propose`, {
        method: 'POST',
        body: encodeEntry(2 ** 50, { type: 'tick' }),
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      expect(res.status, `token ${token ?? 'none'}`).toBe(404);
      await res.arrayBuffer();
    }
    // Leader-only commands are no client ops.
    const c = await attacker();
    for (const op of ['tick', 'expire-sessions']) {
      const r = refusal(await c.request({ op, sessions: [victimSession] } as unknown as RequestBody));
      expect(r.code, op).toBe('INVALID_ARGUMENT');
    }
    // A client cannot hand its open-session a secret of its choosing (the leader draws it).
    const chosen = refusal(await c.request({ op: 'open-session', ttlMs: 5_000, secret: '0'.repeat(32) } as unknown as RequestBody));
    expect(chosen).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await settledState()).toEqual(before);
    expect(lock.signal.aborted).toBe(false);
  }, 60_000);

  it('gets nothing without a token, and nothing beyond its role with one', async () => {
    const before = await settledState();
    const anonymous = await TestClient.connect(leaderAddress);
    attackers.push(anonymous);
    expect(refusal(await anonymous.request({ op: 'counter-get', name: 'balance' })).code).toBe('AUTH');
    expect(refusal(await anonymous.request({ op: 'hello', token: `${READER}x` })).code).toBe('AUTH');
    expect(await anonymous.closed).toBe(4003);
    for (const path of ['/status', '/metrics']) {
      const res = await fetch(`http://${leaderAddress}${path}`);
      expect(res.status, path).toBe(401);
      await res.arrayBuffer();
    }
    const health = await fetch(`http://${leaderAddress}/healthz`);
    expect(health.status).toBe(200);
    await health.arrayBuffer();

    const reader = await attacker(READER);
    expect(await reader.ok({ op: 'counter-get', name: 'balance' })).toBe(11);
    const write = refusal(await reader.request({ op: 'open-session', ttlMs: 5_000 }));
    expect(write).toMatchObject({ code: 'AUTH' });
    expect(write.message).toContain('needs role write');
    for (const path of ['/admin/snapshot', '/admin/transfer-leader?to=1']) {
      const res = await fetch(`http://${leaderAddress}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ATTACKER}` } });
      expect(res.status, path).toBe(403);
      await res.arrayBuffer();
    }
    expect(await settledState()).toEqual(before);
    expect(lock.signal.aborted).toBe(false);
  }, 60_000);
});
