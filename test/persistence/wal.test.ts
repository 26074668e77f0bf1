/**
 * The write-ahead log on real files: appends survive a reopen and replay in order; segments roll
 * and are dropped only when wholly covered; a torn tail (a cut frame, garbage, zeros, a flipped
 * byte in the last frames, a page a power cut lost from an unsynced write with valid pages after it)
 * is cut on open, reported in bytes, in complete frames that failed their checksum and in valid
 * records past a hole, and the log goes on; damage anywhere else (an earlier frame, a non-last segment, a
 * missing or overlapping segment, damage too large to tell from a torn tail) stops recovery with a
 * WalCorruptionError naming the file and byte, and leaves the files as they were. Opening syncs the
 * last segment before its records count as durable (a crash leaves unsynced ones in the page cache).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StampedCommand } from '../../engine/index.ts';
import {
  listSegments,
  readWalRange,
  recoverWarehouse,
  Wal,
  walFormat,
  warehousePaths,
} from '../../persistence/index.ts';
import { Random } from '../../sim/index.ts';
import { makeTempDir, removeTempDirs } from './helpers.ts';
import {
  append,
  corruption,
  flipByte,
  framesOf,
  range,
  record,
  reopen,
  writeLog,
  writeOverlappingSegments,
  writeSegments,
} from './wal-helpers.ts';

afterEach(removeTempDirs);

describe('append and replay', () => {
  it('replays every appended record in order after a reopen, and only those after afterSeq', () => {
    const { dir } = writeLog(20);
    const all = reopen(dir);
    expect(all.seqs).toEqual(range(1, 20));
    expect(all.report).toMatchObject({ replayed: 20, lastSeq: 20, truncatedBytes: 0, segments: 1 });
    expect(reopen(dir, 12).seqs).toEqual(range(13, 20));
    expect(reopen(dir, 20).seqs).toEqual([]);
  });

  it('carries on numbering after a reopen and refuses an out-of-order batch', () => {
    const { dir } = writeLog(5);
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    expect(wal.lastSeq).toBe(5);
    expect(() => wal.appendDurable([record(7)])).toThrow(/expected seqs from 6/);
    append(wal, 6, 9);
    wal.close();
    expect(reopen(dir).seqs).toEqual(range(1, 9));
  });

  it('hands out the records as they were written', () => {
    const { dir } = writeLog(4);
    const records: StampedCommand[] = [];
    const { wal } = Wal.open(dir, { afterSeq: 0, onRecord: (r) => records.push(r) });
    wal.close();
    expect(records).toEqual(range(1, 4).map(record));
  });
});

describe('closing', () => {
  it('closes after the sync in flight returns, which still covers this log and answers true', async () => {
    const dir = makeTempDir('wal-close-sync');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    wal.append(range(1, 3).map(record));
    // Four slow hashes hold libuv's four threads: the fdatasync waits in the pool's queue.
    const busy = Array.from(
      { length: 4 },
      () => new Promise((resolve) => crypto.pbkdf2('p', 's', 300_000, 32, 'sha256', resolve)),
    );
    const synced = new Promise<Error | undefined>((resolve) => wal.sync(resolve));
    // Closed under the sync, the fd could be reused by another file before the fdatasync runs.
    wal.close();
    // And nothing more is taken meanwhile: a later sync would run on that fd too.
    expect(() => wal.append([record(4)])).toThrow(/closed/);
    expect(() => wal.sync(() => undefined)).toThrow();
    expect(await synced).toBeUndefined();
    await Promise.all(busy);
    expect(reopen(dir).seqs).toEqual(range(1, 3));
  });

  it('answers a sync whose durable mark could not be written as done, and refuses the next append', async () => {
    const dir = makeTempDir('wal-mark-fails');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    wal.append(range(1, 2).map(record));
    const nodeFs = createRequire(import.meta.url)('node:fs') as typeof fs;
    const real = nodeFs.writeSync;
    // The mark is the only write after the fdatasync returns: it fails as a full disk would.
    nodeFs.writeSync = (() => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
    let outcome: Error | undefined;
    try {
      outcome = await new Promise<Error | undefined>((resolve) => wal.sync(resolve));
    } finally {
      nodeFs.writeSync = real;
      syncBuiltinESMExports();
    }
    // The sync returned: records 1-2 are durable and their replies true.
    expect(outcome).toBeUndefined();
    expect(() => wal.append([record(3)])).toThrow(/ENOSPC/);
    wal.close();
    expect(reopen(dir).seqs).toEqual(range(1, 2));
  });
});

describe('records a crash left unsynced', () => {
  it('are synced by the open that replays them, before anything counts them durable', () => {
    const dir = makeTempDir('wal-unsynced');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    wal.appendDurable(range(1, 2).map(record));
    // Written by a process that died before its fdatasync: in the page cache, where the open reads them.
    wal.append(range(3, 5).map(record));
    wal.close();
    // A spy, not a stand-in: every call goes through to the real fdatasync.
    const nodeFs = createRequire(import.meta.url)('node:fs') as typeof fs;
    const real = nodeFs.fdatasyncSync;
    const synced: number[] = [];
    nodeFs.fdatasyncSync = (fd: number) => {
      synced.push(fs.fstatSync(fd).ino);
      real(fd);
    };
    syncBuiltinESMExports();
    try {
      const seqs: number[] = [];
      const { wal: reopened } = Wal.open(dir, { afterSeq: 0, onRecord: (r) => seqs.push(r.seq) });
      reopened.close();
      expect(seqs).toEqual(range(1, 5));
    } finally {
      nodeFs.fdatasyncSync = real;
      syncBuiltinESMExports();
    }
    const last = listSegments(dir).at(-1);
    expect(last).toBeDefined();
    expect(synced).toContain(fs.statSync(last?.file as string).ino);
  });
});

describe('segments', () => {
  it('rolls to a new segment named for its first record once one is full', () => {
    const { dir, segments } = writeSegments(40);
    expect(segments.length).toBeGreaterThan(3);
    expect(segments[0]?.firstSeq).toBe(1);
    for (const segment of segments) {
      expect(path.basename(segment.file)).toBe(`wal-${String(segment.firstSeq).padStart(16, '0')}.log`);
      expect(walFormat.decodeSegmentHeader(fs.readFileSync(segment.file))).toEqual({ firstSeq: segment.firstSeq });
    }
    expect(reopen(dir).seqs).toEqual(range(1, 40));
  });

  it('drops only segments whose every record is at or below the given seq, never the last', () => {
    const { dir, segments } = writeSegments(40);
    const second = segments[1];
    const third = segments[2];
    if (second === undefined || third === undefined) throw new Error('expected at least three segments');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    const before = wal.bytesOnDisk();
    // One record short of covering the first segment: nothing goes.
    expect(wal.dropThrough(second.firstSeq - 2)).toBe(0);
    expect(wal.dropThrough(second.firstSeq - 1)).toBe(1);
    expect(listSegments(dir)[0]?.firstSeq).toBe(second.firstSeq);
    expect(wal.bytesOnDisk()).toBeLessThan(before);
    // A seq inside the third segment covers the second wholly, the third only partly.
    expect(wal.dropThrough(third.firstSeq)).toBe(1);
    expect(listSegments(dir)[0]?.firstSeq).toBe(third.firstSeq);
    const remaining = listSegments(dir).length;
    expect(wal.dropThrough(1_000_000)).toBe(remaining - 1);
    expect(listSegments(dir).map((s) => s.firstSeq)).toEqual([39]);
    append(wal, 41, 44, 2);
    wal.close();
    expect(reopen(dir, 40).seqs).toEqual(range(41, 44));
  });

  it('reopens after a drop from the snapshot position, and reports records that are gone', () => {
    const { dir, segments } = writeSegments(40);
    const third = segments[2];
    if (third === undefined) throw new Error('expected at least three segments');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    wal.dropThrough(third.firstSeq - 1);
    wal.close();
    expect(reopen(dir, third.firstSeq - 1).seqs).toEqual(range(third.firstSeq, 40));
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect(error.file).toBe(third.file);
    expect(error.detail).toMatch(/records 1\.\.\d+ are missing/);
  });
});

/**
 * Ways a crash (or a bad sector at the very end) can leave the last frames: `kept` records stay,
 * `records` frames complete in length but failing their checksum are cut with the tail.
 */
