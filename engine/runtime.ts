/**
 * The command loop of one warehouse: the single writer. It validates input at the boundary,
 * queues it, and per batch stamps time and sequence, applies every command to the core, appends
 * the batch to the command log with one fdatasync (group commit), and only then releases the
 * replies. Apply and sync happen in the same turn of the event loop, so no read ever sees a
 * command that is not yet durable. It arms the expiry timer and asks for checkpoints.
 * It performs I/O only through the injected `CommandLog` and `Checkpointer`.
 */
import { unavailable } from './errors.ts';
import type { Command, EngineEvent, LedgerEntry, Result, StampedCommand } from './types.ts';
import { validateCommand, validateQuery } from './validate.ts';
import type { Warehouse } from './warehouse.ts';

/** Most commands applied per group commit. */
export const BATCH_COMMANDS_MAX = 4096;
/** Most commands waiting for the loop; past it, submit answers UNAVAILABLE (backpressure). */
export const QUEUE_COMMANDS_MAX = 200_000;

/** Where the runtime makes commands durable. */
export interface CommandLog {
  /**
   * Appends the stamped commands (numbered without gaps) and fdatasyncs once. Throws if they are
   * not durable.
   */
  appendDurable(records: readonly StampedCommand[]): void;
}

/** Writes snapshots covering the log up to a sequence number, off the command loop. */
export interface Checkpointer {
  checkpoint(throughSeq: number): Promise<void>;
}

/** What one committed batch produced, for publishers and metrics. */
export interface CommittedBatch {
  firstSeq: number;
  lastSeq: number;
  commands: number;
  events: EngineEvent[];
  ledger: LedgerEntry[];
  /** Time spent in apply + append + fdatasync. */
  durationMs: number;
}

export interface RuntimeOptions {
  log: CommandLog;
  /** Milliseconds since the epoch; stamped on each batch. The runtime never goes back in time. */
  clock?: () => number;
  checkpointer?: Checkpointer;
  /**
   * The sequence number the newest durable snapshot covers (0 for none). Commands recovery replayed
   * after it count toward the next checkpoint, so a warehouse that restarts often still snapshots.
   */
  snapshotSeq?: number;
  /** Ask for a checkpoint after this many commands since the last one. */
  checkpointEveryCommands?: number;
  batchMax?: number;
  queueMax?: number;
  onCommitted?: (batch: CommittedBatch) => void;
  /** Called once when the warehouse stops serving because its log or core failed. */
  onFatal?: (error: unknown) => void;
  /** A checkpoint failed: nothing is lost (the log keeps everything), but the log keeps growing. */
  onCheckpointError?: (error: unknown) => void;
}

interface Pending {
  command: Command;
  resolve: (result: Result) => void;
}

type RuntimeState = 'open' | 'closing' | 'closed' | 'failed';

export class WarehouseRuntime {
  private queue: Pending[] = [];
  private scheduled = false;
  private status: RuntimeState = 'open';
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private tickQueued = false;
  private checkpointedSeq: number;
  private checkpointInFlight: Promise<void> | undefined;
  private readonly clock: () => number;
  private readonly batchMax: number;
  private readonly queueMax: number;
  private drained: (() => void)[] = [];
  /** Counters for metrics and benchmarks. */
  readonly stats = {
    batches: 0,
    commands: 0,
    rejectedQueueFull: 0,
    checkpoints: 0,
    applyMs: 0,
    syncMs: 0,
    syncMsMax: 0,
  };

  constructor(
    readonly warehouse: Warehouse,
    private readonly options: RuntimeOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.batchMax = options.batchMax ?? BATCH_COMMANDS_MAX;
    this.queueMax = options.queueMax ?? QUEUE_COMMANDS_MAX;
    this.checkpointedSeq = options.snapshotSeq ?? 0;
    this.armTimer();
  }

