/**
 * Couriers lost and found in virtual time: silence (5 min without a word) and vehicle breakdowns,
 * before and after pickup, and GPS pings that cannot be true or leave a gap.
 */
import { describe, expect, it } from 'vitest';
import { COURIER_SILENCE_MS } from '../../engine/limits.ts';
import { Floor, HOME, STORE, T0 } from './floor.ts';

/** About 400 m north of the store, on the way home. */
const ON_THE_WAY = { lat: 52.5236, lon: 13.405 };

describe('order flow: couriers lost on the way', () => {
  it('gives the order to another courier when the first goes silent before pickup', () => {
    const f = Floor.open({ couriers: ['c1', 'c2'] });
    f.placeAndPack('o1', [{ sku: 'milk', quantity: 2 }]);
    expect(f.ping('c1', STORE).ok).toBe(true);
    const lastHeardMs = f.atMs;
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierState('c1')).toBe('en_route_to_pickup');

    // c2 keeps pinging; c1 says nothing more.
    f.advance(COURIER_SILENCE_MS / 2);
    f.heartbeat('c2');
    f.advance(COURIER_SILENCE_MS / 2 - 1);
    expect(f.courierState('c1')).toBe('en_route_to_pickup');
    f.advance(1);
    expect(f.atMs - lastHeardMs).toBe(COURIER_SILENCE_MS);
    expect(f.courierState('c1')).toBe('offline');
    expect(f.warehouse.state.couriers.get('c1')?.offlineReason).toBe('silent');
    expect(f.courier('c1').orderId).toBeUndefined();
    // Not yet picked up: the order is still at the store and goes to c2 at once.
    expect(f.order('o1')).toMatchObject({ state: 'courier_assigned', courierId: 'c2' });
    expect(f.events('dispatch.offered').map((e) => e.courierId)).toEqual(['c1', 'c2']);
    expect(f.events('escalation.raised')).toHaveLength(0);

    f.deliver('o1', 'c2');
    expect(f.stateOf('o1')).toBe('delivered');
    expect(f.courierState('c2')).toBe('returning');
    expect(f.warehouse.state.reservations.size).toBe(0);
    f.replayMatches();
  });

  it('escalates once when a courier goes silent with the order on the road', () => {
    const f = Floor.open({ couriers: ['c1'] });
    f.placeAndPack('o1', [{ sku: 'bread', quantity: 1 }]);
    expect(f.ping('c1', STORE).ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);
    f.atMs += 60_000;
    expect(f.ping('c1', ON_THE_WAY).ok).toBe(true);

    f.advance(COURIER_SILENCE_MS);
    expect(f.courierState('c1')).toBe('offline');
    expect(f.events('escalation.raised')).toEqual([
      {
        type: 'escalation.raised',
        kind: 'courier_offline_on_road',
        orderId: 'o1',
        courierId: 'c1',
        detail: 'courier c1 went silent with the order on the road',
      },
    ]);
    // The bag is with c1: the order stays on the road, and it is not offered to anyone else.
    expect(f.order('o1')).toMatchObject({ state: 'out_for_delivery', courierId: 'c1' });
    expect(f.events('dispatch.offered')).toHaveLength(1);
    f.advance(COURIER_SILENCE_MS);
    expect(f.events('escalation.raised')).toHaveLength(1);
    expect(f.warehouse.state.reservations.size).toBe(0);
    f.replayMatches();
  });

  it('gives the order to another courier when the vehicle breaks down before pickup', () => {
    const f = Floor.open({ couriers: ['c1', 'c2'] });
    f.placeAndPack('o1', [{ sku: 'eggs', quantity: 1 }]);
    expect(f.ping('c1', STORE).ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    f.atMs += 30_000;

    const breakdown = f.send({ type: 'courier.breakdown', key: f.key(), courierId: 'c1' });
    expect(breakdown).toMatchObject({ ok: true, value: { courierId: 'c1', state: 'offline' } });
    expect(f.warehouse.state.couriers.get('c1')?.offlineReason).toBe('breakdown');
    expect(f.order('o1')).toMatchObject({ state: 'courier_assigned', courierId: 'c2' });
    expect(f.order('o1').dispatch).toMatchObject({ passedBy: ['c1'], handover: false });
    expect(f.events('escalation.raised')).toHaveLength(0);
    // A second breakdown report for a courier already off shift is refused.
    expect(f.send({ type: 'courier.breakdown', key: f.key(), courierId: 'c1' })).toMatchObject({
      ok: false,
      error: { code: 'COURIER_STATE_CONFLICT', state: 'offline' },
    });

    f.deliver('o1', 'c2');
    expect(f.stateOf('o1')).toBe('delivered');
    expect(f.warehouse.state.reservations.size).toBe(0);
    f.replayMatches();
  });

  it('hands an order on the road over to a second courier when the vehicle breaks down', () => {
    const f = Floor.open({ couriers: ['c1', 'c2'] });
    f.placeAndPack('o1', [
      { sku: 'milk', quantity: 1 },
      { sku: 'oat', quantity: 1 },
    ]);
    expect(f.ping('c1', STORE).ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);
    f.atMs += 60_000;
    expect(f.ping('c1', ON_THE_WAY).ok).toBe(true);

    const breakdown = f.send({ type: 'courier.breakdown', key: f.key(), courierId: 'c1' });
    expect(breakdown).toMatchObject({ ok: true, value: { state: 'offline' } });
    // The order stays on the road and waits for another courier, who is offered the handover.
    expect(f.order('o1')).toMatchObject({ state: 'out_for_delivery', courierId: 'c2' });
    expect(f.order('o1').dispatch).toMatchObject({ offeredTo: 'c2', handover: true, passedBy: ['c1'] });
    expect(f.events('dispatch.offered').map((e) => e.courierId)).toEqual(['c1', 'c2']);
    expect(f.courierState('c2')).toBe('assigned');
    expect(f.events('escalation.raised')).toHaveLength(0);

    f.atMs += 10_000;
    expect(f.ping('c2', STORE).ok).toBe(true);
    const accepted = f.courierEvent('o1', 'out_for_delivery', 'courier.accepted', 'c2');
    expect(accepted).toMatchObject({ ok: true, value: { state: 'out_for_delivery' } });
    // Straight to the customer (via the broken-down vehicle), never back to the store.
    expect(f.courier('c2')).toMatchObject({ state: 'en_route_to_delivery', orderId: 'o1' });
    expect(f.order('o1').dispatch?.offeredTo).toBeUndefined();

    f.atMs += 4 * 60_000;
    expect(f.ping('c2', HOME).ok).toBe(true);
    const done = f.courierEvent('o1', 'out_for_delivery', 'delivery.completed', 'c2', { position: HOME });
    expect(done).toMatchObject({ ok: true, value: { state: 'delivered' } });
    expect(f.courier('c2')).toMatchObject({ state: 'returning', deliveriesThisShift: 1 });
    expect(f.effects('o1').map((e) => [e.effect, e.amountCents])).toEqual([
      ['authorizePayment', 600],
      ['capturePayment', 600],
    ]);
    expect(f.warehouse.state.reservations.size).toBe(0);
    f.replayMatches();
  });

  it('takes the delivery of a courier who went silent with the bag and came back, keeping its new order', () => {
    const f = Floor.open({ couriers: ['c1'] });
    f.placeAndPack('o1', [{ sku: 'bread', quantity: 1 }]);
    expect(f.ping('c1', STORE).ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);
    f.advance(COURIER_SILENCE_MS);
    expect(f.courierState('c1')).toBe('offline');
    // c1 comes back and is given the next order, o2, while o1's bag is still with it.
    expect(f.ok({ type: 'courier.check_in', key: f.key(), courierId: 'c1', position: STORE })).toBeDefined();
    f.placeAndPack('o2', [{ sku: 'eggs', quantity: 1 }]);
    expect(f.courier('c1')).toMatchObject({ state: 'assigned', orderId: 'o2' });
    // Within o2's acknowledgement window, c1 hands o1 over at its door.
    f.atMs += 5_000;
    const done = f.courierEvent('o1', 'out_for_delivery', 'delivery.completed', 'c1', { position: HOME });
    expect(done).toMatchObject({ ok: true, value: { state: 'delivered' } });
    // Before the change c1 lost o2: assigned to nothing, and o2 stranded once c1 took and lost it.
    expect(f.courier('c1')).toMatchObject({ state: 'assigned', orderId: 'o2' });
    expect(f.courierEvent('o2', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    f.replayMatches();
  });

  it('refuses the delivery of a handover the courier has not accepted, then takes it once accepted', () => {
    const f = Floor.open({ couriers: ['c1', 'c2'] });
    f.placeAndPack('o1', [{ sku: 'bread', quantity: 1 }]);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);
    expect(f.send({ type: 'courier.breakdown', key: f.key(), courierId: 'c1' }).ok).toBe(true);
    expect(f.courier('c2')).toMatchObject({ state: 'assigned', orderId: 'o1' });
    f.atMs += 5_000;
    const early = f.courierEvent('o1', 'out_for_delivery', 'delivery.completed', 'c2', { position: HOME });
    expect(early).toMatchObject({ ok: false, error: { code: 'COURIER_STATE_CONFLICT', state: 'assigned' } });
    expect(f.stateOf('o1')).toBe('out_for_delivery');
    expect(f.courierEvent('o1', 'out_for_delivery', 'courier.accepted', 'c2').ok).toBe(true);
    const done = f.courierEvent('o1', 'out_for_delivery', 'delivery.completed', 'c2', { position: HOME });
    expect(done).toMatchObject({ ok: true, value: { state: 'delivered' } });
    expect(f.courier('c2')).toMatchObject({ state: 'returning', deliveriesThisShift: 1 });
    f.replayMatches();
  });

  it('lets a courier decline a handover: the order stays on the road and goes to the next courier', () => {
    const f = Floor.open({ couriers: ['c1', 'c2', 'c3'] });
    f.placeAndPack('o1', [{ sku: 'bread', quantity: 1 }]);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);
    expect(f.send({ type: 'courier.breakdown', key: f.key(), courierId: 'c1' }).ok).toBe(true);
    expect(f.order('o1').dispatch?.offeredTo).toBe('c2');

    const declined = f.courierEvent('o1', 'out_for_delivery', 'courier.declined', 'c2');
    expect(declined).toMatchObject({ ok: true, value: { state: 'out_for_delivery' } });
    expect(f.courier('c2')).toMatchObject({ state: 'available', unresponsive: false });
    expect(f.order('o1')).toMatchObject({ state: 'out_for_delivery', courierId: 'c3' });
    expect(f.order('o1').dispatch).toMatchObject({ offeredTo: 'c3', handover: true, passedBy: ['c1', 'c2'] });
    f.replayMatches();
  });

  it('re-offers a handover when the courier it was offered to goes silent before answering', () => {
    const f = Floor.open({ couriers: ['c1', 'c2', 'c3'] });
    f.atMs += 60_000;
    f.placeAndPack('o1', [{ sku: 'bread', quantity: 1 }]);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
    expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);
    // c2 was last heard from at check-in (T0); c1 and c3 keep pinging.
    f.atMs = T0 + 4 * 60_000 + 30_000;
    f.heartbeat('c1', 'c3');
    expect(f.send({ type: 'courier.breakdown', key: f.key(), courierId: 'c1' }).ok).toBe(true);
    expect(f.order('o1').dispatch?.offeredTo).toBe('c2');

    // c2 goes silent 30 s before its acknowledgement is due: it never had the bag.
    expect(f.order('o1').dispatch?.offerDeadlineMs).toBe(T0 + COURIER_SILENCE_MS + 30_000);
    f.advance(T0 + COURIER_SILENCE_MS - f.atMs);
    expect(f.courierState('c2')).toBe('offline');
    expect(f.events('escalation.raised')).toEqual([]);
    expect(f.order('o1')).toMatchObject({ state: 'out_for_delivery', courierId: 'c3' });
    expect(f.order('o1').dispatch).toMatchObject({ offeredTo: 'c3', handover: true });
    expect(f.courierEvent('o1', 'out_for_delivery', 'courier.accepted', 'c3').ok).toBe(true);
    expect(f.courierState('c3')).toBe('en_route_to_delivery');
    f.replayMatches();
  });
});

