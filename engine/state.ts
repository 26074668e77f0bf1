/**
 * The in-memory state of one warehouse and the only primitives that change stock: every movement
 * goes through `moveStock`, which bumps the SKU version, appends the ledger entry and remembers the
 * SKU so one availability event per command is emitted. Owned by exactly one command loop.
 * Never performs I/O, never reads a clock.
 */
import { type RoutingProvider, straightLineRouting } from './geo.ts';
import { type IdempotencyRecord, idempotencyStore } from './idempotency.ts';
import {
  AT_RISK_IDS_PER_EVENT,
  COURIER_SPEED_KMH_DEFAULT,
  FINISHED_ORDER_RETENTION_MS,
  IDEMPOTENCY_RETENTION_MS,
  ORDERS_MAX,
  PENDING_DISPATCH_ESCALATION_MS_DEFAULT,
  PICK_PACK_SLOW_MS_DEFAULT,
  RECEIPT_RETENTION_MS,
  RECEIPTS_MAX,
  TIMER_HEAP_SLACK_FACTOR,
  TOMBSTONES_MAX,
} from './limits.ts';
import { RetainedMap } from './retained-map.ts';
import { TimerHeap } from './timers.ts';
import type {
  CourierRecord,
  EngineEvent,
  LedgerEntry,
  LedgerReason,
  OrderRecord,
  PickerRecord,
  Reservation,
  SkuRecord,
  WarehouseConfig,
} from './types.ts';

/** A warehouse's configuration until `warehouse.configure` sets it (the store at 0,0 until told). */
export function defaultConfig(): WarehouseConfig {
  return {
    location: { lat: 0, lon: 0 },
    pendingDispatchEscalationMs: PENDING_DISPATCH_ESCALATION_MS_DEFAULT,
    pickPackSlowMs: PICK_PACK_SLOW_MS_DEFAULT,
    courierSpeedKmh: COURIER_SPEED_KMH_DEFAULT,
  };
}

/** The derived number of units that can still be promised: never stored. */
export function availableOf(record: SkuRecord): number {
  return record.onHand - record.reserved - record.safetyStock;
}

/** Why a reservation is no longer open, kept for the retention window to answer callers precisely. */
export type ClosedAs = 'committed' | 'released' | 'expired';

export interface Tombstone {
  closedAs: ClosedAs;
  atMs: number;
}

export interface ReceiptRecord {
  atMs: number;
  /** Fingerprint of the first arrival's lines, to tell a duplicate from a conflicting re-use. */
  fingerprint: number;
}

/**
 * Per POS source: every sequence number ≤ watermark was seen, except those in `skipped`; `seen` holds
 * the ones above it.
 */
export interface PosSource {
  watermark: number;
  seen: Set<number>;
  /**
   * Gaps declared lost (`pos.gap_skipped`) whose sales have not arrived, as [from, to] ranges, oldest
   * first, at most POS_SKIPPED_RANGES_MAX: a sale in one is applied when it comes, once.
   */
  skipped: [number, number][];
}

/** The stamp of the command being applied and the SKUs it touched. Reused from command to command. */
export interface CommandContext {
  seq: number;
  atMs: number;
  /** SKU → available before this command first touched it. */
  touched: Map<string, number>;
}

export class WarehouseState {
  readonly skus = new Map<string, SkuRecord>();
  readonly reservations = new Map<string, Reservation>();
  /** Derived index SKU → ids of open reservations holding it, in creation order. Rebuilt on load. */
  readonly holdsBySku = new Map<string, Set<string>>();
  /** Derived expiry timers. Rebuilt on load. */
  readonly timers = new TimerHeap();
  readonly idempotency: RetainedMap<IdempotencyRecord> = idempotencyStore();
  readonly receipts = new RetainedMap<ReceiptRecord>(RECEIPT_RETENTION_MS, RECEIPTS_MAX);
  readonly tombstones = new RetainedMap<Tombstone>(IDEMPOTENCY_RETENTION_MS, TOMBSTONES_MAX);
  readonly posSources = new Map<string, PosSource>();
  readonly orders = new Map<string, OrderRecord>();
  /** Finished orders by when they finished: forgetting one drops it from `orders` too. */
  readonly finishedOrders = new RetainedMap<{ atMs: number }>(FINISHED_ORDER_RETENTION_MS, ORDERS_MAX, (orderId) =>
    this.orders.delete(orderId),
  );
  config: WarehouseConfig = defaultConfig();
  /** Road distances (not state: injected, deterministic). */
  routing: RoutingProvider = straightLineRouting();
  readonly pickers = new Map<string, PickerRecord>();
  /** Orders whose pick task waits for a picker, oldest first. */
  pickQueue = new Set<string>();
  readonly couriers = new Map<string, CourierRecord>();
  /** Packed (or handed-over) orders waiting for a courier to accept them. */
  readonly dispatchQueue = new Set<string>();
  /** The latest pick-pack times (rolling window) and whether their average is over the threshold. */
  pickPackRecentMs: number[] = [];
  pickPackSlow = false;
  /** Derived fulfilment deadlines (acknowledgement, silence, escalation, lateness). Rebuilt on load. */
  readonly dueTimers = new TimerHeap();
  /** Something changed that may let a waiting order get a courier: dispatch runs before the command ends. */
  dispatchDirty = false;
  /** Warehouse-wide change counter; a SKU's version is its value at the SKU's last change. */
  versionCounter = 0;
  ledgerSeq = 0;
  /** Sequence number and time of the last applied command. */
  lastSeq = 0;
  lastAtMs = 0;
  /** Command time of the last retention pruning: pruning runs once per distinct time. */
  private prunedAtMs = Number.NEGATIVE_INFINITY;

