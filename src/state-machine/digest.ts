/**
 * The state digest (docs/design.md#the-state-digest): a 128-bit hash of the replicated state,
 * kept up to date as the state changes, so that reading it costs O(1) whatever the state's size.
 *
 * **Records.** The state is cut into small records which together hold everything a snapshot
 * carries (snapshot.ts), and nothing else:
 * - `session`: a session's id, TTL, client id and secret (they never change). The secret enters
 *   only as its SHA-256 (sha256.ts): `/status` shows the digest to clients, and the hash below
 *   is not one-way;
 * - `session-state`: its id, last keep-alive, deadline, grace count and acknowledged seq;
 * - `result`: `[session id, seq, result]`, one per stored exactly-once result;
 * - `lock`: a held lock's name and holder;
 * - `waiter`: a queued wait, with its lock's name. A queue is in waiter-id order (ids are the
 *   indexes of the queueing entries; a queue only appends and removes, locks.ts), so the
 *   waiters of a lock determine its queue;
 * - `counter`: name and value of a non-zero counter;
 * - `permits`: a semaphore, readers-writer lock or election in use (`[kind, name, permit count]`);
 * - `permit-grant`: one of its grants (`[kind, name, session, seq, weight, token, acquired-at,
 *   value?]`, the value an election's); holders are kept in (token, session, seq) order, so the
 *   grants determine the list;
 * - `permit-waiter`: one of its waits (with an election's value); queues are in waiter-id
 *   order, as lock queues;
 * - `revocation`: a session's memory of a revoked grant (`[session id, at, name, token,
 *   reason]`); `at` orders a session's memories, so the records determine its list;
 * - the *header*: snapshot version, applied index, log time, last term, pending grace. It
 *   changes with every entry, so it is hashed when the digest is read rather than summed in.
 *
 * **The sum.** The digest is the sum, lane by lane modulo 2^32 over four 32-bit lanes, of a
 * 128-bit hash of every record, plus the header's hash. Unlike a hash of the sorted records, a
 * sum is updated in O(1) per changed record: the tables (sessions.ts, locks.ts, counters.ts,
 * dedup.ts) take a record's hash out before they change it and put the new one in after.
 * Unlike XOR, a sum does not cancel a record that appears twice. And it does not depend on the
 * order of changes: two replicas in the same state have the same digest.
 *
 * **The hash** is MurmurHash3's x86 128-bit function over a word stream of the record: its
 * kind, then its fields in a fixed order (integers as exact 32-bit halves, strings as their
 * length and UTF-16 code units, a stored result's value as a canonical walk with sorted keys).
 * Pure integer arithmetic, the same on every platform, no Node built-in (the state machine uses
 * none) and nothing allocated for the common records. It is no cryptographic hash: the digest
 * finds replicas that diverged; a client who picks names to collide cannot make replicas
 * diverge.
 *
 * {@link digestOfState} computes the same value from a decoded snapshot, from scratch. The
 * property tests hold the machine's incremental digest to it after every entry, and it refuses
 * a snapshot field the records do not cover, so a field added to snapshots cannot be left out
 * of the digest unnoticed.
 */
import type { Holder, Waiter } from './locks.js';
import type { CommandResult } from './results.js';
import type { PermitGrant, PermitKind, PermitWaiter } from './permits.js';
import type { RevocationRecord, Session } from './sessions.js';
import { sha256Words } from './sha256.js';
import { PERMIT_KINDS } from '../protocol/index.js';
import type { SnapshotState } from './snapshot.js';

/** The kind of a record, hashed first: equal fields in records of two kinds hash apart. */
const KIND_SESSION = 1;
const KIND_SESSION_STATE = 2;
const KIND_RESULT = 3;
const KIND_LOCK = 4;
const KIND_WAITER = 5;
const KIND_COUNTER = 6;
const KIND_HEADER = 7;
const KIND_REVOCATION = 8;
const KIND_PERMITS = 9;
const KIND_PERMIT_GRANT = 10;
const KIND_PERMIT_WAITER = 11;
/** A permit record's primitive, hashed as a number. */
const PERMIT_KIND_CODE: Readonly<Record<PermitKind, number>> = { semaphore: 1, rwlock: 2, election: 3 };
/** The snapshot's list of each permit kind. */
const PERMIT_LISTS = { semaphore: 'semaphores', rwlock: 'rwlocks', election: 'elections' } as const satisfies Record<PermitKind, string>;

