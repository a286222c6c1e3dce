/**
 * One WebSocket to one node's `/client` endpoint: request ids, responses matched by id, and a
 * clean failure of every pending request when the socket closes. No retries here: the
 * {@link ClusterClient} decides what a failure means.
 *
 * The socket keeps the process alive only while a request is pending on it (as Node's own
 * HTTP agent does with idle keep-alive sockets): a program that is done, and forgot
 * `close()`, exits instead of hanging on an idle connection. Its session then ends by expiry.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { corkUntilTickEnd, decodeResponse, encodeRequest, zeroMask, type ClientResponse, type RequestBody } from '../protocol/index.js';

/** The socket closed (or failed) before the response arrived. */
export class ConnectionLostError extends Error {
  override readonly name = 'ConnectionLostError';
}

// Where it lived first; scripts still import it from here.
export { endpointUrl } from './endpoints.js';

/** An open connection to one node. */
export class Connection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ClientResponse) => void; reject: (e: Error) => void }>();
  private closedError: Error | undefined;
  /** Sessions proven on this connection (opened here, or bound). */
  readonly bound = new Set<number>();

  private constructor(
    private readonly ws: WebSocket,
    /** The `/client` URL of the node. */
    readonly url: string,
    /** The TCP socket under `ws`, corked while a burst of requests is written. */
    private readonly socket: Socket | undefined,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      let r: ClientResponse;
      try {
        r = decodeResponse(data);
      } catch {
        // A response we cannot read: the node speaks the protocol wrongly; give up on it.
        this.fail(new ConnectionLostError(`undecodable response from ${url}`));
        return;
      }
      if (r.id === null) return; // an answer to a frame we did not send well: nothing to match
      const p = this.pending.get(r.id);
      if (p === undefined) return;
      this.forget(r.id);
      p.resolve(r);
    });
    ws.on('close', (code, reason) =>
      this.fail(new ConnectionLostError(`connection to ${url} closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`)),
    );
    ws.on('error', (err) => this.fail(new ConnectionLostError(`connection to ${url} failed: ${err.message}`)));
    this.holdProcessWhileBusy();
  }

  /** Opens a connection; rejects with {@link ConnectionLostError} if it cannot within `timeoutMs`. */
  static open(url: string, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        maxPayload: 16 * 1024 * 1024,
        handshakeTimeout: Math.max(1, timeoutMs),
        generateMask: zeroMask,
      });
      let socket: Socket | undefined;
      ws.once('upgrade', (res) => {
        socket = res.socket;
      });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new ConnectionLostError(`could not connect to ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new Connection(ws, url, socket));
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        ws.terminate();
        reject(new ConnectionLostError(`could not connect to ${url}: ${err.message}`));
      });
    });
  }

  /** Whether the socket is open and usable. */
  get isOpen(): boolean {
    return this.closedError === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a request. The promise resolves with the response (success or error) and rejects only
   * with {@link ConnectionLostError}. `cancel` forgets the request (a late answer is dropped).
   */
  send(body: RequestBody): { readonly response: Promise<ClientResponse>; cancel(): void } {
    const id = this.nextId++;
    const response = new Promise<ClientResponse>((resolve, reject) => {
      if (this.closedError !== undefined) {
        reject(this.closedError);
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.holdProcessWhileBusy();
      try {
        if (this.socket !== undefined) corkUntilTickEnd(this.socket);
        this.ws.send(encodeRequest({ ...body, id }));
      } catch (err) {
        this.forget(id);
        reject(new ConnectionLostError(`could not send to ${this.url}: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
    return { response, cancel: () => this.forget(id) };
  }

  /** Closes the socket; pending requests reject with {@link ConnectionLostError}. Idempotent. */
  close(): void {
    this.fail(new ConnectionLostError(`connection to ${this.url} closed by the client`));
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  private fail(err: Error): void {
    if (this.closedError === undefined) this.closedError = err;
    const all = [...this.pending.values()];
    this.pending.clear();
    this.holdProcessWhileBusy();
    for (const p of all) p.reject(err);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
  }

  /** Drops request `id` from the pending ones (answered, cancelled or unsendable). */
  private forget(id: number): void {
    this.pending.delete(id);
    this.holdProcessWhileBusy();
  }

  /** Refs the socket while a request is pending, unrefs it when idle (see the module comment). */
  private holdProcessWhileBusy(): void {
    if (this.pending.size > 0) this.socket?.ref();
    else this.socket?.unref();
  }
}