  events: EngineEvent[] = [];
  ledger: LedgerEntry[] = [];
  /**
   * Whether ledger entries are collected in `ledger`. The ledger seq advances either way, so a
   * writer that does not keep them (the live command loop) stays numbered like one that does.
   */
  recordLedger = true;

  constructor(readonly warehouseId: string) {}

  /** Marks a SKU changed by the current command: bumps its version once per command. */
  touch(ctx: CommandContext, record: SkuRecord): void {
    if (ctx.touched.has(record.sku)) return;
    ctx.touched.set(record.sku, availableOf(record));
    record.version = ++this.versionCounter;
  }

  /** The one way stock changes: applies the deltas and appends the ledger entry. */
  moveStock(
    ctx: CommandContext,
    record: SkuRecord,
    onHandDelta: number,
    reservedDelta: number,
    reason: LedgerReason,
    reference: string,
  ): void {
    this.touch(ctx, record);
    record.onHand += onHandDelta;
    record.reserved += reservedDelta;
    const ledgerSeq = ++this.ledgerSeq;
    if (!this.recordLedger) return;
    this.ledger.push({
      ledgerSeq,
      seq: ctx.seq,
      atMs: ctx.atMs,
      sku: record.sku,
      onHandDelta,
      reservedDelta,
      reason,
      reference,
    });
  }

  /** Emits one availability event per SKU whose available changed during the command. */
  finishCommand(ctx: CommandContext): void {
    for (const [sku, before] of ctx.touched) {
      const record = this.skus.get(sku) as SkuRecord;
      const available = availableOf(record);
      if (available !== before) {
        this.events.push({ type: 'availability.changed', sku, available, version: record.version });
      }
    }
  }

  addHold(sku: string, reservationId: string): void {
    let holders = this.holdsBySku.get(sku);
    if (holders === undefined) {
      holders = new Set();
      this.holdsBySku.set(sku, holders);
    }
    holders.add(reservationId);
  }

  /** Removes a hold. An empty set stays in the index (at most one per SKU) to save re-allocating it. */
  removeHold(sku: string, reservationId: string): void {
    this.holdsBySku.get(sku)?.delete(reservationId);
  }

  /** Drops what is past its retention window: idempotency records, tombstones, receipt ids. */
  pruneRetention(atMs: number): void {
    if (atMs === this.prunedAtMs) return;
    this.prunedAtMs = atMs;
    this.idempotency.prune(atMs);
    this.tombstones.prune(atMs);
    this.receipts.prune(atMs);
    this.finishedOrders.prune(atMs);
  }

  /** Rebuilds the expiry heap from the open reservations once stale entries dominate it. */
  compactTimers(): void {
    if (this.timers.size <= TIMER_HEAP_SLACK_FACTOR * this.reservations.size + 1_024) return;
    this.timers.clear();
    for (const res of this.reservations.values()) {
      this.timers.push({ deadlineMs: res.expiresAtMs, order: res.createdSeq, id: res.reservationId });
    }
  }

  /**
   * After a physical decrease: if on hand no longer covers what is reserved, names the newest
   * reservations that can no longer be filled (the oldest keep their claim on the shelf). Newest by
   * the command that created the reservation, not by when it came to hold this SKU (a substitute
   * added at picking): a state restored from a snapshot, whose holds are rebuilt in creation order,
   * names the same ones.
   */
  checkAtRisk(record: SkuRecord): void {
    const shortBy = record.reserved - record.onHand;
    if (shortBy <= 0) return;
    const holders = [...(this.holdsBySku.get(record.sku) ?? [])].sort((a, b) => {
      const ra = this.reservations.get(a) as Reservation;
      const rb = this.reservations.get(b) as Reservation;
      return ra.createdSeq - rb.createdSeq || (a < b ? -1 : a > b ? 1 : 0);
    });
    const reservationIds: string[] = [];
    let covered = 0;
    for (let i = holders.length - 1; i >= 0 && covered < shortBy; i--) {
      const id = holders[i] as string;
      const res = this.reservations.get(id) as Reservation;
      for (const line of res.lines) if (line.sku === record.sku) covered += line.quantity;
      reservationIds.push(id);
    }
    const parts = Math.max(1, Math.ceil(reservationIds.length / AT_RISK_IDS_PER_EVENT));
    for (let part = 1; part <= parts; part++) {
      this.events.push({
        type: 'reservation.at_risk',
        sku: record.sku,
        onHand: record.onHand,
        reserved: record.reserved,
        shortBy,
        reservationIds:
          parts === 1
            ? reservationIds
            : reservationIds.slice((part - 1) * AT_RISK_IDS_PER_EVENT, part * AT_RISK_IDS_PER_EVENT),
        part,
        parts,
      });
    }
  }
}
