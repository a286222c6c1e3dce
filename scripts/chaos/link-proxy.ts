/**
 * A TCP proxy for one directed peer link of a chaos run (node i dials node j through it).
 *
 * Why proxies (issue 7 asks to say which partition mechanism and why): they need no root and no
 * network namespaces (so the same run works on a laptop and in CI), they cut traffic between
 * the real node processes outside the code under test (unlike the transport's own fault layer,
 * which a bug in the transport could bypass), and since each node sends its Raft messages only
 * on the connection it dialed (DESIGN §2.3), blocking the proxy of link i→j is a one-way
 * partition, and blocking both directions a full one.
 *
 * A block is a silent black hole, as a real partition is: bytes already accepted and new bytes
 * are read and discarded, nothing is closed, and new connections are accepted but never reach
 * the upstream node (so their handshake times out). Connections that lived through a block have
 * lost bytes in the middle of their stream, so healing destroys them and the nodes redial.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Lived through a block: its stream lost bytes and must not carry traffic again. */
  tainted: boolean;
}

/** One directed link's proxy. */
export class LinkProxy {
  private readonly pairs = new Set<Pair>();
  private blockedNow = false;
  /** Bytes dropped while blocked (for the run's log). */
  dropped = 0;

  private constructor(
    private readonly server: Server,
    /** The port the dialing node connects to. */
    readonly port: number,
    private readonly upstreamPort: number,
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on a free loopback port, forwarding to `127.0.0.1:upstreamPort`. */
  static async start(upstreamPort: number, port = 0): Promise<LinkProxy> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr !== 'object') throw new Error('proxy has no port');
    return new LinkProxy(server, addr.port, upstreamPort);
  }

  get blocked(): boolean {
    return this.blockedNow;
  }

  /** Starts dropping everything on this link, silently. */
  block(): void {
    if (this.blockedNow) return;
    this.blockedNow = true;
    for (const p of this.pairs) {
      p.tainted = true;
      // A side paused for backpressure must keep being read, so its bytes are dropped too.
      p.client.resume();
      p.upstream?.resume();
    }
  }

  /** Lets traffic through again; connections that lived through the block are closed. */
  heal(): void {
    if (!this.blockedNow) return;
    this.blockedNow = false;
    for (const p of [...this.pairs]) if (p.tainted) this.drop(p);
  }

  /** Closes the proxy and every connection. */
  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.drop(p);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const pair: Pair = { client, upstream: undefined, tainted: this.blockedNow };
    this.pairs.add(pair);
    client.setNoDelay(true);
    client.on('error', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    client.on('data', (d: Buffer) => {
      if (this.blockedNow || pair.tainted || pair.upstream === undefined) {
        this.dropped += d.length;
        return;
      }
      if (!pair.upstream.write(d)) {
        client.pause();
        pair.upstream.once('drain', () => client.resume());
      }
    });
    if (pair.tainted) return; // accepted during a block: never connected upstream
    const upstream = createConnection({ host: '127.0.0.1', port: this.upstreamPort, noDelay: true });
    pair.upstream = upstream;
    upstream.on('error', () => this.drop(pair));
    upstream.on('close', () => this.drop(pair));
    upstream.on('data', (d: Buffer) => {
      if (this.blockedNow || pair.tainted) {
        this.dropped += d.length;
        return;
      }
      if (!client.write(d)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
  }

  private drop(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    p.client.destroy();
    p.upstream?.destroy();
  }
}
