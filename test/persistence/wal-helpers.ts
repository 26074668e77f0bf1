/**
 * Helpers of the WAL tests: numbered receipt records, a WAL written in batches (one segment, or
 * rolled over many small ones), the frames of a segment, a flipped byte, and the WalCorruptionError
 * an operation must throw. Everything runs on real files under the OS temp dir.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StampedCommand } from '../../engine/index.ts';
import { listSegments, Wal, WalCorruptionError, walFormat } from '../../persistence/index.ts';
import { makeTempDir } from './helpers.ts';

export function record(seq: number): StampedCommand {
  return {
    seq,
    atMs: 1_700_000_000_000 + seq,
    command: { type: 'receipt', key: `key-${seq}`, receiptId: `rc-${seq}`, lines: [{ sku: 'sku-1', quantity: seq }] },
  };
}

/** Appends records `from..to` in batches of `batch`, each batch one write and one fdatasync. */
export function append(wal: Wal, from: number, to: number, batch = 3): void {
  for (let first = from; first <= to; first += batch) {
    const last = Math.min(to, first + batch - 1);
    const records = [];
    for (let seq = first; seq <= last; seq++) records.push(record(seq));
    wal.appendDurable(records);
  }
}

/** Opens the WAL, collects the sequence numbers it replays, and closes it again. */
export function reopen(dir: string, afterSeq = 0, segmentBytesMax?: number) {
  const seqs: number[] = [];
  const options = { afterSeq, onRecord: (r: StampedCommand) => seqs.push(r.seq) };
  const { wal, report } = Wal.open(dir, segmentBytesMax === undefined ? options : { ...options, segmentBytesMax });
  wal.close();
  return { seqs, report };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/**
 * Appends records `from..to` as `append` does, but the last batch is written and never synced: the
 * write a crash interrupts. So the log ends in records, as a crash leaves it, and damage there is a
 * torn tail; damage before it is in synced writes, which durable marks after them name.
 */
export function appendUntilCrash(wal: Wal, from: number, to: number, batch = 3): void {
  const last = Math.max(from, to - ((to - from) % batch));
  if (last > from) append(wal, from, last - 1, batch);
  wal.append(range(last, to).map(record));
}

/** A WAL of `count` records in one segment, closed (its last batch unsynced: `appendUntilCrash`). */
export function writeLog(count: number): { dir: string; file: string } {
  const dir = makeTempDir('wal');
  const { wal } = Wal.open(dir, { afterSeq: 0 });
  appendUntilCrash(wal, 1, count);
  wal.close();
  const segment = listSegments(dir)[0];
  if (segment === undefined) throw new Error('no segment written');
  return { dir, file: segment.file };
}

/** A WAL rolled over several small segments, closed (its last batch unsynced). */
export function writeSegments(count: number): { dir: string; segments: ReturnType<typeof listSegments> } {
  const dir = makeTempDir('wal-roll');
  const { wal } = Wal.open(dir, { afterSeq: 0, segmentBytesMax: 400 });
  appendUntilCrash(wal, 1, count, 2);
  wal.close();
  return { dir, segments: listSegments(dir) };
}

export function framesOf(file: string): walFormat.Frame[] {
  return walFormat.scanSegment(fs.readFileSync(file)).frames;
}

export function flipByte(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] = (bytes[offset] ?? 0) ^ 0x5a;
  fs.writeFileSync(file, bytes);
}

/** Runs `open` and returns the WalCorruptionError it must throw. */
export function corruption(open: () => unknown): WalCorruptionError {
  try {
    open();
  } catch (error) {
    if (error instanceof WalCorruptionError) return error;
    throw error;
  }
  throw new Error('expected a WalCorruptionError');
}

/**
 * A log of records 1..20 in one segment plus a second segment that starts at 15 and holds 15..25
 * (as a segment restored from a backup, or copied from another log, would): two copies of 15..20.
 */
export function writeOverlappingSegments(dir: string): { first: string; overlapping: string } {
  const { wal } = Wal.open(dir, { afterSeq: 0 });
  append(wal, 1, 20);
  wal.close();
  const other = makeTempDir('wal-other');
  const { wal: copy } = Wal.open(other, { afterSeq: 14 });
  append(copy, 15, 25);
  copy.close();
  const [first] = listSegments(dir);
  const [source] = listSegments(other);
  if (first === undefined || source === undefined) throw new Error('no segment written');
  const overlapping = path.join(dir, path.basename(source.file));
  fs.copyFileSync(source.file, overlapping);
  return { first: first.file, overlapping };
}
