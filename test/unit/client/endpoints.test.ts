/**
 * The SDK reads endpoints by the same rule as the CLI and the configuration: `host:port` with a
 * port, or a ws:// URL with one; nothing silently dials port 80.
 */
import { describe, expect, it } from 'vitest';
import { connect, InvalidArgumentError } from '../../../src/client/index.js';
import { endpointUrl } from '../../../src/client/connection.js';

describe('SDK endpoints', () => {
  it('host:port and ws:// URLs with a port become /client URLs', () => {
    expect(endpointUrl('127.0.0.1:7101')).toBe('ws://127.0.0.1:7101/client');
    expect(endpointUrl('node-1.example:7101')).toBe('ws://node-1.example:7101/client');
    expect(endpointUrl('[::1]:7101')).toBe('ws://[::1]:7101/client');
    expect(endpointUrl('ws://127.0.0.1:7101')).toBe('ws://127.0.0.1:7101/client');
    expect(endpointUrl('ws://127.0.0.1:7101/client')).toBe('ws://127.0.0.1:7101/client');
  });

  it('an endpoint without a port is refused, naming the rule', () => {
    expect(() => endpointUrl('localhost')).toThrow(/must be "host:port" with a port from 1 to 65535/);
    expect(() => endpointUrl('127.0.0.1:0')).toThrow(/port from 1 to 65535/);
    expect(() => endpointUrl('ws://localhost')).toThrow(/names no port/);
  });

  it('connect() refuses such an endpoint with INVALID_ARGUMENT before dialing anything', async () => {
    const err: unknown = await connect({ endpoints: ['localhost'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'endpoints' });
  });
});