  get lastSeq(): number {
    return this.warehouse.state.lastSeq;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Validates and queues one command; resolves with its result once it is durable. Never rejects. */
  submit(input: unknown): Promise<Result> {
    if (this.status !== 'open') return Promise.resolve({ ok: false, error: unavailable(`warehouse ${this.status}`) });
    const validated = validateCommand(input);
    if (!validated.ok) return Promise.resolve(validated);
    if (validated.value.type === 'tick')
      return Promise.resolve({ ok: false, error: unavailable('tick is issued by the runtime') });
    return this.enqueue(validated.value);
  }

  /** Answers a read from memory. Never touches the log. */
  query(input: unknown): Result<unknown> {
    if (this.status === 'failed') return { ok: false, error: unavailable('warehouse failed') };
    const validated = validateQuery(input);
    if (!validated.ok) return validated;
    const q = validated.value;
    const w = this.warehouse;
    switch (q.type) {
      case 'availability':
        return { ok: true, value: w.availability(q.skus) };
      case 'changes':
        return { ok: true, value: w.changesSince(q.sinceVersion) };
      case 'reservation':
        return w.reservation(q.reservationId);
      case 'command':
        return w.commandResult(q.key);
    }
  }

  private enqueue(command: Command): Promise<Result> {
    if (this.queue.length >= this.queueMax) {
      this.stats.rejectedQueueFull++;
      return Promise.resolve({ ok: false, error: unavailable('command queue full') });
    }
    return new Promise((resolve) => {
      this.queue.push({ command, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** One group commit: apply a batch, make it durable, then reply to all of it. */
  private flush(): void {
    this.scheduled = false;
    if (this.status === 'failed' || this.queue.length === 0) {
      this.notifyDrained();
      return;
    }
    const batch = this.queue.length <= this.batchMax ? this.queue : this.queue.slice(0, this.batchMax);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.batchMax);
    const startedMs = performance.now();
    const results: Result[] = [];
    const records: StampedCommand[] = [];
    const firstSeq = this.lastSeq + 1;
    try {
      const atMs = Math.max(this.clock(), this.warehouse.state.lastAtMs);
      for (const pending of batch) {
        const stamped: StampedCommand = { seq: this.lastSeq + 1, atMs, command: pending.command };
        results.push(this.warehouse.apply(stamped));
        records.push(stamped);
      }
      const syncStartMs = performance.now();
      this.options.log.appendDurable(records);
      const syncMs = performance.now() - syncStartMs;
      this.stats.applyMs += syncStartMs - startedMs;
      this.stats.syncMs += syncMs;
      this.stats.syncMsMax = Math.max(this.stats.syncMsMax, syncMs);
    } catch (error) {
      // The core is now ahead of the log (or broken): it must not answer anything again.
      this.fail(error, batch);
      return;
    }
    this.stats.batches++;
    this.stats.commands += batch.length;
    for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(results[i] as Result);
    this.afterCommit(firstSeq, batch.length, performance.now() - startedMs);
    if (this.queue.length > 0) this.schedule();
    else this.notifyDrained();
  }

  private afterCommit(firstSeq: number, commands: number, durationMs: number): void {
    this.tickQueued = false;
    const events = this.warehouse.drainEvents();
    const ledger = this.warehouse.drainLedger();
    this.options.onCommitted?.({ firstSeq, lastSeq: this.lastSeq, commands, events, ledger, durationMs });
    this.armTimer();
    this.maybeCheckpoint();
  }

  private fail(error: unknown, batch: Pending[]): void {
    this.status = 'failed';
    this.clearTimer();
    const reply: Result = { ok: false, error: unavailable('warehouse failed: its log is not durable') };
    for (const pending of batch) pending.resolve(reply);
    for (const pending of this.queue) pending.resolve(reply);
    this.queue = [];
    this.notifyDrained();
    this.options.onFatal?.(error);
  }

  /** Keeps one timer at the earliest reservation deadline; when it fires a tick is queued. */
  private armTimer(): void {
    if (this.status === 'failed' || this.status === 'closed') return;
    const next = this.warehouse.nextDeadlineMs();
    if (next === undefined || next >= this.timerAtMs) return;
    this.clearTimer();
    this.timerAtMs = next;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, next - this.clock()));
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    const next = this.warehouse.nextDeadlineMs();
    if (this.status !== 'open' || this.tickQueued || next === undefined || next > this.clock()) {
      this.armTimer();
      return;
    }
    this.tickQueued = true;
    void this.enqueue({ type: 'tick' });
  }

  private maybeCheckpoint(): void {
    const { checkpointer, checkpointEveryCommands } = this.options;
    if (checkpointer === undefined || checkpointEveryCommands === undefined) return;
    if (this.checkpointInFlight !== undefined) return;
    if (this.lastSeq - this.checkpointedSeq < checkpointEveryCommands) return;
    void this.checkpointNow();
  }

  /** Asks for a snapshot covering every command applied so far; resolves when it is durable. */
  async checkpointNow(): Promise<void> {
    const checkpointer = this.options.checkpointer;
    if (checkpointer === undefined) return;
    if (this.checkpointInFlight !== undefined) await this.checkpointInFlight;
    const throughSeq = this.lastSeq;
    if (throughSeq <= this.checkpointedSeq) return;
    this.checkpointInFlight = checkpointer.checkpoint(throughSeq).then(
      () => {
        this.checkpointedSeq = throughSeq;
        this.stats.checkpoints++;
      },
      (error) => this.options.onCheckpointError?.(error),
    );
    try {
      await this.checkpointInFlight;
    } finally {
      this.checkpointInFlight = undefined;
    }
  }

  /** Resolves once every queued command has been committed (or failed). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private notifyDrained(): void {
    if (this.queue.length > 0 || this.scheduled) return;
    const waiting = this.drained;
    this.drained = [];
    for (const resolve of waiting) resolve();
  }

  /** Stops taking commands, commits what is queued, stops the timer. Does not close the log. */
  async close(): Promise<void> {
    if (this.status === 'open') this.status = 'closing';
    await this.drain();
    if (this.checkpointInFlight !== undefined) await this.checkpointInFlight.catch(() => undefined);
    this.clearTimer();
    if (this.status === 'closing') this.status = 'closed';
  }
}
