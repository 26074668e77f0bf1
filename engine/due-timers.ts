/**
 * Fulfilment deadlines: a courier's acknowledgement (60 s), a courier's silence (5 min), a packed
 * order waiting for a courier (escalation window) and a delivery running late (30% over its
 * promise). Each entry only says "look at this subject then"; the deadline itself is always
 * recomputed from the records, so an entry that is early is moved to the real deadline and one
 * whose deadline went away is dropped. An action fires only from an entry whose time equals the
 * real deadline, so the firing order is (deadline, kind, subject): the same for the live heap and
 * for one rebuilt from a snapshot, which keeps replay exact. Never performs I/O.
 */
import { FINAL_ORDER_STATES, orderStateOf } from '../actors/index.ts';
import { courierSilent } from './couriers.ts';
import { escalateWaiting, offerTimedOut } from './dispatch.ts';
import { COURIER_SILENCE_MS, DELIVERY_LATE_FACTOR } from './limits.ts';
import type { CommandContext, WarehouseState } from './state.ts';
import type { CourierRecord, OrderRecord } from './types.ts';

export type DueKind = 'ack' | 'silence' | 'escalate' | 'late';

/** Tie-break between kinds due at the same millisecond. */
const RANK: Record<DueKind, number> = { ack: 1, silence: 2, escalate: 3, late: 4 };

/** Asks for a look at `subjectId` at `deadlineMs` (never later than the real deadline). */
export function scheduleDue(state: WarehouseState, kind: DueKind, subjectId: string, deadlineMs: number): void {
  state.dueTimers.push({ deadlineMs, order: RANK[kind], id: `${kind}|${subjectId}` });
}

export function ackDeadlineMs(order: OrderRecord): number | undefined {
  return order.dispatch?.offeredTo === undefined ? undefined : order.dispatch.offerDeadlineMs;
}

export function silenceDeadlineMs(courier: CourierRecord): number | undefined {
  return courier.lifecycle.value === 'offline' ? undefined : courier.lastSeenAtMs + COURIER_SILENCE_MS;
}

export function escalateDeadlineMs(state: WarehouseState, order: OrderRecord): number | undefined {
  const d = order.dispatch;
  if (d === undefined || d.escalated || d.waitingSinceMs === undefined) return undefined;
  if (FINAL_ORDER_STATES.has(orderStateOf(order.lifecycle.value))) return undefined;
  return d.waitingSinceMs + state.config.pendingDispatchEscalationMs;
}

export function lateDeadlineMs(order: OrderRecord): number | undefined {
  if (order.lateRaised || FINAL_ORDER_STATES.has(orderStateOf(order.lifecycle.value))) return undefined;
  return order.createdAtMs + Math.ceil(DELIVERY_LATE_FACTOR * (order.promisedAtMs - order.createdAtMs));
}

function deadlineOf(state: WarehouseState, kind: DueKind, subjectId: string): number | undefined {
  if (kind === 'silence') {
    const courier = state.couriers.get(subjectId);
    return courier === undefined ? undefined : silenceDeadlineMs(courier);
  }
  const order = state.orders.get(subjectId);
  if (order === undefined) return undefined;
  if (kind === 'ack') return ackDeadlineMs(order);
  if (kind === 'escalate') return escalateDeadlineMs(state, order);
  return lateDeadlineMs(order);
}

/** What a heap entry (`<kind>|<subject>`) stands for, and that subject's real deadline now. */
function lookAt(
  state: WarehouseState,
  id: string,
): { kind: DueKind; subjectId: string; deadlineMs: number | undefined } {
  const bar = id.indexOf('|');
  const kind = id.slice(0, bar) as DueKind;
  const subjectId = id.slice(bar + 1);
  return { kind, subjectId, deadlineMs: deadlineOf(state, kind, subjectId) };
}

function fire(state: WarehouseState, ctx: CommandContext, kind: DueKind, subjectId: string): void {
  if (kind === 'silence') {
    courierSilent(state, ctx, state.couriers.get(subjectId) as CourierRecord);
    return;
  }
  const order = state.orders.get(subjectId) as OrderRecord;
  if (kind === 'ack') offerTimedOut(state, ctx, order);
  else if (kind === 'escalate') escalateWaiting(state, ctx, order);
  else raiseLate(state, order);
}

function raiseLate(state: WarehouseState, order: OrderRecord): void {
  order.lateRaised = true;
  const event: Extract<(typeof state.events)[number], { type: 'order.late' }> = {
    type: 'order.late',
    orderId: order.orderId,
    promisedAtMs: order.promisedAtMs,
    state: orderStateOf(order.lifecycle.value),
  };
  if (order.courierId !== undefined) event.courierId = order.courierId;
  state.events.push(event);
}

/** Fires every fulfilment deadline at or before the command's time, in (deadline, kind, subject) order. */
export function fireDueTimers(state: WarehouseState, ctx: CommandContext): void {
  const heap = state.dueTimers;
  for (let top = heap.peek(); top !== undefined && top.deadlineMs <= ctx.atMs; top = heap.peek()) {
    heap.pop();
    const { kind, subjectId, deadlineMs } = lookAt(state, top.id);
    if (deadlineMs === undefined) continue;
    if (deadlineMs !== top.deadlineMs) {
      // The deadline moved (usually later: a courier was heard from): look again at the real one.
      scheduleDue(state, kind, subjectId, deadlineMs);
      continue;
    }
    fire(state, ctx, kind, subjectId);
  }
}

/**
 * Moves the entries at the top of the heap whose deadline moved or went away to where they belong
 * (or drops them), so that the next deadline the warehouse reports is a real one: a courier heard
 * from every few seconds would otherwise wake the warehouse every five minutes for nothing. It is
 * what `fireDueTimers` does with such an entry when its time comes, done early; which actions fire,
 * and when, does not change (the heap is rebuilt from the records on every load anyway).
 */
export function settleDueTimers(state: WarehouseState): void {
  const heap = state.dueTimers;
  for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
    const { kind, subjectId, deadlineMs } = lookAt(state, top.id);
    if (deadlineMs === top.deadlineMs) return;
    heap.pop();
    if (deadlineMs !== undefined) scheduleDue(state, kind, subjectId, deadlineMs);
  }
}

/** Rebuilds the heap from the records (after loading a snapshot): one entry per live deadline. */
export function rebuildDueTimers(state: WarehouseState): void {
  state.dueTimers.clear();
  for (const courier of state.couriers.values()) {
    const d = silenceDeadlineMs(courier);
    if (d !== undefined) scheduleDue(state, 'silence', courier.courierId, d);
  }
  for (const order of state.orders.values()) {
    const ack = ackDeadlineMs(order);
    if (ack !== undefined) scheduleDue(state, 'ack', order.orderId, ack);
    const escalate = escalateDeadlineMs(state, order);
    if (escalate !== undefined) scheduleDue(state, 'escalate', order.orderId, escalate);
    const late = lateDeadlineMs(order);
    if (late !== undefined) scheduleDue(state, 'late', order.orderId, late);
  }
}
