/**
 * The deterministic warehouse core: `apply(stamped command) → result`, with the events and ledger
 * entries it produced collected in an outbox the runtime drains. Time comes only from the stamp.
 * Before any command, due reservations expire and old idempotency records are pruned, so behaviour
 * does not depend on how often the runtime ticks. Never performs I/O, never reads a clock.
 */

import { type OrderState, orderStateOf } from '../actors/index.ts';
import { idempotencyConflict, notFound } from './errors.ts';
import { commandFingerprint } from './fingerprint.ts';
import { checkTouched } from './invariants.ts';
import { applyOrderEvent, applyOrderPlace, cancelExpiredOrders } from './orders.ts';
import { applyCommit, applyExtend, applyRelease, applyReserve, expireDue } from './reservations.ts';
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
} from './types.ts';

export interface WarehouseOptions {
  /** Check invariants of every SKU a command touched after it is applied (tests, debug builds). */
  assertInvariants?: boolean;
  /**
   * Collect ledger entries for `drainLedger` (default true). The live command loop turns this off:
   * the snapshot writer, replaying the same commands, is the one that stores the ledger.
   */
  recordLedger?: boolean;
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
    this.assertInvariants = options.assertInvariants === true;
  }

  get warehouseId(): string {
    return this.state.warehouseId;
  }

  /** The earliest reservation deadline, if any: when the runtime should next tick. */
  nextDeadlineMs(): number | undefined {
    return this.state.timers.peek()?.deadlineMs;
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
    state.pruneRetention(stamped.atMs);
    const cmd = stamped.command;
    let result: Result;
    if (cmd.type === 'tick') {
      result = { ok: true, value: { kind: 'tick', expired } };
    } else {
      const earlier = state.idempotency.get(cmd.key);
      if (earlier !== undefined) {
        const same = earlier.fingerprint === commandFingerprint(cmd);
        result = same ? earlier.result : { ok: false, error: idempotencyConflict(cmd.key) };
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
        return applyCommit(state, ctx, cmd);
      case 'release':
        return applyRelease(state, ctx, cmd);
      case 'extend':
        return applyExtend(state, ctx, cmd);
      case 'order.place':
        return applyOrderPlace(state, ctx, cmd);
      case 'order.event':
        return applyOrderEvent(state, ctx, cmd);
    }
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
   * Every SKU changed after `sinceVersion`, oldest change first, and the version to ask from next.
   * Scans the SKU table: a warehouse holds a few thousand SKUs, so this stays in microseconds.
   */
  changesSince(sinceVersion: number): { items: Availability[]; version: number } {
    const items: Availability[] = [];
    for (const record of this.state.skus.values()) {
      if (record.version > sinceVersion) items.push(availabilityOf(record));
    }
    items.sort((a, b) => a.version - b.version);
    return { items, version: this.state.versionCounter };
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
