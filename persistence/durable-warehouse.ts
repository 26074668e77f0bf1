/**
 * A warehouse made durable: recovery on open, the single-writer runtime group-committing to the
 * WAL, snapshots by a checkpointer (a worker thread by default), and an orderly close that drains
 * the queue, snapshots and closes files. This is how the region process, the demo, the tests and
 * the benchmarks open a warehouse from a data directory.
 */
import { type Checkpointer, type CommittedBatch, type Result, WarehouseRuntime } from '../engine/index.ts';
import { InlineCheckpointer, WorkerCheckpointer } from './checkpointer.ts';
import { type RecoverOptions, type RecoveryReport, recoverWarehouse } from './recovery.ts';
import type { CheckpointResult } from './snapshot-writer.ts';
import type { Wal } from './wal.ts';

/** Default number of commands between snapshots, and the least time between them. */
export const CHECKPOINT_EVERY_COMMANDS = 100_000;
export const CHECKPOINT_INTERVAL_MS = 30_000;

export interface OpenWarehouseOptions extends RecoverOptions {
  dataDir: string;
  warehouseId: string;
  clock?: () => number;
  /** Where snapshots are written: a worker thread (default), inline on the loop, or never. */
  checkpoint?: 'worker' | 'inline' | 'off';
  checkpointEveryCommands?: number;
  checkpointIntervalMs?: number;
  batchMax?: number;
  queueMax?: number;
  onCommitted?: (batch: CommittedBatch) => void;
  onSync?: (durationMs: number) => void;
  onCheckpoint?: (result: CheckpointResult) => void;
  onFatal?: (error: unknown) => void;
  onCheckpointError?: (error: unknown) => void;
  /** The highest seq a snapshot may cover now (see `CheckpointScheduleOptions`). */
  checkpointLimit?: () => number;
}

export class DurableWarehouse {
  private constructor(
    readonly runtime: WarehouseRuntime,
    readonly wal: Wal,
    private readonly checkpointer: (Checkpointer & { close(): Promise<void> }) | undefined,
    readonly recovery: RecoveryReport,
  ) {}

  /** Recovers the warehouse from `dataDir` and starts its command loop. */
  static open(options: OpenWarehouseOptions): DurableWarehouse {
    if (options.routing !== undefined) {
      // The snapshot writer replays the log with the default router; another one would make its
      // snapshots differ from the live state. Road distances must be the same wherever the log is replayed.
      throw new Error(
        'a custom RoutingProvider is not supported by the durable warehouse: the snapshot writer replays with the default',
      );
    }
    // The live loop keeps no ledger: the snapshot writer replays the same commands and stores it.
    const { warehouse, wal, report } = recoverWarehouse(options.dataDir, options.warehouseId, {
      ...options,
      recordLedger: false,
    });
    const mode = options.checkpoint ?? 'worker';
    const checkpointerOptions = { dataDir: options.dataDir, warehouseId: options.warehouseId, wal };
    if (options.onCheckpoint !== undefined) Object.assign(checkpointerOptions, { onCheckpoint: options.onCheckpoint });
    const checkpointer =
      mode === 'worker'
        ? new WorkerCheckpointer(checkpointerOptions)
        : mode === 'inline'
          ? new InlineCheckpointer(checkpointerOptions)
          : undefined;
    const runtime = new WarehouseRuntime(warehouse, {
      ...options,
      log: wal,
      checkpointer,
      snapshotSeq: report.snapshot?.walSeq ?? 0,
      checkpointEveryCommands: options.checkpointEveryCommands ?? CHECKPOINT_EVERY_COMMANDS,
      checkpointIntervalMs: options.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
    });
    return new DurableWarehouse(runtime, wal, checkpointer, report);
  }

  get warehouseId(): string {
    return this.runtime.warehouse.warehouseId;
  }

  /** Validates and queues a command; resolves once it is durable. Never rejects. */
  submit(input: unknown): Promise<Result> {
    return this.runtime.submit(input);
  }

  /** Answers a read from memory at once; it may reflect commands whose sync is still in flight. */
  query(input: unknown): Result<unknown> {
    return this.runtime.query(input);
  }

  /** Answers a read from memory, released once everything it could reflect is durable. */
  read(input: unknown): Promise<Result<unknown>> {
    return this.runtime.read(input);
  }

  /** Writes a snapshot of everything applied so far and drops WAL segments no longer needed. */
  checkpointNow(): Promise<void> {
    return this.runtime.checkpointNow();
  }

  /** Stops taking commands, commits what is queued, snapshots (unless told not to), closes files. */
  async close(options: { snapshot?: boolean } = {}): Promise<void> {
    await this.runtime.close();
    if (options.snapshot !== false) await this.runtime.checkpointNow();
    await this.checkpointer?.close();
    this.wal.close();
  }
}
