/**
 * Where client commands find the cluster: `--endpoints host:port,…`, else env
 * RAFTLOCK_ENDPOINTS, else the shipped three-node loopback configuration.
 */
import { fileURLToPath } from 'node:url';
import { parseHostPort } from '../protocol/index.js';

/** The folder of shipped configurations, found relative to this file (src/ or dist/). */
export function shippedConfig(name: 'three-node.json' | 'five-node.json'): string {
  return fileURLToPath(new URL(`../../cluster-configs/${name}`, import.meta.url));
}

export const DEFAULT_ENDPOINTS = ['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103'];

/** Parses a comma-separated endpoint list; throws with a clear message on a bad entry. */
export function parseEndpoints(value: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = value ?? env.RAFTLOCK_ENDPOINTS;
  if (raw === undefined || raw.trim() === '') return [...DEFAULT_ENDPOINTS];
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const ep of list) parseHostPort(ep, '--endpoints');
  if (list.length === 0) throw new Error('--endpoints: no endpoint given (expected host:port,host:port,…)');
  return list;
}
