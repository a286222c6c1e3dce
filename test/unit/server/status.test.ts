/**
 * The /status document: the digest is always the digest of the state at the reported `applied`,
 * even while the core has handed out entries the host has not applied yet (it applies them only
 * once durable here), and it is computed once per applied index.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Status } from '../../../src/raft/index.js';
import { validateConfig } from '../../../src/server/index.js';
import { statusReporter } from '../../../src/server/node.js';

const config = validateConfig(
  { clusterId: 'c', nodes: [{ id: 1, address: '127.0.0.1:7101' }], dataDir: '/tmp/unused' },
  { baseDir: '/tmp' },
);

function coreStatus(applied: number): Status {
  return {
    id: 1,
    role: 'leader',
    term: 2,
    vote: 1,
    leader: 1,
    commit: applied,
    applied,
    firstIndex: 1,
    lastIndex: applied,
    leadTransferee: 0,
    progress: [],
  };
}

const digestOf = (state: string): string => createHash('sha256').update(state).digest('hex').slice(0, 16);

describe('/status', () => {
  it("reports the state machine's applied index and the digest of exactly that state", () => {
    // The core has handed out entries up to 10; the host has applied up to 8 (9 and 10 wait
    // for their write). The machine's state is "state@8".
    let hostApplied = 8;
    let coreApplied = 10;
    let snapshots = 0;
    const host = {
      status: (): Status => coreStatus(coreApplied),
      get appliedIndex(): number {
        return hostApplied;
      },
    };
    const status = statusReporter({
      id: 1,
      config,
      host,
      machine: {
        snapshot: () => {
          snapshots++;
          return new TextEncoder().encode(`state@${hostApplied}`);
        },
      },
      addressOf: () => '127.0.0.1:7101',
      address: () => '127.0.0.1:7101',
    });
    expect(status()).toMatchObject({ applied: 8, digest: digestOf('state@8') });
    // Entries 9 and 10 become durable and are applied: the digest follows.
    hostApplied = 10;
    expect(status()).toMatchObject({ applied: 10, digest: digestOf('state@10') });
    coreApplied = 12;
    expect(status()).toMatchObject({ applied: 10, digest: digestOf('state@10') });
    expect(snapshots).toBe(2); // once per applied index, not per poll
  });
});
