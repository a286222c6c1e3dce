/**
 * Endpoint lists have one definition (src/client/endpoints.ts), which `connect()` and the CLI's
 * `--endpoints` / RAFTLOCK_ENDPOINTS share: `host:port` with a port (the SDK also takes ws://
 * URLs with one); nothing silently dials port 80; a bad entry is a typed error naming it and the
 * expected form.
 */
import { describe, expect, it } from 'vitest';
import { connect, InvalidArgumentError, parseEndpointList } from '../../../src/client/index.js';
import { endpointUrl } from '../../../src/client/endpoints.js';
import { parseEndpoints } from '../../../src/cli/endpoints.js';

/** The error `f` throws (the test fails if it throws none). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, got none');
}

const GOOD_HOST_PORTS = ['127.0.0.1:7101', 'node-1.example:7101', '[::1]:7101', 'localhost:65535', 'a:1'];
const BAD_HOST_PORTS = ['localhost', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', ':7101', 'host:port', '127.0.0.1:7101/client', 'a b:1'];

describe('SDK endpoints', () => {
  it('host:port and ws:// URLs with a port become /client URLs', () => {
    expect(endpointUrl('127.0.0.1:7101')).toBe('ws://127.0.0.1:7101/client');
    expect(endpointUrl('node-1.example:7101')).toBe('ws://node-1.example:7101/client');
    expect(endpointUrl('[::1]:7101')).toBe('ws://[::1]:7101/client');
    expect(endpointUrl('ws://127.0.0.1:7101')).toBe('ws://127.0.0.1:7101/client');
    expect(endpointUrl('ws://127.0.0.1:7101/client')).toBe('ws://127.0.0.1:7101/client');
    expect(endpointUrl('wss://db.example:7443/')).toBe('wss://db.example:7443/client');
  });

  it('an entry without a port is refused with INVALID_ARGUMENT naming it and the expected form', () => {
    for (const bad of [...BAD_HOST_PORTS, 'ws://localhost', 'http://127.0.0.1:7101', '']) {
      const err = thrown(() => endpointUrl(bad));
      expect(err, bad).toBeInstanceOf(InvalidArgumentError);
      expect(err, bad).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'endpoints' });
      expect((err as Error).message, bad).toContain(JSON.stringify(bad));
      expect((err as Error).message, bad).toContain('expected host:port or ws://host:port with a port from 1 to 65535');
    }
    expect((thrown(() => endpointUrl('ws://localhost')) as Error).message).toContain('names no port');
  });

  it('a list is an array or a comma-separated string; blanks are skipped, an empty list is refused', () => {
    expect(parseEndpointList(' 127.0.0.1:7101 , 127.0.0.1:7102,')).toEqual(['127.0.0.1:7101', '127.0.0.1:7102']);
    expect(parseEndpointList(['127.0.0.1:7101', ' ws://127.0.0.1:7102 '])).toEqual(['127.0.0.1:7101', 'ws://127.0.0.1:7102']);
    for (const empty of ['', ' , ', []]) {
      const err = thrown(() => parseEndpointList(empty));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(/^endpoints: no endpoint given \(expected host:port/);
    }
    // The first bad entry is named, whatever its position.
    expect((thrown(() => parseEndpointList('127.0.0.1:7101,localhost')) as Error).message).toContain('"localhost"');
    // A JavaScript caller's non-string entry is refused too, not stringified.
    expect(thrown(() => parseEndpointList([7101 as unknown as string]))).toBeInstanceOf(InvalidArgumentError);
  });

  it('the CLI reads --endpoints and RAFTLOCK_ENDPOINTS by the same definition (host:port only)', () => {
    for (const good of GOOD_HOST_PORTS) {
      expect(parseEndpoints(good, {})).toEqual([good]);
      expect(parseEndpointList(good)).toEqual([good]);
    }
    for (const bad of [...BAD_HOST_PORTS, 'ws://127.0.0.1:7101']) {
      const flag = thrown(() => parseEndpoints(`127.0.0.1:7101,${bad}`, {}));
      expect(flag, bad).toBeInstanceOf(InvalidArgumentError);
      expect(flag, bad).toMatchObject({ field: '--endpoints' });
      expect((flag as Error).message, bad).toContain(`${JSON.stringify(bad)} is not an endpoint`);
      expect((flag as Error).message, bad).toContain('expected host:port with a port');
      const env = thrown(() => parseEndpoints(undefined, { RAFTLOCK_ENDPOINTS: bad }));
      expect(env, bad).toMatchObject({ field: 'RAFTLOCK_ENDPOINTS' });
    }
    // Every host:port entry the CLI refuses, the SDK refuses too.
    for (const bad of BAD_HOST_PORTS) expect(() => parseEndpointList(bad), bad).toThrow(InvalidArgumentError);
    expect(parseEndpoints(undefined, {})).toEqual(['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103']);
  });

  it('connect() refuses such an endpoint with INVALID_ARGUMENT before dialing anything', async () => {
    for (const endpoints of [['localhost'], 'localhost', ['127.0.0.1:7101', 'ws://localhost'], []]) {
      const err: unknown = await connect({ endpoints }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'endpoints' });
    }
  });
});
