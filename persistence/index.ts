/**
 * Public surface of persistence: the WAL, the SQLite snapshot store and ledger, recovery,
 * checkpointers, the durable warehouse that ties them to the runtime, and verify/inspect.
 */
export { type CheckpointerOptions, InlineCheckpointer, WorkerCheckpointer } from './checkpointer.ts';
export {
  CHECKPOINT_EVERY_COMMANDS,
  CHECKPOINT_INTERVAL_MS,
  DurableWarehouse,
  type OpenWarehouseOptions,
} from './durable-warehouse.ts';
export {
  listWarehouses,
  loadSnapshotState,
  type RecoverOptions,
  type RecoveryReport,
  recoverWarehouse,
  warehousePaths,
} from './recovery.ts';
export {
  type LedgerTotals,
  SNAPSHOT_BUSY_TIMEOUT_MS,
  SNAPSHOT_ENCODING,
  SNAPSHOTS_KEPT,
  type SnapshotRow,
  SnapshotStore,
  SnapshotStoreBusyError,
} from './snapshot-store.ts';
export { type CheckpointResult, SnapshotWriter } from './snapshot-writer.ts';
export {
  inspectDataDir,
  type SkuMismatch,
  verifyDataDir,
  verifyWarehouse,
  type WarehouseInspection,
  type WarehouseVerification,
} from './verify.ts';
export {
  countRecordsAfter,
  listSegments,
  SEGMENT_BYTES_MAX,
  Wal,
  WalCorruptionError,
  type WalOpenReport,
} from './wal.ts';
export { cutWal, planWalCut, type WalCutPlan, WalCutRefused } from './wal-cut.ts';
export * as walFormat from './wal-format.ts';
export { readWalRange, type WalCursor, WalReader } from './wal-reader.ts';
export { startWorker } from './worker-thread.ts';
