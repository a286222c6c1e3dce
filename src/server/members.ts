/**
 * The cluster's members as this node knows them (docs/design.md#membership): who is in the
 * configuration in force in the core, and how to reach each — the address it was added with
 * (its member context), else its entry in the configuration file (a cluster's first members).
 */
import { randomBytes } from 'node:crypto';
import { memberContext, type ConfState, type NodeId } from '../raft/index.js';

/** One member: its id, address (null when nobody told us) and whether it votes. */
export interface Member {
  readonly id: NodeId;
  readonly address: string | null;
  readonly role: 'voter' | 'learner';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** What a member's context says: how to reach it, and which admission made it a member. */
export interface MemberInfo {
  readonly address?: string;
  /**
   * Random, chosen when the node was added: a node removed and added again under the same id is
   * a new admission, so the data directory it was known by no longer binds it
   * (docs/design.md#data-identity). Absent for a cluster's founding members.
   */
  readonly admission?: string;
}

/**
 * The context a node is added with: `{"address":"host:port","admission":"…"}` as UTF-8 JSON, a
 * map so that later versions can add fields without a new format.
 */
export function encodeMemberContext(address: string, admission: string): Uint8Array {
  return encoder.encode(JSON.stringify({ address, admission }));
}

/** A fresh admission: 64 random bits, hex. */
export function newAdmission(): string {
  return randomBytes(8).toString('hex');
}

/**
 * What a member context says; fields that are not there or not strings are left out (a context
 * is replicated data, written by a leader that validated it; an unreadable one is treated as
 * saying nothing rather than trusted).
 */
export function decodeMemberContext(bytes: Uint8Array): MemberInfo {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null) return {};
  const { address, admission } = value as { address?: unknown; admission?: unknown };
  return {
    ...(typeof address === 'string' && address !== '' ? { address } : {}),
    ...(typeof admission === 'string' && admission !== '' ? { admission } : {}),
  };
}

/**
 * The admission of `id` in `conf`: its context's, '' for a member without one (a founding
 * member), undefined when `id` is not a member of `conf`.
 */
export function admissionOf(conf: ConfState, id: NodeId): string | undefined {
  if (!conf.voters.includes(id) && !conf.learners.includes(id)) return undefined;
  const context = memberContext(conf, id);
  return (context !== undefined ? decodeMemberContext(context).admission : undefined) ?? '';
}

/** Where each member is reached, given the configuration in force. */
export class MemberDirectory {
  /**
   * `fileAddresses`: the configuration file's nodes; `dialAddresses`: where to dial some peers
   * instead of their address (chaos runs put a proxy in between).
   */
  constructor(
    private readonly self: NodeId,
    private readonly fileAddresses: ReadonlyMap<NodeId, string>,
    private readonly dialAddresses: ReadonlyMap<NodeId, string> = new Map(),
  ) {}

  /** The address `id` is known by in `conf` (its context first), or null. */
  addressOf(conf: ConfState, id: NodeId): string | null {
    const context = memberContext(conf, id);
    const fromContext = context !== undefined ? decodeMemberContext(context).address : undefined;
    return fromContext ?? this.fileAddresses.get(id) ?? null;
  }

  /** Every member of `conf`, voters first, each by id. */
  members(conf: ConfState): Member[] {
    const voters = [...conf.voters].sort((a, b) => a - b).map((id): Member => ({ id, address: this.addressOf(conf, id), role: 'voter' }));
    const learners = [...conf.learners]
      .sort((a, b) => a - b)
      .map((id): Member => ({ id, address: this.addressOf(conf, id), role: 'learner' }));
    return [...voters, ...learners];
  }

  /**
   * The peers this node talks to under `conf`: every other member with a known address (dial
   * overrides first). A node with no configuration yet (one that is joining) talks to the
   * configuration file's nodes, from whom its configuration will come.
   */
  peers(conf: ConfState): Map<NodeId, string> {
    const ids = conf.voters.length + conf.learners.length === 0 ? [...this.fileAddresses.keys()] : [...conf.voters, ...conf.learners];
    const out = new Map<NodeId, string>();
    for (const id of ids.sort((a, b) => a - b)) {
      if (id === this.self) continue;
      const address = this.dialAddresses.get(id) ?? this.addressOf(conf, id);
      if (address !== null) out.set(id, address);
    }
    return out;
  }
}