// Word-stream tags: each value starts with one, so the stream of a record is unambiguous.
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_I32 = 4;
const T_INT = 5;
const T_STR = 6;
const T_ARR = 7;
const T_OBJ = 8;
const T_KEY = 9;
const T_END = 10;
const T_UNDEF = 11;
const T_OTHER = 12;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;
const TWO_32 = 4_294_967_296;

// The word stream of the record being hashed. Module-level scratch, not an object per record:
// hashing is synchronous and never re-entered, and allocating nothing keeps it cheap.
let buf = new Int32Array(256);
let n = 0;
// The hash of the last record (murmur).
let o1 = 0;
let o2 = 0;
let o3 = 0;
let o4 = 0;

function word(w: number): void {
  if (n === buf.length) {
    const bigger = new Int32Array(buf.length * 2);
    bigger.set(buf);
    buf = bigger;
  }
  buf[n++] = w;
}

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** MurmurHash3 x86_128 (seed 0) of the words buf[0..n), little-endian, into o1..o4. */
function murmur(): void {
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  const b = buf;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h1 ^= Math.imul(rotl(Math.imul(b[i] as number, C1), 15), C2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(b[i + 1] as number, C2), 16), C3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(b[i + 2] as number, C3), 17), C4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(b[i + 3] as number, C4), 18), C1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  const tail = n & 3;
  if (tail >= 3) h3 ^= Math.imul(rotl(Math.imul(b[blocks + 2] as number, C3), 17), C4);
  if (tail >= 2) h2 ^= Math.imul(rotl(Math.imul(b[blocks + 1] as number, C2), 16), C3);
  if (tail >= 1) h1 ^= Math.imul(rotl(Math.imul(b[blocks] as number, C1), 15), C2);
  const len = n * 4;
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  o1 = h1 >>> 0;
  o2 = (h2 + h1) >>> 0;
  o3 = (h3 + h1) >>> 0;
  o4 = (h4 + h1) >>> 0;
}

/**
 * A number. Integers (all the state holds) exactly, as two 32-bit halves beyond 32 bits; -0 is
 * 0, as in msgpack. Anything else by its decimal form, which is the same on every platform.
 */
function num(v: number): void {
  if ((v | 0) === v) {
    word(T_I32);
    word(v);
  } else if (Number.isSafeInteger(v)) {
    const hi = Math.floor(v / TWO_32);
    word(T_INT);
    word(v - hi * TWO_32);
    word(hi);
  } else {
    word(T_OTHER);
    str(String(v));
  }
}

function str(s: string): void {
  const len = s.length;
  word(T_STR);
  word(len);
  let k = 0;
  for (; k + 1 < len; k += 2) word(s.charCodeAt(k) | (s.charCodeAt(k + 1) << 16));
  if (k < len) word(s.charCodeAt(k));
}

/**
 * Object keys are field names of this code's own records (clients choose values, never keys):
 * a key is fed as one word, a hash of its characters, cached. Cuts a record's words by half.
 */
const keyWords = new Map<string, number>();

function keyWord(key: string): number {
  let w = keyWords.get(key);
  if (w === undefined) {
    let h = 0x9747b28c ^ key.length;
    for (let k = 0; k < key.length; k++) h = Math.imul(rotl(h ^ key.charCodeAt(k), 13), 0x5bd1e995);
    w = fmix(h);
    // Bounded, should a record ever carry keys from outside: past it, keys are hashed each time.
    if (keyWords.size < 4096) keyWords.set(key, w);
  }
  return w;
}

