/**
 * The scenario command table: each command's signature (checked when a script is parsed) and
 * what it does to the {@link InteractionEnv}. Extensions the env does not offer itself
 * (restricted stabilize; selective, reversed, duplicated or delayed delivery; election-timeout
 * ticking; state summaries) are implemented here on top of its public surface.
 */
import type { Message, MessageType, NodeId } from '../../src/raft/index.js';
import { formatEntry, formatMessage } from '../support/format.js';
import type { InteractionEnv, NodeOptions } from '../support/interaction-env.js';
import type { Args, ValueType } from './args.js';

/** Positional slot: a type, with `?` (optional), `*` (zero or more) or `+` (one or more). */
export type Slot = `${ValueType}${'' | '?' | '*' | '+'}`;

/** One command: its signature and its effect. Output goes to `env.out` via `env.log`. */
export interface CommandSpec {
  readonly usage: string;
  readonly positional: readonly Slot[];
  readonly options: Readonly<Record<string, ValueType>>;
  readonly required?: readonly string[];
  run(env: InteractionEnv, a: Args): void;
}

/** Defaults the env applies when an option is absent (kept in step with interaction-env.ts). */
const DEFAULT_ELECTION_TICK = 10;
const DEFAULT_HEARTBEAT_TICK = 1;

const NODE_OPTIONS: Readonly<Record<string, ValueType>> = {
  'election-tick': 'int',
  'heartbeat-tick': 'int',
  prevote: 'bool',
  checkquorum: 'bool',
  'max-size-per-msg': 'int',
  'max-inflight': 'int',
  'max-inflight-bytes': 'int',
  learners: 'ids',
  'commit-prior-term': 'bool',
};

const FILTER_OPTIONS: Readonly<Record<string, ValueType>> = { from: 'id', to: 'id', type: 'msgtype' };

function nodeOptions(a: Args): NodeOptions {
  const o: { -readonly [K in keyof NodeOptions]: NodeOptions[K] } = {};
  const int = (k: string): number | undefined => a.optInt(k);
  const bool = (k: string): boolean | undefined => a.optBool(k);
  const set = <K extends keyof NodeOptions>(key: K, v: NodeOptions[K] | undefined): void => {
    if (v !== undefined) o[key] = v;
  };
  set('electionTick', int('election-tick'));
  set('heartbeatTick', int('heartbeat-tick'));
  set('preVote', bool('prevote'));
  set('checkQuorum', bool('checkquorum'));
  set('maxSizePerMsg', int('max-size-per-msg'));
  set('maxInflightMsgs', int('max-inflight'));
  set('maxInflightBytes', int('max-inflight-bytes'));
  set('learners', a.optList('learners'));
  set('commitPriorTerm', bool('commit-prior-term'));
  return o;
}

/** Queued messages matching the `from=`/`to=`/`type=` options of `a`, in queue order. */
function selectMessages(env: InteractionEnv, a: Args): Message[] {
  const from = a.optId('from');
  const to = a.optId('to');
  const type = a.optStr('type') as MessageType | undefined;
  return env.queue.filter(
    (m) => (from === undefined || m.from === from) && (to === undefined || m.to === to) && (type === undefined || m.type === type),
  );
}

/**
 * Delivers (or drops) exactly `selected`, in the given order, through `env.deliver` so that cut
 * links and the transcript behave as for any delivery; other queued messages stay queued.
 */
function deliverExactly(env: InteractionEnv, selected: readonly Message[], drop: boolean): void {
  const chosen = new Set(selected);
  const rest = env.queue.filter((m) => !chosen.has(m));
  env.queue = [...selected];
  env.deliver({}, drop);
  env.queue = [...rest, ...env.queue];
}

/** Like `env.stabilize`, but only processes `ids` and only delivers messages addressed to them. */
function stabilizeSome(env: InteractionEnv, ids: readonly NodeId[]): void {
  for (let round = 0; round < 10_000; round++) {
    env.processReadyAll(ids);
    const pending = env.queue.filter((m) => ids.includes(m.to));
    if (pending.length === 0) return;
    deliverExactly(env, pending, false);
  }
  throw new Error(`stabilize ${ids.join(' ')} did not converge`);
}

/**
 * Ticks a leader one election timeout (electionTick ticks: one CheckQuorum round and transfer
 * timeout check). Ticks any other node until its election timer fires, which shows as a change
 * of role or term, or as new work (vote requests) when it had none: at most 2×electionTick
 * ticks, the largest randomized timeout.
 */
