/**
 * Embedding a node in-process (docs/operations.md#raftlock-start):
 * `import { startNode } from 'raftlock/server'`, with the same options as a configuration file
 * (`validateConfig` checks them), returning a handle with `stop()`.
 */
export { startNode, type NodeHandle, type StartNodeOptions } from './node.js';
export type { NodeStatus, Limits } from '../protocol/index.js';
export {
  validateConfig,
  loadConfigFile,
  ConfigError,
  DEFAULT_NODE_LIMITS,
  tlsFilesOf,
  type TlsConfig,
  type ConfigProblem,
  type ClusterConfig,
  type NodeLimits,
  type NodeAddress,
} from './config.js';
export { createJsonLogger, parseLogLevel, silentLogger, type Logger, type LogLevel } from './logger.js';
export { hashToken, newToken, ROLES, type ClientTokenEntry, type Role } from './access.js';
export type { MemberRow, MembersView } from './member-routes.js';
