/**
 * Cutting a WAL at its first damaged record (`planWalCut`, `cutWal`, `darkstore wal-cut`): the plan
 * names the damage, what is kept and what is cut (valid records included) without changing a file;
 * the cut keeps every byte it takes aside, and the log then opens and goes on; damage that is not a
 * damaged record is refused. Real files, and the real command line.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cutWal,
  listSegments,
  planWalCut,
  recoverWarehouse,
  Wal,
  WalCorruptionError,
  WalCutRefused,
  warehousePaths,
} from '../../persistence/index.ts';
import { makeTempDir, removeTempDirs } from './helpers.ts';
import { append, corruption, flipByte, framesOf, range, reopen } from './wal-helpers.ts';

afterEach(removeTempDirs);

const CLI = fileURLToPath(new URL('../../bin/darkstore.js', import.meta.url));

/** A warehouse's WAL of 40 records over small segments in `dataDir`, all synced (acknowledged). */
function writeWarehouseLog(dataDir: string): string {
  const { wal: walDir } = warehousePaths(dataDir, 'W1');
  const { wal } = Wal.open(walDir, { afterSeq: 0, segmentBytesMax: 1_000 });
  append(wal, 1, 40, 2);
  wal.close();
  return walDir;
}

/** Damages the third record of the second segment; returns that segment and the damaged frame. */
function damageMiddle(walDir: string) {
  const segments = listSegments(walDir);
  const middle = segments[1];
  if (middle === undefined || segments.length < 4) throw new Error('expected several segments');
  const frame = framesOf(middle.file)[2];
  if (frame === undefined) throw new Error('no frame');
  flipByte(middle.file, frame.bodyStart + 2);
  return { segments, middle, frame };
}

describe('cutting a WAL at its first damaged record', () => {
  it('plans from the snapshot recovery starts at: damage below it cuts nothing after it', () => {
    const dataDir = makeTempDir('wal-cut-snapshot');
    const walDir = writeWarehouseLog(dataDir);
    const segments = listSegments(walDir);
    const [oldest, , third, fourth] = segments;
    if (oldest === undefined || third === undefined || fourth === undefined) throw new Error('expected segments');
    // Damage in the oldest segment, which a snapshot through the third's first record covers, and in the fourth.
    flipByte(oldest.file, (framesOf(oldest.file)[1]?.bodyStart as number) + 2);
    const later = framesOf(fourth.file)[1];
    flipByte(fourth.file, (later?.bodyStart as number) + 2);
    // Without the snapshot's position the first damage would cut every later segment.
    expect(planWalCut(walDir)?.file).toBe(oldest.file);
    const plan = planWalCut(walDir, third.firstSeq);
    expect(plan).toMatchObject({ file: fourth.file, offset: later?.offset, keptThroughSeq: fourth.firstSeq });
  });

  it('accepts the gap a start after an earlier cut leaves below the snapshot', () => {
    const walDir = makeTempDir('wal-cut-gap');
    const { wal } = Wal.open(walDir, { afterSeq: 0 });
    append(wal, 1, 10);
    wal.close();
    // The snapshot reaches seq 30, past the log's end: the next start begins a segment at 31.
    const { wal: after } = Wal.open(walDir, { afterSeq: 30 });
    append(after, 31, 35);
    after.close();
    expect(planWalCut(walDir, 30)).toBeUndefined();
    expect(() => planWalCut(walDir)).toThrow(WalCutRefused);
  });

  it('plans without changing a file, cuts keeping every byte aside, and the log goes on', () => {
    const dataDir = makeTempDir('wal-cut');
    const walDir = writeWarehouseLog(dataDir);
    const { segments, middle, frame } = damageMiddle(walDir);
    expect(corruption(() => Wal.open(walDir, { afterSeq: 0 }))).toBeInstanceOf(WalCorruptionError);
    const before = segments.map((s) => fs.readFileSync(s.file));

    const plan = planWalCut(walDir);
    expect(plan).toMatchObject({ file: middle.file, offset: frame.offset, keptThroughSeq: middle.firstSeq + 1 });
    const later = segments.slice(2);
    expect(plan?.segmentsCut).toEqual(later.map((s) => s.file));
    // Every valid record after the damage: the rest of its segment, and the later segments whole.
    expect(plan?.recordsCut).toBe(40 - (middle.firstSeq + 2));
    expect(plan?.bytesCut).toBe((before[1] as Buffer).length - frame.offset);
    expect(segments.map((s) => fs.readFileSync(s.file))).toEqual(before);

    const aside = path.join(dataDir, 'aside');
    const kept = cutWal(plan as NonNullable<typeof plan>, aside);
    expect(fs.readFileSync(kept[0] as string)).toEqual((before[1] as Buffer).subarray(frame.offset));
    for (const i of later.keys()) expect(fs.readFileSync(kept[i + 1] as string)).toEqual(before[i + 2]);
    expect(listSegments(walDir).map((s) => s.file)).toEqual([segments[0]?.file, middle.file]);

    expect(reopen(walDir).seqs).toEqual(range(1, middle.firstSeq + 1));
    expect(planWalCut(walDir)).toBeUndefined();
    const { wal } = Wal.open(walDir, { afterSeq: 0 });
    append(wal, middle.firstSeq + 2, middle.firstSeq + 5);
    wal.close();
    expect(reopen(walDir).seqs).toEqual(range(1, middle.firstSeq + 5));
  });

  it('refuses damage that is not a damaged record, and finds nothing in a sound log', () => {
    const dataDir = makeTempDir('wal-cut-header');
    const walDir = writeWarehouseLog(dataDir);
    expect(planWalCut(walDir)).toBeUndefined();
    const middle = listSegments(walDir)[1];
    flipByte(middle?.file as string, 2);
    expect(() => planWalCut(walDir)).toThrow(WalCutRefused);
  });
});

describe('darkstore wal-cut', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'wal-cut', ...args], { encoding: 'utf8' }, (error, stdout) => {
        resolve({ code: error === null ? 0 : Number(error.code), stdout });
      });
    });

  it('says what it would cut, cuts with --yes, and the warehouse recovers', async () => {
    const dataDir = makeTempDir('wal-cut-cli');
    const walDir = writeWarehouseLog(dataDir);
    const { segments, middle } = damageMiddle(walDir);
    expect(() => recoverWarehouse(dataDir, 'W1')).toThrow(WalCorruptionError);
    const before = segments.map((s) => fs.readFileSync(s.file));

    const dry = await run([dataDir]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^W1: would cut: damaged record at byte \d+ of .*keeps records through seq \d+/);
    expect(dry.stdout).toContain('Run again with --yes');
    expect(segments.map((s) => fs.readFileSync(s.file))).toEqual(before);

    const cut = await run([dataDir, '--warehouse', 'W1', '--yes']);
    expect(cut.code).toBe(0);
    expect(cut.stdout).toMatch(/^W1: cut: .* Kept in .*wal-cut-\d+\.$/m);
    const recovered = recoverWarehouse(dataDir, 'W1');
    expect(recovered.report.wal.lastSeq).toBe(middle.firstSeq + 1);
    recovered.wal.close();
    expect((await run([dataDir])).stdout).toBe('W1: no damaged record, nothing to cut\n');
  });
});
