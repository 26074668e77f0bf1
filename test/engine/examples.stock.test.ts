/**
 * Example tests pinning the physical-stock scenarios of the brief on the warehouse core: POS feeds
 * that arrive late, twice and out of order (and the bound on pending sequence numbers), supplier
 * receipts that arrive twice, cycle counts with drift, and physical decreases below reserved.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { decode, encode, fromSnapshot, limits, toSnapshot, type WarehouseSnapshot } from '../../engine/index.ts';
import { errorOf, eventsOfType, sameBytes, TestWarehouse } from './helpers.ts';

let w: TestWarehouse;

beforeEach(() => {
  w = new TestWarehouse();
  w.upsert('A');
  w.receive('A', 100);
});

function sale(sourceSeq: number, quantity = 1, sourceId = 'till-1'): unknown {
  return {
    type: 'pos.sale',
    key: `${sourceId}-${sourceSeq}-${w.key()}`,
    sourceId,
    sourceSeq,
    lines: [{ sku: 'A', quantity }],
  };
}

describe('POS feed', () => {
  it('counts each (source, sequence) once, whatever the order and however often it arrives', () => {
    const arrivals = [3, 3, 1, 1, 5, 2, 3, 4, 2, 5];
    const duplicates = arrivals.map((seq) => {
      const value = w.ok(sale(seq, seq));
      return value.kind === 'stock' && value.duplicate;
    });
    expect(duplicates).toEqual([false, true, false, true, false, false, true, false, true, true]);
    expect(w.stock('A').onHand).toBe(100 - (1 + 2 + 3 + 4 + 5));
    // Another till with the same sequence numbers is another feed.
    expect(w.ok(sale(1, 1, 'till-2'))).toMatchObject({ duplicate: false });
    expect(w.stock('A').onHand).toBe(84);
  });

  it('answers a duplicate with an empty, flagged result and records nothing', () => {
    w.ok(sale(1));
    const before = w.bytesWithoutStamp();
    expect(w.ok(sale(1))).toEqual({ kind: 'stock', movements: [], duplicate: true });
    expect(w.ledger).toEqual([]);
    expect(sameBytes(w.bytesWithoutStamp(), before)).toBe(true);
  });

  it('records the sale with its source reference in the ledger', () => {
    w.ok(sale(7, 4));
    expect(w.ledger).toMatchObject([
      { sku: 'A', onHandDelta: -4, reservedDelta: 0, reason: 'pos_sale', reference: 'till-1#7' },
    ]);
  });

  it('does not record the sequence of a sale refused for an unknown SKU', () => {
    const bad = {
      type: 'pos.sale',
      key: w.key(),
      sourceId: 'till-1',
      sourceSeq: 1,
      lines: [{ sku: 'nope', quantity: 1 }],
    };
    expect(errorOf(w.send(bad))).toMatchObject({ code: 'NOT_FOUND', kind: 'sku', id: 'nope' });
    expect(w.ok(sale(1))).toMatchObject({ duplicate: false });
  });

  it(`declares the oldest gap lost past POS_PENDING_SEQS_MAX pending sequence numbers`, () => {
    const max = limits.POS_PENDING_SEQS_MAX;
    // Sequence 1 never arrives: 2..max+1 are pending, which is exactly the bound.
    for (let seq = 2; seq <= max + 1; seq++) w.send(sale(seq));
    expect(eventsOfType(w.events, 'pos.gap_skipped')).toEqual([]);
    w.ok(sale(max + 2));
    expect(eventsOfType(w.events, 'pos.gap_skipped')).toEqual([
      { type: 'pos.gap_skipped', sourceId: 'till-1', fromSeq: 1, toSeq: 1 },
    ]);
    expect(w.warehouse.state.posSources.get('till-1')).toMatchObject({ watermark: max + 2 });
    expect(w.warehouse.state.posSources.get('till-1')?.seen.size).toBe(0);
    expect(w.warehouse.state.posSources.get('till-1')?.skipped).toEqual([[1, 1]]);
    // The lost sale arriving after all is applied, once: the till sold it, the shelf is short of it.
    expect(w.ok(sale(1))).toMatchObject({ duplicate: false });
    expect(w.ok(sale(1))).toMatchObject({ duplicate: true });
    expect(w.stock('A').onHand).toBe(100 - (max + 2));
    expect(w.warehouse.state.posSources.get('till-1')?.skipped).toEqual([]);
  });

  it('keeps a lost gap across a snapshot and splits it as its sales arrive; an older snapshot keeps none', () => {
    const max = limits.POS_PENDING_SEQS_MAX;
    // Sales 1..3 never come: 4..max+4 pending, one over the bound.
    for (let seq = 4; seq <= max + 4; seq++) w.send(sale(seq));
    expect(w.warehouse.state.posSources.get('till-1')?.skipped).toEqual([[1, 3]]);
    const restored = fromSnapshot(decode(encode(toSnapshot(w.warehouse.state))) as WarehouseSnapshot);
    expect(restored.posSources.get('till-1')?.skipped).toEqual([[1, 3]]);
    expect(w.ok(sale(2))).toMatchObject({ duplicate: false });
    expect(w.warehouse.state.posSources.get('till-1')?.skipped).toEqual([
      [1, 1],
      [3, 3],
    ]);
    // A snapshot from before the gaps were kept reads as none kept.
    const older = toSnapshot(w.warehouse.state);
    older.posSources = older.posSources.map(([id, watermark, seen]) => [id, watermark, seen]);
    expect(fromSnapshot(decode(encode(older)) as WarehouseSnapshot).posSources.get('till-1')?.skipped).toEqual([]);
  });

  it('fills a gap at the bound without declaring anything lost', () => {
    const max = limits.POS_PENDING_SEQS_MAX;
    for (let seq = 2; seq <= max + 1; seq++) w.send(sale(seq));
    w.ok(sale(1));
    expect(eventsOfType(w.events, 'pos.gap_skipped')).toEqual([]);
    expect(w.warehouse.state.posSources.get('till-1')).toMatchObject({ watermark: max + 1 });
  });
});

describe('receipts', () => {
  it('counts a receipt arriving twice once, under any key', () => {
    const receipt = { type: 'receipt', receiptId: 'asn-77', lines: [{ sku: 'A', quantity: 12 }] };
    expect(w.ok({ ...receipt, key: w.key() })).toMatchObject({
      duplicate: false,
      movements: [{ sku: 'A', onHandDelta: 12 }],
    });
    expect(w.ok({ ...receipt, key: w.key() })).toEqual({ kind: 'stock', movements: [], duplicate: true });
    expect(w.stock('A').onHand).toBe(112);
    expect(w.ledger).toEqual([]);
  });

  it('refuses a receipt id reused with different lines', () => {
    w.ok({ type: 'receipt', key: w.key(), receiptId: 'asn-78', lines: [{ sku: 'A', quantity: 12 }] });
    const changed = { type: 'receipt', key: w.key(), receiptId: 'asn-78', lines: [{ sku: 'A', quantity: 13 }] };
    expect(errorOf(w.send(changed))).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', key: 'asn-78' });
    expect(w.stock('A').onHand).toBe(112);
  });

  it('refuses a receipt naming an unknown SKU without moving any line', () => {
    const lines = [
      { sku: 'A', quantity: 1 },
      { sku: 'ghost', quantity: 1 },
    ];
    expect(errorOf(w.send({ type: 'receipt', key: w.key(), receiptId: 'asn-79', lines }))).toMatchObject({
      code: 'NOT_FOUND',
      id: 'ghost',
    });
    expect(w.stock('A').onHand).toBe(100);
  });
});

describe('cycle counts and adjustments', () => {
  it('records the drift between shelf and books as count_drift', () => {
    expect(w.ok({ type: 'count', key: 'count-1', sku: 'A', counted: 93 })).toMatchObject({
      movements: [{ sku: 'A', onHandDelta: -7 }],
    });
    expect(w.ledger).toMatchObject([
      { sku: 'A', onHandDelta: -7, reservedDelta: 0, reason: 'count_drift', reference: 'count-1' },
    ]);
    expect(w.ok({ type: 'count', key: w.key(), sku: 'A', counted: 95 })).toMatchObject({
      movements: [{ onHandDelta: 2 }],
    });
    expect(w.stock('A').onHand).toBe(95);
  });

  it('records adjustments with their reason', () => {
    w.ok({ type: 'adjust', key: 'adj-1', sku: 'A', delta: -3, reason: 'damage', note: 'crushed case' });
    expect(w.ledger).toMatchObject([{ onHandDelta: -3, reason: 'damage', reference: 'adj-1' }]);
    w.ok({ type: 'adjust', key: 'adj-2', sku: 'A', delta: 2, reason: 'found' });
    expect(w.stock('A').onHand).toBe(99);
  });
});

describe('physical decrease below reserved', () => {
  it('records the fact and names the newest reservations that can no longer be filled', () => {
    w.reserveId([{ sku: 'A', quantity: 50 }]);
    const middle = w.reserveId([{ sku: 'A', quantity: 30 }]);
    const newest = w.reserveId([{ sku: 'A', quantity: 10 }]);
    w.ok({ type: 'adjust', key: w.key(), sku: 'A', delta: -25, reason: 'shrinkage' });
    expect(w.stock('A')).toMatchObject({ onHand: 75, reserved: 90, available: -15 });
    expect(eventsOfType(w.events, 'reservation.at_risk')).toEqual([
      {
        type: 'reservation.at_risk',
        sku: 'A',
        onHand: 75,
        reserved: 90,
        shortBy: 15,
        reservationIds: [newest, middle],
        part: 1,
        parts: 1,
      },
    ]);
  });

  it('raises at_risk from POS sales and negative counts too, and new reservations are refused', () => {
    w.reserveId([{ sku: 'A', quantity: 95 }]);
    w.ok(sale(1, 10));
    expect(eventsOfType(w.events, 'reservation.at_risk')).toMatchObject([{ shortBy: 5 }]);
    w.ok({ type: 'count', key: w.key(), sku: 'A', counted: 80 });
    expect(eventsOfType(w.events, 'reservation.at_risk')).toMatchObject([{ shortBy: 15 }]);
    expect(errorOf(w.reserve([{ sku: 'A', quantity: 1 }]))).toMatchObject({
      lines: [{ sku: 'A', requested: 1, available: 0 }],
    });
  });

  it('names a large shortfall’s reservations over several events, none past AT_RISK_IDS_PER_EVENT ids', () => {
    const holds = 2 * limits.AT_RISK_IDS_PER_EVENT + 500;
    w.receive('A', holds - 100);
    const ids: string[] = [];
    for (let i = 0; i < holds; i++) ids.push(w.reserveId([{ sku: 'A', quantity: 1 }]));
    w.ok({ type: 'count', key: w.key(), sku: 'A', counted: 0 });
    const atRisk = eventsOfType(w.events, 'reservation.at_risk');
    expect(atRisk.map((e) => [e.part, e.parts, e.reservationIds.length, e.shortBy])).toEqual([
      [1, 3, limits.AT_RISK_IDS_PER_EVENT, holds],
      [2, 3, limits.AT_RISK_IDS_PER_EVENT, holds],
      [3, 3, 500, holds],
    ]);
    // Every hold is named once, newest first.
    expect(atRisk.flatMap((e) => e.reservationIds)).toEqual([...ids].reverse());
  });

  it('says nothing when on hand still covers what is reserved', () => {
    w.reserveId([{ sku: 'A', quantity: 40 }]);
    w.ok({ type: 'adjust', key: w.key(), sku: 'A', delta: -60, reason: 'shrinkage' });
    expect(eventsOfType(w.events, 'reservation.at_risk')).toEqual([]);
    expect(w.stock('A')).toMatchObject({ onHand: 40, reserved: 40, available: 0 });
  });
});
