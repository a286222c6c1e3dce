/**
 * What `GET /ui/state` answers (docs/operations.md#the-cluster-page): one JSON snapshot of what
 * the cluster page shows, read from the answering node alone. The node's own figures come from
 * its `/status` document; the other members' from the leader's replication progress when this
 * node leads, and otherwise only from the membership and the leader this node follows (the page
 * says which, and links to the leader's page). The tables are this node's applied state (a stale
 * read, like `stale: true`), every one bounded, at the applied index the answer names.
 */
import type { CounterListEntry, LockListEntry, NodeStatus, PermitHolderInfo, PermitKind, PermitListEntry } from '../protocol/index.js';
import type { LockMachine, SessionInfo } from '../state-machine/index.js';

/** Most rows of each table (sessions, locks, counters, each permit kind). */
export const UI_ROWS = 200;
/** Most holders shown per semaphore or readers-writer lock, and lock names per session. */
export const UI_NAMES_PER_ROW = 8;
/**
 * Longest client id or lock name a session row shows, in UTF-16 code units; longer ones are
 * cut, ending in `…`. The listings bound the bytes of their own names, but a session row's would
 * otherwise grow with the configured name limit (up to 64 KiB each).
 */
export const UI_SESSION_NAME_CHARS = 128;

/** The machine reads the page needs (all O(rows), none enters the log). */
export type UiMachine = Pick<
  LockMachine,
  'appliedIndex' | 'lastTime' | 'locksHeld' | 'waiterCount' | 'sessionCount' | 'listLocks' | 'listCounters' | 'listPermits' | 'listSessions'
>;

/**
 * Where a member's figures come from: `self` (the answering node's own status), `progress` (the
 * answering node leads: its replication progress for that member), `membership` (the answering
 * node follows: only the member's place in the configuration and whether it is the leader).
 */
export type UiMemberSource = 'self' | 'progress' | 'membership';

/** One member card. A figure the answering node does not know is null. */
export interface UiMember {
  readonly id: number;
  readonly address: string | null;
  /** In the configuration: `voter` or `learner`. */
  readonly membership: 'voter' | 'learner';
  /** Its Raft role: exact for the answering node, known to it for the others. */
  readonly role: string;
  readonly self: boolean;
  readonly source: UiMemberSource;
  readonly term: number | null;
  readonly commit: number | null;
  readonly applied: number | null;
  /** Highest log index known to be stored there. */
  readonly match: number | null;
  /** Entries of the leader's log it does not have yet. */
  readonly lag: number | null;
  /** Heard from within an election timeout (the leader's view; the answering node itself: true). */
  readonly health: 'healthy' | 'unreachable' | 'unknown';
}

/** One table: its first rows, and whether more exist beyond them. */
export interface UiTable<T> {
  readonly items: readonly T[];
  readonly more: boolean;
}

/** A session row: its lease and the first of its locks. */
export interface UiSession {
  readonly sessionId: number;
  readonly clientId?: string;
  readonly ttlMs: number;
  readonly lastKeepAlive: number;
  readonly expiresAt: number;
  /** The first {@link UI_NAMES_PER_ROW} locks it holds, in name order (names cut as {@link UI_SESSION_NAME_CHARS} says). */
  readonly locks: readonly string[];
  readonly lockCount: number;
  readonly waitCount: number;
}

/** The replicated state's tables, as of {@link UiTables.applied}. */
export interface UiTables {
  readonly applied: number;
  /** Log time of the last applied entry (the leader's clock, ms). */
  readonly logTime: number;
  readonly locksHeld: number;
  /** Acquires queued now, of every kind. */
  readonly waiting: number;
  readonly sessionCount: number;
  readonly locks: UiTable<LockListEntry>;
  readonly semaphores: UiTable<PermitListEntry<'semaphore'>>;
  readonly rwlocks: UiTable<PermitListEntry<'rwlock'>>;
  readonly elections: UiTable<PermitListEntry<'election'>>;
  readonly sessions: UiTable<UiSession>;
  readonly counters: UiTable<CounterListEntry>;
}

/** The body of `GET /ui/state`. */
export interface UiState {
  readonly clusterId: string;
  /** The answering node, its view of the cluster and its progress. */
  readonly node: Pick<
    NodeStatus,
    'id' | 'address' | 'role' | 'term' | 'leader' | 'leaderAddress' | 'commit' | 'applied' | 'lastIndex' | 'snapshotIndex' | 'changePending'
  >;
  /** The answering node's clock when it answered (ms since the epoch): times on the page count from it. */
  readonly serverTime: number;
  readonly members: readonly UiMember[];
  readonly tables: UiTables;
}

