/**
 * The write-ahead log of one warehouse: append-only segment files of framed records in `dir`.
 * Opening it scans every segment still needed, hands each record after a given sequence number to
 * the caller (recovery replays them), cuts a torn tail off the last segment (reporting what it cut:
 * a write cut short, or one a power cut left with a hole, which no durable mark says was synced)
 * and reports corruption anywhere else, overlapping segments included, as a `WalCorruptionError`
 * instead of guessing; what it opens is synced before anything counts it durable. Every returned
 * sync is named by a durable mark saying how far it reached (`wal-format.ts`): at the start of the
 * next write, or written alone when the log is idle. Reading while the
 * log is written is `wal-reader.ts`. A batch is appended
 * with one write; `sync` then fdatasyncs everything written so far off the event loop, so the
 * runtime can apply the next batches meanwhile. New segments and deletions are made durable with
 * a directory fsync.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decode, type StampedCommand } from '../engine/index.ts';
import {
  completeFramesFrom,
  decodeSegmentHeader,
  encodeFrames,
  encodeSegmentHeader,
  FRAME_SEARCH_BYTES_MAX,
  SEGMENT_HEADER_BYTES,
  scanSegment,
} from './wal-format.ts';

/** Roll to a new segment once the current one would pass this size. */
export const SEGMENT_BYTES_MAX = 64 * 1024 * 1024;

const SEGMENT_PATTERN = /^wal-(\d{16})\.log$/;

export class WalCorruptionError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`WAL corrupt in ${file} at byte ${offset}: ${detail}`);
    this.name = 'WalCorruptionError';
  }
}

export interface Segment {
  firstSeq: number;
  file: string;
}

export interface WalOpenOptions {
  /** Records with seq <= afterSeq are already in the snapshot: they are checked, not handed out. */
  afterSeq: number;
  onRecord?: (record: StampedCommand) => void;
  segmentBytesMax?: number;
}

export interface WalOpenReport {
  /** Records handed to onRecord. */
  replayed: number;
  lastSeq: number;
  /** Bytes cut off a torn tail, if any. */
  truncatedBytes: number;
  /**
   * Frames in the cut tail that were complete in length but failed their checksum. A crash in the
   * middle of a write usually leaves 0 (a frame cut short, or zeros), and nothing cut was
   * acknowledged. More means a write reached the disk with holes, or bytes changed after they were
   * written, which can take acknowledged records with them: the count makes that cut visible.
   */
  truncatedRecords: number;
  /**
   * Valid records cut because they followed the damage: the pages of a write that reached the disk
   * before a power cut while earlier pages of it did not. None of them was acknowledged: every
   * later write carries a durable mark, and none said the damaged bytes had been synced.
   */
  truncatedAfterHole: number;
  segments: number;
}

/** The path of the segment whose first record is `firstSeq`. */
export function segmentFile(dir: string, firstSeq: number): string {
  return path.join(dir, `wal-${String(firstSeq).padStart(16, '0')}.log`);
}

/** fsyncs a directory (its entries: files made, renamed, deleted), or a file. */
export function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * How many of `segments` (oldest first) a snapshot through `afterSeq` covers wholly: recovery does
 * not read them (they stay for older snapshots). The last one is always read.
 */
export function segmentsCoveredBy(segments: readonly Segment[], afterSeq: number): number {
  let skip = 0;
  while (skip + 1 < segments.length && (segments[skip + 1] as Segment).firstSeq <= afterSeq + 1) skip++;
  return skip;
}

