/**
 * Reservations: the all-or-nothing hold of order lines with a TTL, and its ends: commit (deduct on
 * pick), release (cancel) and expiry. The core invariant lives here: a reservation is accepted only
 * if every line fits in `available` at that moment, so online orders never oversell.
 * Pure functions of (state, command, stamp); never perform I/O.
 */
import {
  insufficientStock,
  invalidQuantity,
  limitExceeded,
  notFound,
  type ShortLine,
  versionConflict,
} from './errors.ts';
import { OPEN_RESERVATIONS_MAX } from './limits.ts';
import { availableOf, type ClosedAs, type CommandContext, type Tombstone, type WarehouseState } from './state.ts';
import type {
  CommitCommand,
  ExtendCommand,
  LedgerReason,
  OrderRecord,
  QuantityLine,
  ReleaseCommand,
  Reservation,
  ReservationLine,
  ReserveCommand,
  ReserveLine,
  Result,
  SkuRecord,
} from './types.ts';

function missing(state: WarehouseState, reservationId: string): Result {
  return { ok: false, error: notFound('reservation', reservationId, state.tombstones.get(reservationId)?.closedAs) };
}

/**
 * The order that owns a reservation (placed it), if any. Its reservation moves with the order only
 * (picking commits it, a cancellation releases it): a plain commit, release or extend is refused.
 */
export function owningOrder(state: WarehouseState, res: Reservation | undefined): OrderRecord | undefined {
  if (res?.orderRef === undefined) return undefined;
  const order = state.orders.get(res.orderRef);
  return order?.reservationId === res.reservationId ? order : undefined;
}

/** Chooses the SKU that serves a line: itself, or the first substitute that fits, or none. */
function chooseSku(
  state: WarehouseState,
  line: ReserveLine,
  demand: Map<string, number>,
  named: Set<string>,
): SkuRecord | undefined {
  const record = state.skus.get(line.sku) as SkuRecord;
  if (line.quantity <= availableOf(record) - (demand.get(line.sku) ?? 0)) return record;
  if (line.allowSubstitutes !== true) return undefined;
  for (const substitute of record.substitutes) {
    // A substitute already on the reservation would give it two lines of one SKU: skip it.
    if (named.has(substitute)) continue;
    const sub = state.skus.get(substitute);
    if (sub !== undefined && line.quantity <= availableOf(sub) - (demand.get(substitute) ?? 0)) return sub;
  }
  return undefined;
}

/**
 * Scratch structures of `planReserve`, reused from call to call: apply is synchronous and never
 * re-entered, and a reservation on the hot path should not allocate what it throws away.
 */
const scratchDemand = new Map<string, number>();
const scratchNamed = new Set<string>();
/** The records chosen for the lines of the last successful plan, in line order. */
const scratchChosen: SkuRecord[] = [];

/** Plans every line against available, without changing anything. */
function planReserve(state: WarehouseState, cmd: ReserveCommand): ReservationLine[] | Result {
  for (const line of cmd.lines) {
    const record = state.skus.get(line.sku);
    if (record === undefined) return { ok: false, error: notFound('sku', line.sku) };
    if (line.expectedVersion !== undefined && line.expectedVersion !== record.version) {
      return { ok: false, error: versionConflict(line.sku, line.expectedVersion, record.version) };
    }
  }
  const demand = scratchDemand;
  const named = scratchNamed;
  demand.clear();
  named.clear();
  for (const line of cmd.lines) named.add(line.sku);
  scratchChosen.length = 0;
  const plan: ReservationLine[] = [];
  const short: ShortLine[] = [];
  for (const line of cmd.lines) {
    const chosen = chooseSku(state, line, demand, named);
    if (chosen === undefined) {
      const record = state.skus.get(line.sku) as SkuRecord;
      const available = Math.max(0, availableOf(record) - (demand.get(line.sku) ?? 0));
      short.push({ sku: line.sku, requested: line.quantity, available });
      continue;
    }
    demand.set(chosen.sku, (demand.get(chosen.sku) ?? 0) + line.quantity);
    scratchChosen.push(chosen);
    const held: ReservationLine = { sku: chosen.sku, quantity: line.quantity, committed: 0 };
    if (chosen.sku !== line.sku) {
      held.substituteFor = line.sku;
      named.add(chosen.sku);
    }
    plan.push(held);
  }
  if (short.length > 0) return { ok: false, error: insufficientStock(short) };
  return plan;
}

