/**
 * The names of a table in order, for listing a page from any point and for snapshots, without
 * sorting the whole table each time: a list of sorted chunks, each at most
 * {@link MAX_CHUNK} names. Adding or removing a name costs a binary search over the chunks and
 * a splice within one chunk, so a table of a million counters keeps its index for a few µs per
 * new or deleted name, and a page of listing starts with two binary searches.
 *
 * Order: JavaScript's string order (UTF-16 code units), the order snapshots use. A derived
 * index, never part of a snapshot: every table rebuilds it as it restores.
 */
import { MAX_LIST_NAME_BYTES, utf8Length, type ListPage } from '../protocol/index.js';

/** Most names in one chunk: splices stay short, and the chunk list stays a few thousand long. */
const MAX_CHUNK = 512;

export class SortedNames {
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `name` (which must not be present). Appending names in order is the fast path (restore). */
  add(name: string): void {
    this.count++;
    const chunks = this.chunks;
    const last = chunks[chunks.length - 1];
    if (last === undefined) {
      chunks.push([name]);
      return;
    }
    let c = chunks.length - 1;
    if (name < (last[last.length - 1] as string)) c = this.chunkFor(name);
    const chunk = chunks[c] as string[];
    chunk.splice(lowerBound(chunk, name), 0, name);
    if (chunk.length > MAX_CHUNK) chunks.splice(c + 1, 0, chunk.splice(MAX_CHUNK >> 1));
  }

  /** Removes `name`; nothing if it is absent. */
  delete(name: string): void {
    if (this.count === 0) return;
    const c = this.chunkFor(name);
    const chunk = this.chunks[c] as string[];
    const k = lowerBound(chunk, name);
    if (chunk[k] !== name) return;
    this.count--;
    chunk.splice(k, 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
  }

  /** Every name, in order. */
  *all(): IterableIterator<string> {
    for (const chunk of this.chunks) yield* chunk;
  }

  /**
   * The names that start with `prefix` and come after `after` (exclusive; all of them when
   * undefined), in order: what a page of a listing walks.
   */
  *from(prefix: string, after: string | undefined): IterableIterator<string> {
    const start = after !== undefined && after >= prefix ? after : prefix;
    const strict = after !== undefined && after >= prefix;
    let c = this.chunkFor(start);
    let k = lowerBound(this.chunks[c] ?? [], start);
    for (; c < this.chunks.length; c++, k = 0) {
      const chunk = this.chunks[c] as string[];
      for (; k < chunk.length; k++) {
        const name = chunk[k] as string;
        if (strict && name === start) continue;
        if (!name.startsWith(prefix)) return;
        yield name;
      }
    }
  }

  /** Index of the chunk where `name` is or would go: the first whose last name is ≥ it (or the last chunk). */
  private chunkFor(name: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid] as string[];
      if ((chunk[chunk.length - 1] as string) < name) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo);
  }
}

/** First position in sorted `a` whose name is ≥ `name`. */
function lowerBound(a: readonly string[], name: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as string) < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One page of a listing from `names` (already from the right point): at most `limit` items and
 * about {@link MAX_LIST_NAME_BYTES} of names, with `next` set when another name follows.
 */
export function takePage<T>(names: Iterator<string>, limit: number, item: (name: string) => T): ListPage<T> {
  const items: T[] = [];
  let bytes = 0;
  let last: string | undefined;
  for (let r = names.next(); !r.done; r = names.next()) {
    if (items.length >= limit || bytes >= MAX_LIST_NAME_BYTES) return last === undefined ? { items } : { items, next: last };
    items.push(item(r.value));
    bytes += utf8Length(r.value);
    last = r.value;
  }
  return { items };
}
