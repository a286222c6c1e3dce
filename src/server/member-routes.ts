/**
 * The membership routes (docs/operations.md#changing-the-members): `GET /admin/members` lists
 * the configuration in force with each member's replication progress as the leader sees it, and
 * `POST /admin/members` asks the leader for one change and answers once it has committed.
 */
import type { RaftHost } from '../host/index.js';
import { NONE, type ConfChange, type NodeId, type Status } from '../raft/index.js';
import type { ApplyOutput } from '../state-machine/index.js';
import { parseAddress } from './config.js';
import { encodeMemberContext, newAdmission, type MemberDirectory } from './members.js';

/** One member in `GET /admin/members`: what the leader knows of its replication. */
export interface MemberRow {
  readonly id: NodeId;
  readonly address: string | null;
  readonly role: 'voter' | 'learner';
  /** Highest index known replicated there, and how far that is behind the leader's log (leader only). */
  readonly match: number | null;
  readonly lag: number | null;
  /** Whether the leader heard from it within an election timeout (leader only; itself: true). */
  readonly reachable: boolean | null;
}

/** The body of `GET /admin/members`, and of a change's answer. */
export interface MembersView {
  readonly from: NodeId;
  readonly leader: NodeId;
  readonly leaderAddress: string | null;
  readonly term: number;
  readonly configIndex: number;
  /** The latest configuration entry is in force but not committed yet. */
  readonly changePending: boolean;
  readonly members: readonly MemberRow[];
}

/** The members as this node sees them; progress only where this node leads. */
export function membersView(st: Status, directory: MemberDirectory): MembersView {
  const progress = new Map(st.progress.map((p) => [p.id, p] as const));
  const leading = st.role === 'leader';
  return {
    from: st.id,
    leader: st.leader,
    leaderAddress: st.leader === NONE ? null : directory.addressOf(st.config, st.leader),
    term: st.term,
    configIndex: st.configIndex,
    changePending: st.configIndex > st.commit,
    members: directory.members(st.config).map((m): MemberRow => {
      const p = progress.get(m.id);
      if (!leading || p === undefined) return { ...m, match: null, lag: null, reachable: null };
      const match = m.id === st.id ? st.lastIndex : p.match;
      return { ...m, match, lag: st.lastIndex - match, reachable: m.id === st.id || p.recentActive };
    }),
  };
}

/** A change request as `POST /admin/members` takes it: JSON `{ action, id, address? }`. */
export type MemberChangeRequest =
  | { readonly action: 'add-learner'; readonly id: NodeId; readonly address: string }
  | { readonly action: 'promote' | 'remove'; readonly id: NodeId };

/**
 * Parses a change request, or says what is wrong with it (a 400 for the caller). The address of
 * a new member must be a `host:port` its peers can dial; it is what every node will use.
 */
export function parseMemberChange(body: unknown): MemberChangeRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'expected a JSON object { action, id, address? }';
  const { action, id, address, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `unknown field ${JSON.stringify(extra[0])}: expected action, id and (for add-learner) address`;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return 'id: expected a positive integer node id';
  if (action === 'promote' || action === 'remove') {
    if (address !== undefined) return `address: only add-learner takes one`;
    return { action, id };
  }
  if (action !== 'add-learner') return 'action: expected add-learner, promote or remove';
  if (typeof address !== 'string') return 'address: add-learner needs the new node’s host:port';
  try {
    parseAddress(address, 'address');
  } catch (err) {
    return (err as Error).message;
  }
  return { action, id, address };
}

/** The core's change for a request. */
export function confChangeOf(r: MemberChangeRequest): ConfChange {
  return r.action === 'add-learner'
    ? { type: 'add-learner', node: r.id, context: encodeMemberContext(r.address, newAdmission()) }
    : { type: r.action, node: r.id };
}

/** How a proposed change ended, for the route's answer. */
export type ChangeOutcome =
  | { readonly type: 'committed'; readonly index: number }
  | { readonly type: 'refused'; readonly reason: string; readonly leader: NodeId }
  | { readonly type: 'unknown'; readonly reason: string };

/**
 * Proposes `cc` at `host` and resolves once the entry has committed, or the change was refused,
 * or this node lost the leadership or the time ran out (then the outcome is unknown: the change
 * may still commit under the next leader; `GET /admin/members` tells).
 */
export function proposeAndWait(host: RaftHost<ApplyOutput>, cc: ConfChange, pollMs: number, timeoutMs: number): Promise<ChangeOutcome> {
  const r = host.proposeConfChange(cc);
  if (r.type === 'dropped') return Promise.resolve({ type: 'refused', reason: r.reason, leader: r.leader });
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = (): void => {
      const st = host.status(false);
      const at = host.logEntries(r.index, r.index + 1)[0];
      // Still ours: the entry at that index is the one we appended (same term).
      const ours = at === undefined ? st.firstIndex > r.index : at.term === r.term;
      if (ours && st.commit >= r.index) return resolve({ type: 'committed', index: r.index });
      if (!ours) return resolve({ type: 'unknown', reason: 'the entry was replaced: a new leader did not keep it' });
      if (host.isStopped()) return resolve({ type: 'unknown', reason: 'the node is stopping' });
      if (st.term !== r.term)
        return resolve({ type: 'unknown', reason: `leadership changed (term ${st.term}) before the change committed` });
      if (Date.now() >= deadline) return resolve({ type: 'unknown', reason: `not committed within ${timeoutMs} ms` });
      setTimeout(check, pollMs);
    };
    check();
  });
}

/** What an operator should know about a refusal, by the core's reason. */
export function refusalMessage(reason: string, id: NodeId): string {
  switch (reason) {
    case 'change-pending':
      return 'another membership change is not committed yet: retry once `raftlock member list` shows no pending change';
    case 'not-ready':
      return 'the leader has not yet committed an entry of its own term (it was just elected): retry in a moment';
    case 'learner-behind':
      return `node ${id} is not caught up with the leader, or has not answered it lately: wait until \`raftlock member list\` shows it reachable with a small lag, then promote it`;
    case 'transfer-in-progress':
      return 'a leadership transfer is in progress: retry once it is over';
    case 'already-member':
      return `node ${id} is already a member`;
    case 'not-a-member':
      return `node ${id} is not a member`;
    case 'not-a-learner':
      return `node ${id} is already a voter`;
    case 'last-voter':
      return `node ${id} is the last voter: a cluster cannot remove its only voter`;
    case 'invalid-context':
      return 'the address is too long';
    default:
      return reason;
  }
}
