/**
 * How the SDK words why a connection could not be opened (src/client/connection.ts): the
 * few words each endpoint gets in an "every endpoint failed" message.
 */
import { describe, expect, it } from 'vitest';
import { hostOf, openProblem } from '../../../src/client/connection.js';

/** An error as Node's net or `ws` raises it: a message, and a `code` for system errors. */
function sysError(message: string, code?: string): Error & { code?: string } {
  return Object.assign(new Error(message), code !== undefined ? { code } : {});
}

describe('openProblem', () => {
  it('names the common system errors in plain words', () => {
    expect(openProblem(sysError('connect ECONNREFUSED 127.0.0.1:7101', 'ECONNREFUSED'))).toBe('connection refused');
    expect(openProblem(sysError('getaddrinfo ENOTFOUND node-9.invalid', 'ENOTFOUND'))).toBe('host not found (DNS)');
    expect(openProblem(sysError('getaddrinfo EAI_AGAIN node-9', 'EAI_AGAIN'))).toMatch(/^DNS lookup failed/);
    expect(openProblem(sysError('connect EHOSTUNREACH 10.0.0.9:7101', 'EHOSTUNREACH'))).toBe('host unreachable');
    expect(openProblem(sysError('read ECONNRESET', 'ECONNRESET'))).toBe('connection reset');
  });

  it('tells an HTTP answer from a node at its limit apart from something that is not a raftlock node', () => {
    expect(openProblem(sysError('Unexpected server response: 503'))).toMatch(/HTTP 503: stopping, or at its connection limit/);
    expect(openProblem(sysError('Unexpected server response: 404'))).toMatch(
      /HTTP 404 instead of a WebSocket upgrade \(not a raftlock client address\?\)/,
    );
  });

  it('keeps the code and message of anything else', () => {
    expect(openProblem(sysError('socket hang up', 'ECONNABORTED'))).toBe('ECONNABORTED: socket hang up');
    expect(openProblem(sysError('something odd'))).toBe('something odd');
  });
});

describe('hostOf', () => {
  it('is the host:port of a /client URL, or the text itself when it is no URL', () => {
    expect(hostOf('ws://127.0.0.1:7101/client')).toBe('127.0.0.1:7101');
    expect(hostOf('ws://[::1]:7101/client')).toBe('[::1]:7101');
    expect(hostOf('not a url')).toBe('not a url');
  });
});
