/**
 * The shadow copy of a warehouse that writes its snapshots. It starts from the newest snapshot,
 * catches up by replaying durable WAL records through the same deterministic core (so its state at
 * seq N is the live state at seq N, bit for bit), and writes the snapshot together with the ledger
 * rows produced since the last one. Its WAL reader keeps a cursor, so each catch-up reads only the
 * bytes appended since the previous one. It runs in a worker thread, so snapshotting never stalls the
 * command loop; it can also run inline (tools, tests).
 */
import { type LedgerEntry, toSnapshot, Warehouse } from '../engine/index.ts';
import { loadSnapshotState, warehousePaths } from './recovery.ts';
import { SnapshotStore } from './snapshot-store.ts';
import { WalReader } from './wal-reader.ts';

export interface CheckpointResult {
  walSeq: number;
  /** WAL segments wholly at or below this seq are no longer needed by any kept snapshot. */
  keepAfterSeq: number;
  ledgerRows: number;
  bytes: number;
  durationMs: number;
}

export class SnapshotWriter {
  private readonly store: SnapshotStore;
  private readonly warehouse: Warehouse;
  private readonly reader: WalReader;
  /**
   * Ledger entries replayed but not yet in a durable snapshot transaction. They stay here until a
   * write succeeds: the shadow state has moved past them, so a failed write must not drop them.
   */
  private pendingLedger: LedgerEntry[] = [];

  constructor(dataDir: string, warehouseId: string) {
    const paths = warehousePaths(dataDir, warehouseId);
    this.reader = new WalReader(paths.wal);
    this.store = new SnapshotStore(paths.db);
    this.warehouse = new Warehouse(warehouseId, {}, loadSnapshotState(this.store, warehouseId).state);
  }

  get walSeq(): number {
    return this.warehouse.state.lastSeq;
  }

  /** Replays durable records up to `throughSeq`, keeping the ledger entries they produce. */
  private catchUp(throughSeq: number): void {
    const warehouse = this.warehouse;
    this.reader.read(warehouse.state.lastSeq, throughSeq, (record) => {
      warehouse.apply(record);
      warehouse.state.events.length = 0;
      for (const entry of warehouse.drainLedger()) this.pendingLedger.push(entry);
    });
  }

  /** Writes a snapshot covering every record up to `throughSeq`. */
  checkpoint(throughSeq: number, origin = 'checkpoint'): CheckpointResult {
    const startedMs = performance.now();
    if (throughSeq > this.walSeq) this.catchUp(throughSeq);
    const ledger = this.pendingLedger;
    const row = this.store.write(toSnapshot(this.warehouse.state), ledger, origin);
    this.pendingLedger = [];
    return {
      walSeq: row.walSeq,
      keepAfterSeq: this.store.oldestKeptWalSeq(),
      ledgerRows: ledger.length,
      bytes: row.bytes,
      durationMs: performance.now() - startedMs,
    };
  }

  close(): void {
    this.store.close();
  }
}
