/**
 * `raftlock member list|add|promote|remove|replace` and `raftlock leader transfer`
 * (docs/operations.md#changing-the-members): the operator's side of `GET/POST /admin/members`
 * and `POST /admin/transfer-leader` (through admin-client.ts). Every change goes to the leader,
 * waits until it has committed, and prints the members after it.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { MembersView } from '../../server/index.js';
import { AdminError, addMember, call, errorText, fetchMembers, promoteWhenCaughtUp, sendChange } from '../admin-client.js';
import { tlsFlags } from '../client-command.js';
import { parseEndpoints } from '../endpoints.js';
import { nodeAccess, type NodeAccess } from '../node-http.js';
import { formatTable } from '../table.js';

/** What every member command takes. */
interface Common {
  readonly endpoints?: string;
  readonly token?: string;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly json: boolean;
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

function positiveId(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer node id');
  return n;
}

function options(cmd: Command): Command {
  return cmd
    .option('--endpoints <list>', 'host:port,… of any nodes (default: env RAFTLOCK_ENDPOINTS or the three-node loopback config)')
    .option('--token <token>', 'client token of role admin (read for list), when the cluster requires one (default: env RAFTLOCK_TOKEN)')
    .option('--cacert <file>', "CA certificate (PEM) that signed the nodes' certificates: talk HTTPS (default: env RAFTLOCK_CACERT)")
    .option('--cert <file>', 'client certificate (PEM), when the cluster requires one (default: env RAFTLOCK_CERT)')
    .option('--key <file>', "the client certificate's private key (PEM) (default: env RAFTLOCK_KEY)")
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

/** The token and TLS settings of the flags (or their variables). */
function accessOf(o: Common): NodeAccess {
  return nodeAccess(o.token ?? process.env.RAFTLOCK_TOKEN, tlsFlags(o));
}

/** Registers `member …` and `leader transfer` on `program`. */
export function registerMemberCommands(program: Command): void {
  const member = program.command('member').description('list and change the members of a running cluster');
  options(member.command('list').description('the members: id, address, voter or learner, replication progress at the leader')).action(
    (o: Common) => run(async () => print((await fetchMembers(parseEndpoints(o.endpoints), accessOf(o))).view, o.json)),
  );
  options(
    member
      .command('add')
      .description('add a node as a learner, wait until it has caught up, then make it a voter (--learner: leave it a learner)')
      .requiredOption(
        '--id <n>',
        'the new node’s id, not a current member’s (a removed id may come back: a new admission) (required)',
        positiveId,
      )
      .requiredOption('--address <host:port>', 'where its peers and clients reach it (required)')
      .option('--learner', 'add it as a learner only', false)
      .option('--wait <ms>', 'how long to wait for it to catch up before promoting', (v) => positiveId(v), 60_000),
  ).action((o: Common & { id: number; address: string; learner: boolean; wait: number }) =>
    run(async () => {
      print(await addMember(parseEndpoints(o.endpoints), accessOf(o), o.id, o.address, { learner: o.learner, waitMs: o.wait }), o.json);
    }),
  );
  for (const [name, action, what] of [
    ['promote', 'promote', 'make a learner a voter (once it has caught up)'],
    ['remove', 'remove', 'remove a voter or learner (the leader too: it hands over first)'],
  ] as const) {
    options(member.command(`${name} <id>`).description(what)).action((id: string, o: Common) =>
      run(async () => print(await sendChange(parseEndpoints(o.endpoints), accessOf(o), { action, id: positiveId(id) }), o.json)),
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
      const { view } = await fetchMembers(endpoints, accessOf(o));
      if (!view.members.some((m) => m.id === oldId)) throw new AdminError(`node ${oldId} is not a member (raftlock member list)`);
      const id = o.newId ?? Math.max(...view.members.map((m) => m.id)) + 1;
      process.stderr.write(`replacing node ${oldId} by node ${id} at ${o.address}\n`);
      await sendChange(endpoints, accessOf(o), { action: 'add-learner', id, address: o.address });
      await promoteWhenCaughtUp(endpoints, accessOf(o), id, o.wait);
      print(await sendChange(endpoints, accessOf(o), { action: 'remove', id: oldId }), o.json);
    }),
  );
  const leader = program.command('leader').description('the leadership of a running cluster');
  options(leader.command('transfer <id>').description('hand leadership to a voter, and wait until it leads')).action(
    (id: string, o: Common) =>
      run(async () => {
        const endpoints = parseEndpoints(o.endpoints);
        const target = positiveId(id);
        const { view } = await fetchMembers(endpoints, accessOf(o));
        if (view.leaderAddress === null) throw new AdminError('no leader is known: is a majority of the voters up? (raftlock status)');
        const answer = await call(view.leaderAddress, 'POST', `/admin/transfer-leader?to=${target}`, accessOf(o));
        if (answer.status !== 200) throw new AdminError(`leader transfer ${target}: ${errorText(answer)}`);
        if (answer.body.type === 'dropped' && answer.body.reason !== 'already-leader') {
          const why = { 'unknown-node': 'it is not a member', learner: 'it is a learner (promote it first)' }[String(answer.body.reason)];
          throw new AdminError(`leader transfer ${target}: refused, ${why ?? String(answer.body.reason)}`);
        }
        const deadline = Date.now() + 10_000;
        for (;;) {
          const now = (await fetchMembers(endpoints, accessOf(o))).view;
          if (now.leader === target) return print(now, o.json);
          if (Date.now() >= deadline) {
            throw new AdminError(
              `node ${target} does not lead after 10 s (leader: ${now.leader}; transfer answered ${JSON.stringify(answer.body)})`,
            );
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }),
  );
}
