/**
 * The command loop of one warehouse: the single writer. It validates input at the boundary, queues
 * it, and per batch stamps time and sequence, applies every command to the core and writes the
 * batch to the command log. One fdatasync then covers every batch written before it (group
 * commit), and only when it returns are those batches' replies released. While a sync is in
 * flight the loop goes on applying and writing the next batches, so applying and syncing overlap;
 * their replies wait for the sync that covers them. It also arms the expiry timer and asks for
 * checkpoints of what is durable. It performs I/O only through the injected `CommandLog` and
 * `Checkpointer`.
 */
import { CheckpointSchedule, type CheckpointScheduleOptions } from './checkpoint-schedule.ts';
import { RETRY_AFTER_MS, unavailable, validationError } from './errors.ts';
import type { Command, EngineEvent, LedgerEntry, Result, StampedCommand } from './types.ts';
import { validateCommand, validateQuery } from './validate.ts';
import type { Warehouse } from './warehouse.ts';

/**
 * Most commands applied per batch. Smaller than the number of clients a warehouse serves, so that
 * while one batch's fdatasync is in flight the next batch is applied and written (measured with
 * 2,048 closed-loop clients: 1,024 gave ~125k commands/s, 4,096 ~110k, where every client waits on
 * the same sync and the loop idles).
 */
export const BATCH_COMMANDS_MAX = 1024;
/** Most commands waiting for the loop; past it, submit answers UNAVAILABLE (backpressure). */
export const QUEUE_COMMANDS_MAX = 200_000;

/** Where the runtime makes commands durable. */
export interface CommandLog {
  /** Writes stamped commands (numbered without gaps) after the previous ones. Throws on failure. */
  append(records: readonly StampedCommand[]): void;
  /**
   * Makes everything appended before the call durable (one fdatasync), then calls back, with the
   * error if it failed. The runtime never has two syncs in flight.
   */
  sync(done: (error?: Error) => void): void;
}

/** What one committed batch produced, for publishers and metrics. */
export interface CommittedBatch {
  firstSeq: number;
  lastSeq: number;
  commands: number;
  events: EngineEvent[];
  /** The sequence number of the command that produced each event (same order as `events`). */
  eventSeqs: number[];
  ledger: LedgerEntry[];
  /** From the start of applying the batch to its replies: apply, write, wait for the sync. */
  durationMs: number;
}

export interface RuntimeOptions extends CheckpointScheduleOptions {
  log: CommandLog;
  /** Milliseconds since the epoch; stamped on each batch. The runtime never goes back in time. */
  clock?: () => number;
  batchMax?: number;
  queueMax?: number;
  onCommitted?: (batch: CommittedBatch) => void;
  /** Called after every successful fdatasync of the log, with how long it took (metrics). */
  onSync?: (durationMs: number) => void;
  /** Called once when the warehouse stops serving because its log or core failed. */
  onFatal?: (error: unknown) => void;
}

interface Pending {
  command: Command;
  resolve: (result: Result) => void;
}

/** A batch applied and written, waiting for the sync that covers it. */
interface WrittenBatch {
  pending: Pending[];
  results: Result[];
  firstSeq: number;
  lastSeq: number;
  events: EngineEvent[];
  eventSeqs: number[];
  ledger: LedgerEntry[];
  startedMs: number;
}

type RuntimeState = 'open' | 'closing' | 'closed' | 'failed';

export class WarehouseRuntime {
  private queue: Pending[] = [];
  /** The answer of the latest command sent under each key and not yet answered: a read waits for it. */
  private readonly unanswered = new Map<string, Promise<Result>>();
  private scheduled = false;
  private status: RuntimeState = 'open';
  private written: WrittenBatch[] = [];
  private syncing = false;
  /** Every command up to here is durable. */
  private durableSeq: number;
  private durableWaiters: { seq: number; resolve: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private tickQueued = false;
  private readonly checkpoints: CheckpointSchedule;
  private readonly clock: () => number;
  private readonly batchMax: number;
  private readonly queueMax: number;
  private drained: (() => void)[] = [];
  /** Counters for metrics and benchmarks. */
  readonly stats = {
    batches: 0,
    syncs: 0,
    commands: 0,
    rejectedQueueFull: 0,
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
    this.checkpoints = new CheckpointSchedule(options, this.clock);
    this.durableSeq = warehouse.state.lastSeq;
    this.armTimer();
  }

  /** The last command applied (possibly not yet durable). */
  get lastSeq(): number {
    return this.warehouse.state.lastSeq;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Snapshots written since the runtime started. */
  get checkpointsWritten(): number {
    return this.checkpoints.written;
  }

  /** Validates and queues one command; resolves with its result once it is durable. Never rejects. */
  submit(input: unknown): Promise<Result> {
    if (this.status !== 'open') {
      // Closing or closed: a shutdown or a reopen, passing; failed: until someone acts.
      const after = this.status === 'failed' ? undefined : RETRY_AFTER_MS.restarting;
      return Promise.resolve({ ok: false, error: unavailable(`warehouse ${this.status}`, after) });
    }
    const validated = validateCommand(input);
    if (!validated.ok) return Promise.resolve(validated);
    if (validated.value.type === 'tick') {
      return Promise.resolve({ ok: false, error: validationError('type', 'tick is issued by the runtime') });
    }
    return this.enqueue(validated.value);
  }

  /**
   * Answers a read from memory at once. It may reflect commands applied but not yet durable (their
   * replies are not out yet); use `read` where that matters.
   */
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
        return { ok: true, value: w.changesSince(q.sinceVersion, q.limit) };
      case 'reservation':
        return w.reservation(q.reservationId);
      case 'command':
        return w.commandResult(q.key);
      case 'order':
        return w.order(q.orderId);
      case 'fulfillment':
        return { ok: true, value: w.fulfillment() };
      case 'eta':
        return { ok: true, value: w.quote(q.address) };
    }
  }

