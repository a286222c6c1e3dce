/**
 * The fenced resource of the lock workload: something a lock holder writes to, that remembers
 * the highest fencing token it accepted per lock and rejects any lower one, which is what
 * fencing tokens are for: a holder whose lease ran out while it was paused cannot overwrite
 * its successor's writes. With fencing off (`--no-fencing`, the negative control) it accepts
 * every write, and {@link checkResource} must then find the stale writes a paused holder makes.
 */
import type { Anomaly, HistoryOp, ResourceWrite } from '../lib/chaos/types.js';

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
      .filter((op) => op.key === lock && op.input.op === 'acquire' && (op.output as { token?: number } | undefined)?.token === token)
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
        message: `at ${(w.time / 1000).toFixed(3)}s ${w.client} wrote to the resource under ${w.lock} token ${w.token} after ${h.client} had written with token ${h.token}: two holders at once, the stale one not fenced off`,
        ops: [...grantOf(w.lock, w.token), ...grantOf(w.lock, h.token)],
      });
    }
    if (h === undefined || w.token > h.token) highest.set(w.lock, { token: w.token, client: w.client });
  }
  return anomalies;
}
