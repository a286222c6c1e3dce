/**
 * The `/client` endpoint against a real in-process 3-node cluster (RaftHosts on the memory
 * network, a LockService and a ClientEndpoint per node behind a real HTTP server on 127.0.0.1),
 * driven by a raw WebSocket client speaking the protocol. Deadlines are generous; nothing
 * asserts on timing.
 */
import { connect as connectTcp } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRequest, type ClientResponse } from '../../src/protocol/client-protocol.js';
import { packValue } from '../../src/protocol/index.js';
import { Authenticator, hashToken } from '../../src/server/access.js';
import { startClientCluster, TestClient, type ClientCluster, type EndpointExtras, type RequestBody } from './support/client-cluster.js';
import { waitFor } from '../../scripts/lib/wait.js';

let cluster: ClientCluster | undefined;
const clients: TestClient[] = [];

async function setup(extras: EndpointExtras = {}): Promise<ClientCluster> {
  cluster = await startClientCluster(3, extras);
  return cluster;
}

async function connect(address: string): Promise<TestClient> {
  const c = await TestClient.connect(address);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await cluster?.stop();
  cluster = undefined;
});

type Grant = { status: string; token: number };

/** A session on one connection, numbering its writes. */
class Session {
  seq = 0;
  private constructor(
    readonly client: TestClient,
    readonly id: number,
    readonly secret: string,
  ) {}
  static async open(client: TestClient, ttlMs = 10_000): Promise<Session> {
    const v = await client.ok<{ sessionId: number; secret: string }>({ op: 'open-session', ttlMs });
    return new Session(client, v.sessionId, v.secret);
  }
  /** The same session used from another connection (which must bind it first). */
  on(client: TestClient): Session {
    const s = new Session(client, this.id, this.secret);
    s.seq = this.seq + 1000;
    return s;
  }
  /** Sends a write with the next seq. */
  write(body: Record<string, unknown> & { op: string }): Promise<ClientResponse> {
    this.seq++;
    return this.client.request({ ...body, session: this.id, seq: this.seq } as unknown as RequestBody);
  }
  /** Re-sends the last write with the same seq (a retry). */
  retry(body: Record<string, unknown> & { op: string }): Promise<ClientResponse> {
    return this.client.request({ ...body, session: this.id, seq: this.seq } as unknown as RequestBody);
  }
  async ok<T = unknown>(body: Record<string, unknown> & { op: string }): Promise<T> {
    const r = await this.write(body);
    if (!r.ok) throw new Error(`${body.op} failed: ${r.error.code} ${r.error.message}`);
    return r.value as T;
  }
}

function errorOf(r: ClientResponse): { code: string; message: string; leader?: number; leaderAddress?: string; field?: string } {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.error;
}

