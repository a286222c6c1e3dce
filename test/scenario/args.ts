/**
 * Argument handling for scenario commands: tokenizing a command line, checking it against a
 * command's declared signature (strictly: unknown options, missing or surplus arguments and
 * malformed values are script errors), and typed access for the command's implementation.
 */
import type { MessageType, NodeId } from '../../src/raft/index.js';

/**
 * Kinds of argument value.
 * - `id`: a node id (positive integer; must name an existing node when the command runs)
 * - `int`: a non-negative integer
 * - `str`: any token (quote it with "..." if it contains spaces or `=`)
 * - `ids`: node ids, either one id or a parenthesised list `(1,2,3)`; `()` is the empty list
 * - `list`: a parenthesised list of positive integers such as `(1,1,2)`; `()` is the empty list
 * - `bool`: `true` or `false`
 * - `msgtype`: a message type such as `append` or `vote-response`
 */
export type ValueType = 'id' | 'int' | 'str' | 'ids' | 'list' | 'bool' | 'msgtype';

/** Every message type, for validating `type=` filters. */
export const MESSAGE_TYPES: readonly MessageType[] = [
  'vote',
  'vote-response',
  'append',
  'append-response',
  'heartbeat',
  'heartbeat-response',
  'snapshot',
  'timeout-now',
  'read-index',
  'read-index-response',
];

/** A mistake in a scenario script (not in the code under test). Always names file and line. */
export class ScriptError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'ScriptError';
  }
}

/** One token of a command line; quoted tokens are always positional. */
export interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

/** Splits a command line on whitespace, keeping `( ... )` groups and `"..."` strings whole. */
export function tokenize(line: string, where: string): Token[] {
  const tokens: Token[] = [];
  let cur = '';
  let quoted = false;
  let depth = 0;
  let inQuote = false;
  const flush = (): void => {
    if (cur.length > 0 || quoted) tokens.push({ text: cur, quoted });
    cur = '';
    quoted = false;
  };
  for (const ch of line) {
    if (inQuote) {
      if (ch === '"') inQuote = false;
      else cur += ch;
    } else if (ch === '"') {
      inQuote = true;
      quoted = true;
    } else if (ch === '(') {
      depth++;
      cur += ch;
    } else if (ch === ')') {
      if (depth === 0) throw new ScriptError(where, `unbalanced ')' in: ${line}`);
      depth--;
      cur += ch;
    } else if (/\s/.test(ch) && depth === 0) {
      flush();
    } else if (!/\s/.test(ch)) {
      cur += ch;
    }
  }
  if (inQuote) throw new ScriptError(where, `unterminated quote in: ${line}`);
  if (depth !== 0) throw new ScriptError(where, `unbalanced '(' in: ${line}`);
  flush();
  return tokens;
}

/** Checks `raw` against `type`; returns an error description, or undefined when valid. */
export function checkValue(type: ValueType, raw: string): string | undefined {
  switch (type) {
    case 'id':
      return /^[1-9][0-9]*$/.test(raw) ? undefined : `expected a node id, got '${raw}'`;
    case 'int':
      return /^(0|[1-9][0-9]*)$/.test(raw) ? undefined : `expected a non-negative integer, got '${raw}'`;
    case 'str':
      return undefined;
    case 'bool':
      return raw === 'true' || raw === 'false' ? undefined : `expected true or false, got '${raw}'`;
    case 'ids':
      return /^([1-9][0-9]*|\(\s*([1-9][0-9]*(\s*,\s*[1-9][0-9]*)*)?\s*\))$/.test(raw)
        ? undefined
        : `expected an id or a list like (1,2,3), got '${raw}'`;
    case 'list':
      return /^\(\s*([1-9][0-9]*(\s*,\s*[1-9][0-9]*)*)?\s*\)$/.test(raw) ? undefined : `expected a list like (1,1,2), got '${raw}'`;
    case 'msgtype':
      return (MESSAGE_TYPES as readonly string[]).includes(raw)
        ? undefined
        : `unknown message type '${raw}' (one of ${MESSAGE_TYPES.join(', ')})`;
  }
}

/** Parses a value already accepted by {@link checkValue} for type `ids` or `list`. */
export function parseList(raw: string): number[] {
  const body = raw.startsWith('(') ? raw.slice(1, -1) : raw;
  return body.trim() === '' ? [] : body.split(',').map((s) => Number(s.trim()));
}

/**
 * Typed access to the arguments of one command. Values were validated when the script was
 * parsed, so accessors only convert; `id` checks additionally that the node exists.
 */
export class Args {
  constructor(
    /** `file:line` of the command, for error messages. */
    readonly where: string,
    private readonly positional: readonly Token[],
    private readonly options: ReadonlyMap<string, string>,
    private readonly nodeExists: (id: NodeId) => boolean,
  ) {}

  /** Throws a {@link ScriptError} located at this command. */
  fail(message: string): never {
    throw new ScriptError(this.where, message);
  }

  /** Number of positional arguments given. */
  get count(): number {
    return this.positional.length;
  }

  private raw(i: number): string {
    const t = this.positional[i];
    if (t === undefined) this.fail(`missing argument ${i + 1}`);
    return t.text;
  }

  private checkNode(id: NodeId): NodeId {
    if (!this.nodeExists(id)) this.fail(`no node ${id}`);
    return id;
  }

  /** Positional argument `i` as an existing node id. */
  id(i: number): NodeId {
    return this.checkNode(Number(this.raw(i)));
  }

  /** Positional argument `i` as an integer, or `dflt` when absent. */
  int(i: number, dflt?: number): number {
    if (i >= this.positional.length && dflt !== undefined) return dflt;
    return Number(this.raw(i));
  }

  /** Positional arguments from `i` on, as strings. */
  strs(from: number): string[] {
    return this.positional.slice(from).map((t) => t.text);
  }

  /** Positional arguments from `i` on, as existing node ids (lists flattened). */
  ids(from: number): NodeId[] {
    return this.positional
      .slice(from)
      .flatMap((t) => parseList(t.text))
      .map((id) => this.checkNode(id));
  }

  /** Whether option `key` was given. */
  has(key: string): boolean {
    return this.options.has(key);
  }

  /** Option `key` as a number (types `int` and `id`), undefined when absent. */
  optInt(key: string): number | undefined {
    const v = this.options.get(key);
    return v === undefined ? undefined : Number(v);
  }

  /** Option `key` as an existing node id, undefined when absent. */
  optId(key: string): NodeId | undefined {
    const v = this.optInt(key);
    return v === undefined ? undefined : this.checkNode(v);
  }

  /** Option `key` as a boolean, undefined when absent. */
  optBool(key: string): boolean | undefined {
    const v = this.options.get(key);
    return v === undefined ? undefined : v === 'true';
  }

  /** Option `key` as a list of numbers, undefined when absent. */
  optList(key: string): number[] | undefined {
    const v = this.options.get(key);
    return v === undefined ? undefined : parseList(v);
  }

  /** Option `key` as raw text, undefined when absent. */
  optStr(key: string): string | undefined {
    return this.options.get(key);
  }
}