const tornTails: { name: string; damage: (file: string) => void; kept: number; records: number }[] = [
  {
    name: 'the last frame cut in its body',
    damage: (file) => fs.truncateSync(file, fs.statSync(file).size - 5),
    kept: 11,
    records: 0,
  },
  {
    name: 'the last frame cut inside its header',
    damage: (file) => {
      const last = framesOf(file).at(-1);
      if (last === undefined) throw new Error('no frame');
      fs.truncateSync(file, last.offset + 3);
    },
    kept: 11,
    records: 0,
  },
  {
    name: 'garbage appended',
    damage: (file) => {
      const random = new Random(42);
      fs.appendFileSync(file, Buffer.from(Array.from({ length: 700 }, () => random.int(0, 255))));
    },
    kept: 12,
    records: 0,
  },
  { name: 'zeros appended', damage: (file) => fs.appendFileSync(file, Buffer.alloc(4096)), kept: 12, records: 0 },
  {
    name: 'a flipped byte in the last frame',
    damage: (file) => {
      const last = framesOf(file).at(-1);
      if (last === undefined) throw new Error('no frame');
      flipByte(file, last.bodyStart + 3);
    },
    kept: 11,
    records: 1,
  },
  {
    name: 'a flipped byte in each of the last two frames',
    damage: (file) => {
      for (const frame of framesOf(file).slice(-2)) flipByte(file, frame.bodyStart + 3);
    },
    kept: 10,
    records: 2,
  },
];

