/**
 * The byte format of WAL segments. A segment starts with a 16-byte header (8-byte magic, then the
 * sequence number of its first record as a big-endian u64). Records follow as frames:
 *
 *   u32 LE body length | u32 LE CRC-32 of body | body (msgpack of a StampedCommand)
 *
 * Between them sit durable marks: frames whose body is the msgpack uint64 (0xcf and 8 bytes,
 * big-endian) of a byte offset through which the segment had been synced when the mark was
 * written. Marks let recovery tell a power cut's hole in unsynced bytes from damage to synced ones.
 *
 * Records are numbered without gaps, so the n-th record frame of a segment holds `firstSeq + n` and a
 * reader knows each sequence number without decoding the body. Pure functions over bytes.
 */
import { crc32 } from 'node:zlib';
import { encodeShared, type StampedCommand } from '../engine/index.ts';

export const SEGMENT_MAGIC = Buffer.from('DSWAL\0\0\x01', 'latin1');
export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 8;
/** Largest record body a frame may carry: a batch's single command is far below this. */
export const RECORD_BYTES_MAX = 1024 * 1024;
/** A durable mark's body: msgpack's uint64 marker, then the offset. */
const MARK_BODY_BYTES = 9;
const MSGPACK_UINT64 = 0xcf;

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
 * Encodes stamped commands and frames them into one buffer, ready for a single write, after a durable
 * mark when `syncedThrough` is given. Each record is encoded into the codec's shared buffer and
 * copied once into the frame buffer.
 */
export function encodeFrames(records: readonly StampedCommand[], syncedThrough?: number): Buffer {
  let out = Buffer.allocUnsafe(Math.max(4096, records.length * 160));
  let offset = 0;
  if (syncedThrough !== undefined) {
    const body = out.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + MARK_BODY_BYTES);
    body[0] = MSGPACK_UINT64;
    body.writeBigUInt64BE(BigInt(syncedThrough), 1);
    out.writeUInt32LE(MARK_BODY_BYTES, 0);
    out.writeUInt32LE(crc32(body), 4);
    offset = FRAME_HEADER_BYTES + MARK_BODY_BYTES;
  }
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

/** A frame that checks out: where its body lies in the segment; `syncedThrough` for a durable mark. */
export interface Frame {
  offset: number;
  bodyStart: number;
  bodyEnd: number;
  syncedThrough?: number;
}

/** Whether a body of `length` bytes at `bodyStart` is shaped like a durable mark's. */
function isMarkBody(bytes: Buffer, bodyStart: number, length: number): boolean {
  return length === MARK_BODY_BYTES && bytes[bodyStart] === MSGPACK_UINT64;
}

/**
 * Reads the frame at `offset`, or undefined if it is incomplete, empty or fails its checksum. A
 * durable mark comes back with its `syncedThrough`.
 */
export function readFrame(bytes: Buffer, offset: number): Frame | undefined {
  if (offset + FRAME_HEADER_BYTES > bytes.length) return undefined;
  const length = bytes.readUInt32LE(offset);
  if (length === 0 || length > RECORD_BYTES_MAX) return undefined;
  const bodyStart = offset + FRAME_HEADER_BYTES;
  const bodyEnd = bodyStart + length;
  if (bodyEnd > bytes.length) return undefined;
  if (crc32(bytes.subarray(bodyStart, bodyEnd)) !== bytes.readUInt32LE(offset + 4)) return undefined;
  if (!isMarkBody(bytes, bodyStart, length)) return { offset, bodyStart, bodyEnd };
  return { offset, bodyStart, bodyEnd, syncedThrough: Number(bytes.readBigUInt64BE(bodyStart + 1)) };
}

/**
 * Most bytes `validFrameAfter` checksums while it looks for a valid frame past damage; each try
 * counts at least FRAME_SEARCH_TRY_BYTES_MIN, so a flood of tiny tries is bounded too. CRC-32 runs
 * at gigabytes a second, so the whole budget costs tens of milliseconds. A real torn tail (part of
 * one batch, then zeros) uses a tiny fraction of it.
 */
export const FRAME_SEARCH_BYTES_MAX = 256 * 1024 * 1024;
const FRAME_SEARCH_TRY_BYTES_MIN = 1024;

/** Where the first key of a msgpack map starts, from its first byte; undefined for anything else. */
function firstKeyOffset(head: number): number | undefined {
  if (head >= 0x81 && head <= 0x8f) return 1; // fixmap with 1 … 15 entries
  if (head === 0xde) return 3; // map 16
  if (head === 0xdf) return 5; // map 32
  return undefined;
}

/**
 * Whether a body could be a frame's at all, from its first bytes alone: a durable mark, or a record:
 * a msgpack map (a StampedCommand) whose first key is a string. An O(1) filter before a checksum,
 * never a substitute for one.
 */
function looksLikeFrameBody(bytes: Buffer, bodyStart: number, length: number): boolean {
  if (isMarkBody(bytes, bodyStart, length)) return true;
  const keyOffset = firstKeyOffset(bytes[bodyStart] ?? 0);
  if (keyOffset === undefined || keyOffset >= length) return false;
  const key = bytes[bodyStart + keyOffset] ?? 0;
  return (key >= 0xa0 && key <= 0xbf) || key === 0xd9 || key === 0xda || key === 0xdb; // fixstr, str 8/16/32
}

