/**
 * Commands that record physical facts and catalog changes: SKU definition, supplier receipts,
 * adjustments, cycle counts and in-store POS sales. Physical facts are always recorded, even when
 * they leave on hand below reserved: that raises `reservation.at_risk` instead of failing.
 * Pure functions of (state, command, stamp); never perform I/O.
 */
import { idempotencyConflict, limitExceeded, notFound } from './errors.ts';
import { fingerprint } from './fingerprint.ts';
import { POS_PENDING_SEQS_MAX, POS_SKIPPED_RANGES_MAX, POS_SOURCES_MAX, SKUS_PER_WAREHOUSE_MAX } from './limits.ts';
import type { CommandContext, PosSource, WarehouseState } from './state.ts';
import type {
  AdjustCommand,
  CountCommand,
  PosSaleCommand,
  QuantityLine,
  ReceiptCommand,
  Result,
  SkuRecord,
  SkuUpsertCommand,
} from './types.ts';

type Movement = { sku: string; onHandDelta: number; version: number };

function stockResult(movements: Movement[], duplicate: boolean): Result {
  return { ok: true, value: { kind: 'stock', movements, duplicate } };
}

/** Returns the records of all lines, or the NOT_FOUND of the first unknown SKU. */
function recordsOf(state: WarehouseState, lines: QuantityLine[]): SkuRecord[] | Result {
  const records: SkuRecord[] = [];
  for (const line of lines) {
    const record = state.skus.get(line.sku);
    if (record === undefined) return { ok: false, error: notFound('sku', line.sku) };
    records.push(record);
  }
  return records;
}

function sameDefinition(record: SkuRecord, cmd: SkuUpsertCommand): boolean {
  const a = record.location;
  const b = cmd.location;
  return (
    record.ownerId === cmd.ownerId &&
    record.name === cmd.name &&
    record.priceCents === cmd.priceCents &&
    record.safetyStock === cmd.safetyStock &&
    a.zone === b.zone &&
    a.aisle === b.aisle &&
    a.bay === b.bay &&
    a.level === b.level &&
    record.substitutes.length === cmd.substitutes.length &&
    record.substitutes.every((s, i) => s === cmd.substitutes[i])
  );
}

export function applySkuUpsert(state: WarehouseState, ctx: CommandContext, cmd: SkuUpsertCommand): Result {
  let record = state.skus.get(cmd.sku);
  if (record === undefined) {
    if (state.skus.size >= SKUS_PER_WAREHOUSE_MAX) {
      return { ok: false, error: limitExceeded('SKUS_PER_WAREHOUSE_MAX', SKUS_PER_WAREHOUSE_MAX) };
    }
    record = {
      sku: cmd.sku,
      ownerId: '',
      name: '',
      priceCents: 0,
      location: cmd.location,
      onHand: 0,
      reserved: 0,
      safetyStock: 0,
      substitutes: [],
      version: 0,
    };
    state.skus.set(cmd.sku, record);
    ctx.touched.set(cmd.sku, Number.NaN); // a new SKU always announces its availability
    record.version = ++state.versionCounter;
  } else if (sameDefinition(record, cmd)) {
    // A catalog re-sync that changes nothing must not raise the version (and break expectedVersion).
    return { ok: true, value: { kind: 'sku', sku: cmd.sku, version: record.version } };
  } else {
    state.touch(ctx, record);
  }
  record.ownerId = cmd.ownerId;
  record.name = cmd.name;
  record.priceCents = cmd.priceCents;
  record.location = { ...cmd.location };
  record.safetyStock = cmd.safetyStock;
  record.substitutes = [...cmd.substitutes];
  return { ok: true, value: { kind: 'sku', sku: cmd.sku, version: record.version } };
}

export function applyReceipt(state: WarehouseState, ctx: CommandContext, cmd: ReceiptCommand): Result {
  const earlier = state.receipts.get(cmd.receiptId);
  if (earlier !== undefined) {
    if (earlier.fingerprint !== fingerprint(cmd.lines)) return { ok: false, error: idempotencyConflict(cmd.receiptId) };
    return stockResult([], true);
  }
  const records = recordsOf(state, cmd.lines);
  if (!Array.isArray(records)) return records;
  const movements: Movement[] = [];
  cmd.lines.forEach((line, i) => {
    const record = records[i] as SkuRecord;
    state.moveStock(ctx, record, line.quantity, 0, 'receipt', cmd.receiptId);
    movements.push({ sku: line.sku, onHandDelta: line.quantity, version: record.version });
  });
  state.receipts.add(cmd.receiptId, { atMs: ctx.atMs, fingerprint: fingerprint(cmd.lines) });
  return stockResult(movements, false);
}

