/** Free TCP ports on 127.0.0.1, for servers the caller starts at once (nothing else listens on other interfaces). */
import { createServer, type Server } from 'node:net';

/**
 * Free loopback ports: bound together on 127.0.0.1 (so they are distinct), then released.
 * Another process could take one in between; the callers start their servers at once and fail
 * loudly if a port is taken.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a !== 'object') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
