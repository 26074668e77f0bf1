/**
 * Reading the WAL while it is written: readWalRange reads any range of durable records without
 * changing a file and says which are missing; a WalReader keeps its cursor between reads, so it
 * never reads the bytes before it again, follows the writer into new segments, finds its place again
 * when its segment is dropped, and reports overlapping segments; the snapshot writer's catch-up uses
 * one, so a checkpoint reads only what was appended since the last. Also countRecordsAfter.
 */
import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { StampedCommand } from '../../engine/index.ts';
import {
  type CheckpointResult,
  countRecordsAfter,
  DurableWarehouse,
  listSegments,
  readWalRange,
  Wal,
  WalReader,
  walFormat,
  warehousePaths,
} from '../../persistence/index.ts';
import {
  CommandMix,
  catalogCommands,
  driveMix,
  ManualClock,
  makeTempDir,
  removeTempDirs,
  submitAll,
} from './helpers.ts';
import {
  append,
  corruption,
  flipByte,
  framesOf,
  range,
  record,
  writeLog,
  writeOverlappingSegments,
  writeSegments,
} from './wal-helpers.ts';

afterEach(removeTempDirs);

/** Reads `afterSeq + 1 … throughSeq` with `reader` and returns the seqs it handed out. */
function seqsRead(reader: WalReader, afterSeq: number, throughSeq: number): number[] {
  const seqs: number[] = [];
  expect(reader.read(afterSeq, throughSeq, (r) => seqs.push(r.seq))).toBe(throughSeq);
  return seqs;
}

describe('readWalRange and countRecordsAfter', () => {
  it('reads any range of durable records across segments without changing a file', () => {
    const { dir, segments } = writeSegments(40);
    const last = segments.at(-1);
    if (last === undefined) throw new Error('no segment');
    // A torn tail past the asked-for records is not looked at (the writer may be appending).
    fs.appendFileSync(last.file, Buffer.from([9, 0, 0, 0, 1, 2]));
    const sizes = segments.map((s) => fs.statSync(s.file).size);
    const seqs: number[] = [];
    expect(readWalRange(dir, 5, 33, (r) => seqs.push(r.seq))).toBe(33);
    expect(seqs).toEqual(range(6, 33));
    const tail: StampedCommand[] = [];
    readWalRange(dir, 38, 40, (r) => tail.push(r));
    expect(tail).toEqual([record(39), record(40)]);
    expect(segments.map((s) => fs.statSync(s.file).size)).toEqual(sizes);
  });

  it('throws when records asked for are not in the log', () => {
    const { dir, segments } = writeSegments(40);
    expect(() => readWalRange(dir, 30, 45, () => undefined)).toThrow(/records 41\.\.45 are missing/);
    const first = segments[0];
    const second = segments[1];
    if (first === undefined || second === undefined) throw new Error('expected several segments');
    fs.rmSync(first.file);
    const error = corruption(() => readWalRange(dir, 0, 10, () => undefined));
    expect(error.file).toBe(second.file);
  });

  it('reports a segment that overlaps the one before it instead of reading either copy', () => {
    const dir = makeTempDir('range-overlap');
    const { overlapping } = writeOverlappingSegments(dir);
    const error = corruption(() => readWalRange(dir, 10, 25, () => undefined));
    expect([error.file, error.offset]).toEqual([overlapping, 0]);
    expect(error.detail).toMatch(/^segment starts at seq 15, but the one before it holds records through 20/);
  });

  it('counts intact records after a position, across segments and past a torn tail', () => {
    const { dir, segments } = writeSegments(40);
    expect(countRecordsAfter(dir, 0)).toBe(40);
    expect(countRecordsAfter(dir, 17)).toBe(23);
    expect(countRecordsAfter(dir, 40)).toBe(0);
    expect(countRecordsAfter(dir, 90)).toBe(0);
    const last = segments.at(-1);
    if (last === undefined) throw new Error('no segment');
    fs.truncateSync(last.file, fs.statSync(last.file).size - 2);
    expect(countRecordsAfter(dir, 17)).toBe(22);
    expect(countRecordsAfter(makeTempDir('wal-empty'), 0)).toBe(0);
  });
});