function tickElection(env: InteractionEnv, id: NodeId): void {
  const n = env.node(id);
  const electionTick = n.options.electionTick ?? DEFAULT_ELECTION_TICK;
  const before = n.raw.status();
  if (before.role === 'leader') {
    env.tick(id, electionTick);
    env.log(`${id}: ticked ${electionTick} times (one election timeout)`);
    return;
  }
  const hadReady = n.raw.hasReady();
  for (let k = 1; k <= 2 * electionTick; k++) {
    n.raw.tick();
    const now = n.raw.status();
    if (now.role !== before.role || now.term !== before.term || (!hadReady && n.raw.hasReady())) {
      env.log(`${id}: election timeout after ${k} ticks`);
      return;
    }
  }
  env.log(`${id}: no election after ${2 * electionTick} ticks`);
}

/** Messages held back by `delay-msgs`, per environment, until `release-msgs`. */
const delayed = new WeakMap<InteractionEnv, Message[]>();

function allIds(env: InteractionEnv): NodeId[] {
  return [...env.nodes.keys()].sort((x, y) => x - y);
}

/** Every scenario command, by name. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  'add-nodes': {
    usage:
      'add-nodes N [election-tick= heartbeat-tick= prevote= checkquorum= max-size-per-msg= max-inflight= max-inflight-bytes= learners=(..) commit-prior-term=]',
    positional: ['int'],
    options: NODE_OPTIONS,
    run: (env, a) => env.addNodes(a.int(0), nodeOptions(a)),
  },
  'add-joiner': {
    usage: 'add-joiner [options as add-nodes]',
    positional: [],
    options: NODE_OPTIONS,
    run: (env, a) => void env.addJoiner(nodeOptions(a)),
  },
  'conf-change': {
    usage: 'conf-change ID add-learner|promote|remove NODE [context=TEXT]',
    positional: ['id', 'str', 'int'],
    options: { context: 'str' },
    run: (env, a) => {
      const type = a.strs(1)[0];
      if (type !== 'add-learner' && type !== 'promote' && type !== 'remove') throw new Error(`conf-change: unknown change ${String(type)}`);
      env.confChange(a.id(0), type, a.int(2), a.optStr('context'));
    },
  },
  members: {
    usage: 'members [IDS..]',
    positional: ['ids*'],
    options: {},
    run: (env, a) => {
      const ids = a.ids(0);
      for (const id of ids.length > 0 ? ids : allIds(env)) env.logMembers(id);
    },
  },
  'set-log': {
    usage: 'set-log ID terms=(t1,t2,..) [term= vote= commit=]',
    positional: ['id'],
    options: { terms: 'list', term: 'int', vote: 'int', commit: 'int' },
    required: ['terms'],
    run: (env, a) => {
      const hard: { term?: number; vote?: NodeId; commit?: number } = {};
      for (const k of ['term', 'vote', 'commit'] as const) {
        const v = a.optInt(k);
        if (v !== undefined) hard[k] = v;
      }
      env.setLog(a.id(0), a.optList('terms') ?? [], hard);
    },
  },
  restart: { usage: 'restart ID', positional: ['id'], options: {}, run: (env, a) => env.restart(a.id(0)) },
  campaign: { usage: 'campaign ID', positional: ['id'], options: {}, run: (env, a) => env.campaign(a.id(0)) },
  tick: { usage: 'tick ID [N]', positional: ['id', 'int?'], options: {}, run: (env, a) => env.tick(a.id(0), a.int(1, 1)) },
  'tick-heartbeat': {
    usage: 'tick-heartbeat ID',
    positional: ['id'],
    options: {},
    run: (env, a) => env.tick(a.id(0), env.node(a.id(0)).options.heartbeatTick ?? DEFAULT_HEARTBEAT_TICK),
  },
  'tick-election': { usage: 'tick-election ID', positional: ['id'], options: {}, run: (env, a) => tickElection(env, a.id(0)) },
  propose: { usage: 'propose ID DATA [DATA..]', positional: ['id', 'str+'], options: {}, run: (env, a) => env.propose(a.id(0), a.strs(1)) },
  'read-index': {
    usage: 'read-index ID CTX',
    positional: ['id', 'str'],
    options: {},
    run: (env, a) => env.readIndex(a.id(0), a.strs(1)[0] ?? ''),
  },
  'transfer-leader': {
    usage: 'transfer-leader ID TARGET',
    positional: ['id', 'int'],
    options: {},
    // The target is not checked for existence: transferring to an unknown node is a story too.
    run: (env, a) => env.transferLeader(a.id(0), a.int(1)),
  },
  compact: { usage: 'compact ID INDEX', positional: ['id', 'int'], options: {}, run: (env, a) => env.compact(a.id(0), a.int(1)) },
  'process-ready': {
    usage: 'process-ready [IDS..]',
    positional: ['ids*'],
    options: {},
    run: (env, a) => {
      const ids = a.ids(0);
      for (const id of ids.length > 0 ? ids : allIds(env)) {
        if (!env.processReady(id) && ids.length > 0) env.log(`> ${id} has no Ready`);
      }
    },
  },
  'deliver-msgs': {
    usage: 'deliver-msgs [from= to= type= drop=true count=N reverse=true]',
    positional: [],
    options: { ...FILTER_OPTIONS, drop: 'bool', count: 'int', reverse: 'bool' },
    run: (env, a) => {
      // reverse=true: newest first; count=N: only the first N of that order.
      let selected = selectMessages(env, a);
      if (a.optBool('reverse') === true) selected.reverse();
      const count = a.optInt('count');
      if (count !== undefined) selected = selected.slice(0, count);
      deliverExactly(env, selected, a.optBool('drop') === true);
    },
  },
  'dup-msgs': {
    usage: 'dup-msgs [from= to= type=]',
    positional: [],
    options: FILTER_OPTIONS,
    run: (env, a) => {
      for (const m of selectMessages(env, a)) {
        env.queue.push({ ...m });
        env.log(`duplicated: ${formatMessage(m)}`);
      }
    },
  },
  'delay-msgs': {
    usage: 'delay-msgs [from= to= type=]',
    positional: [],
    options: FILTER_OPTIONS,
    run: (env, a) => {
      const held = selectMessages(env, a);
      const set = new Set(held);
      env.queue = env.queue.filter((m) => !set.has(m));
      delayed.set(env, [...(delayed.get(env) ?? []), ...held]);
      for (const m of held) env.log(`delayed: ${formatMessage(m)}`);
    },
  },
  'release-msgs': {
    usage: 'release-msgs',
    positional: [],
    options: {},
    run: (env) => {
      const held = delayed.get(env) ?? [];
      delayed.delete(env);
      env.queue.push(...held);
      for (const m of held) env.log(`released: ${formatMessage(m)}`);
    },
  },
  'show-msgs': {
    usage: 'show-msgs [from= to= type=]',
    positional: [],
    options: FILTER_OPTIONS,
    run: (env, a) => {
      const ms = selectMessages(env, a);
      if (ms.length === 0) env.log('no messages queued');
      for (const m of ms) env.log(`queued: ${formatMessage(m)}`);
    },
  },
  partition: { usage: 'partition IDS', positional: ['ids+'], options: {}, run: (env, a) => env.partition(a.ids(0)) },
  cut: {
    usage: 'cut FROM TO',
    positional: ['id', 'id'],
    options: {},
    run: (env, a) => {
      env.cutLink(a.id(0), a.id(1));
      env.log(`cut link ${a.id(0)}->${a.id(1)}`);
    },
  },
  heal: { usage: 'heal', positional: [], options: {}, run: (env) => env.heal() },
  stabilize: {
    usage: 'stabilize [IDS..]',
    positional: ['ids*'],
    options: {},
    run: (env, a) => {
      const ids = a.ids(0);
      if (ids.length === 0) env.stabilize();
      else stabilizeSome(env, ids);
    },
  },
  status: { usage: 'status ID', positional: ['id'], options: {}, run: (env, a) => env.logStatus(a.id(0)) },
  log: { usage: 'log ID', positional: ['id'], options: {}, run: (env, a) => env.logEntries(a.id(0)) },
  applied: {
    usage: 'applied ID',
    positional: ['id'],
    options: {},
    run: (env, a) => {
      const n = env.node(a.id(0));
      const snap = n.snapshotIndex > 0 ? ` (after snapshot at ${n.snapshotIndex})` : '';
      env.log(`${n.id} applied${snap}:${n.applied.length === 0 ? ' (nothing)' : ''}`);
      for (const e of n.applied) env.log(`  ${formatEntry(e)}`);
    },
  },
  'raft-state': {
    usage: 'raft-state [IDS..]',
    positional: ['ids*'],
    options: {},
    run: (env, a) => {
      const ids = a.ids(0);
      for (const id of ids.length > 0 ? ids : allIds(env)) {
        const s = env.status(id);
        env.log(`${id}: ${s.role} term=${s.term} leader=${s.leader} commit=${s.commit} last=${s.lastIndex}`);
      }
    },
  },
};
