/**
 * The client wire contract, in one place: ops and their request and value types, the one list
 * of error codes, limits, the name rule, command validation, and the MessagePack setup every
 * codec shares. The SDK and the server both import it; it imports no other layer.
 */
export * from './client-protocol.js';
export * from './commands.js';
export * from './errors.js';
export * from './fields.js';
export * from './limits.js';
export * from './msgpack.js';
export * from './values.js';
export * from './watch.js';
export * from './watch-frames.js';
export * from './address.js';
export * from './node-status.js';
export { corkUntilTickEnd, zeroMask } from './cheap-writes.js';
