/**
 * Invariant checks of the warehouse core. A failure is a bug report, thrown as an Error, never a
 * condition to catch and carry on from. `checkTouched` is cheap enough to run after every command
 * in tests; `checkAll` walks the whole warehouse.
 */
import { ackDeadlineMs, type DueKind, escalateDeadlineMs, lateDeadlineMs, silenceDeadlineMs } from './due-timers.ts';
import type { WarehouseState } from './state.ts';
import type { TimerEntry, TimerHeap } from './timers.ts';
import type { SkuRecord } from './types.ts';

function fail(message: string): never {
  throw new Error(`invariant violated: ${message}`);
}

function heldOf(state: WarehouseState, sku: string): number {
  let held = 0;
  for (const id of state.holdsBySku.get(sku) ?? []) {
    const res = state.reservations.get(id);
    if (res === undefined) fail(`${sku} held by closed reservation ${id}`);
    for (const line of res.lines) if (line.sku === sku) held += line.quantity;
  }
  return held;
}

function checkSku(state: WarehouseState, record: SkuRecord): void {
  if (!Number.isSafeInteger(record.onHand) || !Number.isSafeInteger(record.reserved)) {
    fail(`${record.sku} has non-integer stock`);
  }
  if (record.reserved < 0) fail(`${record.sku} reserved ${record.reserved} < 0`);
  const held = heldOf(state, record.sku);
  if (held !== record.reserved) fail(`${record.sku} reserved ${record.reserved} but reservations hold ${held}`);
  if (record.version > state.versionCounter) fail(`${record.sku} version ahead of the counter`);
}

/** Checks the SKUs a command touched. */
export function checkTouched(state: WarehouseState, skus: Iterable<string>): void {
  for (const sku of skus) {
    const record = state.skus.get(sku);
    if (record === undefined) fail(`touched unknown SKU ${sku}`);
    checkSku(state, record);
  }
}

/** The earliest deadline each subject has in a heap. */
function earliestBySubject(heap: TimerHeap<TimerEntry>): Map<string, number> {
  const earliest = new Map<string, number>();
  for (const e of heap.entries()) earliest.set(e.id, Math.min(e.deadlineMs, earliest.get(e.id) ?? Infinity));
  return earliest;
}

/**
 * Every real deadline has a heap entry no later than it: a reservation's expiry, and an order's or
 * courier's fulfilment deadlines. Entries may be early or stale (they are settled lazily), never late
 * or missing, or the deadline would fire late.
 */
function checkDeadlines(state: WarehouseState): void {
  const due = earliestBySubject(state.dueTimers);
  const want = (kind: DueKind, subject: string, deadlineMs: number | undefined): void => {
    if (deadlineMs === undefined) return;
    const at = due.get(`${kind}|${subject}`);
    if (at === undefined || at > deadlineMs) fail(`${kind} of ${subject} due at ${deadlineMs} has no timer by then`);
  };
  for (const order of state.orders.values()) {
    want('ack', order.orderId, ackDeadlineMs(order));
    want('escalate', order.orderId, escalateDeadlineMs(state, order));
    want('late', order.orderId, lateDeadlineMs(order));
  }
  for (const courier of state.couriers.values()) want('silence', courier.courierId, silenceDeadlineMs(courier));
  const expiry = earliestBySubject(state.timers);
  for (const res of state.reservations.values()) {
    const at = expiry.get(res.reservationId);
    if (at === undefined || at > res.expiresAtMs) fail(`reservation ${res.reservationId} has no expiry timer by then`);
  }
}

/** Checks every SKU, every open reservation and that every deadline has its timer. */
export function checkAll(state: WarehouseState): void {
  checkDeadlines(state);
  for (const record of state.skus.values()) checkSku(state, record);
  for (const res of state.reservations.values()) {
    if (!res.lines.some((l) => l.quantity > 0)) fail(`open reservation ${res.reservationId} holds nothing`);
    for (const line of res.lines) {
      if (line.quantity < 0 || line.committed < 0) fail(`reservation ${res.reservationId} has a negative line`);
      if (line.quantity > 0 && !state.holdsBySku.get(line.sku)?.has(res.reservationId)) {
        fail(`reservation ${res.reservationId} missing from the hold index of ${line.sku}`);
      }
    }
  }
}
