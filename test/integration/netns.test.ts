/**
 * The namespace network of chaos runs (scripts/lib/netns.ts), as root: nodes' namespaces reach
 * each other and the root namespace through the bridge; a cut drops packets (a connection
 * attempt times out, it is not refused) in the direction cut only; heal restores everything;
 * destroy and the stale sweep leave no namespace, bridge or state file behind. Skipped, with the
 * reason, where namespaces are not available (not root, or `nft` missing): `.ci/run` runs as
 * root and installs nftables.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NetnsNetwork, netnsUnavailable, sweepStaleNetworks } from '../../scripts/lib/netns.js';
import { waitFor } from '../../scripts/lib/wait.js';

const unavailable = netnsUnavailable();
const PORT = 7391;

const made: NetnsNetwork[] = [];
const servers: ChildProcess[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.kill('SIGKILL');
  for (const n of made.splice(0)) n.destroy();
});

/** A TCP server inside `slot`'s namespace that answers every connection with "hi". */
async function serveIn(net: NetnsNetwork, slot: number): Promise<void> {
  const script = `require('net').createServer((s) => s.end('hi')).listen(${PORT}, ${JSON.stringify(net.address(slot))}, () => console.log('up'))`;
  const { command, args } = net.wrap(slot, process.execPath, ['-e', script]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(`server in slot ${slot}`, () => out.includes('up'), 10_000);
}

/** Connects from the root namespace: 'hi', 'refused', or 'timeout' after `ms`. */
function dialFromHost(address: string, ms = 1_500): Promise<string> {
  return new Promise((resolve) => {
    const s = createConnection({ host: address, port: PORT });
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, ms);
    s.on('data', (d) => (data += d.toString()));
    s.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : String(err.code));
    });
  });
}

/** The same, from inside `slot`'s namespace. */
function dialFrom(net: NetnsNetwork, slot: number, address: string): string {
  const script = `const s=require('net').createConnection({host:${JSON.stringify(address)},port:${PORT}});let d='';const t=setTimeout(()=>{console.log('timeout');process.exit(0)},1500);s.on('data',x=>d+=x);s.on('end',()=>{clearTimeout(t);console.log(d)});s.on('error',e=>{clearTimeout(t);console.log(e.code==='ECONNREFUSED'?'refused':e.code)})`;
  const { command, args } = net.wrap(slot, process.execPath, ['-e', script]);
  return spawnSync(command, args, { encoding: 'utf8' }).stdout.trim();
}

const namespaces = (): string => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

describe.skipIf(unavailable !== undefined)(`network namespaces${unavailable !== undefined ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('nodes reach each other and the host; a cut drops one direction; heal restores it', async () => {
    const net = await NetnsNetwork.create([1, 2, 3]);
    made.push(net);
    await serveIn(net, 1);
    expect(await dialFromHost(net.address(1))).toBe('hi');
    expect(dialFrom(net, 2, net.address(1))).toBe('hi');
    // Nothing listens on slot 3's port: refused, not dropped (the negative of a cut).
    expect(dialFrom(net, 2, net.address(3))).toBe('refused');

    net.block(2, 1);
    expect(net.activeCuts).toEqual(['2→1']);
    expect(dialFrom(net, 2, net.address(1))).toBe('timeout'); // dropped, as by a switch
    expect(dialFrom(net, 3, net.address(1))).toBe('hi');
    expect(await dialFromHost(net.address(1))).toBe('hi');

    net.partition([1], [3]);
    expect(dialFrom(net, 3, net.address(1))).toBe('timeout');
    net.isolateFromClients(1);
    expect(await dialFromHost(net.address(1))).toBe('timeout');

    net.heal();
    expect(net.activeCuts).toEqual([]);
    expect(dialFrom(net, 2, net.address(1))).toBe('hi');
    expect(dialFrom(net, 3, net.address(1))).toBe('hi');
    expect(await dialFromHost(net.address(1))).toBe('hi');
  }, 60_000);

  it('destroy leaves nothing; a network whose owner died is swept', async () => {
    const net = await NetnsNetwork.create([1, 2]);
    expect(namespaces()).toContain(net.namespace(1));
    net.destroy();
    expect(namespaces()).not.toContain(net.tag);
    expect(spawnSync('ip', ['link', 'show', `${net.tag}br`]).status).not.toBe(0);

    const orphan = await NetnsNetwork.create([1]);
    made.push(orphan);
    const stateFile = `/tmp/raftlock-netns/${orphan.tag}.json`;
    expect(existsSync(stateFile)).toBe(true);
    // Its owner "died": a PID that no process has (beyond pid_max).
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { tag: string; owner: number };
    writeFileSync(stateFile, JSON.stringify({ ...state, owner: 4_194_305 }));
    expect(sweepStaleNetworks()).toContain(orphan.tag);
    expect(namespaces()).not.toContain(orphan.tag);
    expect(existsSync(stateFile)).toBe(false);
  }, 60_000);
});
