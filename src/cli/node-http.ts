/**
 * The CLI's HTTP(S) requests to a node's routes (`/status`, `/admin/…`): one function for
 * `raftlock status`, the member commands, `start --join` and `cluster up`, with the client
 * token as a bearer credential and, for a node with TLS, the CA and client certificate of
 * `--cacert`, `--cert`, `--key` (docs/operations.md#tls).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { ClientTls } from '../client/index.js';
import { tlsFilesOf, type ClusterConfig } from '../server/index.js';

/** Who the CLI is to a node: its token and TLS settings, each when given. */
export interface NodeAccess {
  readonly token?: string;
  readonly tls?: ClientTls;
}

/** `{ token, tls }` with only the parts given (an empty token counts as none). */
export function nodeAccess(token: string | undefined, tls: ClientTls | undefined): NodeAccess {
  return { ...(token !== undefined && token !== '' ? { token } : {}), ...(tls !== undefined ? { tls } : {}) };
}

/**
 * Node `id`'s own TLS material from `config` (CA, certificate, key), read from the files: what
 * `start --join` and `cluster up` present to the nodes (a node's certificate is a client
 * certificate too). Undefined without TLS.
 */
export function nodeTlsOf(config: ClusterConfig, id: number): ClientTls | undefined {
  if (config.tls === undefined) return undefined;
  const files = tlsFilesOf(config.tls, id);
  return { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) };
}

/** A node's answer: the HTTP status and the body, parsed as JSON when it is (else `{}`). */
export interface NodeAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** The body as text (`/metrics` is not JSON). */
  readonly text: string;
  /** Why the node refused, when it says so in a header (e.g. a TLS-only port asked in plain text). */
  readonly reason?: string;
}

/** A request that got no answer; `code` is the system's or TLS's (ECONNREFUSED, CERT_…, TIMEOUT). */
export class NodeRequestError extends Error {
  override readonly name = 'NodeRequestError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * `method path` at `endpoint` (`host:port`): HTTPS when `access.tls` is given. Rejects with
 * {@link NodeRequestError} when there is no answer within `timeoutMs` (the timer keeps the
 * process alive until then, unlike AbortSignal.timeout's).
 */
export function nodeRequest(
  endpoint: string,
  method: 'GET' | 'POST',
  path: string,
  access: NodeAccess,
  opts: { readonly timeoutMs: number; readonly body?: unknown; readonly signal?: AbortSignal },
): Promise<NodeAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (access.token !== undefined && access.token !== '') headers.authorization = `Bearer ${access.token}`;
  const tls = access.tls;
  const url = `${tls !== undefined ? 'https' : 'http'}://${endpoint}${path}`;
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => finish(undefined, err));
      const reason = res.headers['x-raftlock-reason'];
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        finish({
          status: res.statusCode ?? 0,
          body: parseBody(text),
          text,
          ...(typeof reason === 'string' ? { reason } : {}),
        });
      });
    };
    const req =
      tls !== undefined
        ? httpsRequest(url, { method, headers, ...(tls.ca !== undefined ? { ca: tls.ca as string } : {}), ...tlsIdentity(tls) }, onResponse)
        : httpRequest(url, { method, headers }, onResponse);
    const timer = setTimeout(() => {
      finish(undefined, new NodeRequestError(`no answer from ${endpoint} within ${opts.timeoutMs} ms`, 'TIMEOUT'));
      req.destroy();
    }, opts.timeoutMs);
    let done = false;
    const finish = (answer: NodeAnswer | undefined, err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (answer !== undefined) resolve(answer);
      else reject(err instanceof NodeRequestError ? err : asRequestError(endpoint, err));
    };
    req.on('error', (err) => finish(undefined, err));
    const onAbort = (): void => {
      finish(undefined, new NodeRequestError(`request to ${endpoint} given up`, 'ABORTED'));
      req.destroy();
    };
    if (opts.signal?.aborted === true) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.end(opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
  });
}

function tlsIdentity(tls: ClientTls): Record<string, unknown> {
  return tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {};
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A socket or TLS failure as an error naming the endpoint and, for TLS, what to check. */
function asRequestError(endpoint: string, err: Error | undefined): NodeRequestError {
  const code = (err as { code?: unknown } | undefined)?.code;
  const text = typeof code === 'string' ? code : 'ERROR';
  const hint = /CERT|ISSUER|SIGNATURE|ALTNAME|VERIFY/.test(text)
    ? ": the node's certificate does not verify with --cacert (is it the CA that signed the nodes' certificates?)"
    : /WRONG_VERSION|EPROTO/.test(text)
      ? ': the node does not speak TLS (drop --cacert)'
      : '';
  return new NodeRequestError(`${endpoint}: ${err?.message ?? 'request failed'}${hint}`, text);
}
