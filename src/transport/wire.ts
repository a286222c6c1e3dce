/**
 * Frames of the peer link protocol, one per WebSocket binary message. The first byte says what
 * follows, so a chunk of snapshot data travels as raw bytes (no re-encoding of up to 256 KiB)
 * while everything else is msgpack validated by message-codec.ts:
 *
 *   0x01 messages  msgpack array of Raft messages
 *   0x02 control   msgpack map: handshake (hello/challenge/auth/welcome) and snapshot stream
 *                  control (snap-begin/snap-end/snap-ack)
 *   0x03 chunk     u32 big-endian stream id, then raw snapshot bytes
 *
 * Handshake, dialer D → acceptor A (docs/design.md#peer-protocol):
 *   D→A hello {protocol, clusterId, from, to, nonce|null, dataId, address}   nonce only with a secret
 *   A→D challenge {nonce, proof}   when A has a secret: proof = HMAC over D's nonce (A is real)
 *   D→A auth {proof}               proof = HMAC over A's nonce (D is real)
 *   A→D welcome {dataId}           after which D may send messages and snapshot streams
 * Without secrets, hello is answered by welcome directly. `dataId` names the data directory each
 * side runs on; each checks the other's once it is authenticated (docs/design.md#data-identity).
 * `address` is where D is reached ('' if it cannot say): a node not in A's configuration (yet) is
 * answered there (docs/design.md#peer-protocol).
 */
import type { Message, NodeId, SnapshotRequest } from '../raft/index.js';
import { DecodeError, packValue, unpackValue } from '../protocol/index.js';
import {
  boolean,
  bytes,
  encodeMessages,
  messageToWire,
  natural,
  nodeId,
  plainRecord,
  string,
  validateMessage,
  validateMessages,
} from './message-codec.js';

/** Link protocol version carried in `hello` (2: data identities in hello and welcome). */
export const PROTOCOL_VERSION = 2;
/** Length of handshake nonces. */
export const NONCE_BYTES = 32;
/** Length of HMAC-SHA256 proofs. */
export const PROOF_BYTES = 32;
/** Longest cluster id accepted in a hello. */
export const MAX_CLUSTER_ID_LENGTH = 256;
/** Longest data identity accepted in a hello or welcome. */
export const MAX_DATA_ID_LENGTH = 64;
/** Longest address accepted in a hello (a DNS name of 253 characters, a colon and a port). */
export const MAX_ADDRESS_LENGTH = 260;

const KIND_MESSAGES = 0x01;
const KIND_CONTROL = 0x02;
const KIND_CHUNK = 0x03;

/** Control frames: the handshake and snapshot stream framing (see the module comment). */
export type ControlFrame =
  | {
      readonly k: 'hello';
      readonly protocol: number;
      readonly clusterId: string;
      readonly from: NodeId;
      readonly to: NodeId;
      readonly nonce: Uint8Array | null;
      /** The dialer's data identity. */
      readonly dataId: string;
      /** Where the dialer is reached (`host:port`), or ''. */
      readonly address: string;
    }
  | { readonly k: 'challenge'; readonly nonce: Uint8Array; readonly proof: Uint8Array }
  | { readonly k: 'auth'; readonly proof: Uint8Array }
  /** The acceptor's data identity. */
  | { readonly k: 'welcome'; readonly dataId: string }
  /** Starts snapshot stream `stream` of `size` bytes for `message`. */
  | { readonly k: 'snap-begin'; readonly stream: number; readonly message: SnapshotRequest; readonly size: number }
  /** Ends it; `checksum` is the SHA-256 of all its bytes. */
  | { readonly k: 'snap-end'; readonly stream: number; readonly checksum: Uint8Array }
  /** The receiver's verdict on a stream (sent back on the same link). */
  | { readonly k: 'snap-ack'; readonly stream: number; readonly ok: boolean };

/** Any decoded, validated frame. */
export type Frame =
  | { readonly kind: 'messages'; readonly messages: Message[] }
  | { readonly kind: 'control'; readonly control: ControlFrame }
  | { readonly kind: 'chunk'; readonly stream: number; readonly data: Uint8Array };

