/**
 * Cluster configuration files (docs/operations.md#configuration-file): defaults, and refusals
 * that name the key: every problem at once, each with its line and column in the file, "did you
 * mean" for unknown keys, and JSON syntax errors by line and column.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
    [{ ...base, tls: { cert: '/nonexistent/a.pem' } }, 'tls.cert', /cannot read \/nonexistent\/a.pem.*certs init/],
    [{ ...base, tls: 'on' }, 'tls', /must be an object/],
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
    [{ ...base, limits: { maxsessions: 3 } }, 'limits.maxsessions', /unknown key; did you mean "maxSessions"\?/],
    [{ ...base, electonTicks: 10 }, 'electonTicks', /unknown key; did you mean "electionTicks"\?/],
    [{ ...base, DataDir: 'x' }, 'DataDir', /did you mean "dataDir"\?/],
    [{ ...base, maxSessions: 5 }, 'maxSessions', /did you mean "limits": \{ "maxSessions": … \}\?/],
    [{ ...base, nodes: [{ id: 1, adress: '127.0.0.1:1' }] }, 'nodes[0].adress', /did you mean "address"\?/],
    [{ ...base, replicas: 3 }, 'replicas', /unknown key \(known: clusterId, nodes, dataDir, /],
    [{ ...base, clusterId: undefined }, 'clusterId', /but it is missing/],
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

describe('every problem at once', () => {
  it('validateConfig reports them all, one line each, the first as `key`', () => {
    const err = refusal({
      ...base,
      clusterId: 'has spaces',
      tickMS: 50,
      nodes: [{ id: 1, address: '127.0.0.1:7101' }, { id: 1, address: 'nowhere' }, 'node-3'],
      clientToken: 'old-style',
      tls: true,
      limits: { maxNameBytes: 0, maxSesions: 5 },
    });
    expect(err.problems.map((p) => p.key)).toEqual([
      'tickMS',
      'clientToken',
      'clusterId',
      'nodes[1].address',
      'nodes[1].id',
      'nodes[2]',
      'tls',
      'limits.maxSesions',
      'limits.maxNameBytes',
    ]);
    expect(err.key).toBe('tickMS');
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('the configuration has 9 problems:');
    expect(lines.slice(1)).toHaveLength(9);
    // The messages that say what to do survive being listed with others.
    expect(err.message).toContain('clientToken: replaced by clientTokens');
    expect(err.message).toContain('tls: must be an object { "cert", "key", "ca" } of PEM file paths, got true');
    expect(err.message).toContain('nodes[1].id: duplicate node id 1 (also nodes[0].id)');
    expect(err.message).toContain('tickMS: unknown key; did you mean "tickMs"?');
  });

  it('the secret from the environment is checked along with the file', () => {
    const err = refusal({ ...base, tickMs: 0 }, { RAFTLOCK_SECRET: 'short' });
    expect(err.problems.map((p) => p.key)).toEqual(['tickMs', 'RAFTLOCK_SECRET']);
  });

  it('a single problem stays one line', () => {
    expect(refusal({ ...base, tickMs: 0 }).message).toBe('tickMs: must be an integer from 1 to 10000, got 0');
  });
});

describe('configuration files: line and column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftlock-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `lines` as file `name` and returns the refusal of loading it, with the file's path. */
  function refusedFile(name: string, lines: readonly string[]): { err: ConfigError; path: string } {
    const path = join(dir, name);
    writeFileSync(path, lines.join('\n'));
    try {
      loadConfigFile(path, { cwd: dir, env: {} });
    } catch (err) {
      if (err instanceof ConfigError) return { err, path };
      throw err;
    }
    throw new Error(`expected ${name} to be refused`);
  }

  it('a JSON syntax error names the file, line and column, says what was expected and quotes the line', () => {
    const text = [
      '{',
      '  "clusterId": "local-3",',
      '  "nodes": [',
      '    { "id": 1, "address": "127.0.0.1:7101" }',
      '    { "id": 2, "address": "127.0.0.1:7102" }',
      '  ],',
      '  "dataDir": "data"',
      '}',
    ];
    const { err, path } = refusedFile('syntax.json', text);
    expect(err.problems).toEqual([
      { key: '(file)', line: 5, column: 5, message: expect.stringContaining("expected ',' or ']' after nodes[0]") as string },
    ]);
    expect(err.message).toBe(
      `${path}:5:5: not valid JSON: expected ',' or ']' after nodes[0], found '{' (is a comma missing?)\n` +
        '        { "id": 2, "address": "127.0.0.1:7102" }\n' +
        '        ^',
    );
  });

  it('every problem of the content, in file order, each at its key (or the object missing one)', () => {
    const text = [
      '{',
      '  "clusterId": "local-3",',
      '  "tickMS": 50,',
      '  "nodes": [',
      '    { "id": 1, "address": "127.0.0.1:7101" },',
      '    { "id": 2 }',
      '  ],',
      '  "dataDir": "data",',
      '  "limits": { "maxNameBytes": 0 },',
      '  "tickMs": 20,',
      '  "tickMs": 30',
      '}',
    ];
    const { err, path } = refusedFile('content.json', text);
    expect(err.problems.map((p) => [p.key, p.line, p.column])).toEqual([
      ['tickMS', 3, 3],
      ['nodes[1].address', 6, 5],
      ['limits.maxNameBytes', 9, 15],
      ['tickMs', 11, 3],
    ]);
    expect(err.message.split('\n')).toEqual([
      `${path} has 4 problems:`,
      `  ${path}:3:3: tickMS: unknown key; did you mean "tickMs"?`,
      `  ${path}:6:5: nodes[1].address: must be "host:port", but it is missing`,
      `  ${path}:9:15: limits.maxNameBytes: must be an integer from 1 to 65536, got 0`,
      `  ${path}:11:3: tickMs: given twice (also at line 10, column 3); JSON keeps only the last: remove one`,
    ]);
  });

  it('a missing top-level key has no place in the file, and says so', () => {
    const { err, path } = refusedFile('missing.json', ['{ "clusterId": "a", "dataDir": "d" }']);
    expect(err.problems).toEqual([{ key: 'nodes', message: expect.stringMatching(/but it is missing$/) as string }]);
    expect(err.message).toBe(`${path}: nodes: ${err.problems[0]?.message}`);
  });

  it('a valid file with a byte-order mark loads', () => {
    const path = join(dir, 'bom.json');
    writeFileSync(path, `\uFEFF${JSON.stringify(base)}`);
    expect(loadConfigFile(path, { cwd: dir, env: {} }).clusterId).toBe('local-3');
  });
});