/** What `validFrameAfter` found. */
export interface FrameSearch {
  /** Where the first valid frame after the damage starts. */
  found?: number;
  /** The budget ran out first: whether a valid frame follows is unknown. */
  exhausted: boolean;
}

/** Bytes a search past damage may still checksum; one budget serves every search of a segment. */
export interface SearchBudget {
  bytes: number;
}

/**
 * Looks for a valid frame starting anywhere after `offset`: tells mid-log corruption from a torn
 * tail. Every offset gets O(1) checks (a length that fits, a body that starts like a frame's); only
 * the few that pass are checksummed, within the budget (FRAME_SEARCH_BYTES_MAX by default), so a
 * large damaged segment costs one pass over its bytes rather than a checksum per byte.
 */
export function validFrameAfter(
  bytes: Buffer,
  offset: number,
  budget: SearchBudget = { bytes: FRAME_SEARCH_BYTES_MAX },
): FrameSearch {
  for (let at = offset + 1; at + FRAME_HEADER_BYTES < bytes.length; at++) {
    // Most offsets fail on the top bytes of the length alone: RECORD_BYTES_MAX is below 2^24.
    if (bytes[at + 3] !== 0) continue;
    const length = (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16);
    const bodyStart = at + FRAME_HEADER_BYTES;
    if (length === 0 || length > RECORD_BYTES_MAX || bodyStart + length > bytes.length) continue;
    if (!looksLikeFrameBody(bytes, bodyStart, length)) continue;
    budget.bytes -= Math.max(length, FRAME_SEARCH_TRY_BYTES_MIN);
    if (budget.bytes < 0) return { exhausted: true };
    if (crc32(bytes.subarray(bodyStart, bodyStart + length)) === bytes.readUInt32LE(at + 4)) {
      return { found: at, exhausted: false };
    }
  }
  return { exhausted: false };
}

/**
 * Counts the frames of a damaged tail that are complete in length (header and whole body inside the
 * file) although they failed their checksum, following their length fields from `offset`. A frame
 * cut short, zeros, or garbage whose length does not fit count as none.
 */
export function completeFramesFrom(bytes: Buffer, offset: number): number {
  let count = 0;
  let at = offset;
  while (at + FRAME_HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    if (length === 0 || length > RECORD_BYTES_MAX || at + FRAME_HEADER_BYTES + length > bytes.length) break;
    if (readFrame(bytes, at) === undefined) count++; // valid frames after the damage are counted apart
    at += FRAME_HEADER_BYTES + length;
  }
  return count;
}

/** What lies past the first damage of a segment. */
export interface Damage {
  /** Where the damage starts (the end of the valid frames before it). */
  offset: number;
  /** Where the first valid frame after it starts, if there is one. */
  nextValidFrame?: number;
  /** Valid record frames after it. */
  recordsAfter: number;
  /**
   * The highest offset a valid durable mark after it says the segment was synced through: past the
   * damage's offset, the damaged bytes had been synced (damage to the log, not a hole a power cut
   * left in a write that never finished syncing).
   */
  syncedThroughAfter?: number;
  /** The search ran out of budget: what follows is unknown. */
  searchExhausted: boolean;
}

/** The outcome of scanning one segment's bytes. */
export interface SegmentScan {
  /** The valid record frames before any damage (durable marks left out). */
  frames: Frame[];
  /** Where the valid frames end. */
  validEnd: number;
  /** Set when the bytes after `validEnd` are not a clean end of file. */
  damage?: Damage;
}

/** Walks the frames of a segment from just after its header. */
export function scanSegment(bytes: Buffer): SegmentScan {
  const frames: Frame[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < bytes.length) {
    const frame = readFrame(bytes, offset);
    if (frame === undefined) return { frames, validEnd: offset, damage: pastDamage(bytes, offset) };
    if (frame.syncedThrough === undefined) frames.push(frame);
    offset = frame.bodyEnd;
  }
  return { frames, validEnd: offset };
}

/**
 * Reads everything valid after damage at `offset`: runs of frames, each found by a search past the
 * bytes that fail, all within one FRAME_SEARCH_BYTES_MAX budget.
 */
function pastDamage(bytes: Buffer, offset: number): Damage {
  const damage: Damage = { offset, recordsAfter: 0, searchExhausted: false };
  const budget: SearchBudget = { bytes: FRAME_SEARCH_BYTES_MAX };
  let at = offset;
  while (at < bytes.length) {
    const search = validFrameAfter(bytes, at, budget);
    if (search.exhausted) {
      damage.searchExhausted = true;
      return damage;
    }
    if (search.found === undefined) return damage;
    damage.nextValidFrame ??= search.found;
    at = search.found;
    for (let frame = readFrame(bytes, at); frame !== undefined; frame = readFrame(bytes, at)) {
      if (frame.syncedThrough === undefined) damage.recordsAfter++;
      else damage.syncedThroughAfter = Math.max(damage.syncedThroughAfter ?? 0, frame.syncedThrough);
      at = frame.bodyEnd;
    }
  }
  return damage;
}
