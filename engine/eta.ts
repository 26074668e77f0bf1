/**
 * Delivery ETAs inside the warehouse: the promise at checkout (wait in the pick queue, pick and
 * pack, travel, buffer) and the live estimate while a courier is on the way, sent as `order.eta`
 * when it moves by ETA_CHANGE_MIN_MS or more. Conservative by design: distances come from the
 * `RoutingProvider` (straight line × road factor by default) and every estimate carries the buffer.
 * Never performs I/O, never reads a clock.
 */
import { isFreeCourier } from './couriers.ts';
import { checkoutEtaMs, type GeoPoint, travelEtaMs } from './geo.ts';
import { ETA_CHANGE_MIN_MS, PICK_PACK_ESTIMATE_MS_DEFAULT } from './limits.ts';
import type { CommandContext, WarehouseState } from './state.ts';
import type { CourierRecord, OrderRecord } from './types.ts';

/** The warehouse's rolling pick-pack average, or the default before it has measured any. */
export function pickPackAverageMs(state: WarehouseState): number {
  const recent = state.pickPackRecentMs;
  if (recent.length === 0) return PICK_PACK_ESTIMATE_MS_DEFAULT;
  let sum = 0;
  for (const ms of recent) sum += ms;
  return Math.round(sum / recent.length);
}

/** The parts of a checkout promise, for the checkout page and for choosing a warehouse. */
export interface CheckoutQuote {
  /** Everything together: how long from now until an order placed now arrives. */
  promisedInMs: number;
  queueWaitMs: number;
  pickPackMs: number;
  /** Travel from the store to the address, buffer included. */
  travelMs: number;
  distanceKm: number;
  pickQueueLength: number;
  pickersOnShift: number;
  /** Couriers that could take an order now (available or returning, not unresponsive). */
  couriersFree: number;
}

/** The promise's parts without the courier count (what every checkout needs). */
function promiseParts(state: WarehouseState, address: GeoPoint): Omit<CheckoutQuote, 'couriersFree'> {
  const pickPackMs = pickPackAverageMs(state);
  const pickersOnShift = state.pickers.size;
  const queueWaitMs = Math.round((state.pickQueue.size * pickPackMs) / Math.max(1, pickersOnShift));
  const distanceKm = state.routing.distanceKm(state.config.location, address);
  const promisedInMs = checkoutEtaMs({
    queueWaitMs,
    pickPackMs,
    distanceKm,
    averageSpeedKmh: state.config.courierSpeedKmh,
  });
  return {
    promisedInMs,
    queueWaitMs,
    pickPackMs,
    travelMs: travelEtaMs(distanceKm, state.config.courierSpeedKmh),
    distanceKm,
    pickQueueLength: state.pickQueue.size,
    pickersOnShift,
  };
}

/** What the warehouse can promise an order placed now for `address`, and how many couriers are free. Pure. */
export function checkoutQuote(state: WarehouseState, address: GeoPoint): CheckoutQuote {
  let couriersFree = 0;
  for (const c of state.couriers.values()) if (isFreeCourier(c)) couriersFree++;
  return { ...promiseParts(state, address), couriersFree };
}

/** How long from now until an order placed now reaches `address`, in milliseconds. */
export function checkoutPromiseMs(state: WarehouseState, address: GeoPoint): number {
  return promiseParts(state, address).promisedInMs;
}

/** Remaining travel for the order's courier: to the store first if the bag is not yet picked up. */
function remainingKm(state: WarehouseState, order: OrderRecord, courier: CourierRecord): number {
  const routing = state.routing;
  if (courier.lifecycle.value === 'en_route_to_delivery') return routing.distanceKm(courier.position, order.address);
  return (
    routing.distanceKm(courier.position, state.config.location) +
    routing.distanceKm(state.config.location, order.address)
  );
}

/** Re-estimates the arrival from the courier's position; announces it when it moved enough. */
export function updateEta(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  courier: CourierRecord,
): void {
  const etaAtMs = ctx.atMs + travelEtaMs(remainingKm(state, order, courier), state.config.courierSpeedKmh);
  if (Math.abs(etaAtMs - order.etaAtMs) < ETA_CHANGE_MIN_MS) return;
  order.etaAtMs = etaAtMs;
  state.events.push({ type: 'order.eta', orderId: order.orderId, etaAtMs });
}
