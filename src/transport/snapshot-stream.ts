/**
 * Snapshot streaming over a peer link, in chunks rather than one giant frame
 * (docs/design.md#peer-protocol). The sender emits `snap-begin` (metadata message and size),
 * the data in chunk frames, and `snap-end` with a SHA-256 of the data; the receiver reassembles
 * within a size bound, checks size and checksum, hands the snapshot to the core, and answers
 * `snap-ack`.
 *
 * Chunks are paced by the socket: at most {@link WINDOW} chunks are handed to `ws` before it
 * reports one written, so a large snapshot never sits in memory twice or fills the socket
 * buffer that heartbeats and appends share.
 */
import { createHash, type Hash } from 'node:crypto';
import type { SnapshotRequest } from '../raft/index.js';
import { encodeChunk, encodeControl } from './wire.js';

/** Chunks in flight (handed to the socket, not yet written) per stream. */
const WINDOW = 2;

/** What an outgoing stream needs from the link it runs on. */
export interface StreamSink {
  /** Sends a frame; `written` runs once it has been handed to the OS (or failed). */
  send(frame: Buffer, written: (err?: Error) => void): void;
  /** Counts bytes put on the wire. */
  sentBytes(n: number): void;
}

/**
 * One snapshot being sent. `done` is called exactly once: true on the receiver's positive ack,
 * false on a negative ack, a socket error, {@link fail} or a timeout (`onStall` is told so the
 * link can reset the connection, whose stream state is then unknown).
 */
export class OutgoingSnapshot {
  private offset = 0;
  private inFlight = 0;
  private started = false;
  private ended = false;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly hash = createHash('sha256');

  constructor(
    readonly stream: number,
    readonly message: SnapshotRequest,
    private readonly data: Uint8Array,
    private readonly done: (ok: boolean) => void,
    private readonly chunkBytes: number,
    private readonly timeoutMs: number,
    private readonly onStall: (s: OutgoingSnapshot) => void,
  ) {}

  get isFinished(): boolean {
    return this.finished;
  }

  /** Starts streaming on `sink`. */
  start(sink: StreamSink): void {
    if (this.started || this.finished) return;
    this.started = true;
    const begin = encodeControl({ k: 'snap-begin', stream: this.stream, message: this.message, size: this.data.byteLength });
    sink.sentBytes(begin.byteLength);
    sink.send(begin, (err) => (err !== undefined ? this.finish(false) : undefined));
    this.arm();
    this.pump(sink);
  }

  private pump(sink: StreamSink): void {
    while (!this.finished && this.inFlight < WINDOW && this.offset < this.data.byteLength) {
      const piece = this.data.subarray(this.offset, Math.min(this.offset + this.chunkBytes, this.data.byteLength));
      this.offset += piece.byteLength;
      this.hash.update(piece);
      const frame = encodeChunk(this.stream, piece);
      this.inFlight++;
      sink.sentBytes(frame.byteLength);
      sink.send(frame, (err) => {
        this.inFlight--;
        if (err !== undefined) return this.finish(false);
        this.arm();
        this.pump(sink);
      });
    }
    if (!this.finished && !this.ended && this.offset >= this.data.byteLength) {
      this.ended = true;
      const end = encodeControl({ k: 'snap-end', stream: this.stream, checksum: new Uint8Array(this.hash.digest()) });
      sink.sentBytes(end.byteLength);
      sink.send(end, (err) => (err !== undefined ? this.finish(false) : undefined));
      this.arm();
    }
  }

  /** (Re)starts the inactivity timer: progress or an ack must come within the timeout. */
  private arm(): void {
    if (this.finished) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.finished) return;
      this.finish(false);
      this.onStall(this);
    }, this.timeoutMs);
    this.timer.unref();
  }

  /** The receiver's verdict. */
  onAck(ok: boolean): void {
    this.finish(ok && this.ended);
  }

  /** Gives up (link closed, transport stopped). */
  fail(): void {
    this.finish(false);
  }

  private finish(ok: boolean): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.done(ok);
  }
}

/** A completed incoming snapshot. */
export interface AssembledSnapshot {
  readonly message: SnapshotRequest;
  readonly data: Uint8Array;
}

/** Result of a receiver step: `error` means the stream is abandoned and must be nacked. */
export type AssemblyStep = { readonly ok: true } | { readonly ok: false; readonly error: string };

/**
 * Reassembles one incoming stream at a time (the sender serialises its snapshots per link).
 * Memory is bounded by `maxBytes` per stream: a stream that declares or sends more is refused.
 */
export class SnapshotAssembler {
  private current:
    { stream: number; message: SnapshotRequest; size: number; received: number; chunks: Uint8Array[]; hash: Hash } | undefined;

  constructor(private readonly maxBytes: number) {}

  /** The stream being assembled, if any. */
  get activeStream(): number | undefined {
    return this.current?.stream;
  }

  begin(stream: number, message: SnapshotRequest, size: number): AssemblyStep {
    if (this.current !== undefined) return { ok: false, error: `stream ${this.current.stream} still open` };
    if (size > this.maxBytes) return { ok: false, error: `snapshot of ${size} bytes exceeds the limit of ${this.maxBytes}` };
    this.current = { stream, message, size, received: 0, chunks: [], hash: createHash('sha256') };
    return { ok: true };
  }

  /** Adds a chunk of the current stream (chunks of other streams are ignored by the caller). */
  chunk(data: Uint8Array): AssemblyStep {
    const c = this.current;
    if (c === undefined) return { ok: false, error: 'no open stream' };
    if (c.received + data.byteLength > c.size) {
      this.current = undefined;
      return { ok: false, error: 'more data than declared' };
    }
    // Copy: `data` is a view into the frame, which ws may reuse or keep large.
    const copy = new Uint8Array(data);
    c.chunks.push(copy);
    c.hash.update(copy);
    c.received += copy.byteLength;
    return { ok: true };
  }

  end(checksum: Uint8Array): { readonly ok: true; readonly snapshot: AssembledSnapshot } | { readonly ok: false; readonly error: string } {
    const c = this.current;
    this.current = undefined;
    if (c === undefined) return { ok: false, error: 'no open stream' };
    if (c.received !== c.size) return { ok: false, error: `got ${c.received} of ${c.size} bytes` };
    if (!Buffer.from(c.hash.digest()).equals(checksum)) return { ok: false, error: 'checksum mismatch' };
    const data = new Uint8Array(c.size);
    let at = 0;
    for (const piece of c.chunks) {
      data.set(piece, at);
      at += piece.byteLength;
    }
    return { ok: true, snapshot: { message: c.message, data } };
  }

  /** Drops the stream in progress (connection closed). */
  abort(): void {
    this.current = undefined;
  }
}
