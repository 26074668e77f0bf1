/**
 * Dispatch: getting packed orders to couriers. A packed order waits in the dispatch queue; before
 * every command ends, waiting orders are offered (oldest first) to the best free courier by
 * `rankCouriers` (available or returning, nearer the store and fewer deliveries first). The courier
 * must accept within COURIER_ACK_TIMEOUT_MS; a decline or a missed acknowledgement puts the order
 * back and passes that courier by (a missed one is also marked unresponsive until heard from). An
 * order waiting past the configured window raises an escalation for operations. A courier lost
 * before pickup gives its order back; one that breaks down on the road hands it over to another;
 * one that goes silent on the road raises an escalation. Never performs I/O, never reads a clock.
 */
import { orderStateOf } from '../actors/index.ts';
import { type CourierCandidate, rankCouriers } from './courier-choice.ts';
import { courierStateOf, courierStep, isFreeCourier } from './couriers.ts';
import { escalateDeadlineMs, scheduleDue } from './due-timers.ts';
import { type EngineError, wrongCourier } from './errors.ts';
import { updateEta } from './eta.ts';
import { COURIER_ACK_TIMEOUT_MS } from './limits.ts';
import { fireOrderEvent } from './orders.ts';
import type { CommandContext, WarehouseState } from './state.ts';
import type { CourierRecord, OrderRecord } from './types.ts';

/** The order needs a courier (packed, released or handed over): it joins the waiting queue. */
export function requestCourier(state: WarehouseState, order: OrderRecord, atMs: number, handover = false): void {
  // Still waiting (a decline, a missed acknowledgement): the wait, and its escalation, go on.
  const stillWaiting = order.dispatch?.waitingSinceMs !== undefined ? order.dispatch : undefined;
  order.dispatch = {
    waitingSinceMs: stillWaiting?.waitingSinceMs ?? atMs,
    passedBy: order.dispatch?.passedBy ?? [],
    escalated: stillWaiting?.escalated ?? false,
    handover,
  };
  state.dispatchQueue.add(order.orderId);
  state.dispatchDirty = true;
  state.events.push({ type: 'dispatch.waiting', orderId: order.orderId, queueLength: state.dispatchQueue.size });
  const deadline = escalateDeadlineMs(state, order);
  if (deadline !== undefined) scheduleDue(state, 'escalate', order.orderId, deadline);
}

function offer(state: WarehouseState, ctx: CommandContext, order: OrderRecord, courier: CourierRecord): void {
  const dispatch = order.dispatch as NonNullable<OrderRecord['dispatch']>;
  if (!dispatch.handover) fireOrderEvent(state, ctx, order, 'courier.assigned', `dispatch:${order.orderId}`);
  courierStep(state, courier, 'dispatch.offered');
  order.courierId = courier.courierId;
  courier.orderId = order.orderId;
  dispatch.offeredTo = courier.courierId;
  dispatch.offerDeadlineMs = ctx.atMs + COURIER_ACK_TIMEOUT_MS;
  state.dispatchQueue.delete(order.orderId);
  scheduleDue(state, 'ack', order.orderId, dispatch.offerDeadlineMs);
  state.events.push({
    type: 'dispatch.offered',
    orderId: order.orderId,
    courierId: courier.courierId,
    deadlineMs: dispatch.offerDeadlineMs,
  });
}

/** Offers waiting orders, oldest first, to the best free couriers. Runs before a command ends. */
export function dispatchWaiting(state: WarehouseState, ctx: CommandContext): void {
  state.dispatchDirty = false;
  if (state.dispatchQueue.size === 0) return;
  const free: CourierCandidate[] = [];
  for (const c of state.couriers.values()) {
    if (!isFreeCourier(c)) continue;
    const s = courierStateOf(c);
    free.push({ courierId: c.courierId, state: s, position: c.position, deliveriesThisShift: c.deliveriesThisShift });
  }
  if (free.length === 0) return;
  // Rank the free couriers once; each waiting order takes the best one not taken and not passing it by.
  const ranked = rankCouriers(free, state.config.location, state.routing);
  const waiting = [...state.dispatchQueue].map((id) => state.orders.get(id) as OrderRecord);
  if (waiting.length > 1) {
    waiting.sort(
      (a, b) =>
        (a.dispatch?.waitingSinceMs ?? 0) - (b.dispatch?.waitingSinceMs ?? 0) || (a.orderId < b.orderId ? -1 : 1),
    );
  }
  let left = ranked.length;
  for (const order of waiting) {
    const passedBy = order.dispatch?.passedBy ?? [];
    const best = ranked.find((c) => c.score >= 0 && !passedBy.includes(c.courierId));
    if (best === undefined) continue;
    offer(state, ctx, order, state.couriers.get(best.courierId) as CourierRecord);
    best.score = -1; // taken
    if (--left === 0) return;
  }
}

