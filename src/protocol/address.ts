/**
 * The address format every layer shares: `host:port`, with an IPv4 address, a host name or an
 * `[IPv6]` literal, and a port from 1 to 65535. Node addresses in configurations, `--listen`,
 * and the SDK's and CLI's endpoints all follow it.
 */

/** A parsed `host:port` (IPv6 without its brackets). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `host:port`. Throws a `TypeError` naming `what` (a config key, a flag) and the rule
 * when `value` does not follow it.
 */
export function parseHostPort(value: unknown, what: string): HostPort {
  if (typeof value !== 'string') throw new TypeError(`${what}: must be "host:port", got ${JSON.stringify(value)}`);
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || m[1] === undefined || !(port >= 1 && port <= 65535)) {
    throw new TypeError(`${what}: must be "host:port" with a port from 1 to 65535, got ${JSON.stringify(value)}`);
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
