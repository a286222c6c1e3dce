/** `raftlock status [--endpoints E] [--json]`: one row per node, from each node's /status. */
import { NO_LEADER, type NodeStatus } from '../../protocol/index.js';
import { formatTable } from '../table.js';

export interface StatusRow {
  readonly endpoint: string;
  readonly reachable: boolean;
  readonly status?: NodeStatus;
  readonly error?: string;
}

/**
 * Fetches /status from every endpoint in parallel (2 s timeout each), with `token` as the
 * bearer credential when given (a cluster with client tokens needs one of role `read`).
 */
export async function fetchStatuses(endpoints: readonly string[], timeoutMs = 2000, token?: string): Promise<StatusRow[]> {
  const headers: Record<string, string> = token !== undefined && token !== '' ? { authorization: `Bearer ${token}` } : {};
  return Promise.all(
    endpoints.map(async (endpoint): Promise<StatusRow> => {
      // Not AbortSignal.timeout: its timer does not keep the process alive, and a port that
      // accepts and drops connections leaves fetch pending with nothing else scheduled, so the
      // process would exit mid-await (code 0, no output). This timer keeps it alive.
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
      try {
        const res = await fetch(`http://${endpoint}/status`, { headers, signal: abort.signal });
        if (res.status === 401 || res.status === 403) {
          const why = token === undefined || token === '' ? 'a client token is required' : 'the token was refused';
          return { endpoint, reachable: true, error: `AUTH: ${why} (--token or RAFTLOCK_TOKEN, role read or above)` };
        }
        if (!res.ok) return { endpoint, reachable: false, error: `HTTP ${res.status}` };
        return { endpoint, reachable: true, status: (await res.json()) as NodeStatus };
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        return { endpoint, reachable: false, error: cause ?? (err as Error).name };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
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
export async function discoverStatuses(endpoints: readonly string[], timeoutMs = 2000, token?: string): Promise<StatusRow[]> {
  const rows = await fetchStatuses(endpoints, timeoutMs, token);
  const seen = new Set(endpoints);
  const more: string[] = [];
  const members = rows.flatMap((r) => r.status?.members ?? []).sort((a, b) => a.id - b.id);
  for (const { address } of members) {
    if (address === null || seen.has(address)) continue;
    seen.add(address);
    more.push(address);
  }
  return more.length === 0 ? rows : [...rows, ...(await fetchStatuses(more, timeoutMs, token))];
}

export async function runStatus(endpoints: readonly string[], json: boolean, token: string | undefined): Promise<number> {
  const rows = await discoverStatuses(endpoints, 2000, token);
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
