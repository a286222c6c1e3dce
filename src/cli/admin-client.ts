/**
 * The CLI's client of a node's admin routes (docs/operations.md#http-endpoints):
 * `GET /admin/members` (following the answer to the leader), `POST /admin/members` changes sent
 * to the leader, and the wait for a learner to catch up. Used by `raftlock member …`,
 * `raftlock leader transfer` and `raftlock start --join`.
 */
import type { MembersView } from '../server/index.js';
import { nodeRequest, type NodeAccess, type NodeAnswer } from './node-http.js';

/** A failure of an admin request, with what to do in its message (exit code 1). */
export class AdminError extends Error {}

/** An HTTP answer: status and parsed JSON body (or the error that stopped it). */
export interface Answer extends NodeAnswer {
  readonly endpoint: string;
}

/** How long one request may take: a change waits for its commit (the node bounds that itself). */
const REQUEST_TIMEOUT_MS = 30_000;

/** One request to a node's admin route, as `access` (token, TLS) allows. */
export async function call(endpoint: string, method: 'GET' | 'POST', path: string, access: NodeAccess, body?: unknown): Promise<Answer> {
  const answer = await nodeRequest(endpoint, method, path, access, {
    timeoutMs: REQUEST_TIMEOUT_MS,
    ...(body !== undefined ? { body } : {}),
  });
  return { endpoint, ...answer };
}

/** The first endpoint that answers `GET /admin/members`, then (if it does not lead) the leader's answer. */
export async function fetchMembers(endpoints: readonly string[], access: NodeAccess): Promise<{ endpoint: string; view: MembersView }> {
  const failures: string[] = [];
  for (const endpoint of endpoints) {
    let answer: Answer;
    try {
      answer = await call(endpoint, 'GET', '/admin/members', access);
    } catch (err) {
      failures.push(`${endpoint}: ${reason(err)}`);
      continue;
    }
    if (answer.status !== 200) {
      failures.push(`${endpoint}: ${errorText(answer)}`);
      if (answer.status === 401 || answer.status === 403) break;
      continue;
    }
    const view = answer.body as unknown as MembersView;
    if (view.leader === view.from || view.leaderAddress === null) return { endpoint, view };
    try {
      const leader = await call(view.leaderAddress, 'GET', '/admin/members', access);
      if (leader.status === 200) return { endpoint: view.leaderAddress, view: leader.body as unknown as MembersView };
    } catch {
      // The leader did not answer: what this node knows is still the configuration in force.
    }
    return { endpoint, view };
  }
  throw new AdminError(`no node answered GET /admin/members (${failures.join('; ')}); check --endpoints and --token`);
}

/** Sends a change to the leader (following one redirect per answer), and returns its answer. */
export async function sendChange(endpoints: readonly string[], access: NodeAccess, change: Record<string, unknown>): Promise<MembersView> {
  const { view } = await fetchMembers(endpoints, access);
  let target = view.leaderAddress;
  for (let attempt = 0; attempt < 5 && target !== null; attempt++) {
    const answer = await call(target, 'POST', '/admin/members', access, change);
    if (answer.status === 200) return answer.body as unknown as MembersView;
    const error = answer.body.error as { code?: string; leaderAddress?: string | null } | undefined;
    if (error?.code !== 'NOT_LEADER') throw new AdminError(`${String(change.action)} ${String(change.id)}: ${errorText(answer)}`);
    target = error.leaderAddress ?? null;
    if (target === null) await new Promise((r) => setTimeout(r, 500));
    target ??= (await fetchMembers(endpoints, access)).view.leaderAddress;
  }
  throw new AdminError('no leader is known: is a majority of the voters up? (raftlock status)');
}

export function errorText(a: Answer): string {
  const e = a.body.error as { code?: string; message?: string } | undefined;
  return e !== undefined ? `${e.code ?? 'ERROR'}: ${e.message ?? ''}` : `HTTP ${a.status}${a.reason !== undefined ? `: ${a.reason}` : ''}`;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Waits until learner `id` has caught up (lag ≤ `slack` at the leader), up to `timeoutMs`. */
async function waitCaughtUp(endpoints: readonly string[], access: NodeAccess, id: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { view } = await fetchMembers(endpoints, access);
    const m = view.members.find((x) => x.id === id);
    // Reachable too: a learner that never answered shows match 0, a small lag on a short log.
    if (m?.reachable === true && m.lag !== null && m.lag <= CAUGHT_UP_LAG) return;
    if (Date.now() >= deadline) {
      throw new AdminError(
        `node ${id} has not caught up within ${timeoutMs} ms (lag ${m?.lag ?? 'unknown'}): is it running at its address? It stays a learner; promote it later with \`raftlock member promote ${id}\``,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A learner this close to the leader's log is promoted (the leader itself refuses beyond 256). */
const CAUGHT_UP_LAG = 64;

/**
 * Adds node `id` at `address` as a learner and, unless `learner`, waits until it has caught up
 * (up to `waitMs`) and promotes it: what `raftlock member add` does. The members after it.
 */
export async function addMember(
  endpoints: readonly string[],
  access: NodeAccess,
  id: number,
  address: string,
  opts: { readonly learner: boolean; readonly waitMs: number },
): Promise<MembersView> {
  const view = await sendChange(endpoints, access, { action: 'add-learner', id, address });
  return opts.learner ? view : promoteWhenCaughtUp(endpoints, access, id, opts.waitMs);
}

/** Waits until learner `id` has caught up (up to `waitMs`), then promotes it. The members after it. */
export async function promoteWhenCaughtUp(
  endpoints: readonly string[],
  access: NodeAccess,
  id: number,
  waitMs: number,
): Promise<MembersView> {
  await waitCaughtUp(endpoints, access, id, waitMs);
  return sendChange(endpoints, access, { action: 'promote', id });
}
