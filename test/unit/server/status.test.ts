/**
 * The /status document: the digest is always the digest of the state at the reported `applied`,
 * even while the core has handed out entries the host has not applied yet (it applies them only
 * once durable here). It is the state machine's own digest, kept up to date by every apply
 * (docs/design.md#the-state-digest): /status never encodes or hashes the state.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { Status } from '../../../src/raft/index.js';
import { validateConfig } from '../../../src/server/index.js';
import { MemberDirectory } from '../../../src/server/members.js';
import { statusReporter } from '../../../src/server/node.js';
import { encodeEntry } from '../../../src/state-machine/codec.js';
import { digestOfState } from '../../../src/state-machine/digest.js';
import { LockMachine } from '../../../src/state-machine/lock-machine.js';
import { decodeSnapshot } from '../../../src/state-machine/snapshot.js';
import { TEST_SECRET } from '../../support/secrets.js';

const config = validateConfig(
  { clusterId: 'c', nodes: [{ id: 1, address: '127.0.0.1:7101' }], dataDir: '/tmp/unused' },
  { baseDir: '/tmp' },
);
const directory = new MemberDirectory(1, new Map([[1, '127.0.0.1:7101']]));

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
    config: { voters: [1], learners: [] },
    configIndex: 0,
    progress: [],
  };
}

/** A stand-in for the machine's digest of a state (32 hex digits). */
const digestOf = (state: string): string => createHash('sha256').update(state).digest('hex').slice(0, 32);

describe('/status', () => {
  it("reports the state machine's applied index and the digest of exactly that state", () => {
    // The core has handed out entries up to 10; the host has applied up to 8 (9 and 10 wait
    // for their write). The machine's state is "state@8".
    let hostApplied = 8;
    let coreApplied = 10;
    let reads = 0;
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
        digest: () => {
          reads++;
          return digestOf(`state@${hostApplied}`);
        },
      },
      directory,
      address: () => '127.0.0.1:7101',
    });
    expect(status()).toMatchObject({ applied: 8, digest: digestOf('state@8').slice(0, 16) });
    // Entries 9 and 10 become durable and are applied: the digest follows.
    hostApplied = 10;
    expect(status()).toMatchObject({ applied: 10, digest: digestOf('state@10').slice(0, 16) });
    coreApplied = 12;
    expect(status()).toMatchObject({ applied: 10, digest: digestOf('state@10').slice(0, 16) });
    expect(reads).toBe(3); // read on every poll: it costs O(1), there is nothing to cache
  });

  it("shows the first 16 hex digits of the machine's digest, that of its state at applied, without a snapshot", () => {
    const m = new LockMachine();
    const snapshot = vi.spyOn(m, 'snapshot');
    const host = {
      status: (): Status => coreStatus(m.appliedIndex + 2),
      get appliedIndex(): number {
        return m.appliedIndex;
      },
    };
    const status = statusReporter({ id: 1, config, host, machine: m, directory, address: () => '127.0.0.1:7101' });
    const apply = (index: number, data: Uint8Array): void => {
      m.apply({ index, term: 1, type: 'normal', data }, { index, term: 1 });
    };
    const seen = new Set<string>();
    apply(1, encodeEntry(1_000, { type: 'open-session', secret: TEST_SECRET, ttlMs: 10_000 }));
    for (let index = 2; index <= 6; index++) {
      const st = status();
      expect(st.digest).toBe(m.digest().slice(0, 16));
      expect(st.applied).toBe(index - 1);
      seen.add(st.digest);
      apply(index, encodeEntry(1_000 + index, { type: 'counter-add', session: 1, seq: index, name: `c${index % 2}`, delta: index }));
    }
    expect(seen.size).toBe(5); // the state changed at every index, and so did the digest
    expect(snapshot).not.toHaveBeenCalled();
    expect(status().digest).toBe(digestOfState(decodeSnapshot(m.snapshot())).slice(0, 16));
  });
});
