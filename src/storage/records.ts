/**
 * Binary layouts of everything the storage layer writes (docs/design.md#storage), hand-rolled
 * so the format is explicit, stable and independent of any serializer's version.
 *
 * Keys of the LevelDB log (one byte of prefix, so the kinds never interleave):
 *   0x01                      metadata: format version, cluster id, node id, data identity
 *   0x02                      hard state
 *   0x03                      the log's base (snapshot metadata the log was compacted to)
 *   0x04                      the peers this node knows, each by its data identity
 *   0x10 ‖ u64 BE index       one entry; big-endian so byte order = index order
 *
 * Every value is a record: `u32 BE crc32 ‖ u8 kind ‖ payload`, the CRC covering kind and
 * payload. The kind byte catches a value that ends up under the wrong key; the CRC catches
 * torn or rotten bytes. Integers are u64 BE holding JavaScript safe integers.
 */
import {
  confProblem,
  MAX_MEMBERS,
  type Entry,
  type EntryType,
  type HardState,
  type MemberContext,
  type SnapshotMeta,
} from '../raft/index.js';
import { crc32 } from './crc32.js';
import { RecordError } from './storage-error.js';

/**
 * Version of the on-disk layout, stored in the metadata record. 2 added the data identity to
 * the metadata and the known-peers record; a version 1 directory is upgraded when opened.
 */
export const FORMAT_VERSION = 2;

export const META_KEY: Buffer = Buffer.from([0x01]);
export const HARD_STATE_KEY: Buffer = Buffer.from([0x02]);
export const BASE_KEY: Buffer = Buffer.from([0x03]);
export const KNOWN_PEERS_KEY: Buffer = Buffer.from([0x04]);
const ENTRY_PREFIX = 0x10;

/** Record kinds (the byte after the CRC). */
const KIND = { meta: 1, hardState: 2, base: 3, entry: 4, snapshotFile: 5, knownPeers: 6 } as const;
type Kind = keyof typeof KIND;

const TWO_32 = 0x1_0000_0000;

/** The key of entry `index`: prefix then 8 bytes big-endian. */
export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = ENTRY_PREFIX;
  writeU64(key, 1, index);
  return key;
}

/** The index an entry key names, or undefined if `key` is not an entry key. */
export function parseEntryKey(key: Uint8Array): number | undefined {
  if (key.length !== 9 || key[0] !== ENTRY_PREFIX) return undefined;
  const hi = u32At(key, 1);
  return hi > 0x1f_ffff ? undefined : hi * TWO_32 + u32At(key, 5);
}

/** Hex of a key, for messages. */
export function keyHex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

// ---- framing ---------------------------------------------------------------------------------

