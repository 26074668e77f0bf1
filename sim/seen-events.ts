/**
 * The events of one warehouse the simulator's NATS engine has handed on, by (seq, index), the most
 * recent SEEN_EVENTS_MAX of them: an event published again (after a recovery or a broken
 * connection) is a repeat if it is here, and a late original if not, which the per-type high-water
 * mark alone cannot tell when a message sent again arrives after newer ones. Pure bookkeeping.
 */

/** Events remembered per warehouse: far more than a minute of one warehouse's events in any run. */
export const SEEN_EVENTS_MAX = 100_000;

/**
 * Room for a command's events in a key: a tick that expires tens of thousands of reservations can give
 * one command more than 65,536 events, so 2^24; keys stay exact integers while seq < 2^29.
 */
const INDEX_SPAN = 2 ** 24;

export class SeenEvents {
  private readonly seen = new Set<number>();
  private readonly order: number[] = [];
  private head = 0;

  constructor(private readonly max = SEEN_EVENTS_MAX) {}

  has(seq: number, index: number): boolean {
    return this.seen.has(seq * INDEX_SPAN + index);
  }

  add(seq: number, index: number): void {
    const key = seq * INDEX_SPAN + index;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.order.push(key);
    if (this.seen.size > this.max) this.seen.delete(this.order[this.head++] as number);
    if (this.head > 4_096 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }
}