/**
 * The keys of `o` in code-unit order, as `Array.prototype.sort` orders them. An insertion sort:
 * records have a handful of keys, for which it is faster than `sort()`.
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

/** Feeds a value in canonical form (a stored result, which may be any plain value). */
function value(v: unknown): void {
  switch (typeof v) {
    case 'number':
      return num(v);
    case 'string':
      return str(v);
    case 'boolean':
      return word(v ? T_TRUE : T_FALSE);
    case 'undefined':
      return word(T_UNDEF);
    case 'object': {
      if (v === null) return word(T_NULL);
      if (Array.isArray(v)) {
        word(T_ARR);
        word(v.length);
        for (const x of v as readonly unknown[]) value(x);
        return;
      }
      const o = v as Record<string, unknown>;
      word(T_OBJ);
      // Sorted keys, undefined members left out: the canonical form snapshots are written in.
      for (const key of sortedKeys(o)) {
        const x = o[key];
        if (x === undefined) continue;
        word(T_KEY);
        word(keyWord(key));
        value(x);
      }
      return word(T_END);
    }
    default:
      word(T_OTHER);
      return str(String(v));
  }
}

/** +1 puts a record into the sum, -1 takes it out (before it changes, or when it is gone). */
export type Sign = 1 | -1;

/** A session's fields as both the live table and a snapshot record have them. */
type SessionFields = Pick<Session, 'id' | 'ttlMs' | 'secret' | 'lastKeepAlive' | 'deadline' | 'graceCount' | 'ackedSeq'> & {
  readonly clientId?: string | undefined;
  readonly owner?: string | undefined;
};
type HolderFields = Pick<Holder, 'session' | 'token' | 'acquiredAt' | 'seq'>;
type WaiterFields = Pick<Waiter, 'id' | 'session' | 'seq' | 'deadline' | 'graceCount'>;
type PermitGrantFields = Pick<PermitGrant, 'session' | 'seq' | 'weight' | 'token' | 'acquiredAt' | 'value'>;
type PermitWaiterFields = Pick<PermitWaiter, 'id' | 'session' | 'seq' | 'weight' | 'value' | 'deadline' | 'graceCount'>;

/** The snapshot header's fields. */
export interface HeaderFields {
  readonly v: number;
  readonly appliedIndex: number;
  readonly lastTime: number;
  readonly lastTerm: number;
  readonly gracePending: boolean;
}

/**
 * Every field of the snapshot's records, by record: what {@link digestOfState} checks a
 * snapshot against. A field added to the snapshot must be hashed by a method below and listed
 * here.
 */
const SNAPSHOT_FIELDS = {
  root: [
    'v',
    'appliedIndex',
    'lastTime',
    'lastTerm',
    'gracePending',
    'sessions',
    'locks',
    'counters',
    'semaphores',
    'rwlocks',
    'elections',
  ],
  permitResource: ['name', 'permits', 'holders', 'waiters'],
  permitHolder: ['session', 'seq', 'weight', 'token', 'acquiredAt', 'value'],
  permitWaiter: ['id', 'session', 'seq', 'weight', 'value', 'deadline', 'graceCount'],
  session: ['id', 'ttlMs', 'clientId', 'owner', 'secret', 'lastKeepAlive', 'deadline', 'graceCount', 'ackedSeq', 'results', 'revoked'],
  revocation: ['at', 'name', 'token', 'reason'],
  lock: ['name', 'holder', 'waiters'],
  holder: ['session', 'token', 'acquiredAt', 'seq'],
  waiter: ['id', 'session', 'seq', 'deadline', 'graceCount'],
  result: ['ok', 'value', 'code', 'message'],
} as const;

/**
 * Accounted bytes of one record: a fixed allowance (map header and field names in a snapshot)
 * plus 8 per word of its stream. A word holds at most 4 bytes of what a snapshot encodes (an
 * integer is 2–3 words for ≤ 9 bytes, two UTF-16 code units are one word for ≤ 6 UTF-8
 * bytes), so this stays above the record's share of the snapshot; the size property test
 * holds it to that (docs/design.md#limits).
 */
const RECORD_BYTES = 64;
const BYTES_PER_WORD = 8;

