/**
 * A snapshot damaged by a bad bulk import: its checksum holds but some SKUs' on hand is wrong.
 * `verifyWarehouse` rebuilds stock from the append-only ledger, reports exactly those SKUs with both
 * figures, and with `repair` writes a rebuilt snapshot from which recovery gives back the true
 * state. Verify and inspect only look: they create no database where there is none, and inspect
 * reads its counts from the snapshot rows without decoding a snapshot. Also the `darkstore` command
 * line as a real child process: verify (exit 1 on a mismatch, 0 after --repair), inspect --json,
 * --help and usage errors (exit 2).
 */
import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { availableOf, checkAll, type WarehouseState } from '../../engine/index.ts';
import {
  DurableWarehouse,
  inspectDataDir,
  SnapshotStore,
  verifyDataDir,
  verifyWarehouse,
  Wal,
  warehousePaths,
} from '../../persistence/index.ts';
import {
  CommandMix,
  catalogCommands,
  driveMix,
  expectSameState,
  ManualClock,
  MIX_SKUS,
  makeTempDir,
  removeTempDirs,
  runCli,
  skuOf,
  stateBytes,
  submitAll,
} from './helpers.ts';

const ID = 'W1';

afterEach(removeTempDirs);

/** What the bad import did to one SKU. */
interface Altered {
  sku: string;
  trueOnHand: number;
  importedOnHand: number;
  reserved: number;
}

interface DamagedDir {
  dir: string;
  clock: ManualClock;
  liveBytes: Buffer;
  liveStock: ReturnType<typeof stockOf>;
  snapshotSeq: number;
  lastSeq: number;
  altered: Altered[];
}

/**
 * A warehouse with a checkpoint in the middle of a mix and more commands after it; then a "bulk
 * import" writes a snapshot whose checksum holds but whose on hand is wrong for three SKUs.
 */
async function damagedByBulkImport(label: string): Promise<DamagedDir> {
  const dir = makeTempDir(label);
  const clock = new ManualClock();
  const live = DurableWarehouse.open({ dataDir: dir, warehouseId: ID, checkpoint: 'inline', clock: clock.clock });
  await submitAll(live, catalogCommands('cat'));
  const mix = new CommandMix(17, 'mix');
  await driveMix(live, mix, clock, 300);
  await live.checkpointNow();
  const snapshotSeq = live.runtime.lastSeq;
  await driveMix(live, mix, clock, 60);
  await live.close({ snapshot: false });
  expect(verifyWarehouse(dir, ID).mismatches).toEqual([]);

  const store = new SnapshotStore(warehousePaths(dir, ID).db);
  const loaded = store.loadNewest();
  if (loaded === undefined) throw new Error('no snapshot to import over');
  const edits: [string, (onHand: number) => number][] = [
    [skuOf(2), (n) => n + 7],
    [skuOf(9), (n) => Math.max(0, n - 3) + 1_000],
    [skuOf(17), () => 0],
  ];
  const altered: Altered[] = [];
  for (const [sku, edit] of edits) {
    const record = loaded.snapshot.skus.find((s) => s.sku === sku);
    if (record === undefined) throw new Error(`${sku} missing`);
    const importedOnHand = edit(record.onHand);
    expect(importedOnHand).not.toBe(record.onHand);
    altered.push({ sku, trueOnHand: record.onHand, importedOnHand, reserved: record.reserved });
    record.onHand = importedOnHand;
  }
  store.write(loaded.snapshot, [], 'bulk-import');
  store.close();
  const liveState = live.runtime.warehouse.state;
  const liveBytes = stateBytes(liveState);
  return { dir, clock, liveBytes, liveStock: stockOf(liveState), snapshotSeq, lastSeq: liveState.lastSeq, altered };
}

/** The stock figures of every SKU, as readers see them. */
function stockOf(state: WarehouseState) {
  return [...state.skus.values()].map((r) => ({
    sku: r.sku,
    onHand: r.onHand,
    reserved: r.reserved,
    available: availableOf(r),
    version: r.version,
  }));
}

function expectedMismatches(altered: readonly Altered[]) {
  return altered.map((a) => ({
    sku: a.sku,
    snapshot: { onHand: a.importedOnHand, reserved: a.reserved },
    ledger: { onHand: a.trueOnHand, reserved: a.reserved },
    held: a.reserved,
  }));
}

