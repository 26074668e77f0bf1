/**
 * The pickers of one store: shifts sized to the expected demand, each picker taking the oldest task
 * (`pick.take`), walking its list (now and then out of order), taking units off the real shelf and
 * scanning them, with mis-scans, repeated scans and stockouts when the shelf has less than the books
 * said; then packing. A task whose order is cancelled stops, and what was taken goes back on the shelf.
 */
import type { PickOutcome, Result } from '../engine/index.ts';
import type { SimWarehouse } from './city.ts';
import type { SimContext, SimOrder } from './context.ts';
import type { Random } from './random.ts';
import { scheduleShifts } from './shifts.ts';

const SHIFT_HOURS = 8;
const BAG_UNITS = 8;

interface PickLineLeft {
  sku: string;
  left: number;
}

interface Picker {
  id: string;
  busy: boolean;
  leaving: boolean;
  onShift: boolean;
}

export class PickerCrew {
  private readonly random: Random;
  private readonly pickers: Picker[] = [];
  private hired = 0;

  constructor(
    private readonly ctx: SimContext,
    private readonly w: SimWarehouse,
  ) {
    this.random = ctx.random(100 + w.index);
  }

  private get id(): string {
    return this.w.entry.id;
  }

  /** Staff per 8-hour shift: enough for the busiest hour of that shift's expected demand, at least one. */
  start(expectedPerHour: (hour: number) => number): void {
    const perHour = this.ctx.scenario.pickers.ordersPerHour;
    scheduleShifts(this.ctx, SHIFT_HOURS, expectedPerHour, perHour, (staff) => this.changeShift(staff));
  }

  private changeShift(staff: number): void {
    for (const picker of this.pickers) if (picker.onShift) this.leave(picker);
    for (let i = 0; i < staff; i++) {
      const picker: Picker = { id: `${this.id}-p${++this.hired}`, busy: false, leaving: false, onShift: true };
      this.pickers.push(picker);
      this.ctx.engine.send(this.id, { type: 'picker.check_in', key: this.ctx.key('pi'), pickerId: picker.id }, () =>
        this.take(picker),
      );
    }
    // Pickers who have left for good are forgotten.
    for (let i = this.pickers.length - 1; i >= 0; i--)
      if (!(this.pickers[i] as Picker).onShift) this.pickers.splice(i, 1);
  }

  private leave(picker: Picker): void {
    picker.leaving = true;
    if (!picker.busy) this.checkOut(picker);
  }

  private checkOut(picker: Picker): void {
    picker.onShift = false;
    this.ctx.engine.send(this.id, { type: 'picker.check_out', key: this.ctx.key('po'), pickerId: picker.id });
  }

  /** A task was queued: an idle picker takes it. */
  wake(): void {
    for (const picker of this.pickers) {
      if (picker.onShift && !picker.busy && !picker.leaving) {
        this.take(picker);
        return;
      }
    }
  }

  private take(picker: Picker): void {
    if (picker.busy || picker.leaving || !picker.onShift) return;
    picker.busy = true;
    this.ctx.engine.send(this.id, { type: 'pick.take', key: this.ctx.key('pt'), pickerId: picker.id }, (result) => {
      const task = result.ok && result.value.kind === 'pick_task' ? result.value.task : undefined;
      const order = task === undefined ? undefined : this.ctx.orders.get(task.orderId);
      if (task === undefined || order === undefined) {
        this.idle(picker);
        return;
      }
      const lines: PickLineLeft[] = task.lines.map((l) => ({ sku: l.sku, left: l.quantity - l.picked }));
      if (lines.length > 1 && this.random.chance(this.ctx.scenario.pickers.outOfOrderRate)) {
        const i = this.random.int(0, lines.length - 2);
        [lines[i], lines[i + 1]] = [lines[i + 1] as PickLineLeft, lines[i] as PickLineLeft];
      }
      this.next(picker, order, lines, 0);
    });
  }

  private idle(picker: Picker): void {
    picker.busy = false;
    if (picker.leaving) this.checkOut(picker);
  }

