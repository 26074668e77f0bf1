/**
 * Recovery of one warehouse from its data directory: the newest valid snapshot from SQLite (older
 * ones when it is damaged), then replay of every WAL record after it through the deterministic
 * core. The result equals the state before the crash. Also the layout of a warehouse directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type EngineEvent, fromSnapshot, Warehouse, type WarehouseOptions, WarehouseState } from '../engine/index.ts';
import { type SnapshotRow, SnapshotStore } from './snapshot-store.ts';
import { Wal, type WalOpenReport } from './wal.ts';

/** Where a warehouse keeps its files inside a data directory. */
export function warehousePaths(dataDir: string, warehouseId: string): { dir: string; wal: string; db: string } {
  const dir = path.join(dataDir, warehouseId);
  return { dir, wal: path.join(dir, 'wal'), db: path.join(dir, 'snapshots.db') };
}

/** The warehouses a data directory holds (sub-directories with a WAL or a snapshot file). */
export function listWarehouses(dataDir: string): string[] {
  if (!fs.existsSync(dataDir)) return [];
  return fs
    .readdirSync(dataDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .filter((id) => {
      const p = warehousePaths(dataDir, id);
      return fs.existsSync(p.wal) || fs.existsSync(p.db);
    })
    .sort();
}

export interface RecoveryReport {
  snapshot?: SnapshotRow;
  damagedSnapshots: { id: number; reason: string }[];
  wal: WalOpenReport;
  durationMs: number;
}

/** Loads the newest usable snapshot of a warehouse into a fresh core, or an empty one. */
export function loadSnapshotState(
  store: SnapshotStore,
  warehouseId: string,
  damaged: { id: number; reason: string }[] = [],
): { state: WarehouseState; row?: SnapshotRow } {
  const loaded = store.loadNewest((row, reason) => damaged.push({ id: row.id, reason }));
  if (loaded === undefined) return { state: new WarehouseState(warehouseId) };
  if (loaded.snapshot.warehouseId !== warehouseId) {
    throw new Error(`snapshot in ${store.file} belongs to ${loaded.snapshot.warehouseId}, not ${warehouseId}`);
  }
  return { state: fromSnapshot(loaded.snapshot), row: loaded.row };
}

/**
 * Recovers a warehouse: snapshot + WAL replay. Cuts a torn WAL tail; throws WalCorruptionError on
 * corruption anywhere else. The returned WAL is open for appending after the last record.
 */
export interface RecoverOptions extends WarehouseOptions {
  /**
   * Receives the events the replay produced, record by record (the live events of commands that
   * were durable before the crash): an event publisher re-sends them, so none is lost to a crash
   * between a commit and its publication. Consumers see them at least once.
   */
  onReplayedEvents?: (seq: number, events: EngineEvent[]) => void;
}

export function recoverWarehouse(
  dataDir: string,
  warehouseId: string,
  options: RecoverOptions = {},
): { warehouse: Warehouse; wal: Wal; report: RecoveryReport } {
  const startedMs = performance.now();
  const paths = warehousePaths(dataDir, warehouseId);
  fs.mkdirSync(paths.dir, { recursive: true });
  const store = new SnapshotStore(paths.db);
  const damagedSnapshots: { id: number; reason: string }[] = [];
  let loaded: ReturnType<typeof loadSnapshotState>;
  try {
    loaded = loadSnapshotState(store, warehouseId, damagedSnapshots);
  } finally {
    store.close();
  }
  const warehouse = new Warehouse(warehouseId, options, loaded.state);
  const { wal, report } = Wal.open(paths.wal, {
    afterSeq: loaded.state.lastSeq,
    onRecord: (record) => {
      warehouse.apply(record);
      if (options.onReplayedEvents !== undefined && warehouse.state.events.length > 0) {
        options.onReplayedEvents(record.seq, warehouse.drainEvents());
      }
      warehouse.state.events.length = 0;
      warehouse.state.ledger.length = 0; // recovery does not store the ledger: the snapshot writer does
    },
  });
  const recovery: RecoveryReport = { damagedSnapshots, wal: report, durationMs: performance.now() - startedMs };
  if (loaded.row !== undefined) recovery.snapshot = loaded.row;
  return { warehouse, wal, report: recovery };
}