describe('a snapshot damaged by a bad bulk import', () => {
  it('is reported SKU by SKU, rebuilt from the ledger, and recovery then gives the true stock', async () => {
    const { dir, clock, liveBytes, liveStock, snapshotSeq, altered } = await damagedByBulkImport('bulk');
    const found = verifyWarehouse(dir, ID);
    expect(found.snapshot).toMatchObject({ walSeq: snapshotSeq, origin: 'bulk-import' });
    expect(found.skusChecked).toBe(MIX_SKUS);
    expect(found.ledgerComplete).toBe(true);
    expect(found.damagedSnapshots).toEqual([]);
    expect(found.mismatches).toEqual(expectedMismatches(altered));
    expect(found.repaired).toBeUndefined();

    // Before the repair, recovery believes the import.
    const believed = DurableWarehouse.open({ dataDir: dir, warehouseId: ID, checkpoint: 'off', clock: clock.clock });
    const wrong = believed.runtime.warehouse.state.skus.get(skuOf(9));
    await believed.close({ snapshot: false });
    expect(wrong?.onHand).toBeGreaterThanOrEqual(1_000);

    const repair = verifyWarehouse(dir, ID, true);
    expect(repair.mismatches).toEqual(expectedMismatches(altered));
    expect(repair.repaired).toMatchObject({ walSeq: snapshotSeq, origin: 'verify-repair' });
    const clean = verifyWarehouse(dir, ID);
    expect(clean.mismatches).toEqual([]);
    expect(clean.snapshot?.id).toBe(repair.repaired?.id);

    const recovered = DurableWarehouse.open({
      dataDir: dir,
      warehouseId: ID,
      checkpoint: 'off',
      assertInvariants: true,
      clock: clock.clock,
    });
    const state = recovered.runtime.warehouse.state;
    checkAll(state);
    expect(stockOf(state)).toEqual(liveStock);
    expectSameState(stateBytes(state), liveBytes);
    await recovered.close({ snapshot: false });
  });

  it('cannot be repaired from a ledger that is missing rows, and says so', async () => {
    const { dir } = await damagedByBulkImport('bulk-noledger');
    // Take away ledger rows (as if the ledger had been truncated): rebuilding would be a guess.
    const sqlite = new Database(warehousePaths(dir, ID).db);
    sqlite
      .prepare('DELETE FROM ledger WHERE ledger_seq IN (SELECT ledger_seq FROM ledger ORDER BY ledger_seq LIMIT 5)')
      .run();
    sqlite.close();
    const attempt = verifyWarehouse(dir, ID, true);
    expect(attempt.ledgerComplete).toBe(false);
    expect(attempt.repaired).toBeUndefined();
    expect(verifyWarehouse(dir, ID).snapshot?.origin).toBe('bulk-import');
  });
});

describe('verify and inspect only look', () => {
  it('create no snapshot database for a warehouse that has none, or for one that does not exist', () => {
    const dir = makeTempDir('look-only');
    // A warehouse whose WAL exists but which never opened its snapshot file.
    const paths = warehousePaths(dir, 'W2');
    const { wal } = Wal.open(paths.wal, { afterSeq: 0 });
    wal.close();
    expect(inspectDataDir(dir)).toEqual([expect.objectContaining({ warehouseId: 'W2', snapshots: 0, ledgerRows: 0 })]);
    expect(verifyDataDir(dir)).toEqual([
      { warehouseId: 'W2', damagedSnapshots: [], skusChecked: 0, ledgerRows: 0, ledgerComplete: true, mismatches: [] },
    ]);
    expect(fs.existsSync(paths.db)).toBe(false);
    expect(verifyWarehouse(dir, 'nowhere')).toMatchObject({ warehouseId: 'nowhere', skusChecked: 0, mismatches: [] });
    expect(fs.readdirSync(dir)).toEqual(['W2']);
    // A crash right after creating the file, before its tables: nothing to read, and not an error.
    fs.writeFileSync(paths.db, '');
    expect(inspectDataDir(dir)).toEqual([expect.objectContaining({ warehouseId: 'W2', snapshots: 0 })]);
    expect(verifyWarehouse(dir, 'W2')).toMatchObject({ skusChecked: 0, mismatches: [] });
    expect(fs.statSync(paths.db).size).toBe(0);
  });

  it('inspect reads SKU and reservation counts from the snapshot row, never decoding it; verify does', async () => {
    const dir = makeTempDir('look-counts');
    const clock = new ManualClock();
    const live = DurableWarehouse.open({ dataDir: dir, warehouseId: ID, checkpoint: 'inline', clock: clock.clock });
    await submitAll(live, catalogCommands('cat'));
    await submitAll(live, [{ type: 'reserve', key: 'r-1', lines: [{ sku: skuOf(1), quantity: 2 }], ttlMs: 600_000 }]);
    await live.close();
    const sqlite = new Database(warehousePaths(dir, ID).db);
    const newest = sqlite.prepare('SELECT id FROM snapshots').get() as { id: number };
    // Replace the blob with bytes that are not a snapshot at all: only a reader of the blob notices.
    sqlite.prepare('UPDATE snapshots SET state = ? WHERE id = ?').run(Buffer.from([0xc1, 0xc1]), newest.id);
    sqlite.close();
    expect(inspectDataDir(dir)).toEqual([
      expect.objectContaining({
        snapshot: expect.objectContaining({ id: newest.id, skuCount: MIX_SKUS, reservationCount: 1, bytes: 2 }),
        snapshots: 1,
        skuCount: MIX_SKUS,
        openReservations: 1,
      }),
    ]);
    expect(verifyWarehouse(dir, ID).damagedSnapshots).toEqual([{ id: newest.id, reason: 'checksum mismatch' }]);
  });
});

