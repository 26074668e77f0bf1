/**
 * The operator's way out of a `WalCorruptionError` on a damaged record: cut the WAL at its first
 * damaged frame. `planWalCut` says what a cut would take (read only): the bytes from the damage to
 * the end of that segment, every later segment, and how many valid records those hold, which were
 * acknowledged and are lost unless a snapshot covers them. `cutWal` does it, keeping everything it
 * takes in a directory beside the log (nothing is deleted), with the file and directories synced.
 * Damage of another kind (a bad segment header, missing or overlapping segments) is not cut here:
 * the plan says so. Recovery then starts from what is left (and from the snapshot, when it reaches
 * further: the log starts again after it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncPath, listSegments, type Segment, segmentsCoveredBy } from './wal.ts';
import { decodeSegmentHeader, scanSegment } from './wal-format.ts';

export interface WalCutPlan {
  /** The segment with the first damaged frame, and where the damage starts. */
  file: string;
  offset: number;
  /** The last record kept (the one before the damage). */
  keptThroughSeq: number;
  /** Bytes cut from that segment. */
  bytesCut: number;
  /** Valid records in what is cut: after the damage in its segment, and in every later segment. */
  recordsCut: number;
  /** Later segments moved aside whole. */
  segmentsCut: string[];
}

/** Why a WAL cannot be cut here: damage that is not a damaged frame. */
export class WalCutRefused extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'WalCutRefused';
  }
}

/**
 * The cut at the first damaged frame of the WAL in `walDir` that recovery reads, or undefined when
 * none is damaged. `afterSeq` is where the snapshot recovery starts from reaches: segments wholly
 * below it are skipped as `Wal.open` skips them (kept for older snapshots, not read), so damage there
 * does not cut the intact records after the snapshot, and the gap a start after an earlier cut
 * leaves below it (a new segment just after the snapshot) is not refused. Reads only. Throws
 * WalCutRefused on damage a cut at a frame does not repair.
 */
export function planWalCut(walDir: string, afterSeq = 0): WalCutPlan | undefined {
  const all = listSegments(walDir);
  const segments = all.slice(segmentsCoveredBy(all, afterSeq));
  for (const [i, segment] of segments.entries()) {
    const bytes = fs.readFileSync(segment.file);
    if (decodeSegmentHeader(bytes)?.firstSeq !== segment.firstSeq) {
      throw new WalCutRefused(segment.file, 'bad segment header: not a damaged record, repair by hand');
    }
    const next = segments[i + 1];
    const scan = scanSegment(bytes);
    if (next !== undefined && next.firstSeq !== segment.firstSeq + scan.frames.length && scan.damage === undefined) {
      throw new WalCutRefused(next.file, `starts at seq ${next.firstSeq}, not right after the segment before it`);
    }
    if (scan.damage === undefined) continue;
    const later = segments.slice(i + 1);
    return {
      file: segment.file,
      offset: scan.damage.offset,
      keptThroughSeq: segment.firstSeq + scan.frames.length - 1,
      bytesCut: bytes.length - scan.damage.offset,
      recordsCut: scan.damage.recordsAfter + later.reduce((n, s) => n + recordsIn(s), 0),
      segmentsCut: later.map((s) => s.file),
    };
  }
  return undefined;
}

function recordsIn(segment: Segment): number {
  return scanSegment(fs.readFileSync(segment.file)).frames.length;
}

/**
 * Cuts the WAL as `plan` says: the damaged tail is copied to `asideDir` (named after its segment and
 * offset) and cut off, later segments are moved there whole; all synced. Returns the files written
 * to `asideDir`.
 */
export function cutWal(plan: WalCutPlan, asideDir: string): string[] {
  fs.mkdirSync(asideDir, { recursive: true });
  const kept: string[] = [];
  const tail = path.join(asideDir, `${path.basename(plan.file)}.from-${plan.offset}`);
  const bytes = fs.readFileSync(plan.file);
  writeSynced(tail, bytes.subarray(plan.offset));
  kept.push(tail);
  for (const file of plan.segmentsCut) {
    const moved = path.join(asideDir, path.basename(file));
    fs.copyFileSync(file, moved);
    fsyncPath(moved);
    kept.push(moved);
  }
  fsyncPath(asideDir);
  // Only once every cut byte is safe aside: cut the segment, then drop the later ones.
  const fd = fs.openSync(plan.file, 'r+');
  try {
    fs.ftruncateSync(fd, plan.offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  for (const file of plan.segmentsCut) fs.rmSync(file);
  fsyncPath(path.dirname(plan.file));
  return kept;
}

function writeSynced(file: string, bytes: Uint8Array): void {
  const fd = fs.openSync(file, 'wx');
  try {
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
