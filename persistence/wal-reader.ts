/**
 * Reading durable WAL records while the writer appends, without changing any file. A `WalReader`
 * keeps a cursor (segment, byte offset, next seq) after each read, so the snapshot writer's catch-up
 * on every checkpoint reads only the bytes appended since the last one instead of whole segments
 * from their start. It re-lists the segments when the current one is exhausted (the writer rolled)
 * and falls back to a scan from a segment's start when its cursor no longer fits (another position
 * asked for, or its segment dropped after a snapshot covered it). Missing, damaged, overlapping or
 * misnumbered records throw a WalCorruptionError naming the file.
 */
import * as fs from 'node:fs';
import { decode, type StampedCommand } from '../engine/index.ts';
import { listSegments, type Segment, segmentFile, WalCorruptionError } from './wal.ts';
import { decodeSegmentHeader, readFrame, SEGMENT_HEADER_BYTES } from './wal-format.ts';

/** Where a reader stands: the next frame to read and the record it holds. */
export interface WalCursor {
  /** First seq of the segment the cursor is in (the segment's name). */
  segmentFirstSeq: number;
  /** Byte offset of the next frame in that segment. */
  offset: number;
  /** Seq of the record in that frame. */
  nextSeq: number;
}

/**
 * The bytes of `file` from `from` to its current end (a segment is at most SEGMENT_BYTES_MAX plus
 * one batch), or undefined when the file is gone or shorter than `from` (it was dropped or cut).
 */
function readFrom(file: string, from: number): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < from) return undefined;
    const bytes = Buffer.allocUnsafe(size - from);
    let read = 0;
    while (read < bytes.length) {
      const n = fs.readSync(fd, bytes, read, bytes.length - read, from + read);
      if (n === 0) break;
      read += n;
    }
    return bytes.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

export class WalReader {
  private position: WalCursor | undefined;

  constructor(readonly dir: string) {}

  /** Where the last read stopped; undefined before the first. */
  get cursor(): WalCursor | undefined {
    return this.position === undefined ? undefined : { ...this.position };
  }

  /**
   * Hands the records `afterSeq + 1 … throughSeq` to `onRecord` in order and returns `throughSeq`.
   * Continues from the cursor when it stands at `afterSeq + 1`, else scans from the start of the
   * segment holding that record. Bytes past `throughSeq` are read but never interpreted: the writer
   * may be appending them. Throws WalCorruptionError if an asked-for record is missing or damaged.
   */
  read(afterSeq: number, throughSeq: number, onRecord: (record: StampedCommand) => void): number {
    if (throughSeq <= afterSeq) return afterSeq;
    const fromSeq = afterSeq + 1;
    let cursor = this.position?.nextSeq === fromSeq ? this.position : this.locate(fromSeq);
    while (cursor.nextSeq <= throughSeq) {
      const file = segmentFile(this.dir, cursor.segmentFirstSeq);
      // From the start, read the header too, to check it.
      const base = cursor.offset === SEGMENT_HEADER_BYTES ? 0 : cursor.offset;
      const bytes = readFrom(file, base);
      if (bytes === undefined) {
        // The segment was dropped (a durable snapshot covers it) or cut: find the record again.
        cursor = this.locate(cursor.nextSeq);
        continue;
      }
      if (base === 0) checkHeader(file, bytes, cursor.segmentFirstSeq);
      cursor = this.readFrames(file, bytes, base, cursor, fromSeq, throughSeq, onRecord);
      if (cursor.nextSeq <= throughSeq) cursor = this.nextSegment(cursor, throughSeq);
    }
    return throughSeq;
  }

  /** Reads the frames of one segment's bytes from the cursor up to `throughSeq`, moving the cursor. */
  private readFrames(
    file: string,
    bytes: Buffer,
    base: number,
    from: WalCursor,
    fromSeq: number,
    throughSeq: number,
    onRecord: (record: StampedCommand) => void,
  ): WalCursor {
    let offset = from.offset - base;
    let seq = from.nextSeq;
    try {
      while (seq <= throughSeq) {
        const frame = readFrame(bytes, offset);
        if (frame === undefined) break;
        if (frame.syncedThrough !== undefined) {
          offset = frame.bodyEnd; // a durable mark, not a record
          continue;
        }
        if (seq >= fromSeq) {
          const record = decode(bytes.subarray(frame.bodyStart, frame.bodyEnd)) as StampedCommand;
          if (record.seq !== seq)
            throw new WalCorruptionError(file, base + offset, `seq ${record.seq}, expected ${seq}`);
          onRecord(record);
        }
        seq++;
        offset = frame.bodyEnd;
      }
    } finally {
      // Set even when onRecord throws: the cursor stands after the last record handed out.
      this.position = { segmentFirstSeq: from.segmentFirstSeq, offset: base + offset, nextSeq: seq };
    }
    return this.position;
  }

  /** The segment after the cursor's, which must start exactly at the cursor's next seq. */
  private nextSegment(cursor: WalCursor, throughSeq: number): WalCursor {
    const next = listSegments(this.dir).find((s) => s.firstSeq > cursor.segmentFirstSeq);
    if (next === undefined) {
      throw new WalCorruptionError(this.dir, 0, `records ${cursor.nextSeq}..${throughSeq} are missing`);
    }
    if (next.firstSeq < cursor.nextSeq) {
      const detail = `segment starts at seq ${next.firstSeq}, but the one before it holds records through ${cursor.nextSeq - 1}`;
      throw new WalCorruptionError(next.file, 0, detail);
    }
    if (next.firstSeq > cursor.nextSeq) {
      throw new WalCorruptionError(next.file, 0, `records from ${cursor.nextSeq} are missing`);
    }
    return { segmentFirstSeq: next.firstSeq, offset: SEGMENT_HEADER_BYTES, nextSeq: next.firstSeq };
  }

  /** A cursor at the start of the newest segment that can hold `seq` (a full scan follows). */
  private locate(seq: number): WalCursor {
    const segments = listSegments(this.dir);
    let holder: Segment | undefined;
    for (const segment of segments) if (segment.firstSeq <= seq) holder = segment;
    if (holder === undefined) {
      const first = segments[0];
      if (first === undefined) throw new WalCorruptionError(this.dir, 0, `records from ${seq} are missing`);
      throw new WalCorruptionError(first.file, 0, `records from ${seq} are missing`);
    }
    return { segmentFirstSeq: holder.firstSeq, offset: SEGMENT_HEADER_BYTES, nextSeq: holder.firstSeq };
  }
}

function checkHeader(file: string, bytes: Buffer, firstSeq: number): void {
  if (decodeSegmentHeader(bytes)?.firstSeq !== firstSeq) throw new WalCorruptionError(file, 0, 'bad segment header');
}

/**
 * Reads the records `afterSeq + 1 … throughSeq` from the segments in `dir` without changing them:
 * a one-off `WalReader` (scanning from the start of the segment holding `afterSeq + 1`). Safe while
 * the writer appends. Throws WalCorruptionError if any asked-for record is missing or damaged.
 */
export function readWalRange(
  dir: string,
  afterSeq: number,
  throughSeq: number,
  onRecord: (record: StampedCommand) => void,
): number {
  return new WalReader(dir).read(afterSeq, throughSeq, onRecord);
}