export function applyAdjust(state: WarehouseState, ctx: CommandContext, cmd: AdjustCommand): Result {
  const record = state.skus.get(cmd.sku);
  if (record === undefined) return { ok: false, error: notFound('sku', cmd.sku) };
  state.moveStock(ctx, record, cmd.delta, 0, cmd.reason, cmd.key);
  if (cmd.delta < 0) state.checkAtRisk(record);
  return stockResult([{ sku: cmd.sku, onHandDelta: cmd.delta, version: record.version }], false);
}

/** A cycle count is absolute: the correction recorded is the drift between shelf and books. */
export function applyCount(state: WarehouseState, ctx: CommandContext, cmd: CountCommand): Result {
  const record = state.skus.get(cmd.sku);
  if (record === undefined) return { ok: false, error: notFound('sku', cmd.sku) };
  const drift = cmd.counted - record.onHand;
  if (drift === 0) return stockResult([{ sku: cmd.sku, onHandDelta: 0, version: record.version }], false);
  state.moveStock(ctx, record, drift, 0, 'count_drift', cmd.key);
  if (drift < 0) state.checkAtRisk(record);
  return stockResult([{ sku: cmd.sku, onHandDelta: drift, version: record.version }], false);
}

/** Seen before: true; new: false; or the index of the lost gap it fills. */
function posSeen(source: PosSource, seq: number): boolean | number {
  if (seq > source.watermark) return source.seen.has(seq);
  const gap = skippedRange(source, seq);
  return gap < 0 ? true : gap;
}

/** Which of the source's lost gaps holds `seq` (-1: none). */
function skippedRange(source: PosSource, seq: number): number {
  const ranges = source.skipped;
  for (let i = 0; i < ranges.length; i++) {
    const [from, to] = ranges[i] as [number, number];
    if (seq >= from && seq <= to) return i;
  }
  return -1;
}

/** A sale of the lost gap `i` arrived after all: the gap no longer holds it (it may split in two). */
function posFilled(source: PosSource, seq: number, i: number): void {
  const [from, to] = source.skipped[i] as [number, number];
  const parts: [number, number][] = [];
  if (from < seq) parts.push([from, seq - 1]);
  if (seq < to) parts.push([seq + 1, to]);
  source.skipped.splice(i, 1, ...parts);
  if (source.skipped.length > POS_SKIPPED_RANGES_MAX) source.skipped.shift();
}

/** Records a POS sequence number; past the bound, declares the oldest gap lost and moves on. */
function posRecord(state: WarehouseState, sourceId: string, source: PosSource, seq: number, gap: number): void {
  if (gap >= 0) {
    posFilled(source, seq, gap);
    return;
  }
  source.seen.add(seq);
  // Advance first: a sequence number that fills the gap must not be counted as pending.
  while (source.seen.delete(source.watermark + 1)) source.watermark++;
  if (source.seen.size > POS_PENDING_SEQS_MAX) {
    let lowest = Number.POSITIVE_INFINITY;
    for (const s of source.seen) if (s < lowest) lowest = s;
    state.events.push({ type: 'pos.gap_skipped', sourceId, fromSeq: source.watermark + 1, toSeq: lowest - 1 });
    source.skipped.push([source.watermark + 1, lowest - 1]);
    if (source.skipped.length > POS_SKIPPED_RANGES_MAX) source.skipped.shift();
    source.watermark = lowest - 1;
    while (source.seen.delete(source.watermark + 1)) source.watermark++;
  }
}

/**
 * An in-store sale. Feeds arrive late, twice and out of order: (source, sequence) is recorded
 * once, whatever the idempotency key, and sales are deltas, so the order of arrival does not
 * matter.
 */
export function applyPosSale(state: WarehouseState, ctx: CommandContext, cmd: PosSaleCommand): Result {
  let source = state.posSources.get(cmd.sourceId);
  const seen = source === undefined ? false : posSeen(source, cmd.sourceSeq);
  if (seen === true) return stockResult([], true);
  const records = recordsOf(state, cmd.lines);
  if (!Array.isArray(records)) return records;
  if (source === undefined) {
    if (state.posSources.size >= POS_SOURCES_MAX) {
      return { ok: false, error: limitExceeded('POS_SOURCES_MAX', POS_SOURCES_MAX) };
    }
    source = { watermark: 0, seen: new Set(), skipped: [] };
    state.posSources.set(cmd.sourceId, source);
  }
  posRecord(state, cmd.sourceId, source, cmd.sourceSeq, seen === false ? -1 : seen);
  const reference = `${cmd.sourceId}#${cmd.sourceSeq}`;
  const movements: Movement[] = [];
  cmd.lines.forEach((line, i) => {
    const record = records[i] as SkuRecord;
    state.moveStock(ctx, record, -line.quantity, 0, 'pos_sale', reference);
    state.checkAtRisk(record);
    movements.push({ sku: line.sku, onHandDelta: -line.quantity, version: record.version });
  });
  return stockResult(movements, false);
}
