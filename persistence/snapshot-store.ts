/**
 * The SQLite file of one warehouse (better-sqlite3): snapshots of the whole warehouse state as
 * checksummed blobs (msgpack, deflated: `SNAPSHOT_ENCODING`) with the WAL position they cover, and
 * the append-only inventory ledger.
 * A snapshot and the ledger rows up to it are written in one transaction, so either both are
 * durable or neither is (synchronous=FULL). The newest snapshots are kept, older ones pruned.
 * Tools that only look (inspect, verify) open it read-only and never create it.
 */
import * as fs from 'node:fs';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { decode, encode, type LedgerEntry, type WarehouseSnapshot } from '../engine/index.ts';

/**
 * How snapshots are stored: msgpack, then raw deflate at level 1. A state is mostly repeated keys and
 * similar records (a warehouse after half a million reservations: 114 MB of msgpack, 13 MB deflated
 * in 0.3 s, inflated in 0.2 s), and every byte a snapshot writes competes with the WAL's fdatasync
 * on the same disk. Rows written before this kept plain msgpack (`encoding` 'msgpack') and still load.
 */
export const SNAPSHOT_ENCODING = 'msgpack+deflate';
const SNAPSHOT_DEFLATE_LEVEL = 1;

/** How many snapshots stay in the file: the newest plus fallbacks should it be damaged. */
export const SNAPSHOTS_KEPT = 3;

/**
 * How long a statement waits for another connection's lock before failing (better-sqlite3's default
 * is 5 s). An inline checkpoint blocks its thread for this long at most; a failed checkpoint loses
 * nothing (the WAL keeps every record), so failing soon beats stalling the command loop.
 */
export const SNAPSHOT_BUSY_TIMEOUT_MS = 1_000;

/** Another connection held the database's write lock past SNAPSHOT_BUSY_TIMEOUT_MS. */
export class SnapshotStoreBusyError extends Error {
  constructor(
    readonly file: string,
    readonly busyTimeoutMs: number,
    cause: Error,
  ) {
    super(`${file} stayed locked by another connection for ${busyTimeoutMs} ms: ${cause.message}`, { cause });
    this.name = 'SnapshotStoreBusyError';
  }
}

export interface SnapshotRow {
  id: number;
  walSeq: number;
  atMs: number;
  origin: string;
  skuCount: number;
  reservationCount: number;
  bytes: number;
}

export interface LoadedSnapshot {
  row: SnapshotRow;
  snapshot: WarehouseSnapshot;
}

