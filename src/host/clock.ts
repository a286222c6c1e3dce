/**
 * Time as the host sees it: injected, so that simulations run on virtual time and real nodes on
 * the wall clock. The Raft core itself never sees this; it only gets ticks.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; never decreases. */
  now(): number;
}

/** The wall clock (monotonic within the process). */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};

/** A clock moved by hand (tests, simulation). */
export class ManualClock implements Clock {
  constructor(private time = 0) {}

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    if (ms < 0) throw new RangeError('ManualClock cannot go backwards');
    this.time += ms;
  }

  set(ms: number): void {
    if (ms < this.time) throw new RangeError('ManualClock cannot go backwards');
    this.time = ms;
  }
}
