/**
 * Dispatch in virtual time: a courier who never acknowledges (60 s, then marked unresponsive until
 * heard from), a courier who declines (no mark), and a packed order with no courier at all (one
 * escalation after the configured window, then the first courier to check in gets it).
 */
import { describe, expect, it } from 'vitest';
import { COURIER_ACK_TIMEOUT_MS } from '../../engine/limits.ts';
import { Floor, HOME, STORE, T0 } from './floor.ts';

describe('order flow: dispatch', () => {
  it('passes the order to the next courier when the first never acknowledges, and marks it unresponsive', () => {
    const f = Floor.open({ couriers: ['c1', 'c2'] });
    f.atMs += 60_000;
    f.placeAndPack('o1', [{ sku: 'milk', quantity: 1 }]);
    const packedAtMs = f.atMs;
    // Equal couriers at the store: the smaller id is first.
    expect(f.events('dispatch.offered')).toEqual([
      { type: 'dispatch.offered', orderId: 'o1', courierId: 'c1', deadlineMs: packedAtMs + COURIER_ACK_TIMEOUT_MS },
    ]);
    expect([f.stateOf('o1'), f.courierState('c1')]).toEqual(['courier_assigned', 'assigned']);

    f.advance(COURIER_ACK_TIMEOUT_MS - 1);
    expect(f.order('o1').courierId).toBe('c1');
    expect(f.events('dispatch.offered')).toHaveLength(1);

    f.advance(1);
    expect(f.courier('c1')).toMatchObject({ state: 'available', unresponsive: true });
    expect(f.courier('c1').orderId).toBeUndefined();
    expect(f.events('dispatch.offered').map((e) => e.courierId)).toEqual(['c1', 'c2']);
    expect(f.order('o1')).toMatchObject({ state: 'courier_assigned', courierId: 'c2' });
    expect(f.order('o1').dispatch?.passedBy).toEqual(['c1']);
    expect(
      f
        .events('order.changed')
        .filter((e) => e.orderId === 'o1')
        .map((e) => e.state),
    ).toEqual(['reserved', 'reserved', 'picking', 'packed', 'courier_assigned', 'packed', 'courier_assigned']);

    // c2 is busy and c1 is unresponsive: the next packed order waits.
    f.atMs += 10_000;
    f.placeAndPack('o2', [{ sku: 'bread', quantity: 1 }]);
    expect(f.stateOf('o2')).toBe('packed');
    expect(f.warehouse.fulfillment().dispatchQueue).toEqual(['o2']);
    // Once c1 is heard from, it is offered orders again.
    expect(f.ping('c1', STORE).ok).toBe(true);
    expect(f.courier('c1')).toMatchObject({ state: 'assigned', unresponsive: false, orderId: 'o2' });
    expect(f.order('o2')).toMatchObject({ state: 'courier_assigned', courierId: 'c1' });
    expect(f.warehouse.fulfillment().dispatchQueue).toEqual([]);
    expect(f.courierEvent('o2', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);

    f.deliver('o1', 'c2');
    expect(f.stateOf('o1')).toBe('delivered');
    expect(f.courierState('c2')).toBe('returning');
    expect(f.courier('c1')).toMatchObject({ state: 'en_route_to_pickup', orderId: 'o2', unresponsive: false });
    expect(f.warehouse.state.reservations.size).toBe(0);
    f.replayMatches();
  });

  it('passes the order to the next courier on a decline, without marking the one who declined', () => {
    const f = Floor.open({ couriers: ['c1', 'c2'] });
    f.placeAndPack('o1', [{ sku: 'eggs', quantity: 2 }]);
    expect(f.order('o1').courierId).toBe('c1');

    f.atMs += 5_000;
    // Only the courier offered the order may answer for it.
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.declined', 'c2')).toMatchObject({
      ok: false,
      error: { code: 'WRONG_COURIER', courierId: 'c2', assignedTo: 'c1' },
    });
    const declined = f.courierEvent('o1', 'courier_assigned', 'courier.declined', 'c1');
    expect(declined.ok).toBe(true);
    expect(f.courier('c1')).toMatchObject({ state: 'available', unresponsive: false });
    expect(f.events('dispatch.offered').map((e) => e.courierId)).toEqual(['c1', 'c2']);
    expect(f.order('o1')).toMatchObject({ state: 'courier_assigned', courierId: 'c2' });
    expect(f.order('o1').dispatch?.passedBy).toEqual(['c1']);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c2').ok).toBe(true);
    expect(f.courierState('c2')).toBe('en_route_to_pickup');

    // The withdrawn offer's deadline does not fire later.
    f.advance(COURIER_ACK_TIMEOUT_MS);
    expect(f.courier('c1')).toMatchObject({ state: 'available', unresponsive: false });
    expect(f.events('dispatch.offered')).toHaveLength(2);

    // c1 declined that order only: the next one is offered to it at once.
    f.placeAndPack('o2', [{ sku: 'bread', quantity: 1 }]);
    expect(f.order('o2')).toMatchObject({ state: 'courier_assigned', courierId: 'c1' });

    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c2').ok).toBe(true);
    f.atMs += 4 * 60_000;
    expect(f.ping('c2', HOME).ok).toBe(true);
    const done = f.courierEvent('o1', 'out_for_delivery', 'delivery.completed', 'c2', { position: HOME });
    expect(done).toMatchObject({ ok: true, value: { state: 'delivered' } });
    expect(f.warehouse.state.reservations.size).toBe(0);
    f.replayMatches();
  });

  it('escalates once when no courier comes for 10 minutes, then gives the order to the first to check in', () => {
    const f = Floor.open({ couriers: [] });
    f.placeAndPack('o1', [{ sku: 'milk', quantity: 1 }]);
    const packedAtMs = f.atMs;
    expect(f.stateOf('o1')).toBe('packed');
    expect(f.warehouse.fulfillment().dispatchQueue).toEqual(['o1']);
    const noCourier = () => f.events('escalation.raised').filter((e) => e.kind === 'no_courier');

    f.advance(5 * 60_000 - 1);
    expect(noCourier()).toHaveLength(0);
    f.advance(1);
    expect(noCourier()).toEqual([
      {
        type: 'escalation.raised',
        kind: 'no_courier',
        orderId: 'o1',
        detail: `waiting for a courier since ${new Date(packedAtMs).toISOString()}`,
      },
    ]);
    for (let i = 0; i < 10; i++) f.advance(30_000);
    expect(f.atMs - packedAtMs).toBe(10 * 60_000);
    expect(noCourier()).toHaveLength(1);
    expect(f.stateOf('o1')).toBe('packed');

    const checkIn = f.send({ type: 'courier.check_in', key: f.key(), courierId: 'c9', position: STORE });
    expect(checkIn.ok).toBe(true);
    // Dispatch runs before the check-in command ends: the waiting order is offered at once.
    expect(f.courier('c9')).toMatchObject({ state: 'assigned', orderId: 'o1' });
    expect(f.events('dispatch.offered')).toMatchObject([{ orderId: 'o1', courierId: 'c9' }]);
    expect(f.order('o1')).toMatchObject({ state: 'courier_assigned', courierId: 'c9' });
    expect(f.warehouse.fulfillment().dispatchQueue).toEqual([]);

    f.deliver('o1', 'c9');
    expect(f.stateOf('o1')).toBe('delivered');
    expect(noCourier()).toHaveLength(1);
    expect(f.warehouse.state.reservations.size).toBe(0);
    f.replayMatches();
  });

  it('escalates after the configured window', () => {
    const f = Floor.open({ couriers: [], pendingDispatchEscalationMs: 2 * 60_000 });
    f.atMs = T0 + 30_000;
    f.placeAndPack('o1', [{ sku: 'oat', quantity: 1 }]);
    f.advance(2 * 60_000 - 1);
    expect(f.events('escalation.raised')).toHaveLength(0);
    f.advance(1);
    expect(f.events('escalation.raised')).toMatchObject([{ kind: 'no_courier', orderId: 'o1' }]);
    f.advance(10 * 60_000);
    expect(f.events('escalation.raised')).toHaveLength(1);
    f.replayMatches();
  });
});
