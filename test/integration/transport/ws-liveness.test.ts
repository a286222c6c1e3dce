/**
 * Peer-link liveness over real sockets on 127.0.0.1: two transports whose links each pass
 * through a black-hole proxy (black-hole-proxy.ts), which can stop forwarding while keeping
 * both sockets open, as a switch dropping packets does. A silent link must be noticed and
 * closed within the silence bound, on both ends; redials must go on; once the path is back,
 * messages must flow again within the bound plus the backoff cap. A healthy idle link must not
 * be closed, and with liveness off the black-holed link stays "open" (the negative control).
 *
 * As root with `nft` (as `.ci/run` has it), the same cut is also made with real packet drops:
 * an nftables rule on loopback, scoped to the two nodes' ports, drops their packets (SYNs of new
 * dials included), so TCP itself backs off as on a real network.
 *
 * Deadlines are the bound plus a generous slack: this is real time on a shared 2-core machine.
 * Each measurement is printed, for docs/operations.md#a-node-is-down-or-cut-off.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { silentLogger, type Logger, type NodeId } from '../../../src/raft/index.js';
import { linkTimings } from '../../../src/transport/link-liveness.js';
import { decodeFrame, encodeControl, PROTOCOL_VERSION } from '../../../src/transport/wire.js';
import { WsPeerTransport, type WsTransportOptions } from '../../../src/transport/ws-transport.js';
import { startBlackHoleProxy, type BlackHoleProxy } from './black-hole-proxy.js';
import { CLUSTER, Recorder, eventually, heartbeat, startServer, useWsFixture } from './ws-harness.js';

const { cleanups } = useWsFixture();

/** The defaults a transport used alone gets (the configuration's default election timeout). */
const T = linkTimings();
/** Room for a loaded machine on top of every bound: generous, as real time is asserted here. */
const SLACK_MS = 3_000;

interface LogLine {
  readonly at: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A logger keeping info-and-above lines, with when they were written. */
function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const keep = (msg: string, fields?: Readonly<Record<string, unknown>>): void =>
    void lines.push({ at: Date.now(), msg, fields: fields ?? {} });
  return { logger: { ...silentLogger, info: keep, warn: keep, error: keep }, lines };
}

interface Node {
  readonly id: NodeId;
  readonly transport: WsPeerTransport;
  readonly recorder: Recorder;
  readonly lines: LogLine[];
}

/**
 * Nodes 1 and 2, each dialing the other through its own proxy (`proxy12` carries 1's link to 2,
 * `proxy21` 2's link to 1), started and connected both ways.
 */
async function proxiedPair(extra: Partial<WsTransportOptions> = {}): Promise<{
  n1: Node;
  n2: Node;
  proxy12: BlackHoleProxy;
  proxy21: BlackHoleProxy;
  cut: () => void;
  heal: () => void;
}> {
  const s1 = await startServer();
  const s2 = await startServer();
  const proxy12 = await startBlackHoleProxy(s2.port);
  const proxy21 = await startBlackHoleProxy(s1.port);
  const make = (id: NodeId, peer: NodeId, via: BlackHoleProxy): Node => {
    const { logger, lines } = recordingLogger();
    const transport = new WsPeerTransport({ id, clusterId: CLUSTER, peers: new Map([[peer, `127.0.0.1:${via.port}`]]), logger, ...extra });
    return { id, transport, recorder: new Recorder(), lines };
  };
  const n1 = make(1, 2, proxy12);
  const n2 = make(2, 1, proxy21);
  s1.route = (req, socket, head) => n1.transport.handleUpgrade(req, socket, head);
  s2.route = (req, socket, head) => n2.transport.handleUpgrade(req, socket, head);
  cleanups.push(async () => {
    await Promise.all([n1.transport.close(), n2.transport.close()]);
    await Promise.all([proxy12.close(), proxy21.close(), s1.close(), s2.close()]);
  });
  n1.transport.start(n1.recorder);
  n2.transport.start(n2.recorder);
  await eventually(() => linked(n1, n2) && linked(n2, n1), 'both links up');
  return {
    n1,
    n2,
    proxy12,
    proxy21,
    cut: () => {
      proxy12.blackHole();
      proxy21.blackHole();
    },
    heal: () => {
      proxy12.resume();
      proxy21.resume();
    },
  };
}

