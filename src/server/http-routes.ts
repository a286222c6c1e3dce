/**
 * The node's plain HTTP routes: `GET /status`, `GET /healthz`, `GET /metrics`, the cluster page
 * (`/ui`, ui-routes.ts) and the admin routes (docs/operations.md#http-endpoints). WebSocket
 * upgrades (`/raft`, `/client`) are routed by the node, not here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProposeOutcome, RaftHost } from '../host/index.js';
import type { NodeStatus } from '../protocol/index.js';
import { NONE } from '../raft/index.js';
import type { ApplyOutput } from '../state-machine/index.js';
import type { ClusterConfig } from './config.js';
import type { Logger } from './logger.js';
import { allows, forbidden, type Authenticator, type Role } from './access.js';
import type { NodeMetrics } from './node-metrics.js';
import type { MemberDirectory } from './members.js';
import {
  confChangeOf,
  membersView,
  parseMemberChange,
  proposeAndWait,
  refusalMessage,
  type ChangeOutcome,
  type MembersView,
} from './member-routes.js';
import type { UiRoutes } from './ui-routes.js';

/** What the routes read. */
export interface HttpContext {
  readonly host: RaftHost<ApplyOutput>;
  readonly status: () => NodeStatus;
  readonly metrics: NodeMetrics;
  readonly config: ClusterConfig;
  readonly logger: Logger;
  /** Client tokens and roles: `/status` and `/metrics` need `read`, the admin routes `admin`. */
  readonly access: Authenticator;
  /**
   * Whether `POST /admin/propose` exists: raw log entries, for tests and the raw Raft benchmark
   * only. Off in production, because a raw entry can carry anything, forged log time included.
   */
  readonly rawPropose: boolean;
  /** Where each member is reached (`/admin/members`). */
  readonly directory: MemberDirectory;
  /** The cluster page: `/ui` is open, `/ui/state` and `/ui/events` need `read`. */
  readonly ui: UiRoutes;
}

/** Sends `body` as JSON with status `code`. */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Answers one HTTP request. Rejects only on a bug; the caller answers 500 then. */
export async function handleHttp(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://node');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  switch (route) {
    case 'GET /status':
      if (!authorized(req, res, ctx, 'read', route)) return;
      return sendJson(res, 200, ctx.status());
    case 'GET /healthz': {
      const st = ctx.host.status(false);
      const ok = st.leader !== NONE && !ctx.host.isStopped();
      return sendJson(res, ok ? 200 : 503, { ok, role: st.role, term: st.term, leader: st.leader });
    }
    case 'GET /metrics': {
      if (!authorized(req, res, ctx, 'read', route)) return;
      const text = ctx.metrics.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(text);
      return;
    }
    case 'GET /ui':
      return ctx.ui.sendPage(res);
    case 'GET /ui/state':
      if (!authorized(req, res, ctx, 'read', route)) return;
      return sendJson(res, 200, ctx.ui.state());
    case 'GET /ui/events': {
      if (!authorized(req, res, ctx, 'read', route)) return;
      const refused = ctx.ui.streamEvents(res, url.searchParams);
      return refused === undefined ? undefined : sendJson(res, refused.status, { error: refused.error });
    }
    case 'GET /admin/members':
      if (!authorized(req, res, ctx, 'read', route)) return;
      return sendJson(res, 200, membersView(ctx.host.status(true), ctx.directory));
    case 'POST /admin/members':
      if (!authorized(req, res, ctx, 'admin', route)) return;
      return changeMembers(req, res, ctx);
    case 'POST /admin/propose':
      if (!ctx.rawPropose) return notFound(res, route);
      return handleAdmin(route, url, req, res, ctx);
    case 'POST /admin/snapshot':
    case 'POST /admin/transfer-leader':
      return handleAdmin(route, url, req, res, ctx);
    default:
      return notFound(res, route);
  }
}

