/**
 * A TCP proxy on 127.0.0.1 in front of one address that can be cut like a network partition: bytes
 * held ('hold') or lost ('drop'), connections left open.
 */
/**
 * Why proxies: they need no root and no network namespaces (the same run works on a laptop and
 * in CI), and they cut traffic between real processes outside the code under test (unlike the
 * transport's own fault layer, which a bug in the transport could bypass). Since each node sends
 * its Raft messages only on the connection it dialed, blocking the proxy a node dials a peer
 * through is a one-way partition, and blocking both directions a full one.
 *
 * While {@link LinkProxy.block blocked}, nothing crosses in either direction and every TCP
 * connection stays open, as a partition looks to both ends; new connections are accepted by
 * the kernel but not connected upstream. The two modes differ in what happens to the bytes:
 *
 * - `hold`: both sockets of every connection are paused, so the kernel buffers fill and TCP
 *   flow control stops the senders; {@link LinkProxy.heal} lets everything flow again
 *   (connections accepted meanwhile are then connected upstream) and nothing is lost, as
 *   after a partition shorter than TCP's retransmission give-up.
 * - `drop`: bytes are read and discarded, a silent black hole; connections accepted meanwhile
 *   never reach the upstream (their handshakes time out). A connection that lived through the
 *   block lost bytes in the middle of its stream, so healing destroys it and the ends reconnect.
 *
 * Forwarding uses explicit `data` handlers rather than `pipe()`, because `pipe()` resumes its
 * source on the destination's `drain` and would undo a hold.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** What a block does to the bytes in flight (see the file's comment). */
export type BlockMode = 'hold' | 'drop';

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Sockets paused for backpressure (their peer's write buffer is full). */
  readonly waitingDrain: Set<Socket>;
  /** Lived through a `drop` block: its stream lost bytes and must not carry traffic again. */
  tainted: boolean;
}

export class LinkProxy {
  private readonly pairs = new Set<Pair>();
  private blockedNow = false;
  private closed = false;
  /** Connections accepted in total. */
  accepted = 0;
  /** Bytes forwarded in either direction. */
  forwardedBytes = 0;
  /** Bytes discarded by a `drop` block. */
  droppedBytes = 0;

  private constructor(
    private readonly server: Server,
    /** The loopback port to connect to instead of the upstream. */
    readonly port: number,
    readonly mode: BlockMode,
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Starts a proxy on a free loopback port, forwarding to `upstream` (`host:port`). */
  static async start(upstream: string, mode: BlockMode): Promise<LinkProxy> {
    const m = /^(.*):(\d+)$/.exec(upstream);
    if (m === null || m[1] === undefined || m[2] === undefined) throw new Error(`not host:port: ${upstream}`);
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const a = server.address();
    if (a === null || typeof a !== 'object') throw new Error('proxy has no address');
    return new LinkProxy(server, a.port, mode, m[1], Number(m[2]));
  }

  /** `127.0.0.1:port` of the proxy: give it to a client as the upstream's endpoint. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get blocked(): boolean {
    return this.blockedNow;
  }

  /** Open client connections (held ones included). */
  get connections(): number {
    return this.pairs.size;
  }

  /** Cuts the link: nothing crosses until {@link heal}; connections stay open. */
  block(): void {
    if (this.blockedNow || this.closed) return;
    this.blockedNow = true;
    for (const p of this.pairs) {
      if (this.mode === 'hold') {
        p.client.pause();
        p.upstream?.pause();
      } else {
        p.tainted = true;
        // Keep reading every side (one paused for backpressure too), so its bytes are dropped.
        p.client.resume();
        p.upstream?.resume();
      }
    }
  }

  /** Restores the link: held bytes flow and held connections go upstream, or connections that lost bytes are closed. */
  heal(): void {
    if (!this.blockedNow || this.closed) return;
    this.blockedNow = false;
    for (const p of [...this.pairs]) {
      if (p.tainted) this.drop(p);
      else if (p.upstream === undefined) this.connectUpstream(p);
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
    for (const p of [...this.pairs]) this.drop(p);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Whether bytes must stay where they are (a `hold` block). */
  private get holding(): boolean {
    return this.blockedNow && this.mode === 'hold';
  }

  private accept(client: Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    this.accepted++;
    // Accepted paused (pauseOnConnect): nothing is read until the pair is wired up.
    const pair: Pair = { client, upstream: undefined, waitingDrain: new Set(), tainted: false };
    this.pairs.add(pair);
    client.on('error', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    if (!this.blockedNow) this.connectUpstream(pair);
    else if (this.mode === 'drop') {
      // Accepted during a drop block: read and discarded, never connected upstream.
      pair.tainted = true;
      client.on('data', (d: Buffer) => {
        this.droppedBytes += d.length;
      });
      client.resume();
    }
  }

  private connectUpstream(pair: Pair): void {
    if (pair.client.destroyed) {
      this.drop(pair);
      return;
    }
    const up = createConnection({ host: this.upstreamHost, port: this.upstreamPort, noDelay: true });
    up.pause();
    pair.upstream = up;
    up.on('error', () => this.drop(pair));
    up.on('close', () => this.drop(pair));
    up.once('connect', () => {
      this.forward(pair, pair.client, up);
      this.forward(pair, up, pair.client);
      if (!this.holding) {
        pair.client.resume();
        up.resume();
      }
    });
  }

  /** Copies `from` → `to`, pausing `from` while `to` is full; discards instead once the pair is tainted. */
  private forward(pair: Pair, from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (pair.tainted) {
        this.droppedBytes += chunk.length;
        return;
      }
      this.forwardedBytes += chunk.length;
      if (!to.write(chunk)) {
        from.pause();
        pair.waitingDrain.add(from);
        to.once('drain', () => {
          pair.waitingDrain.delete(from);
          if (!this.holding) from.resume();
        });
      }
    });
    from.on('end', () => {
      if (!pair.tainted) to.end();
    });
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
