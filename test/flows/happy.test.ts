/** The happy path end to end in virtual time: place → authorize → pick with scans → pack → dispatch → deliver. */
import { describe, expect, it } from 'vitest';
import { Floor, HOME } from './floor.ts';

describe('order flow: happy path', () => {
  it('delivers an order, capturing the payment once, and replays exactly', () => {
    const f = Floor.open();
    const quote = f.warehouse.quote(HOME);
    expect(quote).toMatchObject({ pickQueueLength: 0, pickersOnShift: 1, couriersFree: 1 });
    // Nothing waits: pick-pack estimate + travel at 20 km/h + the buffer.
    expect(quote.promisedInMs).toBe(quote.pickPackMs + quote.travelMs);
    const placed = f.place('o1', [
      { sku: 'milk', quantity: 2 },
      { sku: 'bread', quantity: 1 },
    ]);
    expect(placed).toMatchObject({ ok: true, value: { promisedAtMs: f.atMs + quote.promisedInMs } });
    expect(f.stateOf('o1')).toBe('reserved');
    expect(f.events('order.effect').map((e) => e.effect)).toEqual(['authorizePayment']);
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    expect(f.events('pick.queued')).toHaveLength(1);
    f.atMs += 30_000;
    const orderId = f.pickAll();
    expect(orderId).toBe('o1');
    expect(f.onHand('milk')).toBe(18);
    f.atMs += 3 * 60_000;
    expect(f.pack('o1').ok).toBe(true);
    // Packed and offered to the only courier at once.
    expect(f.stateOf('o1')).toBe('courier_assigned');
    expect(f.events('dispatch.offered')).toMatchObject([{ orderId: 'o1', courierId: 'c1' }]);
    f.deliver('o1', 'c1');
    expect(f.stateOf('o1')).toBe('delivered');
    expect(f.courierState('c1')).toBe('returning');
    expect(f.events('order.effect').map((e) => e.effect)).toEqual(['authorizePayment', 'capturePayment']);
    expect(f.payment('o1', 'capture', 'succeeded', { amountCents: 900 }).ok).toBe(true);
    expect(f.order('o1').payment).toMatchObject({ pending: [], capturedCents: 900 });
    expect(f.order('o1').pack).toMatchObject({ bagCount: 2, stagingSlot: 'S-1', pickPackMs: 3 * 60_000 });
    // The courier comes back to the store and is available again.
    f.atMs += 4 * 60_000;
    expect(f.ping('c1', { lat: 52.5201, lon: 13.405 }).ok).toBe(true);
    expect(f.courierState('c1')).toBe('available');
    f.replayMatches();
  });
});
