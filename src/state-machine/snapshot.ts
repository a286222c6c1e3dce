/**
 * Snapshot format of the lock/counter state machine: the whole replicated state as canonical
 * msgpack (codec.ts), so equal states give identical bytes.
 *
 * Everything is in a fixed order: sessions by id, each session's stored results by seq, locks
 * and counters by name (code-unit order), waiters in queue order (their order *is* state).
 * Derived indexes (deadline heaps, per-session lock sets) are not stored; restore rebuilds them.
 *
 * `decodeSnapshot` throws on bytes that are not a snapshot of this format: snapshots come from
 * our own storage (checksummed) or a peer's, and a replica that cannot restore must stop rather
 * than serve from a wrong state.
 */
import { packCanonical, unpack } from './codec.js';
import { MAX_ELECTION_VALUE_LENGTH, isSessionSecret } from '../protocol/index.js';
import { MACHINE_ERROR_CODES } from './errors.js';
import type { CommandResult } from './results.js';

/**
 * 2: sessions carry their secret. 3: waiters carry their grace count. 4: sessions may carry
 * the grants an operator revoked (`revoked`); a lock may have no holder (kept for an
 * all-or-nothing wait), and a waiter may be listed under several locks; semaphores and
 * readers-writer locks (`semaphores`, `rwlocks`; read as none from versions 2 and 3).
 * 5: elections (`elections`, whose grants and waits carry a `value`; read as none from
 * versions 2 to 4, exact: they had no elections). Version 2 snapshots are read as waiters
 * with no grace yet (exact: version 2 never gave waits grace), and versions 2 and 3 as
 * sessions with nothing revoked (exact: they had no `break-lock`); version 1 snapshots are
 * refused (start such a node afresh).
 */
export const SNAPSHOT_VERSION = 5;

/** A revoked grant a session remembers (sessions.ts). */
export interface RevocationSnapshot {
  readonly at: number;
  readonly name: string;
  readonly token: number;
  readonly reason?: string;
}

export interface SessionRecord {
  readonly id: number;
  readonly ttlMs: number;
  readonly clientId?: string;
  readonly owner?: string;
  readonly secret: string;
  readonly lastKeepAlive: number;
  readonly deadline: number;
  readonly graceCount: number;
  readonly ackedSeq: number;
  /** [seq, result], by seq. */
  readonly results: ReadonlyArray<readonly [number, CommandResult]>;
  /** Oldest first; absent when empty (so a session without any encodes as in version 3). */
  readonly revoked?: readonly RevocationSnapshot[];
}

export interface WaiterRecord {
  readonly id: number;
  readonly session: number;
  readonly seq: number;
  readonly deadline: number;
  /** Leader-change grace extensions the wait has had. */
  readonly graceCount: number;
}

export interface LockRecord {
  readonly name: string;
  /** Absent for a free lock kept for an all-or-nothing wait first in its queue (version 4). */
  readonly holder?: { readonly session: number; readonly token: number; readonly acquiredAt: number; readonly seq: number };
  /**
   * In queue order. An all-or-nothing wait is listed under each of its locks, with the same id
   * and fields: restore gathers it by id.
   */
  readonly waiters: readonly WaiterRecord[];
}

/**
 * A semaphore, readers-writer lock or election in use: its permit count, grants and queue. An
 * election's grants and waits carry their `value` (present, possibly empty); the other kinds'
 * carry none.
 */
export interface PermitResourceRecord {
  readonly name: string;
  readonly permits: number;
  /** In (token, session, seq) order. */
  readonly holders: ReadonlyArray<{
    readonly session: number;
    readonly seq: number;
    readonly weight: number;
    readonly token: number;
    readonly acquiredAt: number;
    readonly value?: string;
  }>;
  /** In queue (waiter id) order. */
  readonly waiters: ReadonlyArray<{
    readonly id: number;
    readonly session: number;
    readonly seq: number;
    readonly weight: number;
    readonly value?: string;
    readonly deadline: number;
    readonly graceCount: number;
  }>;
}

export interface SnapshotState {
  readonly v: typeof SNAPSHOT_VERSION;
  readonly appliedIndex: number;
  readonly lastTime: number;
  readonly lastTerm: number;
  /** A term change was seen and its grace is not applied yet (no stamped entry since). */
  readonly gracePending: boolean;
  readonly sessions: readonly SessionRecord[];
  readonly locks: readonly LockRecord[];
  /** [name, value] of the non-zero counters, by name. */
  readonly counters: ReadonlyArray<readonly [string, number]>;
  /** Semaphores in use, by name. */
  readonly semaphores: readonly PermitResourceRecord[];
  /** Readers-writer locks in use, by name. */
  readonly rwlocks: readonly PermitResourceRecord[];
  /** Elections with a leader or candidates, by name (version 5). */
  readonly elections: readonly PermitResourceRecord[];
}