export function applyReserve(state: WarehouseState, ctx: CommandContext, cmd: ReserveCommand): Result {
  if (state.reservations.size >= OPEN_RESERVATIONS_MAX) {
    return { ok: false, error: limitExceeded('OPEN_RESERVATIONS_MAX', OPEN_RESERVATIONS_MAX) };
  }
  const plan = planReserve(state, cmd);
  if (!Array.isArray(plan)) return plan;
  const reservationId = `r${ctx.seq}`;
  const reservation: Reservation = {
    reservationId,
    createdSeq: ctx.seq,
    lines: plan,
    createdAtMs: ctx.atMs,
    expiresAtMs: ctx.atMs + cmd.ttlMs,
  };
  if (cmd.orderRef !== undefined) reservation.orderRef = cmd.orderRef;
  for (let i = 0; i < plan.length; i++) {
    const line = plan[i] as ReservationLine;
    state.moveStock(ctx, scratchChosen[i] as SkuRecord, 0, line.quantity, 'reserve', reservationId);
    state.addHold(line.sku, reservationId);
  }
  state.reservations.set(reservationId, reservation);
  state.timers.push({ deadlineMs: reservation.expiresAtMs, order: ctx.seq, id: reservationId });
  state.compactTimers();
  return {
    ok: true,
    value: {
      kind: 'reserved',
      reservationId,
      expiresAtMs: reservation.expiresAtMs,
      lines: plan.map((l) => ({ ...l })),
    },
  };
}

/** The last tombstone made per way of closing: tombstones are immutable, so one serves a whole batch. */
const lastTombstones = new Map<ClosedAs, Tombstone>();

function tombstoneOf(closedAs: ClosedAs, atMs: number): Tombstone {
  const last = lastTombstones.get(closedAs);
  if (last !== undefined && last.atMs === atMs) return last;
  const tombstone = { closedAs, atMs };
  lastTombstones.set(closedAs, tombstone);
  return tombstone;
}

/** Gives back every unit a reservation still holds and closes it. */
function closeReservation(
  state: WarehouseState,
  ctx: CommandContext,
  res: Reservation,
  reason: LedgerReason,
  closedAs: ClosedAs,
): QuantityLine[] {
  const released: QuantityLine[] = [];
  for (const line of res.lines) {
    if (line.quantity > 0) {
      state.moveStock(ctx, state.skus.get(line.sku) as SkuRecord, 0, -line.quantity, reason, res.reservationId);
      released.push({ sku: line.sku, quantity: line.quantity });
      line.quantity = 0;
    }
    state.removeHold(line.sku, res.reservationId);
  }
  state.reservations.delete(res.reservationId);
  // Reservation ids are unique (r<seq>) and each closes once.
  state.tombstones.add(res.reservationId, tombstoneOf(closedAs, ctx.atMs));
  return released;
}

/** Works out what a commit deducts per line, or the INVALID_QUANTITY of the first line that asks too much. */
const scratchCommitPlan = new Map<ReservationLine, number>();

function planCommit(res: Reservation, cmd: CommitCommand): Map<ReservationLine, number> | Result {
  const plan = scratchCommitPlan;
  plan.clear();
  if (cmd.lines === undefined) {
    for (const line of res.lines) if (line.quantity > 0) plan.set(line, line.quantity);
    return plan;
  }
  for (const want of cmd.lines) {
    const line = res.lines.find((l) => l.sku === want.sku);
    const held = line?.quantity ?? 0;
    if (line === undefined || want.quantity > held) {
      return { ok: false, error: invalidQuantity(res.reservationId, want.sku, want.quantity, held) };
    }
    plan.set(line, want.quantity);
  }
  return plan;
}

export function applyCommit(state: WarehouseState, ctx: CommandContext, cmd: CommitCommand): Result {
  const res = state.reservations.get(cmd.reservationId);
  if (res === undefined) return missing(state, cmd.reservationId);
  const plan = planCommit(res, cmd);
  if (!(plan instanceof Map)) return plan;
  const committed: QuantityLine[] = [];
  for (const [line, quantity] of plan) {
    state.moveStock(ctx, state.skus.get(line.sku) as SkuRecord, -quantity, -quantity, 'commit', res.reservationId);
    line.quantity -= quantity;
    line.committed += quantity;
    if (line.quantity === 0) state.removeHold(line.sku, res.reservationId);
    committed.push({ sku: line.sku, quantity });
  }
  const remaining = res.lines.some((l) => l.quantity > 0);
  const closed = !remaining || cmd.releaseRest === true;
  if (closed) closeReservation(state, ctx, res, 'release', 'committed');
  return { ok: true, value: { kind: 'committed', reservationId: res.reservationId, lines: committed, closed } };
}

