/**
 * Picking and packing inside the warehouse. A confirmed order becomes a pick task in the
 * warehouse's queue, with its pick list in walk order; pickers check in and take the oldest task.
 * Each accepted scan commits that quantity of the order's reservation (on hand goes down at once);
 * a stockout counts the SKU as zero on the shelf (a drift correction in the ledger), then reserves a
 * substitute if the customer allowed one and one is available, or drops the rest of the line with a
 * price adjustment. Packing records the bags, the staging slot and the pick-pack time, whose
 * rolling average flags a slow warehouse. Never performs I/O, never reads a clock.
 */
import { compiledPickTaskMachine, type PickTaskEventType } from '../actors/index.ts';
import { type EngineError, limitExceeded, notFound, pickIncomplete, scanRejected } from './errors.ts';
import { pickPackAverageMs } from './eta.ts';
import { ORDER_CONFIRMED_HOLD_MS, PICK_PACK_WINDOW, PICKERS_MAX } from './limits.ts';
import { applyScan, pickComplete, walkOrder } from './pick-list.ts';
import { addReservationLine, applyCommit, applyExtend, releaseLineRemainder } from './reservations.ts';
import { availableOf, type CommandContext, type WarehouseState } from './state.ts';
import { applyCount } from './stock.ts';
import type {
  OrderRecord,
  PickerShiftCommand,
  PickOutcome,
  PickTakeCommand,
  PickTask,
  Reservation,
  Result,
  SkuRecord,
} from './types.ts';

function taskStep(task: PickTask, type: PickTaskEventType): void {
  const step = compiledPickTaskMachine.transition(task.lifecycle, { type });
  if (step !== undefined) task.lifecycle = step.snapshot;
}

/** The payment hold is in place: hold the stock until picked and queue the pick task. */
export function queueForPicking(state: WarehouseState, ctx: CommandContext, order: OrderRecord, cmdKey: string): void {
  const res = state.reservations.get(order.reservationId);
  if (res === undefined) return;
  applyExtend(state, ctx, {
    type: 'extend',
    key: cmdKey,
    reservationId: res.reservationId,
    ttlMs: ORDER_CONFIRMED_HOLD_MS,
  });
  const lines = res.lines.map((l) => {
    const record = state.skus.get(l.sku) as SkuRecord;
    const line: PickTask['lines'][number] = {
      sku: l.sku,
      name: record.name,
      quantity: l.quantity,
      location: record.location,
      picked: 0,
    };
    if (l.substituteFor !== undefined) line.substituteFor = l.substituteFor;
    return line;
  });
  order.pick = {
    lifecycle: compiledPickTaskMachine.initial({ orderId: order.orderId }),
    queuedAtMs: ctx.atMs,
    lines: walkOrder(lines),
    scanIds: [],
    dropped: [],
  };
  state.pickQueue.add(order.orderId);
  state.events.push({ type: 'pick.queued', orderId: order.orderId, queueLength: state.pickQueue.size });
}

/** The order left the floor (cancelled): its task is cancelled and its picker freed. */
export function cancelPickTask(state: WarehouseState, order: OrderRecord): void {
  const task = order.pick;
  if (task === undefined) return;
  state.pickQueue.delete(order.orderId);
  if (task.pickerId !== undefined) {
    const picker = state.pickers.get(task.pickerId);
    if (picker?.orderId === order.orderId) delete picker.orderId;
  }
  taskStep(task, 'task.cancelled');
}

function pickerResult(pickerId: string, onShift: boolean): Result {
  return { ok: true, value: { kind: 'picker', pickerId, onShift } };
}

export function applyPickerShift(state: WarehouseState, ctx: CommandContext, cmd: PickerShiftCommand): Result {
  const picker = state.pickers.get(cmd.pickerId);
  if (cmd.type === 'picker.check_in') {
    if (picker !== undefined) return pickerResult(cmd.pickerId, true);
    if (state.pickers.size >= PICKERS_MAX) return { ok: false, error: limitExceeded('PICKERS_MAX', PICKERS_MAX) };
    state.pickers.set(cmd.pickerId, { pickerId: cmd.pickerId, checkedInAtMs: ctx.atMs, picksThisShift: 0 });
    return pickerResult(cmd.pickerId, true);
  }
  if (picker === undefined) return { ok: false, error: notFound('picker', cmd.pickerId) };
  const order = picker.orderId === undefined ? undefined : state.orders.get(picker.orderId);
  if (order?.pick !== undefined) {
    // Left mid-task: the task goes back to the front of the queue; what was scanned stays scanned.
    taskStep(order.pick, 'task.returned');
    delete order.pick.pickerId;
    state.pickQueue = new Set([order.orderId, ...state.pickQueue]);
  }
  state.pickers.delete(cmd.pickerId);
  return pickerResult(cmd.pickerId, false);
}

