/**
 * Snapshots and recovery on real files and real SQLite: recovery (newest valid snapshot + WAL
 * replay) gives back the live state byte for byte, with the worker and the inline checkpointer; WAL
 * segments go only once a durable snapshot covers them and stay while a kept fallback snapshot needs
 * them; a damaged newest snapshot makes recovery fall back to an older one; a failed checkpoint
 * drops nothing and loses no ledger rows; idempotency records survive restarts.
 */
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { checkAll, encode, type Result, toSnapshot, Warehouse, WarehouseRuntime } from '../../engine/index.ts';
import {
  type CheckpointResult,
  DurableWarehouse,
  InlineCheckpointer,
  listSegments,
  readWalRange,
  SNAPSHOT_BUSY_TIMEOUT_MS,
  SNAPSHOT_ENCODING,
  SNAPSHOTS_KEPT,
  type SnapshotRow,
  SnapshotStore,
  verifyWarehouse,
  Wal,
  WalCorruptionError,
  WorkerCheckpointer,
  walFormat,
  warehousePaths,
} from '../../persistence/index.ts';
import {
  CommandMix,
  catalogCommands,
  driveMix,
  expectSameState,
  ManualClock,
  makeTempDir,
  removeTempDirs,
  skuOf,
  stateBytes,
  submitAll,
} from './helpers.ts';

const ID = 'W1';
/** Small segments, so a few hundred commands roll many of them. */
const SEGMENT_BYTES = 2_048;

afterEach(removeTempDirs);

function open(dir: string, clock: ManualClock, checkpoint: 'worker' | 'inline' | 'off', extra = {}) {
  return DurableWarehouse.open({
    dataDir: dir,
    warehouseId: ID,
    checkpoint,
    assertInvariants: true,
    clock: clock.clock,
    ...extra,
  });
}

function snapshotRows(dir: string): SnapshotRow[] {
  const store = new SnapshotStore(warehousePaths(dir, ID).db);
  try {
    return store.rows();
  } finally {
    store.close();
  }
}

/** Overwrites the state blob of one snapshot row behind darkstore's back. */
function damageSnapshot(dir: string, id: number, how: 'bytes' | 'undecodable'): void {
  const db = new Database(warehousePaths(dir, ID).db);
  try {
    const row = db.prepare('SELECT state FROM snapshots WHERE id = ?').get(id) as { state: Buffer } | undefined;
    if (row === undefined) throw new Error(`no snapshot ${id}`);
    if (how === 'bytes') {
      const state = Buffer.from(row.state);
      state.fill(0xee, 40, 60);
      db.prepare('UPDATE snapshots SET state = ? WHERE id = ?').run(state, id);
    } else {
      // 0xc1 is the one byte msgpack never uses; the checksum is made to match, so decoding must catch it.
      const state = Buffer.from([0xc1, 0xc1, 0xc1, 0xc1]);
      db.prepare('UPDATE snapshots SET state = ?, checksum = ? WHERE id = ?').run(state, crc32(state), id);
    }
  } finally {
    db.close();
  }
}

/** Opens the warehouse again without a checkpointer and checks it equals `liveBytes`. */
function expectRecovered(dir: string, clock: ManualClock, liveBytes: Buffer): DurableWarehouse {
  const recovered = open(dir, clock, 'off');
  expectSameState(stateBytes(recovered.runtime.warehouse.state), liveBytes);
  checkAll(recovered.runtime.warehouse.state);
  return recovered;
}