export function encodeSnapshot(state: SnapshotState): Uint8Array {
  return packCanonical(state);
}

class BadSnapshot extends Error {
  override readonly name = 'BadSnapshot';
  constructor(path: string, detail: string) {
    super(`state machine snapshot: ${path}: ${detail}`);
  }
}

function map(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadSnapshot(path, 'expected a map');
  return v as Record<string, unknown>;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new BadSnapshot(path, 'expected an array');
  return v;
}

function int(v: unknown, path: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new BadSnapshot(path, `expected an integer ≥ ${min}`);
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new BadSnapshot(path, 'expected a non-empty string');
  return v;
}

function secret(v: unknown, path: string): string {
  if (!isSessionSecret(v)) throw new BadSnapshot(path, 'expected a session secret');
  return v;
}

function result(v: unknown, path: string): CommandResult {
  const r = map(v, path);
  if (r['ok'] === true) {
    if (!('value' in r)) throw new BadSnapshot(path, 'success without value');
    return r as unknown as CommandResult;
  }
  if (r['ok'] !== false) throw new BadSnapshot(path, 'expected ok: boolean');
  if (!(MACHINE_ERROR_CODES as readonly unknown[]).includes(r['code']) || typeof r['message'] !== 'string') {
    throw new BadSnapshot(path, 'malformed failure');
  }
  return r as unknown as CommandResult;
}

/** The integer fields of the map at `path`, each at least its minimum in `fields`. */
function intRecord<K extends string>(v: unknown, path: string, fields: Readonly<Record<K, number>>): Record<K, number> {
  const r = map(v, path);
  const out = {} as Record<K, number>;
  for (const k of Object.keys(fields) as K[]) out[k] = int(r[k], `${path}.${k}`, fields[k]);
  return out;
}

/** A grant's or wait's `value`: an election's carry one, the other kinds' none. */
function permitValue(v: unknown, path: string, election: boolean): { value?: string } {
  const value = map(v, path)['value'];
  if (!election) {
    if (value !== undefined) throw new BadSnapshot(`${path}.value`, 'only an election has values');
    return {};
  }
  if (typeof value !== 'string' || value.length > MAX_ELECTION_VALUE_LENGTH)
    throw new BadSnapshot(`${path}.value`, `expected a string of at most ${MAX_ELECTION_VALUE_LENGTH} code units`);
  return { value };
}

function permitResources(v: unknown, path: string, election = false): PermitResourceRecord[] {
  return arr(v, path).map((x, k): PermitResourceRecord => {
    const p = `${path}[${k}]`;
    const r = map(x, p);
    const permits = int(r['permits'], `${p}.permits`, 1);
    const holders = arr(r['holders'], `${p}.holders`).map((y, j) => ({
      ...intRecord(y, `${p}.holders[${j}]`, { session: 1, seq: 1, weight: 1, token: 1, acquiredAt: 0 }),
      ...permitValue(y, `${p}.holders[${j}]`, election),
    }));
    const waiters = arr(r['waiters'], `${p}.waiters`).map((y, j) => ({
      ...intRecord(y, `${p}.waiters[${j}]`, { id: 1, session: 1, seq: 1, weight: 1, deadline: 0, graceCount: 0 }),
      ...permitValue(y, `${p}.waiters[${j}]`, election),
    }));
    if (holders.length === 0 && waiters.length === 0) throw new BadSnapshot(p, 'a resource with neither holders nor waiters');
    const used = holders.reduce((sum, h) => sum + h.weight, 0);
    if (used > permits) throw new BadSnapshot(p, `holders take ${used} of ${permits} permits`);
    return { name: str(r['name'], `${p}.name`), permits, holders, waiters };
  });
}

function revocations(v: unknown, path: string): RevocationSnapshot[] {
  let last = 0;
  return arr(v, path).map((x, k): RevocationSnapshot => {
    const p = `${path}[${k}]`;
    const r = map(x, p);
    const at = int(r['at'], `${p}.at`, last + 1);
    last = at;
    const rev = { at, name: str(r['name'], `${p}.name`), token: int(r['token'], `${p}.token`, 1) };
    return r['reason'] === undefined ? rev : { ...rev, reason: str(r['reason'], `${p}.reason`) };
  });
}