/** The offered courier accepted: on the way to the store (or, for a handover, to the customer). */
export function acceptOffer(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  courierId: string,
): EngineError | undefined {
  const dispatch = order.dispatch;
  if (dispatch?.offeredTo !== courierId) return wrongCourier(order.orderId, courierId, dispatch?.offeredTo);
  const courier = state.couriers.get(courierId) as CourierRecord;
  courierStep(state, courier, dispatch.handover ? 'dispatch.handover_accepted' : 'dispatch.accepted');
  delete dispatch.offeredTo;
  delete dispatch.offerDeadlineMs;
  delete dispatch.waitingSinceMs;
  updateEta(state, ctx, order, courier);
  return undefined;
}

/** Checks that a courier event comes from the courier the order is offered to. */
export function checkOfferedTo(order: OrderRecord, courierId: string): EngineError | undefined {
  const offeredTo = order.dispatch?.offeredTo;
  return offeredTo === courierId ? undefined : wrongCourier(order.orderId, courierId, offeredTo);
}

/**
 * The offered courier declined, or missed the acknowledgement (`unresponsive`): the courier is free
 * again, passed by for this order, and the order waits for the next one. For an order still at the
 * store, the caller moves it back to `packed` (its machine asks for a courier again).
 */
export function withdrawOffer(state: WarehouseState, order: OrderRecord, unresponsive: boolean): void {
  const dispatch = order.dispatch as NonNullable<OrderRecord['dispatch']>;
  const courierId = dispatch.offeredTo as string;
  const courier = state.couriers.get(courierId) as CourierRecord;
  delete courier.orderId;
  courierStep(state, courier, unresponsive ? 'dispatch.timed_out' : 'dispatch.declined');
  if (unresponsive) courier.unresponsive = true;
  dispatch.passedBy.push(courierId);
  delete dispatch.offeredTo;
  delete dispatch.offerDeadlineMs;
  delete order.courierId;
}

/** Sixty seconds passed without an acknowledgement. */
export function offerTimedOut(state: WarehouseState, ctx: CommandContext, order: OrderRecord): void {
  const handover = order.dispatch?.handover === true;
  withdrawOffer(state, order, true);
  if (handover) requestCourier(state, order, ctx.atMs, true);
  else fireOrderEvent(state, ctx, order, 'courier.released', `ack-timeout:${order.orderId}`);
}

/** The order waited past the window without a courier: operations are told, once. */
export function escalateWaiting(state: WarehouseState, ctx: CommandContext, order: OrderRecord): void {
  const dispatch = order.dispatch as NonNullable<OrderRecord['dispatch']>;
  dispatch.escalated = true;
  state.events.push({
    type: 'escalation.raised',
    kind: 'no_courier',
    orderId: order.orderId,
    detail: `waiting for a courier since ${new Date(dispatch.waitingSinceMs ?? ctx.atMs).toISOString()}`,
  });
}

/** A courier went offline (silent or broken down) while holding `order`. */
export function courierLost(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  courierId: string,
  reason: 'silent' | 'breakdown',
): void {
  const current = orderStateOf(order.lifecycle.value);
  const dispatch = order.dispatch;
  // The courier only held an offer for a handover: the bag is still with nobody; offer it again.
  const heldHandoverOffer = dispatch?.handover === true && dispatch.offeredTo === courierId;
  if (dispatch !== undefined) {
    dispatch.passedBy.push(courierId);
    delete dispatch.offeredTo;
    delete dispatch.offerDeadlineMs;
  }
  if (heldHandoverOffer) {
    delete order.courierId;
    requestCourier(state, order, ctx.atMs, true);
  } else if (current === 'courier_assigned') {
    // Not picked up yet: the order is still at the store; another courier takes it.
    delete order.courierId;
    fireOrderEvent(state, ctx, order, 'courier.released', `courier-lost:${courierId}:${order.orderId}`);
  } else if (current === 'out_for_delivery' && reason === 'breakdown') {
    delete order.courierId;
    requestCourier(state, order, ctx.atMs, true);
  } else if (current === 'out_for_delivery') {
    state.events.push({
      type: 'escalation.raised',
      kind: 'courier_offline_on_road',
      orderId: order.orderId,
      courierId,
      detail: `courier ${courierId} went silent with the order on the road`,
    });
  }
}
