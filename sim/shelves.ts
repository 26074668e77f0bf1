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
const HOUR_MS = 3_600_000;
/** Mean units of one basket line (1 mostly, sometimes 2 or 3). */
const UNITS_PER_LINE = 1.25;

export function skuIndex(sku: string): number {
  return Number(sku.slice(4));
}

export class Shelves {
  private readonly counts = new Map<string, Int32Array>();
  private ctx!: SimContext;
  private random!: Random;
  private receipts = 0;
  /** Pairs whose books disagreed with the shelf at a sample: key (store base + SKU index) → since when. */
  private readonly offSince = new Map<number, number>();
  private readonly storeBase = new Map<string, number>();
  /** Each store's accuracy at the last sample that could read its books. */
  private readonly lastAccuracy = new Map<string, number>();

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
    this.random = ctx.random(2);
    for (const w of ctx.city.warehouses) {
      this.storeBase.set(w.entry.id, this.storeBase.size * ctx.scenario.skusPerWarehouse.max);
      this.counts.set(w.entry.id, new Int32Array(ctx.scenario.skusPerWarehouse.max));
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
        ? Math.max(1, Math.round(target * this.random.between(0.7, 1.2)))
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
      if (this.random.chance(this.ctx.scenario.suppliers.resendRate)) {
        this.ctx.agenda.after(this.random.between(60_000, 600_000), () =>
          this.ctx.engine.send(id, { ...command, key: this.ctx.key('rc') }),
        );
      }
    }
  }

  private scheduleSupplier(w: SimWarehouse): void {
    const s = this.ctx.scenario;
    for (let day = 0; day * 24 < s.hours; day++) {
      for (const hour of s.suppliers.hours) {
        const atHour = day * 24 + hour + this.random.between(0, 0.5);
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
    this.ctx.agenda.after(this.random.exponential((24 * HOUR_MS) / perDay), () => {
      const sku = w.byRank[w.zipf.sample(this.random)] as string;
      if (this.take(w.entry.id, sku, 1) === 1 && kind === 'breakage') {
        if (this.random.chance(this.ctx.scenario.losses.reportedShare)) {
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
    this.ctx.agenda.after(this.random.between(every.min, every.max) * HOUR_MS, () => {
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
   * Share of SKU × store pairs whose books equal the shelf: over the city, and per store (by id).
   * The shelves are read when the books arrive (at once on the embedded engine); a store whose books
   * cannot be read is left out of the city's share and keeps its last known share.
   */
  accuracy(done: (city: number, perStore: Map<string, number>) => void, track = false): void {
    const perStore = new Map<string, number>();
    let equal = 0;
    let total = 0;
    let waiting = this.ctx.city.warehouses.length;
    if (waiting === 0) done(1, perStore);
    for (const w of this.ctx.city.warehouses) {
      const id = w.entry.id;
      this.ctx.engine.books(id, (onHand) => {
        // A store whose books cannot be read (down) is left out of this sample, not counted as wrong.
        if (onHand === undefined) {
          const last = this.lastAccuracy.get(id);
          if (last !== undefined) perStore.set(id, last);
          if (--waiting === 0) done(total === 0 ? 1 : equal / total, perStore);
          return;
        }
        const shelf = this.counts.get(id) as Int32Array;
        let same = 0;
        const base = this.storeBase.get(id) as number;
        const now = this.ctx.agenda.nowMs;
        for (const sku of w.byRank) {
          const i = skuIndex(sku);
          const equal = onHand(sku) === shelf[i];
          if (equal) same++;
          if (!track) continue;
          // How long each pair drifts: from the first sample that saw it off to the first that sees it right.
          const since = this.offSince.get(base + i);
          if (!equal && since === undefined) this.offSince.set(base + i, now);
          else if (equal && since !== undefined) {
            this.ctx.metrics.driftClosed(now - since);
            this.offSince.delete(base + i);
          }
        }
        if (track) this.ctx.metrics.driftOpen = this.offSince.size;
        perStore.set(id, w.byRank.length === 0 ? 1 : same / w.byRank.length);
        this.lastAccuracy.set(id, perStore.get(id) as number);
        equal += same;
        total += w.byRank.length;
        if (--waiting === 0) done(total === 0 ? 1 : equal / total, perStore);
      });
    }
  }
}
