/**
 * Picking and packing in virtual time: stockouts (substituted or dropped with a price adjustment),
 * a customer cancelling mid-pick, scan verification, the PICK_INCOMPLETE guard on packing, and the
 * pick-pack time with its slow-warehouse escalation; at-risk reservations named the same after a
 * restore.
 */
import { describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  fromSnapshot,
  toSnapshot,
  validateCommand,
  Warehouse,
  type WarehouseSnapshot,
} from '../../engine/index.ts';
import { Floor } from './floor.ts';

describe('order flow: picking', () => {
  it('substitutes oat for milk on a stockout when the customer allowed it, and delivers in full', () => {
    const f = Floor.open();
    const lines = [
      { sku: 'milk', quantity: 2 },
      { sku: 'bread', quantity: 1 },
    ];
    expect(f.place('o1', lines, { allowSubstitutes: true }).ok).toBe(true);
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    f.atMs += 30_000;
    expect(f.takeTask()?.lines.map((l) => l.sku)).toEqual(['milk', 'bread']);
    // Scans may come in any order: bread first.
    expect(f.scan('o1', 'bread', 1).ok).toBe(true);
    f.atMs += 60_000;

    const stockout = f.event('o1', 'picking', 'pick.stockout', { sku: 'milk' });
    expect(stockout).toMatchObject({
      ok: true,
      value: { state: 'picking', pick: { kind: 'substituted', sku: 'milk', substitute: 'oat', quantity: 2 } },
    });
    expect(f.events('order.substituted')).toEqual([
      { type: 'order.substituted', orderId: 'o1', sku: 'milk', substitute: 'oat', quantity: 2 },
    ]);
    expect(f.events('order.line_dropped')).toHaveLength(0);
    // The empty shelf is counted: the books lose the 20 units they believed were there.
    expect(f.ledger('count_drift').map((e) => [e.sku, e.onHandDelta])).toEqual([['milk', -20]]);
    expect(f.onHand('milk')).toBe(0);
    expect(f.reserved('milk')).toBe(0);
    // The substitute is held on the same reservation and added to the pick list.
    expect(f.reserved('oat')).toBe(2);
    const reservation = f.warehouse.reservation(f.order('o1').reservationId);
    expect(reservation.ok && reservation.value.lines).toEqual([
      { sku: 'milk', quantity: 0, committed: 0 },
      { sku: 'bread', quantity: 0, committed: 1 },
      { sku: 'oat', quantity: 2, committed: 0, substituteFor: 'milk' },
    ]);
    const list = f.takeTask()?.lines ?? [];
    expect(list.map((l) => [l.sku, l.quantity, l.picked])).toEqual([
      ['milk', 0, 0],
      ['bread', 1, 1],
      ['oat', 2, 0],
    ]);

    const scanned = f.scan('o1', 'oat', 2);
    expect(scanned).toMatchObject({ ok: true, value: { pick: { kind: 'scanned', sku: 'oat', complete: true } } });
    expect(f.onHand('oat')).toBe(18);
    expect(f.reserved('oat')).toBe(0);
    expect(f.warehouse.state.reservations.size).toBe(0);
    expect(f.order('o1').picked).toEqual([
      { sku: 'bread', quantity: 1 },
      { sku: 'oat', quantity: 2 },
    ]);

    f.atMs += 60_000;
    expect(f.pack('o1').ok).toBe(true);
    f.deliver('o1', 'c1');
    expect(f.stateOf('o1')).toBe('delivered');
    // A substitute is charged at the price of what was asked for; nothing was taken off.
    expect(f.order('o1').adjustmentCents).toBe(0);
    expect(f.effects('o1').map((e) => [e.effect, e.amountCents])).toEqual([
      ['authorizePayment', 900],
      ['capturePayment', 900],
    ]);
    f.replayMatches();
  });

  it('drops the rest of a line without a substitute, adjusts the price and ends partially fulfilled', () => {
    const f = Floor.open();
    expect(
      f.place('o1', [
        { sku: 'milk', quantity: 2 },
        { sku: 'bread', quantity: 1 },
      ]).ok,
    ).toBe(true);
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    f.take();
    // One milk found, then the shelf is empty. Oat would fit, but the customer did not allow it.
    expect(f.scan('o1', 'milk', 1).ok).toBe(true);
    const stockout = f.event('o1', 'picking', 'pick.stockout', { sku: 'milk' });
    expect(stockout).toMatchObject({
      ok: true,
      value: { state: 'picking', pick: { kind: 'dropped', sku: 'milk', quantity: 1, adjustmentCents: 300 } },
    });
    expect(f.events('order.line_dropped')).toEqual([
      { type: 'order.line_dropped', orderId: 'o1', sku: 'milk', quantity: 1, adjustmentCents: 300 },
    ]);
    expect(f.events('order.substituted')).toHaveLength(0);
    expect(f.reserved('oat')).toBe(0);
    expect(f.ledger('count_drift').map((e) => [e.sku, e.onHandDelta])).toEqual([['milk', -19]]);
    expect(f.onHand('milk')).toBe(0);
    expect(f.reserved('milk')).toBe(0);
    expect(f.order('o1')).toMatchObject({ amountCents: 900, adjustmentCents: 300 });
    // A second stockout report for the same line has nothing left to drop.
    const again = f.event('o1', 'picking', 'pick.stockout', { sku: 'milk' });
    expect(again).toMatchObject({ ok: false, error: { code: 'SCAN_REJECTED', reason: 'nothing_to_pick' } });

    expect(f.scan('o1', 'bread', 1).ok).toBe(true);
    expect(f.warehouse.state.reservations.size).toBe(0);
    expect(f.pack('o1').ok).toBe(true);
    f.deliver('o1', 'c1');
    expect(f.stateOf('o1')).toBe('partially_fulfilled');
    expect(f.effects('o1').map((e) => [e.effect, e.amountCents])).toEqual([
      ['authorizePayment', 900],
      ['capturePayment', 600],
    ]);
    expect(f.payment('o1', 'capture').ok).toBe(true);
    expect(f.order('o1').payment).toMatchObject({ pending: [], capturedCents: 600 });
    f.replayMatches();
  });

  it('refunds what the customer paid when a substitute runs out too (the asked-for price, not the substitute price)', () => {
    const f = Floor.open();
    // Oat costs more than milk; the customer is charged the milk price for it.
    f.ok({
      type: 'sku.upsert',
      key: f.key(),
      sku: 'oat',
      ownerId: 'owner-1',
      name: 'item oat',
      priceCents: 500,
      location: { zone: 'A', aisle: 3, bay: 1, level: 1 },
      safetyStock: 0,
      substitutes: [],
    });
    expect(
      f.place(
        'o1',
        [
          { sku: 'milk', quantity: 2 },
          { sku: 'bread', quantity: 1 },
        ],
        { allowSubstitutes: true },
      ).ok,
    ).toBe(true);
    expect(f.order('o1').amountCents).toBe(900);
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    f.take();
    expect(f.event('o1', 'picking', 'pick.stockout', { sku: 'milk' })).toMatchObject({
      ok: true,
      value: { pick: { kind: 'substituted', substitute: 'oat', quantity: 2 } },
    });
    const dropped = f.event('o1', 'picking', 'pick.stockout', { sku: 'oat' });
    expect(dropped).toMatchObject({ ok: true, value: { pick: { kind: 'dropped', sku: 'oat', quantity: 2 } } });
    // Two milks were paid for at 300 each: that is what comes off, never more than was charged.
    expect(f.events('order.line_dropped')).toMatchObject([{ sku: 'oat', quantity: 2, adjustmentCents: 600 }]);
    expect(f.order('o1').adjustmentCents).toBe(600);
    expect(f.scan('o1', 'bread', 1).ok).toBe(true);
    expect(f.warehouse.state.reservations.size).toBe(0);
    expect(f.pack('o1').ok).toBe(true);
    f.deliver('o1', 'c1');
    expect(f.stateOf('o1')).toBe('partially_fulfilled');
    expect(f.effects('o1').map((e) => [e.effect, e.amountCents])).toEqual([
      ['authorizePayment', 900],
      ['capturePayment', 300],
    ]);
    f.replayMatches();
  });

  it('refunds the asked-for price after a second substitution too (a substitute of a substitute)', () => {
    const f = Floor.open();
    const upsert = (sku: string, priceCents: number, aisle: number, substitutes: string[]) =>
      f.ok({
        type: 'sku.upsert',
        key: f.key(),
        sku,
        ownerId: 'owner-1',
        name: `item ${sku}`,
        priceCents,
        location: { zone: 'A', aisle, bay: 1, level: 1 },
        safetyStock: 0,
        substitutes,
      });
    // Milk (paid 500) falls back to oat (300), which falls back to eggs (100).
    upsert('milk', 500, 1, ['oat']);
    upsert('oat', 300, 3, ['eggs']);
    upsert('eggs', 100, 1, []);
    expect(f.place('o1', [{ sku: 'milk', quantity: 2 }], { allowSubstitutes: true }).ok).toBe(true);
    expect(f.order('o1').amountCents).toBe(1_000);
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    f.take();
    expect(f.event('o1', 'picking', 'pick.stockout', { sku: 'milk' })).toMatchObject({
      value: { pick: { kind: 'substituted', substitute: 'oat' } },
    });
    expect(f.event('o1', 'picking', 'pick.stockout', { sku: 'oat' })).toMatchObject({
      value: { pick: { kind: 'substituted', substitute: 'eggs' } },
    });
    expect(f.order('o1').pick?.lines.find((l) => l.sku === 'eggs')).toMatchObject({ substituteFor: 'milk' });
    // Eggs run out too: the two milks paid at 500 come off, not two oats at 300 (which charged 400 for nothing).
    expect(f.event('o1', 'picking', 'pick.stockout', { sku: 'eggs' })).toMatchObject({
      value: { pick: { kind: 'dropped', sku: 'eggs', adjustmentCents: 1_000 } },
    });
    expect(f.order('o1').adjustmentCents).toBe(1_000);
    f.replayMatches();
  });

  it('packs an order whose picker checked out after the last scan, and takes it out of the pick queue', () => {
    const f = Floor.open({ pickers: ['p1', 'p2'] });
    f.placeAndPack('o0', [{ sku: 'eggs', quantity: 1 }]);
    expect(f.place('o1', [{ sku: 'bread', quantity: 1 }]).ok).toBe(true);
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    f.take('p1');
    expect(f.scan('o1', 'bread', 1).ok).toBe(true);
    // The picker leaves before packing: the task goes back to the queue, every line scanned.
    expect(f.send({ type: 'picker.check_out', key: f.key(), pickerId: 'p1' }).ok).toBe(true);
    expect([...f.warehouse.state.pickQueue]).toEqual(['o1']);
    expect(f.pack('o1')).toMatchObject({ ok: true, value: { state: 'packed' } });
    // Before the change o1 stayed queued: p2 was handed a packed order for ever.
    expect([...f.warehouse.state.pickQueue]).toEqual([]);
    const next = f.ok({ type: 'pick.take', key: f.key(), pickerId: 'p2' });
    expect(next).toMatchObject({ kind: 'pick_task', pickerId: 'p2' });
    expect(next).not.toHaveProperty('task');
    f.replayMatches();
  });

  it('restocks what was picked and releases the rest when the customer cancels mid-pick', () => {
    const f = Floor.open();
    expect(
      f.place('o1', [
        { sku: 'milk', quantity: 3 },
        { sku: 'bread', quantity: 2 },
      ]).ok,
    ).toBe(true);
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    expect(f.place('o2', [{ sku: 'eggs', quantity: 1 }]).ok).toBe(true);
    expect(f.payment('o2', 'authorize').ok).toBe(true);
    expect(f.takeTask()?.orderId).toBe('o1');
    expect(f.scan('o1', 'milk', 2).ok).toBe(true);
    expect(f.scan('o1', 'bread', 2).ok).toBe(true);
    expect([f.onHand('milk'), f.reserved('milk'), f.onHand('bread'), f.reserved('bread')]).toEqual([18, 1, 18, 0]);

    f.atMs += 60_000;
    const cancelled = f.event('o1', 'picking', 'order.cancel', { reason: 'ordered twice' });
    expect(cancelled).toMatchObject({ ok: true, value: { state: 'cancelled' } });
    // Picked units go back on the shelf, the unpicked milk is released.
    expect(f.ledger('restock').map((e) => [e.sku, e.onHandDelta, e.reservedDelta, e.reference])).toEqual([
      ['milk', 2, 0, 'o1'],
      ['bread', 2, 0, 'o1'],
    ]);
    const released = f.ledger('release').filter((e) => e.reference === f.order('o1').reservationId);
    expect(released.map((e) => [e.sku, e.reservedDelta])).toEqual([['milk', -1]]);
    expect([f.onHand('milk'), f.available('milk'), f.onHand('bread'), f.available('bread')]).toEqual([20, 20, 20, 20]);
    expect(f.order('o1').picked).toEqual([]);
    expect(f.effects('o1').map((e) => [e.effect, e.authorizationId])).toEqual([
      ['authorizePayment', undefined],
      ['voidAuthorization', 'auth-o1'],
    ]);
    expect(f.order('o1').pick?.lifecycle.value).toBe('cancelled');
    // Only o2's reservation is left open, and the picker is free to take o2.
    expect([...f.warehouse.state.reservations.values()].map((r) => r.orderRef)).toEqual(['o2']);
    expect(f.warehouse.fulfillment().pickers).toEqual([{ pickerId: 'p1', picksThisShift: 0 }]);
    expect(f.takeTask()?.orderId).toBe('o2');
    expect(f.scan('o2', 'eggs', 1).ok).toBe(true);
    expect(f.pack('o2').ok).toBe(true);
    expect(f.warehouse.state.reservations.size).toBe(0);
    expect(f.stateOf('o2')).toBe('courier_assigned');
    f.replayMatches();
  });

  it('verifies scans: wrong SKU and over-quantity change nothing, repeats are ignored, packing waits', () => {
    const f = Floor.open();
    expect(
      f.place('o1', [
        { sku: 'milk', quantity: 2 },
        { sku: 'bread', quantity: 1 },
      ]).ok,
    ).toBe(true);
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    f.take();

    const before = f.stateBytes();
    const wrong = f.scan('o1', 'eggs', 1);
    expect(wrong).toMatchObject({
      ok: false,
      error: { code: 'SCAN_REJECTED', orderId: 'o1', sku: 'eggs', reason: 'wrong_sku', requested: 1 },
    });
    const over = f.scan('o1', 'milk', 3);
    expect(over).toMatchObject({
      ok: false,
      error: { code: 'SCAN_REJECTED', sku: 'milk', reason: 'over_quantity', requested: 3, remaining: 2 },
    });
    const early = f.pack('o1');
    expect(early).toMatchObject({
      ok: false,
      error: {
        code: 'PICK_INCOMPLETE',
        orderId: 'o1',
        lines: [
          { sku: 'milk', remaining: 2 },
          { sku: 'bread', remaining: 1 },
        ],
      },
    });
    expect(Buffer.compare(f.stateBytes(), before)).toBe(0);

    // Bread before milk: the walk order is a suggestion, not a rule.
    expect(f.scan('o1', 'bread', 1, 'scan-bread')).toMatchObject({
      ok: true,
      value: { pick: { kind: 'scanned', sku: 'bread', remaining: 0, complete: false } },
    });
    const repeat = f.scan('o1', 'bread', 1, 'scan-bread');
    expect(repeat).toMatchObject({ ok: true, value: { pick: { kind: 'duplicate_scan' } } });
    expect(f.onHand('bread')).toBe(19);
    expect(f.scan('o1', 'milk', 1, 'scan-milk-1').ok).toBe(true);
    expect(f.pack('o1')).toMatchObject({
      ok: false,
      error: { code: 'PICK_INCOMPLETE', lines: [{ sku: 'milk', remaining: 1 }] },
    });
    expect(f.scan('o1', 'milk', 2)).toMatchObject({ ok: false, error: { reason: 'over_quantity', remaining: 1 } });
    expect(f.scan('o1', 'milk', 1, 'scan-milk-1')).toMatchObject({
      ok: true,
      value: { pick: { kind: 'duplicate_scan' } },
    });
    expect(f.onHand('milk')).toBe(19);
    expect(f.scan('o1', 'milk', 1, 'scan-milk-2')).toMatchObject({
      ok: true,
      value: { pick: { kind: 'scanned', sku: 'milk', remaining: 0, complete: true } },
    });
    expect([f.onHand('milk'), f.onHand('bread')]).toEqual([18, 19]);
    expect(f.ledger('commit').map((e) => [e.sku, e.onHandDelta])).toEqual([
      ['bread', -1],
      ['milk', -1],
      ['milk', -1],
    ]);
    expect(f.warehouse.state.reservations.size).toBe(0);
    expect(f.pack('o1')).toMatchObject({ ok: true, value: { state: 'courier_assigned' } });
    // Dispatch runs before the command ends: the only courier is offered the order at once.
    expect(f.stateOf('o1')).toBe('courier_assigned');
    f.replayMatches();
  });

  it('records the pick-pack time and escalates once when the rolling average goes over 10 minutes', () => {
    const f = Floor.open({ couriers: [] });
    const pickPack = (orderId: string, minutes: number) => {
      expect(f.place(orderId, [{ sku: 'eggs', quantity: 1 }]).ok).toBe(true);
      expect(f.payment(orderId, 'authorize').ok).toBe(true);
      expect(f.takeTask()?.orderId).toBe(orderId);
      f.atMs += minutes * 60_000;
      expect(f.scan(orderId, 'eggs', 1).ok).toBe(true);
      expect(f.pack(orderId).ok).toBe(true);
      expect(f.order(orderId).pack).toMatchObject({ pickPackMs: minutes * 60_000, packedAtMs: f.atMs });
    };
    const slowAlerts = () => f.events('escalation.raised').filter((e) => e.kind === 'pick_pack_slow');

    pickPack('o1', 3);
    expect(slowAlerts()).toHaveLength(0);
    pickPack('o2', 20);
    expect(slowAlerts()).toHaveLength(1);
    pickPack('o3', 15);
    // Still slow: the alert is not repeated for every order.
    expect(slowAlerts()).toHaveLength(1);
    expect(f.events('pick_pack.recorded')).toEqual([
      { type: 'pick_pack.recorded', orderId: 'o1', pickPackMs: 180_000, averageMs: 180_000, slow: false },
      { type: 'pick_pack.recorded', orderId: 'o2', pickPackMs: 1_200_000, averageMs: 690_000, slow: true },
      { type: 'pick_pack.recorded', orderId: 'o3', pickPackMs: 900_000, averageMs: 760_000, slow: true },
    ]);
    expect(f.warehouse.fulfillment()).toMatchObject({ pickPackAverageMs: 760_000, pickPackSlow: true });
    expect(f.warehouse.fulfillment().pickers).toEqual([{ pickerId: 'p1', picksThisShift: 3 }]);
    f.replayMatches();
  });

  it('names the same reservations at risk after a restore, a substitute hold added at picking included', () => {
    const f = Floor.open({ couriers: [], stock: { oat: 4 } });
    f.place('o1', [{ sku: 'milk', quantity: 2 }], { allowSubstitutes: true });
    f.payment('o1', 'authorize');
    f.ok({ type: 'reserve', key: f.key(), lines: [{ sku: 'oat', quantity: 2 }], ttlMs: 600_000 });
    f.take();
    // o1 comes to hold oat after the plain reservation did: by creation it is still the older.
    f.event('o1', 'picking', 'pick.stockout', { sku: 'milk' });
    const restored = new Warehouse(
      'w-flow',
      {},
      fromSnapshot(decode(encode(toSnapshot(f.warehouse.state))) as WarehouseSnapshot),
    );
    const sale = validateCommand({
      type: 'pos.sale',
      key: 'pos',
      sourceId: 't',
      sourceSeq: 1,
      lines: [{ sku: 'oat', quantity: 1 }],
    });
    if (!sale.ok) throw new Error(sale.error.message);
    const stamped = { seq: f.warehouse.state.lastSeq + 1, atMs: f.atMs, command: sale.value };
    f.warehouse.drainEvents();
    f.warehouse.apply(stamped);
    restored.apply(stamped);
    const atRisk = (w: Warehouse) => w.drainEvents().filter((e) => e.type === 'reservation.at_risk');
    const live = atRisk(f.warehouse);
    expect(live).toHaveLength(1);
    expect(atRisk(restored)).toEqual(live);
    // The newest reservation by creation loses its claim first: the plain one, not o1's.
    expect(live[0]).toMatchObject({ reservationIds: [expect.not.stringMatching(f.order('o1').reservationId)] });
  });
});
