/**
 * The inbound half of a peer link: a connection some peer dialed to our `/raft`. It must
 * complete the handshake (wire.ts) before anything else is accepted; afterwards it carries that
 * peer's messages and snapshot streams to us, and our snapshot acks back.
 *
 * Anything wrong (undecodable frame, wrong cluster, unknown sender, failed proof, unexpected
 * frame) closes this one connection with a 4xxx code and a reason, is logged and counted, and
 * never disturbs other connections or the process.
 *
 * An authenticated connection from which nothing (no frame, no ping, no pong) arrived for the
 * silence bound is terminated (link-liveness.ts): its path is dead, and the peer's fresh dial
 * must not find a stale connection in its way. The dialer's pings keep a healthy idle one
 * alive; when they stop coming (a dialer without liveness, or a quiet one), this side pings.
 */
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import type { Message, NodeId } from '../raft/index.js';
import { DecodeError } from '../protocol/index.js';
import { peerCertificateProblem } from './peer-tls.js';
import { CloseCode, newNonce, proof, proofMatches } from './handshake.js';
import { watchConnection } from './link-liveness.js';
import { SnapshotAssembler } from './snapshot-stream.js';
import { closeSocket, rawToBuffer, type LinkEnv, type WarnOnce } from './ws-common.js';
import { PROTOCOL_VERSION, decodeFrame, encodeControl, type ControlFrame } from './wire.js';

type InboundState = 'hello' | 'auth' | 'identity' | 'ready' | 'closed';

/** One connection a peer dialed to us, from handshake to close (see the module comment). */
export class InboundConnection {
  private state: InboundState = 'hello';
  /** The peer this connection claims (after hello) and proved (once ready) to be. */
  private claimed: NodeId | undefined;
  private nonce: Uint8Array | undefined;
  /** The data identity the peer named in its hello. */
  private dataId = '';
  /** Where the peer said, in its hello, it is reached ('' if it did not). */
  private said = '';
  private readonly timer: NodeJS.Timeout;
  private readonly assembler: SnapshotAssembler;
  private stopWatch: () => void = () => {};

  constructor(
    private readonly env: LinkEnv,
    readonly ws: WebSocket,
    /** The connection's socket, read by the liveness watch. */
    private readonly socket: Duplex,
    /** Remote address, for logs. */
    private readonly remote: string,
    private readonly warnings: WarnOnce,
    /** Called once the peer is authenticated (the transport retires older connections). */
    private readonly onReady: (c: InboundConnection) => void,
    private readonly onClosed: (c: InboundConnection) => void,
  ) {
    this.assembler = new SnapshotAssembler(env.maxSnapshotBytes);
    // An unauthenticated connection must not linger: it holds a slot of the bounded pool.
    this.timer = setTimeout(() => this.refuse(CloseCode.TIMEOUT, 'handshake timeout'), env.timings.handshakeTimeoutMs);
    this.timer.unref();
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    // Oversized frames (1009), bad opcodes, invalid UTF-8: ws reports here, then closes itself.
    ws.on('error', (err) => {
      this.env.logger.debug('inbound peer connection error', { remote, peer: this.claimed, error: err.message });
    });
    ws.on('close', () => {
      this.state = 'closed';
      this.stopWatch();
      clearTimeout(this.timer);
      this.assembler.abort();
      this.onClosed(this);
    });
  }

  /** The authenticated peer, once the handshake completed. */
  get peer(): NodeId | undefined {
    return this.state === 'ready' ? this.claimed : undefined;
  }

  /** The peer this connection claimed to be in its hello, authenticated or not yet. */
  get claimedPeer(): NodeId | undefined {
    return this.claimed;
  }

  get authenticated(): boolean {
    return this.state === 'ready';
  }

  /** Closes with `code`; counts a refused handshake when it had not completed. */
  refuse(code: number, reason: string): void {
    if (this.state === 'closed') return;
    if (this.state !== 'ready') this.env.metrics.rejectedHandshakes++;
    this.warnings.warn(`in:${this.remote}`, 'refused peer connection', { remote: this.remote, claimedPeer: this.claimed, code, reason });
    this.state = 'closed';
    this.stopWatch();
    clearTimeout(this.timer);
    closeSocket(this.ws, code, reason);
  }

