/**
 * The ordered name index (src/state-machine/sorted-names.ts) against a sorted array: random
 * adds and deletes over a small alphabet (so prefixes, neighbours and duplicates are common),
 * enough names to split and empty chunks, and after every step the whole order and a page
 * from a random (prefix, after) must be the array's.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { SortedNames } from '../../src/state-machine/sorted-names.js';
import { same } from './check.js';

const arbName = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', '\u{1F600}'), minLength: 1, maxLength: 4 });

type Step =
  | { readonly op: 'add'; readonly name: string }
  | { readonly op: 'delete'; readonly name: string }
  | { readonly op: 'page'; readonly prefix: string; readonly after?: string };

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('add' as const), name: arbName }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), name: arbName }) },
  {
    weight: 1,
    arbitrary: fc.record(
      { op: fc.constant('page' as const), prefix: fc.oneof(fc.constant(''), arbName), after: arbName },
      { requiredKeys: ['op', 'prefix'] },
    ),
  },
);

function expectedPage(names: readonly string[], prefix: string, after: string | undefined): string[] {
  return names.filter((n) => n.startsWith(prefix) && (after === undefined || n > after));
}

describe('SortedNames ≡ a sorted array', () => {
  it('keeps every name in order and pages from any (prefix, after)', () => {
    fc.assert(
      fc.property(fc.array(arbStep, { maxLength: 400 }), fc.integer({ min: 0, max: 2000 }), (steps, bulk) => {
        const index = new SortedNames();
        const model = new Set<string>();
        // Many ordered names first, so chunks split; then the random steps move among them.
        for (let k = 0; k < bulk; k++) {
          const name = `b${String(k).padStart(5, '0')}`;
          index.add(name);
          model.add(name);
        }
        for (const step of steps) {
          if (step.op === 'add') {
            if (!model.has(step.name)) index.add(step.name);
            model.add(step.name);
          } else if (step.op === 'delete') {
            index.delete(step.name);
            model.delete(step.name);
          } else {
            const { prefix, after } = step;
            const sorted = [...model].sort();
            same([...index.from(prefix, after)], expectedPage(sorted, prefix, after), `page ${JSON.stringify(step)}`);
          }
          same(index.size, model.size, 'size');
        }
        same([...index.all()], [...model].sort(), 'order');
      }),
      { numRuns: 300 },
    );
  });

  it('deletes down to empty and grows again', () => {
    const index = new SortedNames();
    const names = Array.from({ length: 3000 }, (_, k) => `n${(k * 7919) % 3000}`);
    for (const n of names) index.add(n);
    same([...index.all()], [...names].sort(), 'after shuffled adds');
    for (const n of names) index.delete(n);
    same(index.size, 0, 'size after deleting all');
    same([...index.from('', undefined)], [], 'empty page');
    index.add('x');
    same([...index.all()], ['x'], 'after regrowth');
  });
});
