/**
 * A minimal retrying client for process-level tests: one session, writes that reuse their
 * (session, seq) on every retry, following NOT_LEADER hints and reconnecting, as the SDK will.
 */
import type { ProcessCluster } from '../../../scripts/lib/cluster.js';
import { waitFor } from '../../../scripts/lib/wait.js';
import { TestClient } from './client-cluster.js';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

export class CounterWriter {
  private client: TestClient | undefined;
  private address: string | undefined;
  private session = 0;
  private secret = '';
  /** Connections on which the session is proven. */
  private readonly bound = new WeakSet<TestClient>();
  private seq = 0;

  constructor(
    private readonly cluster: ProcessCluster,
    readonly name = 'c',
  ) {}

  private drop(): void {
    this.client?.close();
    this.client = undefined;
  }

  private async connect(): Promise<TestClient> {
    if (this.client !== undefined && this.client.closeCode === undefined) return this.client;
    this.drop();
    if (this.address === undefined) {
      const running = this.cluster.ids.filter((id) => this.cluster.isRunning(id));
      const leader = (await this.cluster.statuses(running)).find((s) => s.role === 'leader');
      this.address = leader?.address ?? this.cluster.address(running[0] ?? 1);
    }
    this.client = await TestClient.connect(this.address);
    return this.client;
  }

  /**
   * One attempt of `body`: the response, or undefined (and a fresh connection next time). A
   * connection proves the session (`bind`) before its first write naming it.
   */
  private async attempt(body: Parameters<TestClient['request']>[0]): Promise<{ value: unknown; index: number } | undefined> {
    try {
      const client = await this.connect();
      const proving = 'session' in body && !this.bound.has(client);
      const sent = proving ? { op: 'bind' as const, session: this.session, secret: this.secret } : body;
      const r = await withTimeout(client.request(sent), 3000);
      if (r?.ok === true && proving) {
        this.bound.add(client);
        return await this.attempt(body);
      }
      if (r === undefined) {
        this.drop();
        this.address = undefined;
        return undefined;
      }
      if (r.ok) return { value: r.value, index: r.index ?? 0 };
      if (r.error.code === 'SESSION_EXPIRED') throw new Error(`session expired: ${r.error.message}`);
      // NOT_LEADER (go where it says) or UNAVAILABLE (retry, maybe elsewhere).
      this.address = r.error.code === 'NOT_LEADER' ? (r.error.leaderAddress ?? undefined) : undefined;
      this.drop();
      return undefined;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('session expired')) throw err;
      this.drop();
      this.address = undefined;
      return undefined;
    }
  }

  /** Adds `delta` exactly once (retrying the same seq), returning the new value and its index. */
  async add(delta: number, timeoutMs = 20_000): Promise<{ value: number; index: number }> {
    if (this.session === 0) {
      const opened = await waitFor('open-session', () => this.attempt({ op: 'open-session', ttlMs: 60_000 }), timeoutMs);
      const v = opened.value as { sessionId: number; secret: string };
      this.session = v.sessionId;
      this.secret = v.secret;
      // The connection that opened the session has proven it.
      if (this.client !== undefined) this.bound.add(this.client);
    }
    const seq = ++this.seq;
    const r = await waitFor(
      `counter-add ${delta}`,
      () => this.attempt({ op: 'counter-add', session: this.session, seq, ackedSeq: seq - 1, name: this.name, delta }),
      timeoutMs,
    );
    return { value: r.value as number, index: r.index };
  }

  /** A linearizable read of the counter through any node. */
  async read(timeoutMs = 20_000): Promise<number> {
    const r = await waitFor('counter-get', () => this.attempt({ op: 'counter-get', name: this.name }), timeoutMs);
    return r.value as number;
  }

  close(): void {
    this.drop();
  }
}