  /** Closes without counting a refusal (transport stopping, connection replaced). */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopWatch();
    clearTimeout(this.timer);
    closeSocket(this.ws, code, reason);
  }

  private onFrame(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.state === 'closed') return;
    const buf = rawToBuffer(data);
    this.env.metrics.bytesReceived += buf.byteLength;
    if (!isBinary) return this.refuse(CloseCode.PROTOCOL, 'text frame');
    let frame;
    try {
      frame = decodeFrame(buf);
    } catch (err) {
      this.env.metrics.malformedFrames++;
      return this.refuse(CloseCode.MALFORMED, `malformed frame: ${err instanceof DecodeError ? err.message : 'undecodable'}`);
    }
    if (this.state === 'ready') {
      if (frame.kind === 'messages') return this.onMessages(frame.messages);
      if (frame.kind === 'chunk') return this.onChunk(frame.stream, frame.data);
      return this.onControl(frame.control);
    }
    if (frame.kind !== 'control') return this.refuse(CloseCode.PROTOCOL, `${frame.kind} frame before handshake`);
    if (this.state === 'identity') return this.refuse(CloseCode.PROTOCOL, `${frame.control.k} before welcome`);
    if (this.state === 'hello') return this.onHello(frame.control);
    return this.onAuth(frame.control);
  }

  private onHello(c: ControlFrame): void {
    const { env } = this;
    if (c.k !== 'hello') return this.refuse(CloseCode.PROTOCOL, `expected hello, got ${c.k}`);
    this.claimed = c.from;
    if (c.protocol !== PROTOCOL_VERSION)
      return this.refuse(CloseCode.VERSION, `unsupported protocol ${c.protocol}, want ${PROTOCOL_VERSION}`);
    if (c.clusterId !== env.clusterId) return this.refuse(CloseCode.CLUSTER, `wrong cluster id "${c.clusterId.slice(0, 40)}"`);
    if (c.to !== env.id) return this.refuse(CloseCode.NODE, `this is node ${env.id}, not ${c.to}`);
    this.said = c.address;
    if (!this.admissible(c.from)) return this.refuse(CloseCode.NODE, `node ${c.from} is not a configured peer`);
    if (env.tls !== undefined) {
      const problem = peerCertificateProblem(this.socket, c.from, env.tls.verifyPeerIds);
      if (problem !== null) return this.refuse(CloseCode.AUTH, problem);
    }
    this.dataId = c.dataId;
    if (env.secret === undefined) return this.checkIdentity();
    if (c.nonce === null) return this.refuse(CloseCode.AUTH, 'authentication required');
    this.nonce = newNonce();
    this.state = 'auth';
    this.ws.send(
      encodeControl({ k: 'challenge', nonce: this.nonce, proof: proof(env.secret, 'acceptor', c.nonce, env.clusterId, c.from, env.id) }),
    );
  }

  private onAuth(c: ControlFrame): void {
    const { env } = this;
    if (c.k !== 'auth') return this.refuse(CloseCode.PROTOCOL, `expected auth, got ${c.k}`);
    if (env.secret === undefined || this.nonce === undefined || this.claimed === undefined)
      return this.refuse(CloseCode.PROTOCOL, 'unexpected auth');
    const expected = proof(env.secret, 'dialer', this.nonce, env.clusterId, this.claimed, env.id);
    if (!proofMatches(expected, c.proof)) return this.refuse(CloseCode.AUTH, 'authentication failed');
    // The peer set may have changed since the hello was checked.
    if (!this.admissible(this.claimed)) return this.refuse(CloseCode.NODE, `node ${this.claimed} is not a configured peer`);
    this.checkIdentity();
  }

  /**
   * A configured peer, or one outside the configuration that says where to answer it: a member
   * added while this node was away (the leader, perhaps) must be heard and answered, or this node
   * never learns the configuration that names it (docs/design.md#membership, "Who may speak").
   */
  admissible(peer: NodeId): boolean {
    return this.env.peers.has(peer) || this.env.mayCall(peer, this.said);
  }

  /** Where the peer said it is reached ('' if it did not): where to answer it when it is not a configured peer. */
  get helloAddress(): string {
    return this.said;
  }

  /**
   * Only an authenticated peer's data identity is checked: an impostor must not be able to
   * make this node remember a wrong one.
   */
  private checkIdentity(): void {
    const peer = this.claimed;
    if (peer === undefined) return this.refuse(CloseCode.PROTOCOL, 'no hello');
    this.state = 'identity';
    void this.env.identities.check(peer, this.dataId).then((reason) => {
      if (this.state !== 'identity') return; // closed meanwhile
      if (reason !== null) return this.refuse(CloseCode.IDENTITY, reason);
      this.ready();
    });
  }

  private ready(): void {
    this.state = 'ready';
    clearTimeout(this.timer);
    this.warnings.reset(`in:${this.remote}`);
    this.ws.send(encodeControl({ k: 'welcome', dataId: this.env.identities.own }));
    this.env.logger.debug('inbound peer connection authenticated', { peer: this.claimed, remote: this.remote });
    // Watched once authenticated: before that the handshake timeout bounds the connection.
    this.stopWatch = watchConnection({
      ws: this.ws,
      socket: this.socket,
      timings: this.env.timings,
      ping: 'when-quiet',
      onSilent: (silentMs) => this.onSilent(silentMs),
    });
    this.onReady(this);
  }

  /** Nothing arrived for the silence bound: the path is dead, so no close handshake is tried. */
  private onSilent(silentMs: number): void {
    if (this.state === 'closed') return;
    this.env.logger.info('closed a silent peer connection', {
      peer: this.claimed,
      remote: this.remote,
      silentMs,
      boundMs: this.env.timings.silenceMs,
    });
    this.state = 'closed';
    clearTimeout(this.timer);
    this.ws.terminate();
  }

  private onMessages(messages: readonly Message[]): void {
    const peer = this.claimed;
    if (peer === undefined) return;
    const accepted: Message[] = [];
    for (const m of messages) {
      // A peer may only speak for itself and only to us: an authenticated node must not be able
      // to forge another member's votes or acknowledgements.
      if (m.to === this.env.id && m.from === peer) accepted.push(m);
      else {
        this.env.metrics.rejectedMessages++;
        this.warnings.warn(`misaddressed:${peer}`, 'dropped misaddressed peer message', { peer, from: m.from, to: m.to, type: m.type });
      }
    }
    if (accepted.length > 0) this.env.deliver(peer, accepted);
  }

  private onChunk(stream: number, data: Uint8Array): void {
    // Chunks of a stream we already refused keep coming until the sender sees our nack.
    if (this.assembler.activeStream !== stream) return;
    const step = this.assembler.chunk(data);
    if (!step.ok) this.nack(stream, step.error);
  }

  private onControl(c: ControlFrame): void {
    const peer = this.claimed;
    if (peer === undefined) return;
    if (c.k === 'snap-begin') {
      if (c.message.to !== this.env.id || c.message.from !== peer) {
        this.env.metrics.rejectedMessages++;
        return this.nack(c.stream, 'misaddressed snapshot');
      }
      // A stream still open means the sender gave up on it and moved on: so do we.
      this.assembler.abort();
      const step = this.assembler.begin(c.stream, c.message, c.size);
      if (!step.ok) this.nack(c.stream, step.error);
      return;
    }
    if (c.k === 'snap-end') {
      if (this.assembler.activeStream !== c.stream) return;
      const r = this.assembler.end(c.checksum);
      if (!r.ok) return this.nack(c.stream, r.error);
      const taken = this.env.deliverSnapshot(peer, r.snapshot.message, r.snapshot.data);
      if (this.state !== 'closed') this.ws.send(encodeControl({ k: 'snap-ack', stream: c.stream, ok: taken }));
      return;
    }
    this.refuse(CloseCode.PROTOCOL, `unexpected ${c.k}`);
  }

  private nack(stream: number, error: string): void {
    this.env.metrics.snapshotsFailed++;
    this.warnings.warn(`snapshot:${String(this.claimed)}`, 'refused incoming snapshot', { peer: this.claimed, stream, error });
    if (this.state !== 'closed') this.ws.send(encodeControl({ k: 'snap-ack', stream, ok: false }));
  }
}
