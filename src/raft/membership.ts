/**
 * Membership change, one server at a time (Raft thesis ch. 4; docs/design.md#membership):
 * what a change is, how it turns one configuration into the next, how it travels in a `config`
 * log entry, and the history of configurations in the log.
 *
 * The rule that makes single-server changes safe: a configuration differs from the one before
 * it by one voter at most, so any majority of the old one and any majority of the new one share
 * a server, and the two cannot decide differently. The core keeps it by construction: a change
 * is proposed only when the previous one has committed (at most one pending), only once the
 * leader has committed an entry of its own term (the thesis's fix for a change proposed across
 * a leader change), and each change adds, promotes or removes exactly one node.
 *
 * A server uses the latest configuration *in its log*, committed or not (thesis §4.1): a change
 * takes effect where its entry is appended, and is undone if that entry is truncated. The
 * {@link ConfigHistory} keeps every configuration entry past the snapshot so that truncation
 * and compaction find the configuration in force at any index.
 */
import { invariant, type ConfState, type Entry, type MemberContext, type NodeId } from './types.js';

/**
 * One membership change:
 * - `add-learner`: a new node that receives the log but neither votes nor counts for commit;
 * - `promote`: a learner becomes a voter (once it has caught up, see {@link LEARNER_CATCH_UP_SLACK});
 * - `remove`: a voter or learner leaves (the leader included: it steps down once the change
 *   commits).
 *
 * `context` is opaque to the core and travels in the entry: the host puts there what it needs to
 * reach the node (its address).
 */
export interface ConfChange {
  readonly type: 'add-learner' | 'promote' | 'remove';
  readonly node: NodeId;
  readonly context?: Uint8Array;
}

/** Why a change is refused as a change (before any cluster state is considered). */
export type ConfChangeRefusal = 'already-member' | 'not-a-member' | 'not-a-learner' | 'last-voter' | 'invalid-node' | 'invalid-context';

/**
 * A promoted learner must have matched the leader's log to within this many entries of its
 * commit index: promoting one that is far behind makes every commit wait for it to catch up
 * (a 3-voter cluster would need 3 of 4).
 */
export const LEARNER_CATCH_UP_SLACK = 256;

/** Sorted copy, so that equal configurations have equal lists. */
function sorted(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}

/** The configuration after `cc`, or why `cc` does not apply to `conf`. Pure. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState | ConfChangeRefusal {
  const { node } = cc;
  if (!Number.isSafeInteger(node) || node <= 0) return 'invalid-node';
  const voter = conf.voters.includes(node);
  const learner = conf.learners.includes(node);
  const contexts = conf.contexts ?? [];
  switch (cc.type) {
    case 'add-learner':
      if (voter || learner) return 'already-member';
      if (cc.context !== undefined && cc.context.byteLength > MAX_CONF_CONTEXT_BYTES) return 'invalid-context';
      return withContexts(
        { voters: sorted(conf.voters), learners: sorted([...conf.learners, node]) },
        cc.context !== undefined ? [...contexts, { id: node, context: cc.context }] : contexts,
      );
    case 'promote':
      if (voter) return 'not-a-learner';
      if (!learner) return 'not-a-member';
      return withContexts(
        { voters: sorted([...conf.voters, node]), learners: sorted(conf.learners.filter((id) => id !== node)) },
        contexts,
      );
    case 'remove':
      if (!voter && !learner) return 'not-a-member';
      if (voter && conf.voters.length === 1) return 'last-voter';
      return withContexts(
        { voters: sorted(conf.voters.filter((id) => id !== node)), learners: sorted(conf.learners.filter((id) => id !== node)) },
        contexts.filter((c) => c.id !== node),
      );
  }
}

/** `conf` with `contexts` sorted by id, or without the field when there are none. */
function withContexts(conf: ConfState, contexts: readonly MemberContext[]): ConfState {
  return contexts.length === 0 ? conf : { ...conf, contexts: [...contexts].sort((a, b) => a.id - b.id) };
}

/** `conf` with its lists sorted, so that equal configurations look equal (status, tests). */
export function normalizedConf(conf: ConfState): ConfState {
  return withContexts({ voters: sorted(conf.voters), learners: sorted(conf.learners) }, conf.contexts ?? []);
}

function normalized(c: IndexedConf): IndexedConf {
  return { index: c.index, conf: normalizedConf(c.conf) };
}

