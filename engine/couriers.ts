/**
 * The courier pool of a warehouse: check in and out, GPS pings with their trails of earlier points
 * (believed or rejected by tracking.ts, gaps bridged), silence and breakdowns. A courier's state is
 * its compiled courier machine; every change is announced as `courier.changed`, and a courier that
 * becomes free marks dispatch as due. What happens to a courier's order when the courier is lost
 * lives in dispatch.ts. Never performs I/O, never reads a clock.
 */
import { type CourierEventType, type CourierState, compiledCourierMachine } from '../actors/index.ts';
import { courierLost, dispatchWaiting } from './dispatch.ts';
import { scheduleDue, silenceDeadlineMs } from './due-timers.ts';
import { courierStateConflict, type EngineError, limitExceeded, notFound, pingRejected } from './errors.ts';
import { updateEta } from './eta.ts';
import { COURIER_ARRIVED_RADIUS_KM, COURIERS_MAX } from './limits.ts';
import type { CommandContext, WarehouseState } from './state.ts';
import { acceptPing, type PingOutcome, type TrackPoint } from './tracking.ts';
import type {
  CourierCheckInCommand,
  CourierPingCommand,
  CourierRecord,
  CourierShiftCommand,
  OrderRecord,
  Result,
  TrailPoint,
} from './types.ts';

export function courierStateOf(courier: CourierRecord): CourierState {
  return courier.lifecycle.value as CourierState;
}

/** Whether a courier may be offered an order now: available or on the way back, and responsive. */
export function isFreeCourier(courier: CourierRecord): boolean {
  const s = courier.lifecycle.value;
  return (s === 'available' || s === 'returning') && !courier.unresponsive;
}

/** Moves a courier through its machine; false (and nothing changed) when its state refuses the event. */
export function courierStep(state: WarehouseState, courier: CourierRecord, type: CourierEventType): boolean {
  const step = compiledCourierMachine.transition(courier.lifecycle, { type });
  if (step === undefined) return false;
  const before = courier.lifecycle.value;
  courier.lifecycle = step.snapshot;
  if (step.snapshot.value !== before) {
    const now = courierStateOf(courier);
    const event: Extract<(typeof state.events)[number], { type: 'courier.changed' }> = {
      type: 'courier.changed',
      courierId: courier.courierId,
      state: now,
    };
    if (courier.orderId !== undefined) event.orderId = courier.orderId;
    state.events.push(event);
    if (now === 'available' || now === 'returning') state.dispatchDirty = true;
  }
  return true;
}

function courierResult(state: WarehouseState, courier: CourierRecord): Result {
  const value: Extract<Result, { ok: true }>['value'] = {
    kind: 'courier',
    courierId: courier.courierId,
    state: courierStateOf(courier),
  };
  if (courier.orderId !== undefined) {
    value.orderId = courier.orderId;
    const order = state.orders.get(courier.orderId);
    if (order !== undefined) value.etaAtMs = order.etaAtMs;
  }
  return { ok: true, value };
}

export function applyCourierCheckIn(state: WarehouseState, ctx: CommandContext, cmd: CourierCheckInCommand): Result {
  let courier = state.couriers.get(cmd.courierId);
  if (courier === undefined) {
    if (state.couriers.size >= COURIERS_MAX) return { ok: false, error: limitExceeded('COURIERS_MAX', COURIERS_MAX) };
    courier = {
      courierId: cmd.courierId,
      lifecycle: compiledCourierMachine.initial({ courierId: cmd.courierId }),
      position: { ...cmd.position },
      lastPingAtMs: 0,
      lastSeenAtMs: ctx.atMs,
      deliveriesThisShift: 0,
      unresponsive: false,
    };
    state.couriers.set(courier.courierId, courier);
  }
  // Already on shift: checking in again only says the courier is there.
  courier.lastSeenAtMs = ctx.atMs;
  courier.unresponsive = false;
  if (courierStateOf(courier) === 'offline') {
    courier.position = { ...cmd.position };
    courier.lastPingAtMs = 0;
    courier.deliveriesThisShift = 0;
    delete courier.offlineReason;
    courierStep(state, courier, 'courier.checked_in');
  }
  state.dispatchDirty = true;
  scheduleDue(state, 'silence', courier.courierId, silenceDeadlineMs(courier) as number);
  return courierResult(state, courier);
}

/** Takes a courier off shift: its order, if any, goes to another courier or to operations. */
function takeOffline(
  state: WarehouseState,
  ctx: CommandContext,
  courier: CourierRecord,
  reason: 'silent' | 'breakdown',
): void {
  const orderId = courier.orderId;
  courierStep(state, courier, reason === 'silent' ? 'courier.silent' : 'courier.broke_down');
  courier.offlineReason = reason;
  delete courier.orderId;
  const order = orderId === undefined ? undefined : state.orders.get(orderId);
  if (order !== undefined) courierLost(state, ctx, order, courier.courierId, reason);
}

