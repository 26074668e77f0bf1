/**
 * Orders inside the warehouse's single writer. `order.place` reserves every line at once, promises
 * a delivery time and opens the order, which then asks for a payment hold; `order.event` moves an
 * order through its lifecycle (the compiled order machine), refusing an event whose sender
 * expected another state with INVALID_TRANSITION, and answering a repeated event id with its first
 * outcome. Events that carry facts (a scan, a stockout, a pack, a courier's answer, a delivery
 * proof) are checked before the machine moves, so a refused one changes nothing. Effects the core
 * owns (the reservation, restocking, the pick queue, dispatch) happen inside the same command; the
 * payment calls go out as `order.effect` events for the runtime to execute. Never performs I/O.
 */
import {
  type CompiledStep,
  compiledOrderMachine,
  FINAL_ORDER_STATES,
  type OrderContext,
  type OrderEventType,
  type OrderState,
  orderStateOf,
} from '../actors/index.ts';
import { courierStateOf, courierStep } from './couriers.ts';
import { acceptOffer, checkOfferedTo, requestCourier, withdrawOffer } from './dispatch.ts';
import { lateDeadlineMs, scheduleDue } from './due-timers.ts';
import {
  courierStateConflict,
  type EngineError,
  limitExceeded,
  notFound,
  proofRejected,
  wrongCourier,
} from './errors.ts';
import { checkoutPromiseMs, updateEta } from './eta.ts';
import type { GeoPoint } from './geo.ts';
import { DELIVERY_PROOF_RADIUS_KM, ORDER_EVENTS_KEPT, ORDERS_MAX } from './limits.ts';
import { authorizationSettled, refundOrder, requestPayment, voidHold } from './order-payment.ts';
import {
  cancelPickTask,
  checkPackable,
  checkStockout,
  completePack,
  queueForPicking,
  reportStockout,
  scanLine,
} from './picking.ts';
import { applyRelease, applyReserve } from './reservations.ts';
import type { CommandContext, WarehouseState } from './state.ts';
import type {
  CancelReason,
  CourierRecord,
  OrderEventCommand,
  OrderPlaceCommand,
  OrderRecord,
  PickOutcome,
  Result,
  SkuRecord,
} from './types.ts';

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

function orderResult(order: OrderRecord, duplicate: boolean, pick?: PickOutcome): Result {
  const value: Extract<Result, { ok: true }>['value'] = {
    kind: 'order',
    orderId: order.orderId,
    state: orderStateOf(order.lifecycle.value),
    reservationId: order.reservationId,
    duplicate,
    promisedAtMs: order.promisedAtMs,
  };
  if (pick !== undefined) value.pick = pick;
  return { ok: true, value };
}

/** Runs the effects of a transition: the core's own at once, payment calls announced as events. */
function runEffects(state: WarehouseState, ctx: CommandContext, order: OrderRecord, cmdKey: string, effects: string[]) {
  for (const effect of effects) {
    if (effect === 'releaseReservation') {
      if (state.reservations.has(order.reservationId)) {
        applyRelease(state, ctx, { type: 'release', key: cmdKey, reservationId: order.reservationId });
      }
    } else if (effect === 'queueForPicking') queueForPicking(state, ctx, order, cmdKey);
    else if (effect === 'restockPicked') {
      for (const line of order.picked) {
        const record = state.skus.get(line.sku) as SkuRecord;
        state.moveStock(ctx, record, line.quantity, 0, 'restock', order.orderId);
      }
      order.picked = [];
    } else if (effect === 'requestCourier') requestCourier(state, order, ctx.atMs);
    else if (effect === 'authorizePayment') requestPayment(state, order, 'authorize');
    else if (effect === 'capturePayment') requestPayment(state, order, 'capture');
    else if (effect === 'voidAuthorization') voidHold(state, order);
    else if (effect === 'refundPayment') refundOrder(state, order);
    // 'notify': customers are told from the committed events (notifications/), nothing to do here.
  }
}

