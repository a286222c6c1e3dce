/**
 * Real network partitions for chaos runs (Linux, root): every node in its own network namespace,
 * all joined by one bridge in the root namespace, each with a private test address
 * (10.213.K.(10+slot)/24, the bridge 10.213.K.1). Clients stay in the root namespace and reach
 * the nodes through the bridge. A cut is an nftables rule in the receiving node's namespace that
 * drops the packets, as a failed switch port does: no RST, no FIN, so TCP's own retransmission
 * and backoff are part of the test, unlike a proxy's cut (link-proxy.ts, the mode for users
 * without root).
 *
 * Everything a network creates carries its run's tag (`rlk` + 4 hex digits) in its name, and a
 * state file under /tmp/raftlock-netns records the tag with its owner's PID. {@link destroy}
 * removes the network; {@link sweepStaleNetworks} removes those whose owner died (a crash, a
 * SIGKILL), so nothing outlives a run for long. Only names carrying a tag are ever touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

/** Where each network records its tag and owner, to be swept after a crash. */
const STATE_DIR = '/tmp/raftlock-netns';
/** Every name this module creates starts with this. */
const PREFIX = 'rlk';
/** The nftables table each namespace's cuts live in. */
const TABLE = 'raftlock_chaos';

/** Why a network cannot be made here, or undefined when it can (root, `ip` and `nft` present). */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces and nftables need root (run as root, or use --network proxy)';
  for (const [tool, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
  ] as const) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).status !== 0)
      return `\`${tool}\` is missing: install Debian's ${pkg} package (apt-get install ${pkg}), or use --network proxy`;
  }
  return undefined;
}