export function applyCourierShift(state: WarehouseState, ctx: CommandContext, cmd: CourierShiftCommand): Result {
  const courier = state.couriers.get(cmd.courierId);
  if (courier === undefined) return { ok: false, error: notFound('courier', cmd.courierId) };
  const current = courierStateOf(courier);
  if (cmd.type === 'courier.check_out') {
    if (!courierStep(state, courier, 'courier.checked_out')) {
      return { ok: false, error: courierStateConflict(courier.courierId, current, cmd.type) };
    }
    courier.offlineReason = 'checked_out';
    return courierResult(state, courier);
  }
  if (current === 'offline') return { ok: false, error: courierStateConflict(courier.courierId, current, cmd.type) };
  takeOffline(state, ctx, courier, 'breakdown');
  return courierResult(state, courier);
}

/** The silence deadline passed: the courier is offline. */
export function courierSilent(state: WarehouseState, ctx: CommandContext, courier: CourierRecord): void {
  takeOffline(state, ctx, courier, 'silent');
}

type AcceptedPing = Extract<PingOutcome, { ok: true }>;

const NO_TRAIL: readonly TrailPoint[] = [];

/**
 * Checks every point of a ping, trail first and the newest last, each against the one before it
 * (the oldest against the courier's last accepted point), exactly as separate pings would be
 * checked. Returns the accepted points in order, or the refusal of the first point that is not
 * believed. Pure: changes nothing, so a refused point refuses the whole ping.
 */
function checkTrack(courier: CourierRecord, cmd: CourierPingCommand): AcceptedPing[] | EngineError {
  let last: TrackPoint | undefined =
    courier.lastPingAtMs > 0
      ? { position: courier.position, atMs: courier.lastPingAtMs, interpolated: false }
      : undefined;
  const trail = cmd.trail ?? NO_TRAIL;
  const accepted: AcceptedPing[] = [];
  for (let i = 0; i <= trail.length; i++) {
    // The command itself carries the newest point, after the trail.
    const point: TrailPoint = i < trail.length ? (trail[i] as TrailPoint) : cmd;
    const outcome = acceptPing(last, point.position, point.deviceTimeMs);
    if (!outcome.ok) {
      return pingRejected(courier.courierId, outcome.reason, outcome.speedKmh, i < trail.length ? i : undefined);
    }
    accepted.push(outcome);
    last = outcome.point;
  }
  return accepted;
}

/** One believed point, as a ping of its own: the track (bridged if need be), last seen, arrival and ETA. */
function applyPoint(state: WarehouseState, ctx: CommandContext, courier: CourierRecord, ping: AcceptedPing): void {
  for (const point of ping.bridged) pushMoved(state, courier, point);
  pushMoved(state, courier, ping.point);
  courier.position = { ...ping.point.position };
  courier.lastPingAtMs = ping.point.atMs;
  courier.lastSeenAtMs = ctx.atMs;
  if (courier.unresponsive) {
    courier.unresponsive = false;
    state.dispatchDirty = true;
  }
  const current = courierStateOf(courier);
  if (
    current === 'returning' &&
    state.routing.distanceKm(courier.position, state.config.location) <= COURIER_ARRIVED_RADIUS_KM
  ) {
    courierStep(state, courier, 'courier.arrived');
  }
  const order = courier.orderId === undefined ? undefined : state.orders.get(courier.orderId);
  if (order !== undefined) updateEta(state, ctx, order as OrderRecord, courier);
}

function pushMoved(state: WarehouseState, courier: CourierRecord, point: TrackPoint): void {
  state.events.push({
    type: 'courier.moved',
    courierId: courier.courierId,
    position: point.position,
    atMs: point.atMs,
    interpolated: point.interpolated,
  });
}

/**
 * A GPS ping, with the trail of earlier points a batched upload may carry. All points are checked
 * before any is applied: one point not believed (an impossible jump, a device time not after the
 * last accepted one) refuses the whole ping with PING_REJECTED naming it, and nothing changes.
 * Otherwise each point is applied as a separate ping at this command's time would be, and waiting
 * orders are offered between points when one freed the courier (as the command loop does between
 * commands), so tracking, ETAs, dispatch and silence come out the same as with separate pings.
 */
export function applyCourierPing(state: WarehouseState, ctx: CommandContext, cmd: CourierPingCommand): Result {
  const courier = state.couriers.get(cmd.courierId);
  if (courier === undefined) return { ok: false, error: notFound('courier', cmd.courierId) };
  const track = checkTrack(courier, cmd);
  if (!Array.isArray(track)) return { ok: false, error: track };
  for (let i = 0; i < track.length; i++) {
    // The last point's offers are made by the command loop, as for every command.
    if (i > 0 && state.dispatchDirty) dispatchWaiting(state, ctx);
    applyPoint(state, ctx, courier, track[i] as AcceptedPing);
  }
  return courierResult(state, courier);
}
