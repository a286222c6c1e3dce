/**
 * Scenario scripts: datadriven transcripts of a Raft cluster driven message by message (after
 * etcd-io/raft's testdata/*.txt). A script is a sequence of blocks:
 *
 *     # comments and blank lines, kept as they are
 *     command arg key=value
 *     ----
 *     expected transcript lines
 *     (a blank line ends the block)
 *
 * {@link parseScript} checks every command against {@link COMMANDS} before anything runs,
 * {@link runScript} executes the blocks against a fresh {@link InteractionEnv},
 * {@link describeMismatches} explains differences and {@link renderScript} rewrites a script's
 * expected outputs from actual ones (rewrite mode). The format is documented in README.md.
 */
import { RaftInvariantError } from '../../src/raft/index.js';
import { InteractionEnv } from '../support/interaction-env.js';
import { Args, ScriptError, checkValue, tokenize, type Token, type ValueType } from './args.js';
import { COMMANDS, type CommandSpec } from './commands.js';

export { ScriptError } from './args.js';

/** The separator between a command and its expected output. */
export const SEPARATOR = '----';

/** One command of a script with its expected output. */
export interface Block {
  /** Comment and blank lines before the command, reproduced verbatim on rewrite. */
  readonly preamble: readonly string[];
  /** 1-based line number of the command. */
  readonly line: number;
  /** The command line as written. */
  readonly text: string;
  readonly name: string;
  readonly positional: readonly Token[];
  readonly options: ReadonlyMap<string, string>;
  /** Expected output lines; undefined when the script has no `----` for it (rewrite mode only). */
  readonly expected: readonly string[] | undefined;
}

/** A parsed script. */
export interface Script {
  /** Name used in messages (normally the path relative to the repository). */
  readonly file: string;
  readonly blocks: readonly Block[];
  /** Comment and blank lines after the last block. */
  readonly trailer: readonly string[];
}

/** Parsing options. */
export interface ParseOptions {
  /** Accept commands without `----` and expected output (they are filled in by rewriting). */
  readonly allowMissingOutput?: boolean;
}

const isComment = (l: string): boolean => l.trim() === '' || l.trimStart().startsWith('#');

/**
 * Parses and validates `text`. Throws {@link ScriptError} (with `file:line`) for an unknown
 * command or option, a malformed value, a wrong number of arguments, or a missing `----`.
 */
export function parseScript(text: string, file: string, opts: ParseOptions = {}): Script {
  const lines = text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  const blocks: Block[] = [];
  let preamble: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i] ?? '';
    if (isComment(l)) {
      preamble.push(l);
      i++;
      continue;
    }
    const line = i + 1;
    const where = `${file}:${line}`;
    if (l.trim() === SEPARATOR) throw new ScriptError(where, `'${SEPARATOR}' without a command before it`);
    const { name, positional, options } = parseCommand(l.trim(), where);
    i++;
    let expected: string[] | undefined;
    if (lines[i]?.trim() === SEPARATOR) {
      i++;
      expected = [];
      while (i < lines.length && (lines[i] ?? '').trim() !== '') expected.push(lines[i++] ?? '');
      if (i < lines.length) i++; // the blank line ending the block
    } else if (opts.allowMissingOutput !== true) {
      throw new ScriptError(where, `expected '${SEPARATOR}' after command '${l.trim()}'`);
    } else if (i < lines.length && (lines[i] ?? '').trim() === '') {
      i++; // a blank line ends an output-less block too
    }
    blocks.push({ preamble, line, text: l.trim(), name, positional, options, expected });
    preamble = [];
  }
  return { file, blocks, trailer: preamble };
}

/** Splits one command line and checks it against its {@link CommandSpec}. */
function parseCommand(text: string, where: string): Pick<Block, 'name' | 'positional' | 'options'> {
  const [head, ...rest] = tokenize(text, where);
  if (head === undefined) throw new ScriptError(where, 'empty command');
  const name = head.text;
  const spec = COMMANDS[name];
  if (spec === undefined) {
    throw new ScriptError(where, `unknown command '${name}' (known: ${Object.keys(COMMANDS).join(', ')})`);
  }
  const positional: Token[] = [];
  const options = new Map<string, string>();
  for (const t of rest) {
    const eq = t.quoted ? -1 : t.text.indexOf('=');
    if (eq <= 0 || t.text.slice(0, eq).includes('(')) {
      positional.push(t);
      continue;
    }
    const key = t.text.slice(0, eq);
    const value = t.text.slice(eq + 1);
    const type = spec.options[key];
    if (type === undefined) {
      const allowed = Object.keys(spec.options);
      throw new ScriptError(
        where,
        `unknown option '${key}' for '${name}' (${allowed.length > 0 ? `allowed: ${allowed.join(', ')}` : 'it takes none'}; usage: ${spec.usage})`,
      );
    }
    if (options.has(key)) throw new ScriptError(where, `option '${key}' given twice`);
    const err = checkValue(type, value);
    if (err !== undefined) throw new ScriptError(where, `option '${key}' of '${name}': ${err}`);
    options.set(key, value);
  }
  for (const key of spec.required ?? []) {
    if (!options.has(key)) throw new ScriptError(where, `'${name}' needs option '${key}=' (usage: ${spec.usage})`);
  }
  checkPositional(spec, name, positional, where);
  return { name, positional, options };
}

