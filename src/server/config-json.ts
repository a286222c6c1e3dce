/**
 * A configuration file as JSON text: where each key stands (line and column, for error messages
 * that point into the file), keys given twice, and syntax errors located by line and column with
 * the offending line quoted — `JSON.parse` alone reports a character offset at best.
 *
 * `JSON.parse` stays the authority on the value; the scanner here follows RFC 8259 to find
 * positions and to explain a refusal. Should the two ever disagree, `JSON.parse`'s own message
 * is reported, so a scanner bug can cost a nice message, never a valid file.
 */

/** A place in a text file; both 1-based, the column counted in characters (code points). */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

/** A key present twice in one object (`JSON.parse` silently keeps the last). */
export interface DuplicateKey {
  /** The key's path, as {@link childPath} builds it. */
  readonly path: string;
  readonly first: TextPosition;
  readonly again: TextPosition;
}

/** Where the parts of a parsed JSON text stand. */
export interface JsonLayout {
  /**
   * Where the part at `path` ({@link childPath}, {@link itemPath}; the root is `''`) starts: an
   * object member at its key's opening quote, an array element at its first character.
   * Undefined for a path not in the text (or in a text nested too deep to map).
   */
  position(path: string): TextPosition | undefined;
  readonly duplicates: readonly DuplicateKey[];
}

/** A text that is not JSON: what was wrong, where, and the line it is on with a caret under it. */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(
    message: string,
    /** Unknown only when `JSON.parse` refused what the scanner accepted and named no offset. */
    readonly position: TextPosition | undefined,
    /** The offending line and a caret, indented, for printing under the message; '' when unknown. */
    readonly excerpt: string,
  ) {
    super(message);
  }
}

/** The path of member `key` of the object at `parent` (`nodes[1].address`; `tickMs` at the root). */
export function childPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** The path of element `index` of the array at `parent` (`nodes[1]`). */
export function itemPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/**
 * Parses `text` (a leading byte-order mark is ignored, as editors write one) and maps where its
 * keys stand. Throws {@link JsonSyntaxError} when it is not JSON.
 */
export function parseJsonWithLayout(text: string): { value: unknown; layout: JsonLayout } {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = new LineIndex(body);
  const scanner = new Scanner(body);
  let scanned = true;
  try {
    scanner.document();
  } catch (err) {
    if (err instanceof ScanError) throw new JsonSyntaxError(err.message, lines.at(err.offset), lines.excerpt(err.offset));
    if (!(err instanceof TooDeep)) throw err;
    scanned = false; // JSON.parse decides alone; the errors just carry no line numbers
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw engineError(err as Error, lines);
  }
  if (!scanned) return { value, layout: { position: () => undefined, duplicates: [] } };
  const duplicates = scanner.duplicates.map((d) => ({ path: d.path, first: lines.at(d.first), again: lines.at(d.again) }));
  // Lines and columns only for what is asked (the keys of problems): counting characters up to
  // every key of a long minified line would cost its length once per key.
  const position = (path: string): TextPosition | undefined => {
    const offset = scanner.positions.get(path);
    return offset === undefined ? undefined : lines.at(offset);
  };
  return { value, layout: { position, duplicates } };
}

/** `JSON.parse`'s refusal of a text the scanner accepted (a scanner bug): its own words. */
function engineError(err: Error, lines: LineIndex): JsonSyntaxError {
  const offset = /at position (\d+)/.exec(err.message)?.[1];
  if (offset === undefined) return new JsonSyntaxError(err.message, undefined, '');
  return new JsonSyntaxError(err.message, lines.at(Number(offset)), lines.excerpt(Number(offset)));
}

/** Characters (code points) in `s`: its length, less one per surrogate pair. */
function characters(s: string): number {
  // Spreading into code points costs an allocation per character; most lines need none.
  return /[\uD800-\uDFFF]/.test(s) ? [...s].length : s.length;
}

