/**
 * When a warehouse that gave up publishing its events (past the unacknowledged byte bound, see
 * `event-resend.ts`) is reopened to catch up: the region checks every `CATCH_UP_CHECK_MS`, and
 * reopens a warehouse that gave up once the stream takes messages again. A warehouse that has to
 * catch up again soon after (the stream failing again) waits twice as long each time, up to
 * `CATCH_UP_DELAY_MAX_MS`, since each reopening replays its log on the region's thread; one that
 * stayed caught up through a check starts over. Pure bookkeeping: the region reopens.
 */

/** How often the region looks for warehouses that gave up. */
export const CATCH_UP_CHECK_MS = 30_000;
/** Longest wait between two catch-ups of one warehouse. */
export const CATCH_UP_DELAY_MAX_MS = 10 * 60_000;

export class CatchUpSchedule {
  /** Per warehouse caught up before: when it may be again, and the wait that set it. */
  private readonly next = new Map<string, { atMs: number; delayMs: number }>();

  constructor(private readonly baseDelayMs = CATCH_UP_CHECK_MS) {}

  /**
   * Of the warehouses that gave up (`gaveUp`), those whose catch-up is due at `nowMs`. A warehouse
   * caught up before that is not among them stayed caught up: its wait starts over.
   */
  due(gaveUp: readonly string[], nowMs: number): string[] {
    for (const warehouseId of [...this.next.keys()]) if (!gaveUp.includes(warehouseId)) this.next.delete(warehouseId);
    return gaveUp.filter((warehouseId) => (this.next.get(warehouseId)?.atMs ?? nowMs) <= nowMs);
  }

  /** The warehouse is being caught up at `nowMs`: the next time waits twice the last wait (bounded). */
  started(warehouseId: string, nowMs: number): void {
    const last = this.next.get(warehouseId)?.delayMs;
    const delayMs = last === undefined ? this.baseDelayMs : Math.min(last * 2, CATCH_UP_DELAY_MAX_MS);
    this.next.set(warehouseId, { atMs: nowMs + delayMs, delayMs });
  }
}