function writeU64(buf: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RecordError(`not a non-negative safe integer: ${value}`);
  buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** Seals `buf` (whose first 5 bytes are reserved) as a record of `kind`. */
function seal(buf: Buffer, kind: Kind): Buffer {
  buf[4] = KIND[kind];
  buf.writeUInt32BE(crc32(buf.subarray(4)), 0);
  return buf;
}

/** Reads a record's payload after checking its length, CRC and kind. */
function openRecord(value: Uint8Array, kind: Kind): Reader {
  checkRecord(value, kind);
  return new Reader(Buffer.from(value.buffer, value.byteOffset, value.byteLength), 5, value.byteLength);
}

/** Throws unless `value` is a whole record of `kind`: long enough, its CRC right. */
function checkRecord(value: Uint8Array, kind: Kind): void {
  if (value.byteLength < 5) throw new RecordError(`record too short (${value.byteLength} bytes)`);
  const stored = u32At(value, 0);
  const computed = crc32(value.subarray(4));
  if (stored !== computed) {
    throw new RecordError(`checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
  }
  if (value[4] !== KIND[kind]) throw new RecordError(`expected a ${kind} record, found kind ${String(value[4])}`);
}

function u32At(b: Uint8Array, at: number): number {
  return ((b[at] as number) * 0x100_0000 + (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))) >>> 0;
}

/** The u64 at `at` (the caller checked the length), refused beyond the safe range. */
function u64At(b: Uint8Array, at: number): number {
  const hi = u32At(b, at);
  if (hi > 0x1f_ffff) throw new RecordError('integer beyond the safe range');
  return hi * TWO_32 + u32At(b, at + 4);
}

/** Sequential reads within [offset, limit); any read past the limit is a truncated record. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    private offset: number,
    private readonly limit: number,
  ) {}

  private take(n: number): number {
    if (this.offset + n > this.limit) throw new RecordError(`record truncated (${this.limit} bytes)`);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }

  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }

  u64(): number {
    const at = this.take(8);
    const hi = this.buf.readUInt32BE(at);
    if (hi > 0x1f_ffff) throw new RecordError('integer beyond the safe range');
    return hi * TWO_32 + this.buf.readUInt32BE(at + 4);
  }

  /** A reader over the next `n` bytes (a length-prefixed part). */
  sub(n: number): Reader {
    const at = this.take(n);
    return new Reader(this.buf, at, at + n);
  }

  /** The remaining bytes, copied into a plain Uint8Array the caller may keep. */
  rest(): Uint8Array {
    const out = new Uint8Array(this.limit - this.offset);
    out.set(this.buf.subarray(this.offset, this.limit));
    this.offset = this.limit;
    return out;
  }

  /** Whether bytes remain (an optional trailing part). */
  more(): boolean {
    return this.offset < this.limit;
  }

  /** Asserts everything was consumed: trailing bytes mean the record is not what it claims. */
  end(): void {
    if (this.offset !== this.limit) throw new RecordError(`${this.limit - this.offset} trailing bytes`);
  }
}

// ---- entries ---------------------------------------------------------------------------------

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'noop', 'config'];

/** Entry record: type u8, index u64, term u64, data (rest). The index guards against a value
 * under the wrong key. */
export function encodeEntry(e: Entry): Buffer {
  const type = ENTRY_TYPES.indexOf(e.type);
  if (type < 0) throw new RecordError(`unknown entry type ${JSON.stringify(e.type)}`);
  const buf = Buffer.allocUnsafe(5 + 1 + 16 + e.data.byteLength);
  buf[5] = type;
  writeU64(buf, 6, e.index);
  writeU64(buf, 14, e.term);
  buf.set(e.data, 22);
  return seal(buf, 'entry');
}

/** Type, index and term: the fixed part of an entry record after its header. */
const ENTRY_HEAD = 5 + 1 + 16;

/**
 * An entry record. Its data is a view of `value`, not a copy: a boot reads every entry of the
 * log (a copy each was a tenth of the time of opening a 100,000-entry log, and most of its
 * garbage), so `value` must not be reused by its owner; a value read from LevelDB is not. Read
 * without a {@link Reader}, whose objects per record were more garbage still.
 */
export function decodeEntry(value: Uint8Array): Entry {
  checkRecord(value, 'entry');
  if (value.byteLength < ENTRY_HEAD) throw new RecordError(`record truncated (${value.byteLength} bytes)`);
  const typeByte = value[5] as number;
  const type = ENTRY_TYPES[typeByte];
  if (type === undefined) throw new RecordError(`unknown entry type ${typeByte}`);
  const index = u64At(value, 6);
  const term = u64At(value, 14);
  return { index, term, type, data: new Uint8Array(value.buffer, value.byteOffset + ENTRY_HEAD, value.byteLength - ENTRY_HEAD) };
}

// ---- hard state ------------------------------------------------------------------------------

export function encodeHardState(hs: HardState): Buffer {
  const buf = Buffer.allocUnsafe(5 + 24);
  writeU64(buf, 5, hs.term);
  writeU64(buf, 13, hs.vote);
  writeU64(buf, 21, hs.commit);
  return seal(buf, 'hardState');
}

export function decodeHardState(value: Uint8Array): HardState {
  const r = openRecord(value, 'hardState');
  const hs = { term: r.u64(), vote: r.u64(), commit: r.u64() };
  r.end();
  return hs;
}

// ---- snapshot metadata (the log's base, and inside snapshot files) ---------------------------

/**
 * Bare snapshot metadata: index, term, then voters and learners as u32 count + u64 ids, then,
 * only when some member has one, the members' host contexts as u32 count + (u64 id, u32 length,
 * bytes). Metadata written before contexts existed simply ends after the learners.
 */
export function encodeSnapshotMetaPayload(meta: SnapshotMeta): Buffer {
  const { voters, learners, contexts = [] } = meta.confState;
  const contextBytes = contexts.length === 0 ? 0 : 4 + contexts.reduce((n, c) => n + 12 + c.context.byteLength, 0);
  const buf = Buffer.allocUnsafe(16 + 8 + 8 * (voters.length + learners.length) + contextBytes);
  writeU64(buf, 0, meta.index);
  writeU64(buf, 8, meta.term);
  let at = 16;
  for (const list of [voters, learners]) {
    buf.writeUInt32BE(list.length, at);
    at += 4;
    for (const id of list) {
      writeU64(buf, at, id);
      at += 8;
    }
  }
  if (contexts.length > 0) {
    buf.writeUInt32BE(contexts.length, at);
    at += 4;
    for (const c of contexts) {
      writeU64(buf, at, c.id);
      buf.writeUInt32BE(c.context.byteLength, at + 8);
      buf.set(c.context, at + 12);
      at += 12 + c.context.byteLength;
    }
  }
  return buf;
}

function readSnapshotMeta(r: Reader): SnapshotMeta {
  const index = r.u64();
  const term = r.u64();
  const lists: number[][] = [];
  for (let k = 0; k < 2; k++) {
    const n = r.u32();
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(r.u64());
    lists.push(ids);
  }
  const confState = { voters: lists[0] ?? [], learners: lists[1] ?? [] };
  if (!r.more()) return { index, term, confState };
  const contexts: MemberContext[] = [];
  const n = r.u32();
  if (n === 0 || n > MAX_MEMBERS) throw new RecordError(`${n} member contexts`);
  for (let i = 0; i < n; i++) {
    const id = r.u64();
    contexts.push({ id, context: r.sub(r.u32()).rest() });
  }
  const withContexts = { ...confState, contexts };
  // Our own disk, but a checksum does not prove the writer was right: a configuration the core
  // would refuse from a peer is refused from the disk too, as corruption.
  const problem = confProblem(withContexts);
  if (problem !== undefined) throw new RecordError(`snapshot configuration: ${problem}`);
  return { index, term, confState: withContexts };
}

export function encodeBase(meta: SnapshotMeta): Buffer {
  const payload = encodeSnapshotMetaPayload(meta);
  const buf = Buffer.allocUnsafe(5 + payload.length);
  payload.copy(buf, 5);
  return seal(buf, 'base');
}

export function decodeBase(value: Uint8Array): SnapshotMeta {
  const r = openRecord(value, 'base');
  const meta = readSnapshotMeta(r);
  r.end();
  return meta;
}

// ---- metadata --------------------------------------------------------------------------------

/** Who a storage directory belongs to. */
export interface StorageMeta {
  readonly formatVersion: number;
  readonly clusterId: string;
  readonly nodeId: number;
  /**
   * A random name this directory got when it was created (absent in a version 1 directory until
   * it is upgraded): a node whose directory was wiped comes back under the same node id with
   * another one, which its peers notice (docs/design.md#data-identity).
   */
  readonly dataId?: string;
}

/** Longest data identity stored or accepted. */
export const MAX_DATA_ID_LENGTH = 64;

export function encodeMeta(m: StorageMeta): Buffer {
  const cluster = Buffer.from(m.clusterId, 'utf8');
  const dataId = Buffer.from(m.dataId ?? '', 'utf8');
  if (dataId.length > MAX_DATA_ID_LENGTH) throw new RecordError(`data identity longer than ${MAX_DATA_ID_LENGTH} bytes`);
  const buf = Buffer.allocUnsafe(5 + 4 + 8 + 4 + cluster.length + 4 + dataId.length);
  buf.writeUInt32BE(m.formatVersion, 5);
  writeU64(buf, 9, m.nodeId);
  buf.writeUInt32BE(cluster.length, 17);
  cluster.copy(buf, 21);
  buf.writeUInt32BE(dataId.length, 21 + cluster.length);
  dataId.copy(buf, 25 + cluster.length);
  return seal(buf, 'meta');
}

export function decodeMeta(value: Uint8Array): StorageMeta {
  const r = openRecord(value, 'meta');
  const formatVersion = r.u32();
  const nodeId = r.u64();
  const clusterId = utf8(r.sub(r.u32()).rest());
  // Version 1 ends here; from version 2 the data identity follows.
  const dataId = r.more() ? utf8(r.sub(r.u32()).rest()) : '';
  r.end();
  return dataId !== '' ? { formatVersion, clusterId, nodeId, dataId } : { formatVersion, clusterId, nodeId };
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

// ---- known peers ----------------------------------------------------------------------------

/**
 * A peer as this node first knew it: the data identity it showed, and the admission (from its
 * member context; '' for a founding member) under which it showed it.
 */
export interface KnownPeer {
  readonly dataId: string;
  readonly admission: string;
}

/** u32 count, then per peer: u64 id, u32 length ‖ data identity, u32 length ‖ admission. */
export function encodeKnownPeers(peers: ReadonlyMap<number, KnownPeer>): Buffer {
  const parts = [...peers].map(([id, p]) => ({ id, dataId: Buffer.from(p.dataId, 'utf8'), admission: Buffer.from(p.admission, 'utf8') }));
  const size = parts.reduce((n, p) => n + 8 + 4 + p.dataId.length + 4 + p.admission.length, 0);
  const buf = Buffer.allocUnsafe(5 + 4 + size);
  buf.writeUInt32BE(parts.length, 5);
  let at = 9;
  for (const p of parts) {
    writeU64(buf, at, p.id);
    at += 8;
    for (const field of [p.dataId, p.admission]) {
      buf.writeUInt32BE(field.length, at);
      field.copy(buf, at + 4);
      at += 4 + field.length;
    }
  }
  return seal(buf, 'knownPeers');
}

export function decodeKnownPeers(value: Uint8Array): Map<number, KnownPeer> {
  const r = openRecord(value, 'knownPeers');
  const count = r.u32();
  const out = new Map<number, KnownPeer>();
  for (let i = 0; i < count; i++) {
    const id = r.u64();
    const dataId = utf8(r.sub(r.u32()).rest());
    const admission = utf8(r.sub(r.u32()).rest());
    out.set(id, { dataId, admission });
  }
  r.end();
  return out;
}

// ---- snapshot files --------------------------------------------------------------------------

/** First bytes of every snapshot file: identifies the format before anything is trusted. */
const SNAPSHOT_MAGIC = Buffer.from('RLSNAP\x00\x01', 'latin1');

/**
 * A snapshot file: magic (8) ‖ record (crc ‖ kind ‖ u32 meta length ‖ meta ‖ data). The CRC
 * covers metadata and data, so a torn or rotten file is detected before it is restored.
 */
export function encodeSnapshotFile(meta: SnapshotMeta, data: Uint8Array): Buffer {
  const payload = encodeSnapshotMetaPayload(meta);
  const buf = Buffer.allocUnsafe(SNAPSHOT_MAGIC.length + 5 + 4 + payload.length + data.byteLength);
  SNAPSHOT_MAGIC.copy(buf, 0);
  const record = buf.subarray(SNAPSHOT_MAGIC.length);
  record.writeUInt32BE(payload.length, 5);
  payload.copy(record, 9);
  record.set(data, 9 + payload.length);
  seal(record, 'snapshotFile');
  return buf;
}

export function decodeSnapshotFile(file: Uint8Array): { meta: SnapshotMeta; data: Uint8Array } {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < SNAPSHOT_MAGIC.length || !buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new RecordError('not a raftlock snapshot file (bad magic)');
  }
  const r = openRecord(buf.subarray(SNAPSHOT_MAGIC.length), 'snapshotFile');
  const metaPart = r.sub(r.u32());
  const meta = readSnapshotMeta(metaPart);
  metaPart.end();
  return { meta, data: r.rest() };
}
