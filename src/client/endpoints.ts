/**
 * Endpoint lists: the one definition that `connect({ endpoints })` and the CLI's `--endpoints`
 * (and `RAFTLOCK_ENDPOINTS`) share. A list is a comma-separated string or an array; each entry
 * is `host:port` by the address rule of every layer (`parseHostPort`: a port from 1 to 65535
 * is required), or, where URLs are allowed, `ws://host:port[/path]` with an explicit port. An
 * entry without a port is refused rather than dialled on a default port (80 for ws://).
 */
import { parseHostPort } from '../protocol/index.js';
import { InvalidArgumentError } from './errors.js';

/** How {@link parseEndpointList} reads a list. */
export interface EndpointListOptions {
  /** The list's name in messages and in the error's `field` (default `endpoints`). */
  readonly field?: string;
  /**
   * Whether `ws://` / `wss://` URLs are allowed besides `host:port` (default true, as in
   * `connect()`; the CLI passes false, since `raftlock status` speaks HTTP to the addresses).
   */
  readonly urls?: boolean;
}

/**
 * Splits and checks an endpoint list. Returns the entries, trimmed, in order; empty entries (a
 * trailing comma) are skipped. Throws {@link InvalidArgumentError} (`field` set) naming the
 * first bad entry and the expected form, or saying the list is empty.
 */
export function parseEndpointList(value: string | readonly string[], options: EndpointListOptions = {}): string[] {
  const field = options.field ?? 'endpoints';
  const urls = options.urls ?? true;
  const raw: readonly unknown[] = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [value];
  const list: string[] = [];
  for (const item of raw) {
    const entry = typeof item === 'string' ? item.trim() : item;
    if (entry === '') continue;
    checkEndpoint(entry, field, urls);
    list.push(entry as string);
  }
  if (list.length === 0) throw new InvalidArgumentError(`${field}: no endpoint given (expected ${expectedForm(urls)},…)`, field);
  return list;
}

/**
 * The `/client` WebSocket URL of one endpoint: `host:port` → `ws://host:port/client`, or
 * `wss://` when `secure` (the client has TLS settings); a URL keeps its scheme and its path,
 * `/client` when it has none. Throws {@link InvalidArgumentError} for an entry
 * {@link parseEndpointList} would refuse.
 */
export function endpointUrl(endpoint: string, secure = false): string {
  const url = checkEndpoint(endpoint, 'endpoints', true);
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/client';
  const text = url.toString();
  return secure && !/^wss?:\/\//i.test(endpoint) ? text.replace(/^ws:/, 'wss:') : text;
}

/** The URL `entry` stands for, or {@link InvalidArgumentError} naming it and the rule. */
function checkEndpoint(entry: unknown, field: string, urls: boolean): URL {
  const refuse = (why = ''): never => {
    throw new InvalidArgumentError(
      `${field}: ${JSON.stringify(entry)} is not an endpoint${why}: expected ${expectedForm(urls)} with a port from 1 to 65535, e.g. 127.0.0.1:7101`,
      field,
    );
  };
  if (typeof entry !== 'string') return refuse();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
    if (!urls) return refuse(' (a URL)');
    if (!/^wss?:\/\//i.test(entry)) return refuse(' (only ws:// and wss:// URLs)');
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return refuse();
    }
    if (url.port === '') return refuse(' (it names no port)');
    return url;
  }
  let hp;
  try {
    hp = parseHostPort(entry, field);
  } catch {
    return refuse();
  }
  return new URL(`ws://${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}/client`);
}

function expectedForm(urls: boolean): string {
  return urls ? 'host:port or ws://host:port' : 'host:port';
}
