/**
 * Cluster configuration files (docs/operations.md#configuration-file): defaults, and refusals
 * that name the key.
 */
import { describe, expect, it } from 'vitest';
import { loadConfigFile, validateConfig, ConfigError } from '../../../src/server/config.js';

const HASH = 'sha256:abababababababababababababababababababababababababababababababab';
const HASH2 = 'sha256:' + 'cd'.repeat(32);

const base = {
  clusterId: 'local-3',
  nodes: [
    { id: 1, address: '127.0.0.1:7101' },
    { id: 2, address: '127.0.0.1:7102' },
    { id: 3, address: '127.0.0.1:7103' },
  ],
  dataDir: 'data/local-3',
};

function refusal(raw: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    validateConfig(raw, { baseDir: '/work', env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

describe('cluster configuration', () => {
  it('the shipped configurations load, with defaults filled in', () => {
    for (const name of ['three-node', 'five-node']) {
      const c = loadConfigFile(new URL(`../../../cluster-configs/${name}.json`, import.meta.url).pathname, { cwd: '/srv', env: {} });
      expect(c.nodes.length).toBe(name === 'three-node' ? 3 : 5);
      expect(c.dataDir.startsWith('/srv/data/')).toBe(true);
      expect(c).toMatchObject({ tickMs: 50, electionTicks: 10, heartbeatTicks: 1, snapshotEvery: 10_000 });
      expect(c.limits.maxPeerFrameBytes).toBe(16 * 1024 * 1024);
    }
  });

  it('relative dataDir resolves against the base directory', () => {
    expect(validateConfig(base, { baseDir: '/work' }).dataDir).toBe('/work/data/local-3');
  });

  it.each([
    [{ ...base, tickMS: 50 }, 'tickMS', /unknown key/],
    [{ ...base, clusterId: '' }, 'clusterId', /1-64/],
    [{ ...base, nodes: [] }, 'nodes', /1 to 9/],
    [{ ...base, nodes: [{ id: 1, address: 'localhost' }] }, 'nodes[0].address', /host:port/],
    [{ ...base, nodes: [{ id: 1, address: '127.0.0.1:70000' }] }, 'nodes[0].address', /65535/],
    [{ ...base, nodes: [{ id: 0, address: '127.0.0.1:1' }] }, 'nodes[0].id', /integer/],
    [{ ...base, nodes: [{ id: 1, address: '127.0.0.1:1', port: 3 }] }, 'nodes[0].port', /unknown key/],
    [{ ...base, nodes: [...base.nodes, { id: 1, address: '127.0.0.1:9' }] }, 'nodes[3].id', /duplicate/],
    [{ ...base, nodes: [...base.nodes, { id: 4, address: '127.0.0.1:7101' }] }, 'nodes[3].address', /duplicate/],
    [{ ...base, dataDir: 3 }, 'dataDir', /path/],
    [{ ...base, tickMs: 0 }, 'tickMs', /integer/],
    [{ ...base, electionTicks: 2, heartbeatTicks: 2 }, 'heartbeatTicks', /less than/],
    [{ ...base, secret: 'short' }, 'secret', /16/],
    [{ ...base, tls: { cert: 'a' } }, 'tls', /not supported/],
    [{ ...base, clientToken: 'plain-text-token' }, 'clientToken', /replaced by clientTokens.*token create/],
    [{ ...base, clientTokens: {} }, 'clientTokens', /array/],
    [{ ...base, clientTokens: [{ name: 'a', role: 'root', hash: HASH }] }, 'clientTokens[0].role', /read, write, admin/],
    [{ ...base, clientTokens: [{ name: 'a', role: 'read', hash: 'plain-token' }] }, 'clientTokens[0].hash', /sha256:/],
    [{ ...base, clientTokens: [{ name: 'a', role: 'read', hash: HASH.toUpperCase() }] }, 'clientTokens[0].hash', /lowercase/],
    [{ ...base, clientTokens: [{ name: 'a b', role: 'read', hash: HASH }] }, 'clientTokens[0].name', /1-64/],
    [{ ...base, clientTokens: [{ name: 'a', role: 'read', hash: HASH, token: 'x' }] }, 'clientTokens[0].token', /unknown key/],
    [
      {
        ...base,
        clientTokens: [
          { name: 'a', role: 'read', hash: HASH },
          { name: 'a', role: 'write', hash: HASH2 },
        ],
      },
      'clientTokens[1].name',
      /duplicate/,
    ],
    [
      {
        ...base,
        clientTokens: [
          { name: 'a', role: 'read', hash: HASH },
          { name: 'b', role: 'write', hash: HASH },
        ],
      },
      'clientTokens[1].hash',
      /listed twice \(also as "a"\)/,
    ],
    [{ ...base, limits: { maxNames: 3 } }, 'limits.maxNames', /unknown key/],
    [{ ...base, limits: { maxNameBytes: 0 } }, 'limits.maxNameBytes', /integer/],
    ['nope', '(root)', /object/],
  ])('refuses %j naming %s', (raw, key, message) => {
    const err = refusal(raw);
    expect(err.key).toBe(key);
    expect(err.message).toMatch(message);
    expect(err.code).toBe('INVALID_CONFIG');
  });

  it('takes the secret from RAFTLOCK_SECRET, and checks it too', () => {
    expect(validateConfig(base, { baseDir: '/', env: { RAFTLOCK_SECRET: 'a-long-enough-secret' } }).secret).toBe('a-long-enough-secret');
    expect(refusal(base, { RAFTLOCK_SECRET: 'short' }).key).toBe('RAFTLOCK_SECRET');
  });

  it('client tokens: hashed, with roles; none configured means an open cluster', () => {
    expect(validateConfig(base, { baseDir: '/' }).clientTokens).toEqual([]);
    const tokens = [{ name: 'ops', role: 'admin', hash: HASH }];
    expect(validateConfig({ ...base, clientTokens: tokens }, { baseDir: '/' }).clientTokens).toEqual(tokens);
  });

  it('a missing or malformed file is a clear error', () => {
    expect(() => loadConfigFile('/nonexistent/raftlock.json')).toThrow(/cannot read \/nonexistent\/raftlock.json/);
  });
});
