/** Simulated register clients and the linearizability check of their history. */
/**
 * Simulated clients: each issues one register operation at a time (read or write of one of a
 * few keys) to the node it believes leads, follows NOT_LEADER hints, and records every
 * operation (call time, return time, outcome) for the linearizability check at the end.
 */
import { checkRegisterHistory } from './register-check.js';
import { encodeWrite } from './kv-state-machine.js';
import type { World } from './world.js';
import type { NodeId } from './sim-types.js';

/** One recorded operation. `unknown`: may or may not have taken effect (return = +∞). */
export interface RegisterOp {
  readonly client: number;
  readonly key: string;
  readonly kind: 'write' | 'read';
  /** Written value, or the value a successful read returned (null = never written). */
  value: number | null;
  readonly call: number;
  ret: number;
  status: 'pending' | 'ok' | 'fail' | 'unknown';
}

const KEYS = ['a', 'b', 'c'];

export class SimClients {
  readonly history: RegisterOp[] = [];
  private issuing = true;
  private nextValue = 1;
  private readonly leaderGuess: NodeId[] = [];

  constructor(
    private readonly world: World,
    private readonly count: number,
  ) {}

  start(): void {
    for (let c = 0; c < this.count; c++) {
      this.leaderGuess.push(1 + this.world.rnd.nextInt(this.world.nodes.length));
      this.scheduleNext(c);
    }
  }

  stopIssuing(): void {
    this.issuing = false;
  }

  pending(): number {
    let n = 0;
    for (const op of this.history) if (op.status === 'pending') n++;
    return n;
  }

  private scheduleNext(client: number): void {
    if (!this.issuing) return;
    const w = this.world;
    w.schedule(w.now + 1 + w.rnd.nextFloat() * 30, `client ${client}`, () => this.issue(client));
  }

  private issue(client: number): void {
    if (!this.issuing) return;
    const w = this.world;
    const key = KEYS[w.rnd.nextInt(KEYS.length)] ?? 'a';
    const target = w.node(this.leaderGuess[client] ?? 1);
    const isWrite = w.rnd.nextFloat() < 0.6;
    const op: RegisterOp = {
      client,
      key,
      kind: isWrite ? 'write' : 'read',
      value: isWrite ? this.nextValue++ : null,
      call: w.now,
      ret: Number.POSITIVE_INFINITY,
      status: 'pending',
    };
    this.history.push(op);
    const finish = (status: 'ok' | 'fail' | 'unknown', leaderHint?: NodeId): void => {
      if (op.status !== 'pending') throw new Error('client operation completed twice');
      op.status = status;
      op.ret = status === 'unknown' ? Number.POSITIVE_INFINITY : w.now;
      if (status !== 'ok') {
        this.leaderGuess[client] = leaderHint !== undefined && leaderHint !== 0 ? leaderHint : 1 + w.rnd.nextInt(w.nodes.length);
      }
      this.scheduleNext(client);
    };
    if (!target.up) {
      finish('fail'); // connection refused: nothing was sent
      return;
    }
    // The request travels to the node (and waits there if it is paused).
    w.scheduleOn(target, w.now + 0.5, `request ${client}>${target.id}`, () => {
      if (isWrite) {
        const value = op.value ?? 0;
        target.host.propose(encodeWrite({ k: key, v: value }), (o) => {
          if (o.type === 'applied') {
            w.checker.onAcknowledged(o.index, o.term, `write ${key}=${value}`);
            finish('ok');
          } else if (o.type === 'failed') finish('fail', o.leader);
          else finish('unknown');
        });
      } else {
        target.host.read((o) => {
          if (o.type === 'ready') {
            op.value = target.sm.get(key);
            finish('ok');
          } else finish('fail', o.leader);
        });
      }
    });
    // A crash before the request reached the host means it never took effect. (Requests the
    // host holds are answered by its stop(), which runs first: writes then become unknown.)
    target.onCrash.push(() => {
      if (op.status === 'pending') finish('fail');
    });
  }

  /** Linearizability of the register history, per key. Returns violations. */
  checkHistory(): string[] {
    return checkRegisterHistory(this.history);
  }
}