/** The host context of `node` in `conf`, if it has one. */
export function memberContext(conf: ConfState, node: NodeId): Uint8Array | undefined {
  return conf.contexts?.find((c) => c.id === node)?.context;
}

/**
 * A `config` entry's data: the change and the configuration it produces (contexts included),
 * so that the configuration at any index is read off the log without replaying changes.
 */
export interface ConfigEntryData {
  readonly change: ConfChange;
  readonly conf: ConfState;
}

// Layout (little-endian): u8 version, u8 change type, f64 node, u16 voters, f64 × voters,
// u16 learners, f64 × learners, u16 contexts, (f64 id, u16 length, bytes) × contexts. Ids are
// safe integers, which a float64 holds exactly; the core has no Buffer and no msgpack
// (docs/design.md#the-pure-core). An add-learner change's own context is its node's context in
// the configuration, so it is not written twice.
const CONFIG_ENTRY_VERSION = 1;
const CHANGE_TYPES = ['add-learner', 'promote', 'remove'] as const;
/** More members than any configuration this project runs; bounds what a decoder allocates. */
export const MAX_MEMBERS = 64;
/** Longest host context (an address with room to spare). */
export const MAX_CONF_CONTEXT_BYTES = 1024;

/** Encodes a `config` entry's data. */
export function encodeConfigEntry(d: ConfigEntryData): Uint8Array {
  const contexts = d.conf.contexts ?? [];
  const contextBytes = contexts.reduce((n, c) => n + 8 + 2 + c.context.byteLength, 0);
  const size = 2 + 8 + 2 + 8 * d.conf.voters.length + 2 + 8 * d.conf.learners.length + 2 + contextBytes;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0;
  v.setUint8(at++, CONFIG_ENTRY_VERSION);
  v.setUint8(at++, CHANGE_TYPES.indexOf(d.change.type));
  v.setFloat64(at, d.change.node, true);
  at += 8;
  for (const list of [d.conf.voters, d.conf.learners]) {
    v.setUint16(at, list.length, true);
    at += 2;
    for (const id of list) {
      v.setFloat64(at, id, true);
      at += 8;
    }
  }
  v.setUint16(at, contexts.length, true);
  at += 2;
  for (const c of contexts) {
    v.setFloat64(at, c.id, true);
    v.setUint16(at + 8, c.context.byteLength, true);
    out.set(c.context, at + 10);
    at += 10 + c.context.byteLength;
  }
  return out;
}

/**
 * Decodes a `config` entry's data, or returns a description of what is wrong with it. Every
 * field is checked (version, change type, ids, list sizes, no id twice, contexts only for
 * members, the change agrees with the configuration), so a peer's malformed entry is refused at
 * the edge and never reaches the core's invariants.
 */
export function decodeConfigEntry(data: Uint8Array): ConfigEntryData | string {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  const need = (n: number): boolean => at + n <= data.byteLength;
  if (!need(10)) return 'config entry: too short';
  const version = v.getUint8(at++);
  if (version !== CONFIG_ENTRY_VERSION) return `config entry: unknown version ${version}`;
  const type = CHANGE_TYPES[v.getUint8(at++)];
  if (type === undefined) return 'config entry: unknown change type';
  const node = v.getFloat64(at, true);
  at += 8;
  const lists: NodeId[][] = [];
  for (let k = 0; k < 2; k++) {
    if (!need(2)) return 'config entry: truncated';
    const count = v.getUint16(at, true);
    at += 2;
    if (count > MAX_MEMBERS || !need(8 * count)) return 'config entry: member list too long or truncated';
    const ids: NodeId[] = [];
    for (let i = 0; i < count; i++, at += 8) ids.push(v.getFloat64(at, true));
    lists.push(ids);
  }
  if (!need(2)) return 'config entry: truncated';
  const contextCount = v.getUint16(at, true);
  at += 2;
  if (contextCount > MAX_MEMBERS) return 'config entry: too many contexts';
  const contexts: MemberContext[] = [];
  for (let i = 0; i < contextCount; i++) {
    if (!need(10)) return 'config entry: truncated';
    const id = v.getFloat64(at, true);
    const length = v.getUint16(at + 8, true);
    at += 10;
    if (!need(length)) return 'config entry: truncated';
    contexts.push({ id, context: data.slice(at, at + length) });
    at += length;
  }
  if (at !== data.byteLength) return 'config entry: trailing bytes';
  const conf = withContexts({ voters: lists[0] ?? [], learners: lists[1] ?? [] }, contexts);
  const problem = confProblem(conf);
  if (problem !== undefined) return `config entry: ${problem}`;
  if (!Number.isSafeInteger(node) || node <= 0) return 'config entry: invalid node id';
  const own = type === 'add-learner' ? memberContext(conf, node) : undefined;
  const change: ConfChange = own !== undefined ? { type, node, context: own } : { type, node };
  if (!agrees(change, conf)) return `config entry: the configuration does not follow from ${type} ${node}`;
  return { change, conf };
}

