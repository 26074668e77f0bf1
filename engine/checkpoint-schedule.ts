/**
 * When a warehouse asks for a snapshot: after enough durable commands and enough time since the
 * last one (or ten times the commands, whatever the time), one at a time, and only of what is
 * durable. It owns the bookkeeping of the last snapshot; the snapshot itself is written by the
 * injected `Checkpointer`, off the command loop. Performs no I/O of its own.
 */

/** Writes snapshots covering the log up to a sequence number, off the command loop. */
export interface Checkpointer {
  checkpoint(throughSeq: number): Promise<void>;
}

export interface CheckpointScheduleOptions {
  checkpointer?: Checkpointer;
  /** The sequence number the newest durable snapshot covers (0 for none). */
  snapshotSeq?: number;
  /** Ask for a checkpoint after this many commands since the last one... */
  checkpointEveryCommands?: number;
  /**
   * ...but not sooner than this long after the last one (default 0), unless ten times as many
   * commands have come: every snapshot re-encodes the whole state, so at high rates a pure count
   * would keep the snapshot writer busy, while the count bound still limits replay on recovery.
   */
  checkpointIntervalMs?: number;
  /** A checkpoint failed: nothing is lost (the log keeps everything), but the log keeps growing. */
  onCheckpointError?: (error: unknown) => void;
  /**
   * The highest sequence number a snapshot may cover now (unbounded when absent): what a command
   * after it produced has not surely left the process yet (a region's events the stream has not
   * acknowledged), and only a replay of the log can bring that back after a crash. Snapshots, asked
   * for by the cadence or taken now, stop below it; the cadence asks again after the next commit.
   */
  checkpointLimit?: () => number;
}

export class CheckpointSchedule {
  private checkpointedSeq: number;
  private checkpointedAtMs: number;
  private inFlight: Promise<void> | undefined;
  /** Snapshots written through this schedule. */
  written = 0;

  constructor(
    private readonly options: CheckpointScheduleOptions,
    private readonly clock: () => number,
  ) {
    this.checkpointedSeq = options.snapshotSeq ?? 0;
    this.checkpointedAtMs = clock();
  }

  /** Starts a checkpoint through `durableSeq` if the cadence says it is time. */
  maybe(durableSeq: number): void {
    const { checkpointer, checkpointEveryCommands } = this.options;
    if (checkpointer === undefined || checkpointEveryCommands === undefined || this.inFlight !== undefined) return;
    // Most commits end here, before the host's limit is asked for.
    if (durableSeq - this.checkpointedSeq < checkpointEveryCommands) return;
    const throughSeq = this.within(durableSeq);
    const commands = throughSeq - this.checkpointedSeq;
    if (commands < checkpointEveryCommands) return;
    const sinceMs = this.clock() - this.checkpointedAtMs;
    if (sinceMs < (this.options.checkpointIntervalMs ?? 0) && commands < 10 * checkpointEveryCommands) return;
    void this.run(throughSeq);
  }

  /** `durableSeq`, or less when the host's limit says a snapshot may not reach that far yet. */
  private within(durableSeq: number): number {
    return Math.min(durableSeq, this.options.checkpointLimit?.() ?? durableSeq);
  }

  /**
   * Writes a snapshot through `durableSeq` now, or only as far as the host's limit allows (after any
   * in flight); resolves when it is written.
   */
  async run(durableSeq: number): Promise<void> {
    const checkpointer = this.options.checkpointer;
    if (checkpointer === undefined) return;
    if (this.inFlight !== undefined) await this.inFlight;
    const throughSeq = this.within(durableSeq);
    if (throughSeq <= this.checkpointedSeq) return;
    this.inFlight = checkpointer.checkpoint(throughSeq).then(
      () => {
        this.checkpointedSeq = throughSeq;
        this.checkpointedAtMs = this.clock();
        this.written++;
      },
      (error) => this.options.onCheckpointError?.(error),
    );
    try {
      await this.inFlight;
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Resolves once no checkpoint is in flight (failures are reported, not thrown). */
  async settled(): Promise<void> {
    if (this.inFlight !== undefined) await this.inFlight.catch(() => undefined);
  }
}