/** Stock summed from the ledger, per SKU. */
export interface LedgerTotals {
  onHand: number;
  reserved: number;
  entries: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  wal_seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  origin TEXT NOT NULL,
  sku_count INTEGER NOT NULL,
  reservation_count INTEGER NOT NULL,
  checksum INTEGER NOT NULL,
  state BLOB NOT NULL,
  encoding TEXT NOT NULL DEFAULT 'msgpack'
);
CREATE TABLE IF NOT EXISTS ledger (
  ledger_seq INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  sku TEXT NOT NULL,
  on_hand_delta INTEGER NOT NULL,
  reserved_delta INTEGER NOT NULL,
  reason TEXT NOT NULL,
  reference TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_by_seq ON ledger (seq);
`;

const ROW_COLUMNS =
  'id, wal_seq AS walSeq, at_ms AS atMs, origin, sku_count AS skuCount, reservation_count AS reservationCount, length(state) AS bytes';

export class SnapshotStore {
  private readonly db: Database.Database;
  /** False for a file from before snapshots were deflated, opened read-only (not migrated). */
  private readonly hasEncoding: boolean;

  /** Opens (or creates) the store; with `readOnly`, opens an existing file without writing to it. */
  constructor(
    readonly file: string,
    options: { readOnly?: boolean } = {},
  ) {
    if (options.readOnly === true) {
      this.db = new Database(file, { readonly: true, fileMustExist: true, timeout: SNAPSHOT_BUSY_TIMEOUT_MS });
      this.hasEncoding = this.encodingColumnExists();
      return;
    }
    this.db = new Database(file, { timeout: SNAPSHOT_BUSY_TIMEOUT_MS });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    // A file from before snapshots were deflated: its rows are plain msgpack, the column's default.
    if (!this.encodingColumnExists()) {
      this.db.exec("ALTER TABLE snapshots ADD COLUMN encoding TEXT NOT NULL DEFAULT 'msgpack'");
    }
    this.hasEncoding = true;
  }

  private encodingColumnExists(): boolean {
    const columns = this.db.prepare('PRAGMA table_info(snapshots)').all() as { name: string }[];
    return columns.some((c) => c.name === 'encoding');
  }

  /**
   * Opens an existing store read-only, or undefined when there is none: no file, or a file a crash
   * left before its tables were created. Creates no database and writes nothing (`write` fails);
   * SQLite may leave empty -wal and -shm files beside the file.
   */
  static openReadOnly(file: string): SnapshotStore | undefined {
    if (!fs.existsSync(file)) return undefined;
    const store = new SnapshotStore(file, { readOnly: true });
    if (store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshots'").get()) return store;
    store.close();
    return undefined;
  }

  /** Writes the ledger rows and the snapshot in one durable transaction; prunes old snapshots. */
  write(snapshot: WarehouseSnapshot, ledger: readonly LedgerEntry[], origin = 'checkpoint'): SnapshotRow {
    const blob = deflateRawSync(encode(snapshot), { level: SNAPSHOT_DEFLATE_LEVEL });
    const insertLedger = this.db.prepare(
      'INSERT OR IGNORE INTO ledger VALUES (@ledgerSeq, @seq, @atMs, @sku, @onHandDelta, @reservedDelta, @reason, @reference)',
    );
    const insertSnapshot = this.db.prepare(
      'INSERT INTO snapshots (wal_seq, at_ms, origin, sku_count, reservation_count, checksum, state, encoding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const write = this.db.transaction(() => {
      for (const entry of ledger) insertLedger.run(entry);
      const info = insertSnapshot.run(
        snapshot.lastSeq,
        snapshot.lastAtMs,
        origin,
        snapshot.skus.length,
        snapshot.reservations.length,
        crc32(blob),
        blob,
        SNAPSHOT_ENCODING,
      );
      this.db
        .prepare('DELETE FROM snapshots WHERE id NOT IN (SELECT id FROM snapshots ORDER BY id DESC LIMIT ?)')
        .run(SNAPSHOTS_KEPT);
      return Number(info.lastInsertRowid);
    });
    let id: number;
    try {
      id = write();
    } catch (error) {
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_BUSY') {
        throw new SnapshotStoreBusyError(this.file, SNAPSHOT_BUSY_TIMEOUT_MS, error);
      }
      throw error;
    }
    return this.rows().find((r) => r.id === id) as SnapshotRow;
  }

  /** The WAL position of the oldest snapshot kept: the log must be kept from just after it. */
  oldestKeptWalSeq(): number {
    const rows = this.rows();
    return rows.length === 0 ? 0 : Math.min(...rows.map((r) => r.walSeq));
  }

  /** The snapshots in the file, newest first. */
  rows(): SnapshotRow[] {
    return this.db.prepare(`SELECT ${ROW_COLUMNS} FROM snapshots ORDER BY id DESC`).all() as SnapshotRow[];
  }

  /**
   * The newest snapshot whose checksum holds and whose blob decodes; damaged ones are skipped and
   * reported through `onDamaged`. Undefined when there is none.
   */
  loadNewest(onDamaged?: (row: SnapshotRow, reason: string) => void): LoadedSnapshot | undefined {
    for (const row of this.rows()) {
      const loaded = this.load(row.id);
      if (typeof loaded === 'string') onDamaged?.(row, loaded);
      else return loaded;
    }
    return undefined;
  }

  /** Loads one snapshot, or says why it cannot be used. */
  load(id: number): LoadedSnapshot | string {
    const encoding = this.hasEncoding ? 'encoding' : "'msgpack' AS encoding";
    const raw = this.db
      .prepare(`SELECT ${ROW_COLUMNS}, checksum, state, ${encoding} FROM snapshots WHERE id = ?`)
      .get(id) as (SnapshotRow & { checksum: number; state: Buffer; encoding: string }) | undefined;
    if (raw === undefined) return 'missing';
    if (crc32(raw.state) !== raw.checksum) return 'checksum mismatch';
    if (raw.encoding !== SNAPSHOT_ENCODING && raw.encoding !== 'msgpack') return `unknown encoding ${raw.encoding}`;
    try {
      const packed = raw.encoding === SNAPSHOT_ENCODING ? inflateRawSync(raw.state) : raw.state;
      const snapshot = decode(packed) as WarehouseSnapshot;
      const { checksum: _c, state: _s, encoding: _e, ...row } = raw;
      return { row, snapshot };
    } catch (error) {
      return `undecodable: ${(error as Error).message}`;
    }
  }

  /** On hand and reserved per SKU summed over the ledger rows of commands up to `throughSeq`. */
  ledgerTotals(throughSeq: number): Map<string, LedgerTotals> {
    const rows = this.db
      .prepare(
        `SELECT sku, SUM(on_hand_delta) AS onHand, SUM(reserved_delta) AS reserved, COUNT(*) AS entries
         FROM ledger WHERE seq <= ? GROUP BY sku`,
      )
      .all(throughSeq) as ({ sku: string } & LedgerTotals)[];
    return new Map(rows.map((r) => [r.sku, { onHand: r.onHand, reserved: r.reserved, entries: r.entries }]));
  }

  /** How many ledger rows have a ledger sequence at or below `ledgerSeq` (equals it when none is missing). */
  ledgerRowsThrough(ledgerSeq: number): number {
    const r = this.db.prepare('SELECT COUNT(*) AS n FROM ledger WHERE ledger_seq <= ?').get(ledgerSeq) as { n: number };
    return r.n;
  }

  /** Number of ledger rows and the highest ledger sequence stored. */
  ledgerStats(): { rows: number; lastLedgerSeq: number } {
    const r = this.db.prepare('SELECT COUNT(*) AS rows, COALESCE(MAX(ledger_seq), 0) AS last FROM ledger').get() as {
      rows: number;
      last: number;
    };
    return { rows: r.rows, lastLedgerSeq: r.last };
  }

  close(): void {
    this.db.close();
  }
}
