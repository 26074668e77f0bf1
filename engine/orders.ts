/**
 * Orders inside the warehouse's single writer. `order.place` reserves every line at once and opens
 * the order, which then asks for a payment hold; `order.event` moves an order through its
 * lifecycle (the compiled order machine), refusing an event whose sender expected another state
 * with INVALID_TRANSITION, and answering a repeated event id with its first outcome. Effects the
 * core owns (releasing the reservation, putting picked units back) happen inside the same command;
 * the others (payment, courier, notifications) go out as `order.effect` events for the runtime to
 * execute, and their outcomes come back as order events. Never performs I/O.
 */
import {
  type CompiledStep,
  compiledOrderMachine,
  type OrderContext,
  type OrderState,
  orderStateOf,
} from '../actors/index.ts';
import { type EngineError, limitExceeded, notFound } from './errors.ts';
import { ORDER_CONFIRMED_HOLD_MS, ORDER_EVENTS_KEPT, ORDERS_MAX } from './limits.ts';
import { applyExtend, applyRelease, applyReserve } from './reservations.ts';
import type { CommandContext, WarehouseState } from './state.ts';
import type { OrderEventCommand, OrderPlaceCommand, OrderRecord, Result, SkuRecord } from './types.ts';

const FINAL_STATES: ReadonlySet<OrderState> = new Set(['delivered', 'cancelled', 'refunded', 'partially_fulfilled']);

export function invalidTransition(orderId: string, expected: string, actual: string, event?: string): EngineError {
  const what = event === undefined ? '' : ` (event ${event})`;
  return {
    code: 'INVALID_TRANSITION',
    message: `order ${orderId}: expected ${expected}, is ${actual}${what}`,
    orderId,
    expected,
    actual,
  };
}

function orderResult(order: OrderRecord, duplicate: boolean): Result {
  const state = orderStateOf(order.lifecycle.value);
  return {
    ok: true,
    value: { kind: 'order', orderId: order.orderId, state, reservationId: order.reservationId, duplicate },
  };
}

/** Runs the effects the core owns, and announces the rest as events. */
function runEffects(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  cmdKey: string,
  effects: string[],
): void {
  for (const effect of effects) {
    if (effect === 'releaseReservation') {
      if (state.reservations.has(order.reservationId)) {
        applyRelease(state, ctx, { type: 'release', key: cmdKey, reservationId: order.reservationId });
      }
    } else if (effect === 'queueForPicking') {
      // Confirmed: the checkout TTL no longer applies; hold the stock until it is picked.
      if (state.reservations.has(order.reservationId)) {
        applyExtend(state, ctx, {
          type: 'extend',
          key: cmdKey,
          reservationId: order.reservationId,
          ttlMs: ORDER_CONFIRMED_HOLD_MS,
        });
      }
    } else if (effect === 'restockPicked') {
      for (const line of order.picked) {
        const record = state.skus.get(line.sku) as SkuRecord;
        state.moveStock(ctx, record, line.quantity, 0, 'restock', order.orderId);
      }
      order.picked = [];
    } else {
      const event: Extract<(typeof state.events)[number], { type: 'order.effect' }> = {
        type: 'order.effect',
        orderId: order.orderId,
        effect,
        amountCents: order.amountCents,
      };
      if (effect === 'authorizePayment') event.paymentToken = order.paymentToken;
      if (order.authorizationId !== undefined) event.authorizationId = order.authorizationId;
      state.events.push(event);
    }
  }
}

