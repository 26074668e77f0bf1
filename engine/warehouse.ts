/**
 * The deterministic warehouse core: `apply(stamped command) → result`, with the events and ledger
 * entries it produced collected in an outbox the runtime drains. Time comes only from the stamp.
 * Before any command, due reservations expire and old idempotency records are pruned, so behaviour
 * does not depend on how often the runtime ticks. Never performs I/O, never reads a clock.
 */

import { type CourierState, type OrderState, orderStateOf } from '../actors/index.ts';
import { applyCourierCheckIn, applyCourierPing, applyCourierShift, courierStateOf } from './couriers.ts';
import { dispatchWaiting } from './dispatch.ts';
import { fireDueTimers, rebuildDueTimers, settleDueTimers } from './due-timers.ts';
import { idempotencyConflict, notFound, reservationOfOrder } from './errors.ts';
import { type CheckoutQuote, checkoutQuote, pickPackAverageMs } from './eta.ts';
import { commandFingerprint } from './fingerprint.ts';
import type { GeoPoint, RoutingProvider } from './geo.ts';
import { checkTouched } from './invariants.ts';
import { CHANGES_PAGE_MAX } from './limits.ts';
import { applyPaymentOutcome } from './order-payment.ts';
import { applyOrderEvent, applyOrderPlace, cancelExpiredOrders, fireOrderEvent } from './orders.ts';
import { applyPickerShift, applyPickTake } from './picking.ts';
import {
  applyCommit,
  applyExtend,
  applyRelease,
  applyReserve,
  expireDue,
  owningOrder,
  settleExpiryTimers,
} from './reservations.ts';
import { availableOf, type CommandContext, WarehouseState } from './state.ts';
import { applyAdjust, applyCount, applyPosSale, applyReceipt, applySkuUpsert } from './stock.ts';
import type {
  Availability,
  Command,
  EngineEvent,
  LedgerEntry,
  OrderRecord,
  Reservation,
  Result,
  SkuRecord,
  StampedCommand,
  WarehouseConfig,
} from './types.ts';

export interface WarehouseOptions {
  /** Check invariants of every SKU a command touched after it is applied (tests, debug builds). */
  assertInvariants?: boolean;
  /**
   * Collect ledger entries for `drainLedger` (default true). The live command loop turns this off:
   * the snapshot writer, replaying the same commands, is the one that stores the ledger.
   */
  recordLedger?: boolean;
  /** Road distances for dispatch and ETAs (default: straight line × road factor). Must be deterministic. */
  routing?: RoutingProvider;
}

/** What the fulfilment floor looks like now: pickers, couriers and both queues. */
export interface FulfillmentView {
  config: WarehouseConfig;
  pickers: { pickerId: string; orderId?: string; picksThisShift: number }[];
  pickQueue: string[];
  couriers: {
    courierId: string;
    state: CourierState;
    position: GeoPoint;
    lastSeenAtMs: number;
    deliveriesThisShift: number;
    orderId?: string;
    unresponsive: boolean;
  }[];
  dispatchQueue: string[];
  pickPackAverageMs: number;
  pickPackSlow: boolean;
}

function availabilityOf(record: SkuRecord): Availability {
  return {
    sku: record.sku,
    onHand: record.onHand,
    reserved: record.reserved,
    safetyStock: record.safetyStock,
    available: availableOf(record),
    version: record.version,
  };
}

export class Warehouse {
  readonly state: WarehouseState;
  private readonly assertInvariants: boolean;
  /** Reused for every command: apply is synchronous and never re-entered. */
  private readonly ctx: CommandContext = { seq: 0, atMs: 0, touched: new Map() };
  /** Orders whose reservation expired during the current command (reused: no allocation per command). */
  private readonly expiredOrders: string[] = [];

  constructor(warehouseId: string, options: WarehouseOptions = {}, state?: WarehouseState) {
    this.state = state ?? new WarehouseState(warehouseId);
    this.state.recordLedger = options.recordLedger !== false;
    if (options.routing !== undefined) this.state.routing = options.routing;
    this.assertInvariants = options.assertInvariants === true;
  }

  get warehouseId(): string {
    return this.state.warehouseId;
  }

  /**
   * The earliest reservation or fulfilment deadline, if any: when the runtime should next tick.
   * Entries that stand for nothing any more are settled first, so a tick is never asked for in vain.
   */
  nextDeadlineMs(): number | undefined {
    settleExpiryTimers(this.state);
    settleDueTimers(this.state);
    const expiry = this.state.timers.peek()?.deadlineMs;
    const due = this.state.dueTimers.peek()?.deadlineMs;
    if (expiry === undefined) return due;
    return due === undefined ? expiry : Math.min(expiry, due);
  }

