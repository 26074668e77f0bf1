/**
 * `darkstore verify` and `darkstore inspect`: what a data directory holds, and whether the newest
 * snapshot of each warehouse agrees with its ledger. The ledger is append-only and can rebuild
 * stock from scratch: on hand is the sum of on-hand movements, reserved the sum of reserved ones.
 * A snapshot that disagrees (a bad bulk import, a bug) is reported per SKU and, when asked,
 * rebuilt from the ledger and stored as a new snapshot. Both open SQLite read-only and never create
 * a database; only a repair writes.
 */
import * as fs from 'node:fs';
import type { WarehouseSnapshot } from '../engine/index.ts';
import { listWarehouses, warehousePaths } from './recovery.ts';
import { type SnapshotRow, SnapshotStore } from './snapshot-store.ts';
import { countRecordsAfter, listSegments } from './wal.ts';

export interface SkuMismatch {
  sku: string;
  snapshot: { onHand: number; reserved: number };
  ledger: { onHand: number; reserved: number };
  /** What the open reservations in the snapshot hold of this SKU. */
  held: number;
}

export interface WarehouseVerification {
  warehouseId: string;
  snapshot?: SnapshotRow;
  damagedSnapshots: { id: number; reason: string }[];
  skusChecked: number;
  ledgerRows: number;
  ledgerComplete: boolean;
  mismatches: SkuMismatch[];
  repaired?: SnapshotRow;
}

function heldBySku(snapshot: WarehouseSnapshot): Map<string, number> {
  const held = new Map<string, number>();
  for (const res of snapshot.reservations) {
    for (const line of res.lines) held.set(line.sku, (held.get(line.sku) ?? 0) + line.quantity);
  }
  return held;
}

function compare(store: SnapshotStore, snapshot: WarehouseSnapshot): SkuMismatch[] {
  const totals = store.ledgerTotals(snapshot.lastSeq);
  const held = heldBySku(snapshot);
  const mismatches: SkuMismatch[] = [];
  for (const record of snapshot.skus) {
    const ledger = totals.get(record.sku) ?? { onHand: 0, reserved: 0, entries: 0 };
    const h = held.get(record.sku) ?? 0;
    if (ledger.onHand !== record.onHand || ledger.reserved !== record.reserved || h !== record.reserved) {
      mismatches.push({
        sku: record.sku,
        snapshot: { onHand: record.onHand, reserved: record.reserved },
        ledger: { onHand: ledger.onHand, reserved: ledger.reserved },
        held: h,
      });
    }
  }
  return mismatches;
}

/** Rebuilds stock from the ledger: on hand from movements, reserved from what reservations hold. */
function rebuild(snapshot: WarehouseSnapshot, mismatches: SkuMismatch[]): WarehouseSnapshot {
  const fixes = new Map(mismatches.map((m) => [m.sku, m]));
  const skus = snapshot.skus.map((record) => {
    const fix = fixes.get(record.sku);
    return fix === undefined ? record : { ...record, onHand: fix.ledger.onHand, reserved: fix.ledger.reserved };
  });
  return { ...snapshot, skus };
}

/**
 * Verifies one warehouse's newest snapshot against its ledger; with `repair`, rebuilds it. A
 * warehouse without a snapshot file (none written yet, or no such warehouse) has nothing to check.
 */
export function verifyWarehouse(dataDir: string, warehouseId: string, repair = false): WarehouseVerification {
  const result: WarehouseVerification = {
    warehouseId,
    damagedSnapshots: [],
    skusChecked: 0,
    ledgerRows: 0,
    ledgerComplete: true,
    mismatches: [],
  };
  const file = warehousePaths(dataDir, warehouseId).db;
  const store = repair && fs.existsSync(file) ? new SnapshotStore(file) : SnapshotStore.openReadOnly(file);
  if (store === undefined) return result;
  try {
    const loaded = store.loadNewest((row, reason) => result.damagedSnapshots.push({ id: row.id, reason }));
    result.ledgerRows = store.ledgerStats().rows;
    if (loaded === undefined) return result;
    result.snapshot = loaded.row;
    result.skusChecked = loaded.snapshot.skus.length;
    result.ledgerComplete = store.ledgerRowsThrough(loaded.snapshot.ledgerSeq) === loaded.snapshot.ledgerSeq;
    result.mismatches = compare(store, loaded.snapshot);
    const repairable = result.ledgerComplete && result.mismatches.every((m) => m.ledger.reserved === m.held);
    if (repair && result.mismatches.length > 0 && repairable) {
      result.repaired = store.write(rebuild(loaded.snapshot, result.mismatches), [], 'verify-repair');
    }
    return result;
  } finally {
    store.close();
  }
}

/** Verifies every warehouse in a data directory. */
export function verifyDataDir(dataDir: string, repair = false): WarehouseVerification[] {
  return listWarehouses(dataDir).map((id) => verifyWarehouse(dataDir, id, repair));
}

export interface WarehouseInspection {
  warehouseId: string;
  snapshot?: SnapshotRow;
  snapshots: number;
  walSegments: number;
  walBytes: number;
  /** Records in the WAL after the newest snapshot (what recovery replays unless that one is damaged). */
  walRecordsAfterSnapshot: number;
  /** SKUs and open reservations in the newest snapshot, as stored beside it (verify reads the blob). */
  skuCount: number;
  openReservations: number;
  ledgerRows: number;
}

/**
 * What a data directory holds, per warehouse, without changing anything: read from the snapshot
 * rows' columns, never decoding a snapshot (`verify` checks them).
 */
export function inspectDataDir(dataDir: string): WarehouseInspection[] {
  return listWarehouses(dataDir).map((warehouseId) => {
    const paths = warehousePaths(dataDir, warehouseId);
    const store = SnapshotStore.openReadOnly(paths.db);
    try {
      const rows = store?.rows() ?? [];
      const newest = rows[0];
      const segments = listSegments(paths.wal);
      const inspection: WarehouseInspection = {
        warehouseId,
        snapshots: rows.length,
        walSegments: segments.length,
        walBytes: segments.reduce((sum, s) => sum + fs.statSync(s.file).size, 0),
        walRecordsAfterSnapshot: countRecordsAfter(paths.wal, newest?.walSeq ?? 0),
        skuCount: newest?.skuCount ?? 0,
        openReservations: newest?.reservationCount ?? 0,
        ledgerRows: store?.ledgerStats().rows ?? 0,
      };
      if (newest !== undefined) inspection.snapshot = newest;
      return inspection;
    } finally {
      store?.close();
    }
  });
}