function taskResult(pickerId: string, order: OrderRecord | undefined): Result {
  if (order?.pick === undefined) return { ok: true, value: { kind: 'pick_task', pickerId } };
  const lines = order.pick.lines.map((l) => ({ ...l, location: { ...l.location } }));
  return { ok: true, value: { kind: 'pick_task', pickerId, task: { orderId: order.orderId, lines } } };
}

export function applyPickTake(
  state: WarehouseState,
  ctx: CommandContext,
  cmd: PickTakeCommand,
  startPicking: (order: OrderRecord) => void,
): Result {
  const picker = state.pickers.get(cmd.pickerId);
  if (picker === undefined) return { ok: false, error: notFound('picker', cmd.pickerId) };
  if (picker.orderId !== undefined) return taskResult(picker.pickerId, state.orders.get(picker.orderId));
  const next = state.pickQueue.values().next();
  if (next.done === true) return taskResult(picker.pickerId, undefined);
  const order = state.orders.get(next.value) as OrderRecord;
  const task = order.pick as PickTask;
  state.pickQueue.delete(order.orderId);
  // A task back from a picker who left is already `picking` for the order.
  if (task.startedAtMs === undefined) {
    task.startedAtMs = ctx.atMs;
    startPicking(order);
  }
  taskStep(task, 'task.taken');
  task.pickerId = picker.pickerId;
  picker.orderId = order.orderId;
  return taskResult(picker.pickerId, order);
}

function openReservation(state: WarehouseState, order: OrderRecord): Reservation | undefined {
  return state.reservations.get(order.reservationId);
}

/** A scan: checked against the list, then that quantity of the reservation is committed. */
export function scanLine(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  cmdKey: string,
  scan: { scanId: string; sku: string; quantity: number },
): PickOutcome | EngineError {
  const task = order.pick as PickTask;
  const seen = new Set(task.scanIds);
  if (seen.has(scan.scanId)) return { kind: 'duplicate_scan' };
  const outcome = applyScan(task.lines, seen, scan);
  if (outcome.kind === 'duplicate') return { kind: 'duplicate_scan' };
  if (outcome.kind === 'rejected') {
    return scanRejected(order.orderId, scan.sku, outcome.reason, scan.quantity, outcome.remaining);
  }
  task.scanIds.push(scan.scanId);
  const committed = applyCommit(state, ctx, {
    type: 'commit',
    key: cmdKey,
    reservationId: order.reservationId,
    lines: [{ sku: scan.sku, quantity: scan.quantity }],
  });
  // The pick list mirrors what the reservation holds: a failed commit here is a bug, not bad input.
  if (!committed.ok) throw new Error(`order ${order.orderId}: scan of ${scan.sku} could not commit`);
  const picked = order.picked.find((p) => p.sku === scan.sku);
  if (picked === undefined) order.picked.push({ sku: scan.sku, quantity: scan.quantity });
  else picked.quantity += scan.quantity;
  return { kind: 'scanned', sku: scan.sku, remaining: outcome.remaining, complete: outcome.complete };
}

/** Checks a stockout report names a line with units still to pick. */
export function checkStockout(order: OrderRecord, sku: string): EngineError | undefined {
  const line = order.pick?.lines.find((l) => l.sku === sku);
  if (line === undefined) return scanRejected(order.orderId, sku, 'wrong_sku', 0, 0);
  const remaining = line.quantity - line.picked;
  return remaining > 0 ? undefined : scanRejected(order.orderId, sku, 'nothing_to_pick', 0, 0);
}

/** The substitute to reserve for `remaining` units of `sku`, if the customer allowed one and one fits. */
function substituteFor(state: WarehouseState, order: OrderRecord, sku: string, remaining: number): string | undefined {
  if (!order.allowSubstitutes) return undefined;
  const task = order.pick as PickTask;
  for (const candidate of (state.skus.get(sku) as SkuRecord).substitutes) {
    if (task.lines.some((l) => l.sku === candidate)) continue;
    const record = state.skus.get(candidate);
    if (record !== undefined && availableOf(record) >= remaining) return candidate;
  }
  return undefined;
}

