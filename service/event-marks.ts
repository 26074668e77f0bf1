/**
 * The acknowledged mark of each warehouse a region hosts: the command seq through which the events
 * stream acknowledged every event of the warehouse. It is kept in a small file in the warehouse's
 * directory with the region's and the warehouse's names, rewritten a few times a second while it
 * moves and once more at a stop, so a recovery publishes again the replayed events past it
 * (`event-replay.ts`). The file is replaced by a
 * rename and never synced: after a power loss it may be older than it was, or unreadable, and either
 * only makes the next start publish more copies, never fewer events. Owns the file's format and the
 * writing timer; what the mark is comes from the publisher (`EventPublisher.ackedThrough`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { decode, encode } from '../engine/index.ts';

/** The mark's file name inside a warehouse directory. */
export const ACKED_MARK_FILE = 'events-acked';
/** How often moved marks are written (ms): what a crash may publish again beyond what it lost. */
export const ACKED_MARK_WRITE_MS = 200;

interface AckedMarkFile {
  region: string;
  warehouseId: string;
  ackedThrough: number;
}

/**
 * The mark a warehouse directory holds, or undefined when there is none, it cannot be read, or it
 * is another region's or warehouse's (the next start then publishes every replayed event again).
 */
export function readAckedMark(dir: string, region: string, warehouseId: string): number | undefined {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path.join(dir, ACKED_MARK_FILE));
  } catch {
    return undefined;
  }
  try {
    const file = decode(bytes) as Partial<AckedMarkFile> | null;
    if (file === null || typeof file !== 'object' || file.region !== region || file.warehouseId !== warehouseId) {
      return undefined;
    }
    const seq = file.ackedThrough;
    return Number.isSafeInteger(seq) && (seq as number) >= 0 ? (seq as number) : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces a warehouse directory's mark (written aside, then renamed over the old one). */
export function writeAckedMark(dir: string, region: string, warehouseId: string, ackedThrough: number): void {
  const file = path.join(dir, ACKED_MARK_FILE);
  const aside = `${file}.next`;
  fs.writeFileSync(aside, encode({ region, warehouseId, ackedThrough } satisfies AckedMarkFile));
  fs.renameSync(aside, file);
}

/**
 * Removes a mark that does not belong to the log beside it (its data started over, or was cut back)
 * for good, before the warehouse commits anything: once that log passed the mark's seq, the mark
 * would claim its events. Synced, unlike the writes.
 */
export function discardAckedMark(dir: string): void {
  fs.rmSync(path.join(dir, ACKED_MARK_FILE), { force: true });
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

interface Tracked {
  dir: string;
  written: number | undefined;
}

/**
 * Writes the marks of the tracked warehouses whenever they moved, every ACKED_MARK_WRITE_MS and at
 * `stop()`. A failed write (a full disk) is logged once per warehouse and tried again next time:
 * the old mark stays, which is only older.
 */
export class AckedMarkWriter {
  private readonly tracked = new Map<string, Tracked>();
  private readonly failing = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly region: string,
    private readonly ackedThrough: (warehouseId: string) => number,
    private readonly logger: Logger,
    intervalMs = ACKED_MARK_WRITE_MS,
  ) {
    this.timer = setInterval(() => this.write(), intervalMs);
    this.timer.unref();
  }

  /** Follows a warehouse whose directory holds `written` (undefined: no mark yet). */
  track(warehouseId: string, dir: string, written: number | undefined): void {
    this.tracked.set(warehouseId, { dir, written });
  }

  /** Stops following a warehouse (it failed: its mark stays as it was). */
  untrack(warehouseId: string): void {
    this.tracked.delete(warehouseId);
  }

  /** Writes every mark that moved since it was last written. */
  write(): void {
    for (const [warehouseId, t] of this.tracked) {
      const mark = this.ackedThrough(warehouseId);
      if (!Number.isFinite(mark) || mark === t.written) continue;
      try {
        writeAckedMark(t.dir, this.region, warehouseId, mark);
        t.written = mark;
        this.failing.delete(warehouseId);
      } catch (error) {
        if (this.failing.has(warehouseId)) continue;
        this.failing.add(warehouseId);
        this.logger.warn(
          { warehouseId, err: error },
          'acknowledged mark not written: a crash would publish more events again',
        );
      }
    }
  }

  /** Writes the last marks and stops the timer. */
  stop(): void {
    clearInterval(this.timer);
    this.write();
    this.tracked.clear();
  }
}