describe('/client endpoint: sessions, counters, locks', () => {
  it('opens a session, keeps it alive, and runs every counter op exactly once', async () => {
    const c = await setup();
    const client = await connect((await c.leader()).address);
    const s = await Session.open(client);
    expect(s.id).toBeGreaterThan(0);
    expect(await client.ok<{ expiresAt: number }>({ op: 'keep-alive', session: s.id })).toHaveProperty('expiresAt');
    expect(await s.ok({ op: 'counter-add', name: 'c', delta: 5 })).toBe(5);
    // A retry of the same (session, seq) returns the first result and is not applied again.
    expect(await s.retry({ op: 'counter-add', name: 'c', delta: 5 })).toMatchObject({ ok: true, value: 5 });
    const read = await client.request({ op: 'counter-get', name: 'c' });
    expect(read).toMatchObject({ ok: true, value: 5 });
    expect(read.ok && typeof read.index).toBe('number');
    expect(await s.ok({ op: 'counter-set', name: 'c', value: 10 })).toBe(5);
    expect(await s.ok({ op: 'counter-cas', name: 'c', expected: 10, next: 11 })).toBe(true);
    expect(await s.ok({ op: 'counter-cas', name: 'c', expected: 10, next: 12 })).toBe(false);
    expect(errorOf(await s.write({ op: 'counter-add', name: 'c', delta: Number.MAX_SAFE_INTEGER })).code).toBe('OVERFLOW');
    expect(await s.ok({ op: 'counter-delete', name: 'c' })).toBe(11);
    expect(await client.ok({ op: 'counter-get', name: 'c' })).toBe(0);
    expect(await s.ok({ op: 'close-session' })).toEqual({ released: [] });
    expect(errorOf(await s.write({ op: 'counter-add', name: 'c', delta: 1 })).code).toBe('SESSION_EXPIRED');
  });

  it('grants a lock with a fencing token; fenced writes pass while held and are FENCED after release', async () => {
    const c = await setup();
    const client = await connect((await c.leader()).address);
    const s = await Session.open(client);
    const g = await s.ok<Grant>({ op: 'acquire', name: 'L', waitMs: 0 });
    expect(g.status).toBe('granted');
    expect(await client.ok({ op: 'lock-info', name: 'L' })).toMatchObject({
      holder: { sessionId: s.id, fencingToken: g.token },
      waiters: 0,
    });
    expect(await s.ok({ op: 'counter-add', name: 'f', delta: 1, fence: { lock: 'L', token: g.token } })).toBe(1);
    expect(await s.ok({ op: 'release', name: 'L' })).toEqual({ status: 'released', token: g.token });
    expect(errorOf(await s.write({ op: 'counter-add', name: 'f', delta: 1, fence: { lock: 'L', token: g.token } })).code).toBe('FENCED');
    expect(errorOf(await s.write({ op: 'release', name: 'L' })).code).toBe('NOT_HELD');
    expect(await client.ok({ op: 'counter-get', name: 'f' })).toBe(1);
    const again = await s.ok<Grant>({ op: 'acquire', name: 'L', waitMs: 0 });
    expect(again.token).toBeGreaterThan(g.token);
  });

  it('parks a waiting acquire without blocking its connection, and answers it when the holder releases', async () => {
    const c = await setup();
    const address = (await c.leader()).address;
    const a = await Session.open(await connect(address));
    const bClient = await connect(address);
    const b = await Session.open(bClient);
    const first = await a.ok<Grant>({ op: 'acquire', name: 'Q', waitMs: 0 });
    const waiting = b.write({ op: 'acquire', name: 'Q', waitMs: 60_000 });
    let answered = false;
    void waiting.then(() => (answered = true));
    // The same connection keeps serving while its acquire waits.
    expect(await b.ok({ op: 'counter-add', name: 'side', delta: 1 })).toBe(1);
    expect(await bClient.ok({ op: 'status' })).toMatchObject({ role: 'leader' });
    await waitFor('the acquire to be parked', () => c.nodes.some((n) => n.service.parkedCount === 1));
    expect(answered).toBe(false);
    expect(await a.client.ok({ op: 'lock-info', name: 'Q' })).toMatchObject({ waiters: 1 });
    await a.ok({ op: 'release', name: 'Q' });
    const r = await waiting;
    expect(r).toMatchObject({ ok: true, value: { status: 'granted' } });
    expect((r.ok ? (r.value as Grant) : first).token).toBeGreaterThan(first.token);
  });

  it('answers timed-out when the wait ends ungranted', async () => {
    const c = await setup();
    const address = (await c.leader()).address;
    const a = await Session.open(await connect(address));
    const b = await Session.open(await connect(address));
    await a.ok({ op: 'acquire', name: 'T', waitMs: 0 });
    expect(await b.ok({ op: 'acquire', name: 'T', waitMs: 0 })).toEqual({ status: 'not-acquired' });
    expect(await b.ok({ op: 'acquire', name: 'T', waitMs: 200 })).toEqual({ status: 'timed-out' });
  });

  it('limits requests in flight per connection', async () => {
    const c = await setup({ maxInFlight: 2 });
    const address = (await c.leader()).address;
    const a = await Session.open(await connect(address));
    const b = await Session.open(await connect(address));
    await a.ok({ op: 'acquire', name: 'x', waitMs: 0 });
    await a.ok({ op: 'acquire', name: 'y', waitMs: 0 });
    void b.write({ op: 'acquire', name: 'x', waitMs: 60_000 });
    void b.write({ op: 'acquire', name: 'y', waitMs: 60_000 });
    await waitFor('two parked acquires', () => c.nodes.some((n) => n.service.parkedCount === 2));
    expect(errorOf(await b.client.request({ op: 'status' })).code).toBe('LIMIT_EXCEEDED');
    expect(c.nodes.some((n) => (n.endpoint.metrics.errors['LIMIT_EXCEEDED'] ?? 0) === 1)).toBe(true);
  });
});