describe('recovery equals the live state', () => {
  it.each(['worker', 'inline'] as const)('with a %s checkpoint in the middle of the mix', async (mode) => {
    const dir = makeTempDir(`snap-${mode}`);
    const clock = new ManualClock();
    const checkpoints: CheckpointResult[] = [];
    const live = open(dir, clock, mode, { onCheckpoint: (r: CheckpointResult) => checkpoints.push(r) });
    await submitAll(live, catalogCommands('cat'));
    const mix = new CommandMix(7, 'mix');
    const results = await driveMix(live, mix, clock, 320);
    await live.checkpointNow();
    const midSeq = live.runtime.lastSeq;
    expect(checkpoints.map((c) => c.walSeq)).toEqual([midSeq]);
    for (const [key, result] of await driveMix(live, mix, clock, 320)) results.set(key, result);
    await live.close({ snapshot: false });
    const liveBytes = stateBytes(live.runtime.warehouse.state);
    const lastSeq = live.runtime.lastSeq;
    // The mix really exercised the core: successes, short stock and expiries all happened.
    const outcomes = new Set([...results.values()].map((r) => (r.ok ? r.value.kind : r.error.code)));
    expect([...outcomes]).toEqual(expect.arrayContaining(['reserved', 'committed', 'released', 'INSUFFICIENT_STOCK']));

    const recovered = expectRecovered(dir, clock, liveBytes);
    expect(recovered.recovery.snapshot?.walSeq).toBe(midSeq);
    expect(recovered.recovery.wal.replayed).toBe(lastSeq - midSeq);
    expect(recovered.recovery.damagedSnapshots).toEqual([]);
    await recovered.close({ snapshot: false });
  });

  it('a close after recovery snapshots the records recovery replayed', async () => {
    const dir = makeTempDir('snap-close');
    const clock = new ManualClock();
    const first = open(dir, clock, 'inline');
    await submitAll(first, catalogCommands('cat'));
    await driveMix(first, new CommandMix(3, 'mix'), clock, 80);
    await first.close({ snapshot: false });
    const lastSeq = first.runtime.lastSeq;
    const liveBytes = stateBytes(first.runtime.warehouse.state);

    const second = open(dir, clock, 'inline');
    expect(second.recovery.wal.replayed).toBe(lastSeq);
    await second.close();
    const third = expectRecovered(dir, clock, liveBytes);
    expect(third.recovery.snapshot?.walSeq).toBe(lastSeq);
    expect(third.recovery.wal.replayed).toBe(0);
    await third.close({ snapshot: false });
  });
});