  /**
   * Answers a read from memory, computed now and released once every command it could reflect is
   * durable: a reader never learns of a command that a crash could still take back.
   */
  async read(input: unknown): Promise<Result<unknown>> {
    const result = this.query(input);
    // A command key nobody has sent is news of nothing: no crash can take an absence back (only
    // bring back a record forgotten past its retention), so it needs no wait for the next sync. A
    // checkout asks this of every candidate on every order. A key sent and not answered yet is
    // not news of nothing: its command is on its way (a checkout retried while its placement waits in a long
    // queue would otherwise place the order at a second warehouse), so the read waits for it.
    if (!result.ok && result.error.code === 'NOT_FOUND' && (input as { type?: unknown }).type === 'command') {
      const key = (input as { key: string }).key;
      const answer = this.unanswered.get(key);
      if (answer === undefined) return result;
      await answer;
      return this.read(input);
    }
    await this.whenDurable(this.lastSeq);
    return this.status === 'failed' ? { ok: false, error: unavailable('warehouse failed') } : result;
  }

  /** Resolves once every command up to `seq` is durable (or the warehouse failed). */
  whenDurable(seq: number): Promise<void> {
    if (seq <= this.durableSeq || this.status === 'failed') return Promise.resolve();
    return new Promise((resolve) => this.durableWaiters.push({ seq, resolve }));
  }