describe('torn tail', () => {
  it.each(tornTails)('cuts $name on open, keeps what came before, and the log goes on', ({ damage, kept, records }) => {
    const { dir, file } = writeLog(12);
    const validEnd = framesOf(file)[kept - 1]?.bodyEnd;
    damage(file);
    const damagedSize = fs.statSync(file).size;
    const { wal, report } = Wal.open(dir, { afterSeq: 0 });
    expect(report.lastSeq).toBe(kept);
    expect(report.truncatedBytes).toBe(damagedSize - (validEnd ?? 0));
    expect(report.truncatedBytes).toBeGreaterThan(0);
    expect(report.truncatedRecords).toBe(records);
    expect(fs.statSync(file).size).toBe(validEnd);
    append(wal, kept + 1, kept + 5);
    wal.close();
    const again = reopen(dir);
    expect(again.seqs).toEqual(range(1, kept + 5));
    expect(again.report).toMatchObject({ truncatedBytes: 0, truncatedRecords: 0 });
  });

  it('cuts a torn tail in the last of several segments only', () => {
    const { dir, segments } = writeSegments(40);
    const last = segments.at(-1);
    if (last === undefined) throw new Error('no segment');
    fs.truncateSync(last.file, fs.statSync(last.file).size - 4);
    const { wal, report } = Wal.open(dir, { afterSeq: 0 });
    expect(report.lastSeq).toBe(39);
    append(wal, 40, 41, 2);
    wal.close();
    expect(reopen(dir).seqs).toEqual(range(1, 41));
  });

  it.each([0, 7])('rewrites the header of a last segment left with %i bytes by a crash while creating it', (bytes) => {
    const { dir } = writeLog(6);
    const file = path.join(dir, `wal-${String(7).padStart(16, '0')}.log`);
    fs.writeFileSync(file, walFormat.encodeSegmentHeader(7).subarray(0, bytes));
    const { wal, report } = Wal.open(dir, { afterSeq: 0 });
    expect(report.lastSeq).toBe(6);
    append(wal, 7, 8);
    wal.close();
    expect(walFormat.decodeSegmentHeader(fs.readFileSync(file))).toEqual({ firstSeq: 7 });
    expect(reopen(dir).seqs).toEqual(range(1, 8));
  });

  it('numbers new records right when the cut tail was already covered by a snapshot', () => {
    // A snapshot covers seq 12, then the last frame is lost. Appends must still come back as 13, 14…
    const { dir, file } = writeLog(12);
    fs.truncateSync(file, fs.statSync(file).size - 5);
    const { wal, report } = Wal.open(dir, { afterSeq: 12 });
    expect(report.lastSeq).toBe(12);
    append(wal, 13, 15);
    wal.close();
    expect(reopen(dir, 12).seqs).toEqual([13, 14, 15]);
    // Replaying from before the cut cannot fill the hole: it says so instead of guessing.
    expect(corruption(() => Wal.open(dir, { afterSeq: 0 })).detail).toMatch(/gap before seq 13/);
  });
});

