/**
 * The project's one logging interface. It is defined here, in the dependency-free core, so that
 * every layer above (host, transport, server) can take the same logger without the core
 * importing any of them.
 */

/**
 * Receives diagnostic events: a short constant message and structured fields (node id, term,
 * role, ...) rather than values formatted into the message, so that lines can be filtered and
 * aggregated. Implementations must not throw and must not call back into the code that logs;
 * the core calls them synchronously and never waits on them.
 */
export interface Logger {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** A {@link Logger} that drops everything: the default when none is given. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
