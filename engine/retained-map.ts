/**
 * A map whose entries are forgotten in insertion order: after a retention window of command time,
 * or early, oldest first, when it holds more than its bound. Used for idempotency records, receipt
 * ids and closed-reservation tombstones.
 *
 * Why not a plain Map used as a queue: V8 leaves a hole for every deleted entry until it rehashes,
 * and `map.keys().next()` walks those holes from the front, so evicting the oldest entry of a busy
 * Map costs time proportional to what was evicted before (measured: 80 µs per command after a
 * million). Here the order lives in an array with a moving head, so eviction is O(1), and the
 * insertion times in a parallel array, so the retention check before every command reads a number
 * instead of looking the oldest key up (three lookups per command on maps of a million keys).
 * Insertion times must not decrease (command time never goes back). Entries are never deleted
 * otherwise, so every key between the head and the end of `order` is in the map exactly once.
 */

export class RetainedMap<V extends { atMs: number }> {
  private readonly map = new Map<string, V>();
  private order: string[] = [];
  /** `times[i]` is the `atMs` of the entry `order[i]` when it was added. */
  private times: number[] = [];
  private head = 0;
  /** Entries dropped before their retention ended because the map was full. */
  evictedEarly = 0;

  constructor(
    readonly retentionMs: number,
    readonly max: number,
    /** Called with each key as it is forgotten (to drop what hangs off it elsewhere). */
    private readonly onDrop?: (key: string) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  /**
   * Adds an entry whose key the caller knows is absent (it just looked it up, or the key is unique
   * by construction): it does not look the key up again, on the hottest map of the core.
   */
  add(key: string, value: V): void {
    this.order.push(key);
    this.times.push(value.atMs);
    this.map.set(key, value);
    if (this.map.size > this.max) {
      this.dropOldest();
      this.evictedEarly++;
    }
  }

  /** Forgets every entry older than the retention window at command time `atMs`. */
  prune(atMs: number): void {
    // Not cached in a local: dropping the oldest may compact `times` into a new array.
    while (this.head < this.times.length && atMs - (this.times[this.head] as number) > this.retentionMs) {
      this.dropOldest();
    }
  }

  private dropOldest(): void {
    const key = this.order[this.head] as string;
    this.map.delete(key);
    this.onDrop?.(key);
    this.head++;
    if (this.head >= 1_024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  /** Entries oldest first. */
  *entries(): IterableIterator<[string, V]> {
    for (let i = this.head; i < this.order.length; i++) {
      const key = this.order[i] as string;
      yield [key, this.map.get(key) as V];
    }
  }

  /** Values oldest first. */
  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }
}
