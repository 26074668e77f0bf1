/**
 * A customer cancelling after picking, in virtual time: at `packed` and at `courier_assigned` the
 * picked units go back on the shelf and the hold is voided, the order leaves the dispatch queue and
 * its courier is free again, and no deadline of the cancelled order fires later. Once the bag is
 * on the road the order can no longer be cancelled.
 */
import { describe, expect, it } from 'vitest';
import { COURIER_ACK_TIMEOUT_MS } from '../../engine/limits.ts';
import { Floor } from './floor.ts';

describe('order flow: cancellation after picking', () => {
  it('restocks and voids an order cancelled while packed, and never escalates it afterwards', () => {
    const f = Floor.open({ couriers: [] });
    f.placeAndPack('o1', [
      { sku: 'milk', quantity: 2 },
      { sku: 'eggs', quantity: 1 },
    ]);
    expect(f.stateOf('o1')).toBe('packed');
    expect(f.warehouse.fulfillment().dispatchQueue).toEqual(['o1']);
    f.atMs += 60_000;

    const cancelled = f.event('o1', 'packed', 'order.cancel');
    expect(cancelled).toMatchObject({ ok: true, value: { state: 'cancelled' } });
    // Picked (and put back) in walk order: eggs and milk share aisle 1, eggs sorts first.
    expect(f.ledger('restock').map((e) => [e.sku, e.onHandDelta])).toEqual([
      ['eggs', 1],
      ['milk', 2],
    ]);
    expect([f.onHand('milk'), f.onHand('eggs')]).toEqual([20, 20]);
    expect(f.effects('o1').map((e) => e.effect)).toEqual(['authorizePayment', 'voidAuthorization']);
    expect(f.warehouse.fulfillment().dispatchQueue).toEqual([]);
    expect(f.warehouse.state.reservations.size).toBe(0);

    // The order waited for a courier before it was cancelled: that wait is over, nothing to escalate.
    f.advance(10 * 60_000);
    expect(f.events('escalation.raised')).toEqual([]);
    f.replayMatches();
  });

  it('frees the offered courier of an order cancelled at courier_assigned; the offer never times out', () => {
    const f = Floor.open({ couriers: ['c1'] });
    f.placeAndPack('o1', [{ sku: 'bread', quantity: 3 }]);
    expect(f.courier('c1')).toMatchObject({ state: 'assigned', orderId: 'o1' });

    const cancelled = f.event('o1', 'courier_assigned', 'order.cancel');
    expect(cancelled).toMatchObject({ ok: true, value: { state: 'cancelled' } });
    expect(f.courier('c1')).toMatchObject({ state: 'available', unresponsive: false });
    expect(f.courier('c1').orderId).toBeUndefined();
    expect(f.order('o1').courierId).toBeUndefined();
    expect(f.onHand('bread')).toBe(20);
    expect(f.effects('o1').map((e) => e.effect)).toEqual(['authorizePayment', 'voidAuthorization']);

    f.advance(COURIER_ACK_TIMEOUT_MS);
    expect(f.courier('c1')).toMatchObject({ state: 'available', unresponsive: false });
    // The courier takes the next order at once.
    f.placeAndPack('o2', [{ sku: 'oat', quantity: 1 }]);
    expect(f.order('o2')).toMatchObject({ state: 'courier_assigned', courierId: 'c1' });
    expect(f.courierEvent('o2', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    // The cancelled order's wait for a courier ended with it: no escalation for it, ever.
    for (let i = 0; i < 5; i++) {
      f.advance(2 * 60_000);
      f.heartbeat('c1');
    }
    expect(f.events('escalation.raised')).toEqual([]);
    f.replayMatches();
  });

  it('frees a courier already on the way to the store when the order is cancelled', () => {
    const f = Floor.open({ couriers: ['c1'] });
    f.placeAndPack('o1', [{ sku: 'eggs', quantity: 2 }]);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierState('c1')).toBe('en_route_to_pickup');

    expect(f.event('o1', 'courier_assigned', 'order.cancel').ok).toBe(true);
    expect(f.courier('c1')).toMatchObject({ state: 'available' });
    expect(f.courier('c1').orderId).toBeUndefined();
    expect(f.onHand('eggs')).toBe(20);
    // The courier's late answer for the cancelled order is refused.
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1')).toMatchObject({
      ok: false,
      error: { code: 'INVALID_TRANSITION', expected: 'courier_assigned', actual: 'cancelled' },
    });
    f.replayMatches();
  });

  it('refuses to cancel an order on the road, announcing the refusal', () => {
    const f = Floor.open({ couriers: ['c1'] });
    f.placeAndPack('o1', [{ sku: 'milk', quantity: 1 }]);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);

    const before = f.stateBytes();
    const refused = f.event('o1', 'out_for_delivery', 'order.cancel');
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'INVALID_TRANSITION', orderId: 'o1', expected: 'out_for_delivery', actual: 'out_for_delivery' },
    });
    expect(f.events('order.rejected')).toMatchObject([{ orderId: 'o1', event: 'order.cancel' }]);
    expect(Buffer.compare(f.stateBytes(), before)).toBe(0);
    expect(f.stateOf('o1')).toBe('out_for_delivery');
    expect(f.onHand('milk')).toBe(19);
    f.replayMatches();
  });
});