/** What makes `conf` unusable as a configuration, or undefined. */
export function confProblem(conf: ConfState): string | undefined {
  const all = [...conf.voters, ...conf.learners];
  if (!all.every((id) => Number.isSafeInteger(id) && id > 0)) return 'member ids must be positive integers';
  if (new Set(all).size !== all.length) return 'a node appears twice';
  if (conf.voters.length === 0) return 'no voter';
  if (all.length > MAX_MEMBERS) return `more than ${MAX_MEMBERS} members`;
  const contexts = conf.contexts ?? [];
  if (!contexts.every((c) => all.includes(c.id))) return 'a context for a node that is not a member';
  if (new Set(contexts.map((c) => c.id)).size !== contexts.length) return 'a node has two contexts';
  if (contexts.some((c) => c.context.byteLength > MAX_CONF_CONTEXT_BYTES)) return `a context longer than ${MAX_CONF_CONTEXT_BYTES} bytes`;
  return undefined;
}

/** Whether `conf` is a configuration `change` can produce (its node is where it leaves it). */
function agrees(change: ConfChange, conf: ConfState): boolean {
  const voter = conf.voters.includes(change.node);
  const learner = conf.learners.includes(change.node);
  switch (change.type) {
    case 'add-learner':
      return learner;
    case 'promote':
      return voter;
    case 'remove':
      return !voter && !learner;
  }
}

/** A configuration and the index of the entry (or snapshot) that set it. */
export interface IndexedConf {
  readonly index: number;
  readonly conf: ConfState;
}

/**
 * The configurations in the log: the one in force at the snapshot (its base) and one per
 * `config` entry after it, in index order. The last is the one in force.
 */
export class ConfigHistory {
  private configs: IndexedConf[];
  /** The index of the snapshot the log starts from: entries up to it are covered by it. */
  private floor: number;

  // Every configuration is stored normalized (lists sorted), once as it enters, so that readers
  // (status on every Ready) need not sort.
  constructor(base: IndexedConf) {
    this.configs = [normalized(base)];
    this.floor = base.index;
  }

  /** The configuration in force: the latest in the log. */
  latest(): IndexedConf {
    return this.configs[this.configs.length - 1] as IndexedConf;
  }

  /** The configuration in force at `index` (the latest set at or before it). */
  at(index: number): IndexedConf {
    const first = this.configs[0] as IndexedConf;
    invariant(index >= first.index, () => `configuration at ${index} asked, but the history starts at ${first.index}`);
    let found = first;
    for (const c of this.configs) {
      if (c.index > index) break;
      found = c;
    }
    return found;
  }

  /**
   * The log now holds `entries` (contiguous), with nothing after them: configurations from the
   * first entry on are replaced by those the entries carry. Entries the snapshot covers are
   * ignored.
   */
  appended(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.configs = this.configs.filter((c) => c.index < first.index || c.index <= this.floor);
    for (const e of entries) {
      if (e.type !== 'config' || e.index <= this.floor) continue;
      const d = decodeConfigEntry(e.data);
      // Entries reach the log only through the message codec (which refuses a malformed
      // config entry) or this node's own proposals: a bad one here is our own corruption.
      if (typeof d === 'string') invariant(false, () => `config entry ${e.index}: ${d}`);
      else this.configs.push(normalized({ index: e.index, conf: d.conf }));
    }
  }

  /**
   * The log was replaced by a snapshot: its configuration is in force. Those up to `committed`
   * (the commit index before the snapshot) stay: they are committed, hence the leader's too, and
   * the application may still take a snapshot of its state at an index before the installed one.
   */
  restore(base: IndexedConf, committed: number): void {
    this.configs = [...this.configs.filter((c) => c.index <= Math.min(committed, base.index - 1)), normalized(base)];
    this.floor = base.index;
  }
}
