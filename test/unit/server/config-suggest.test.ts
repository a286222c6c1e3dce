/**
 * "Did you mean …?" for unknown configuration keys: the edit distance (with adjacent swaps) and
 * which known key, if any, is offered.
 */
import { describe, expect, it } from 'vitest';
import { editDistance, suggest } from '../../../src/server/config-suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['tickMs', 'tickMs', 0],
    ['tikMs', 'tickMs', 1], // a deletion
    ['tickkMs', 'tickMs', 1], // an insertion
    ['tockMs', 'tickMs', 1], // a substitution
    ['tcikMs', 'tickMs', 1], // two neighbours swapped: one edit, not two
    ['ab', 'ba', 1],
    ['ca', 'abc', 3], // restricted: a swapped pair is not edited again
    ['kitten', 'sitting', 3],
  ])('%j → %j is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('suggest', () => {
  const TOP = ['clusterId', 'nodes', 'dataDir', 'tickMs', 'electionTicks', 'heartbeatTicks', 'secret', 'snapshotEvery', 'limits'];

  it.each([
    ['tickMS', 'tickMs'], // case alone never hides the key
    ['DATADIR', 'dataDir'],
    ['electonTicks', 'electionTicks'],
    ['heartbeatTick', 'heartbeatTicks'],
    ['node', 'nodes'],
    ['clusterID', 'clusterId'],
    ['snapshotEvry', 'snapshotEvery'],
    ['secert', 'secret'],
  ])('%s → %s', (typo, meant) => {
    expect(suggest(typo, TOP)).toBe(meant);
  });

  it.each([['ttl'], ['heartbeat'], ['x'.repeat(10_000)], ['id'], ['']])('nothing close to %j: no suggestion', (word) => {
    expect(suggest(word, TOP)).toBeUndefined();
  });

  it('short keys allow one edit only: two short words are not "near" each other', () => {
    expect(suggest('ab', ['id'])).toBeUndefined();
    expect(suggest('ix', ['id'])).toBe('id');
  });

  it('the nearest wins; a tie goes to the earlier candidate', () => {
    expect(suggest('nodez', ['nodes', 'node'])).toBe('nodes');
    expect(suggest('abcd', ['abce', 'abcf'])).toBe('abce');
    expect(suggest('adress', ['id', 'address'])).toBe('address');
  });
});
