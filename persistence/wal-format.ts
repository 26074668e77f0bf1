/**
 * The byte format of WAL segments. A segment starts with a 16-byte header (8-byte magic, then the
 * sequence number of its first record as a big-endian u64). Records follow as frames:
 *
 *   u32 LE body length | u32 LE CRC-32 of body | body (msgpack of a StampedCommand)
 *
 * Records are numbered without gaps, so the n-th frame of a segment holds `firstSeq + n` and a
 * reader knows each sequence number without decoding the body. Pure functions over bytes.
 */
import { crc32 } from 'node:zlib';
import { encodeShared, type StampedCommand } from '../engine/index.ts';

export const SEGMENT_MAGIC = Buffer.from('DSWAL\0\0\x01', 'latin1');
export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 8;
/** Largest record body a frame may carry: a batch's single command is far below this. */
export const RECORD_BYTES_MAX = 1024 * 1024;

export function encodeSegmentHeader(firstSeq: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeBigUInt64BE(BigInt(firstSeq), 8);
  return header;
}

/** Reads a segment header; undefined when the magic does not match or the file is too short. */
export function decodeSegmentHeader(bytes: Buffer): { firstSeq: number } | undefined {
  if (bytes.length < SEGMENT_HEADER_BYTES || !bytes.subarray(0, 8).equals(SEGMENT_MAGIC)) return undefined;
  return { firstSeq: Number(bytes.readBigUInt64BE(8)) };
}

/**
 * Encodes stamped commands and frames them into one buffer, ready for a single write. Each record
 * is encoded into the codec's shared buffer and copied once into the frame buffer.
 */
export function encodeFrames(records: readonly StampedCommand[]): Buffer {
  let out = Buffer.allocUnsafe(Math.max(4096, records.length * 160));
  let offset = 0;
  for (const record of records) {
    const body = encodeShared(record);
    if (body.byteLength > RECORD_BYTES_MAX) throw new RangeError(`record ${record.seq} is ${body.byteLength} bytes`);
    const end = offset + FRAME_HEADER_BYTES + body.byteLength;
    if (end > out.length) {
      const grown = Buffer.allocUnsafe(Math.max(end, out.length * 2));
      out.copy(grown, 0, 0, offset);
      out = grown;
    }
    out.writeUInt32LE(body.byteLength, offset);
    out.writeUInt32LE(crc32(body), offset + 4);
    out.set(body, offset + FRAME_HEADER_BYTES);
    offset = end;
  }
  return out.subarray(0, offset);
}

/** A frame that checks out: where its body lies in the segment. */
export interface Frame {
  offset: number;
  bodyStart: number;
  bodyEnd: number;
}

/** Reads the frame at `offset`, or undefined if it is incomplete, empty or fails its checksum. */
export function readFrame(bytes: Buffer, offset: number): Frame | undefined {
  if (offset + FRAME_HEADER_BYTES > bytes.length) return undefined;
  const length = bytes.readUInt32LE(offset);
  if (length === 0 || length > RECORD_BYTES_MAX) return undefined;
  const bodyStart = offset + FRAME_HEADER_BYTES;
  const bodyEnd = bodyStart + length;
  if (bodyEnd > bytes.length) return undefined;
  if (crc32(bytes.subarray(bodyStart, bodyEnd)) !== bytes.readUInt32LE(offset + 4)) return undefined;
  return { offset, bodyStart, bodyEnd };
}

/** Whether any valid frame starts anywhere after `offset`: tells mid-log corruption from a torn tail. */
export function validFrameAfter(bytes: Buffer, offset: number): number | undefined {
  for (let at = offset + 1; at + FRAME_HEADER_BYTES < bytes.length; at++) {
    if (readFrame(bytes, at) !== undefined) return at;
  }
  return undefined;
}

/** The outcome of scanning one segment's bytes. */
export interface SegmentScan {
  frames: Frame[];
  /** Where the valid frames end. */
  validEnd: number;
  /** Set when the bytes after `validEnd` are not a clean end of file. */
  damage?: { offset: number; nextValidFrame?: number };
}

/** Walks the frames of a segment from just after its header. */
export function scanSegment(bytes: Buffer): SegmentScan {
  const frames: Frame[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < bytes.length) {
    const frame = readFrame(bytes, offset);
    if (frame === undefined) {
      const nextValidFrame = validFrameAfter(bytes, offset);
      const damage: SegmentScan['damage'] = { offset };
      if (nextValidFrame !== undefined) damage.nextValidFrame = nextValidFrame;
      return { frames, validEnd: offset, damage };
    }
    frames.push(frame);
    offset = frame.bodyEnd;
  }
  return { frames, validEnd: offset };
}