  /** Walks to the next line of the list and picks it, or packs when the list is done. */
  private next(picker: Picker, order: SimOrder, lines: PickLineLeft[], at: number): void {
    const p = this.ctx.scenario.pickers;
    if (order.state === 'cancelled') {
      this.putBack(order);
      this.idle(picker);
      this.take(picker);
      return;
    }
    const line = lines[at];
    if (line === undefined) {
      this.ctx.agenda.after(this.random.between(p.packSeconds.min, p.packSeconds.max) * 1000, () =>
        this.pack(picker, order),
      );
      return;
    }
    const seconds = this.random.between(p.itemSeconds.min, p.itemSeconds.max) * (1 + 0.3 * (line.left - 1));
    this.ctx.agenda.after(seconds * 1000, () => {
      if (order.state === 'cancelled' || line.left <= 0) {
        this.next(picker, order, lines, line.left <= 0 ? at + 1 : at);
        return;
      }
      if (this.random.chance(p.misScanRate)) {
        // The wrong barcode first: refused, nothing moves; the picker scans again.
        const wrong = this.w.byRank[this.random.int(0, this.w.byRank.length - 1)] as string;
        if (wrong !== line.sku) this.scan(order, wrong, 1, this.ctx.key('sc'));
      }
      const got = this.ctx.shelves.take(this.id, line.sku, line.left);
      if (got > 0) {
        this.remember(order, line.sku, got);
        const scanId = this.ctx.key('sc');
        this.scan(order, line.sku, got, scanId);
        if (this.random.chance(p.duplicateScanRate)) this.scan(order, line.sku, got, scanId);
        line.left -= got;
      }
      if (line.left > 0) this.stockout(order, line, lines);
      this.next(picker, order, lines, at + 1);
    });
  }

  private scan(order: SimOrder, sku: string, quantity: number, scanId: string): void {
    this.event(order, 'pick.scanned', { scanId, sku, quantity });
  }

  /** The shelf has less than the list: reported; the warehouse substitutes or drops the rest. */
  private stockout(order: SimOrder, line: PickLineLeft, lines: PickLineLeft[]): void {
    if (!order.shortAtPick) {
      order.shortAtPick = true;
      this.ctx.metrics.acceptedNotFulfillable++;
    }
    this.ctx.metrics.stockoutReports++;
    this.event(order, 'pick.stockout', { sku: line.sku }, (result) => {
      const pick: PickOutcome | undefined = result.ok && result.value.kind === 'order' ? result.value.pick : undefined;
      if (pick?.kind === 'substituted') lines.push({ sku: pick.substitute, left: pick.quantity });
    });
    line.left = 0;
  }

  private pack(picker: Picker, order: SimOrder): void {
    if (order.state === 'picking') {
      let units = 0;
      for (const n of order.taken.values()) units += n;
      const bagCount = Math.max(1, Math.ceil(units / BAG_UNITS));
      this.event(order, 'pack.completed', { bagCount, stagingSlot: `S-${this.random.int(1, 40)}` });
    } else if (order.state === 'cancelled') {
      this.putBack(order);
    }
    this.idle(picker);
    this.take(picker);
  }

  private remember(order: SimOrder, sku: string, units: number): void {
    order.taken.set(sku, (order.taken.get(sku) ?? 0) + units);
  }

  /** A cancelled order's picked units go back on the shelf (the warehouse restocks them too). */
  private putBack(order: SimOrder): void {
    for (const [sku, units] of order.taken) this.ctx.shelves.put(this.id, sku, units);
    order.taken.clear();
  }

  private event(
    order: SimOrder,
    event: 'pick.scanned' | 'pick.stockout' | 'pack.completed',
    facts: Record<string, unknown>,
    done?: (r: Result) => void,
  ): void {
    this.ctx.engine.send(
      this.id,
      {
        type: 'order.event',
        key: this.ctx.key('pk'),
        orderId: order.orderId,
        eventId: this.ctx.key('ev'),
        expectedState: 'picking',
        event,
        ...facts,
      },
      done,
    );
  }
}