function withKind(kind: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(body.byteLength + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

/** One frame holding `messages` (all of them; splitting to fit limits is the caller's job). */
export function encodeMessagesFrame(messages: readonly Message[]): Buffer {
  return withKind(KIND_MESSAGES, encodeMessages(messages));
}

/** One control frame. */
export function encodeControl(frame: ControlFrame): Buffer {
  const body = frame.k === 'snap-begin' ? { ...frame, message: messageToWire(frame.message) } : frame;
  return withKind(KIND_CONTROL, packValue(body));
}

/** One chunk of snapshot stream `stream` (a copy of `data` goes into the frame). */
export function encodeChunk(stream: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + data.byteLength);
  out[0] = KIND_CHUNK;
  out.writeUInt32BE(stream, 1);
  out.set(data, 5);
  return out;
}

function streamId(value: unknown, path: string): number {
  const n = natural(value, path);
  if (n < 1 || n > 0xffffffff) throw new DecodeError(path, 'expected a stream id in 1..2^32-1');
  return n;
}

function exactBytes(value: unknown, path: string, length: number): Uint8Array {
  const b = bytes(value, path, length);
  if (b.byteLength !== length) throw new DecodeError(path, `expected ${length} bytes`);
  return b;
}

function control(value: unknown): ControlFrame {
  const path = 'control';
  if (typeof value !== 'object' || value === null) throw new DecodeError(path, 'expected a map');
  const k = (value as { k?: unknown }).k;
  switch (k) {
    case 'hello': {
      // A hello of another protocol version may have other fields: read the version first,
      // so that the acceptor can say "unsupported protocol" rather than "unknown field".
      const protocol = natural((value as { protocol?: unknown }).protocol, `${path}.protocol`);
      if (protocol !== PROTOCOL_VERSION) return versionOnlyHello(value, protocol);
      const r = plainRecord(value, path, ['k', 'protocol', 'clusterId', 'from', 'to', 'nonce', 'dataId', 'address']);
      const nonce = r['nonce'] === null ? null : exactBytes(r['nonce'], `${path}.nonce`, NONCE_BYTES);
      return {
        k,
        protocol,
        clusterId: string(r['clusterId'], `${path}.clusterId`, MAX_CLUSTER_ID_LENGTH),
        from: nodeId(r['from'], `${path}.from`),
        to: nodeId(r['to'], `${path}.to`),
        nonce,
        dataId: string(r['dataId'], `${path}.dataId`, MAX_DATA_ID_LENGTH),
        address: string(r['address'], `${path}.address`, MAX_ADDRESS_LENGTH),
      };
    }
    case 'challenge': {
      const r = plainRecord(value, path, ['k', 'nonce', 'proof']);
      return {
        k,
        nonce: exactBytes(r['nonce'], `${path}.nonce`, NONCE_BYTES),
        proof: exactBytes(r['proof'], `${path}.proof`, PROOF_BYTES),
      };
    }
    case 'auth': {
      const r = plainRecord(value, path, ['k', 'proof']);
      return { k, proof: exactBytes(r['proof'], `${path}.proof`, PROOF_BYTES) };
    }
    case 'welcome': {
      const r = plainRecord(value, path, ['k', 'dataId']);
      return { k, dataId: string(r['dataId'], `${path}.dataId`, MAX_DATA_ID_LENGTH) };
    }
    case 'snap-begin': {
      const r = plainRecord(value, path, ['k', 'stream', 'message', 'size']);
      const message = validateMessage(r['message'], `${path}.message`);
      if (message.type !== 'snapshot') throw new DecodeError(`${path}.message.type`, 'expected snapshot');
      return { k, stream: streamId(r['stream'], `${path}.stream`), message, size: natural(r['size'], `${path}.size`) };
    }
    case 'snap-end': {
      const r = plainRecord(value, path, ['k', 'stream', 'checksum']);
      return { k, stream: streamId(r['stream'], `${path}.stream`), checksum: exactBytes(r['checksum'], `${path}.checksum`, 32) };
    }
    case 'snap-ack': {
      const r = plainRecord(value, path, ['k', 'stream', 'ok']);
      return { k, stream: streamId(r['stream'], `${path}.stream`), ok: boolean(r['ok'], `${path}.ok`) };
    }
    default:
      throw new DecodeError(`${path}.k`, 'unknown control frame');
  }
}

/**
 * A hello of another protocol version, kept only so that the acceptor can refuse it by version:
 * its other fields are not read (they may mean something else there).
 */
function versionOnlyHello(value: unknown, protocol: number): ControlFrame {
  const v = value as { from?: unknown; to?: unknown };
  const id = (x: unknown): NodeId => (typeof x === 'number' && Number.isSafeInteger(x) && x > 0 ? x : 0);
  return { k: 'hello', protocol, clusterId: '', from: id(v.from), to: id(v.to), nonce: null, dataId: '', address: '' };
}

/**
 * The messages of a messages frame, which never carries a snapshot: a snapshot's metadata
 * travels with its data in a snapshot stream, and one arriving alone would ask the core to
 * install data this node does not have.
 */
function withoutSnapshots(messages: Message[]): Message[] {
  messages.forEach((m, k) => {
    if (m.type === 'snapshot')
      throw new DecodeError(`messages[${k}].type`, 'a snapshot travels only in a snapshot stream, never in a messages frame');
  });
  return messages;
}

/**
 * Decodes and validates one frame. Throws only {@link DecodeError}, for any input.
 * Chunk data is a view into `data` (the receiver copies it into the snapshot being assembled).
 */
export function decodeFrame(data: Uint8Array): Frame {
  if (data.byteLength === 0) throw new DecodeError('frame', 'empty');
  const body = data.subarray(1);
  switch (data[0]) {
    case KIND_MESSAGES:
      return { kind: 'messages', messages: withoutSnapshots(validateMessages(unpackValue(body, 'messages'), 'messages')) };
    case KIND_CONTROL:
      try {
        return { kind: 'control', control: control(unpackValue(body, 'control')) };
      } catch (err) {
        if (err instanceof DecodeError) throw err;
        throw new DecodeError('control', 'unreadable value');
      }
    case KIND_CHUNK: {
      if (data.byteLength < 5) throw new DecodeError('chunk', 'truncated header');
      const stream = ((data[1] ?? 0) * 0x1000000 + (((data[2] ?? 0) << 16) | ((data[3] ?? 0) << 8) | (data[4] ?? 0))) >>> 0;
      if (stream === 0) throw new DecodeError('chunk.stream', 'expected a stream id in 1..2^32-1');
      return { kind: 'chunk', stream, data: data.subarray(5) };
    }
    default:
      throw new DecodeError('frame.kind', `unknown frame kind ${String(data[0])}`);
  }
}
