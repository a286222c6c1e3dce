/**
 * The metrics a node exports on `GET /metrics` (Prometheus text, docs/operations.md#http-endpoints):
 * Raft progress and the host's counters, log writes, the peer transport's and the client
 * endpoint's counters, and the lock service's domain metrics (sessions, locks, waiters, grants,
 * wait and hold times, proposal-to-apply latency).
 *
 * Every family has one type and one label shape (`promtool check metrics` passes, a test runs
 * it on a live cluster). Labels take values from closed lists only (roles, ops, error codes,
 * fixed kinds): never a lock name or a session id, so the number of series stays bounded.
 * Nothing here walks the replicated state at scrape time: the domain gauges read counts the
 * service keeps as it applies (LockService's `stats`).
 */
import type { Status } from '../raft/index.js';
import type { DurableLog } from '../storage/index.js';
import type { TransportMetrics } from '../transport/index.js';
import { WAIT_OUTCOMES, type ServiceStats, type ServiceTimings } from '../service/index.js';
import type { ClientEndpointMetrics } from './client-endpoint.js';
import { Counter, Gauge, Histogram, Registry, type Labels, type Sample } from './metrics.js';
import type { RaftHost } from '../host/index.js';

const ROLES = ['follower', 'pre-candidate', 'candidate', 'leader'] as const;

/** What the metrics read of a host, whatever its state machine's result type. */
export interface HostView {
  status(withProgress?: boolean): Status;
  readonly stats: RaftHost<unknown>['stats'];
  /** What the state machine has applied (the core's `applied` may run ahead of it). */
  readonly appliedIndex: number;
}

/** Anything with the peer transport's counters. */
export interface CounterSource {
  readonly metrics: Readonly<TransportMetrics>;
}

/** What the metrics read of the lock service: all O(1). */
export interface ServiceView {
  readonly machine: { readonly sessionCount: number };
  readonly stats: Pick<ServiceStats, 'locksHeld' | 'waiters' | 'grants' | 'sessionsExpired'>;
  readonly parkedCount: number;
  readonly watches: { readonly subscriberCount: number; readonly lastIndex: number; readonly firstKept: number };
}

/** What the metrics read of the client endpoint. */
export interface ClientView {
  readonly metrics: Readonly<ClientEndpointMetrics>;
  readonly requestSeconds: Histogram;
}

/** Families of the peer transport's counters, with their help and label names. */
const PEER_FAMILIES = {
  raftlock_peer_messages_total: { help: 'Peer messages: sent, received, dropped (on send or by faults), rejected', labels: ['kind'] },
  raftlock_peer_bytes_total: { help: 'Peer frame bytes, by direction', labels: ['direction'] },
  raftlock_peer_malformed_frames_total: { help: 'Peer frames that did not decode (each closes its connection)', labels: [] },
  raftlock_peer_reconnects_total: { help: 'Redials after a peer link went down or a dial failed', labels: [] },
  raftlock_peer_handshakes_rejected_total: { help: 'Peer handshakes this node refused (either role)', labels: [] },
  raftlock_peer_snapshots_total: { help: 'Snapshots sent, received, or failed to send or receive', labels: ['kind'] },
} as const;

/**
 * Where each transport counter goes. Typed by the transport's own counter list, so a counter
 * added there without a place here fails to compile instead of going missing.
 */
const PEER_COUNTERS: { readonly [K in keyof TransportMetrics]: readonly [family: keyof typeof PEER_FAMILIES, labels: Labels] } = {
  sent: ['raftlock_peer_messages_total', { kind: 'sent' }],
  received: ['raftlock_peer_messages_total', { kind: 'received' }],
  dropped: ['raftlock_peer_messages_total', { kind: 'dropped' }],
  rejectedMessages: ['raftlock_peer_messages_total', { kind: 'rejected' }],
  bytesSent: ['raftlock_peer_bytes_total', { direction: 'sent' }],
  bytesReceived: ['raftlock_peer_bytes_total', { direction: 'received' }],
  malformedFrames: ['raftlock_peer_malformed_frames_total', {}],
  reconnects: ['raftlock_peer_reconnects_total', {}],
  rejectedHandshakes: ['raftlock_peer_handshakes_rejected_total', {}],
  snapshotsSent: ['raftlock_peer_snapshots_total', { kind: 'sent' }],
  snapshotsReceived: ['raftlock_peer_snapshots_total', { kind: 'received' }],
  snapshotsFailed: ['raftlock_peer_snapshots_total', { kind: 'failed' }],
};