/** An order left the floor for good: its pick task, its place in the dispatch queue, its courier. */
function detach(state: WarehouseState, order: OrderRecord, now: OrderState): void {
  cancelPickTask(state, order);
  state.dispatchQueue.delete(order.orderId);
  if (order.dispatch !== undefined) {
    // Nothing waits for a courier any more: no escalation, no acknowledgement deadline.
    delete order.dispatch.waitingSinceMs;
    if (now !== 'cancelled') delete order.dispatch.offeredTo;
  }
  if (now !== 'cancelled' || order.courierId === undefined) return;
  const courier = state.couriers.get(order.courierId);
  if (courier?.orderId === order.orderId) {
    delete courier.orderId;
    courierStep(state, courier, 'order.released');
  }
  delete order.courierId;
  if (order.dispatch !== undefined) delete order.dispatch.offeredTo;
}

/** Commits a machine step: new snapshot, effects, retention of finished orders, `order.changed`. */
function commitStep(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  step: CompiledStep<OrderContext>,
  cmdKey: string,
  eventId?: string,
  reason?: CancelReason,
): void {
  const beforeLeaf = order.lifecycle.value;
  const before = orderStateOf(beforeLeaf);
  order.lifecycle = step.snapshot;
  order.updatedAtMs = ctx.atMs;
  runEffects(state, ctx, order, cmdKey, step.actions);
  const now = orderStateOf(order.lifecycle.value);
  if (FINAL_ORDER_STATES.has(now) && !FINAL_ORDER_STATES.has(before)) {
    detach(state, order, now);
    state.finishedOrders.add(order.orderId, { atMs: ctx.atMs });
  }
  if (order.lifecycle.value === beforeLeaf) return;
  const event: Extract<(typeof state.events)[number], { type: 'order.changed' }> = {
    type: 'order.changed',
    orderId: order.orderId,
    state: now,
  };
  if (eventId !== undefined) event.eventId = eventId;
  if (reason !== undefined && now === 'cancelled' && before !== 'cancelled') event.reason = reason;
  state.events.push(event);
}

/** Moves an order by an event the warehouse raises itself; false when its state refuses it. */
export function fireOrderEvent(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  type: OrderEventType,
  cmdKey: string,
  reason?: CancelReason,
): boolean {
  const step = compiledOrderMachine.transition(order.lifecycle, { type });
  if (step === undefined) return false;
  commitStep(state, ctx, order, step, cmdKey, undefined, reason);
  return true;
}

export function applyOrderPlace(state: WarehouseState, ctx: CommandContext, cmd: OrderPlaceCommand): Result {
  const existing = state.orders.get(cmd.orderId);
  if (existing !== undefined) {
    return { ok: false, error: invalidTransition(cmd.orderId, 'new', orderStateOf(existing.lifecycle.value)) };
  }
  if (state.orders.size >= ORDERS_MAX) return { ok: false, error: limitExceeded('ORDERS_MAX', ORDERS_MAX) };
  const allowSubstitutes = cmd.allowSubstitutes === true;
  const reserved = applyReserve(state, ctx, {
    type: 'reserve',
    key: cmd.key,
    lines: cmd.lines.map((l) => (allowSubstitutes ? { ...l, allowSubstitutes } : { sku: l.sku, quantity: l.quantity })),
    ttlMs: cmd.ttlMs,
    orderRef: cmd.orderId,
  });
  if (!reserved.ok || reserved.value.kind !== 'reserved') return reserved;
  let amountCents = 0;
  for (const line of reserved.value.lines) {
    // A substitute is charged at the price of what the customer asked for.
    const asked = state.skus.get(line.substituteFor ?? line.sku) as SkuRecord;
    amountCents += asked.priceCents * line.quantity;
  }
  const promisedAtMs = ctx.atMs + checkoutPromiseMs(state, cmd.address);
  const order: OrderRecord = {
    orderId: cmd.orderId,
    customerId: cmd.customerId,
    address: { ...cmd.address },
    lines: reserved.value.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
    paymentToken: cmd.paymentToken,
    allowSubstitutes,
    amountCents,
    adjustmentCents: 0,
    promisedAtMs,
    etaAtMs: promisedAtMs,
    lifecycle: compiledOrderMachine.initial({ orderId: cmd.orderId }),
    reservationId: reserved.value.reservationId,
    picked: [],
    payment: { pending: [], capturedCents: 0, voided: false, refundedCents: 0, failures: 0, refundOnCapture: false },
    lateRaised: false,
    createdAtMs: ctx.atMs,
    updatedAtMs: ctx.atMs,
    events: [],
  };
  state.orders.set(order.orderId, order);
  scheduleDue(state, 'late', order.orderId, lateDeadlineMs(order) as number);
  const step = compiledOrderMachine.transition(order.lifecycle, { type: 'reservation.confirmed' });
  commitStep(state, ctx, order, step as CompiledStep<OrderContext>, cmd.key);
  return orderResult(order, false);
}