describe('tls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftlock-config-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  for (const f of ['node.pem', 'node-key.pem', 'ca.pem']) writeFileSync(join(dir, f), pem);
  writeFileSync(join(dir, 'plain.txt'), 'not a certificate');

  it('paths resolve against the configuration file, not the working directory; switches default to safe', () => {
    const path = join(dir, 'tls.json');
    writeFileSync(path, JSON.stringify({ ...base, tls: { cert: 'node.pem', key: './node-key.pem', ca: join(dir, 'ca.pem') } }));
    const c = loadConfigFile(path, { cwd: '/', env: {} });
    expect(c.tls).toEqual({
      cert: join(dir, 'node.pem'),
      key: join(dir, 'node-key.pem'),
      ca: join(dir, 'ca.pem'),
      clientCertRequired: false,
      verifyPeerIds: true,
    });
  });

  it('every problem of the tls object is named, each by its key', () => {
    const err = refusal({ ...base, tls: { cert: join(dir, 'plain.txt'), ca: 7, clientCertRequired: 'yes', verifyPeerId: false } });
    expect(err.problems.map((p) => p.key).sort()).toEqual(['tls.ca', 'tls.cert', 'tls.clientCertRequired', 'tls.key', 'tls.verifyPeerId']);
    expect(err.message).toContain('is not PEM');
    expect(err.message).toContain('tls.verifyPeerId: unknown key; did you mean "verifyPeerIds"?');
    expect(err.message).toContain('tls.clientCertRequired: must be true or false');
  });
});