describe('the darkstore command line', () => {
  it('verify exits 1 naming the damaged SKUs, --repair exits 0, then verify is clean', async () => {
    const { dir, altered } = await damagedByBulkImport('cli-verify');
    const found = await runCli(['verify', dir]);
    expect(found.code).toBe(1);
    for (const a of altered) {
      expect(found.stdout).toContain(
        `${a.sku}: snapshot onHand ${a.importedOnHand} reserved ${a.reserved}; ledger onHand ${a.trueOnHand}`,
      );
    }
    expect(found.stdout).toContain(`${ID}: ${MIX_SKUS} SKUs checked`);
    const json = await runCli(['verify', dir, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { warehouseId: string; mismatches: { sku: string }[] }[];
    expect(report.map((w) => [w.warehouseId, w.mismatches.map((m) => m.sku)])).toEqual([
      [ID, altered.map((a) => a.sku)],
    ]);

    const repaired = await runCli(['verify', dir, '--repair']);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/3 mismatch\(es\), rebuilt as snapshot \d+/);
    const clean = await runCli(['verify', dir]);
    expect([clean.code, clean.stdout]).toEqual([0, expect.stringContaining('0 mismatch(es)')]);
  });

  it('inspect --json gives snapshot seq, WAL records after it, warehouses and SKU count', async () => {
    const { dir, snapshotSeq, lastSeq } = await damagedByBulkImport('cli-inspect');
    // A second warehouse in the same data directory, with no snapshot yet.
    const clock = new ManualClock();
    const other = DurableWarehouse.open({ dataDir: dir, warehouseId: 'W2', checkpoint: 'off', clock: clock.clock });
    await submitAll(other, catalogCommands('w2').slice(0, 4));
    await other.close();
    const [json, text] = await Promise.all([runCli(['inspect', dir, '--json']), runCli(['inspect', dir])]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as unknown[];
    expect(report).toEqual(inspectDataDir(dir));
    expect(report).toEqual([
      expect.objectContaining({
        warehouseId: ID,
        snapshot: expect.objectContaining({ walSeq: snapshotSeq, origin: 'bulk-import' }),
        walRecordsAfterSnapshot: lastSeq - snapshotSeq,
        skuCount: MIX_SKUS,
      }),
      expect.objectContaining({ warehouseId: 'W2', snapshots: 0, walRecordsAfterSnapshot: 4, skuCount: 0 }),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${ID}: snapshot seq ${snapshotSeq}`);
    expect(text.stdout).toContain('W2: snapshot seq -');
  });

  it('answers --help with exit 0 and usage errors with exit 2', async () => {
    const [help, none, unknown, badFlag, noDir] = await Promise.all([
      runCli(['--help']),
      runCli([]),
      runCli(['frobnicate']),
      runCli(['inspect', makeTempDir('cli-flag'), '--bogus']),
      runCli(['verify']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage:');
    expect(help.stdout).toContain('darkstore verify DIR');
    expect(none.code).toBe(2);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('unknown command frobnicate')]);
    expect([badFlag.code, badFlag.stderr]).toEqual([2, expect.stringContaining('unknown option --bogus')]);
    expect([noDir.code, noDir.stderr]).toEqual([2, expect.stringContaining('a data directory is required')]);
  });
});
