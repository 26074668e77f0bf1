/**
 * The simulator's agenda: what happens next in simulated time, on the engine's timer heap ordered
 * by (time, insertion order), so two things due at the same millisecond run in the order they were
 * scheduled and a run is the same every time for the same seed. Owns nothing but the queue and the
 * clock.
 */
import { type TimerEntry, TimerHeap } from '../engine/index.ts';

interface Action extends TimerEntry {
  run: () => void;
}

export class Agenda {
  private readonly heap = new TimerHeap<Action>();
  private seq = 0;
  /** The simulated time of the action running now (or of the last one run). */
  nowMs: number;

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  get size(): number {
    return this.heap.size;
  }

  /**
   * Runs `run` at `atMs`, rounded up to the whole millisecond (so when it runs, the clock has reached
   * `atMs`: a check of `now < atMs` in it cannot find itself early and loop), never in the past (an
   * earlier time runs now, after what is due now).
   */
  at(atMs: number, run: () => void): void {
    this.heap.push({ deadlineMs: Math.max(Math.ceil(atMs), this.nowMs), order: this.seq++, id: '', run });
  }

  /** Runs `run` after `delayMs` of simulated time. */
  after(delayMs: number, run: () => void): void {
    this.at(this.nowMs + delayMs, run);
  }

  /** Runs every action due up to `untilMs` in order; later ones stay queued. Returns how many ran. */
  runUntil(untilMs: number): number {
    let ran = 0;
    const heap = this.heap;
    for (let next = heap.peek(); next !== undefined && next.deadlineMs <= untilMs; next = heap.peek()) {
      heap.pop();
      this.nowMs = next.deadlineMs;
      next.run();
      ran++;
    }
    if (this.nowMs < untilMs) this.nowMs = untilMs;
    return ran;
  }

  /** The time of the next action, if any. */
  nextAtMs(): number | undefined {
    return this.heap.peek()?.deadlineMs;
  }
}
