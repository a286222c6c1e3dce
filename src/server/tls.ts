/**
 * The node's TLS (docs/operations.md#tls): its certificate, key and CA read from the files of
 * the configuration, re-read when those change, and one port that speaks only TLS.
 *
 * One port serves peers (`/raft`), clients (`/client`) and the HTTP routes, so TLS is
 * terminated once, by one HTTPS server. Every connection is asked for a certificate: peers must
 * present one the CA signed (checked by the transport, with the node id it names), clients only
 * when `clientCertRequired`. A plain-text request on the port is answered with a plain-text
 * error that says to use TLS, rather than a reset a user cannot read.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Logger } from '../raft/index.js';
import type { PeerTls } from '../transport/index.js';
import type { TlsConfig } from './config.js';

/** PEM bytes of one load of the three files. */
export interface TlsPem {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/** How often the files are checked for a change. */
const WATCH_INTERVAL_MS = 2_000;

/**
 * The node's certificate material: loaded at start (a problem stops the start), then re-read
 * when the files change or on {@link reload}; a bad new set is logged and the old one kept.
 */
export class TlsMaterial {
  private pem: TlsPem;
  private stamp: string;
  private watcher: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(pem: TlsPem) => void> = [];

  constructor(
    readonly config: TlsConfig,
    private readonly logger: Logger,
  ) {
    this.pem = readPem(config);
    this.stamp = stampOf(config);
    logger.info('tls certificates loaded', describePem(this.pem));
  }

  /** The material in force: for the next connection, in either direction. */
  get current(): TlsPem {
    return this.pem;
  }

  /** What the transport needs to dial peers over TLS. */
  peerTls(): PeerTls {
    return { material: () => this.pem, verifyPeerIds: this.config.verifyPeerIds };
  }

  /** Called with the new material after every successful reload. */
  onReload(listener: (pem: TlsPem) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Re-reads the files. New connections use what they hold; connections already open keep
   * theirs. Returns whether the new set was taken.
   */
  reload(why: string): boolean {
    let pem: TlsPem;
    try {
      pem = readPem(this.config);
    } catch (err) {
      this.logger.warn('tls certificates not reloaded; the previous ones stay in use', { why, error: (err as Error).message });
      return false;
    }
    this.pem = pem;
    this.stamp = stampOf(this.config);
    for (const l of this.listeners) l(pem);
    this.logger.info('tls certificates reloaded', { why, ...describePem(pem) });
    return true;
  }

  /** Checks the files every couple of seconds and reloads when one changed. */
  watch(): void {
    if (this.watcher !== undefined) return;
    this.watcher = setInterval(() => {
      const now = stampOf(this.config);
      // A file being replaced may be missing or half-written for a moment: the next round sees it whole.
      if (now !== this.stamp && now !== '') this.reload('files changed');
    }, WATCH_INTERVAL_MS);
    this.watcher.unref();
  }

  stop(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }
}

/** Reads the three files and checks that they make a usable context (the key fits the certificate). */
function readPem(config: TlsConfig): TlsPem {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`tls: cannot read ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const pem = { cert: read(config.cert, 'certificate'), key: read(config.key, 'key'), ca: read(config.ca, 'CA certificate') };
  try {
    createSecureContext(pem);
  } catch (err) {
    throw new Error(`tls: ${config.cert}, ${config.key} and ${config.ca} do not make a usable TLS set-up: ${(err as Error).message}`);
  }
  return pem;
}

/** Modification times and sizes of the files: what tells a change without reading them. */
function stampOf(config: TlsConfig): string {
  try {
    return [config.cert, config.key, config.ca]
      .map((f) => {
        const st = statSync(f);
        return `${st.mtimeMs}:${st.size}:${st.ino}`;
      })
      .join('|');
  } catch {
    return '';
  }
}

/** What a log line says of a certificate: whose, valid until when, its fingerprint. */
function describePem(pem: TlsPem): Record<string, unknown> {
  try {
    const x = new X509Certificate(pem.cert);
    return {
      subject: x.subject.replace(/\n/g, ', '),
      subjectAltName: x.subjectAltName,
      validTo: x.validTo,
      fingerprint256: x.fingerprint256,
    };
  } catch {
    return {};
  }
}

/** The HTTPS server of a node with TLS, and the plain listener in front of it. */
export interface TlsServer {
  /** Where requests and upgrades arrive (as from `http.createServer`). */
  readonly https: HttpsServer;
  /** What listens on the port: hands TLS to {@link https}, answers plain text itself. */
  readonly listener: NetServer;
}

/**
 * An HTTPS server for `handler` with `material`, behind a listener that tells TLS from plain
 * text by the first byte (a TLS record of type handshake, 0x16). Reloads take effect for new
 * connections.
 */
export function createTlsServer(material: TlsMaterial, handler: (req: IncomingMessage, res: ServerResponse) => void): TlsServer {
  const https = createHttpsServer(
    {
      ...material.current,
      // Asked of everyone, required of no one at this layer: peers are checked by the transport,
      // clients by the node when clientCertRequired, each with an error that says why.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    handler,
  );
  material.onReload((pem) => https.setSecureContext({ ...pem, minVersion: 'TLSv1.2' }));
  const listener = createNetServer((socket) => route(socket, https));
  return { https, listener };
}

/** How long a new connection may stay silent before its first byte tells TLS from plain text. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

function route(socket: Socket, https: HttpsServer): void {
  socket.on('error', () => socket.destroy());
  socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
  socket.once('data', (chunk: Buffer) => {
    socket.setTimeout(0);
    socket.pause();
    // Given back to the stream: the TLS socket that wraps it reads what is buffered first.
    socket.unshift(chunk);
    if (chunk[0] === 0x16) https.emit('connection', socket);
    else refusePlainText(socket);
  });
}

/** A plain-text request to a TLS port gets an answer it can show, then the connection ends. */
function refusePlainText(socket: Socket): void {
  const body = 'this raftlock node accepts TLS only: use https:// or wss:// (the SDK option tls, or --cacert)\n';
  // The header is what the SDK shows (connection.ts): the body may never be read.
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Raftlock-Reason: ${body.trim()}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Why a client connection's certificate is not acceptable when one is required, or null. */
export function clientCertificateProblem(req: IncomingMessage, required: boolean): string | null {
  if (!required) return null;
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.authorized === true) return null;
  return `a client certificate signed by the cluster's CA is required (${String(socket.authorizationError ?? 'none presented')})`;
}
