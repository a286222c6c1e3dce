/**
 * A seed is a complete description of a run: the same options give the same events, the same
 * client history and the same verdict, which is what makes every failure replayable.
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../scripts/lib/sim/world.js';

describe('simulation determinism', () => {
  it.each([
    { seed: 7, nodes: 3 as const },
    { seed: 8, nodes: 5 as const },
    { seed: 9, nodes: 3 as const, bug: 'read-without-readindex' as const },
    { seed: 10, nodes: 3 as const, workload: 'locks' as const },
    { seed: 12, nodes: 5 as const, workload: 'locks' as const },
    { seed: 7, nodes: 3 as const, workload: 'locks' as const, bug: 'dedup-off' as const },
    { seed: 10, nodes: 3 as const, workload: 'permits' as const },
    { seed: 14, nodes: 5 as const, workload: 'permits' as const },
    { seed: 4, nodes: 3 as const, workload: 'permits' as const, bug: 'release-extra-permit' as const },
    { seed: 10, nodes: 3 as const, workload: 'elections' as const },
    { seed: 1, nodes: 3 as const, workload: 'elections' as const, bug: 'two-leaders' as const },
  ])('seed $seed replays exactly', (opts) => {
    const a = runSeed({ ...opts, events: 2000 });
    const b = runSeed({ ...opts, events: 2000 });
    expect(b.events).toBe(a.events);
    expect(b.livenessEvents).toBe(a.livenessEvents);
    expect(b.virtualMs).toBe(a.virtualMs);
    expect(b.history).toEqual(a.history);
    expect(b.violations).toEqual(a.violations);
    expect(a.history.length).toBeGreaterThan(20);
  });

  it('different seeds give different runs', () => {
    const a = runSeed({ seed: 1, nodes: 3, events: 2000 });
    const b = runSeed({ seed: 2, nodes: 3, events: 2000 });
    expect(b.history).not.toEqual(a.history);
  });

  it('different seeds give different runs (locks workload)', () => {
    const a = runSeed({ seed: 1, nodes: 3, events: 2000, workload: 'locks' });
    const b = runSeed({ seed: 2, nodes: 3, events: 2000, workload: 'locks' });
    expect(b.history).not.toEqual(a.history);
  });

  it('different seeds give different runs (permits workload)', () => {
    const a = runSeed({ seed: 1, nodes: 3, events: 2000, workload: 'permits' });
    const b = runSeed({ seed: 2, nodes: 3, events: 2000, workload: 'permits' });
    expect(b.history).not.toEqual(a.history);
  });

  it('different seeds give different runs (elections workload)', () => {
    const a = runSeed({ seed: 1, nodes: 3, events: 2000, workload: 'elections' });
    const b = runSeed({ seed: 2, nodes: 3, events: 2000, workload: 'elections' });
    expect(b.history).not.toEqual(a.history);
  });
});