/** Decodes and checks a snapshot. Throws on anything malformed. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotState {
  const decoded = unpack(bytes);
  if (decoded === undefined) throw new BadSnapshot('bytes', 'not valid MessagePack');
  const s = map(decoded.value, 'root');
  if (s['v'] === 1) {
    // Version 1 has no session secrets (docs/design.md#sessions-are-capabilities).
    throw new BadSnapshot('v', 'version 1, written by an earlier raftlock without session secrets: start with a fresh data directory');
  }
  if (s['v'] !== SNAPSHOT_VERSION && s['v'] !== 4 && s['v'] !== 3 && s['v'] !== 2)
    throw new BadSnapshot('v', `unsupported version ${String(s['v']).slice(0, 20)}`);
  const v2 = s['v'] === 2;
  if (typeof s['gracePending'] !== 'boolean') throw new BadSnapshot('gracePending', 'expected a boolean');

  const sessions = arr(s['sessions'], 'sessions').map((x, k): SessionRecord => {
    const p = `sessions[${k}]`;
    const r = map(x, p);
    const results = arr(r['results'], `${p}.results`).map((e, j): readonly [number, CommandResult] => {
      const pair = arr(e, `${p}.results[${j}]`);
      return [int(pair[0], `${p}.results[${j}][0]`, 1), result(pair[1], `${p}.results[${j}][1]`)];
    });
    const base = {
      id: int(r['id'], `${p}.id`, 1),
      ttlMs: int(r['ttlMs'], `${p}.ttlMs`, 1),
      secret: secret(r['secret'], `${p}.secret`),
      lastKeepAlive: int(r['lastKeepAlive'], `${p}.lastKeepAlive`),
      deadline: int(r['deadline'], `${p}.deadline`),
      graceCount: int(r['graceCount'], `${p}.graceCount`),
      ackedSeq: int(r['ackedSeq'], `${p}.ackedSeq`),
      results,
    };
    return {
      ...base,
      ...(r['clientId'] === undefined ? {} : { clientId: str(r['clientId'], `${p}.clientId`) }),
      ...(r['owner'] === undefined ? {} : { owner: str(r['owner'], `${p}.owner`) }),
      ...(r['revoked'] === undefined ? {} : { revoked: revocations(r['revoked'], `${p}.revoked`) }),
    };
  });

  const locks = arr(s['locks'], 'locks').map((x, k): LockRecord => {
    const p = `locks[${k}]`;
    const r = map(x, p);
    const waiters = arr(r['waiters'], `${p}.waiters`);
    if (r['holder'] === undefined && waiters.length === 0) throw new BadSnapshot(p, 'a lock with neither holder nor waiters');
    const h = r['holder'] === undefined ? undefined : map(r['holder'], `${p}.holder`);
    const holder =
      h === undefined
        ? {}
        : {
            holder: {
              session: int(h['session'], `${p}.holder.session`, 1),
              token: int(h['token'], `${p}.holder.token`, 1),
              acquiredAt: int(h['acquiredAt'], `${p}.holder.acquiredAt`),
              seq: int(h['seq'], `${p}.holder.seq`, 1),
            },
          };
    return {
      name: str(r['name'], `${p}.name`),
      ...holder,
      waiters: waiters.map((y, j): WaiterRecord => {
        const q = `${p}.waiters[${j}]`;
        const w = map(y, q);
        return {
          id: int(w['id'], `${q}.id`, 1),
          session: int(w['session'], `${q}.session`, 1),
          seq: int(w['seq'], `${q}.seq`, 1),
          deadline: int(w['deadline'], `${q}.deadline`),
          graceCount: v2 ? 0 : int(w['graceCount'], `${q}.graceCount`),
        };
      }),
    };
  });

  const counters = arr(s['counters'], 'counters').map((x, k): readonly [string, number] => {
    const pair = arr(x, `counters[${k}]`);
    const value = pair[1];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value === 0)
      throw new BadSnapshot(`counters[${k}][1]`, 'expected a non-zero safe integer');
    return [str(pair[0], `counters[${k}][0]`), value];
  });

  const v3 = v2 || s['v'] === 3;
  const v4 = v3 || s['v'] === 4;
  return {
    v: SNAPSHOT_VERSION,
    semaphores: v3 ? [] : permitResources(s['semaphores'], 'semaphores'),
    rwlocks: v3 ? [] : permitResources(s['rwlocks'], 'rwlocks'),
    elections: v4 ? [] : permitResources(s['elections'], 'elections', true),
    appliedIndex: int(s['appliedIndex'], 'appliedIndex'),
    lastTime: int(s['lastTime'], 'lastTime'),
    lastTerm: int(s['lastTerm'], 'lastTerm'),
    gracePending: s['gracePending'],
    sessions,
    locks,
    counters,
  };
}
