/**
 * `raftlock member list|add|promote|remove|replace` and `raftlock leader transfer`
 * (docs/operations.md#changing-the-members): the operator's side of `GET/POST /admin/members`
 * and `POST /admin/transfer-leader`. Every change goes to the leader, waits until it has
 * committed, and prints the members after it.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { MembersView } from '../../server/index.js';
import { parseEndpoints } from '../endpoints.js';
import { formatTable } from '../table.js';

/** What every member command takes. */
interface Common {
  readonly endpoints?: string;
  readonly token?: string;
  readonly json: boolean;
}

/** An HTTP answer: status and parsed JSON body (or the error that stopped it). */
interface Answer {
  readonly endpoint: string;
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** How long one request may take: a change waits for its commit (the node bounds that itself). */
const REQUEST_TIMEOUT_MS = 30_000;

class MemberCommandError extends Error {}

async function call(endpoint: string, method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown): Promise<Answer> {
  const abort = new AbortController();
  // A timer that keeps the process alive (AbortSignal.timeout's does not), see status.ts.
  const timer = setTimeout(
    () => abort.abort(new DOMException(`no answer within ${REQUEST_TIMEOUT_MS} ms`, 'TimeoutError')),
    REQUEST_TIMEOUT_MS,
  );
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
    const res = await fetch(`http://${endpoint}${path}`, {
      method,
      headers,
      signal: abort.signal,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const parsed = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    return { endpoint, status: res.status, body: parsed };
  } finally {
    clearTimeout(timer);
  }
}

/** The first endpoint that answers `GET /admin/members`, then (if it does not lead) the leader's answer. */
async function fetchMembers(endpoints: readonly string[], token: string | undefined): Promise<{ endpoint: string; view: MembersView }> {
  const failures: string[] = [];
  for (const endpoint of endpoints) {
    let answer: Answer;
    try {
      answer = await call(endpoint, 'GET', '/admin/members', token);
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
      const leader = await call(view.leaderAddress, 'GET', '/admin/members', token);
      if (leader.status === 200) return { endpoint: view.leaderAddress, view: leader.body as unknown as MembersView };
    } catch {
      // The leader did not answer: what this node knows is still the configuration in force.
    }
    return { endpoint, view };
  }
  throw new MemberCommandError(`no node answered GET /admin/members (${failures.join('; ')}); check --endpoints and --token`);
}

/** Sends a change to the leader (following one redirect per answer), and returns its answer. */
async function sendChange(endpoints: readonly string[], token: string | undefined, change: Record<string, unknown>): Promise<MembersView> {
  const { view } = await fetchMembers(endpoints, token);
  let target = view.leaderAddress;
  for (let attempt = 0; attempt < 5 && target !== null; attempt++) {
    const answer = await call(target, 'POST', '/admin/members', token, change);
    if (answer.status === 200) return answer.body as unknown as MembersView;
    const error = answer.body.error as { code?: string; leaderAddress?: string | null } | undefined;
    if (error?.code !== 'NOT_LEADER') throw new MemberCommandError(`${String(change.action)} ${String(change.id)}: ${errorText(answer)}`);
    target = error.leaderAddress ?? null;
    if (target === null) await new Promise((r) => setTimeout(r, 500));
    target ??= (await fetchMembers(endpoints, token)).view.leaderAddress;
  }
  throw new MemberCommandError('no leader is known: is a majority of the voters up? (raftlock status)');
}

function errorText(a: Answer): string {
  const e = a.body.error as { code?: string; message?: string } | undefined;
  return e !== undefined ? `${e.code ?? 'ERROR'}: ${e.message ?? ''}` : `HTTP ${a.status}`;
}

function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  return cause ?? (err instanceof Error ? err.message : String(err));
}

/** The members as a table, with the configuration's index and whether a change is pending. */
export function formatMembers(v: MembersView): string {
  const header = ['ID', 'ADDRESS', 'ROLE', 'MATCH', 'LAG', 'REACHABLE'];
  const cell = (x: number | boolean | null): string => (x === null ? '-' : typeof x === 'boolean' ? (x ? 'yes' : 'no') : String(x));
  const rows = v.members.map((m) => [
    String(m.id) + (m.id === v.leader ? '*' : ''),
    m.address ?? '?',
    m.role,
    cell(m.match),
    cell(m.lag),
    cell(m.reachable),
  ]);
  const pending = v.changePending ? ', a change pending (not yet committed)' : '';
  return `configuration at index ${v.configIndex} (term ${v.term}, * = leader${pending})\n${formatTable(header, rows)}`;
}

function print(v: MembersView, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(v, null, 2)}\n` : `${formatMembers(v)}\n`);
}

/** Waits until learner `id` has caught up (lag ≤ `slack` at the leader), up to `timeoutMs`. */
async function waitCaughtUp(endpoints: readonly string[], token: string | undefined, id: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { view } = await fetchMembers(endpoints, token);
    const m = view.members.find((x) => x.id === id);
    // Reachable too: a learner that never answered shows match 0, a small lag on a short log.
    if (m?.reachable === true && m.lag !== null && m.lag <= CAUGHT_UP_LAG) return;
    if (Date.now() >= deadline) {
      throw new MemberCommandError(
        `node ${id} has not caught up within ${timeoutMs} ms (lag ${m?.lag ?? 'unknown'}): is it running at its address? It stays a learner; promote it later with \`raftlock member promote ${id}\``,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A learner this close to the leader's log is promoted (the leader itself refuses beyond 256). */
const CAUGHT_UP_LAG = 64;

function positiveId(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer node id');
  return n;
}

function options(cmd: Command): Command {
  return cmd
    .option('--endpoints <list>', 'host:port,… of any nodes (default: env RAFTLOCK_ENDPOINTS or the three-node loopback config)')
    .option('--token <token>', 'client token of role admin (read for list), when the cluster requires one (default: env RAFTLOCK_TOKEN)')
    .option('--json', 'machine-readable output', false);
}

/** Runs `body`, turning its failures into a message and exit code 1. */
async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    process.stderr.write(`raftlock: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

const tokenOf = (o: Common): string | undefined => o.token ?? process.env.RAFTLOCK_TOKEN;

/** Registers `member …` and `leader transfer` on `program`. */
export function registerMemberCommands(program: Command): void {
  const member = program.command('member').description('list and change the members of a running cluster');
  options(member.command('list').description('the members: id, address, voter or learner, replication progress at the leader')).action(
    (o: Common) => run(async () => print((await fetchMembers(parseEndpoints(o.endpoints), tokenOf(o))).view, o.json)),
  );
  options(
    member
      .command('add')
      .description('add a node as a learner, wait until it has caught up, then make it a voter (--learner: leave it a learner)')
      .requiredOption('--id <n>', 'the new node’s id (never one a member has or had) (required)', positiveId)
      .requiredOption('--address <host:port>', 'where its peers and clients reach it (required)')
      .option('--learner', 'add it as a learner only', false)
      .option('--wait <ms>', 'how long to wait for it to catch up before promoting', (v) => positiveId(v), 60_000),
  ).action((o: Common & { id: number; address: string; learner: boolean; wait: number }) =>
    run(async () => {
      const endpoints = parseEndpoints(o.endpoints);
      let view = await sendChange(endpoints, tokenOf(o), { action: 'add-learner', id: o.id, address: o.address });
      if (!o.learner) {
        await waitCaughtUp(endpoints, tokenOf(o), o.id, o.wait);
        view = await sendChange(endpoints, tokenOf(o), { action: 'promote', id: o.id });
      }
      print(view, o.json);
    }),
  );
  for (const [name, action, what] of [
    ['promote', 'promote', 'make a learner a voter (once it has caught up)'],
    ['remove', 'remove', 'remove a voter or learner (the leader too: it hands over first)'],
  ] as const) {
    options(member.command(`${name} <id>`).description(what)).action((id: string, o: Common) =>
      run(async () => print(await sendChange(parseEndpoints(o.endpoints), tokenOf(o), { action, id: positiveId(id) }), o.json)),
    );
  }
  options(
    member
      .command('replace <id>')
      .description(
        'replace a (dead) member by a new node with a fresh data directory: add it, let it catch up, promote it, remove the old one',
      )
      .requiredOption('--address <host:port>', 'where the new node listens (required)')
      .option('--new-id <n>', 'the new node’s id (default: one above every current member’s)', positiveId)
      .option('--wait <ms>', 'how long to wait for it to catch up', (v) => positiveId(v), 60_000),
  ).action((old: string, o: Common & { address: string; newId?: number; wait: number }) =>
    run(async () => {
      const endpoints = parseEndpoints(o.endpoints);
      const oldId = positiveId(old);
      const { view } = await fetchMembers(endpoints, tokenOf(o));
      if (!view.members.some((m) => m.id === oldId)) throw new MemberCommandError(`node ${oldId} is not a member (raftlock member list)`);
      const id = o.newId ?? Math.max(...view.members.map((m) => m.id)) + 1;
      process.stderr.write(`replacing node ${oldId} by node ${id} at ${o.address}\n`);
      await sendChange(endpoints, tokenOf(o), { action: 'add-learner', id, address: o.address });
      await waitCaughtUp(endpoints, tokenOf(o), id, o.wait);
      await sendChange(endpoints, tokenOf(o), { action: 'promote', id });
      print(await sendChange(endpoints, tokenOf(o), { action: 'remove', id: oldId }), o.json);
    }),
  );
  const leader = program.command('leader').description('the leadership of a running cluster');
  options(leader.command('transfer <id>').description('hand leadership to a voter, and wait until it leads')).action(
    (id: string, o: Common) =>
      run(async () => {
        const endpoints = parseEndpoints(o.endpoints);
        const target = positiveId(id);
        const { view } = await fetchMembers(endpoints, tokenOf(o));
        if (view.leaderAddress === null)
          throw new MemberCommandError('no leader is known: is a majority of the voters up? (raftlock status)');
        const answer = await call(view.leaderAddress, 'POST', `/admin/transfer-leader?to=${target}`, tokenOf(o));
        if (answer.status !== 200) throw new MemberCommandError(`leader transfer ${target}: ${errorText(answer)}`);
        if (answer.body.type === 'dropped' && answer.body.reason !== 'already-leader') {
          const why = { 'unknown-node': 'it is not a member', learner: 'it is a learner (promote it first)' }[String(answer.body.reason)];
          throw new MemberCommandError(`leader transfer ${target}: refused, ${why ?? String(answer.body.reason)}`);
        }
        const deadline = Date.now() + 10_000;
        for (;;) {
          const now = (await fetchMembers(endpoints, tokenOf(o))).view;
          if (now.leader === target) return print(now, o.json);
          if (Date.now() >= deadline) {
            throw new MemberCommandError(
              `node ${target} does not lead after 10 s (leader: ${now.leader}; transfer answered ${JSON.stringify(answer.body)})`,
            );
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }),
  );
}
