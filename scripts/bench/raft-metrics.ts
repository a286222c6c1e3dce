/**
 * What the raftlock leader did during a row, from its `GET /metrics`: synced log writes per
 * second, their mean latency, entries per write (group commit) and proposals. Printed beside
 * each raftlock row (stderr) to explain its throughput.
 */
import type { ProcessCluster } from '../lib/cluster.js';

interface Sample {
  readonly t: number;
  readonly address: string;
  readonly fsyncs: number;
  readonly fsyncSeconds: number;
  readonly entries: number;
  readonly proposals: number;
  readonly readies: number;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

/** A sample of the leader's counters, or undefined when no leader answers. */
export async function sampleLeader(cluster: ProcessCluster): Promise<Sample | undefined> {
  for (const id of cluster.ids) {
    const address = cluster.address(id);
    try {
      const text = (await cluster.metrics(id, 2_000)) ?? '';
      if (metric(text, 'raftlock_role{role="leader"}') !== 1) continue;
      return {
        t: performance.now(),
        address,
        fsyncs: metric(text, 'raftlock_fsync_seconds_count'),
        fsyncSeconds: metric(text, 'raftlock_fsync_seconds_sum'),
        entries: metric(text, 'raftlock_entries_persisted_total'),
        proposals: metric(text, 'raftlock_proposals_total'),
        readies: metric(text, 'raftlock_readies_total'),
      };
    } catch {
      // not answering: try the next one
    }
  }
  return undefined;
}

/** `leader: 712 fsync/s (mean 1.10 ms), 11.2 entries/fsync, 7,980 proposals/s`. */
export function describeDelta(a: Sample | undefined, b: Sample | undefined): string {
  if (a === undefined || b === undefined || a.address !== b.address) return 'leader metrics unavailable (leader changed?)';
  const secs = (b.t - a.t) / 1000;
  const fsyncs = b.fsyncs - a.fsyncs;
  const mean = fsyncs > 0 ? ((b.fsyncSeconds - a.fsyncSeconds) / fsyncs) * 1000 : NaN;
  return `leader ${a.address}: ${Math.round(fsyncs / secs)} fsync/s (mean ${mean.toFixed(2)} ms), ${(fsyncs > 0 ? (b.entries - a.entries) / fsyncs : 0).toFixed(1)} entries/fsync, ${Math.round((b.proposals - a.proposals) / secs)} proposals/s, ${Math.round((b.readies - a.readies) / secs)} readies/s`;
}