/** Offsets to lines and columns, and the quoted line of an error. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let k = text.indexOf('\n'); k >= 0; k = text.indexOf('\n', k + 1)) this.starts.push(k + 1);
  }

  private lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  at(offset: number): TextPosition {
    const line = this.lineOf(offset);
    return { line: line + 1, column: characters(this.text.slice(this.starts[line], offset)) + 1 };
  }

  /** The line holding `offset` (cut to a window around it when long) and a caret under it. */
  excerpt(offset: number): string {
    const line = this.lineOf(offset);
    const start = this.starts[line] as number;
    const end = this.text.indexOf('\n', start);
    const chars = [...this.text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '')].map((c) => (c < ' ' ? ' ' : c));
    let column = characters(this.text.slice(start, offset));
    let shown = chars;
    const [before, after] = [30, 50];
    if (chars.length > before + after && column > before) {
      shown = ['…', ...chars.slice(column - before)];
      column = before + 1;
    }
    if (shown.length > before + after) shown = [...shown.slice(0, before + after), '…'];
    return `    ${shown.join('')}\n    ${' '.repeat(column)}^`;
  }
}

/** A syntax error at `offset`, thrown inside the scanner only. */
class ScanError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Nesting beyond what a configuration has: left to `JSON.parse` (no deep recursion here). */
class TooDeep extends Error {}

const MAX_DEPTH = 100;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD = /[A-Za-z_$][\w$]*/y;