describe('a WalReader keeps its cursor', () => {
  it('continues from where it stopped and never reads the bytes before it again', () => {
    const { dir, file } = writeLog(30);
    const reader = new WalReader(dir);
    expect(seqsRead(reader, 0, 20)).toEqual(range(1, 20));
    const frames = framesOf(file);
    expect(reader.cursor).toEqual({ segmentFirstSeq: 1, offset: frames[19]?.bodyEnd, nextSeq: 21 });
    // Damage a record the reader has passed: it goes on from its cursor, while a read from the
    // start of the segment stops at the damage.
    flipByte(file, (frames[4]?.bodyStart ?? 0) + 2);
    expect(seqsRead(reader, 20, 30)).toEqual(range(21, 30));
    expect(reader.cursor).toEqual({ segmentFirstSeq: 1, offset: fs.statSync(file).size, nextSeq: 31 });
    expect(() => readWalRange(dir, 20, 30, () => undefined)).toThrow(/records 5\.\.30 are missing/);
    // Asked for another position, it scans from the start of the segment again.
    expect(() => reader.read(9, 12, () => undefined)).toThrow(/records 5\.\.12 are missing/);
  });

  it('follows the writer into each new segment as it rolls', () => {
    const dir = makeTempDir('reader-roll');
    const { wal } = Wal.open(dir, { afterSeq: 0, segmentBytesMax: 400 });
    const reader = new WalReader(dir);
    const seen: number[] = [];
    for (let seq = 1; seq <= 60; seq += 2) {
      append(wal, seq, seq + 1, 2);
      seen.push(...seqsRead(reader, seq - 1, seq + 1));
      expect(reader.cursor?.segmentFirstSeq).toBe(listSegments(dir).at(-1)?.firstSeq);
    }
    wal.close();
    expect(seen).toEqual(range(1, 60));
    expect(listSegments(dir).length).toBeGreaterThan(5);
  });

  it('finds its place again when a snapshot let the WAL drop the segment it stood in', () => {
    const { dir, segments } = writeSegments(40);
    const next = segments[3];
    if (next === undefined) throw new Error('expected several segments');
    const reader = new WalReader(dir);
    expect(seqsRead(reader, 0, next.firstSeq - 1)).toEqual(range(1, next.firstSeq - 1));
    const standing = reader.cursor?.segmentFirstSeq;
    const { wal } = Wal.open(dir, { afterSeq: next.firstSeq - 1 });
    expect(wal.dropThrough(next.firstSeq - 1)).toBe(3);
    wal.close();
    expect(listSegments(dir).some((s) => s.firstSeq === standing)).toBe(false);
    expect(seqsRead(reader, next.firstSeq - 1, 40)).toEqual(range(next.firstSeq, 40));
  });

  it('checks the header of each segment it enters', () => {
    const { dir, segments } = writeSegments(40);
    const second = segments[1];
    if (second === undefined) throw new Error('expected several segments');
    const reader = new WalReader(dir);
    seqsRead(reader, 0, second.firstSeq - 1);
    flipByte(second.file, 3);
    const error = corruption(() => reader.read(second.firstSeq - 1, 40, () => undefined));
    expect([error.file, error.offset, error.detail]).toEqual([second.file, 0, 'bad segment header']);
  });
});

describe("the snapshot writer's catch-up", () => {
  it('reads only the records after its cursor on each checkpoint', async () => {
    const dir = makeTempDir('writer-cursor');
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const checkpoints: CheckpointResult[] = [];
    const live = DurableWarehouse.open({
      dataDir: dir,
      warehouseId: 'W1',
      checkpoint: 'inline',
      clock: clock.clock,
      onCheckpoint: (result) => checkpoints.push(result),
      onCheckpointError: (error) => errors.push(error),
    });
    await submitAll(live, catalogCommands('cat'));
    const mix = new CommandMix(9, 'mix');
    await driveMix(live, mix, clock, 100);
    await live.checkpointNow();
    // Damage a record the first checkpoint covered: a catch-up that read the segment from its start
    // again would stop there; one that goes on from its cursor never looks at it.
    const [segment] = listSegments(warehousePaths(dir, 'W1').wal);
    if (segment === undefined) throw new Error('no segment');
    const frame = walFormat.scanSegment(fs.readFileSync(segment.file)).frames[3];
    if (frame === undefined) throw new Error('no frame');
    const fd = fs.openSync(segment.file, 'r+');
    fs.writeSync(fd, Buffer.from([0xee]), 0, 1, frame.bodyStart + 2);
    fs.closeSync(fd);
    await driveMix(live, mix, clock, 100);
    await live.checkpointNow();
    await live.close({ snapshot: false });
    expect(errors).toEqual([]);
    expect(checkpoints.map((c) => c.walSeq)).toEqual([live.runtime.lastSeq - 100, live.runtime.lastSeq]);
  });
});