describe('/client endpoint: parked acquires and ended sessions', () => {
  // The machine drops an ended session's waits with no `granted` / `wait-timeout` event, so
  // LockService must answer a parked acquire when its session ends, or the request hangs.
  it('answers a parked acquire when its session is closed', async () => {
    const c = await setup();
    const leader = await c.leader();
    const a = await Session.open(await connect(leader.address));
    const b = await Session.open(await connect(leader.address));
    await a.ok({ op: 'acquire', name: 'G', waitMs: 0 });
    let answered = false;
    void b.write({ op: 'acquire', name: 'G', waitMs: 60_000 }).then(() => (answered = true));
    await waitFor('the acquire to be parked', () => leader.service.parkedCount === 1);
    await b.ok({ op: 'close-session' });
    await waitFor('the parked acquire to be answered', () => answered && leader.service.parkedCount === 0, 1_000);
  });
});

describe('/client endpoint: sessions are capabilities', () => {
  it('another connection cannot act for a session it has not proven, and changes nothing trying', async () => {
    const c = await setup();
    const leader = await c.leader();
    const owner = await Session.open(await connect(leader.address));
    const g = await owner.ok<Grant>({ op: 'acquire', name: 'V', waitMs: 0 });
    const intruder = owner.on(await connect(leader.address));
    const before = leader.service.machine.snapshot();
    for (const body of [
      { op: 'release', name: 'V' },
      { op: 'close-session' },
      { op: 'acquire', name: 'V', waitMs: 0 },
      { op: 'counter-add', name: 'x', delta: 1 },
    ]) {
      const e = errorOf(await intruder.write(body));
      expect(e).toMatchObject({ code: 'AUTH', field: 'session' });
      expect(e.message).toContain('bind');
    }
    expect(errorOf(await intruder.client.request({ op: 'keep-alive', session: owner.id }))).toMatchObject({
      code: 'AUTH',
      field: 'session',
    });
    // Nothing reached the log: the state is byte for byte what it was.
    expect(leader.service.machine.snapshot()).toEqual(before);
    expect(await owner.ok({ op: 'release', name: 'V' })).toEqual({ status: 'released', token: g.token });
  });

  it('negative control: without the session check, another connection releases the lock', async () => {
    const c = await setup({ unsafeSkipSessionProof: true });
    const leader = await c.leader();
    const owner = await Session.open(await connect(leader.address));
    await owner.ok<Grant>({ op: 'acquire', name: 'V', waitMs: 0 });
    const intruder = owner.on(await connect(leader.address));
    // What the test above refuses goes through: the check it exercises is what stops it.
    expect(await intruder.ok({ op: 'release', name: 'V' })).toMatchObject({ status: 'released' });
    expect(leader.service.machine.lockInfo('V').holder).toBeUndefined();
  });

  it('bind proves a session with its secret; a wrong, malformed or unknown one is refused', async () => {
    const c = await setup();
    const leader = await c.leader();
    const owner = await Session.open(await connect(leader.address));
    await owner.ok({ op: 'acquire', name: 'W', waitMs: 0 });
    const other = await connect(leader.address);
    const wrong = owner.secret.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
    expect(errorOf(await other.request({ op: 'bind', session: owner.id, secret: wrong }))).toMatchObject({ code: 'AUTH' });
    expect(errorOf(await other.request({ op: 'bind', session: owner.id, secret: 'short' }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'secret',
    });
    expect(errorOf(await other.request({ op: 'bind', session: owner.id + 10_000, secret: owner.secret }))).toMatchObject({
      code: 'SESSION_EXPIRED',
    });
    // Still unbound after the failures.
    const helper = owner.on(other);
    expect(errorOf(await helper.write({ op: 'release', name: 'W' })).code).toBe('AUTH');
    expect(await other.ok({ op: 'bind', session: owner.id, secret: owner.secret })).toMatchObject({
      sessionId: owner.id,
      expiresAt: expect.any(Number) as number,
    });
    expect(await helper.ok({ op: 'release', name: 'W' })).toMatchObject({ status: 'released' });
    expect(await helper.ok({ op: 'close-session' })).toEqual({ released: [] });
    expect(errorOf(await other.request({ op: 'bind', session: owner.id, secret: owner.secret })).code).toBe('SESSION_EXPIRED');
  });

  it('bind is answered by the leader only', async () => {
    const c = await setup();
    const leader = await c.leader();
    const owner = await Session.open(await connect(leader.address));
    const follower = c.nodes.find((n) => n.id !== leader.id);
    if (follower === undefined) throw new Error('no follower');
    const e = errorOf(await (await connect(follower.address)).request({ op: 'bind', session: owner.id, secret: owner.secret }));
    expect(e).toMatchObject({ code: 'NOT_LEADER', leader: leader.id, leaderAddress: leader.address });
  });

  it('bounds the sessions one connection may hold, forgetting ended ones first', async () => {
    const c = await setup({ maxSessionsPerConnection: 2 });
    const leader = await c.leader();
    const client = await connect(leader.address);
    const a = await Session.open(client);
    const b = await Session.open(client);
    expect(errorOf(await client.request({ op: 'open-session', ttlMs: 10_000 })).code).toBe('LIMIT_EXCEEDED');
    const elsewhere = await Session.open(await connect(leader.address));
    expect(errorOf(await client.request({ op: 'bind', session: elsewhere.id, secret: elsewhere.secret })).code).toBe('LIMIT_EXCEEDED');
    // Binding one already held needs no room.
    expect(await client.ok({ op: 'bind', session: a.id, secret: a.secret })).toMatchObject({ sessionId: a.id });
    await b.ok({ op: 'close-session' });
    expect(await client.ok({ op: 'bind', session: elsewhere.id, secret: elsewhere.secret })).toMatchObject({ sessionId: elsewhere.id });
  });
});

describe('/client endpoint: followers', () => {
  it('redirects writes from a follower with the leader address, and serves its status', async () => {
    const c = await setup();
    const leader = await c.leader();
    const follower = c.nodes.find((n) => n.id !== leader.id);
    if (follower === undefined) throw new Error('no follower');
    const client = await connect(follower.address);
    const owner = await Session.open(await connect(leader.address));
    for (const body of [
      { op: 'open-session', ttlMs: 5000 },
      { op: 'bind', session: owner.id, secret: owner.secret },
    ] as RequestBody[]) {
      const e = errorOf(await client.request(body));
      expect(e).toMatchObject({ code: 'NOT_LEADER', leader: leader.id, leaderAddress: leader.address });
    }
    expect(await client.ok({ op: 'status' })).toEqual({
      nodeId: follower.id,
      role: 'follower',
      term: expect.any(Number) as number,
      leader: leader.id,
      leaderAddress: leader.address,
    });
    expect(follower.endpoint.metrics.errors['NOT_LEADER']).toBe(2);
  });

  it('serves linearizable reads on a follower (and stale ones when asked)', async () => {
    const c = await setup();
    const leader = await c.leader();
    const follower = c.nodes.find((n) => n.id !== leader.id);
    if (follower === undefined) throw new Error('no follower');
    const s = await Session.open(await connect(leader.address));
    const reader = await connect(follower.address);
    for (let k = 1; k <= 5; k++) {
      await s.ok({ op: 'counter-add', name: 'lin', delta: 1 });
      // Acknowledged by the leader → a linearizable read anywhere must see it.
      expect(await reader.ok({ op: 'counter-get', name: 'lin' })).toBe(k);
    }
    const g = await s.ok<Grant>({ op: 'acquire', name: 'LL', waitMs: 0 });
    expect(await reader.ok({ op: 'lock-info', name: 'LL' })).toMatchObject({ holder: { fencingToken: g.token } });
    await waitFor('the follower to apply', () => follower.service.machine.appliedIndex >= g.token);
    expect(await reader.ok({ op: 'counter-get', name: 'lin', stale: true })).toBe(5);
  });
});

describe('/client endpoint: bad input', () => {
  it('answers garbage frames with typed errors and keeps serving', async () => {
    const c = await setup();
    const client = await connect((await c.leader()).address);
    client.sendRaw(Uint8Array.of(0xc1, 0xff, 0x00));
    client.sendRaw(packValue([1, 2, 3]));
    client.sendRaw('{"id":1,"op":"status"}');
    client.sendRaw(packValue({ id: 'seven', op: 'status' }));
    await client.orphansAtLeast(4);
    expect(client.orphans.map((r) => [r.id, !r.ok && r.error.code, !r.ok && r.error.field])).toEqual([
      [null, 'INVALID_ARGUMENT', 'frame'],
      [null, 'INVALID_ARGUMENT', 'frame'],
      [null, 'INVALID_ARGUMENT', 'frame'],
      [null, 'INVALID_ARGUMENT', 'id'],
    ]);
    expect(errorOf(await client.request({ op: 'launch' } as unknown as RequestBody))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'op',
      message: expect.stringContaining('launch') as string,
    });
    expect(errorOf(await client.request({ op: 'counter-get', name: 7 } as unknown as RequestBody))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'name',
    });
    expect(errorOf(await client.request({ op: 'open-session', ttlMs: 1 }))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'ttlMs' });
    expect(await client.ok({ op: 'status' })).toMatchObject({ role: 'leader' });
    expect(client.closeCode).toBeUndefined();
  });

  it('closes a connection with 1009 for a frame over 1 MiB; the endpoint keeps serving', async () => {
    const c = await setup();
    const leader = await c.leader();
    const client = await connect(leader.address);
    client.sendRaw(new Uint8Array(1024 * 1024 + 1));
    expect(await client.closed).toBe(1009);
    const next = await connect(leader.address);
    expect(await next.ok({ op: 'status' })).toMatchObject({ nodeId: leader.id });
    await waitFor('the oversize count', () => leader.endpoint.metrics.oversize === 1);
  });

  it('requires hello with the token when one is configured', async () => {
    const c = await setup({ access: new Authenticator([{ name: 'app', role: 'write', hash: hashToken('sesame-sesame') }]) });
    const address = (await c.leader()).address;
    const client = await connect(address);
    expect(errorOf(await client.request({ op: 'status' })).code).toBe('AUTH');
    expect(errorOf(await client.request({ op: 'open-session', ttlMs: 5000 })).code).toBe('AUTH');
    expect(await client.ok({ op: 'hello', token: 'sesame-sesame' })).toMatchObject({ protocol: 1 });
    expect(await client.ok({ op: 'status' })).toMatchObject({ role: 'leader' });
    const wrong = await connect(address);
    expect(errorOf(await wrong.request({ op: 'hello', token: 'guess' })).code).toBe('AUTH');
    expect(await wrong.closed).toBe(4003);
    const none = await connect(address);
    expect(errorOf(await none.request({ op: 'hello' })).code).toBe('AUTH');
  });

  it('closes a connection that does not authenticate in time', async () => {
    const c = await setup({
      access: new Authenticator([{ name: 'app', role: 'write', hash: hashToken('sesame-sesame') }]),
      helloTimeoutMs: 100,
    });
    const idle = await connect((await c.leader()).address);
    expect(await idle.closed).toBe(4008);
  });

  it('refuses a request id that is already in flight on the connection', async () => {
    const c = await setup();
    const address = (await c.leader()).address;
    const a = await Session.open(await connect(address));
    const bClient = await connect(address);
    const b = await Session.open(bClient);
    await a.ok({ op: 'acquire', name: 'D', waitMs: 0 });
    const parked = { id: 77, op: 'acquire', session: b.id, seq: 1, name: 'D', waitMs: 60_000 };
    bClient.sendRaw(packValue(parked));
    await waitFor('the acquire to be parked', () => c.nodes.some((n) => n.service.parkedCount === 1));
    bClient.sendRaw(packValue({ ...parked, seq: 2, name: 'E' }));
    await bClient.orphansAtLeast(1);
    expect(bClient.orphans[0]).toMatchObject({ id: 77, ok: false, error: { code: 'INVALID_ARGUMENT', field: 'id' } });
  });

  it('close() closes every client connection', async () => {
    const c = await setup();
    const leader = await c.leader();
    const a = await connect(leader.address);
    const b = await connect(leader.address);
    await waitFor('two connections', () => leader.endpoint.connectionCount === 2);
    leader.endpoint.close();
    expect(await a.closed).toBe(1001);
    expect(await b.closed).toBe(1001);
    await waitFor('no connections', () => leader.endpoint.connectionCount === 0);
  });

  it('a closed endpoint answers 503, and a caller that resets the socket crashes nothing', async () => {
    const c = await setup();
    const leader = await c.leader();
    leader.endpoint.close();
    const [host, port] = leader.address.split(':') as [string, string];
    // Many times over: the server-side read sees ECONNRESET only when the reset wins the race.
    for (let i = 0; i < 20; i++) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connectTcp({ host, port: Number(port) }, () => {
          socket.write(
            `GET /client HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${'A'.repeat(22)}==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          );
          socket.write('more bytes the server never reads');
        });
        socket.once('data', (d) => {
          socket.resetAndDestroy();
          resolve(d.toString('latin1').split('\r\n')[0] ?? '');
        });
        socket.once('error', reject);
      });
      expect(answer).toBe('HTTP/1.1 503 Service Unavailable');
    }
    // The process is still here and the other nodes still serve.
    const other = c.nodes.find((n) => n !== leader) as (typeof c.nodes)[number];
    const client = await connect(other.address);
    expect((await client.request({ op: 'status' })).ok).toBe(true);
  });
});

describe('/client endpoint: fuzz', () => {
  it('survives 100,000 random and mutated frames across connections with state unchanged', { timeout: 300_000 }, async () => {
    const c = await setup();
    const leader = await c.leader();
    // Known state, then no live session: every fuzzed write must be refused without effect.
    const s = await Session.open(await connect(leader.address));
    await s.ok({ op: 'counter-set', name: 'stable-counter-A', value: 42 });
    await s.ok({ op: 'counter-set', name: 'stable-counter-B', value: -7 });
    await s.ok({ op: 'close-session' });
    const heapBefore = process.memoryUsage().heapUsed;

    let seed = 0x9e3779b9;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const bases = [
      { id: 1, op: 'counter-add', session: 999_999, seq: 1, name: 'x', delta: 1 },
      { id: 2, op: 'acquire', session: 999_999, seq: 2, ackedSeq: 1, name: 'x', waitMs: 10, fence: { lock: 'y', token: 3 } },
      { id: 3, op: 'counter-get', name: 'x', stale: true },
      { id: 4, op: 'lock-info', name: 'x' },
      { id: 5, op: 'keep-alive', session: 999_999, ackedSeq: 0 },
      { id: 6, op: 'status' },
      { id: 7, op: 'hello', token: 'abc' },
      { id: 8, op: 'counter-cas', session: 999_999, seq: 1, name: 'x', expected: 1, next: 2 },
    ].map((b) => [...packValue(b)]);
    const frame = (): Uint8Array => {
      if (rand(3) === 0) return Uint8Array.from({ length: rand(64) }, () => rand(256));
      const bytes = [...(bases[rand(bases.length)] ?? [])];
      for (let m = 1 + rand(4); m > 0; m--) {
        const at = rand(bytes.length + 1);
        const kind = rand(4);
        if (kind === 0 && at < bytes.length) bytes[at] = rand(256);
        else if (kind === 1) bytes.splice(at, 0, rand(256));
        else if (kind === 2) bytes.splice(at, 1);
        else if (at > 0) bytes.length = at;
      }
      return Uint8Array.from(bytes);
    };

    const TOTAL = 100_000;
    const conns = await Promise.all(c.nodes.flatMap((n) => [connect(n.address), connect(n.address)]));
    let sent = 0;
    while (sent < TOTAL) {
      await Promise.all(
        conns.map(async (client) => {
          for (let k = 0; k < 500 && sent < TOTAL; k++, sent++) client.sendRaw(frame());
          // Flow control: a request behind the batch answers once the batch was read.
          expect(await client.ok({ op: 'status' })).toHaveProperty('nodeId');
        }),
      );
    }
    expect(conns.every((k) => k.closeCode === undefined)).toBe(true);
    const fresh = await connect(leader.address);
    expect(await fresh.ok({ op: 'counter-get', name: 'stable-counter-A' })).toBe(42);
    expect(await fresh.ok({ op: 'counter-get', name: 'stable-counter-B' })).toBe(-7);
    const frames = c.nodes.reduce((sum, n) => sum + n.endpoint.metrics.frames, 0);
    expect(frames).toBeGreaterThanOrEqual(TOTAL);
    expect(c.nodes.reduce((sum, n) => sum + n.endpoint.metrics.malformed, 0)).toBeGreaterThan(TOTAL / 2);
    // Generous: catches a leak of whole frames or responses, not normal garbage.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
    // Keep `encodeRequest` exercised against the same node once more after the storm.
    fresh.sendRaw(encodeRequest({ id: 1, op: 'status' }));
    await fresh.orphansAtLeast(1);
  });
});
