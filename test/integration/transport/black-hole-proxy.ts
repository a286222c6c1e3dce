/**
 * A TCP proxy on 127.0.0.1 that can black-hole its path: told to, it stops forwarding in both
 * directions while keeping every socket open, as a switch that drops packets does (no FIN, no
 * RST). New connections are still accepted then (the kernel completes the TCP handshake
 * whatever the proxy does) but go nowhere. Told to resume, everything still open flows again,
 * in order: held connections are connected through, paused streams carry on where they stopped,
 * and a close that happened meanwhile reaches the other side only then, as a FIN retransmitted
 * after the heal would.
 *
 * It stops forwarding by no longer reading: bytes wait in the kernel buffers, so a stream is
 * never corrupted by a dropped chunk, and neither end hears a byte from the other.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** One client connection and the upstream connection it is forwarded to (once connected). */
interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** A side closed while black-holed: the other side is closed at resume. */
  closedWhileHoled: boolean;
}

export interface BlackHoleProxy {
  /** The port to dial instead of the target's. */
  readonly port: number;
  /** Connections accepted so far (the dialer's attempts, whether they got anywhere or not). */
  readonly accepted: number;
  /** Whether the path is cut now. */
  readonly holed: boolean;
  /** Cuts the path: nothing is forwarded either way, no socket is closed. */
  blackHole(): void;
  /** Heals the path: what is still open flows again, new connections pass. */
  resume(): void;
  /** Closes every socket and the listener. */
  close(): Promise<void>;
}

/** Starts a proxy from 127.0.0.1:<ephemeral> to 127.0.0.1:`targetPort`. */
export async function startBlackHoleProxy(targetPort: number): Promise<BlackHoleProxy> {
  const pairs = new Set<Pair>();
  let holed = false;
  let accepted = 0;

  const sockets = (p: Pair): Socket[] => (p.upstream === undefined ? [p.client] : [p.client, p.upstream]);
  const destroy = (p: Pair): void => {
    pairs.delete(p);
    for (const s of sockets(p)) s.destroy();
  };

  /** Copies `from` to `to` with backpressure; never reads while the path is cut. */
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (!holed) from.resume();
        });
      }
    });
  };

  const onGone = (p: Pair): void => {
    if (!pairs.has(p)) return;
    if (holed) p.closedWhileHoled = true;
    else destroy(p);
  };

  const connectThrough = (p: Pair): void => {
    const upstream = connect(targetPort, '127.0.0.1');
    p.upstream = upstream;
    upstream.on('error', () => onGone(p));
    upstream.on('close', () => onGone(p));
    forward(p.client, upstream);
    forward(upstream, p.client);
    if (holed) for (const s of sockets(p)) s.pause();
    else p.client.resume();
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    accepted++;
    const p: Pair = { client, upstream: undefined, closedWhileHoled: false };
    pairs.add(p);
    client.on('error', () => onGone(p));
    client.on('close', () => onGone(p));
    // Held, unread, while the path is cut: the dialer's bytes wait in the kernel.
    if (!holed) connectThrough(p);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    get accepted() {
      return accepted;
    },
    get holed() {
      return holed;
    },
    blackHole() {
      holed = true;
      for (const p of pairs) for (const s of sockets(p)) s.pause();
    },
    resume() {
      holed = false;
      for (const p of [...pairs]) {
        if (p.closedWhileHoled) destroy(p);
        else if (p.upstream === undefined) connectThrough(p);
        else for (const s of sockets(p)) s.resume();
      }
    },
    close: async () => {
      for (const p of [...pairs]) destroy(p);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