/** `from`'s link to `to` is open and `to` accepts it. */
function linked(from: Node, to: Node): boolean {
  return from.transport.connectedPeers().includes(to.id) && to.transport.acceptedPeers().includes(from.id);
}

/** Sends heartbeats from → to (a fresh commit each time) until one with commit ≥ `commit` arrives. */
async function delivered(from: Node, to: Node, commit: number, deadlineMs: number): Promise<void> {
  await eventually(
    () => {
      from.transport.send([heartbeat(from.id, to.id, commit)]);
      return to.recorder.messages.some((m) => m.type === 'heartbeat' && m.from === from.id && m.commit >= commit);
    },
    `delivery ${from.id}→${to.id}`,
    deadlineMs,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('peer-link liveness', () => {
  it('a black-holed link is closed within the silence bound on both ends, redialled, and carries messages again soon after the path is back', async () => {
    const { n1, n2, proxy12, cut, heal } = await proxiedPair();
    await delivered(n1, n2, 1, 10_000);
    await delivered(n2, n1, 1, 10_000);

    const cutAt = Date.now();
    cut();
    // While cut, nothing gets through, in either direction.
    await eventually(() => !n1.transport.connectedPeers().includes(2), "1's link to 2 closed", T.silenceMs + SLACK_MS);
    const detectedMs = Date.now() - cutAt;
    await eventually(() => !n2.transport.acceptedPeers().includes(1), "2's inbound connection from 1 closed", T.silenceMs + SLACK_MS);
    const inboundClosedMs = Date.now() - cutAt;
    await eventually(() => !n2.transport.connectedPeers().includes(1), "2's link to 1 closed", T.silenceMs + SLACK_MS);
    // Closed for silence, not for anything the peer said, and no sooner than the bound allows:
    // the last thing heard came at most one ping interval before the cut.
    expect(detectedMs).toBeGreaterThanOrEqual(T.silenceMs - T.pingIntervalMs);
    const down = n1.lines.find((l) => l.msg === 'peer link down');
    expect(String(down?.fields.cause)).toMatch(/^no answer for \d+ ms \(bound 1000 ms\)$/);
    expect(n2.lines.some((l) => l.msg === 'closed a silent peer connection' && l.fields.peer === 1)).toBe(true);

    // Redials go on while the path is cut (each is held by the proxy, then given up on).
    const dialsAtDetection = proxy12.accepted;
    await eventually(() => proxy12.accepted >= dialsAtDetection + 2, 'redial attempts during the cut', 3 * T.silenceMs + SLACK_MS);
    n1.transport.send([heartbeat(1, 2, 2)]);
    await sleep(T.pingIntervalMs);
    expect(n2.recorder.messages.some((m) => m.type === 'heartbeat' && m.commit >= 2)).toBe(false);

    const healAt = Date.now();
    heal();
    await delivered(n1, n2, 3, T.silenceMs + T.backoffCapMs + SLACK_MS);
    const flowingMs = Date.now() - healAt;
    await delivered(n2, n1, 3, T.silenceMs + T.backoffCapMs + SLACK_MS);
    const bothWaysMs = Date.now() - healAt;
    expect(flowingMs).toBeLessThanOrEqual(T.silenceMs + T.backoffCapMs + SLACK_MS);
    const up = n1.lines.filter((l) => l.msg === 'peer link up').at(-1);
    expect(up?.fields.downMs).toBeGreaterThan(0);
    expect(up?.fields.failedDials).toBeGreaterThanOrEqual(1);
    expect(String(up?.fields.cause)).toMatch(/^no answer for/);
    console.log(
      `[liveness] cut → link closed ${detectedMs} ms (inbound ${inboundClosedMs} ms; bound ${T.silenceMs} ms); ` +
        `heal → 1→2 flowing ${flowingMs} ms, both ways ${bothWaysMs} ms (cap ${T.backoffCapMs} ms); dials while cut ${proxy12.accepted - dialsAtDetection}`,
    );
  });

  it('a healthy link that carries nothing is not closed over several bounds', async () => {
    const { n1, n2 } = await proxiedPair();
    const reconnects = n1.transport.metrics.reconnects + n2.transport.metrics.reconnects;
    // Neither side sends a message: only the liveness pings cross.
    await sleep(4 * T.silenceMs);
    expect(linked(n1, n2) && linked(n2, n1)).toBe(true);
    expect(n1.transport.metrics.reconnects + n2.transport.metrics.reconnects).toBe(reconnects);
    expect([...n1.lines, ...n2.lines].filter((l) => /peer link down|silent/.test(l.msg))).toEqual([]);
    await delivered(n1, n2, 1, 10_000);
  });

  it('a process that stalls for longer than the bound does not take its healthy links for silent', async () => {
    const { n1, n2 } = await proxiedPair();
    await delivered(n1, n2, 1, 10_000);
    const reconnects = n1.transport.metrics.reconnects + n2.transport.metrics.reconnects;
    // Both nodes live in this process: block its event loop, as a long synchronous task or a GC
    // pause would. Whatever the peers sent meanwhile is unread, not missing.
    const until = Date.now() + 2.5 * T.silenceMs;
    while (Date.now() < until) {
      // busy: no timer, no socket read
    }
    await sleep(2 * T.silenceMs);
    expect(linked(n1, n2) && linked(n2, n1)).toBe(true);
    expect(n1.transport.metrics.reconnects + n2.transport.metrics.reconnects).toBe(reconnects);
    expect([...n1.lines, ...n2.lines].filter((l) => /peer link down|silent/.test(l.msg))).toEqual([]);
  });

  it('negative control: with liveness off, a black-holed link stays "open" and carries nothing', async () => {
    const { n1, n2, cut } = await proxiedPair({ linkLiveness: false });
    await delivered(n1, n2, 1, 10_000);
    cut();
    const off = linkTimings(undefined, false);
    expect(off.silenceMs).toBe(0);
    for (let k = 1; k <= 3; k++) n1.transport.send([heartbeat(1, 2, 1 + k)]);
    await sleep(3 * T.silenceMs);
    expect(n1.transport.connectedPeers()).toEqual([2]);
    expect(n2.transport.acceptedPeers()).toEqual([1]);
    expect(n2.recorder.messages.some((m) => m.type === 'heartbeat' && m.commit >= 2)).toBe(false);
    expect(n1.lines.some((l) => l.msg === 'peer link down')).toBe(false);
  });

  it('the acceptor closes an authenticated dialer that stops answering, and keeps one that answers its pings', async () => {
    const server = await startServer();
    const { logger, lines } = recordingLogger();
    const acceptor = new WsPeerTransport({
      id: 2,
      clusterId: CLUSTER,
      peers: new Map([
        [1, '127.0.0.1:1'],
        [3, '127.0.0.1:1'],
      ]),
      logger,
    });
    server.route = (req, socket, head) => acceptor.handleUpgrade(req, socket, head);
    cleanups.push(async () => {
      await acceptor.close();
      await server.close();
    });
    acceptor.start(new Recorder());
    // Dialers that complete the handshake and then send nothing: one whose ws does not answer
    // pings (a dead path as far as the acceptor can tell), one whose ws does (a dialer without
    // liveness of its own, e.g. an older version: the acceptor's pings keep it alive).
    const dialer = async (from: NodeId, autoPong: boolean): Promise<{ closed: () => boolean; ws: WebSocket }> => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/raft`, { autoPong, perMessageDeflate: false });
      let closed = false;
      let welcomed = false;
      ws.on('error', () => {});
      ws.on('close', () => (closed = true));
      ws.on('message', (data) => {
        const f = decodeFrame(data as Buffer);
        if (f.kind === 'control' && f.control.k === 'welcome') welcomed = true;
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(
        encodeControl({ k: 'hello', protocol: PROTOCOL_VERSION, clusterId: CLUSTER, from, to: 2, nonce: null, dataId: 'd', address: '' }),
      );
      await eventually(() => welcomed, `welcome for ${from}`);
      cleanups.push(async () => void ws.terminate());
      return { closed: () => closed, ws };
    };
    const mute = await dialer(1, false);
    const answering = await dialer(3, true);
    const since = Date.now();
    await eventually(() => !acceptor.acceptedPeers().includes(1), 'the mute dialer closed', T.silenceMs + SLACK_MS);
    const closedMs = Date.now() - since;
    expect(closedMs).toBeGreaterThanOrEqual(T.silenceMs - T.pingIntervalMs);
    await eventually(() => mute.closed(), 'the mute dialer sees its socket closed');
    expect(lines.find((l) => l.msg === 'closed a silent peer connection')?.fields).toMatchObject({ peer: 1, boundMs: T.silenceMs });
    await sleep(3 * T.silenceMs);
    expect(answering.closed()).toBe(false);
    expect(acceptor.acceptedPeers()).toEqual([3]);
    console.log(`[liveness] acceptor closed a mute dialer after ${closedMs} ms (bound ${T.silenceMs} ms)`);
  });
});

/** Why packets cannot be dropped here, or undefined when they can (root, and `nft` works). */
function nftUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const r = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return 'nft not available (Debian package nftables)';
  return undefined;
}

const noNft = nftUnavailable();

describe.skipIf(noNft !== undefined)(
  `peer-link liveness under real packet drops${noNft !== undefined ? ` (skipped: ${noNft})` : ''}`,
  () => {
    it('a link whose packets are dropped is closed within the bound, and back soon after the drops stop', async () => {
      const s1 = await startServer();
      const s2 = await startServer();
      const table = `raftlock_liveness_test_${process.pid}`;
      const nft = (...args: string[]): void => {
        const r = spawnSync('nft', args, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`nft ${args.join(' ')} failed: ${r.stderr}`);
      };
      const heal = (): void => void spawnSync('nft', ['delete', 'table', 'inet', table]);
      const make = (id: NodeId, peerPort: number): Node => {
        const { logger, lines } = recordingLogger();
        const transport = new WsPeerTransport({
          id,
          clusterId: CLUSTER,
          peers: new Map([[id === 1 ? 2 : 1, `127.0.0.1:${peerPort}`]]),
          logger,
        });
        return { id, transport, recorder: new Recorder(), lines };
      };
      const n1 = make(1, s2.port);
      const n2 = make(2, s1.port);
      s1.route = (req, socket, head) => n1.transport.handleUpgrade(req, socket, head);
      s2.route = (req, socket, head) => n2.transport.handleUpgrade(req, socket, head);
      cleanups.push(async () => {
        heal();
        await Promise.all([n1.transport.close(), n2.transport.close()]);
        await Promise.all([s1.close(), s2.close()]);
      });
      n1.transport.start(n1.recorder);
      n2.transport.start(n2.recorder);
      await eventually(() => linked(n1, n2) && linked(n2, n1), 'both links up');
      await delivered(n1, n2, 1, 10_000);

      // Only packets to or from these two ports are dropped: nothing else on this machine.
      const ports = `{ ${s1.port}, ${s2.port} }`;
      nft('add', 'table', 'inet', table);
      nft('add', 'chain', 'inet', table, 'in', '{ type filter hook input priority -10 ; }');
      nft('add', 'rule', 'inet', table, 'in', 'iif', 'lo', 'tcp', 'dport', ports, 'drop');
      nft('add', 'rule', 'inet', table, 'in', 'iif', 'lo', 'tcp', 'sport', ports, 'drop');
      const cutAt = Date.now();
      await eventually(() => !n1.transport.connectedPeers().includes(2), "1's link to 2 closed", T.silenceMs + SLACK_MS);
      const detectedMs = Date.now() - cutAt;
      await eventually(() => !n2.transport.acceptedPeers().includes(1), "2's inbound connection from 1 closed", T.silenceMs + SLACK_MS);
      // Dials go on while the SYNs are dropped, each given up at the connect bound.
      const reconnects = n1.transport.metrics.reconnects;
      await eventually(() => n1.transport.metrics.reconnects >= reconnects + 3, 'redials while cut', 10_000);
      heal();
      const healAt = Date.now();
      await delivered(n1, n2, 2, T.silenceMs + T.backoffCapMs + SLACK_MS);
      const flowingMs = Date.now() - healAt;
      await delivered(n2, n1, 2, T.silenceMs + T.backoffCapMs + SLACK_MS);
      const bothWaysMs = Date.now() - healAt;
      expect(detectedMs).toBeGreaterThanOrEqual(T.silenceMs - T.pingIntervalMs);
      expect(String(n1.lines.find((l) => l.msg === 'peer link down')?.fields.cause)).toMatch(/^no answer for/);
      console.log(
        `[liveness/nft] drops → link closed ${detectedMs} ms; drops end → 1→2 flowing ${flowingMs} ms, both ways ${bothWaysMs} ms`,
      );
    });
  },
);
