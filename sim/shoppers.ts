/**
 * The customers: arrivals over the day (the hourly profile, the day factor and the scenario's
 * spikes), an address near a store (a few out of every range), a basket of 5–15 lines drawn by
 * popularity from what the shopper app shows available, checkout through the region's store
 * selection, and the few who cancel. Counts checkouts, refusals by reason and oversold units.
 */
import type { GeoPoint, OrderPlaceCommand, QuantityLine } from '../engine/index.ts';
import type { CandidateReport } from '../service/checkout-choice.ts';
import { offsetKm, type SimWarehouse } from './city.ts';
import { inWindow, type SimContext, type SimOrder } from './context.ts';
import type { Random } from './random.ts';

const HOUR_MS = 3_600_000;
/** The popularity rank of the SKU that goes viral in a `viral` spike (not a best seller before it). */
const VIRAL_RANK = 400;
/** How long an order's reservation holds while payment and picking get going. */
const ORDER_TTL_MS = 45 * 60_000;
/** Labels of the per-store basket streams (`ctx.random(BASKET_STREAM + store index)`). */
const BASKET_STREAM = 1_000;
/** Refusal reasons, most telling first: the one a refused checkout is counted under. */
const REASON_ORDER = ['sla_not_met', 'overloaded', 'insufficient_stock', 'missing_skus', 'unavailable', 'refused'];

/** Why a checkout was refused, in one word: the most telling candidate reason, or out of range. */
export function refusalReason(code: string, candidates: readonly CandidateReport[]): string {
  if (code !== 'NO_FULFILLMENT_CENTER') return code;
  for (const reason of REASON_ORDER) if (candidates.some((c) => c.reason === reason)) return reason;
  return 'out_of_range';
}

export class Shoppers {
  private readonly random: Random;
  private readonly profileTotal: number;
  private orderNo = 0;

  constructor(private readonly ctx: SimContext) {
    this.random = ctx.random(4);
    this.profileTotal = ctx.scenario.hourlyProfile.reduce((a, b) => a + b, 0);
  }

  /** Orders per hour over the whole city now. */
  private rate(hour: number): number {
    const s = this.ctx.scenario;
    let factor = s.dayFactor;
    for (const spike of s.spikes) if (inWindow(spike, hour)) factor *= spike.factor;
    const share = (s.hourlyProfile[Math.floor(hour) % 24] as number) / this.profileTotal;
    return s.ordersPerWarehouseDay * s.warehouses * share * factor;
  }

  start(): void {
    this.scheduleNext();
  }

  private scheduleNext(): void {
    const rate = this.rate(this.ctx.hour());
    // An idle night hour still looks again within the hour (the rate changes by the hour).
    const drawn = rate <= 0 ? HOUR_MS : this.random.exponential(HOUR_MS / rate);
    // A draw past the hour only means nobody came this hour: look again then, at the new rate.
    const capped = drawn >= HOUR_MS;
    this.ctx.agenda.after(capped ? HOUR_MS : drawn, () => {
      if (!capped && this.random.chance(Math.min(1, this.rate(this.ctx.hour()) / rate))) this.arrive();
      this.scheduleNext();
    });
  }

