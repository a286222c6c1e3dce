/** FaultLayer rules: per peer and direction, drop probability, delay, one-way blocks. */
import { describe, expect, it } from 'vitest';
import { FaultLayer } from '../../../src/transport/fault-layer.js';

describe('FaultLayer', () => {
  it('delivers everything when no rule is set', () => {
    const f = new FaultLayer();
    expect(f.decide('send', 2)).toEqual({ deliver: true, delayMs: 0 });
    expect(f.decide('receive', 2)).toEqual({ deliver: true, delayMs: 0 });
  });

  it('blocks one way only', () => {
    const f = new FaultLayer();
    f.block(2, 'send');
    expect(f.decide('send', 2).deliver).toBe(false);
    expect(f.decide('receive', 2).deliver).toBe(true);
    expect(f.decide('send', 3).deliver).toBe(true);
    f.unblock(2);
    expect(f.decide('send', 2).deliver).toBe(true);
    expect(f.stats.blocked).toBe(1);
  });

  it('drops with the given probability, per peer overriding the default', () => {
    let r = 0;
    const f = new FaultLayer({ random: () => r });
    f.setDropProbability(0.5);
    f.setDropProbability(0.1, { peer: 3, direction: 'receive' });
    r = 0.3;
    expect(f.decide('send', 2).deliver).toBe(false);
    expect(f.decide('receive', 3).deliver).toBe(true);
    r = 0.05;
    expect(f.decide('receive', 3).deliver).toBe(false);
    r = 0.7;
    expect(f.decide('send', 2).deliver).toBe(true);
    expect(f.stats.dropped).toBe(2);
  });

  it('delays, and clear() removes every rule', () => {
    const f = new FaultLayer();
    f.setDelay(25, { peer: 2, direction: 'send' });
    expect(f.decide('send', 2)).toEqual({ deliver: true, delayMs: 25 });
    expect(f.decide('receive', 2)).toEqual({ deliver: true, delayMs: 0 });
    f.block(4);
    expect(f.settings().blocked.length).toBe(2);
    f.clear();
    expect(f.decide('send', 2)).toEqual({ deliver: true, delayMs: 0 });
    expect(f.decide('send', 4).deliver).toBe(true);
  });

  it('refuses nonsense settings', () => {
    const f = new FaultLayer();
    expect(() => f.setDropProbability(1.5)).toThrow(RangeError);
    expect(() => f.setDropProbability(Number.NaN)).toThrow(RangeError);
    expect(() => f.setDelay(-1)).toThrow(RangeError);
  });
});
