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
   * False while a checkpoint must wait: what it would cover has not fully left the process yet (a
   * region whose NATS connection is down has events unsent, which only a replay of the log can
   * bring back after a crash). The cadence asks again after the next commit.
   */
  mayCheckpoint?: () => boolean;
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
    const commands = durableSeq - this.checkpointedSeq;
    if (commands < checkpointEveryCommands) return;
    const sinceMs = this.clock() - this.checkpointedAtMs;
    if (sinceMs < (this.options.checkpointIntervalMs ?? 0) && commands < 10 * checkpointEveryCommands) return;
    if (this.options.mayCheckpoint?.() === false) return;
    void this.run(durableSeq);
  }

  /** Writes a snapshot through `durableSeq` now (after any in flight); resolves when it is written. */
  async run(durableSeq: number): Promise<void> {
    const checkpointer = this.options.checkpointer;
    if (checkpointer === undefined) return;
    if (this.inFlight !== undefined) await this.inFlight;
    if (durableSeq <= this.checkpointedSeq) return;
    this.inFlight = checkpointer.checkpoint(durableSeq).then(
      () => {
        this.checkpointedSeq = durableSeq;
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
