/**
 * Which data directory each peer runs on, as this node first knew it
 * (docs/design.md#data-identity). A node whose directory was wiped has forgotten its votes and
 * its log; back under its old id it could vote twice in a term or count toward a majority for
 * entries it never stored. Its new directory has a new data identity, so its peers refuse it
 * until an operator removes the old member and adds the node again (a new admission), or
 * replaces it under a new id.
 */
import type { NodeId } from '../raft/index.js';
import type { KnownPeer } from '../storage/index.js';
import type { PeerIdentities } from '../transport/index.js';
import type { Logger } from './logger.js';

/** Where the book is kept: the node's log (LevelDurableLog), durable before a peer is accepted. */
export interface PeerBookStore {
  readonly dataId: string;
  knownPeers(): ReadonlyMap<NodeId, KnownPeer>;
  rememberPeers(peers: ReadonlyMap<NodeId, KnownPeer>, done: (error: Error | null) => void): void;
}

/**
 * The node's {@link PeerIdentities}: a peer's data identity is taken on first sight under its
 * current admission and held to afterwards; a new admission (the peer removed and added again)
 * takes the identity it shows then.
 */
export class PeerBook implements PeerIdentities {
  /** Checks run one at a time: two connections of one peer must not both be taken on first sight. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly logged = new Set<string>();

  constructor(
    private readonly store: PeerBookStore,
    /** The peer's admission in the configuration in force ('' for a founding member), undefined if not a member. */
    private readonly admissionOf: (peer: NodeId) => string | undefined,
    private readonly logger: Logger,
  ) {}

  get own(): string {
    return this.store.dataId;
  }

  check(peer: NodeId, dataId: string): Promise<string | null> {
    const result = this.queue.then(() => this.decide(peer, dataId));
    this.queue = result.catch(() => undefined);
    // A book that cannot be written is a storage failure (the host stops the node); meanwhile
    // the peer is refused rather than taken unrecorded.
    return result.catch((err: unknown) => `cannot record node ${peer}'s data identity: ${String(err)}`);
  }

  private async decide(peer: NodeId, dataId: string): Promise<string | null> {
    const known = this.store.knownPeers().get(peer);
    const admission = this.admissionOf(peer);
    if (admission === undefined) {
      // Not a member as far as this node knows (it is joining, or the peer was removed): hold
      // the peer to what it showed before, but bind nothing new to an unknown admission.
      return known === undefined || known.dataId === dataId ? null : this.refusal(peer, dataId, known);
    }
    if (known !== undefined && known.admission === admission) return known.dataId === dataId ? null : this.refusal(peer, dataId, known);
    if (dataId === '') return `node ${peer} sent no data identity`;
    const next = new Map(this.store.knownPeers());
    next.set(peer, { dataId, admission });
    await new Promise<void>((resolve, reject) => this.store.rememberPeers(next, (err) => (err === null ? resolve() : reject(err))));
    this.logger.info('peer data identity recorded', { peer, dataId, admission, replaced: known?.dataId });
    return null;
  }

  /** The close reason (short: it travels in a WebSocket close frame); the full story is logged. */
  private refusal(peer: NodeId, dataId: string, known: KnownPeer): string {
    const key = `${peer}:${dataId}`;
    if (!this.logged.has(key)) {
      this.logged.add(key);
      this.logger.error('peer refused: it runs on another data directory than the one it is known by', {
        peer,
        dataId,
        knownDataId: known.dataId,
        hint: `node ${peer}'s data was wiped or replaced, and with it its votes and log. Bring it back with \`raftlock member remove ${peer}\`, then start it with --join and \`raftlock member add --id ${peer}\`, or run \`raftlock member replace ${peer}\` (docs/operations.md#a-nodes-data-is-damaged)`,
      });
    }
    return `node ${peer} has another data directory than it is known by: remove and add it again`;
  }
}