/**
 * The picker found the shelf empty: the SKU is counted as zero there, then the rest of the line is
 * substituted or dropped. A drop is reported as `dropped` so the caller moves the order machine.
 */
export function reportStockout(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  cmdKey: string,
  sku: string,
): PickOutcome {
  const task = order.pick as PickTask;
  const line = task.lines.find((l) => l.sku === sku) as PickTask['lines'][number];
  const remaining = line.quantity - line.picked;
  const res = openReservation(state, order) as Reservation;
  const substitute = substituteFor(state, order, sku, remaining);
  // Reserve the substitute before the original line lets go, so the reservation stays open.
  if (substitute !== undefined) addReservationLine(state, ctx, res, substitute, remaining, line.substituteFor ?? sku);
  releaseLineRemainder(state, ctx, res, sku);
  applyCount(state, ctx, { type: 'count', key: cmdKey, sku, counted: 0 });
  line.quantity = line.picked;
  if (substitute !== undefined) {
    const record = state.skus.get(substitute) as SkuRecord;
    task.lines = walkOrder([
      ...task.lines,
      {
        sku: substitute,
        name: record.name,
        quantity: remaining,
        location: record.location,
        picked: 0,
        // What the customer asked for (and paid), also when this line was itself a substitute.
        substituteFor: line.substituteFor ?? sku,
      },
    ]);
    state.events.push({ type: 'order.substituted', orderId: order.orderId, sku, substitute, quantity: remaining });
    return { kind: 'substituted', sku, substitute, quantity: remaining };
  }
  // The customer was charged the price of what they asked for, substitute or not.
  const adjustmentCents = (state.skus.get(line.substituteFor ?? sku) as SkuRecord).priceCents * remaining;
  order.adjustmentCents += adjustmentCents;
  task.dropped.push({ sku, quantity: remaining, adjustmentCents });
  state.events.push({ type: 'order.line_dropped', orderId: order.orderId, sku, quantity: remaining, adjustmentCents });
  return { kind: 'dropped', sku, quantity: remaining, adjustmentCents };
}

/** Checks every line is picked (or dropped) before packing. */
export function checkPackable(order: OrderRecord): EngineError | undefined {
  const task = order.pick as PickTask;
  if (pickComplete(task.lines)) return undefined;
  const lines = task.lines
    .filter((l) => l.picked < l.quantity)
    .map((l) => ({ sku: l.sku, remaining: l.quantity - l.picked }));
  return pickIncomplete(order.orderId, lines);
}

/** Packed: records bags and slot, frees the picker, and folds the pick-pack time into the average. */
export function completePack(
  state: WarehouseState,
  ctx: CommandContext,
  order: OrderRecord,
  pack: { bagCount: number; stagingSlot: string },
): void {
  const task = order.pick as PickTask;
  taskStep(task, 'task.packed');
  // Packed while its task waited in the queue (its picker checked out after the last scan): out of
  // the queue, or the next picker would be handed a packed order and every promise would count it.
  state.pickQueue.delete(order.orderId);
  const picker = task.pickerId === undefined ? undefined : state.pickers.get(task.pickerId);
  if (picker !== undefined && picker.orderId === order.orderId) {
    delete picker.orderId;
    picker.picksThisShift++;
  }
  const pickPackMs = ctx.atMs - (task.startedAtMs ?? task.queuedAtMs);
  order.pack = { bagCount: pack.bagCount, stagingSlot: pack.stagingSlot, packedAtMs: ctx.atMs, pickPackMs };
  const recent = state.pickPackRecentMs;
  recent.push(pickPackMs);
  if (recent.length > PICK_PACK_WINDOW) recent.shift();
  const averageMs = pickPackAverageMs(state);
  const slow = averageMs > state.config.pickPackSlowMs;
  state.events.push({ type: 'pick_pack.recorded', orderId: order.orderId, pickPackMs, averageMs, slow });
  if (slow && !state.pickPackSlow) {
    state.events.push({
      type: 'escalation.raised',
      kind: 'pick_pack_slow',
      detail: `rolling pick-pack average ${Math.round(averageMs / 1000)} s is over ${state.config.pickPackSlowMs / 1000} s`,
    });
  }
  state.pickPackSlow = slow;
}
