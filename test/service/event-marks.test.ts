/**
 * The acknowledged mark: which replayed events a recovery publishes again (those past the mark, all
 * without one), the mark's file (written aside and renamed; missing, damaged or another warehouse's
 * reads as none), and the writer (writes a mark when it moved, keeps the old one and says so once
 * when a write fails, writes the last one at stop). Real files in a temporary directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type EngineEvent, encode } from '../../engine/index.ts';
import {
  ACKED_MARK_FILE,
  AckedMarkWriter,
  discardAckedMark,
  type ReplayedCommand,
  readAckedMark,
  unpublishedReplay,
  writeAckedMark,
} from '../../service/index.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-marks-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const changed = (sku: string, version: number): EngineEvent => ({
  type: 'availability.changed',
  sku,
  available: version,
  version,
});

describe('unpublishedReplay', () => {
  it('publishes the events of the commands past the mark, in order, with their places', () => {
    const replayed: ReplayedCommand[] = [
      { seq: 4, events: [changed('a', 1)] },
      { seq: 5, events: [] },
      { seq: 6, events: [changed('a', 2), changed('b', 1)] },
    ];
    const keys = (mark: number | undefined) => unpublishedReplay(mark, replayed).map((e) => `${e.seq}:${e.index}`);
    expect(keys(undefined)).toEqual(['4:0', '6:0', '6:1']);
    expect(keys(3)).toEqual(['4:0', '6:0', '6:1']);
    expect(keys(4)).toEqual(['6:0', '6:1']);
    expect(keys(5)).toEqual(['6:0', '6:1']);
    expect(keys(6)).toEqual([]);
  });

  it('leaves out exactly the events at or below the mark, whatever the replay', () => {
    const replay = fc
      .array(fc.nat({ max: 4 }), { maxLength: 30 })
      .map((counts) =>
        counts.map((n, i) => ({ seq: i + 1, events: Array.from({ length: n }, (_, j) => changed(`s${j}`, i)) })),
      );
    fc.assert(
      fc.property(replay, fc.option(fc.nat({ max: 35 }), { nil: undefined }), (replayed, mark) => {
        const out = unpublishedReplay(mark, replayed);
        const expected = replayed
          .filter((r) => mark === undefined || r.seq > mark)
          .flatMap((r) => r.events.map((event, index) => ({ seq: r.seq, index, event })));
        expect(out).toEqual(expected);
      }),
    );
  });
});

describe('the mark file', () => {
  it('reads back what was written, and replaces it', () => {
    const dir = tempDir();
    expect(readAckedMark(dir, 'R', 'W1')).toBeUndefined();
    writeAckedMark(dir, 'R', 'W1', 41);
    expect(readAckedMark(dir, 'R', 'W1')).toBe(41);
    writeAckedMark(dir, 'R', 'W1', 0);
    expect(readAckedMark(dir, 'R', 'W1')).toBe(0);
    expect(fs.readdirSync(dir)).toEqual([ACKED_MARK_FILE]);
  });

  it('reads as none when it is damaged, empty, or another region`s or warehouse`s; is discarded for good', () => {
    const dir = tempDir();
    const file = path.join(dir, ACKED_MARK_FILE);
    writeAckedMark(dir, 'R', 'W2', 9);
    expect(readAckedMark(dir, 'R', 'W1')).toBeUndefined();
    writeAckedMark(dir, 'S', 'W1', 9);
    expect(readAckedMark(dir, 'R', 'W1')).toBeUndefined();
    expect(readAckedMark(dir, 'S', 'W1')).toBe(9);
    discardAckedMark(dir);
    expect(fs.readdirSync(dir)).toEqual([]);
    discardAckedMark(dir);
    for (const bytes of [
      new Uint8Array(),
      new Uint8Array([0xc1]),
      new Uint8Array([0x92, 1, 2]),
      new Uint8Array([0xc0]),
    ]) {
      fs.writeFileSync(file, bytes);
      expect(readAckedMark(dir, 'R', 'W1')).toBeUndefined();
    }
    fs.writeFileSync(file, encode({ region: 'R', warehouseId: 'W1', ackedThrough: 7 }));
    expect(readAckedMark(dir, 'R', 'W1')).toBe(7);
    for (const ackedThrough of [-1, 1.5, '7', Number.MAX_VALUE]) {
      fs.writeFileSync(file, encode({ region: 'R', warehouseId: 'W1', ackedThrough }));
      expect(readAckedMark(dir, 'R', 'W1')).toBeUndefined();
    }
  });
});

describe('AckedMarkWriter', () => {
  it('writes marks that moved, keeps the old one when a write fails, and writes the last at stop', () => {
    const dir = tempDir();
    const marks = new Map([['W1', 3]]);
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const writer = new AckedMarkWriter('R', (id) => marks.get(id) ?? 0, logger, 60_000);
    try {
      writer.track('W1', dir, undefined);
      writer.write();
      expect(readAckedMark(dir, 'R', 'W1')).toBe(3);
      // Unchanged: not written again (a file put there meanwhile stays).
      writeAckedMark(dir, 'R', 'W1', 2);
      writer.write();
      expect(readAckedMark(dir, 'R', 'W1')).toBe(2);
      marks.set('W1', 8);
      writer.write();
      expect(readAckedMark(dir, 'R', 'W1')).toBe(8);
      // The directory is gone: the write fails, is said once, and is tried again.
      const gone = path.join(dir, 'gone');
      writer.track('W2', gone, undefined);
      marks.set('W2', 5);
      writer.write();
      writer.write();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('acknowledged mark not written');
      fs.mkdirSync(gone);
      writer.write();
      expect(readAckedMark(gone, 'R', 'W2')).toBe(5);
      // Untracked: its mark stays as it was.
      writer.untrack('W2');
      marks.set('W2', 6);
      marks.set('W1', 12);
    } finally {
      writer.stop();
    }
    expect(readAckedMark(dir, 'R', 'W1')).toBe(12);
    expect(readAckedMark(path.join(dir, 'gone'), 'R', 'W2')).toBe(5);
  });
});
