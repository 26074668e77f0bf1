/**
 * Ground truth: the physical count of every SKU on every store's shelves, which the engine can only
 * learn from what it is told. Owns what changes the shelves without an order: the opening stock and
 * supplier restocks (told, as receipts), shrinkage (never told) and breakage (sometimes told), and
 * the cycle counts that tell the engine what is really there. Measures inventory accuracy.
 */
import type { QuantityLine } from '../engine/index.ts';
import type { SimWarehouse } from './city.ts';
import type { SimContext } from './context.ts';
import type { Books } from './engine-port.ts';
import type { Random } from './random.ts';

const RECEIPT_LINES = 200;
/** Labels of the per-store random streams (`ctx.random(SHELF_STREAM + store index)`). */
const SHELF_STREAM = 3_000;
const HOUR_MS = 3_600_000;
/** Mean units of one basket line (1 mostly, sometimes 2 or 3). */
const UNITS_PER_LINE = 1.25;

export function skuIndex(sku: string): number {
  return Number(sku.slice(4));
}

export class Shelves {
  private readonly counts = new Map<string, Int32Array>();
  private ctx!: SimContext;
  private receipts = 0;
  /**
   * Per store, by SKU index: since when its books have disagreed with the shelf at the samples
   * (NaN while they agree). Typed arrays, not maps: every sample visits every pair of the city.
   */
  private readonly offSince = new Map<string, Float64Array>();
  /** Pairs off at the last sample, over the city. */
  private offPairs = 0;
  /** Per store, the SKU index of each popularity rank (`skuIndex(byRank[rank])`, parsed once). */
  private readonly indexByRank = new Map<string, Int32Array>();
  /** Each store's accuracy at the last sample that could read its books. */
  private readonly lastAccuracy = new Map<string, number>();

  /**
   * One store's draws (restocks, losses, cycle counts): a stream per store, so what one store draws
   * never depends on another's (a partitioned run plays the stores on separate threads).
   */
  private rng(w: SimWarehouse): Random {
    return this.ctx.random(SHELF_STREAM + w.index);
  }

  /** The physical units of a SKU in a store now. */
  count(warehouseId: string, sku: string): number {
    return this.counts.get(warehouseId)?.[skuIndex(sku)] ?? 0;
  }

  /** Takes up to `units` off the shelf; returns how many were there to take. */
  take(warehouseId: string, sku: string, units: number): number {
    const shelf = this.counts.get(warehouseId) as Int32Array;
    const i = skuIndex(sku);
    const got = Math.min(units, Math.max(0, shelf[i] as number));
    shelf[i] = (shelf[i] as number) - got;
    return got;
  }

  put(warehouseId: string, sku: string, units: number): void {
    const shelf = this.counts.get(warehouseId) as Int32Array;
    const i = skuIndex(sku);
    shelf[i] = (shelf[i] as number) + units;
  }

  /** Units of a SKU one store sells in a day, expected (online orders and the tills). */
  private dailyDemand(w: SimWarehouse, rank: number): number {
    const s = this.ctx.scenario;
    const lines = (s.basketLines.min + s.basketLines.max) / 2;
    const online = s.ordersPerWarehouseDay * s.dayFactor * lines * UNITS_PER_LINE;
    const tills = s.tills.salesPerHour * (s.tills.openHours.toHour - s.tills.openHours.fromHour) * 2;
    return (online + tills) * w.zipf.weight(rank);
  }

  private target(w: SimWarehouse, rank: number): number {
    return Math.ceil(this.dailyDemand(w, rank) * this.ctx.scenario.suppliers.coverDays) + 4;
  }

  /** Fills every store's shelves for the opening and schedules restocks, losses and cycle counts. */
  start(ctx: SimContext): void {
    this.ctx = ctx;
    for (const w of ctx.played) {
      const size = ctx.scenario.skusPerWarehouse.max;
      this.counts.set(w.entry.id, new Int32Array(size));
      this.offSince.set(w.entry.id, new Float64Array(size).fill(Number.NaN));
      this.indexByRank.set(w.entry.id, Int32Array.from(w.byRank, skuIndex));
      this.restock(w, true);
      this.scheduleSupplier(w);
      this.scheduleLoss(w, 'shrinkage');
      this.scheduleLoss(w, 'breakage');
      this.scheduleCycleCount(w, 0);
    }
  }

  /** A supplier delivery: every SKU whose books show less than half its target is filled up to it. */
  private restock(w: SimWarehouse, opening: boolean): void {
    if (opening) {
      this.deliver(w, () => 0, true);
      return;
    }
    // A store whose books cannot be read now orders nothing this time (it would order blind).
    this.ctx.engine.books(w.entry.id, (onHand) => {
      if (onHand !== undefined) this.deliver(w, onHand, false);
    });
  }

  private deliver(w: SimWarehouse, onHand: Books, opening: boolean): void {
    const id = w.entry.id;
    const lines: QuantityLine[] = [];
    for (let rank = 0; rank < w.byRank.length; rank++) {
      const sku = w.byRank[rank] as string;
      const target = this.target(w, rank);
      const books = onHand(sku) ?? 0;
      if (!opening && books >= target / 2) continue;
      const units = opening
        ? Math.max(1, Math.round(target * this.rng(w).between(0.7, 1.2)))
        : target - Math.max(0, books);
      if (units <= 0) continue;
      lines.push({ sku, quantity: units });
    }
    for (let from = 0; from < lines.length; from += RECEIPT_LINES) {
      const part = lines.slice(from, from + RECEIPT_LINES);
      const receiptId = `rcpt-${id}-${++this.receipts}`;
      for (const line of part) this.put(id, line.sku, line.quantity);
      const command = { type: 'receipt' as const, key: this.ctx.key('rc'), receiptId, lines: part };
      this.ctx.engine.send(id, command);
      // Now and then the supplier's system sends the same receipt again: it must count once.
      if (this.rng(w).chance(this.ctx.scenario.suppliers.resendRate)) {
        this.ctx.agenda.after(this.rng(w).between(60_000, 600_000), () =>
          this.ctx.engine.send(id, { ...command, key: this.ctx.key('rc') }),
        );
      }
    }
  }