function checkPositional(spec: CommandSpec, name: string, toks: readonly Token[], where: string): void {
  let k = 0;
  const bad = (msg: string): never => {
    throw new ScriptError(where, `'${name}': ${msg} (usage: ${spec.usage})`);
  };
  for (const slot of spec.positional) {
    const mark = /[?*+]$/.test(slot) ? slot.slice(-1) : '';
    const many = mark === '*' || mark === '+';
    const type = slot.slice(0, slot.length - mark.length) as ValueType;
    const take = many ? toks.length - k : Math.min(1, toks.length - k);
    if (take === 0 && (mark === '' || mark === '+')) bad(`missing ${type} argument`);
    for (let j = 0; j < take; j++) {
      const err = checkValue(type, toks[k + j]?.text ?? '');
      if (err !== undefined) bad(`argument ${k + j + 1}: ${err}`);
    }
    k += take;
  }
  if (k < toks.length) bad(`unexpected argument '${toks[k]?.text ?? ''}'`);
}

/** Actual output of one block. */
export interface BlockResult {
  readonly block: Block;
  readonly actual: readonly string[];
}

/**
 * Runs every block against a fresh {@link InteractionEnv} and returns what each printed
 * (`ok` when a command printed nothing). A {@link RaftInvariantError} raised by the core is part
 * of the story (negative controls) and is recorded as an `error:` line; any other exception
 * fails the run, located at the command's `file:line`.
 */
export function runScript(script: Script): BlockResult[] {
  const env = new InteractionEnv();
  const results: BlockResult[] = [];
  for (const block of script.blocks) {
    const where = `${script.file}:${block.line}`;
    const spec = COMMANDS[block.name];
    if (spec === undefined) throw new ScriptError(where, `unknown command '${block.name}'`);
    env.takeOutput();
    try {
      spec.run(env, new Args(where, block.positional, block.options, (id) => env.nodes.has(id)));
    } catch (e) {
      if (e instanceof RaftInvariantError) env.log(`error: ${e.message}`);
      else if (e instanceof ScriptError) throw e;
      else throw new ScriptError(where, `'${block.text}' threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    const out = env.takeOutput();
    results.push({ block, actual: out.length > 0 ? out : ['ok'] });
  }
  return results;
}

/** The script's text with every expected output replaced by the actual one. */
export function renderScript(script: Script, results: readonly BlockResult[]): string {
  const out: string[] = [];
  for (const { block, actual } of results) {
    out.push(...block.preamble, block.text, SEPARATOR, ...actual, '');
  }
  out.push(...script.trailer);
  const text = out.join('\n');
  return text.endsWith('\n') ? text : `${text}\n`;
}

/**
 * Undefined when every block printed what the script expects; otherwise a report naming the
 * first differing block (`file:line: command`) with a line diff, and how many others differ.
 */
export function describeMismatches(script: Script, results: readonly BlockResult[]): string | undefined {
  const bad = results.filter((r) => r.block.expected === undefined || !sameLines(r.block.expected, r.actual));
  const first = bad[0];
  if (first === undefined) return undefined;
  const { block, actual } = first;
  const head = `${script.file}:${block.line}: output of '${block.text}' differs from the script (- expected, + actual):`;
  const more =
    bad.length > 1
      ? `\n(${bad.length - 1} later block(s) differ too, at lines ${bad
          .slice(1)
          .map((r) => r.block.line)
          .join(', ')})`
      : '';
  const hint = '\nIf the new behaviour is correct, run `npm run test:scenario:rewrite` and review the diff.';
  return `${head}\n${lineDiff(block.expected ?? [], actual).join('\n')}${more}${hint}`;
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, k) => l === b[k]);
}

/**
 * A unified-style line diff (longest common subsequence), showing changed lines with up to
 * `context` unchanged lines around each change.
 */
export function lineDiff(expected: readonly string[], actual: readonly string[], context = 3): string[] {
  const n = expected.length;
  const m = actual.length;
  // lcs[i][j]: LCS length of expected[i..] and actual[j..].
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const row = lcs[i] ?? [];
      row[j] = expected[i] === actual[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const ops: Array<{ kind: ' ' | '-' | '+'; text: string }> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      ops.push({ kind: ' ', text: expected[i] ?? '' });
      i++;
      j++;
    } else if (i < n && (j >= m || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) ops.push({ kind: '-', text: expected[i++] ?? '' });
    else ops.push({ kind: '+', text: actual[j++] ?? '' });
  }
  const near = ops.map((_, k) => ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.kind !== ' '));
  const out: string[] = [];
  let skipped = false;
  ops.forEach((o, k) => {
    if (near[k]) {
      out.push(`${o.kind} ${o.text}`);
      skipped = false;
    } else if (!skipped) {
      out.push('  ...');
      skipped = true;
    }
  });
  return out;
}