  /**
   * Applies one stamped, validated command. Sequence numbers must rise by one and time must not
   * go back: a violation is a bug in the caller and throws.
   */
  apply(stamped: StampedCommand): Result {
    const state = this.state;
    if (stamped.seq !== state.lastSeq + 1) throw new Error(`seq ${stamped.seq} after ${state.lastSeq}`);
    if (stamped.atMs < state.lastAtMs) throw new Error(`time ${stamped.atMs} before ${state.lastAtMs}`);
    state.lastSeq = stamped.seq;
    state.lastAtMs = stamped.atMs;
    const ctx = this.ctx;
    ctx.seq = stamped.seq;
    ctx.atMs = stamped.atMs;
    ctx.touched.clear();
    const expiredOrders = this.expiredOrders;
    expiredOrders.length = 0;
    const expired = expireDue(state, ctx, expiredOrders);
    if (expiredOrders.length > 0) cancelExpiredOrders(state, ctx, expiredOrders);
    fireDueTimers(state, ctx);
    state.pruneRetention(stamped.atMs);
    const cmd = stamped.command;
    let result: Result;
    /** A repeat's answer is the stored one, as it was: never refreshed below. */
    let repeat = false;
    if (cmd.type === 'tick') {
      result = { ok: true, value: { kind: 'tick', expired } };
    } else {
      const earlier = state.idempotency.get(cmd.key);
      if (earlier !== undefined) {
        const same = earlier.fingerprint === commandFingerprint(cmd);
        result = same ? earlier.result : { ok: false, error: idempotencyConflict(cmd.key) };
        repeat = true;
      } else {
        result = this.dispatch(ctx, cmd);
        state.idempotency.add(cmd.key, {
          key: cmd.key,
          atMs: stamped.atMs,
          fingerprint: commandFingerprint(cmd),
          result,
        });
      }
    }
    // Whatever freed a courier or queued an order (this command or a deadline): offer waiting orders.
    if (state.dispatchDirty) {
      dispatchWaiting(state, ctx);
      if (!repeat) this.refreshAfterDispatch(result);
    }
    state.finishCommand(ctx);
    if (this.assertInvariants) checkTouched(state, ctx.touched.keys());
    return result;
  }

  private dispatch(ctx: CommandContext, cmd: Exclude<Command, { type: 'tick' }>): Result {
    const state = this.state;
    switch (cmd.type) {
      case 'sku.upsert':
        return applySkuUpsert(state, ctx, cmd);
      case 'receipt':
        return applyReceipt(state, ctx, cmd);
      case 'adjust':
        return applyAdjust(state, ctx, cmd);
      case 'count':
        return applyCount(state, ctx, cmd);
      case 'pos.sale':
        return applyPosSale(state, ctx, cmd);
      case 'reserve':
        return applyReserve(state, ctx, cmd);
      case 'commit':
        return this.ownedRefusal(cmd.reservationId) ?? applyCommit(state, ctx, cmd);
      case 'release':
        return this.ownedRefusal(cmd.reservationId) ?? applyRelease(state, ctx, cmd);
      case 'extend':
        return this.ownedRefusal(cmd.reservationId) ?? applyExtend(state, ctx, cmd);
      case 'order.place':
        return applyOrderPlace(state, ctx, cmd);
      case 'order.event':
        return applyOrderEvent(state, ctx, cmd);
      case 'payment.outcome':
        return applyPaymentOutcome(state, ctx, cmd, (order, type, reason) => {
          fireOrderEvent(state, ctx, order, type, cmd.key, reason);
        });
      case 'warehouse.configure':
        return this.configure(cmd);
      case 'picker.check_in':
      case 'picker.check_out':
        return applyPickerShift(state, ctx, cmd);
      case 'pick.take':
        return applyPickTake(state, ctx, cmd, (order) => {
          fireOrderEvent(state, ctx, order, 'pick.started', cmd.key);
        });
      case 'courier.check_in':
        return applyCourierCheckIn(state, ctx, cmd);
      case 'courier.check_out':
      case 'courier.breakdown':
        return applyCourierShift(state, ctx, cmd);
      case 'courier.ping':
        return applyCourierPing(state, ctx, cmd);
    }
  }

  /** Refuses a plain commit, release or extend of a reservation an order owns (`owningOrder`). */
  private ownedRefusal(reservationId: string): Result | undefined {
    const order = owningOrder(this.state, this.state.reservations.get(reservationId));
    if (order === undefined) return undefined;
    return { ok: false, error: reservationOfOrder(reservationId, order.orderId, orderStateOf(order.lifecycle.value)) };
  }

  /**
   * Dispatch runs after the command's own work: a pack or a check-in may have handed out an order
   * in the same command, and the reply says where things stand when the command is done.
   */
  private refreshAfterDispatch(result: Result): void {
    if (!result.ok) return;
    const value = result.value;
    if (value.kind === 'order' && !value.duplicate) {
      const order = this.state.orders.get(value.orderId);
      if (order !== undefined) value.state = orderStateOf(order.lifecycle.value);
    } else if (value.kind === 'courier') {
      const courier = this.state.couriers.get(value.courierId);
      if (courier === undefined) return;
      value.state = courierStateOf(courier);
      if (courier.orderId !== undefined) value.orderId = courier.orderId;
    }
  }

