/**
 * The fenced resource of the lock workload: something a lock holder writes to, that remembers
 * the highest fencing token it accepted per lock and rejects any lower one, which is what
 * fencing tokens are for: a holder whose lease ran out while it was paused cannot overwrite
 * its successor's writes. With fencing off (`--no-fencing`, the negative control) it accepts
 * every write, and {@link checkResource} must then find the stale writes a paused holder makes.
 */
import type { Anomaly, HistoryOp, ResourceWrite, RwResourceUse } from '../lib/chaos/types.js';

export class FencedResource {
  readonly log: ResourceWrite[] = [];
  private readonly highest = new Map<string, number>();

  constructor(private readonly fencing: boolean) {}

  /** A write by `client` holding `lock` with `token`; returns whether it was accepted. */
  write(time: number, lock: string, client: string, token: number): boolean {
    const highest = this.highest.get(lock) ?? 0;
    const accepted = !this.fencing || token >= highest;
    if (accepted && token > highest) this.highest.set(lock, token);
    this.log.push({ time, lock, client, token, accepted, highest });
    return accepted;
  }
}

/**
 * What the resource's log must show: no write accepted under a token lower than one already
 * accepted for the same lock (a stale holder got through), and no token used by two clients
 * (two grants with one token). Each anomaly names the grants involved (acquire operations).
 */
export function checkResource(log: readonly ResourceWrite[], history: readonly HistoryOp[]): Anomaly[] {
  const grantOf = (lock: string, token: number): number[] =>
    history
      .filter(
        (op) =>
          op.kind === 'lock' &&
          op.key === lock &&
          op.input.op === 'acquire' &&
          (op.output as { token?: number } | undefined)?.token === token,
      )
      .map((op) => op.id);
  const anomalies: Anomaly[] = [];
  const highest = new Map<string, { token: number; client: string }>();
  const owner = new Map<string, string>();
  for (const w of log) {
    if (!w.accepted) continue;
    const k = `${w.lock}#${w.token}`;
    const o = owner.get(k);
    if (o !== undefined && o !== w.client) {
      anomalies.push({
        kind: 'stale-write',
        key: w.lock,
        workload: 'locks',
        message: `token ${w.token} of ${w.lock} was used by two clients (${o} and ${w.client})`,
        ops: grantOf(w.lock, w.token),
      });
    }
    owner.set(k, w.client);
    const h = highest.get(w.lock);
    if (h !== undefined && w.token < h.token) {
      anomalies.push({
        kind: 'stale-write',
        key: w.lock,
        workload: 'locks',
        message: `at ${(w.time / 1000).toFixed(3)}s ${w.client} wrote to the resource under ${w.lock} token ${w.token} after ${h.client} had written with token ${h.token}: two holders at once, the stale one not fenced off`,
        ops: [...grantOf(w.lock, w.token), ...grantOf(w.lock, h.token)],
      });
    }
    if (h === undefined || w.token > h.token) highest.set(w.lock, { token: w.token, client: w.client });
  }
  return anomalies;
}

/**
 * The resource of the rwlocks workload: something readers read and writers write, guarded by a
 * readers-writer lock per name, that checks tokens by the rule of
 * docs/design.md#semaphores-and-readers-writer-locks ("Fencing shared holders"): per lock it
 * remembers `W`, the highest token a write came with, and `T`, the highest token anything came
 * with, and accepts a write with token `t` only if `t >= T`, a read only if `t > W`. So a
 * writer whose lock was lost is refused once any later grant has used the resource, and a
 * reader whose lock was lost once a later writer has. With fencing off (`--no-fencing`) it
 * accepts everything, and {@link checkRwResource} must find the stale uses.
 */
export class RwResource {
  readonly log: RwResourceUse[] = [];
  private readonly seen = new Map<string, { w: number; t: number }>();

  constructor(private readonly fencing: boolean) {}

  /** A read or write by `client` holding `lock` with `token`; returns whether it was accepted. */
  use(time: number, lock: string, client: string, mode: 'read' | 'write', token: number): boolean {
    const s = this.seen.get(lock) ?? { w: 0, t: 0 };
    const fits = mode === 'write' ? token >= s.t : token > s.w;
    const accepted = !this.fencing || fits;
    this.log.push({ time, lock, client, mode, token, accepted, highestWrite: s.w, highest: s.t });
    if (accepted) this.seen.set(lock, { w: mode === 'write' ? Math.max(s.w, token) : s.w, t: Math.max(s.t, token) });
    return accepted;
  }
}

/**
 * What the readers-writer resource's log must show, per lock, over the uses it accepted: no
 * write under a token below one already accepted (`stale-write`: a writer that had lost its
 * lock wrote after a later holder), no read under a token below an accepted write's
 * (`stale-read`: a reader that had lost its lock read after a later writer), and no token used
 * for writes by two clients (`stale-write`: two write grants with one token). Each anomaly names
 * the grants involved (acquire operations of the rwlock history).
 */
export function checkRwResource(log: readonly RwResourceUse[], history: readonly HistoryOp[]): Anomaly[] {
  const grantOf = (lock: string, token: number): number[] =>
    history
      .filter(
        (op) =>
          op.kind === 'rwlock' &&
          op.key === lock &&
          op.input.op === 'acquire' &&
          (op.output as { token?: number } | undefined)?.token === token,
      )
      .map((op) => op.id);
  const anomalies: Anomaly[] = [];
  const highest = new Map<string, { token: number; client: string; mode: 'read' | 'write' }>();
  const highestWrite = new Map<string, { token: number; client: string }>();
  const writer = new Map<string, string>();
  const at = (time: number): string => `at ${(time / 1000).toFixed(3)}s`;
  for (const u of log) {
    if (!u.accepted) continue;
    if (u.mode === 'write') {
      const k = `${u.lock}#${u.token}`;
      const o = writer.get(k);
      if (o !== undefined && o !== u.client) {
        anomalies.push({
          kind: 'stale-write',
          key: u.lock,
          workload: 'rwlocks',
          message: `write token ${u.token} of ${u.lock} was used by two clients (${o} and ${u.client}): two write grants with one token`,
          ops: grantOf(u.lock, u.token),
        });
      }
      writer.set(k, u.client);
      const h = highest.get(u.lock);
      if (h !== undefined && u.token < h.token) {
        anomalies.push({
          kind: 'stale-write',
          key: u.lock,
          workload: 'rwlocks',
          message: `${at(u.time)} ${u.client} wrote to the resource under ${u.lock} write token ${u.token} after ${h.client} had ${h.mode === 'write' ? 'written' : 'read'} with token ${h.token}: a writer that had lost its lock, not fenced off`,
          ops: [...grantOf(u.lock, u.token), ...grantOf(u.lock, h.token)],
        });
      }
      const hw = highestWrite.get(u.lock);
      if (hw === undefined || u.token > hw.token) highestWrite.set(u.lock, { token: u.token, client: u.client });
    } else {
      const hw = highestWrite.get(u.lock);
      if (hw !== undefined && u.token < hw.token) {
        anomalies.push({
          kind: 'stale-read',
          key: u.lock,
          workload: 'rwlocks',
          message: `${at(u.time)} ${u.client} read the resource under ${u.lock} read token ${u.token} after ${hw.client} had written with token ${hw.token}: a reader that had lost its lock, not fenced off`,
          ops: [...grantOf(u.lock, u.token), ...grantOf(u.lock, hw.token)],
        });
      }
    }
    const h = highest.get(u.lock);
    if (h === undefined || u.token > h.token) highest.set(u.lock, { token: u.token, client: u.client, mode: u.mode });
  }
  return anomalies;
}