/** The courier an event names must be the order's courier (and, for an answer, the one offered it). */
function courierOf(state: WarehouseState, order: OrderRecord, cmd: OrderEventCommand): CourierRecord | EngineError {
  const courierId = cmd.courierId as string;
  if (order.courierId !== courierId) return wrongCourier(order.orderId, courierId, order.courierId);
  return state.couriers.get(courierId) as CourierRecord;
}

/**
 * A handover offered to this courier and not accepted yet: it must accept before it delivers (or
 * brings back), or it would stay assigned to an order that is over, with no acknowledgement due.
 */
function handoverNotAccepted(order: OrderRecord, courier: CourierRecord, event: string): EngineError | undefined {
  const current = courierStateOf(courier);
  if (courier.orderId !== order.orderId || current !== 'assigned') return undefined;
  return courierStateConflict(courier.courierId, current, event);
}

/** What an event checked by `prepare` still has to do once the transition is committed. */
interface Prepared {
  pick?: PickOutcome;
  /** The courier the event named (checked against the order). */
  courier?: CourierRecord;
  distanceKm?: number;
}

/**
 * Checks an event's facts and does the domain work that must come before the machine moves.
 * Returns an error (nothing changed) or what `finish` needs once the transition is committed.
 */
function prepare(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  cmd: OrderEventCommand,
): EngineError | Prepared {
  switch (cmd.event) {
    case 'pick.scanned': {
      const outcome = scanLine(state, ctx, order, cmd.key, {
        scanId: cmd.scanId as string,
        sku: cmd.sku as string,
        quantity: cmd.quantity as number,
      });
      return 'code' in outcome ? outcome : { pick: outcome };
    }
    case 'pick.stockout':
      return (
        checkStockout(order, cmd.sku as string) ?? {
          pick: reportStockout(state, ctx, order, cmd.key, cmd.sku as string),
        }
      );
    case 'pack.completed':
      return checkPackable(order) ?? {};
    case 'courier.accepted':
      return checkOfferedTo(order, cmd.courierId as string) ?? {};
    case 'courier.declined': {
      const invalid = checkOfferedTo(order, cmd.courierId as string);
      if (invalid !== undefined) return invalid;
      const handover = order.dispatch?.handover === true;
      withdrawOffer(state, order, false);
      // A handover order stays on the road: it only waits for the next courier.
      if (handover) requestCourier(state, order, ctx.atMs, true);
      return {};
    }
    case 'courier.picked_up': {
      const courier = courierOf(state, order, cmd);
      if ('code' in courier) return courier;
      if (courierStateOf(courier) !== 'en_route_to_pickup') {
        return courierStateConflict(courier.courierId, courierStateOf(courier), cmd.event);
      }
      return { courier };
    }
    case 'delivery.completed': {
      const courier = courierOf(state, order, cmd);
      if ('code' in courier) return courier;
      const unaccepted = handoverNotAccepted(order, courier, cmd.event);
      if (unaccepted !== undefined) return unaccepted;
      const distanceKm = state.routing.distanceKm(cmd.position as GeoPoint, order.address);
      if (distanceKm > DELIVERY_PROOF_RADIUS_KM)
        return proofRejected(order.orderId, distanceKm, DELIVERY_PROOF_RADIUS_KM);
      return { courier, distanceKm };
    }
    case 'delivery.returned': {
      const courier = courierOf(state, order, cmd);
      if ('code' in courier) return courier;
      return handoverNotAccepted(order, courier, cmd.event) ?? { courier };
    }
    default:
      return {};
  }
}

