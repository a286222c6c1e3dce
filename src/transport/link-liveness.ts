/**
 * Peer-link liveness (docs/design.md#peer-protocol): how long a link may be silent before it is
 * taken for dead, how often it is pinged, how long a dial may take, and how fast a dead link is
 * redialled, all derived from the cluster's election timeout; plus the silence clock each link
 * keeps and the watch that pings and judges a live socket.
 *
 * Why: a link cut by a switch (packets dropped, no FIN or RST) looks healthy to TCP. Its
 * unacknowledged bytes are retransmitted with exponential backoff, so after the cut heals the
 * link stays dead until the next retransmission: seconds after a cut of a few seconds. Node
 * exposes no TCP_USER_TIMEOUT to bound that, and TCP keep-alive does not probe while data is
 * unacknowledged, so the link itself must notice the silence, drop the connection and dial a
 * new one, whose SYN goes out as soon as the path is back.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';

/** The election timeout {@link linkTimings} assumes when none is given: the configuration's default 50 ms × 10 ticks. */
export const DEFAULT_ELECTION_TIMEOUT_MS = 500;

/** How a peer link watches and redials its peer; all in milliseconds. */
export interface LinkTimings {
  /** Whether links ping, judge silence and set keep-alive at all. */
  readonly liveness: boolean;
  /** A link that heard nothing from its peer for longer than this is closed (0: never). */
  readonly silenceMs: number;
  /** How often a link checks its silence and pings. */
  readonly pingIntervalMs: number;
  /** The TCP connect of a dial must complete within this (0: no bound of its own). */
  readonly connectTimeoutMs: number;
  /** The whole dial (TCP, HTTP upgrade, authentication, identity check) must complete within this. */
  readonly handshakeTimeoutMs: number;
  /** Redial backoff: first ceiling and cap (equal jitter: each wait is between half the ceiling and all of it). */
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
}

/**
 * The link timings for a cluster whose election timeout (`tickMs × electionTicks`) is
 * `electionTimeoutMs`. With `liveness` false: the timings links had before they watched their
 * peers (no pings, no silence bound, 5 s handshakes, backoff capped at 2 s), kept so a chaos
 * run can show what liveness buys (its negative control).
 */
export function linkTimings(electionTimeoutMs: number = DEFAULT_ELECTION_TIMEOUT_MS, liveness = true): LinkTimings {
  if (!Number.isFinite(electionTimeoutMs) || electionTimeoutMs <= 0)
    throw new RangeError(`linkTimings: the election timeout must be a positive number of ms, got ${electionTimeoutMs}`);
  if (!liveness) {
    return {
      liveness: false,
      silenceMs: 0,
      pingIntervalMs: 0,
      connectTimeoutMs: 0,
      handshakeTimeoutMs: 5_000,
      backoffBaseMs: 50,
      backoffCapMs: 2_000,
    };
  }
  const e = Math.round(electionTimeoutMs);
  // A follower that hears no leader for an election timeout (randomized up to twice that)
  // campaigns anyway, so a link silent for two of them is of no use to Raft. The 1 s floor: a
  // ping is answered only once both event loops turn, which on a loaded 2-core machine can take
  // a few hundred ms; clusters with very short ticks (tests) must not flap their links.
  const silenceMs = Math.max(1_000, 2 * e);
  // Four pings per bound: a healthy link has three more chances to answer after a late one.
  const pingIntervalMs = Math.floor(silenceMs / 4);
  // The peer's kernel answers a SYN without its process, so a connect on a LAN takes well under
  // a millisecond; only a lost SYN takes longer, and the kernel would resend it only after 1 s
  // (then 3 s, 7 s). Giving up sooner and dialling afresh puts a SYN on a healed path sooner.
  const connectTimeoutMs = Math.max(250, Math.round(e / 2));
  // The whole handshake may be slow on a loaded machine (several event-loop turns on both sides,
  // a disk write on first sight of a peer), so it gets a generous bound of its own; a dead path
  // during the handshake is caught sooner by the silence bound, which applies from TCP connect.
  const handshakeTimeoutMs = Math.max(2_000, 4 * e);
  // Once the peer answers again, the link is back within connect timeout + cap (≈ 0.5 s by
  // default). A cap this short does not hammer a dead peer: a refused dial costs it one SYN and
  // an RST from its kernel, about five a second, and the log reports an outage once, not per
  // dial (reachability-log.ts); a longer cap would only lengthen the wait after a heal.
  const backoffCapMs = Math.max(250, Math.round(e / 2));
  return {
    liveness: true,
    silenceMs,
    pingIntervalMs,
    connectTimeoutMs,
    handshakeTimeoutMs,
    backoffBaseMs: Math.min(50, backoffCapMs),
    backoffCapMs,
  };
}