/**
 * The running sum of the records' hashes, which the tables keep up to date, and the records'
 * accounted size (`sizeBytes`), kept by the same calls.
 */
export class StateDigest {
  private l1 = 0;
  private l2 = 0;
  private l3 = 0;
  private l4 = 0;
  private bytes = 0;

  /**
   * An upper bound of the snapshot bytes the records take (header excluded), O(1): what
   * `limits.maxStateBytes` is checked against.
   */
  get sizeBytes(): number {
    return this.bytes;
  }

  /**
   * A session's fixed fields: id, TTL, client id, and its secret by the secret's SHA-256 (the
   * digest is shown to clients, and its own hash is not one-way).
   */
  session(sign: Sign, s: SessionFields): void {
    const secret = sha256Words(s.secret);
    begin(KIND_SESSION);
    num(s.id);
    num(s.ttlMs);
    value(s.clientId);
    value(s.owner);
    for (const w of secret) word(w);
    this.mix(sign);
  }

  /** A session's changing fields: last keep-alive, deadline, grace count, acknowledged seq. */
  sessionState(sign: Sign, s: SessionFields): void {
    begin(KIND_SESSION_STATE);
    num(s.id);
    num(s.lastKeepAlive);
    num(s.deadline);
    num(s.graceCount);
    num(s.ackedSeq);
    this.mix(sign);
  }

  /**
   * One stored exactly-once result: a success by its value (any plain value, walked
   * canonically), a failure by its code and message.
   */
  result(sign: Sign, session: number, seq: number, result: CommandResult): void {
    begin(KIND_RESULT);
    num(session);
    num(seq);
    if (result.ok) {
      word(T_TRUE);
      value(result.value);
    } else {
      word(T_FALSE);
      // value(), not str(): a snapshot's result is checked by digestOfState only for its fields.
      value(result.code);
      value(result.message);
    }
    this.mix(sign);
  }

  /** A held lock. */
  lock(sign: Sign, name: string, h: HolderFields): void {
    begin(KIND_LOCK);
    str(name);
    num(h.session);
    num(h.token);
    num(h.acquiredAt);
    num(h.seq);
    this.mix(sign);
  }

  /** A queued wait for lock `name`. */
  waiter(sign: Sign, name: string, w: WaiterFields): void {
    begin(KIND_WAITER);
    str(name);
    num(w.id);
    num(w.session);
    num(w.seq);
    num(w.deadline);
    num(w.graceCount);
    this.mix(sign);
  }

  /** A session's memory of a revoked grant. */
  revocation(sign: Sign, session: number, r: RevocationRecord): void {
    begin(KIND_REVOCATION);
    num(session);
    num(r.at);
    str(r.name);
    num(r.token);
    value(r.reason);
    this.mix(sign);
  }

  /** A semaphore or readers-writer lock in use, with its permit count. */
  permits(sign: Sign, kind: PermitKind, name: string, permits: number): void {
    begin(KIND_PERMITS);
    num(PERMIT_KIND_CODE[kind]);
    str(name);
    num(permits);
    this.mix(sign);
  }

  /** A grant of permits of `name` (with its value, an election's). */
  permitGrant(sign: Sign, kind: PermitKind, name: string, g: PermitGrantFields): void {
    begin(KIND_PERMIT_GRANT);
    num(PERMIT_KIND_CODE[kind]);
    str(name);
    num(g.session);
    num(g.seq);
    num(g.weight);
    num(g.token);
    num(g.acquiredAt);
    optionalStr(g.value);
    this.mix(sign);
  }

  /** A queued wait for permits of `name` (with its value, an election's). */
  permitWaiter(sign: Sign, kind: PermitKind, name: string, w: PermitWaiterFields): void {
    begin(KIND_PERMIT_WAITER);
    num(PERMIT_KIND_CODE[kind]);
    str(name);
    num(w.id);
    num(w.session);
    num(w.seq);
    num(w.weight);
    num(w.deadline);
    num(w.graceCount);
    optionalStr(w.value);
    this.mix(sign);
  }

