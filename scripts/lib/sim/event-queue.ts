/** The simulator's agenda: events ordered by virtual time, ties broken by insertion order, so a run is a pure function of its seed. */
export interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly label: string;
  readonly run: () => void;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, label: string, run: () => void): void {
    const ev: SimEvent = { time, seq: this.seq++, label, run };
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent];
      if (p === undefined || !before(ev, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best: SimEvent = last;
      const lv = h[l];
      const rv = h[r];
      if (lv !== undefined && before(lv, best)) {
        m = l;
        best = lv;
      }
      if (rv !== undefined && before(rv, best)) {
        m = r;
        best = rv;
      }
      if (m === i) break;
      h[i] = best;
      i = m;
    }
    h[i] = last;
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