export function applyOrderPlace(state: WarehouseState, ctx: CommandContext, cmd: OrderPlaceCommand): Result {
  const existing = state.orders.get(cmd.orderId);
  if (existing !== undefined) {
    return { ok: false, error: invalidTransition(cmd.orderId, 'new', orderStateOf(existing.lifecycle.value)) };
  }
  if (state.orders.size >= ORDERS_MAX) return { ok: false, error: limitExceeded('ORDERS_MAX', ORDERS_MAX) };
  const reserveLines = cmd.lines.map((l) =>
    cmd.allowSubstitutes === true ? { ...l, allowSubstitutes: true } : { sku: l.sku, quantity: l.quantity },
  );
  const reserved = applyReserve(state, ctx, {
    type: 'reserve',
    key: cmd.key,
    lines: reserveLines,
    ttlMs: cmd.ttlMs,
    orderRef: cmd.orderId,
  });
  if (!reserved.ok || reserved.value.kind !== 'reserved') return reserved;
  let amountCents = 0;
  for (const line of reserved.value.lines)
    amountCents += (state.skus.get(line.sku) as SkuRecord).priceCents * line.quantity;
  const step = compiledOrderMachine.transition(compiledOrderMachine.initial({ orderId: cmd.orderId }), {
    type: 'reservation.confirmed',
  }) as CompiledStep<OrderContext>;
  const order: OrderRecord = {
    orderId: cmd.orderId,
    customerId: cmd.customerId,
    address: { ...cmd.address },
    lines: reserved.value.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
    paymentToken: cmd.paymentToken,
    amountCents,
    lifecycle: step.snapshot,
    reservationId: reserved.value.reservationId,
    picked: [],
    createdAtMs: ctx.atMs,
    updatedAtMs: ctx.atMs,
    events: [],
  };
  state.orders.set(order.orderId, order);
  runEffects(state, ctx, order, cmd.key, step.actions);
  state.events.push({ type: 'order.changed', orderId: order.orderId, state: 'reserved' });
  return orderResult(order, false);
}

export function applyOrderEvent(state: WarehouseState, ctx: CommandContext, cmd: OrderEventCommand): Result {
  const order = state.orders.get(cmd.orderId);
  if (order === undefined) return { ok: false, error: notFound('order', cmd.orderId) };
  if (order.events.some((e) => e.eventId === cmd.eventId)) return orderResult(order, true);
  const actual = orderStateOf(order.lifecycle.value);
  const step =
    actual === cmd.expectedState ? compiledOrderMachine.transition(order.lifecycle, { type: cmd.event }) : undefined;
  if (step === undefined) {
    // Never forced: refused, and announced for investigation.
    state.events.push({
      type: 'order.rejected',
      orderId: order.orderId,
      eventId: cmd.eventId,
      expected: cmd.expectedState,
      actual,
      event: cmd.event,
    });
    return { ok: false, error: invalidTransition(order.orderId, cmd.expectedState, actual, cmd.event) };
  }
  if (cmd.authorizationId !== undefined) order.authorizationId = cmd.authorizationId;
  if (cmd.courierId !== undefined) order.courierId = cmd.courierId;
  order.lifecycle = step.snapshot;
  order.updatedAtMs = ctx.atMs;
  runEffects(state, ctx, order, cmd.key, step.actions);
  const now = orderStateOf(order.lifecycle.value);
  order.events.push({ eventId: cmd.eventId, state: now });
  if (order.events.length > ORDER_EVENTS_KEPT) order.events.shift();
  if (FINAL_STATES.has(now) && !FINAL_STATES.has(actual)) state.finishedOrders.add(order.orderId, { atMs: ctx.atMs });
  state.events.push({ type: 'order.changed', orderId: order.orderId, state: now, eventId: cmd.eventId });
  return orderResult(order, false);
}

/**
 * An order whose reservation expired (an abandoned checkout: the payment hold never came) is
 * cancelled, with the compensation its state calls for (a late hold is voided).
 */
export function cancelExpiredOrders(state: WarehouseState, ctx: CommandContext, orderIds: readonly string[]): void {
  for (const orderId of orderIds) {
    const order = state.orders.get(orderId);
    if (order === undefined || state.reservations.has(order.reservationId)) continue;
    const before = orderStateOf(order.lifecycle.value);
    const step = compiledOrderMachine.transition(order.lifecycle, { type: 'order.cancel' });
    if (step === undefined) continue;
    order.lifecycle = step.snapshot;
    order.updatedAtMs = ctx.atMs;
    runEffects(state, ctx, order, `expire:${order.reservationId}`, step.actions);
    if (!FINAL_STATES.has(before)) state.finishedOrders.add(order.orderId, { atMs: ctx.atMs });
    state.events.push({ type: 'order.changed', orderId: order.orderId, state: 'cancelled' });
  }
}