/** What one tick of a {@link SilenceClock} found. */
export interface SilenceTick {
  /** How long the peer has been silent, not counting time this process itself did not run. */
  readonly silentMs: number;
  /** Whether anything was heard since the previous tick. */
  readonly heardSinceLastTick: boolean;
}

/**
 * When a link last heard its peer, judged at ticks of an interval timer. Pure: time is given.
 *
 * A tick that comes late means this process did not run meanwhile (a long synchronous task, a
 * GC pause, SIGSTOP, a paused VM). Whatever the peer sent then is still unread in the socket, so
 * the peer is not blamed for it: the lateness is taken off its silence. Otherwise a node that
 * stalled for a second would, on waking, close every link before reading what its peers sent.
 */
export class SilenceClock {
  private lastHeard: number;
  private lastTick: number;
  private heardSinceTick = false;

  constructor(
    private readonly intervalMs: number,
    now: number,
  ) {
    this.lastHeard = now;
    this.lastTick = now;
  }

  /** Something arrived from the peer at `now`. */
  heard(now: number): void {
    if (now > this.lastHeard) this.lastHeard = now;
    this.heardSinceTick = true;
  }

  /** The interval timer fired at `now`. */
  tick(now: number): SilenceTick {
    const late = now - this.lastTick - this.intervalMs;
    if (late > 0) this.lastHeard = Math.min(now, this.lastHeard + late);
    this.lastTick = now;
    const heardSinceLastTick = this.heardSinceTick;
    this.heardSinceTick = false;
    return { silentMs: Math.max(0, now - this.lastHeard), heardSinceLastTick };
  }

  /** How long the peer has been silent at `now` (lateness already forgiven at ticks stays forgiven). */
  silentFor(now: number): number {
    return Math.max(0, now - this.lastHeard);
  }
}

/** Who pings: the dialer always (it hears nothing else), the acceptor only when its peer is quiet. */
export type PingPolicy = 'always' | 'when-quiet';

/**
 * Sets the socket options a peer connection benefits from. No Nagle delay (ws sets it too: a
 * heartbeat must not wait for an ACK). Keep-alive probes an idle connection after `silenceMs`
 * (rounded down to whole seconds by the OS, at least 1 s): a backstop only, since the pings keep a
 * watched connection busy, and keep-alive never probes while data is unacknowledged, which is
 * what TCP_USER_TIMEOUT would bound, and Node does not expose it.
 */
export function tuneSocket(socket: Duplex, timings: LinkTimings): void {
  if (!(socket instanceof Socket)) return;
  socket.setNoDelay(true);
  if (timings.liveness) socket.setKeepAlive(true, Math.max(1_000, timings.silenceMs));
}

/**
 * Watches one live connection: every byte read from `socket` counts as hearing the peer; every
 * `pingIntervalMs` the silence is judged, and the peer pinged (its `ws` answers with a pong on
 * its own). Past `silenceMs`, the verdict waits for the I/O already pending to be read
 * (setImmediate runs after the poll phase), then `onSilent` is called once with how long it
 * was; the caller terminates the socket. Returns a function that stops the watch.
 *
 * `sendProgress`, when given, tells how many bytes still wait to be sent: when that falls, the
 * peer's TCP acknowledged data, which counts as hearing it (a ping queued behind a large frame
 * on a slow link is answered late, but the link is not dead).
 */
export function watchConnection(opts: {
  readonly ws: WebSocket;
  readonly socket: Duplex;
  readonly timings: LinkTimings;
  readonly ping: PingPolicy;
  readonly onSilent: (silentMs: number) => void;
  readonly sendProgress?: () => number;
  readonly now?: () => number;
}): () => void {
  const { ws, socket, timings } = opts;
  const now = opts.now ?? Date.now;
  if (!timings.liveness || timings.silenceMs <= 0) return () => {};
  const clock = new SilenceClock(timings.pingIntervalMs, now());
  const onData = (): void => clock.heard(now());
  socket.on('data', onData);
  let buffered = opts.sendProgress?.() ?? 0;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    socket.off('data', onData);
  };
  const timer = setInterval(() => {
    if (opts.sendProgress !== undefined) {
      const b = opts.sendProgress();
      if (b < buffered) clock.heard(now());
      buffered = b;
    }
    const t = clock.tick(now());
    if (t.silentMs > timings.silenceMs) {
      setImmediate(() => {
        if (stopped) return;
        const silentMs = clock.silentFor(now());
        if (silentMs <= timings.silenceMs) return;
        stop();
        opts.onSilent(silentMs);
      });
      return;
    }
    if (ws.readyState !== ws.OPEN) return; // before the upgrade completed: nothing to ping with
    if (opts.ping === 'always' || !t.heardSinceLastTick) {
      try {
        ws.ping();
      } catch {
        // The socket is closing: its close event ends the watch.
      }
    }
  }, timings.pingIntervalMs);
  timer.unref();
  return stop;
}