/** A node's metrics registry; the parts it reads are attached as the node starts them. */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly fsyncSeconds = this.registry.add(
    new Histogram('raftlock_fsync_seconds', 'Latency of synced log writes', [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1]),
  );
  readonly writes = this.registry.add(new Counter('raftlock_log_writes_total', 'Log batches written, by sync', { labelNames: ['sync'] }));
  /** This node's proposals, from propose to applied here (replication, fsync and apply). */
  readonly proposalSeconds = this.registry.add(
    new Histogram(
      'raftlock_proposal_apply_seconds',
      'Time from proposing an entry on this node to applying it here',
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
  );
  /** Queued acquires' waits, in log time, by how they ended. */
  readonly lockWaitSeconds = this.registry.add(
    new Histogram(
      'raftlock_lock_wait_seconds',
      'Log time a queued acquire waited, by outcome (granted, timed_out, cancelled, session_ended)',
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      { labelNames: ['outcome'] },
    ),
  );
  /** Locks' hold times, in log time, from grant to release, close or expiry. */
  readonly lockHoldSeconds = this.registry.add(
    new Histogram(
      'raftlock_lock_hold_seconds',
      'Log time a lock was held, from its grant to its release, its session closing or expiring',
      [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600],
    ),
  );
  /** What the lock service reports its durations to (pass it to the LockService). */
  readonly serviceTimings: ServiceTimings = {
    lockWait: (seconds, outcome) => this.lockWaitSeconds.observe(seconds, { outcome }),
    lockHeld: (seconds) => this.lockHoldSeconds.observe(seconds),
    proposalApplied: (seconds) => this.proposalSeconds.observe(seconds),
  };
  private transport: CounterSource | undefined;
  private clients: ClientView | undefined;
  private service: ServiceView | undefined;

  constructor(host: () => HostView | undefined) {
    for (const outcome of WAIT_OUTCOMES) this.lockWaitSeconds.init({ outcome });
    this.addRaft(host);
    this.addPeer();
    this.addClient();
    this.addService();
  }

  private addRaft(host: () => HostView | undefined): void {
    const r = this.registry;
    const st = () => host()?.status(false);
    const stats = () => host()?.stats;
    const applied = () => host()?.appliedIndex ?? 0;
    r.add(new Gauge('raftlock_term', 'Current Raft term', () => st()?.term ?? 0));
    r.add(
      new Gauge('raftlock_role', 'Current role (1 for the role this node has)', {
        labelNames: ['role'],
        read: () => ROLES.map((role) => ({ labels: { role }, value: st()?.role === role ? 1 : 0 })),
      }),
    );
    r.add(new Gauge('raftlock_commit_index', 'Highest log index known committed', () => st()?.commit ?? 0));
    r.add(new Gauge('raftlock_applied_index', 'Highest log index applied to the state machine', applied));
    r.add(new Gauge('raftlock_last_index', 'Last log index', () => st()?.lastIndex ?? 0));
    r.add(
      new Gauge('raftlock_apply_lag_entries', 'Committed entries not yet applied here (commit index minus applied index)', () =>
        Math.max(0, (st()?.commit ?? 0) - applied()),
      ),
    );
    this.addMembership(() => host()?.status(true));
    r.add(new Counter('raftlock_proposals_total', 'Proposals received by this node', { read: () => stats()?.proposals ?? 0 }));
    r.add(new Counter('raftlock_entries_persisted_total', 'Log entries persisted', { read: () => stats()?.entriesPersisted ?? 0 }));
    r.add(new Counter('raftlock_entries_applied_total', 'Log entries applied', { read: () => stats()?.applied ?? 0 }));
    r.add(new Counter('raftlock_readies_total', 'Ready batches handled', { read: () => stats()?.readies ?? 0 }));
    r.add(new Counter('raftlock_elections_total', 'Elections this node started', { read: () => stats()?.elections ?? 0 }));
  }

  /**
   * The configuration in force here (docs/operations.md#changing-the-members): members by role,
   * whether a change is pending, and, on the leader, each member's lag behind its log. A member
   * id is a bounded label: a configuration holds at most 64 members.
   */
  private addMembership(st: () => Status | undefined): void {
    const r = this.registry;
    r.add(
      new Gauge('raftlock_members', 'Members of the configuration in force here, by role', {
        labelNames: ['role'],
        read: () => {
          const conf = st()?.config;
          return [
            { labels: { role: 'voter' }, value: conf?.voters.length ?? 0 },
            { labels: { role: 'learner' }, value: conf?.learners.length ?? 0 },
          ];
        },
      }),
    );
    r.add(
      new Gauge(
        'raftlock_config_index',
        'Index of the entry (or snapshot) that set the configuration in force',
        () => st()?.configIndex ?? 0,
      ),
    );
    r.add(
      new Gauge('raftlock_membership_change_pending', '1 while the configuration in force is not committed yet', () => {
        const s = st();
        return s !== undefined && s.configIndex > s.commit ? 1 : 0;
      }),
    );
    r.add(
      new Gauge('raftlock_member_lag_entries', "On the leader: entries each member's log is behind the leader's (learners included)", {
        labelNames: ['member', 'role'],
        read: () => {
          const s = st();
          if (s === undefined || s.role !== 'leader') return [];
          return s.progress
            .filter((p) => p.id !== s.id)
            .map((p) => ({
              labels: { member: String(p.id), role: p.isLearner ? 'learner' : 'voter' },
              value: Math.max(0, s.lastIndex - p.match),
            }));
        },
      }),
    );
  }

  private addPeer(): void {
    for (const [name, family] of Object.entries(PEER_FAMILIES)) {
      const counters = (Object.keys(PEER_COUNTERS) as Array<keyof TransportMetrics>).filter((k) => PEER_COUNTERS[k][0] === name);
      const read = (): Sample[] => counters.map((k) => ({ labels: PEER_COUNTERS[k][1], value: this.transport?.metrics[k] ?? 0 }));
      this.registry.add(new Counter(name, family.help, { labelNames: family.labels, read }));
    }
  }

  private addClient(): void {
    const r = this.registry;
    const m = () => this.clients?.metrics;
    r.add(new Gauge('raftlock_client_connections', 'Open client connections', () => m()?.connections ?? 0));
    const counter = (
      name: string,
      help: string,
      key: 'connectionsTotal' | 'frames' | 'malformed' | 'oversize' | 'slowConsumers' | 'refusedUpgrades',
    ) => r.add(new Counter(name, help, { read: () => m()?.[key] ?? 0 }));
    counter('raftlock_client_connections_accepted_total', 'Client connections accepted', 'connectionsTotal');
    counter('raftlock_client_frames_total', 'Client frames received, well-formed or not', 'frames');
    counter('raftlock_client_malformed_frames_total', 'Client frames that failed to decode or validate', 'malformed');
    counter('raftlock_client_oversize_frames_total', 'Client connections closed for a frame over the size limit', 'oversize');
    counter('raftlock_client_slow_consumers_total', 'Client connections closed for not reading their responses', 'slowConsumers');
    counter('raftlock_client_refused_upgrades_total', 'Client upgrades refused (endpoint closed or full)', 'refusedUpgrades');
    r.add(
      new Counter('raftlock_client_requests_total', 'Answers to decoded client requests, by op and code (OK or the error code)', {
        labelNames: ['op', 'code'],
        read: () =>
          Object.entries(m()?.answers ?? {}).flatMap(([op, byCode]) =>
            Object.entries(byCode).map(([code, value]) => ({ labels: { op, code }, value })),
          ),
      }),
    );
  }

  private addService(): void {
    const r = this.registry;
    const s = () => this.service;
    r.add(new Gauge('raftlock_sessions_open', 'Live sessions in the replicated state', () => s()?.machine.sessionCount ?? 0));
    r.add(
      new Counter('raftlock_sessions_expired_total', 'Sessions ended by expiry (not by close)', {
        read: () => s()?.stats.sessionsExpired ?? 0,
      }),
    );
    r.add(new Gauge('raftlock_locks_held', 'Locks held in the replicated state', () => s()?.stats.locksHeld ?? 0));
    r.add(new Gauge('raftlock_lock_waiters', 'Queued acquires in the replicated state (all locks)', () => s()?.stats.waiters ?? 0));
    r.add(
      new Counter('raftlock_lock_grants_total', 'Locks granted, to a free lock or handed to a waiter', {
        read: () => s()?.stats.grants ?? 0,
      }),
    );
    r.add(new Gauge('raftlock_parked_acquires', 'Queued acquires this node will answer when they end', () => s()?.parkedCount ?? 0));
    r.add(
      new Gauge(
        'raftlock_watches',
        'Watches this node serves (WebSocket watches and cluster-page feeds)',
        () => s()?.watches.subscriberCount ?? 0,
      ),
    );
    r.add(
      new Gauge('raftlock_watch_history_indices', 'Log indices whose watch events this node keeps (older ones are COMPACTED)', () => {
        const w = s()?.watches;
        return w === undefined ? 0 : w.lastIndex - w.firstKept + 1;
      }),
    );
  }

  /** Reads the peer transport's counters from now on. */
  attach(transport: CounterSource): void {
    this.transport = transport;
  }

  /** Reads the client endpoint's counters, and exports its request-duration histogram. */
  attachClients(clients: ClientView): void {
    this.clients = clients;
    this.registry.add(clients.requestSeconds);
  }

  /** Reads the lock service's counts from now on. */
  attachService(service: ServiceView): void {
    this.service = service;
  }

  /** The exposition text. */
  render(): string {
    return this.registry.render();
  }
}

/** Wraps a DurableLog so every synced write's latency lands in the fsync histogram. */
export function timedLog(log: DurableLog, metrics: NodeMetrics): DurableLog {
  return {
    load: () => log.load(),
    persist(batch, done) {
      const started = performance.now();
      log.persist(batch, (err) => {
        metrics.writes.inc(1, { sync: String(batch.sync) });
        if (batch.sync) metrics.fsyncSeconds.observe((performance.now() - started) / 1000);
        done(err);
      });
    },
    compact: (snapshot, done) => log.compact(snapshot, done),
    close: () => log.close(),
  };
}
