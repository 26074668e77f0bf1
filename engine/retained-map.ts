/**
 * A map whose entries are forgotten in insertion order: after a retention window of command time,
 * or early, oldest first, when it holds more than its bound. Used for idempotency records, receipt
 * ids and closed-reservation tombstones.
 *
 * Why not a plain Map used as a queue: V8 leaves a hole for every deleted entry until it rehashes,
 * and `map.keys().next()` walks those holes from the front, so evicting the oldest entry of a busy
 * Map costs time proportional to what was evicted before (measured: 80 µs per command after a
 * million). Here the order lives in arrays with a moving head, so eviction is O(1), and the
 * insertion times in a parallel array, so the retention check before every command reads a number.
 *
 * Why not a Map for the lookup either: every command looks its key up, and nearly every lookup
 * misses (a new key). A V8 Map of tens of thousands of string keys misses in ~1 µs, most of it cache
 * misses on its buckets, its entries and the key strings it compares. The index here is an
 * open-addressing table in typed arrays holding each key's 32-bit hash and its entry's position: a
 * miss reads one or two slots of an Int32Array and never touches a string, and a hit compares one
 * key. Linear probing with backward-shift deletion (no tombstones), load at most one half.
 *
 * Insertion times must not decrease (command time never goes back). Entries are never deleted
 * otherwise, so every key between the head and the end of `keys` is in the map exactly once.
 */

/** Slots of a new table (a power of two). */
const SLOTS_MIN = 1_024;

/** FNV-1a over the key's UTF-16 code units, never 0 (0 marks an empty slot). */
export function keyHash(key: string): number {
  // As a 32-bit signed integer from the start, as the table stores it (the empty key hashes to it).
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h === 0 ? 1 : h;
}

export class RetainedMap<V extends { atMs: number }> {
  /** Keys, values and insertion times in insertion order; the live ones from `head` on. */
  private keys: string[] = [];
  private vals: (V | undefined)[] = [];
  private times: number[] = [];
  /** Each entry's key hash, so that forgetting it finds its slot without reading the old key again. */
  private keyHashes: number[] = [];
  private head = 0;
  /** The absolute position (entries ever added before it) of `keys[0]`. */
  private base = 0;
  private live = 0;
  /** The index: per slot, the key's hash (0: empty) and its entry's absolute position. */
  private hashes = new Int32Array(SLOTS_MIN);
  private positions = new Float64Array(SLOTS_MIN);
  private mask = SLOTS_MIN - 1;
  /** The hash of the key last looked up: `add` after a missed `get` of the same key reuses it. */
  private lastKey: string | undefined;
  private lastHash = 0;
  /** Entries dropped before their retention ended because the map was full. */
  evictedEarly = 0;

  constructor(
    readonly retentionMs: number,
    readonly max: number,
    /** Called with each key as it is forgotten (to drop what hangs off it elsewhere). */
    private readonly onDrop?: (key: string) => void,
  ) {}

  get size(): number {
    return this.live;
  }

  /** Slots of the index now (twice the keys at most, 8 times at least, unless at its minimum). */
  get slots(): number {
    return this.hashes.length;
  }

  private hash(key: string): number {
    if (key === this.lastKey) return this.lastHash;
    const h = keyHash(key);
    this.lastKey = key;
    this.lastHash = h;
    return h;
  }

  get(key: string): V | undefined {
    const h = this.hash(key);
    const hashes = this.hashes;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const seen = hashes[i] as number;
      if (seen === 0) return undefined;
      if (seen === h) {
        const at = (this.positions[i] as number) - this.base;
        if (this.keys[at] === key) return this.vals[at];
      }
    }
  }

  /**
   * Adds an entry whose key the caller knows is absent (it just looked it up, or the key is unique
   * by construction): it does not look the key up again, on the hottest map of the core.
   */
  add(key: string, value: V): void {
    if ((this.live + 1) * 2 > this.hashes.length) this.resize(this.hashes.length * 2);
    const h = this.hash(key);
    let i = h & this.mask;
    while (this.hashes[i] !== 0) i = (i + 1) & this.mask;
    this.hashes[i] = h;
    this.positions[i] = this.base + this.keys.length;
    this.keys.push(key);
    this.vals.push(value);
    this.times.push(value.atMs);
    this.keyHashes.push(h);
    this.live++;
    if (this.live > this.max) {
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
    const key = this.keys[this.head] as string;
    this.unindex(this.keyHashes[this.head] as number, this.base + this.head);
    this.vals[this.head] = undefined;
    this.live--;
    // After a burst the table halves once it is less than 1/8 full (it doubles past 1/2).
    if (this.live * 8 < this.hashes.length && this.hashes.length > SLOTS_MIN) this.resize(this.hashes.length / 2);
    this.onDrop?.(key);
    this.head++;
    if (this.head >= 1_024 && this.head * 2 >= this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.vals = this.vals.slice(this.head);
      this.times = this.times.slice(this.head);
      this.keyHashes = this.keyHashes.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  /** Removes the slot of the entry at absolute `position`, shifting back what probed past it. */
  private unindex(h: number, position: number): void {
    const hashes = this.hashes;
    const positions = this.positions;
    const mask = this.mask;
    let hole = h & mask;
    while (!(hashes[hole] === h && positions[hole] === position)) {
      // An entry always has its slot: an empty one before it would be a bug, never a reason to loop.
      if (hashes[hole] === 0) throw new Error(`RetainedMap: no slot for the entry at ${position}`);
      hole = (hole + 1) & mask;
    }
    for (let j = (hole + 1) & mask; hashes[j] !== 0; j = (j + 1) & mask) {
      // The entry at j may fill the hole unless its home slot lies cyclically in (hole, j].
      const home = (hashes[j] as number) & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      hashes[hole] = hashes[j] as number;
      positions[hole] = positions[j] as number;
      hole = j;
    }
    hashes[hole] = 0;
  }

  /** Moves every slot into a table of `size` slots by the hash it keeps (no key is hashed again). */
  private resize(size: number): void {
    const oldHashes = this.hashes;
    const oldPositions = this.positions;
    this.hashes = new Int32Array(size);
    this.positions = new Float64Array(size);
    this.mask = size - 1;
    for (let s = 0; s < oldHashes.length; s++) {
      const h = oldHashes[s] as number;
      if (h === 0) continue;
      let i = h & this.mask;
      while (this.hashes[i] !== 0) i = (i + 1) & this.mask;
      this.hashes[i] = h;
      this.positions[i] = oldPositions[s] as number;
    }
  }

  /** Entries oldest first. */
  *entries(): IterableIterator<[string, V]> {
    for (let i = this.head; i < this.keys.length; i++) yield [this.keys[i] as string, this.vals[i] as V];
  }

  /** Values oldest first. */
  *values(): IterableIterator<V> {
    for (let i = this.head; i < this.keys.length; i++) yield this.vals[i] as V;
  }
}
