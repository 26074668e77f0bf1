/**
 * Checkpointers the runtime calls to snapshot a warehouse. `WorkerCheckpointer` runs the
 * SnapshotWriter in a worker thread, so the command loop only posts a message; `InlineCheckpointer`
 * runs it on the caller's thread (tools, tests, and the benchmark that shows the stall it causes).
 * After a snapshot is durable, both let the WAL drop the segments no kept snapshot needs.
 */
import type { Worker } from 'node:worker_threads';
import type { Checkpointer } from '../engine/index.ts';
import { type CheckpointResult, SnapshotWriter } from './snapshot-writer.ts';
import type { Wal } from './wal.ts';
import { startWorker } from './worker-thread.ts';

export interface CheckpointerOptions {
  dataDir: string;
  warehouseId: string;
  wal: Wal;
  onCheckpoint?: (result: CheckpointResult) => void;
}

export class InlineCheckpointer implements Checkpointer {
  private readonly writer: SnapshotWriter;

  constructor(private readonly options: CheckpointerOptions) {
    this.writer = new SnapshotWriter(options.dataDir, options.warehouseId);
  }

  async checkpoint(throughSeq: number): Promise<void> {
    const result = this.writer.checkpoint(throughSeq);
    this.options.wal.dropThrough(result.keepAfterSeq);
    this.options.onCheckpoint?.(result);
  }

  async close(): Promise<void> {
    this.writer.close();
  }
}

type Reply = { id: number; result: CheckpointResult } | { id: number; error: string } | { ready: true };

export class WorkerCheckpointer implements Checkpointer {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: CheckpointResult) => void; reject: (e: Error) => void }>();

  constructor(private readonly options: CheckpointerOptions) {}

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const { dataDir, warehouseId } = this.options;
    const worker = startWorker(new URL('./checkpoint-worker.ts', import.meta.url), { dataDir, warehouseId });
    worker.on('message', (reply: Reply) => {
      if ('ready' in reply) return;
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('result' in reply) waiter?.resolve(reply.result);
      else waiter?.reject(new Error(`checkpoint failed: ${reply.error}`));
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => {
      this.worker = undefined;
      this.failAll(new Error(`checkpoint worker exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  checkpoint(throughSeq: number): Promise<void> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<CheckpointResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, throughSeq });
    }).then((result) => {
      this.options.wal.dropThrough(result.keepAfterSeq);
      this.options.onCheckpoint?.(result);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage({ close: true });
      setTimeout(() => void worker.terminate(), 5_000).unref();
    });
  }
}
