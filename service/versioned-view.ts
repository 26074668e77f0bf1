/**
 * A consumer's view of one warehouse's availability: per SKU, the `available` of the newest version
 * seen. An update applies only when its version is newer than the one held, so updates seen late,
 * twice or out of order end in the warehouse's own state (a SKU's version rises on every change of
 * the SKU, and one version is one state). A resync merges the answer of the warehouse's `changes`
 * query and moves the watermark: every change up to it is in the view. Bounded by VIEW_SKUS_MAX
 * SKUs; past it new SKUs are refused and counted. Pure: no I/O, time comes in as an argument.
 */
import { limits } from '../engine/index.ts';

/** Most SKUs one view holds: as many as a warehouse may have. */
export const VIEW_SKUS_MAX = limits.SKUS_PER_WAREHOUSE_MAX;

/** A SKU's availability at a version, as `availability.changed` events and the `changes` query carry it. */
export interface VersionedAvailability {
  sku: string;
  available: number;
  version: number;
}

/** The answer of a warehouse's `changes` query: what changed, and the warehouse's version. */
export interface ChangesAnswer {
  items: VersionedAvailability[];
  version: number;
}

export interface VersionedViewStats {
  applied: number;
  /** Updates not newer than what the view held (duplicates, late or out-of-order deliveries). */
  ignored: number;
  /** New SKUs refused because the view was full. */
  refused: number;
  resyncs: number;
}

export class VersionedView {
  private readonly entries = new Map<string, { available: number; version: number }>();
  /** SKU ids in order, rebuilt lazily after a SKU was added. */
  private sorted: string[] | undefined;
  /** The warehouse version of the last resync: every change up to it is in the view. */
  syncedVersion = 0;
  resyncedAtMs: number | undefined;
  readonly stats: VersionedViewStats = { applied: 0, ignored: 0, refused: 0, resyncs: 0 };

  constructor(
    readonly warehouseId: string,
    readonly skusMax = VIEW_SKUS_MAX,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(sku: string): VersionedAvailability | undefined {
    const held = this.entries.get(sku);
    return held === undefined ? undefined : { sku, available: held.available, version: held.version };
  }

  /** Applies an update if it is newer than what the view holds. Returns whether it applied. */
  apply(update: VersionedAvailability): boolean {
    const held = this.entries.get(update.sku);
    if (held !== undefined) {
      if (update.version <= held.version) {
        this.stats.ignored++;
        return false;
      }
      held.available = update.available;
      held.version = update.version;
    } else {
      if (this.entries.size >= this.skusMax) {
        this.stats.refused++;
        return false;
      }
      this.entries.set(update.sku, { available: update.available, version: update.version });
      this.sorted = undefined;
    }
    this.stats.applied++;
    return true;
  }

  /**
   * Merges a `changes` answer asked at `askedAtMs` (for the changes since `syncedVersion`) and moves
   * the watermark. Returns false, changing nothing, when the answer's version is behind the watermark:
   * the warehouse started over from an empty state, and the caller should `clear` and resync from 0.
   */
  resync(answer: ChangesAnswer, askedAtMs: number, complete = true): boolean {
    if (answer.version < this.syncedVersion) return false;
    for (const item of answer.items) this.apply(item);
    this.syncedVersion = answer.version;
    // A page with more after it holds changes only up to its version: the view is as fresh as
    // askedAtMs once the last page is in.
    if (complete) this.resyncedAtMs = askedAtMs;
    this.stats.resyncs++;
    return true;
  }

  /** Forgets everything (before a full resync). */
  clear(): void {
    this.entries.clear();
    this.sorted = undefined;
    this.syncedVersion = 0;
    this.resyncedAtMs = undefined;
  }

  /**
   * How old the view may be at `nowMs`: the time since the last resync was asked, when every change
   * up to then was in the answer. Events since make it fresher, but one lost on the way is only
   * repaired by the next resync, and one fresh event says nothing of the others: they do not count.
   * Undefined before the first resync.
   */
  stalenessMs(nowMs: number): number | undefined {
    return this.resyncedAtMs === undefined ? undefined : Math.max(0, nowMs - this.resyncedAtMs);
  }

  /**
   * Up to `limit` SKUs in id order after `after` (exclusive) that pass `keep`, and the id to continue
   * from when more may follow.
   */
  list(
    limit: number,
    after: string | undefined,
    keep: (item: VersionedAvailability) => boolean,
  ): { items: VersionedAvailability[]; next?: string } {
    const sorted = this.sortedSkus();
    const items: VersionedAvailability[] = [];
    for (let i = after === undefined ? 0 : upperBound(sorted, after); i < sorted.length; i++) {
      const item = this.get(sorted[i] as string) as VersionedAvailability;
      if (!keep(item)) continue;
      if (items.length === limit) return { items, next: (items[items.length - 1] as VersionedAvailability).sku };
      items.push(item);
    }
    return { items };
  }

  private sortedSkus(): string[] {
    if (this.sorted === undefined) this.sorted = [...this.entries.keys()].sort();
    return this.sorted;
  }
}

/** The index of the first id greater than `key` in a sorted array. */
function upperBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