describe('how snapshots are stored', () => {
  it('deflates them: far fewer bytes than their msgpack, and recovery gives the same state back', async () => {
    const dir = makeTempDir('snap-deflate');
    const clock = new ManualClock();
    const live = open(dir, clock, 'inline');
    await submitAll(live, catalogCommands('cat'));
    await driveMix(live, new CommandMix(5, 'mix'), clock, 600);
    await live.checkpointNow();
    const liveBytes = stateBytes(live.runtime.warehouse.state);
    await live.close({ snapshot: false });
    const [row] = snapshotRows(dir);
    const raw = encode(toSnapshot(live.runtime.warehouse.state)).byteLength;
    expect(row?.bytes).toBeLessThan(raw / 3);
    const db = new Database(warehousePaths(dir, ID).db, { readonly: true });
    try {
      expect(db.prepare('SELECT encoding FROM snapshots').all()).toEqual([{ encoding: SNAPSHOT_ENCODING }]);
    } finally {
      db.close();
    }
    const recovered = expectRecovered(dir, clock, liveBytes);
    expect(recovered.recovery.snapshot?.walSeq).toBe(row?.walSeq);
    await recovered.close({ snapshot: false });
  });

  it('loads a file from before deflating (plain msgpack rows, no encoding column), read-only and when written to', async () => {
    const dir = makeTempDir('snap-old');
    const clock = new ManualClock();
    const live = open(dir, clock, 'off');
    await submitAll(live, catalogCommands('cat'));
    await driveMix(live, new CommandMix(9, 'mix'), clock, 200);
    await live.close({ snapshot: false });
    const state = live.runtime.warehouse.state;
    const liveBytes = stateBytes(state);
    // The file as the earlier schema wrote it: a plain msgpack blob, no encoding column.
    const blob = Buffer.from(encode(toSnapshot(state)));
    const db = new Database(warehousePaths(dir, ID).db);
    try {
      db.exec(`DROP TABLE IF EXISTS snapshots; CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, wal_seq INTEGER NOT NULL,
        at_ms INTEGER NOT NULL, origin TEXT NOT NULL, sku_count INTEGER NOT NULL,
        reservation_count INTEGER NOT NULL, checksum INTEGER NOT NULL, state BLOB NOT NULL)`);
      db.prepare(
        'INSERT INTO snapshots (wal_seq, at_ms, origin, sku_count, reservation_count, checksum, state) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(state.lastSeq, state.lastAtMs, 'checkpoint', 0, 0, crc32(blob), blob);
    } finally {
      db.close();
    }
    const readOnly = SnapshotStore.openReadOnly(warehousePaths(dir, ID).db);
    try {
      expect(readOnly?.loadNewest()?.row.walSeq).toBe(state.lastSeq);
    } finally {
      readOnly?.close();
    }
    // Recovery from it replays nothing; the close writes a deflated snapshot beside the old one.
    const recovered = expectRecovered(dir, clock, liveBytes);
    expect(recovered.recovery.wal.replayed).toBe(0);
    await recovered.close({ snapshot: false });
    const writing = open(dir, clock, 'inline');
    await writing.submit({ type: 'adjust', key: 'after-upgrade', sku: skuOf(0), delta: 1, reason: 'found' });
    await writing.close();
    const check = new Database(warehousePaths(dir, ID).db, { readonly: true });
    try {
      expect(check.prepare('SELECT encoding FROM snapshots ORDER BY id').all()).toEqual([
        { encoding: 'msgpack' },
        { encoding: SNAPSHOT_ENCODING },
      ]);
    } finally {
      check.close();
    }
    const again = open(dir, clock, 'off');
    expect(again.recovery.snapshot?.walSeq).toBe(state.lastSeq + 1);
    await again.close({ snapshot: false });
  });

  it('skips a row in an encoding it does not know, saying so', async () => {
    const dir = makeTempDir('snap-unknown');
    const clock = new ManualClock();
    const live = open(dir, clock, 'inline');
    await submitAll(live, catalogCommands('cat'));
    await live.checkpointNow();
    await live.close({ snapshot: false });
    const db = new Database(warehousePaths(dir, ID).db);
    try {
      db.prepare("UPDATE snapshots SET encoding = 'msgpack+zstd'").run();
    } finally {
      db.close();
    }
    const store = SnapshotStore.openReadOnly(warehousePaths(dir, ID).db);
    try {
      const damaged: string[] = [];
      expect(store?.loadNewest((_row, reason) => damaged.push(reason))).toBeUndefined();
      expect(damaged).toEqual(['unknown encoding msgpack+zstd']);
    } finally {
      store?.close();
    }
  });
});

describe('the recovery report', () => {
  it('shows a damaged last record that recovery cut as a torn tail, and refuses one a mark says was synced', async () => {
    const dir = makeTempDir('snap-cut');
    const clock = new ManualClock();
    const first = open(dir, clock, 'off');
    await submitAll(first, catalogCommands('cat'));
    await first.close({ snapshot: false });
    const lastSeq = first.runtime.lastSeq;
    const [segment] = listSegments(warehousePaths(dir, ID).wal);
    if (segment === undefined) throw new Error('no segment');
    const last = walFormat.scanSegment(fs.readFileSync(segment.file)).frames.at(-1);
    if (last === undefined) throw new Error('no frame');
    const fd = fs.openSync(segment.file, 'r+');
    fs.writeSync(fd, Buffer.from([0xee]), 0, 1, last.bodyStart + 4);
    fs.closeSync(fd);
    // Its sync returned, and the durable mark after it says so: an acknowledged record is damaged.
    expect(() => open(dir, clock, 'off')).toThrow(WalCorruptionError);

    // Without that mark (a crash before the sync returned), it is a torn tail: cut, and reported.
    fs.truncateSync(segment.file, last.bodyEnd);
    const recovered = open(dir, clock, 'off');
    expect(recovered.recovery.wal).toMatchObject({
      lastSeq: lastSeq - 1,
      truncatedBytes: last.bodyEnd - last.offset,
      truncatedRecords: 1,
    });
    expect(recovered.runtime.lastSeq).toBe(lastSeq - 1);
    await recovered.close({ snapshot: false });
  });
});

/** A runtime over a WAL with small segments, built from the same parts DurableWarehouse uses. */
function smallSegmentWarehouse(dir: string, clock: ManualClock, kind: 'inline' | 'worker') {
  const walDir = warehousePaths(dir, ID).wal;
  const { wal } = Wal.open(walDir, { afterSeq: 0, segmentBytesMax: SEGMENT_BYTES });
  const options = { dataDir: dir, warehouseId: ID, wal };
  const checkpointer = kind === 'inline' ? new InlineCheckpointer(options) : new WorkerCheckpointer(options);
  const errors: unknown[] = [];
  const runtime = new WarehouseRuntime(new Warehouse(ID, { assertInvariants: true }), {
    log: wal,
    checkpointer,
    clock: clock.clock,
    onCheckpointError: (error) => errors.push(error),
  });
  const close = async () => {
    await runtime.close();
    await checkpointer.close();
    wal.close();
  };
  return { runtime, walDir, errors, close };
}

describe('WAL segments and snapshot fallbacks', () => {
  it.each(['inline', 'worker'] as const)(
    'drops segments only once a durable snapshot covers them, keeping what fallbacks need (%s)',
    async (kind) => {
      const dir = makeTempDir(`segments-${kind}`);
      const clock = new ManualClock();
      const { runtime, walDir, close } = smallSegmentWarehouse(dir, clock, kind);
      await submitAll(runtime, catalogCommands('cat'));
      const mix = new CommandMix(21, 'mix');
      await driveMix(runtime, mix, clock, 200);
      const unsnapshotted = listSegments(walDir);
      expect(unsnapshotted.length).toBeGreaterThan(5);
      expect(unsnapshotted[0]?.firstSeq).toBe(1);

      for (let i = 1; i <= SNAPSHOTS_KEPT + 2; i++) {
        await driveMix(runtime, mix, clock, 120);
        await runtime.checkpointNow();
        const rows = snapshotRows(dir);
        expect(rows).toHaveLength(Math.min(i, SNAPSHOTS_KEPT));
        expect(rows[0]?.walSeq).toBe(runtime.lastSeq);
        const oldestKept = Math.min(...rows.map((r) => r.walSeq));
        const [first, second] = listSegments(walDir);
        // The first segment on disk holds the record right after the oldest kept snapshot: every
        // segment before it is gone, and none that a kept snapshot would replay from.
        expect(first?.firstSeq).toBeLessThanOrEqual(oldestKept + 1);
        expect(second?.firstSeq ?? Number.POSITIVE_INFINITY).toBeGreaterThan(oldestKept + 1);
        for (const row of rows)
          expect(readWalRange(walDir, row.walSeq, runtime.lastSeq, () => undefined)).toBe(runtime.lastSeq);
      }
      await driveMix(runtime, mix, clock, 60);
      await close();
      const liveBytes = stateBytes(runtime.warehouse.state);

      // Damage both newer snapshots: recovery must fall back to the oldest kept one and replay.
      const rows = snapshotRows(dir);
      const [newest, middle, oldest] = rows;
      if (newest === undefined || middle === undefined || oldest === undefined) throw new Error('expected 3 snapshots');
      damageSnapshot(dir, newest.id, 'bytes');
      damageSnapshot(dir, middle.id, 'bytes');
      const recovered = expectRecovered(dir, clock, liveBytes);
      expect(recovered.recovery.damagedSnapshots.map((d) => d.id)).toEqual([newest.id, middle.id]);
      expect(recovered.recovery.snapshot?.id).toBe(oldest.id);
      expect(recovered.recovery.wal.replayed).toBe(runtime.lastSeq - oldest.walSeq);
      await recovered.close({ snapshot: false });
    },
  );

  it.each(['inline', 'worker'] as const)(
    'a checkpoint that fails (database locked) drops nothing and loses no ledger rows (%s)',
    async (kind) => {
      const dir = makeTempDir('segments-fail');
      const clock = new ManualClock();
      const { runtime, walDir, errors, close } = smallSegmentWarehouse(dir, clock, kind);
      await submitAll(runtime, catalogCommands('cat'));
      const mix = new CommandMix(5, 'mix');
      await driveMix(runtime, mix, clock, 200);
      await runtime.checkpointNow();
      await driveMix(runtime, mix, clock, 150);
      const segments = listSegments(walDir).map((s) => s.file);
      // Another connection holds the write lock past the store's busy timeout (SNAPSHOT_BUSY_TIMEOUT_MS,
      // not better-sqlite3's default of 5 s): the checkpoint fails with an error that says so.
      const blocker = new Database(warehousePaths(dir, ID).db);
      blocker.exec('BEGIN IMMEDIATE');
      try {
        await runtime.checkpointNow();
      } finally {
        blocker.exec('ROLLBACK');
        blocker.close();
      }
      const locked = `locked by another connection for ${SNAPSHOT_BUSY_TIMEOUT_MS} ms: database is locked`;
      expect(errors.map(String)).toEqual([expect.stringContaining(locked)]);
      expect(listSegments(walDir).map((s) => s.file)).toEqual(segments);
      expect(snapshotRows(dir)).toHaveLength(1);

      await driveMix(runtime, mix, clock, 40);
      await runtime.checkpointNow();
      await close();
      expect(errors).toHaveLength(1);
      const verification = verifyWarehouse(dir, ID);
      expect(verification.ledgerComplete).toBe(true);
      expect(verification.mismatches).toEqual([]);
      expect(verification.snapshot?.walSeq).toBe(runtime.lastSeq);
    },
    30_000,
  );

  it.each([
    ['bytes', /^checksum mismatch$/],
    ['undecodable', /^undecodable/],
  ] as const)('falls back past a newest snapshot with damaged %s and reports it', async (how, reason) => {
    const dir = makeTempDir('snap-damaged');
    const clock = new ManualClock();
    const live = open(dir, clock, 'inline');
    await submitAll(live, catalogCommands('cat'));
    const mix = new CommandMix(11, 'mix');
    await driveMix(live, mix, clock, 200);
    await live.checkpointNow();
    const olderSeq = live.runtime.lastSeq;
    await driveMix(live, mix, clock, 200);
    await live.checkpointNow();
    await driveMix(live, mix, clock, 100);
    await live.close({ snapshot: false });
    const liveBytes = stateBytes(live.runtime.warehouse.state);
    const newest = snapshotRows(dir)[0];
    if (newest === undefined) throw new Error('no snapshot');
    damageSnapshot(dir, newest.id, how);

    const recovered = expectRecovered(dir, clock, liveBytes);
    expect(recovered.recovery.damagedSnapshots).toEqual([{ id: newest.id, reason: expect.stringMatching(reason) }]);
    expect(recovered.recovery.snapshot?.walSeq).toBe(olderSeq);
    expect(recovered.recovery.wal.replayed).toBe(live.runtime.lastSeq - olderSeq);
    await recovered.close({ snapshot: false });
    // A new snapshot supersedes the damaged one.
    const healed = open(dir, clock, 'inline');
    await healed.close();
    const after = expectRecovered(dir, clock, liveBytes);
    expect(after.recovery.damagedSnapshots).toEqual([]);
    expect(after.recovery.wal.replayed).toBe(0);
    await after.close({ snapshot: false });
  });
});

describe('idempotency across restarts', () => {
  it.each([
    ['the WAL alone', false],
    ['a snapshot', true],
  ])('answers a repeated key from %s with the first result', async (_how, snapshot) => {
    const dir = makeTempDir('idem');
    const clock = new ManualClock();
    const first = open(dir, clock, 'inline');
    await submitAll(first, catalogCommands('cat'));
    const reserve = { type: 'reserve', key: 'order-77', lines: [{ sku: skuOf(3), quantity: 2 }], ttlMs: 600_000 };
    const tooBig = { type: 'reserve', key: 'order-78', lines: [{ sku: skuOf(4), quantity: 500 }], ttlMs: 600_000 };
    const reserved = await first.submit(reserve);
    const short = await first.submit(tooBig);
    expect(reserved.ok && reserved.value.kind).toBe('reserved');
    expect(!short.ok && short.error.code).toBe('INSUFFICIENT_STOCK');
    await first.close({ snapshot });

    const again = open(dir, clock, 'inline');
    expect(again.recovery.wal.replayed).toBe(snapshot ? 0 : again.runtime.lastSeq);
    const reservations = again.runtime.warehouse.state.reservations.size;
    // Stock arrives in between: the retried short order still gets its first answer.
    await submitAll(again, [
      { type: 'receipt', key: 'rc-big', receiptId: 'rc-big', lines: [{ sku: skuOf(4), quantity: 900 }] },
    ]);
    expect(await again.submit(reserve)).toEqual(reserved);
    expect(await again.submit(tooBig)).toEqual(short);
    expect(again.query({ type: 'command', key: 'order-77' })).toEqual({ ok: true, value: reserved });
    const conflict: Result = await again.submit({ ...reserve, lines: [{ sku: skuOf(3), quantity: 3 }] });
    expect(!conflict.ok && conflict.error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(again.runtime.warehouse.state.reservations.size).toBe(reservations);
    await again.close({ snapshot: false });
  });
});
