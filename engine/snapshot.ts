/**
 * The whole state of a warehouse as plain data (for SQLite snapshots and for comparing states in
 * tests) and back. Maps become arrays in their iteration order, so a state rebuilt from a snapshot
 * iterates exactly like the live one; derived structures (hold index, timers) are rebuilt, never
 * stored. Never performs I/O.
 */

import { rebuildDueTimers } from './due-timers.ts';
import type { IdempotencyRecord } from './idempotency.ts';
import { type ReceiptRecord, type Tombstone, WarehouseState } from './state.ts';
import type { CourierRecord, OrderRecord, PickerRecord, Reservation, SkuRecord, WarehouseConfig } from './types.ts';

/** 3: adds the fulfilment floor (config, pickers, couriers, queues). Formats 1 and 2 still load. */
export const SNAPSHOT_FORMAT = 3;

export interface WarehouseSnapshot {
  format: number;
  warehouseId: string;
  lastSeq: number;
  lastAtMs: number;
  versionCounter: number;
  ledgerSeq: number;
  idempotencyEvictedEarly: number;
  skus: SkuRecord[];
  reservations: Reservation[];
  idempotency: IdempotencyRecord[];
  receipts: [string, ReceiptRecord][];
  tombstones: [string, Tombstone][];
  /** [source, watermark, seen above it, lost gaps flattened (from, to, from, to...; absent in older snapshots)] */
  posSources: [string, number, number[], number[]?][];
  orders: OrderRecord[];
  finishedOrders: [string, { atMs: number }][];
  config?: WarehouseConfig;
  pickers?: PickerRecord[];
  pickQueue?: string[];
  couriers?: CourierRecord[];
  dispatchQueue?: string[];
  pickPackRecentMs?: number[];
  pickPackSlow?: boolean;
}

/**
 * The state as plain data. It shares records with the live state, so it is valid only until the
 * next command is applied: encode it (or clone it) before applying more. Cloning 100,000
 * reservations costs seconds with structuredClone, which is why this does not.
 */
export function toSnapshot(state: WarehouseState): WarehouseSnapshot {
  return {
    format: SNAPSHOT_FORMAT,
    warehouseId: state.warehouseId,
    lastSeq: state.lastSeq,
    lastAtMs: state.lastAtMs,
    versionCounter: state.versionCounter,
    ledgerSeq: state.ledgerSeq,
    idempotencyEvictedEarly: state.idempotency.evictedEarly,
    skus: [...state.skus.values()],
    reservations: [...state.reservations.values()],
    idempotency: [...state.idempotency.values()],
    receipts: [...state.receipts.entries()],
    tombstones: [...state.tombstones.entries()],
    posSources: [...state.posSources].map(([id, s]): [string, number, number[], number[]] => [
      id,
      s.watermark,
      [...s.seen],
      s.skipped.flat(),
    ]),
    orders: [...state.orders.values()],
    finishedOrders: [...state.finishedOrders.entries()],
    config: state.config,
    pickers: [...state.pickers.values()],
    pickQueue: [...state.pickQueue],
    couriers: [...state.couriers.values()],
    dispatchQueue: [...state.dispatchQueue],
    pickPackRecentMs: state.pickPackRecentMs,
    pickPackSlow: state.pickPackSlow,
  };
}

/** Fills in what format 2 orders did not keep (before picking, dispatch and payment tracking). */
function upgradeOrder(order: OrderRecord): OrderRecord {
  if (order.payment !== undefined) return order;
  return {
    ...order,
    allowSubstitutes: false,
    adjustmentCents: 0,
    promisedAtMs: order.createdAtMs,
    etaAtMs: order.createdAtMs,
    payment: { pending: [], capturedCents: 0, voided: false, refundedCents: 0, failures: 0, refundOnCapture: false },
    lateRaised: true,
  };
}

/**
 * Rebuilds a state from a snapshot, including the derived hold index and expiry timers. The state
 * takes ownership of the snapshot's records: pass a freshly decoded snapshot, not a live one.
 */
export function fromSnapshot(snapshot: WarehouseSnapshot): WarehouseState {
  if (snapshot.format !== SNAPSHOT_FORMAT && snapshot.format !== 1 && snapshot.format !== 2) {
    throw new Error(`unknown snapshot format ${snapshot.format}`);
  }
  const s = snapshot;
  const state = new WarehouseState(s.warehouseId);
  state.lastSeq = s.lastSeq;
  state.lastAtMs = s.lastAtMs;
  state.versionCounter = s.versionCounter;
  state.ledgerSeq = s.ledgerSeq;
  state.idempotency.evictedEarly = s.idempotencyEvictedEarly;
  for (const record of s.skus) state.skus.set(record.sku, record);
  for (const res of s.reservations) {
    state.reservations.set(res.reservationId, res);
    for (const line of res.lines) if (line.quantity > 0) state.addHold(line.sku, res.reservationId);
    state.timers.push({ deadlineMs: res.expiresAtMs, order: res.createdSeq, id: res.reservationId });
  }
  for (const record of s.idempotency) state.idempotency.add(record.key, record);
  for (const [id, r] of s.receipts) state.receipts.add(id, r);
  for (const [id, t] of s.tombstones) state.tombstones.add(id, t);
  for (const [id, watermark, seen, flat = []] of s.posSources) {
    const skipped: [number, number][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) skipped.push([flat[i] as number, flat[i + 1] as number]);
    state.posSources.set(id, { watermark, seen: new Set(seen), skipped });
  }
  for (const order of s.orders ?? []) state.orders.set(order.orderId, upgradeOrder(order));
  for (const [id, f] of s.finishedOrders ?? []) state.finishedOrders.add(id, f);
  if (s.config !== undefined) state.config = s.config;
  for (const picker of s.pickers ?? []) state.pickers.set(picker.pickerId, picker);
  state.pickQueue = new Set(s.pickQueue ?? []);
  for (const courier of s.couriers ?? []) state.couriers.set(courier.courierId, courier);
  for (const id of s.dispatchQueue ?? []) state.dispatchQueue.add(id);
  state.pickPackRecentMs = s.pickPackRecentMs ?? [];
  state.pickPackSlow = s.pickPackSlow ?? false;
  rebuildDueTimers(state);
  return state;
}
