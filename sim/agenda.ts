/**
 * The simulator's agenda: what happens next in simulated time. A binary heap of (time, insertion
 * order) → action, so two things due at the same millisecond run in the order they were scheduled
 * and a run is the same every time for the same seed. Owns nothing but the queue and the clock.
 */

interface Entry {
  atMs: number;
  seq: number;
  run: () => void;
}

export class Agenda {
  private readonly heap: Entry[] = [];
  private seq = 0;
  /** The simulated time of the action running now (or of the last one run). */
  nowMs: number;

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Runs `run` at `atMs`, rounded to the millisecond (never in the past: an earlier time runs now, after what is due now). */
  at(atMs: number, run: () => void): void {
    const entry: Entry = { atMs: Math.max(Math.round(atMs), this.nowMs), seq: this.seq++, run };
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry;
      if (p.atMs < entry.atMs || (p.atMs === entry.atMs && p.seq < entry.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  /** Runs `run` after `delayMs` of simulated time. */
  after(delayMs: number, run: () => void): void {
    this.at(this.nowMs + delayMs, run);
  }

  /** Runs every action due up to `untilMs` in order; later ones stay queued. Returns how many ran. */
  runUntil(untilMs: number): number {
    let ran = 0;
    const heap = this.heap;
    while (heap.length > 0 && (heap[0] as Entry).atMs <= untilMs) {
      const top = this.pop();
      this.nowMs = top.atMs;
      top.run();
      ran++;
    }
    if (this.nowMs < untilMs) this.nowMs = untilMs;
    return ran;
  }

  /** The time of the next action, if any. */
  nextAtMs(): number | undefined {
    return this.heap[0]?.atMs;
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0] as Entry;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        const left = heap[l] as Entry;
        if (r < n) {
          const right = heap[r] as Entry;
          if (right.atMs < left.atMs || (right.atMs === left.atMs && right.seq < left.seq)) c = r;
        }
        const child = heap[c] as Entry;
        if (last.atMs < child.atMs || (last.atMs === child.atMs && last.seq < child.seq)) break;
        heap[i] = child;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}
