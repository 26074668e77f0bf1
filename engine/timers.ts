/**
 * The timers of a warehouse: a binary min-heap of (deadline, subject) entries, so that finding
 * what is due costs O(log n) per firing instead of a scan. Used for reservation expiry (subject: a
 * reservation) and for fulfilment deadlines (subject: an order or a courier). Entries are never
 * removed in place: an entry whose subject closed or moved its deadline is stale and skipped when it
 * surfaces (lazy deletion). Ties break on `order`, then on the id, so the pop order is a function
 * of the entries alone and replay fires them in the same order. Entries may carry more than the
 * ordering fields (the simulator's agenda keeps its actions in them).
 */

export interface TimerEntry {
  deadlineMs: number;
  /** Tie-breaker: for a reservation, the sequence number of the command that created it. */
  order: number;
  /** The subject: a reservation id, or a fulfilment timer's `kind|id`. */
  id: string;
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  if (a.deadlineMs !== b.deadlineMs) return a.deadlineMs < b.deadlineMs;
  if (a.order !== b.order) return a.order < b.order;
  return a.id < b.id;
}

export class TimerHeap<T extends TimerEntry = TimerEntry> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(entry: T): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (!before(entry, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Every entry, in no particular order (for invariant checks). */
  entries(): readonly T[] {
    return this.items;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    const n = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(items[right] as T, items[left] as T)) child = right;
      const c = items[child] as T;
      if (!before(c, last)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