describe('corruption before the tail', () => {
  it('stops at a damaged frame with valid frames after it, naming file and byte, changing nothing', () => {
    const { dir, file } = writeLog(12);
    const damaged = framesOf(file)[4];
    if (damaged === undefined) throw new Error('no frame');
    flipByte(file, damaged.bodyStart + 2);
    const before = fs.readFileSync(file);
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect(error.file).toBe(file);
    expect(error.offset).toBe(damaged.offset);
    expect(error.message).toContain(`at byte ${damaged.offset}`);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('stops at a damaged length field in the middle of the log', () => {
    const { dir, file } = writeLog(12);
    const damaged = framesOf(file)[2];
    if (damaged === undefined) throw new Error('no frame');
    flipByte(file, damaged.offset + 1);
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect([error.file, error.offset]).toEqual([file, damaged.offset]);
  });

  it.each([
    ['a flipped byte in its last frame', (file: string) => flipByte(file, (framesOf(file).at(-1)?.bodyStart ?? 0) + 1)],
    ['its last frame cut short', (file: string) => fs.truncateSync(file, fs.statSync(file).size - 3)],
    ['zeros appended to it', (file: string) => fs.appendFileSync(file, Buffer.alloc(64))],
  ])('stops at damage in a segment that is not the last: %s', (_name, damage) => {
    const { dir, segments } = writeSegments(40);
    const middle = segments[1];
    if (middle === undefined) throw new Error('expected several segments');
    const validEnd = walFormat.scanSegment(fs.readFileSync(middle.file)).validEnd;
    damage(middle.file);
    const damagedEnd = walFormat.scanSegment(fs.readFileSync(middle.file)).validEnd;
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect(error.file).toBe(middle.file);
    expect(error.offset).toBe(Math.min(validEnd, damagedEnd));
    expect(error.detail).toMatch(/not the last segment|valid record at byte/);
  });

  it('stops at a missing segment in the middle', () => {
    const { dir, segments } = writeSegments(40);
    const [, gone, next] = segments;
    if (gone === undefined || next === undefined) throw new Error('expected several segments');
    fs.rmSync(gone.file);
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect([error.file, error.offset]).toEqual([next.file, 0]);
    expect(error.detail).toContain(`gap before seq ${next.firstSeq}`);
  });

  it('stops at a segment whose header is damaged', () => {
    const { dir, segments } = writeSegments(40);
    const middle = segments[1];
    if (middle === undefined) throw new Error('expected several segments');
    flipByte(middle.file, 2);
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect([error.file, error.offset, error.detail]).toEqual([middle.file, 0, 'bad segment header']);
  });

  it('stops at a segment that overlaps the one before it, in the log and in recovery', () => {
    const dir = makeTempDir('wal-overlap');
    const { overlapping } = writeOverlappingSegments(dir);
    const before = fs.readFileSync(overlapping);
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect([error.file, error.offset]).toEqual([overlapping, 0]);
    expect(error.detail).toBe('segment starts at seq 15, but the one before it holds records through 20');
    expect(fs.readFileSync(overlapping).equals(before)).toBe(true);
    // Recovery reports it before the core ever sees seq 15 twice.
    const dataDir = makeTempDir('wal-overlap-recovery');
    writeOverlappingSegments(warehousePaths(dataDir, 'W1').wal);
    expect(corruption(() => recoverWarehouse(dataDir, 'W1')).detail).toMatch(/^segment starts at seq 15/);
  });
});

/** Zeros the 4 KiB page of `file` that holds byte `at`: a page a power cut kept from the disk. */
function losePage(file: string, at: number): { from: number; to: number } {
  const from = Math.floor(at / PAGE_BYTES) * PAGE_BYTES;
  const bytes = fs.readFileSync(file);
  bytes.fill(0, from, from + PAGE_BYTES);
  fs.writeFileSync(file, bytes);
  return { from, to: from + PAGE_BYTES };
}
const PAGE_BYTES = 4096;

describe('a power cut: a write whose pages reached the disk with a hole', () => {
  it('cuts the unsynced write at the hole, valid pages after it included, and the log goes on', () => {
    const dir = makeTempDir('wal-hole');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    append(wal, 1, 30, 10); // synced: acknowledged
    const file = listSegments(dir)[0]?.file as string;
    const synced = fs.statSync(file).size;
    wal.append(range(31, 330).map(record)); // one write of ~30 KB, never synced
    wal.close();
    // A page in the middle of the unsynced write is lost; pages after it made it to the disk.
    const frames = framesOf(file);
    const hole = losePage(file, synced + 3 * PAGE_BYTES);
    const kept = frames.filter((f) => f.bodyEnd <= hole.from).length;
    const after = frames.filter((f) => f.offset >= hole.to).length;
    expect(after).toBeGreaterThan(100);
    const seqs: number[] = [];
    const { wal: reopened, report } = Wal.open(dir, { afterSeq: 0, onRecord: (r) => seqs.push(r.seq) });
    expect(seqs).toEqual(range(1, kept));
    expect(kept).toBeGreaterThan(30);
    expect(report.truncatedAfterHole).toBe(after);
    expect(fs.statSync(file).size).toBeLessThanOrEqual(hole.from);
    append(reopened, kept + 1, kept + 5);
    reopened.close();
    expect(reopen(dir).seqs).toEqual(range(1, kept + 5));
  });

  it('stops instead when a later write says the damaged bytes had been synced', () => {
    const dir = makeTempDir('wal-hole-synced');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    append(wal, 1, 300, 300); // one write of ~30 KB, synced: acknowledged
    append(wal, 301, 303); // its durable mark says so
    wal.close();
    const file = listSegments(dir)[0]?.file as string;
    const before = fs.readFileSync(file);
    const hole = losePage(file, 3 * PAGE_BYTES);
    const damaged = fs.readFileSync(file);
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect(error.file).toBe(file);
    expect(error.offset).toBeLessThanOrEqual(hole.from);
    expect(error.detail).toMatch(/synced through byte \d+/);
    expect(fs.readFileSync(file).equals(damaged)).toBe(true);
    expect(damaged.equals(before)).toBe(false);
  });

  it('stops at damage in the last synced write, though its own valid records follow', () => {
    const dir = makeTempDir('wal-last-synced');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    wal.appendDurable(range(1, 3).map(record));
    wal.appendDurable(range(4, 6).map(record)); // acknowledged; its sync named by a mark after it
    wal.close();
    const file = listSegments(dir)[0]?.file as string;
    const damaged = framesOf(file)[3];
    if (damaged === undefined) throw new Error('no frame');
    flipByte(file, damaged.bodyStart + 2);
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect([error.file, error.offset]).toEqual([file, damaged.offset]);
    expect(error.detail).toMatch(/synced through byte/);
  });

  it('names every returned sync by a durable mark: in the next write, or alone when idle; readers skip them', async () => {
    const dir = makeTempDir('wal-marks');
    const { wal } = Wal.open(dir, { afterSeq: 0 });
    wal.append(range(1, 3).map(record));
    wal.append(range(4, 6).map(record)); // no sync between: no mark
    wal.appendDurable(range(7, 9).map(record)); // synced, nothing after: a mark alone
    wal.append(range(10, 12).map(record)); // that sync is named already
    await new Promise((resolve) => wal.sync(resolve)); // the runtime's sync; idle: a mark alone
    wal.append(range(13, 15).map(record));
    // A write while the sync is out: the sync's mark waits for the next write and starts it.
    const synced = new Promise((resolve) => wal.sync(resolve));
    wal.append(range(16, 18).map(record));
    await synced;
    wal.append(range(19, 21).map(record));
    wal.close();
    const file = listSegments(dir)[0]?.file as string;
    const bytes = fs.readFileSync(file);
    const marks: { at: number; syncedThrough: number }[] = [];
    for (let at = walFormat.SEGMENT_HEADER_BYTES; at < bytes.length; ) {
      const frame = walFormat.readFrame(bytes, at);
      if (frame === undefined) throw new Error(`no frame at ${at}`);
      if (frame.syncedThrough !== undefined) marks.push({ at, syncedThrough: frame.syncedThrough });
      at = frame.bodyEnd;
    }
    const frames = framesOf(file);
    const end = (seq: number) => frames[seq - 1]?.bodyEnd as number;
    const MARK = walFormat.FRAME_HEADER_BYTES + 9;
    expect(marks).toEqual([
      { at: end(9), syncedThrough: end(9) },
      { at: end(12), syncedThrough: end(12) },
      { at: end(18), syncedThrough: end(15) },
    ]);
    expect(frames[9]?.offset).toBe(end(9) + MARK);
    expect(reopen(dir).seqs).toEqual(range(1, 21));
    const read: number[] = [];
    readWalRange(dir, 0, 21, (r) => read.push(r.seq));
    expect(read).toEqual(range(1, 21));
  });
});

describe('damage too large to tell from a torn tail', () => {
  it('stops instead of cutting when the search for a valid frame after it runs out of budget', () => {
    const { dir, file } = writeLog(12);
    const validEnd = fs.statSync(file).size;
    // Frame-like headers every 16 bytes: each claims a full-size body that starts like a record, so
    // each costs a checksum of RECORD_BYTES_MAX bytes. The first is the damaged frame; the search
    // after it finds one more of them than its budget allows.
    const headers = Math.floor(walFormat.FRAME_SEARCH_BYTES_MAX / walFormat.RECORD_BYTES_MAX) + 2;
    const damage = Buffer.alloc(headers * 16 + walFormat.RECORD_BYTES_MAX + walFormat.FRAME_HEADER_BYTES, 0xff);
    for (let i = 0; i < headers; i++) {
      damage.writeUInt32LE(walFormat.RECORD_BYTES_MAX, i * 16);
      damage.set([0x81, 0xa1], i * 16 + walFormat.FRAME_HEADER_BYTES);
    }
    fs.appendFileSync(file, damage);
    const error = corruption(() => Wal.open(dir, { afterSeq: 0 }));
    expect([error.file, error.offset]).toEqual([file, validEnd]);
    expect(error.detail).toMatch(/could not tell from a torn tail/);
    expect(fs.statSync(file).size).toBe(validEnd + damage.length);
  });
});