function notFound(res: ServerResponse, route: string): void {
  sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${route}; try GET /status, /metrics, /healthz` } });
}

/**
 * Whether the request's `Authorization: Bearer <token>` grants `needed` (always, when no token
 * is configured); if not, answers 401 (no or unknown token) or 403 (too small a role).
 */
function authorized(req: IncomingMessage, res: ServerResponse, ctx: HttpContext, needed: Role, route: string): boolean {
  const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const who = ctx.access.identify(presented);
  if (who === undefined) {
    const message = `${route} needs a client token of role ${needed} or above: send Authorization: Bearer <token>`;
    sendJson(res, 401, { error: { code: 'AUTH', message } });
    return false;
  }
  if (!allows(who.role, needed)) {
    sendJson(res, 403, { error: { code: 'AUTH', message: forbidden(who, needed, route) } });
    return false;
  }
  return true;
}

/** Largest body `POST /admin/members` reads: a change is a few dozen bytes. */
const MAX_CHANGE_BODY = 4096;

/** `POST /admin/members`: one membership change, answered once committed (or refused). */
async function changeMembers(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  const body = await readBody(req, MAX_CHANGE_BODY);
  if (body === undefined) return sendJson(res, 413, { error: { code: 'LIMIT_EXCEEDED', message: `body over ${MAX_CHANGE_BODY} bytes` } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return sendJson(res, 400, { error: { code: 'INVALID_ARGUMENT', message: 'body: expected JSON { action, id, address? }' } });
  }
  const request = parseMemberChange(parsed);
  if (typeof request === 'string') return sendJson(res, 400, { error: { code: 'INVALID_ARGUMENT', message: request } });
  const { tickMs, electionTicks } = ctx.config;
  const outcome = await proposeAndWait(ctx.host, confChangeOf(request), tickMs, 20 * electionTicks * tickMs);
  const view = (): MembersView => membersView(ctx.host.status(true), ctx.directory);
  ctx.logger.info('membership change', { action: request.action, member: request.id, outcome: outcome.type, ...outcomeFields(outcome) });
  if (outcome.type === 'committed') return sendJson(res, 200, { index: outcome.index, ...view() });
  if (outcome.type === 'unknown') {
    return sendJson(res, 503, {
      error: {
        code: 'UNAVAILABLE',
        message: outcome.reason,
        outcomeUnknown: true,
        leader: view().leader,
        leaderAddress: view().leaderAddress,
      },
    });
  }
  if (outcome.reason === 'not-leader') {
    const v = view();
    const message = v.leader === NONE ? 'no leader is known: retry in a moment' : `node ${v.leader} leads: send the change there`;
    return sendJson(res, 503, {
      error: { code: 'NOT_LEADER', message, outcomeUnknown: false, leader: v.leader, leaderAddress: v.leaderAddress },
    });
  }
  return sendJson(res, 409, {
    error: { code: 'CHANGE_REFUSED', reason: outcome.reason, message: refusalMessage(outcome.reason, request.id) },
  });
}

function outcomeFields(o: ChangeOutcome): Record<string, unknown> {
  return o.type === 'committed' ? { index: o.index } : { reason: o.reason };
}

/** Operator and test routes: they need a token of role `admin` when tokens are configured. */
async function handleAdmin(route: string, url: URL, req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  if (!authorized(req, res, ctx, 'admin', route)) return;
  if (route === 'POST /admin/snapshot') {
    ctx.host.snapshotNow();
    return sendJson(res, 202, { requested: true, applied: ctx.host.appliedIndex });
  }
  if (route === 'POST /admin/transfer-leader') {
    const to = Number(url.searchParams.get('to'));
    if (!Number.isSafeInteger(to) || to <= 0)
      return sendJson(res, 400, { error: { code: 'INVALID_ARGUMENT', message: 'query parameter to=<node id> is required' } });
    return sendJson(res, 200, ctx.host.transferLeadership(to));
  }
  const body = await readBody(req, ctx.config.limits.maxClientFrameBytes);
  if (body === undefined)
    return sendJson(res, 413, { error: { code: 'LIMIT_EXCEEDED', message: `body over ${ctx.config.limits.maxClientFrameBytes} bytes` } });
  const outcome = await new Promise<ProposeOutcome<ApplyOutput>>((resolve) => ctx.host.propose(new Uint8Array(body), resolve));
  if (outcome.type === 'applied') return sendJson(res, 200, { index: outcome.index, term: outcome.term, result: outcome.result });
  const st = ctx.status();
  if (outcome.type === 'failed') {
    return sendJson(res, 503, {
      error: {
        code: outcome.code === 'NOT_LEADER' ? 'NOT_LEADER' : 'UNAVAILABLE',
        message: outcome.code,
        outcomeUnknown: false,
        leader: st.leader,
        leaderAddress: st.leaderAddress,
      },
    });
  }
  return sendJson(res, 503, {
    error: { code: 'UNAVAILABLE', message: outcome.reason, outcomeUnknown: true, leader: st.leader, leaderAddress: st.leaderAddress },
  });
}
