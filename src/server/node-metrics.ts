/**
 * The metrics a node exports on `GET /metrics` (Prometheus text): term, role, commit and
 * applied indexes, proposals, Ready/persist counts, fsync latency, elections, and the peer
 * transport's message counters.
 */
import type { Status } from '../raft/index.js';
import type { DurableLog } from '../storage/index.js';
import { Counter, Gauge, Histogram, Registry } from './metrics.js';
import type { RaftHost } from '../host/index.js';

const ROLES = ['follower', 'pre-candidate', 'candidate', 'leader'] as const;

/** What the metrics read of a host, whatever its state machine's result type. */
export interface HostView {
  status(withProgress: false): Status;
  readonly stats: RaftHost<unknown>['stats'];
}

/** Anything with numeric counters (the transport's `metrics`). */
export interface CounterSource {
  readonly metrics: Readonly<Record<string, number>>;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly fsyncSeconds = this.registry.add(
    new Histogram('raftlock_fsync_seconds', 'Latency of synced log writes', [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1]),
  );
  readonly writes = this.registry.add(new Counter('raftlock_log_writes_total', 'Log batches written, by sync'));
  private transport: CounterSource | undefined;
  private clients: { readonly metrics: object } | undefined;

  constructor(host: () => HostView | undefined) {
    const st = () => host()?.status(false);
    const stats = () => host()?.stats;
    this.registry.add(new Gauge('raftlock_term', 'Current Raft term', () => st()?.term ?? 0));
    this.registry.add(
      new Gauge('raftlock_role', 'Current role (1 for the role this node has)', () =>
        ROLES.map((role) => ({ labels: { role }, value: st()?.role === role ? 1 : 0 })),
      ),
    );
    this.registry.add(new Gauge('raftlock_commit_index', 'Highest index known committed', () => st()?.commit ?? 0));
    this.registry.add(new Gauge('raftlock_applied_index', 'Highest index applied', () => st()?.applied ?? 0));
    this.registry.add(new Gauge('raftlock_last_index', 'Last log index', () => st()?.lastIndex ?? 0));
    this.registry.add(new Gauge('raftlock_proposals_total', 'Proposals received', () => stats()?.proposals ?? 0));
    this.registry.add(new Gauge('raftlock_entries_persisted_total', 'Log entries persisted', () => stats()?.entriesPersisted ?? 0));
    this.registry.add(new Gauge('raftlock_readies_total', 'Ready batches handled', () => stats()?.readies ?? 0));
    this.registry.add(new Gauge('raftlock_elections_total', 'Elections this node started', () => stats()?.elections ?? 0));
    this.registry.add(
      new Gauge('raftlock_peer_messages', 'Peer transport counters', () =>
        Object.entries(this.transport?.metrics ?? {}).map(([kind, value]) => ({ labels: { kind }, value })),
      ),
    );
    this.registry.add(
      new Gauge('raftlock_client', 'Client endpoint counters (connections, requests, errors)', () =>
        Object.entries(this.clients?.metrics ?? {})
          .filter((e): e is [string, number] => typeof e[1] === 'number')
          .map(([kind, value]) => ({ labels: { kind }, value })),
      ),
    );
  }

  attach(transport: CounterSource): void {
    this.transport = transport;
  }

  attachClients(clients: { readonly metrics: object }): void {
    this.clients = clients;
  }

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