/** The segments in a directory, oldest first. */
export function listSegments(dir: string): Segment[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => SEGMENT_PATTERN.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ firstSeq: Number(m[1]), file: path.join(dir, m[0]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

export class Wal {
  private fd: number;
  private size: number;
  /** Bytes of the active segment a returned fdatasync covers. */
  private syncedSize: number;
  /** The offset the active segment's newest durable mark names. */
  private markedSize = SEGMENT_HEADER_BYTES;
  private syncing = false;
  /** Set by `close()` during a sync: the sync's callback closes the fd. */
  private closeAfterSync = false;
  private closed = false;
  /** A durable mark that could not be written after a returned sync: the next append throws it. */
  private broken: Error | undefined;
  private active: Segment;
  private constructor(
    readonly dir: string,
    private segments: Segment[],
    private nextSeq: number,
    private readonly segmentBytesMax: number,
  ) {
    this.active = segments[segments.length - 1] as Segment;
    this.fd = fs.openSync(this.active.file, 'a');
    this.size = fs.fstatSync(this.fd).size;
    // A process crash leaves records written but not yet synced in the page cache, where recovery
    // reads them: make them durable before they count as such (replies, events, reads follow them).
    fs.fdatasyncSync(this.fd);
    this.syncedSize = this.size;
  }

  /** Opens (or creates) the WAL in `dir`, replaying records after `afterSeq` through `onRecord`. */
  static open(dir: string, options: WalOpenOptions): { wal: Wal; report: WalOpenReport } {
    fs.mkdirSync(dir, { recursive: true });
    const report: WalOpenReport = {
      replayed: 0,
      lastSeq: options.afterSeq,
      truncatedBytes: 0,
      truncatedRecords: 0,
      truncatedAfterHole: 0,
      segments: 0,
    };
    // Segments wholly covered by the snapshot are skipped, not deleted: older snapshots kept as
    // fallbacks still need them. `dropThrough` deletes them once no kept snapshot does.
    const all = listSegments(dir);
    const skip = segmentsCoveredBy(all, options.afterSeq);
    let segments = all.slice(skip);
    const first = segments[0];
    if (first !== undefined && first.firstSeq > options.afterSeq + 1) {
      throw new WalCorruptionError(first.file, 0, `records ${options.afterSeq + 1}..${first.firstSeq - 1} are missing`);
    }
    // The seq of the last intact record in the segments (-1 when there are none).
    let walEndSeq = -1;
    segments.forEach((segment, i) => {
      if (i > 0 && segment.firstSeq <= walEndSeq) {
        // Two segments claim the same records: which copy is the log is a guess, so do not replay.
        const detail = `segment starts at seq ${segment.firstSeq}, but the one before it holds records through ${walEndSeq}`;
        throw new WalCorruptionError(segment.file, 0, detail);
      }
      walEndSeq = replaySegment(segment, i === segments.length - 1, options, report);
      report.lastSeq = Math.max(report.lastSeq, walEndSeq);
    });
    if (walEndSeq < options.afterSeq) {
      // No segment, or the log ends before the snapshot (a cut or lost tail the snapshot covers).
      // Records are numbered by position, so appending to the last segment would number new records
      // wrongly and a later recovery would skip them: start a new segment just after the snapshot.
      segments = [...segments, createSegment(dir, options.afterSeq + 1)];
    }
    report.segments = segments.length;
    const wal = new Wal(
      dir,
      [...all.slice(0, skip), ...segments],
      report.lastSeq + 1,
      options.segmentBytesMax ?? SEGMENT_BYTES_MAX,
    );
    return { wal, report };
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Writes stamped commands, numbered without gaps from the next sequence number, with one write.
   * They are durable only after the next `sync`. Throws if the write fails.
   */
  append(records: readonly StampedCommand[]): void {
    if (this.broken !== undefined) throw this.broken;
    if (this.closed || this.closeAfterSync) throw new Error('WAL closed');
    if (records.length === 0) return;
    const firstSeq = (records[0] as StampedCommand).seq;
    const lastSeq = (records[records.length - 1] as StampedCommand).seq;
    if (firstSeq !== this.nextSeq || lastSeq !== firstSeq + records.length - 1) {
      throw new Error(
        `WAL expected seqs from ${this.nextSeq}, got ${firstSeq}..${lastSeq} in ${records.length} records`,
      );
    }
    // A returned sync not yet named by a durable mark is named at the start of this write.
    let mark = this.syncedSize > this.markedSize ? this.syncedSize : undefined;
    let bytes = encodeFrames(records, mark);
    // Never roll under an fdatasync in flight on the current file: it would be closed beneath it.
    if (this.size + bytes.length > this.segmentBytesMax && this.size > SEGMENT_HEADER_BYTES && !this.syncing) {
      this.roll(firstSeq);
      mark = undefined; // the new segment's header is all it holds, synced
      bytes = encodeFrames(records);
    }
    this.write(bytes);
    this.nextSeq += records.length;
    if (mark !== undefined) this.markedSize = mark;
  }

  /**
   * fdatasyncs everything written so far, off the event loop; calls back when it is durable. When
   * nothing was written meanwhile, a durable mark naming the sync follows at once (no write would
   * carry it soon), so a returned sync is named on disk unless a crash comes within a write or two.
   */
  sync(done: (error?: Error) => void): void {
    if (this.syncing) throw new Error('WAL sync already in flight');
    // A closed fd's number may belong to another file by now: its fdatasync would answer for that one.
    if (this.closed || this.closeAfterSync) throw new Error('WAL closed');
    this.syncing = true;
    const size = this.size;
    fs.fdatasync(this.fd, (error) => {
      this.syncing = false;
      if (error === null) {
        this.syncedSize = Math.max(this.syncedSize, size);
        try {
          if (this.size === size) this.markSynced();
        } catch (markError) {
          // The sync returned: what it covers is durable, and its replies are true. The log cannot
          // be written on, so the next append fails the warehouse with this error.
          this.broken ??= markError as Error;
        }
      }
      if (this.closeAfterSync) this.closeNow();
      done(error ?? undefined);
    });
  }

  /** Writes and fdatasyncs at once (tools, tests, benchmarks set-up), then marks. Throws if not durable. */
  appendDurable(records: readonly StampedCommand[]): void {
    this.append(records);
    fs.fdatasyncSync(this.fd);
    this.syncedSize = this.size;
    this.markSynced();
  }

  /** Writes a durable mark alone, naming the last returned sync, unless one names it already. */
  private markSynced(): void {
    if (this.syncedSize <= this.markedSize) return;
    const mark = this.syncedSize;
    this.write(encodeFrames([], mark));
    this.markedSize = mark;
  }

  private write(bytes: Uint8Array): void {
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written, bytes.length - written);
    this.size += bytes.length;
  }

  private roll(firstSeq: number): void {
    fs.fdatasyncSync(this.fd);
    fs.closeSync(this.fd);
    this.active = createSegment(this.dir, firstSeq);
    this.segments.push(this.active);
    this.fd = fs.openSync(this.active.file, 'a');
    this.size = fs.fstatSync(this.fd).size;
    this.syncedSize = this.size;
    this.markedSize = this.size;
  }

  /** Deletes segments whose every record is at or below `seq` (covered by a durable snapshot). */
  dropThrough(seq: number): number {
    let dropped = 0;
    while (this.segments.length > 1 && (this.segments[1] as Segment).firstSeq <= seq + 1) {
      fs.rmSync((this.segments[0] as Segment).file);
      this.segments.shift();
      dropped++;
    }
    if (dropped > 0) fsyncPath(this.dir);
    return dropped;
  }

  /** Total bytes of the segments on disk. */
  bytesOnDisk(): number {
    return this.segments.reduce((sum, s) => sum + (fs.existsSync(s.file) ? fs.statSync(s.file).size : 0), 0);
  }

  /** Closes the segment; while a sync is in flight, once it returns (its fd must stay this file's). */
  close(): void {
    if (this.syncing) this.closeAfterSync = true;
    else this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

function createSegment(dir: string, firstSeq: number): Segment {
  const file = segmentFile(dir, firstSeq);
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeSync(fd, encodeSegmentHeader(firstSeq));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncPath(dir);
  return { firstSeq, file };
}

/** Checks one segment, replays its records after `afterSeq`, cuts a torn tail. Returns the seq of its last record. */
function replaySegment(segment: Segment, last: boolean, options: WalOpenOptions, report: WalOpenReport): number {
  const bytes = fs.readFileSync(segment.file);
  const header = decodeSegmentHeader(bytes);
  if (header === undefined || header.firstSeq !== segment.firstSeq) {
    if (last && bytes.length < SEGMENT_HEADER_BYTES && report.lastSeq + 1 === segment.firstSeq) {
      // A crash while creating the segment: rewrite its header.
      fs.writeFileSync(segment.file, encodeSegmentHeader(segment.firstSeq));
      return segment.firstSeq - 1;
    }
    throw new WalCorruptionError(segment.file, 0, 'bad segment header');
  }
  if (segment.firstSeq > report.lastSeq + 1) {
    throw new WalCorruptionError(segment.file, 0, `gap before seq ${segment.firstSeq}`);
  }
  const scan = scanSegment(bytes);
  if (scan.damage !== undefined) {
    const { offset, nextValidFrame, searchExhausted, syncedThroughAfter, recordsAfter } = scan.damage;
    if (!last) {
      throw new WalCorruptionError(segment.file, offset, 'damaged record followed by more log (not the last segment)');
    }
    if (searchExhausted) {
      const detail = `damaged record followed by ${bytes.length - offset} bytes that ${FRAME_SEARCH_BYTES_MAX} bytes of checksums could not tell from a torn tail`;
      throw new WalCorruptionError(segment.file, offset, detail);
    }
    if (syncedThroughAfter !== undefined && syncedThroughAfter > offset) {
      // A later write says the damaged bytes had been synced: acknowledged records may sit there.
      const detail = `damaged record followed by more log (valid record at byte ${nextValidFrame}; a later write says the log was synced through byte ${syncedThroughAfter})`;
      throw new WalCorruptionError(segment.file, offset, detail);
    }
    // A torn tail: a write cut short, or, after a power cut, a write whose pages reached the disk
    // with holes. Valid records after the damage were written after it and no durable mark says the
    // damage was ever synced, so no sync that would have acknowledged them returned.
    report.truncatedBytes = bytes.length - offset;
    report.truncatedRecords = completeFramesFrom(bytes, offset);
    report.truncatedAfterHole = recordsAfter;
    const fd = fs.openSync(segment.file, 'r+');
    try {
      fs.ftruncateSync(fd, offset);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  let seq = segment.firstSeq - 1;
  for (const frame of scan.frames) {
    seq++;
    if (seq <= options.afterSeq) continue;
    const record = decode(bytes.subarray(frame.bodyStart, frame.bodyEnd)) as StampedCommand;
    if (record.seq !== seq)
      throw new WalCorruptionError(segment.file, frame.offset, `seq ${record.seq}, expected ${seq}`);
    options.onRecord?.(record);
    report.replayed++;
  }
  return seq;
}

/** Counts the intact records after `afterSeq` without decoding them or changing any file. */
export function countRecordsAfter(dir: string, afterSeq: number): number {
  let count = 0;
  for (const segment of listSegments(dir)) {
    const frames = scanSegment(fs.readFileSync(segment.file)).frames.length;
    const lastSeq = segment.firstSeq + frames - 1;
    count += Math.max(0, lastSeq - Math.max(afterSeq, segment.firstSeq - 1));
  }
  return count;
}
