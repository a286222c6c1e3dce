/** The LevelDB log against the shared DurableLog contract, each case in a fresh temp directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { DurableLog } from '../../src/storage/durable-log.js';
import { LevelDurableLog } from '../../src/storage/level-durable-log.js';
import { durableLogContract } from './durable-log.contract.js';

const dirs: string[] = [];
const opts = { clusterId: 'contract', nodeId: 1 };

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

durableLogContract('LevelDurableLog', {
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'raftlock-level-contract-'));
    dirs.push(dir);
    return LevelDurableLog.open({ path: join(dir, 'node-1'), ...opts });
  },
  async reopen(log: DurableLog) {
    if (!(log instanceof LevelDurableLog)) throw new Error('not a LevelDurableLog');
    await log.close();
    return LevelDurableLog.open({ path: log.path, ...opts });
  },
});
