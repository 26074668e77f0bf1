/**
 * Reference measurements that do not use darkstore, taken in the same run as the engine so every
 * ratio compares numbers from the same machine and moment: SQLite (better-sqlite3) doing the
 * workload's reservations as conditional UPDATEs, one durable transaction each, and the raw cost of
 * appending 256 bytes and fdatasyncing them. Performs file I/O only inside the suite's temp dirs.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fmt, measure } from './measure.ts';
import type { Row, SuiteContext } from './suite.ts';
import { STOCK_PER_SKU, type Workload } from './workload.ts';

/** Bytes per raw append: about one encoded reserve command. */
const FSYNC_RECORD_BYTES = 256;

function budget(ctx: SuiteContext, fullMs: number): { timeMs: number; warmupMs: number } {
  return ctx.quick ? { timeMs: 300, warmupMs: 50 } : { timeMs: fullMs, warmupMs: 300 };
}

/**
 * `baseline.sqlite.reserve`: the workload's reservations done by SQLite on a real file, WAL mode,
 * synchronous=FULL (every commit fsyncs the WAL, the same durability as the engine's group commit
 * per batch), each reservation one transaction with a conditional UPDATE whose change count says
 * whether it fitted.
 */
export async function sqliteReserveRows(ctx: SuiteContext, workload: Workload): Promise<Row[]> {
  const db = new Database(join(ctx.tempDir('darkstore-bench-sqlite-'), 'stock.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const journal = db.pragma('journal_mode', { simple: true });
    const synchronous = db.pragma('synchronous', { simple: true });
    if (journal !== 'wal' || synchronous !== 2) throw new Error(`sqlite is ${journal}/${synchronous}, not wal/FULL`);
    db.exec(
      'CREATE TABLE stock (sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL) WITHOUT ROWID',
    );
    const insert = db.prepare('INSERT INTO stock (sku, on_hand, reserved) VALUES (?, ?, 0)');
    db.transaction(() => {
      for (const sku of workload.skus) insert.run(sku, STOCK_PER_SKU);
    })();
    const update = db.prepare('UPDATE stock SET reserved = reserved + ? WHERE sku = ? AND on_hand - reserved >= ?');
    let short = 0;
    const reserve = db.transaction((sku: string, quantity: number) => {
      if (update.run(quantity, sku, quantity).changes !== 1) short++;
    });
    const m = await measure(
      'baseline.sqlite.reserve',
      () => {
        const line = workload.nextLine();
        reserve(line.sku, line.quantity);
      },
      { opsPerCall: 1, ...budget(ctx, 3_000) },
    );
    if (short > 0) throw new Error(`sqlite baseline ran short of stock ${short} times: the workload is too small`);
    const version = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    return [
      {
        id: 'baseline.sqlite.reserve',
        value: m.opsPerSec,
        unit: 'ops/s',
        note:
          `SQLite ${version} via better-sqlite3, WAL, synchronous=FULL, one transaction per reservation; ` +
          `${fmt(m.calls)} reservations, mean ${fmt(m.opMeanUs, 1)} µs, p99 ${fmt(m.opP99Us, 1)} µs.`,
      },
    ];
  } finally {
    db.close();
  }
}

/** `baseline.fsync.append`: what one durable append costs on this disk, the floor of any WAL. */
export async function fsyncAppendRows(ctx: SuiteContext): Promise<Row[]> {
  const fd = openSync(join(ctx.tempDir('darkstore-bench-fsync-'), 'append.log'), 'a');
  try {
    const record = Buffer.alloc(FSYNC_RECORD_BYTES, 0x61);
    const m = await measure(
      'baseline.fsync.append',
      () => {
        writeSync(fd, record);
        fdatasyncSync(fd);
      },
      { opsPerCall: 1, ...budget(ctx, 2_000) },
    );
    return [
      {
        id: 'baseline.fsync.append',
        value: m.opMeanUs,
        unit: 'µs',
        note: `append ${FSYNC_RECORD_BYTES} bytes + fdatasync, ${fmt(m.calls)} times; p99 ${fmt(m.opP99Us, 1)} µs.`,
      },
      { id: 'baseline.fsync.append.ops', value: m.opsPerSec, unit: 'ops/s' },
    ];
  } finally {
    closeSync(fd);
  }
}
