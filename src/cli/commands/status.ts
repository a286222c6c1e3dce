/** `raftlock status [--endpoints E] [--json]`: one row per node, from each node's /status. */
import { NO_LEADER, type NodeStatus } from '../../protocol/index.js';
import { nodeRequest, NodeRequestError, type NodeAccess, type NodeAnswer } from '../node-http.js';
import { formatTable } from '../table.js';

export interface StatusRow {
  readonly endpoint: string;
  readonly reachable: boolean;
  readonly status?: NodeStatus;
  readonly error?: string;
}

/**
 * Fetches /status from every endpoint in parallel (2 s timeout each), as `access` allows: its
 * token as the bearer credential (a cluster with client tokens needs one of role `read`), its
 * TLS settings for nodes with TLS.
 */
export async function fetchStatuses(endpoints: readonly string[], timeoutMs = 2000, access: NodeAccess = {}): Promise<StatusRow[]> {
  return Promise.all(
    endpoints.map(async (endpoint): Promise<StatusRow> => {
      let res: NodeAnswer;
      try {
        res = await nodeRequest(endpoint, 'GET', '/status', access, { timeoutMs });
      } catch (err) {
        return { endpoint, reachable: false, error: err instanceof NodeRequestError ? describeFailure(err) : String(err) };
      }
      if (res.status === 401 || res.status === 403) return { endpoint, reachable: true, error: `AUTH: ${refusal(res, access)}` };
      if (res.status !== 200)
        return { endpoint, reachable: false, error: `HTTP ${res.status}${res.reason !== undefined ? `: ${res.reason}` : ''}` };
      return { endpoint, reachable: true, status: res.body as unknown as NodeStatus };
    }),
  );
}

/** The code of a socket failure (ECONNREFUSED, TIMEOUT), with the whole message for TLS ones. */
function describeFailure(err: NodeRequestError): string {
  return /CERT|ISSUER|SIGNATURE|ALTNAME|VERIFY|WRONG_VERSION|EPROTO/.test(err.code) ? `${err.code}: ${err.message}` : err.code;
}

/** Why a node refused `/status`: what it said (a client certificate it requires), else the token. */
function refusal(res: NodeAnswer, access: NodeAccess): string {
  const said = (res.body.error as { message?: unknown } | undefined)?.message;
  if (typeof said === 'string' && /certificate/.test(said)) return `${said} (--cert and --key)`;
  const why = access.token === undefined || access.token === '' ? 'a client token is required' : 'the token was refused';
  return `${why} (--token or RAFTLOCK_TOKEN, role read or above)`;
}

export function formatStatusTable(rows: readonly StatusRow[]): string {
  const maxCommit = Math.max(0, ...rows.map((r) => r.status?.commit ?? 0));
  const header = ['ID', 'ADDRESS', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'LAG', 'REACHABLE'];
  const body = rows.map((r) => {
    const s = r.status;
    if (s === undefined) return ['-', r.endpoint, '-', '-', '-', '-', '-', '-', `${r.reachable ? 'yes' : 'no'} (${r.error ?? 'unknown'})`];
    return [
      String(s.id),
      s.address,
      s.role,
      String(s.term),
      s.leader === NO_LEADER ? 'none' : String(s.leader),
      String(s.commit),
      String(s.applied),
      String(maxCommit - s.applied),
      'yes',
    ];
  });
  return formatTable(header, body);
}

/**
 * The statuses of `endpoints` and of every member they name (their `/status` lists the
 * configuration in force): one row per node, whatever subset of the cluster was given. A member
 * that joined since the endpoints were written shows up; the rows follow the given endpoints,
 * then the members found, by id.
 */
export async function discoverStatuses(endpoints: readonly string[], timeoutMs = 2000, access: NodeAccess = {}): Promise<StatusRow[]> {
  const rows = await fetchStatuses(endpoints, timeoutMs, access);
  const seen = new Set(endpoints);
  const more: string[] = [];
  const members = rows.flatMap((r) => r.status?.members ?? []).sort((a, b) => a.id - b.id);
  for (const { address } of members) {
    if (address === null || seen.has(address)) continue;
    seen.add(address);
    more.push(address);
  }
  return more.length === 0 ? rows : [...rows, ...(await fetchStatuses(more, timeoutMs, access))];
}

export async function runStatus(endpoints: readonly string[], json: boolean, access: NodeAccess): Promise<number> {
  const rows = await discoverStatuses(endpoints, 2000, access);
  if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(`${formatStatusTable(rows)}\n`);
  const reachable = rows.filter((r) => r.reachable);
  const refused = rows.find((r) => r.error?.startsWith('AUTH') === true);
  if (refused !== undefined && rows.every((r) => r.status === undefined)) {
    if (!json) process.stderr.write(`raftlock status: ${refused.error ?? 'AUTH'}\n`);
    return 1;
  }
  if (reachable.length === 0) {
    if (!json)
      process.stderr.write(
        `raftlock status: no node reachable at ${endpoints.join(', ')}; is the cluster running (\`raftlock cluster up\`, or \`npm start\` in a raftlock checkout)?\n`,
      );
    return 1;
  }
  return 0;
}