  private enqueue(command: Command): Promise<Result> {
    if (this.queue.length >= this.queueMax) {
      this.stats.rejectedQueueFull++;
      return Promise.resolve({ ok: false, error: unavailable('command queue full', RETRY_AFTER_MS.queueFull) });
    }
    const answer = new Promise<Result>((resolve) => {
      this.queue.push({ command, resolve });
      this.schedule();
    });
    if (command.type === 'tick') return answer;
    const { key } = command;
    this.unanswered.set(key, answer);
    void answer.then(() => {
      if (this.unanswered.get(key) === answer) this.unanswered.delete(key);
    });
    return answer;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Applies and writes one batch, then starts a sync unless one is in flight. */
  private flush(): void {
    this.scheduled = false;
    if (this.status === 'failed' || this.queue.length === 0) {
      this.notifyDrained();
      return;
    }
    const pending = this.queue.length <= this.batchMax ? this.queue : this.queue.slice(0, this.batchMax);
    this.queue = pending === this.queue ? [] : this.queue.slice(this.batchMax);
    const startedMs = performance.now();
    const firstSeq = this.lastSeq + 1;
    const results: Result[] = [];
    const records: StampedCommand[] = [];
    const eventSeqs: number[] = [];
    const produced = this.warehouse.state;
    try {
      const atMs = Math.max(this.clock(), this.warehouse.state.lastAtMs);
      for (const p of pending) {
        const stamped: StampedCommand = { seq: this.lastSeq + 1, atMs, command: p.command };
        results.push(this.warehouse.apply(stamped));
        records.push(stamped);
        while (eventSeqs.length < produced.events.length) eventSeqs.push(stamped.seq);
      }
      this.options.log.append(records);
    } catch (error) {
      // The core is now ahead of the log (or broken): it must not answer anything again.
      this.fail(error, [pending]);
      return;
    }
    const events = this.warehouse.drainEvents();
    const ledger = this.warehouse.drainLedger();
    this.written.push({ pending, results, firstSeq, lastSeq: this.lastSeq, events, eventSeqs, ledger, startedMs });
    this.stats.batches++;
    this.stats.commands += pending.length;
    this.stats.applyMs += performance.now() - startedMs;
    this.tickQueued = false;
    this.armTimer();
    if (!this.syncing) this.startSync();
    if (this.queue.length > 0) this.schedule();
  }

  /** One fdatasync covering every batch written so far; replies to them when it returns. */
  private startSync(): void {
    if (this.written.length === 0) return;
    const covering = this.written;
    this.written = [];
    this.syncing = true;
    const startedMs = performance.now();
    this.options.log.sync((error) => {
      this.syncing = false;
      if (error !== undefined) {
        if (this.status !== 'failed')
          this.fail(
            error,
            covering.map((b) => b.pending),
          );
        else {
          this.refuse(covering.map((b) => b.pending));
          this.notifyDrained();
        }
        return;
      }
      const syncMs = performance.now() - startedMs;
      this.stats.syncs++;
      this.stats.syncMs += syncMs;
      this.stats.syncMsMax = Math.max(this.stats.syncMsMax, syncMs);
      this.options.onSync?.(syncMs);
      // Batches a sync covered are durable even if a later batch failed: their replies are true.
      this.committed(covering);
      if (this.written.length > 0 && this.status !== 'failed') this.startSync();
      else this.notifyDrained();
    });
  }

  /** The batches are durable: reply, publish, wake durable readers, maybe checkpoint. */
  private committed(batches: WrittenBatch[]): void {
    for (const b of batches) {
      for (let i = 0; i < b.pending.length; i++) (b.pending[i] as Pending).resolve(b.results[i] as Result);
    }
    this.durableSeq = (batches[batches.length - 1] as WrittenBatch).lastSeq;
    const now = performance.now();
    for (const b of batches) {
      const { firstSeq, lastSeq, events, eventSeqs, ledger } = b;
      this.options.onCommitted?.({
        firstSeq,
        lastSeq,
        commands: b.pending.length,
        events,
        eventSeqs,
        ledger,
        durationMs: now - b.startedMs,
      });
    }
    this.wakeDurableWaiters();
    if (this.status !== 'failed') this.checkpoints.maybe(this.durableSeq);
  }

  private wakeDurableWaiters(): void {
    if (this.durableWaiters.length === 0) return;
    const waiting = this.durableWaiters;
    this.durableWaiters = [];
    for (const w of waiting) {
      if (w.seq <= this.durableSeq || this.status === 'failed') w.resolve();
      else this.durableWaiters.push(w);
    }
  }

  /**
   * Refuses commands the failure caught between apply and a returned sync. Their outcome is unknown,
   * not refused: their bytes may be in the log, and a recovery then applies them, so the refusal
   * says to ask again under the same key once the warehouse is back (the key answers what happened).
   */
  private refuse(batches: Pending[][]): void {
    const reply: Result = {
      ok: false,
      error: unavailable(
        'warehouse failed before its log was durable: the command may still be applied when it recovers; ask again with the same key',
      ),
    };
    for (const batch of batches) for (const p of batch) p.resolve(reply);
  }

  /** The log or the core failed: memory may be ahead of disk, so nothing is answered again. */
  private fail(error: unknown, batches: Pending[][]): void {
    this.status = 'failed';
    this.clearTimer();
    this.refuse([...batches, ...this.written.map((b) => b.pending)]);
    // Never applied: plainly refused (a retry under the same key after the recovery applies it then).
    const notApplied: Result = { ok: false, error: unavailable('warehouse failed') };
    for (const p of this.queue) p.resolve(notApplied);
    this.written = [];
    this.queue = [];
    this.wakeDurableWaiters();
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
    // Closing: no tick is queued any more, and a deadline already due would re-arm at 0 ms for as
    // long as the close takes (a snapshot: seconds of a spinning timer).
    if (this.status !== 'open') return;
    const next = this.warehouse.nextDeadlineMs();
    if (this.tickQueued || next === undefined || next > this.clock()) {
      this.armTimer();
      return;
    }
    this.tickQueued = true;
    void this.enqueue({ type: 'tick' });
  }

  /** Writes a snapshot covering every command durable so far; resolves when it is written. */
  async checkpointNow(): Promise<void> {
    // Only durable commands may be snapshotted: the snapshot writer reads them from the log.
    await this.whenDurable(this.lastSeq);
    await this.checkpoints.run(this.durableSeq);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && !this.scheduled && this.written.length === 0 && !this.syncing;
  }

  /**
   * Resolves once every queued command has been committed (or refused) and no sync is in flight. A
   * failed runtime waits for its sync too: the log must not be closed under it (the fd number could
   * be reused, and the fdatasync would make another file durable and answer for this one).
   */
  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private notifyDrained(): void {
    if (!this.isIdle()) return;
    const waiting = this.drained;
    this.drained = [];
    for (const resolve of waiting) resolve();
  }

  /** Stops taking commands, commits what is queued, stops the timer. Does not close the log. */
  async close(): Promise<void> {
    if (this.status === 'open') this.status = 'closing';
    await this.drain();
    await this.checkpoints.settled();
    this.clearTimer();
    if (this.status === 'closing') this.status = 'closed';
  }
}
