/**
 * Cheap writes for WebSocket connections (both peer links and client connections).
 *
 * Write coalescing, for connections that answer many requests at once.
 *
 * A leader resolves a whole applied batch of client requests in one turn of the event loop, and
 * the SDK sends a burst of requests when a burst of answers wakes its callers. Written one frame
 * at a time, each is one `write(2)` on loopback TCP: under load those syscalls took a quarter
 * of the leader's CPU. Corking the socket for the rest of the tick turns the burst
 * into one `writev(2)`. It only delays bytes until the current tick's callbacks are done, so a
 * lone reply is not held back for any real time.
 */
import type { Writable } from 'node:stream';

/** Corks `socket` (once per tick) and uncorks it when the current tick's work is done. */
export function corkUntilTickEnd(socket: Writable): void {
  // ws corks and uncorks around a single two-part frame synchronously, so a cork still held here
  // is ours from earlier in this tick.
  if (socket.writableCorked > 0 || socket.destroyed) return;
  socket.cork();
  process.nextTick(uncork, socket);
}

function uncork(socket: Writable): void {
  socket.uncork();
}

/**
 * `generateMask` for WebSocket clients (ws): an all-zero masking key, which ws recognises and
 * does not XOR the payload with. RFC 6455 has clients mask so that script in a browser cannot
 * choose the bytes an intermediary proxy sees (cache poisoning); peers and the SDK are not
 * browser script, and the XOR over every byte sent and received was ~2% of a node's CPU.
 */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