  private scheduleSupplier(w: SimWarehouse): void {
    const s = this.ctx.scenario;
    for (let day = 0; day * 24 < s.hours; day++) {
      for (const hour of s.suppliers.hours) {
        const atHour = day * 24 + hour + this.rng(w).between(0, 0.5);
        const atMs = this.ctx.startMs + atHour * HOUR_MS;
        // Deliveries due before a late start (over NATS) have come and gone.
        if (atHour < s.hours && atMs >= this.ctx.agenda.nowMs) this.ctx.agenda.at(atMs, () => this.restock(w, false));
      }
    }
  }

  /** Shrinkage is never told; breakage is reported as damage `reportedShare` of the time. */
  private scheduleLoss(w: SimWarehouse, kind: 'shrinkage' | 'breakage'): void {
    const perDay =
      kind === 'shrinkage' ? this.ctx.scenario.losses.shrinkagePerDay : this.ctx.scenario.losses.breakagePerDay;
    if (perDay <= 0) return;
    this.ctx.agenda.after(this.rng(w).exponential((24 * HOUR_MS) / perDay), () => {
      const sku = w.byRank[w.zipf.sample(this.rng(w))] as string;
      if (this.take(w.entry.id, sku, 1) === 1 && kind === 'breakage') {
        if (this.rng(w).chance(this.ctx.scenario.losses.reportedShare)) {
          const command = {
            type: 'adjust' as const,
            key: this.ctx.key('adj'),
            sku,
            delta: -1,
            reason: 'damage' as const,
          };
          this.ctx.engine.send(w.entry.id, command);
        }
      }
      this.scheduleLoss(w, kind);
    });
  }

  /** Every 4–8 hours a share of the store's SKUs is counted, each its own `count` command. */
  private scheduleCycleCount(w: SimWarehouse, round: number): void {
    const every = this.ctx.scenario.cycleCounts.everyHours;
    this.ctx.agenda.after(this.rng(w).between(every.min, every.max) * HOUR_MS, () => {
      const share = this.ctx.scenario.cycleCounts.share;
      const slices = Math.max(1, Math.round(1 / share));
      const id = w.entry.id;
      const metrics = this.ctx.metrics;
      metrics.cycleCounts++;
      // The counter counts the shelf now; what it corrects is measured against the books now.
      const counts: { sku: string; counted: number }[] = [];
      for (let i = round % slices; i < w.byRank.length; i += slices) {
        const sku = w.byRank[i] as string;
        counts.push({ sku, counted: this.count(id, sku) });
      }
      this.ctx.engine.books(id, (onHand) => {
        if (onHand === undefined) return;
        for (const { sku, counted } of counts) {
          const books = onHand(sku);
          if (books !== undefined && books !== counted) metrics.unitsCorrected += Math.abs(books - counted);
        }
      });
      for (const { sku, counted } of counts) {
        this.ctx.engine.send(id, { type: 'count', key: this.ctx.key('cc'), sku, counted });
      }
      this.scheduleCycleCount(w, round + 1);
    });
  }

  /**
   * SKU × store pairs whose books equal the shelf, of the pairs read, over the stores this world
   * plays; and each store's share (by id). The shelves are read when the books arrive (at once on
   * the embedded engine); a store whose books cannot be read is left out of the counts and keeps
   * its last known share.
   */
  accuracy(done: (equal: number, total: number, perStore: Map<string, number>) => void, track = false): void {
    const perStore = new Map<string, number>();
    let equal = 0;
    let total = 0;
    let waiting = this.ctx.played.length;
    if (waiting === 0) done(0, 0, perStore);
    for (const w of this.ctx.played) {
      const id = w.entry.id;
      this.ctx.engine.books(id, (onHand) => {
        // A store whose books cannot be read (down) is left out of this sample, not counted as wrong.
        if (onHand === undefined) {
          const last = this.lastAccuracy.get(id);
          if (last !== undefined) perStore.set(id, last);
          if (--waiting === 0) done(equal, total, perStore);
          return;
        }
        const shelf = this.counts.get(id) as Int32Array;
        const offSince = this.offSince.get(id) as Float64Array;
        const indexByRank = this.indexByRank.get(id) as Int32Array;
        let same = 0;
        const now = this.ctx.agenda.nowMs;
        for (let rank = 0; rank < indexByRank.length; rank++) {
          const i = indexByRank[rank] as number;
          const equal = onHand(w.byRank[rank] as string) === shelf[i];
          if (equal) same++;
          if (!track) continue;
          // How long each pair drifts: from the first sample that saw it off to the first that sees it right.
          const since = offSince[i] as number;
          if (!equal && Number.isNaN(since)) {
            offSince[i] = now;
            this.offPairs++;
          } else if (equal && !Number.isNaN(since)) {
            this.ctx.metrics.driftClosed(now - since);
            offSince[i] = Number.NaN;
            this.offPairs--;
          }
        }
        if (track) this.ctx.metrics.driftOpen = this.offPairs;
        perStore.set(id, w.byRank.length === 0 ? 1 : same / w.byRank.length);
        this.lastAccuracy.set(id, perStore.get(id) as number);
        equal += same;
        total += w.byRank.length;
        if (--waiting === 0) done(equal, total, perStore);
      });
    }
  }
}
