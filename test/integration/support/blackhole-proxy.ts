/**
 * A TCP proxy on 127.0.0.1 in front of one upstream address that can be made a black hole, as
 * a network partition looks to both ends: while {@link BlackholeProxy.block blocked}, no byte
 * flows in either direction on any existing connection (both sockets of every pair are paused,
 * so the kernel buffers fill and TCP flow control stops the senders), yet every TCP connection
 * stays open; new incoming connections are accepted by the kernel but held, not connected
 * upstream. {@link BlackholeProxy.unblock} lets everything flow again (held connections are then
 * connected upstream); {@link BlackholeProxy.close} destroys everything.
 *
 * Forwarding is done with explicit `data` handlers rather than `pipe()`, because `pipe()`
 * resumes its source on the destination's `drain` and would undo a block.
 */
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Sockets paused for backpressure (their peer's write buffer is full). */
  readonly waitingDrain: Set<Socket>;
}

export class BlackholeProxy {
  private readonly pairs = new Set<Pair>();
  private blocked = false;
  private closed = false;
  /** Connections accepted in total. */
  accepted = 0;
  /** Bytes forwarded in either direction. */
  forwardedBytes = 0;

  private constructor(
    private readonly server: Server,
    /** `127.0.0.1:port` of the proxy: give it to clients as a node endpoint. */
    readonly address: string,
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    server.on('connection', (socket) => this.onConnection(socket));
  }

  /** Starts a proxy on a free loopback port, forwarding to `upstream` (`host:port`). */
  static async start(upstream: string): Promise<BlackholeProxy> {
    const m = /^(.*):(\d+)$/.exec(upstream);
    if (m === null || m[1] === undefined || m[2] === undefined) throw new Error(`not host:port: ${upstream}`);
    const host = m[1];
    const port = Number(m[2]);
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const a = server.address();
    if (a === null || typeof a !== 'object') throw new Error('proxy has no address');
    return new BlackholeProxy(server, `127.0.0.1:${a.port}`, host, port);
  }

  /** Whether the proxy is blocked. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Open client connections (held ones included). */
  get connections(): number {
    return this.pairs.size;
  }

  /** Stops every byte in both directions; connections stay open, new ones are held. */
  block(): void {
    this.blocked = true;
    for (const p of this.pairs) {
      p.client.pause();
      p.upstream?.pause();
    }
  }

  /** Lets bytes flow again and connects held connections upstream. */
  unblock(): void {
    if (this.closed) return;
    this.blocked = false;
    for (const p of [...this.pairs]) {
      if (p.upstream === undefined) this.connectUpstream(p);
      else {
        if (!p.waitingDrain.has(p.client)) p.client.resume();
        if (!p.waitingDrain.has(p.upstream)) p.upstream.resume();
      }
    }
  }

  /** Destroys every connection and stops listening. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    this.accepted++;
    // Accepted paused (pauseOnConnect): nothing is read until the pair is wired up.
    const pair: Pair = { client, upstream: undefined, waitingDrain: new Set() };
    this.pairs.add(pair);
    client.on('error', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    if (!this.blocked) this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    if (pair.client.destroyed) {
      this.drop(pair);
      return;
    }
    const up = tcpConnect({ host: this.upstreamHost, port: this.upstreamPort });
    up.pause();
    pair.upstream = up;
    up.on('error', () => this.drop(pair));
    up.on('close', () => this.drop(pair));
    up.once('connect', () => {
      this.forward(pair, pair.client, up);
      this.forward(pair, up, pair.client);
      if (!this.blocked) {
        pair.client.resume();
        up.resume();
      }
    });
  }

  /** Copies `from` → `to`, pausing `from` while `to` is full (and resuming unless blocked). */
  private forward(pair: Pair, from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      this.forwardedBytes += chunk.length;
      if (!to.write(chunk)) {
        from.pause();
        pair.waitingDrain.add(from);
        to.once('drain', () => {
          pair.waitingDrain.delete(from);
          if (!this.blocked) from.resume();
        });
      }
    });
    from.on('end', () => to.end());
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