/** The work of an event that follows its committed transition. */
function finish(state: WarehouseState, ctx: CommandContext, order: OrderRecord, cmd: OrderEventCommand, p: Prepared) {
  const courier = p.courier as CourierRecord;
  switch (cmd.event) {
    case 'pick.stockout':
      if (p.pick?.kind === 'dropped') fireOrderEvent(state, ctx, order, 'line.dropped', cmd.key);
      return;
    case 'pack.completed':
      completePack(state, ctx, order, { bagCount: cmd.bagCount as number, stagingSlot: cmd.stagingSlot as string });
      return;
    case 'courier.accepted':
      acceptOffer(state, ctx, order, cmd.courierId as string);
      return;
    case 'courier.picked_up':
      courierStep(state, courier, 'order.picked_up');
      order.pickedUpAtMs = ctx.atMs;
      updateEta(state, ctx, order, courier);
      return;
    case 'delivery.completed':
      order.delivery = {
        atMs: ctx.atMs,
        position: { ...(cmd.position as GeoPoint) },
        distanceKm: p.distanceKm as number,
        safeDrop: cmd.safeDrop === true,
      };
      // A courier who went silent with the bag and came back may hold another order by now: the
      // delivery is a fact of this order, and the courier's own assignment is left as it is.
      if (courier.orderId !== order.orderId) return;
      delete courier.orderId;
      if (courierStep(state, courier, 'order.delivered')) courier.deliveriesThisShift++;
      return;
    case 'delivery.returned':
      if (courier.orderId !== order.orderId) return;
      delete courier.orderId;
      courierStep(state, courier, 'order.returned');
      return;
    case 'payment.authorized':
    case 'payment.declined':
      authorizationSettled(order, cmd.authorizationId);
      return;
    default:
  }
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
  const prepared = prepare(state, ctx, order, cmd);
  if ('code' in prepared) return { ok: false, error: prepared };
  if (prepared.pick?.kind !== 'duplicate_scan') {
    if (cmd.authorizationId !== undefined) order.authorizationId = cmd.authorizationId;
    commitStep(state, ctx, order, step, cmd.key, cmd.eventId, cmd.event === 'order.cancel' ? 'requested' : undefined);
    finish(state, ctx, order, cmd, prepared);
  }
  order.events.push({ eventId: cmd.eventId, state: orderStateOf(order.lifecycle.value) });
  if (order.events.length > ORDER_EVENTS_KEPT) order.events.shift();
  return orderResult(order, false, prepared.pick);
}

/**
 * An order whose reservation expired (an abandoned checkout: the payment hold never came) is
 * cancelled, with the compensation its state calls for (a late hold is voided).
 */
export function cancelExpiredOrders(state: WarehouseState, ctx: CommandContext, orderIds: readonly string[]): void {
  for (const orderId of orderIds) {
    const order = state.orders.get(orderId);
    if (order === undefined || state.reservations.has(order.reservationId)) continue;
    fireOrderEvent(state, ctx, order, 'order.cancel', `expire:${order.reservationId}`, 'reservation_expired');
  }
}
