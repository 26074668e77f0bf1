/**
 * The whole state of a warehouse as plain data (for SQLite snapshots and for comparing states in
 * tests) and back. Maps become arrays in their iteration order, so a state rebuilt from a snapshot
 * iterates exactly like the live one; derived structures (hold index, timers) are rebuilt, never
 * stored. Never performs I/O.
 */
import type { IdempotencyRecord } from './idempotency.ts';
import { type ReceiptRecord, type Tombstone, WarehouseState } from './state.ts';
import type { OrderRecord, Reservation, SkuRecord } from './types.ts';

/** 2: adds orders. Format 1 snapshots (no orders) still load. */
export const SNAPSHOT_FORMAT = 2;

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
  posSources: [string, number, number[]][];
  orders: OrderRecord[];
  finishedOrders: [string, { atMs: number }][];
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
    posSources: [...state.posSources].map(([id, s]): [string, number, number[]] => [id, s.watermark, [...s.seen]]),
    orders: [...state.orders.values()],
    finishedOrders: [...state.finishedOrders.entries()],
  };
}

/**
 * Rebuilds a state from a snapshot, including the derived hold index and expiry timers. The state
 * takes ownership of the snapshot's records: pass a freshly decoded snapshot, not a live one.
 */
export function fromSnapshot(snapshot: WarehouseSnapshot): WarehouseState {
  if (snapshot.format !== SNAPSHOT_FORMAT && snapshot.format !== 1) {
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
    state.timers.push({ deadlineMs: res.expiresAtMs, order: res.createdSeq, reservationId: res.reservationId });
  }
  for (const record of s.idempotency) state.idempotency.add(record.key, record);
  for (const [id, r] of s.receipts) state.receipts.add(id, r);
  for (const [id, t] of s.tombstones) state.tombstones.add(id, t);
  for (const [id, watermark, seen] of s.posSources) state.posSources.set(id, { watermark, seen: new Set(seen) });
  for (const order of s.orders ?? []) state.orders.set(order.orderId, order);
  for (const [id, f] of s.finishedOrders ?? []) state.finishedOrders.add(id, f);
  return state;
}