function run(cmd: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(cmd, [...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Runs `cmd` and ignores a failure (cleanup of what may already be gone). */
function tryRun(cmd: string, args: readonly string[]): void {
  spawnSync(cmd, [...args], { stdio: 'ignore' });
}

interface State {
  readonly tag: string;
  readonly owner: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes every network whose owner process is gone. Returns the tags removed. */
export function sweepStaleNetworks(): string[] {
  let files: string[];
  try {
    files = readdirSync(STATE_DIR);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const f of files) {
    let state: State;
    try {
      state = JSON.parse(readFileSync(join(STATE_DIR, f), 'utf8')) as State;
    } catch {
      continue;
    }
    if (!new RegExp(`^${PREFIX}[0-9a-f]{4}$`).test(state.tag) || alive(state.owner)) continue;
    removeTagged(state.tag);
    rmSync(join(STATE_DIR, f), { force: true });
    removed.push(state.tag);
  }
  return removed;
}

/**
 * Deletes the namespaces, the veth pairs and the bridge carrying `tag`. The veths are deleted
 * explicitly: a namespace outlives its name and its processes while a socket of a killed node
 * still retransmits into a cut (an orphaned TCP connection holds its namespace for minutes), and
 * its veth pair, visible in the root namespace, with it. Lifting the cuts first lets such
 * connections end at once.
 */
function removeTagged(tag: string): void {
  const namespaces = run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${tag}-`));
  for (const ns of namespaces) tryRun('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', TABLE]);
  for (const link of run('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((l) => (l.split(':')[1] ?? '').trim().split('@')[0] ?? '')
    .filter((n) => n.startsWith(`${tag}v`)))
    tryRun('ip', ['link', 'del', link]);
  for (const ns of namespaces) tryRun('ip', ['netns', 'del', ns]);
  tryRun('ip', ['link', 'del', `${tag}br`]);
}

/** A network of namespaces, one per node slot (see the file's comment). */
export class NetnsNetwork {
  /** Directed cuts in force: `from→to`. */
  private readonly cuts = new Set<string>();
  private destroyed = false;

  private constructor(
    readonly tag: string,
    /** The third octet of this network's 10.213.K.0/24. */
    private readonly subnet: number,
    readonly slots: readonly number[],
  ) {}

  /**
   * Makes the bridge and one namespace per slot (1..245), checks that each namespace reaches
   * the bridge, and records the network for {@link sweepStaleNetworks}. Sweeps stale networks
   * first. Throws, leaving nothing behind, when any step fails.
   */
  static async create(slots: readonly number[]): Promise<NetnsNetwork> {
    const why = netnsUnavailable();
    if (why !== undefined) throw new Error(why);
    for (const s of slots) if (!Number.isInteger(s) || s < 1 || s > 245) throw new RangeError(`slot ${s}: expected 1..245`);
    sweepStaleNetworks();
    const tag = `${PREFIX}${randomBytes(2).toString('hex')}`;
    const net = new NetnsNetwork(tag, freeSubnet(), [...slots]);
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(join(STATE_DIR, `${tag}.json`), JSON.stringify({ tag, owner: process.pid } satisfies State));
    try {
      net.build();
      await net.checkReachable();
    } catch (err) {
      net.destroy();
      throw err;
    }
    return net;
  }

  /** The namespace of `slot`. */
  namespace(slot: number): string {
    return `${this.tag}-n${slot}`;
  }

  /** The address of `slot` (the bridge is `.1`). */
  address(slot: number): string {
    return `10.213.${this.subnet}.${10 + slot}`;
  }

  /** The bridge's own address: what clients in the root namespace come from. */
  get hostAddress(): string {
    return `10.213.${this.subnet}.1`;
  }

  /** `command args` run inside `slot`'s namespace (`ip netns exec` execs it: the PID is the command's). */
  wrap(slot: number, command: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: 'ip', args: ['netns', 'exec', this.namespace(slot), command, ...args] };
  }

  private build(): void {
    const bridge = `${this.tag}br`;
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${this.hostAddress}/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    for (const slot of this.slots) {
      const ns = this.namespace(slot);
      const outside = `${this.tag}v${slot}`;
      const inside = `${this.tag}p${slot}`;
      run('ip', ['netns', 'add', ns]);
      run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      run('ip', ['link', 'set', inside, 'netns', ns]);
      run('ip', ['link', 'set', outside, 'master', bridge]);
      run('ip', ['link', 'set', outside, 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', ns, 'link', 'set', inside, 'name', 'eth0']);
      run('ip', ['-n', ns, 'addr', 'add', `${this.address(slot)}/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      // One table per namespace, with input and output chains the cuts are added to.
      run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], nftBase());
    }
  }

  /**
   * Checks that every namespace reaches the bridge: a TCP connection from each to a listener on
   * the bridge's address (the kernel completes it; nothing needs to answer).
   */
  private async checkReachable(): Promise<void> {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.hostAddress, () => resolve());
    });
    try {
      const port = (server.address() as AddressInfo).port;
      for (const slot of this.slots) {
        const script = `const s=require('net').connect(${port},${JSON.stringify(this.hostAddress)},()=>{console.log('ok');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},2000)`;
        const r = spawnSync('ip', ['netns', 'exec', this.namespace(slot), process.execPath, '-e', script], { encoding: 'utf8' });
        const got = (r.stdout ?? '').trim();
        if (got !== 'ok') {
          throw new Error(
            `namespace ${this.namespace(slot)} cannot reach the bridge at ${this.hostAddress} (${got || (r.stderr ?? '').trim() || 'no answer'}): is bridged traffic dropped by a firewall (br_netfilter with a FORWARD DROP policy, as Docker sets)? Use --network proxy`,
          );
        }
      }
    } finally {
      server.close();
    }
  }

  /** Drops every packet `from` sends to `to` (a one-way cut; TCP connections then stall both ways). */
  block(from: number, to: number): void {
    this.dropInto(to, this.address(from), `${from}→${to}`);
  }

  /** Cuts every link between the sides, both ways. */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const x of a)
      for (const y of b) {
        this.block(x, y);
        this.block(y, x);
      }
  }

  /** Cuts `slot` off from clients in the root namespace (both ways: their packets never arrive). */
  isolateFromClients(slot: number): void {
    this.dropInto(slot, this.hostAddress, `host→${slot}`);
  }

  /** Adds the rule dropping what `source` sends into `slot`'s namespace, once per cut `key`. */
  private dropInto(slot: number, source: string, key: string): void {
    if (this.cuts.has(key)) return;
    const rule = ['add', 'rule', 'inet', TABLE, 'input', 'ip', 'saddr', source, 'drop'];
    run('ip', ['netns', 'exec', this.namespace(slot), 'nft', ...rule]);
    this.cuts.add(key);
  }

  /** Removes every cut. */
  heal(): void {
    if (this.cuts.size === 0) return;
    for (const slot of this.slots) run('ip', ['netns', 'exec', this.namespace(slot), 'nft', 'flush', 'chain', 'inet', TABLE, 'input']);
    this.cuts.clear();
  }

  /** The cuts in force, `from→to` (for reports and tests). */
  get activeCuts(): string[] {
    return [...this.cuts].sort();
  }

  /** Removes the namespaces, the bridge and the state file. Idempotent; never throws. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    removeTagged(this.tag);
    rmSync(join(STATE_DIR, `${this.tag}.json`), { force: true });
  }
}

/** A 10.213.K.0/24 no interface of this machine is on. */
function freeSubnet(): number {
  const used = run('ip', ['-4', '-o', 'addr', 'show']);
  for (let tries = 0; tries < 64; tries++) {
    const k = 1 + ((randomBytes(1)[0] ?? 0) % 250);
    if (!used.includes(`10.213.${k}.`)) return k;
  }
  throw new Error('no free 10.213.K.0/24 subnet for the test network');
}

function nftBase(): string {
  return [
    `table inet ${TABLE} {`,
    '  chain input { type filter hook input priority 0; policy accept; }',
    '  chain output { type filter hook output priority 0; policy accept; }',
    '}',
    '',
  ].join('\n');
}