  /** A non-zero counter. */
  counter(sign: Sign, name: string, v: number): void {
    begin(KIND_COUNTER);
    str(name);
    num(v);
    this.mix(sign);
  }

  /** Back to the empty state (before a restore). */
  clear(): void {
    this.l1 = this.l2 = this.l3 = this.l4 = 0;
    this.bytes = 0;
  }

  /** The digest of the state: the sum and `header`, as 32 hex digits. O(1). */
  hex(header: HeaderFields): string {
    begin(KIND_HEADER);
    num(header.v);
    num(header.appliedIndex);
    num(header.lastTime);
    num(header.lastTerm);
    value(header.gracePending);
    murmur();
    return hex8((this.l1 + o1) >>> 0) + hex8((this.l2 + o2) >>> 0) + hex8((this.l3 + o3) >>> 0) + hex8((this.l4 + o4) >>> 0);
  }

  private mix(sign: Sign): void {
    this.bytes += sign * (RECORD_BYTES + BYTES_PER_WORD * n);
    murmur();
    if (sign === 1) {
      this.l1 = (this.l1 + o1) >>> 0;
      this.l2 = (this.l2 + o2) >>> 0;
      this.l3 = (this.l3 + o3) >>> 0;
      this.l4 = (this.l4 + o4) >>> 0;
    } else {
      this.l1 = (this.l1 - o1) >>> 0;
      this.l2 = (this.l2 - o2) >>> 0;
      this.l3 = (this.l3 - o3) >>> 0;
      this.l4 = (this.l4 - o4) >>> 0;
    }
  }
}

/**
 * A record's last field when it may be absent: nothing when absent, so the records of the kinds
 * without it hash as before; present, it is tagged (T_STR), so "" and absent differ.
 */
function optionalStr(s: string | undefined): void {
  if (s !== undefined) str(s);
}

function begin(kind: number): void {
  n = 0;
  word(kind);
}

const hex8 = (x: number): string => x.toString(16).padStart(8, '0');

/** Throws if `record` has a field that {@link SNAPSHOT_FIELDS} does not list under `kind`. */
function covered(record: object, kind: keyof typeof SNAPSHOT_FIELDS): void {
  const known: readonly string[] = SNAPSHOT_FIELDS[kind];
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) throw new Error(`state digest: the snapshot's ${kind} field ${key} is in no digest record (digest.ts)`);
  }
}

/**
 * The digest of a decoded snapshot, from scratch (O(state)): every record it holds, hashed and
 * summed. Equal to `LockMachine.digest()` of the machine in that state. Throws on a snapshot
 * field that no record covers.
 */
export function digestOfState(state: SnapshotState): string {
  const d = new StateDigest();
  covered(state, 'root');
  for (const s of state.sessions) {
    covered(s, 'session');
    d.session(1, s);
    d.sessionState(1, s);
    for (const [seq, r] of s.results) {
      covered(r, 'result');
      d.result(1, s.id, seq, r);
    }
    for (const r of s.revoked ?? []) {
      covered(r, 'revocation');
      d.revocation(1, s.id, r);
    }
  }
  for (const l of state.locks) {
    covered(l, 'lock');
    if (l.holder !== undefined) {
      covered(l.holder, 'holder');
      d.lock(1, l.name, l.holder);
    }
    for (const w of l.waiters) {
      covered(w, 'waiter');
      d.waiter(1, l.name, w);
    }
  }
  for (const [name, v] of state.counters) d.counter(1, name, v);
  for (const kind of PERMIT_KINDS) {
    for (const r of state[PERMIT_LISTS[kind]]) {
      covered(r, 'permitResource');
      d.permits(1, kind, r.name, r.permits);
      for (const g of r.holders) {
        covered(g, 'permitHolder');
        d.permitGrant(1, kind, r.name, g);
      }
      for (const w of r.waiters) {
        covered(w, 'permitWaiter');
        d.permitWaiter(1, kind, r.name, w);
      }
    }
  }
  return d.hex(state);
}