export function applyRelease(state: WarehouseState, ctx: CommandContext, cmd: ReleaseCommand): Result {
  const res = state.reservations.get(cmd.reservationId);
  if (res === undefined) return missing(state, cmd.reservationId);
  const lines = closeReservation(state, ctx, res, 'release', 'released');
  return { ok: true, value: { kind: 'released', reservationId: res.reservationId, lines } };
}

export function applyExtend(state: WarehouseState, ctx: CommandContext, cmd: ExtendCommand): Result {
  const res = state.reservations.get(cmd.reservationId);
  if (res === undefined) return missing(state, cmd.reservationId);
  // Extending never shortens a hold: the deadline becomes the later of the two.
  const expiresAtMs = Math.max(res.expiresAtMs, ctx.atMs + cmd.ttlMs);
  if (expiresAtMs === res.expiresAtMs) {
    return { ok: true, value: { kind: 'extended', reservationId: res.reservationId, expiresAtMs } };
  }
  res.expiresAtMs = expiresAtMs;
  state.timers.push({ deadlineMs: res.expiresAtMs, order: res.createdSeq, id: res.reservationId });
  state.compactTimers();
  return { ok: true, value: { kind: 'extended', reservationId: res.reservationId, expiresAtMs: res.expiresAtMs } };
}

/**
 * Expires every reservation whose deadline is at or before `ctx.atMs`. Returns how many expired;
 * the orders whose own reservation expired are pushed to `expiredOrders` (a plain reserve may carry
 * any `orderRef`, an order's id included: its expiry is not that order's).
 */
export function expireDue(state: WarehouseState, ctx: CommandContext, expiredOrders: string[] = []): number {
  let expired = 0;
  for (let top = state.timers.peek(); top !== undefined && top.deadlineMs <= ctx.atMs; top = state.timers.peek()) {
    state.timers.pop();
    const res = state.reservations.get(top.id);
    if (res === undefined || res.expiresAtMs !== top.deadlineMs) continue;
    const lines = closeReservation(state, ctx, res, 'expire', 'expired');
    state.events.push({ type: 'reservation.expired', reservationId: res.reservationId, lines });
    if (owningOrder(state, res) !== undefined) expiredOrders.push(res.orderRef as string);
    expired++;
  }
  return expired;
}

/**
 * Drops the expiry entries at the top of the heap whose reservation closed or was extended (a new
 * entry stands for it), so that the next deadline the warehouse reports is a real one. `expireDue`
 * skips such entries when their time comes; dropping them early changes nothing it does.
 */
export function settleExpiryTimers(state: WarehouseState): void {
  for (let top = state.timers.peek(); top !== undefined; top = state.timers.peek()) {
    const res = state.reservations.get(top.id);
    if (res !== undefined && res.expiresAtMs === top.deadlineMs) return;
    state.timers.pop();
  }
}

/**
 * Gives back what one line of an open reservation still holds (a stockout at picking), keeping the
 * rest of the reservation; closes the reservation when nothing is held any more. Returns the units.
 */
export function releaseLineRemainder(
  state: WarehouseState,
  ctx: CommandContext,
  res: Reservation,
  sku: string,
): number {
  const line = res.lines.find((l) => l.sku === sku);
  const quantity = line?.quantity ?? 0;
  if (line !== undefined && quantity > 0) {
    state.moveStock(ctx, state.skus.get(sku) as SkuRecord, 0, -quantity, 'release', res.reservationId);
    line.quantity = 0;
    state.removeHold(sku, res.reservationId);
  }
  if (!res.lines.some((l) => l.quantity > 0)) closeReservation(state, ctx, res, 'release', 'committed');
  return quantity;
}

/** Adds a held line to an open reservation (a substitute found at picking). The caller checked it fits. */
export function addReservationLine(
  state: WarehouseState,
  ctx: CommandContext,
  res: Reservation,
  sku: string,
  quantity: number,
  substituteFor: string,
): void {
  state.moveStock(ctx, state.skus.get(sku) as SkuRecord, 0, quantity, 'reserve', res.reservationId);
  res.lines.push({ sku, quantity, committed: 0, substituteFor });
  state.addHold(sku, res.reservationId);
}