  private arrive(): void {
    const ctx = this.ctx;
    const s = ctx.scenario;
    const home = this.random.pick(ctx.city.warehouses);
    const away = this.random.chance(s.outOfRangeShare);
    const distanceKm = away
      ? home.entry.radiusKm * this.random.between(1.4, 2)
      : home.entry.radiusKm * 0.95 * Math.sqrt(this.random.next());
    const angle = this.random.between(0, 2 * Math.PI);
    const address = offsetKm(home.entry.location, distanceKm * Math.cos(angle), distanceKm * Math.sin(angle));
    const orderId = `o${++this.orderNo}`;
    const customerId = `cust-${this.random.int(1, 200_000)}`;
    const allowSubstitutes = this.random.chance(s.allowSubstitutesShare);
    const cancels = this.random.chance(s.cancelShare);
    const cancelAfterMs = this.random.between(20_000, 5 * 60_000);
    const placedAtMs = ctx.agenda.nowMs;
    const partition = ctx.partition;
    if (partition.ownerOf(home.entry.id) !== partition.index) {
      // A customer of a store the other thread plays (a partitioned run): that thread checks out,
      // and this one answers for the candidates it plays, if any, at this same instant.
      const placed = ctx.engine.serveCheckout?.(orderId, address);
      if (placed !== undefined) {
        this.follow(
          orderId,
          placed.warehouseId,
          address,
          placed.lines,
          placedAtMs,
          cancels ? cancelAfterMs : undefined,
        );
      }
      return;
    }
    // The basket is drawn last, from the home store's own stream: how many draws it takes depends on
    // that store's stock, and the arrivals' stream must not (a partitioned run replays it in every thread).
    const lines = this.basket(home);
    const command: OrderPlaceCommand = {
      type: 'order.place',
      key: ctx.key('co'),
      orderId,
      customerId,
      address,
      lines,
      paymentToken: `tok-${orderId}`,
      allowSubstitutes,
      ttlMs: ORDER_TTL_MS,
    };
    ctx.metrics.checkoutTried(placedAtMs);
    ctx.engine.checkout(command, (answer) => {
      if (!answer.ok) {
        ctx.metrics.reject(refusalReason(answer.code, answer.candidates));
        return;
      }
      // Placed at a store the other thread plays: that thread follows the order.
      if (partition.ownerOf(answer.warehouseId) !== partition.index) return;
      this.follow(orderId, answer.warehouseId, address, lines, placedAtMs, cancels ? cancelAfterMs : undefined);
    });
  }

  /** An order placed at a store this world plays: followed from now on, audited, maybe cancelled later. */
  private follow(
    orderId: string,
    warehouseId: string,
    address: GeoPoint,
    lines: QuantityLine[],
    placedAtMs: number,
    cancelAfterMs: number | undefined,
  ): void {
    const ctx = this.ctx;
    const order: SimOrder = {
      orderId,
      warehouseId,
      address,
      lines,
      placedAtMs,
      slaMs: ctx.warehouse(warehouseId).entry.slaMinutes * 60_000,
      state: 'reserved',
      taken: new Map(),
      shortAtPick: false,
      confirmed: false,
      done: false,
    };
    ctx.orders.set(orderId, order);
    ctx.engine.auditPlacement(warehouseId, orderId, (units) => {
      ctx.metrics.oversoldUnits += units;
    });
    if (cancelAfterMs !== undefined) ctx.agenda.after(cancelAfterMs, () => this.cancel(order));
  }

  /** 5–15 distinct lines by popularity, from what the app shows in stock (it hides what is not). */
  private basket(w: SimWarehouse): { sku: string; quantity: number }[] {
    const s = this.ctx.scenario;
    const random = this.ctx.random(BASKET_STREAM + w.index);
    const count = random.int(s.basketLines.min, s.basketLines.max);
    const chosen = new Map<string, number>();
    const viral = s.spikes.some((spike) => spike.kind === 'viral' && inWindow(spike, this.ctx.hour()));
    if (viral && random.chance(s.viralShare)) chosen.set(w.byRank[VIRAL_RANK] as string, random.int(1, 3));
    for (let tries = 0; chosen.size < count && tries < count * 4; tries++) {
      const sku = w.byRank[w.zipf.sample(random)] as string;
      if (chosen.has(sku)) continue;
      const u = random.next();
      const quantity = u < 0.8 ? 1 : u < 0.95 ? 2 : 3;
      if (this.ctx.engine.available(w.entry.id, sku) < quantity) continue;
      chosen.set(sku, quantity);
    }
    if (chosen.size === 0) chosen.set(w.byRank[0] as string, 1);
    return [...chosen].map(([sku, quantity]) => ({ sku, quantity }));
  }

  /** The customer cancels in the app, while the order is not packed yet. */
  private cancel(order: SimOrder): void {
    if (order.state !== 'created' && order.state !== 'reserved' && order.state !== 'picking') return;
    this.ctx.engine.send(order.warehouseId, {
      type: 'order.event',
      key: this.ctx.key('cx'),
      orderId: order.orderId,
      eventId: this.ctx.key('ev'),
      expectedState: order.state,
      event: 'order.cancel',
      reason: 'customer',
    });
  }
}
