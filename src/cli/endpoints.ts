/**
 * Where client commands find the cluster: `--endpoints host:port,…`, else env
 * RAFTLOCK_ENDPOINTS, else the shipped three-node loopback configuration.
 */
import { fileURLToPath } from 'node:url';
import { parseEndpointList } from '../client/index.js';

/** The folder of shipped configurations, found relative to this file (src/ or dist/). */
export function shippedConfig(name: 'three-node.json' | 'five-node.json'): string {
  return fileURLToPath(new URL(`../../cluster-configs/${name}`, import.meta.url));
}

export const DEFAULT_ENDPOINTS = ['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103'];

/** Parses a comma-separated endpoint list; throws `InvalidArgumentError` naming a bad entry. */
export function parseEndpoints(value: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = value ?? env.RAFTLOCK_ENDPOINTS;
  if (raw === undefined || raw.trim() === '') return [...DEFAULT_ENDPOINTS];
  // The SDK's definition, less ws:// URLs: `status` speaks HTTP to these addresses.
  return parseEndpointList(raw, { field: value !== undefined ? '--endpoints' : 'RAFTLOCK_ENDPOINTS', urls: false });
}