  private configure(cmd: Extract<Command, { type: 'warehouse.configure' }>): Result {
    const config = this.state.config;
    config.location = { ...cmd.location };
    if (cmd.pendingDispatchEscalationMs !== undefined)
      config.pendingDispatchEscalationMs = cmd.pendingDispatchEscalationMs;
    if (cmd.pickPackSlowMs !== undefined) config.pickPackSlowMs = cmd.pickPackSlowMs;
    if (cmd.courierSpeedKmh !== undefined) config.courierSpeedKmh = cmd.courierSpeedKmh;
    // A shorter escalation window may make a deadline earlier than the one already scheduled.
    rebuildDueTimers(this.state);
    this.state.dispatchDirty = true;
    return { ok: true, value: { kind: 'configured', config: { ...config, location: { ...config.location } } } };
  }

  /** What an order placed now for `address` would be promised, with its parts. */
  quote(address: GeoPoint): CheckoutQuote {
    return checkoutQuote(this.state, address);
  }

  /** Pickers, couriers and queues, as plain data. */
  fulfillment(): FulfillmentView {
    const state = this.state;
    return {
      config: structuredClone(state.config),
      pickers: [...state.pickers.values()].map((p) => {
        const view: FulfillmentView['pickers'][number] = { pickerId: p.pickerId, picksThisShift: p.picksThisShift };
        if (p.orderId !== undefined) view.orderId = p.orderId;
        return view;
      }),
      pickQueue: [...state.pickQueue],
      couriers: [...state.couriers.values()].map((c) => {
        const view: FulfillmentView['couriers'][number] = {
          courierId: c.courierId,
          state: courierStateOf(c),
          position: { ...c.position },
          lastSeenAtMs: c.lastSeenAtMs,
          deliveriesThisShift: c.deliveriesThisShift,
          unresponsive: c.unresponsive,
        };
        if (c.orderId !== undefined) view.orderId = c.orderId;
        return view;
      }),
      dispatchQueue: [...state.dispatchQueue],
      pickPackAverageMs: pickPackAverageMs(state),
      pickPackSlow: state.pickPackSlow,
    };
  }

  /** Takes the events produced since the last drain. */
  drainEvents(): EngineEvent[] {
    const events = this.state.events;
    this.state.events = [];
    return events;
  }

  /** Takes the ledger entries produced since the last drain. */
  drainLedger(): LedgerEntry[] {
    const ledger = this.state.ledger;
    this.state.ledger = [];
    return ledger;
  }

  /** Availability of the given SKUs; unknown ones are listed apart. */
  availability(skus: readonly string[]): { items: Availability[]; unknown: string[] } {
    const items: Availability[] = [];
    const unknown: string[] = [];
    for (const sku of skus) {
      const record = this.state.skus.get(sku);
      if (record === undefined) unknown.push(sku);
      else items.push(availabilityOf(record));
    }
    return { items, unknown };
  }

  /**
   * The SKUs changed after `sinceVersion`, oldest change first, at most `limit` of them, and the
   * version to ask from next (`more` says whether there is more to ask for). Scans the SKU table: a
   * warehouse holds a few thousand SKUs, so this stays in microseconds; the page bound keeps a reply
   * within a message.
   */
  changesSince(
    sinceVersion: number,
    limit: number = CHANGES_PAGE_MAX,
  ): { items: Availability[]; version: number; more: boolean } {
    const items: Availability[] = [];
    for (const record of this.state.skus.values()) {
      if (record.version > sinceVersion) items.push(availabilityOf(record));
    }
    items.sort((a, b) => a.version - b.version);
    if (items.length <= limit) return { items, version: this.state.versionCounter, more: false };
    items.length = limit;
    return { items, version: (items[limit - 1] as Availability).version, more: true };
  }

  /** A copy of an open reservation, or NOT_FOUND saying how it closed when that is still known. */
  reservation(reservationId: string): Result<Reservation> {
    const res = this.state.reservations.get(reservationId);
    if (res !== undefined) return { ok: true, value: structuredClone(res) };
    return {
      ok: false,
      error: notFound('reservation', reservationId, this.state.tombstones.get(reservationId)?.closedAs),
    };
  }

  /** A copy of an order, with the brief's name of its state. */
  order(orderId: string): Result<OrderRecord & { state: OrderState }> {
    const order = this.state.orders.get(orderId);
    if (order === undefined) return { ok: false, error: notFound('order', orderId) };
    return { ok: true, value: { ...structuredClone(order), state: orderStateOf(order.lifecycle.value) } };
  }

  /** The stored result of the command sent under an idempotency key, while it is retained. */
  commandResult(key: string): Result<Result> {
    const record = this.state.idempotency.get(key);
    if (record === undefined) return { ok: false, error: notFound('command', key) };
    return { ok: true, value: record.result };
  }
}