/** The member cards, as the node whose status is `st` knows them (see {@link UiMemberSource}). */
export function uiMembers(st: NodeStatus): UiMember[] {
  const leading = st.role === 'leader';
  const peers = new Map(st.peers.map((p) => [p.id, p] as const));
  return st.members.map((m): UiMember => {
    const base = { id: m.id, address: m.address, membership: m.role, self: m.id === st.id };
    if (base.self) {
      const lag = leading ? 0 : null;
      return {
        ...base,
        role: st.role,
        source: 'self',
        term: st.term,
        commit: st.commit,
        applied: st.applied,
        match: st.lastIndex,
        lag,
        health: 'healthy',
      };
    }
    const role = m.id === st.leader ? 'leader' : m.role === 'learner' ? 'learner' : 'follower';
    const unknown = { commit: null, applied: null } as const;
    if (!leading) {
      // A follower knows the leader it follows, which leads in this node's term; nothing of the others.
      const term = m.id === st.leader ? st.term : null;
      return { ...base, ...unknown, role, source: 'membership', term, match: null, lag: null, health: 'unknown' };
    }
    const p = peers.get(m.id);
    if (p === undefined) return { ...base, ...unknown, role, source: 'progress', term: null, match: null, lag: null, health: 'unknown' };
    // A member that answered the leader lately is in the leader's term: a higher one would have ended it.
    const term = p.active ? st.term : null;
    const lag = Math.max(0, st.lastIndex - p.match);
    return { ...base, ...unknown, role, source: 'progress', term, match: p.match, lag, health: p.active ? 'healthy' : 'unreachable' };
  });
}

/** The tables of `machine`'s applied state, each its first {@link UI_ROWS} rows. */
export function uiTables(machine: UiMachine): UiTables {
  const limit = UI_ROWS;
  const sessions = machine.listSessions(limit + 1);
  return {
    applied: machine.appliedIndex,
    logTime: machine.lastTime,
    locksHeld: machine.locksHeld,
    waiting: machine.waiterCount,
    sessionCount: machine.sessionCount,
    locks: table(machine.listLocks({ limit })),
    semaphores: permitTable(machine, 'semaphore', (s) => ({ ...s, holders: fewer(s.holders) })),
    rwlocks: permitTable(machine, 'rwlock', (r) => ({ ...r, holders: fewer(r.holders) })),
    elections: permitTable(machine, 'election', (e) => e),
    sessions: { items: sessions.slice(0, limit).map(sessionRow), more: sessions.length > limit },
    counters: table(machine.listCounters({ limit })),
  };
}

function sessionRow(s: SessionInfo): UiSession {
  return {
    sessionId: s.sessionId,
    ...(s.clientId !== undefined ? { clientId: shortName(s.clientId) } : {}),
    ttlMs: s.ttlMs,
    lastKeepAlive: s.lastKeepAlive,
    expiresAt: s.expiresAt,
    locks: s.locks.slice(0, UI_NAMES_PER_ROW).map(shortName),
    lockCount: s.locks.length,
    waitCount: s.waits.length,
  };
}

function table<T>(page: { readonly items: readonly T[]; readonly next?: string }): UiTable<T> {
  return { items: page.items, more: page.next !== undefined };
}

/** A permit kind's first rows, each trimmed by `trim` (a row lists up to 1,000 holders). */
function permitTable<K extends PermitKind>(
  machine: UiMachine,
  kind: K,
  trim: (row: PermitListEntry<K>) => PermitListEntry<K>,
): UiTable<PermitListEntry<K>> {
  const page = machine.listPermits(kind, { limit: UI_ROWS });
  return { items: page.items.map(trim), more: page.next !== undefined };
}

/** `name`, cut to {@link UI_SESSION_NAME_CHARS}. */
function shortName(name: string): string {
  return name.length > UI_SESSION_NAME_CHARS ? `${name.slice(0, UI_SESSION_NAME_CHARS - 1)}…` : name;
}

/** The first {@link UI_NAMES_PER_ROW} holders. */
function fewer<H extends PermitHolderInfo>(holders: readonly H[]): readonly H[] {
  return holders.length > UI_NAMES_PER_ROW ? holders.slice(0, UI_NAMES_PER_ROW) : holders;
}