/** What a character is, for a message: itself when printable, else its code point. */
function shown(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code > 0x20 && code < 0x7f ? `'${c}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A recursive-descent check of RFC 8259 JSON that records where keys and elements start. */
class Scanner {
  private pos = 0;
  readonly positions = new Map<string, number>();
  readonly duplicates: { path: string; first: number; again: number }[] = [];

  constructor(private readonly text: string) {}

  document(): void {
    this.space();
    if (this.pos === this.text.length) throw new ScanError(0, 'the file is empty: expected a JSON object { … }');
    this.value('', 0);
    this.space();
    if (this.pos < this.text.length) {
      this.fail(`unexpected ${shown(this.peek())} after the end of the JSON value (the outermost object is closed already)`);
    }
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private fail(message: string, at = this.pos): never {
    throw new ScanError(at, message);
  }

  /** Skips whitespace; refuses comments, the most common non-JSON a hand-written file has. */
  private space(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (c === '/' && (this.text[this.pos + 1] === '/' || this.text[this.pos + 1] === '*'))
        this.fail('comments are not allowed in JSON: remove it');
      else return;
    }
  }

  private value(path: string, depth: number): void {
    if (depth > MAX_DEPTH) throw new TooDeep();
    this.space();
    this.positions.set(path, this.pos);
    const c = this.peek();
    if (c === '{') this.object(path, depth);
    else if (c === '[') this.array(path, depth);
    else if (c === '"') this.string();
    else if (c === '-' || (c >= '0' && c <= '9')) this.number();
    else if (/[A-Za-z_$]/.test(c)) this.word();
    else if (c === '') this.fail('unexpected end of file: expected a value');
    else if (c === "'") this.fail('strings take double quotes in JSON: "…", not \'…\'');
    else this.fail(`unexpected ${shown(c)}: expected a value (a string in double quotes, a number, true, false, null, { … } or [ … ])`);
  }

  private object(path: string, depth: number): void {
    const open = this.pos++;
    const seen = new Map<string, number>();
    this.space();
    if (this.peek() === '}') {
      this.pos++;
      return;
    }
    let comma = -1;
    for (;;) {
      this.space();
      const key = this.key(open, comma);
      const child = childPath(path, key.text);
      const first = seen.get(key.text);
      if (first !== undefined) this.duplicates.push({ path: child, first, again: key.at });
      seen.set(key.text, key.at);
      this.space();
      if (this.peek() !== ':') this.fail(`expected ':' after the key ${JSON.stringify(key.text)}`);
      this.pos++;
      this.value(child, depth + 1);
      this.positions.set(child, key.at); // a member is found by its key, not its value
      this.space();
      const c = this.peek();
      if (c === '}') {
        this.pos++;
        return;
      }
      if (c !== ',') this.unclosed(open, '}', `the value of ${JSON.stringify(key.text)}`);
      comma = this.pos++;
    }
  }

  /** An object's key, where the object (opened at `open`) expects one; `comma` precedes it. */
  private key(open: number, comma: number): { text: string; at: number } {
    const at = this.pos;
    const c = this.peek();
    if (c === '"') return { text: this.string(), at };
    if (c === '}' && comma >= 0) this.fail('a trailing comma is not allowed in JSON: remove it', comma);
    if (c === '') this.unclosed(open, '}', 'a member');
    if (c === "'") this.fail('keys take double quotes in JSON: "…", not \'…\'');
    WORD.lastIndex = this.pos;
    const word = WORD.exec(this.text)?.[0];
    if (word !== undefined) this.fail(`keys must be strings in double quotes: write "${word}"`);
    return this.fail(`unexpected ${shown(c)}: expected a key in double quotes`);
  }

  private array(path: string, depth: number): void {
    const open = this.pos++;
    this.space();
    if (this.peek() === ']') {
      this.pos++;
      return;
    }
    let comma = -1;
    for (let index = 0; ; index++) {
      this.space();
      if (this.peek() === ']' && comma >= 0) this.fail('a trailing comma is not allowed in JSON: remove it', comma);
      this.value(itemPath(path, index), depth + 1);
      this.space();
      const c = this.peek();
      if (c === ']') {
        this.pos++;
        return;
      }
      if (c !== ',') this.unclosed(open, ']', itemPath(path === '' ? '(root)' : path, index));
      comma = this.pos++;
    }
  }

  /** Fails where a container opened at `open` needed `,` or `close` after `after`. */
  private unclosed(open: number, close: '}' | ']', after: string): never {
    if (this.peek() === '') {
      const kind = close === '}' ? 'object' : 'array';
      return this.fail(`unexpected end of file: the ${kind} opened here is not closed with ${close}`, open);
    }
    return this.fail(`expected ',' or '${close}' after ${after}, found ${shown(this.peek())} (is a comma missing?)`);
  }

  /** A string, checked and decoded (keys are compared decoded, as JSON.parse has them). */
  private string(): string {
    const open = this.pos++;
    for (;;) {
      const c = this.peek();
      if (c === '"') break;
      if (c === '') this.fail('unexpected end of file: the string opened here is not closed with "', open);
      if (c < ' ') this.fail('a raw control character (a line break or tab) inside a string: write it as \\n or \\t');
      if (c === '\\') {
        const e = this.text[this.pos + 1] ?? '';
        if (e === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) this.fail('\\u must be followed by 4 hex digits');
          this.pos += 6;
          continue;
        }
        if (e === '') this.fail('unexpected end of file: the string opened here is not closed with "', open);
        if (!'"\\/bfnrt'.includes(e)) this.fail(`invalid escape \\${e}: JSON knows \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX`);
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.pos++;
    return JSON.parse(this.text.slice(open, this.pos)) as string;
  }

  private number(): void {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    const end = m === null ? this.pos : this.pos + m[0].length;
    const next = this.text[end] ?? '';
    if (m === null || /[0-9.eE+-]/.test(next))
      this.fail('not a valid JSON number: no leading zeros, +, NaN or Infinity, and digits on both sides of a "."');
    this.pos = end;
  }

  private word(): void {
    WORD.lastIndex = this.pos;
    const word = WORD.exec(this.text)?.[0] ?? '';
    if (word !== 'true' && word !== 'false' && word !== 'null')
      this.fail(`${word} is not a JSON value: strings take double quotes ("${word}"); the literals are true, false and null`);
    this.pos += word.length;
  }
}
