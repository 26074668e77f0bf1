/**
 * The last metres in virtual time: a delivery running 30% over its promise (one check-in prompt),
 * proof of delivery, and a customer who is not there: a safe drop (delivered, captured) or a
 * return to the store (refunded: restocked, the hold voided, the courier free again).
 */
import { describe, expect, it } from 'vitest';
import { DELIVERY_LATE_FACTOR } from '../../engine/limits.ts';
import { Floor, HOME, STORE, T0 } from './floor.ts';

/** About 600 m north of the store, on the way home. */
const HALFWAY = { lat: 52.5255, lon: 13.405 };

/** Takes a packed order from the courier's acceptance to the customer's door (not yet handed over). */
function driveToDoor(f: Floor, orderId: string, courierId: string): void {
  expect(f.ping(courierId, STORE).ok).toBe(true);
  expect(f.courierEvent(orderId, 'courier_assigned', 'courier.accepted', courierId).ok).toBe(true);
  expect(f.courierEvent(orderId, 'courier_assigned', 'courier.picked_up', courierId).ok).toBe(true);
  f.atMs += 4 * 60_000;
  expect(f.ping(courierId, HOME).ok).toBe(true);
}

describe('order flow: delivery', () => {
  it('raises the late check-in prompt once when the delivery runs 30% over its promise', () => {
    const f = Floor.open();
    expect(f.place('o1', [{ sku: 'milk', quantity: 1 }]).ok).toBe(true);
    const { promisedAtMs, createdAtMs } = f.order('o1');
    expect(createdAtMs).toBe(T0);
    const lateAtMs = T0 + Math.ceil(DELIVERY_LATE_FACTOR * (promisedAtMs - T0));
    expect(promisedAtMs - T0).toBeGreaterThan(10 * 60_000);

    expect(f.payment('o1', 'authorize').ok).toBe(true);
    f.take();
    f.atMs += 3 * 60_000;
    f.heartbeat('c1');
    f.atMs += 2 * 60_000;
    expect(f.scan('o1', 'milk', 1).ok).toBe(true);
    expect(f.pack('o1').ok).toBe(true);
    expect(f.ping('c1', STORE).ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);
    // The courier is slow but keeps pinging.
    f.atMs = promisedAtMs;
    expect(f.ping('c1', HALFWAY).ok).toBe(true);
    expect(f.events('order.late')).toHaveLength(0);

    f.advance(lateAtMs - 1 - f.atMs);
    expect(f.events('order.late')).toHaveLength(0);
    f.advance(1);
    expect(f.events('order.late')).toEqual([
      { type: 'order.late', orderId: 'o1', courierId: 'c1', promisedAtMs, state: 'out_for_delivery' },
    ]);
    f.advance(60_000);
    expect(f.ping('c1', HOME).ok).toBe(true);
    f.advance(60_000);
    expect(f.events('order.late')).toHaveLength(1);

    const done = f.courierEvent('o1', 'out_for_delivery', 'delivery.completed', 'c1', { position: HOME });
    expect(done).toMatchObject({ ok: true, value: { state: 'delivered' } });
    f.advance(30 * 60_000);
    expect(f.events('order.late')).toHaveLength(1);
    expect(f.order('o1').lateRaised).toBe(true);
    f.replayMatches();
  });

  it('does not raise the prompt for a delivery on time', () => {
    const f = Floor.open();
    f.placeAndPack('o1', [{ sku: 'eggs', quantity: 2 }]);
    f.deliver('o1', 'c1');
    f.advance(60 * 60_000);
    expect(f.stateOf('o1')).toBe('delivered');
    expect(f.events('order.late')).toHaveLength(0);
    f.replayMatches();
  });

  it('refuses a proof of delivery far from the address, then accepts a safe drop at the door', () => {
    const f = Floor.open();
    f.placeAndPack('o1', [
      { sku: 'bread', quantity: 2 },
      { sku: 'eggs', quantity: 1 },
    ]);
    driveToDoor(f, 'o1', 'c1');

    const before = f.stateBytes();
    const far = f.courierEvent('o1', 'out_for_delivery', 'delivery.completed', 'c1', { position: HALFWAY });
    expect(far).toMatchObject({ ok: false, error: { code: 'PROOF_REJECTED', orderId: 'o1', radiusKm: 0.25 } });
    expect(!far.ok && far.error.code === 'PROOF_REJECTED' && far.error.distanceKm > 0.25).toBe(true);
    expect(Buffer.compare(f.stateBytes(), before)).toBe(0);

    const dropped = f.courierEvent('o1', 'out_for_delivery', 'delivery.completed', 'c1', {
      position: HOME,
      safeDrop: true,
    });
    expect(dropped).toMatchObject({ ok: true, value: { state: 'delivered' } });
    expect(f.order('o1').delivery).toMatchObject({ position: HOME, safeDrop: true });
    expect(f.effects('o1').map((e) => [e.effect, e.amountCents, e.authorizationId])).toEqual([
      ['authorizePayment', 900, undefined],
      ['capturePayment', 900, 'auth-o1'],
    ]);
    expect(f.courier('c1')).toMatchObject({ state: 'returning', deliveriesThisShift: 1 });
    // Nothing comes back: the stock left the shelf for good.
    expect([f.onHand('bread'), f.onHand('eggs')]).toEqual([18, 19]);
    expect(f.ledger('restock')).toHaveLength(0);
    expect(f.warehouse.state.reservations.size).toBe(0);
    f.replayMatches();
  });

  it('returns the order to the store when the customer is not there: restocked, voided, courier free', () => {
    const f = Floor.open();
    f.placeAndPack('o1', [
      { sku: 'milk', quantity: 2 },
      { sku: 'bread', quantity: 1 },
    ]);
    expect([f.onHand('milk'), f.onHand('bread')]).toEqual([18, 19]);
    driveToDoor(f, 'o1', 'c1');
    // Only the order's courier may bring it back.
    expect(f.courierEvent('o1', 'out_for_delivery', 'delivery.returned', 'c2')).toMatchObject({
      ok: false,
      error: { code: 'WRONG_COURIER', courierId: 'c2', assignedTo: 'c1' },
    });

    f.atMs += 4 * 60_000;
    expect(f.ping('c1', STORE).ok).toBe(true);
    const returned = f.courierEvent('o1', 'out_for_delivery', 'delivery.returned', 'c1');
    expect(returned).toMatchObject({ ok: true, value: { state: 'refunded' } });
    expect(f.ledger('restock').map((e) => [e.sku, e.onHandDelta, e.reference])).toEqual([
      ['milk', 2, 'o1'],
      ['bread', 1, 'o1'],
    ]);
    expect([f.onHand('milk'), f.available('milk'), f.onHand('bread'), f.available('bread')]).toEqual([20, 20, 20, 20]);
    expect(f.effects('o1').map((e) => [e.effect, e.amountCents, e.authorizationId])).toEqual([
      ['authorizePayment', 900, undefined],
      ['voidAuthorization', 900, 'auth-o1'],
    ]);
    expect(f.payment('o1', 'void')).toMatchObject({ ok: true, value: { applied: true } });
    expect(f.order('o1').payment).toMatchObject({ pending: [], voided: true, capturedCents: 0 });
    expect(f.courier('c1')).toMatchObject({ state: 'available', deliveriesThisShift: 0 });
    expect(f.courier('c1').orderId).toBeUndefined();
    expect(f.warehouse.state.reservations.size).toBe(0);

    // The courier is free for the next order at once.
    f.placeAndPack('o2', [{ sku: 'oat', quantity: 1 }]);
    expect(f.order('o2')).toMatchObject({ state: 'courier_assigned', courierId: 'c1' });
    f.replayMatches();
  });
});
