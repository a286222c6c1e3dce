/**
 * Tests of the scenario runner itself: strict parsing with located errors, the rewrite round
 * trip, extension commands and the readable diff.
 */
import { describe, expect, it } from 'vitest';
import { describeMismatches, lineDiff, parseScript, renderScript, runScript, ScriptError } from './runner.js';

const parseError = (text: string): string => {
  try {
    parseScript(text, 'x.txt');
  } catch (e) {
    expect(e).toBeInstanceOf(ScriptError);
    return (e as Error).message;
  }
  throw new Error('expected a parse error');
};

describe('scenario runner', () => {
  it('rejects unknown commands and options, naming file and line', () => {
    expect(parseError('add-nodes 3\n----\nok\n\nfrobnicate 1\n----\nok\n')).toMatch(/^x\.txt:5: unknown command 'frobnicate'/);
    expect(parseError('add-nodes 3 pre-vote=true\n----\nok\n')).toMatch(
      /^x\.txt:1: unknown option 'pre-vote' for 'add-nodes' \(allowed: .*prevote/,
    );
    expect(parseError('heal now=true\n----\nok\n')).toMatch(/^x\.txt:1: unknown option 'now' for 'heal' \(it takes none/);
  });

  it('rejects malformed values and argument counts', () => {
    expect(parseError('add-nodes three\n----\nok\n')).toMatch(/x\.txt:1: 'add-nodes': argument 1: expected a non-negative integer/);
    expect(parseError('add-nodes 3 prevote=yes\n----\nok\n')).toMatch(/option 'prevote' of 'add-nodes': expected true or false/);
    expect(parseError('deliver-msgs type=vote-reply\n----\nok\n')).toMatch(/unknown message type 'vote-reply'/);
    expect(parseError('tick 1 2 3\n----\nok\n')).toMatch(/unexpected argument '3'/);
    expect(parseError('campaign\n----\nok\n')).toMatch(/missing id argument/);
    expect(parseError('set-log 1\n----\nok\n')).toMatch(/needs option 'terms='/);
    expect(parseError('set-log 1 terms=(1,x)\n----\nok\n')).toMatch(/expected a list like/);
    expect(parseError('tick 1 terms=(1\n----\nok\n')).toMatch(/unbalanced '\('/);
  });

  it('requires ---- unless rewriting', () => {
    expect(parseError('add-nodes 3\n\ncampaign 1\n----\nok\n')).toMatch(/^x\.txt:1: expected '----' after command 'add-nodes 3'/);
    const s = parseScript('add-nodes 3\n\ncampaign 1\n', 'x.txt', { allowMissingOutput: true });
    expect(s.blocks.map((b) => b.text)).toEqual(['add-nodes 3', 'campaign 1']);
  });

  it('fails a command naming a node that does not exist, at its line', () => {
    const s = parseScript('add-nodes 1\n----\nok\n\ncampaign 4\n----\nok\n', 'x.txt');
    expect(() => runScript(s)).toThrow(/^x\.txt:5: no node 4$/);
  });

  it('rewrites outputs and keeps comments; the result reads back identically', () => {
    const text = '# story\n\nadd-nodes 1\n\n# elect\ncampaign 1\n----\nstale\n\nraft-state\n\n# end\n';
    const script = parseScript(text, 'x.txt', { allowMissingOutput: true });
    const rewritten = renderScript(script, runScript(script));
    expect(rewritten).toBe(
      '# story\n\nadd-nodes 1\n----\nadded nodes 1 voters=[1]\n\n# elect\ncampaign 1\n----\nok\n\nraft-state\n----\n1: leader term=1 leader=1 commit=0 last=1\n\n# end\n',
    );
    const again = parseScript(rewritten, 'x.txt');
    const results = runScript(again);
    expect(describeMismatches(again, results)).toBeUndefined();
    expect(renderScript(again, results)).toBe(rewritten);
  });

  it('reports the first differing block with its location and a diff', () => {
    const script = parseScript(
      'add-nodes 2\n----\nadded nodes 1,2 voters=[1,2]\n\nraft-state\n----\n1: leader term=9 leader=1 commit=0 last=0\n2: follower term=0 leader=0 commit=0 last=0\n',
      'x.txt',
    );
    const report = describeMismatches(script, runScript(script));
    expect(report).toContain("x.txt:5: output of 'raft-state' differs");
    expect(report).toContain('- 1: leader term=9 leader=1 commit=0 last=0');
    expect(report).toContain('+ 1: follower term=0 leader=0 commit=0 last=0');
    expect(report).toContain('  2: follower term=0 leader=0 commit=0 last=0');
  });

  it('diffs lines with context and elision', () => {
    const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const b = ['a', 'b', 'c', 'd', 'X', 'f', 'g', 'h', 'i'];
    expect(lineDiff(a, b, 1)).toEqual(['  ...', '  d', '- e', '+ X', '  f', '  ...']);
  });

  it('delivers selectively, duplicates and delays', () => {
    const text = [
      'add-nodes 3',
      '',
      'campaign 1',
      '',
      'process-ready 1',
      '',
      'dup-msgs to=2',
      '',
      'delay-msgs to=3',
      '',
      'deliver-msgs reverse=true count=1',
      '',
      'show-msgs',
      '',
      'release-msgs',
      '',
      'show-msgs',
      '',
    ].join('\n');
    const script = parseScript(text, 'x.txt', { allowMissingOutput: true });
    const out = runScript(script).map((r) => r.actual.join('\n'));
    expect(out[3]).toBe('duplicated: 1->2 vote term=1 pre last=0/0');
    expect(out[4]).toBe('delayed: 1->3 vote term=1 pre last=0/0');
    expect(out[5]).toBe('1->2 vote term=1 pre last=0/0');
    expect(out[6]).toBe('queued: 1->2 vote term=1 pre last=0/0');
    expect(out[8]).toBe('queued: 1->2 vote term=1 pre last=0/0\nqueued: 1->3 vote term=1 pre last=0/0');
  });

  it('records a core invariant failure in the transcript', () => {
    const script = parseScript('add-nodes 1\n\nset-log 1 terms=(1) commit=5\n', 'x.txt', { allowMissingOutput: true });
    expect(runScript(script)[1]?.actual).toEqual([
      'error: raft invariant violated: stored commit 5 beyond last index 1: log truncated or lost?',
    ]);
  });
});
