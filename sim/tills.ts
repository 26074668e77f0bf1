/**
 * The in-store tills: walk-in customers buy popular items off the same shelves, and each sale
 * reaches the engine through the POS feed as `pos.sale` with the till's sequence number: late,
 * sometimes twice, sometimes out of order, and not at all through a feed outage, after which the
 * backlog arrives at once. The shelf changes at the sale; the engine learns when the feed says so.
 */
import type { PosSaleCommand } from '../engine/index.ts';
import type { SimWarehouse } from './city.ts';
import { inWindow, type SimContext } from './context.ts';
import type { Random } from './random.ts';

const HOUR_MS = 3_600_000;

export class Till {
  private readonly random: Random;
  private seq = 0;
  private readonly backlog: PosSaleCommand[] = [];
  sales = 0;

  constructor(
    private readonly ctx: SimContext,
    private readonly w: SimWarehouse,
  ) {
    this.random = ctx.random(300 + w.index);
  }

  private get sourceId(): string {
    return `${this.w.entry.id}-till-1`;
  }

  start(): void {
    this.scheduleSale();
    const outage = this.ctx.scenario.tills.outage;
    if (outage !== undefined) this.ctx.agenda.at(this.ctx.startMs + outage.toHour * HOUR_MS, () => this.flush());
  }

  private scheduleSale(): void {
    const t = this.ctx.scenario.tills;
    this.ctx.agenda.after(this.random.exponential(HOUR_MS / t.salesPerHour), () => {
      const hourOfDay = this.ctx.hour() % 24;
      if (hourOfDay >= t.openHours.fromHour && hourOfDay < t.openHours.toHour) this.sell();
      if (this.ctx.hour() < this.ctx.scenario.hours) this.scheduleSale();
    });
  }

  private sell(): void {
    const id = this.w.entry.id;
    const lines: { sku: string; quantity: number }[] = [];
    const count = this.random.int(1, 3);
    for (let i = 0; i < count; i++) {
      const sku = this.w.byRank[this.w.zipf.sample(this.random)] as string;
      if (lines.some((l) => l.sku === sku)) continue;
      const got = this.ctx.shelves.take(id, sku, this.random.int(1, 2));
      if (got > 0) lines.push({ sku, quantity: got });
    }
    if (lines.length === 0) return;
    this.sales++;
    const sale: PosSaleCommand = {
      type: 'pos.sale',
      key: this.ctx.key('pos'),
      sourceId: this.sourceId,
      sourceSeq: ++this.seq,
      lines,
    };
    const t = this.ctx.scenario.tills;
    if (inWindow(t.outage, this.ctx.hour())) {
      this.backlog.push(sale);
      return;
    }
    const late = this.random.chance(t.lateRate) ? this.random.between(30, 180) : 0;
    this.ctx.agenda.after((this.random.between(t.feedDelaySeconds.min, t.feedDelaySeconds.max) + late) * 1000, () =>
      this.ctx.engine.send(id, sale),
    );
    if (this.random.chance(t.duplicateRate)) {
      this.ctx.agenda.after(this.random.between(10, 120) * 1000, () =>
        this.ctx.engine.send(id, { ...sale, key: this.ctx.key('pos') }),
      );
    }
  }

  /** The feed is back: the backlog arrives, mostly in order, a few swapped. */
  private flush(): void {
    const sales = this.backlog.splice(0);
    for (let i = 0; i + 1 < sales.length; i++) {
      if (this.random.chance(0.1))
        [sales[i], sales[i + 1]] = [sales[i + 1] as PosSaleCommand, sales[i] as PosSaleCommand];
    }
    sales.forEach((sale, i) => {
      this.ctx.agenda.after(i * 50, () => this.ctx.engine.send(this.w.entry.id, sale));
    });
  }
}