describe('order flow: courier GPS', () => {
  it('rejects an impossible jump without changing anything and bridges a 40 s gap', () => {
    const f = Floor.open({ couriers: ['c1'] });
    expect(f.pingAt('c1', STORE, T0 + 1_000).ok).toBe(true);
    const movedBefore = f.events('courier.moved').length;
    expect(movedBefore).toBe(1);

    f.atMs += 5_000;
    const before = f.stateBytes();
    // 11 km in 5 s.
    const jump = f.pingAt('c1', { lat: 52.62, lon: 13.405 }, T0 + 6_000);
    expect(jump).toMatchObject({
      ok: false,
      error: { code: 'PING_REJECTED', courierId: 'c1', reason: 'impossible_jump' },
    });
    expect(!jump.ok && jump.error.code === 'PING_REJECTED' && (jump.error.speedKmh ?? 0) > 90).toBe(true);
    const back = f.pingAt('c1', STORE, T0);
    expect(back).toMatchObject({ ok: false, error: { code: 'PING_REJECTED', reason: 'time_went_back' } });
    expect(Buffer.compare(f.stateBytes(), before)).toBe(0);
    expect(f.events('courier.moved')).toHaveLength(movedBefore);
    expect(f.courier('c1')).toMatchObject({ position: STORE, lastSeenAtMs: T0 });

    // 40 s later (device time), 400 m further: believed, and the gap is bridged every 5 s.
    f.atMs += 40_000;
    expect(f.pingAt('c1', ON_THE_WAY, T0 + 41_000).ok).toBe(true);
    const moved = f.events('courier.moved').slice(movedBefore);
    expect(moved.map((e) => [e.atMs - T0, e.interpolated])).toEqual([
      [6_000, true],
      [11_000, true],
      [16_000, true],
      [21_000, true],
      [26_000, true],
      [31_000, true],
      [36_000, true],
      [41_000, false],
    ]);
    // Interpolated points lie on the straight line, evenly spaced.
    const lat = (k: number) => STORE.lat + ((ON_THE_WAY.lat - STORE.lat) * 5_000 * k) / 40_000;
    moved.slice(0, 7).forEach((e, i) => {
      expect(e.position.lat).toBeCloseTo(lat(i + 1), 9);
      expect(e.position.lon).toBeCloseTo(STORE.lon, 9);
    });
    expect(moved[7]?.position).toEqual(ON_THE_WAY);
    expect(f.courier('c1')).toMatchObject({ position: ON_THE_WAY, lastSeenAtMs: f.atMs, state: 'available' });
    f.replayMatches();
  });
});
