/**
 * Orders in the warehouse core: placing an order reserves every line and asks for a payment hold;
 * order events carry an event id and the state the sender expects, a mismatch is
 * INVALID_TRANSITION and changes nothing, a repeated event id answers the first outcome; the core
 * runs the effects it owns (release, restock) and announces the others; orders survive snapshots
 * and replay byte for byte, and finished orders are forgotten after their retention.
 */
import { describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  fromSnapshot,
  limits,
  type StampedCommand,
  toSnapshot,
  validateCommand,
  Warehouse,
  type WarehouseSnapshot,
} from '../../engine/index.ts';
import { errorOf, eventsOfType, sameBytes, TestWarehouse } from './helpers.ts';

const ADDRESS = { lat: 52.52, lon: 13.405 };

function setup(): TestWarehouse {
  const w = new TestWarehouse();
  w.upsert('milk', { substitutes: ['oat'] });
  w.upsert('oat');
  w.receive('milk', 5);
  w.receive('oat', 5);
  return w;
}

function place(w: TestWarehouse, orderId: string, quantity = 2, extra: Record<string, unknown> = {}) {
  return w.send({
    type: 'order.place',
    key: w.key(),
    orderId,
    customerId: 'cust-1',
    address: ADDRESS,
    lines: [{ sku: 'milk', quantity }],
    paymentToken: 'tok_abc',
    ttlMs: 600_000,
    ...extra,
  });
}

function event(w: TestWarehouse, orderId: string, expectedState: string, type: string, eventId = w.key(), extra = {}) {
  return w.send({ type: 'order.event', key: w.key(), orderId, eventId, expectedState, event: type, ...extra });
}

describe('orders', () => {
  it('places an order: every line reserved, a payment hold asked for with the amount and token', () => {
    const w = setup();
    expect(place(w, 'o1')).toMatchObject({ ok: true, value: { kind: 'order', orderId: 'o1', state: 'reserved' } });
    expect(w.stock('milk')).toMatchObject({ reserved: 2, available: 3 });
    expect(eventsOfType(w.events, 'order.effect')).toEqual([
      { type: 'order.effect', orderId: 'o1', effect: 'authorizePayment', amountCents: 500, paymentToken: 'tok_abc' },
    ]);
    expect(eventsOfType(w.events, 'order.changed')).toEqual([
      { type: 'order.changed', orderId: 'o1', state: 'reserved' },
    ]);
  });

  it('refuses an order that cannot be reserved whole, and keeps nothing of it', () => {
    const w = setup();
    const before = w.stock('milk');
    expect(errorOf(place(w, 'o1', 9))).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      lines: [{ sku: 'milk', requested: 9, available: 5 }],
    });
    expect(w.stock('milk')).toEqual(before);
    expect(w.warehouse.order('o1').ok).toBe(false);
    expect(place(w, 'o1', 9, { allowSubstitutes: true })).toMatchObject({ ok: false });
  });

  it('refuses, at the boundary, the events the warehouse raises itself (the full path is in test/flows)', () => {
    for (const type of [
      'reservation.confirmed',
      'pick.started',
      'line.dropped',
      'courier.assigned',
      'courier.released',
    ]) {
      const input = {
        type: 'order.event',
        key: 'k',
        orderId: 'o1',
        eventId: 'e',
        expectedState: 'reserved',
        event: type,
      };
      expect(validateCommand(input), type).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_ERROR', path: 'event' },
      });
    }
  });

  it("holds a confirmed order's stock until it is picked, not just for the checkout TTL", () => {
    const w = setup();
    place(w, 'o1');
    const placed = w.warehouse.order('o1');
    const reservationId = placed.ok ? placed.value.reservationId : '';
    event(w, 'o1', 'reserved', 'payment.authorized');
    expect(eventsOfType(w.events, 'order.effect')).toEqual([]);
    expect(eventsOfType(w.events, 'pick.queued')).toEqual([{ type: 'pick.queued', orderId: 'o1', queueLength: 1 }]);
    const held = w.warehouse.reservation(reservationId);
    expect(held).toMatchObject({ ok: true, value: { expiresAtMs: w.atMs + limits.ORDER_CONFIRMED_HOLD_MS } });
    w.atMs += 600_001; // past the checkout TTL
    w.ok({ type: 'tick' });
    expect(w.stock('milk')).toMatchObject({ reserved: 2 });
  });

  it('cancels an order whose checkout hold expired before the payment hold came', () => {
    const w = setup();
    place(w, 'o1');
    w.atMs += 600_000;
    w.ok({ type: 'tick' });
    expect(w.warehouse.order('o1')).toMatchObject({ value: { state: 'cancelled' } });
    expect(eventsOfType(w.events, 'order.changed')).toEqual([
      { type: 'order.changed', orderId: 'o1', state: 'cancelled', reason: 'reservation_expired' },
    ]);
    expect(w.stock('milk')).toMatchObject({ reserved: 0, available: 5 });
    // A payment hold arriving late is refused: the order is no longer waiting for it.
    expect(errorOf(event(w, 'o1', 'reserved', 'payment.authorized'))).toMatchObject({
      code: 'INVALID_TRANSITION',
      actual: 'cancelled',
    });
  });

  it('refuses an event sent for another state, announces it, and changes nothing', () => {
    const w = setup();
    place(w, 'o1');
    const before = w.bytesWithoutStamp();
    expect(errorOf(event(w, 'o1', 'packed', 'order.cancel', 'e-1'))).toMatchObject({
      code: 'INVALID_TRANSITION',
      orderId: 'o1',
      expected: 'packed',
      actual: 'reserved',
    });
    expect(eventsOfType(w.events, 'order.rejected')).toHaveLength(1);
    expect(errorOf(event(w, 'o1', 'reserved', 'delivery.returned', 'e-2', { courierId: 'c1' }))).toMatchObject({
      code: 'INVALID_TRANSITION',
    });
    expect(sameBytes(w.bytesWithoutStamp(), before)).toBe(true);
  });

  it('answers a repeated event id with the first outcome, whatever the key', () => {
    const w = setup();
    place(w, 'o1');
    expect(event(w, 'o1', 'reserved', 'payment.authorized', 'e-1')).toMatchObject({
      ok: true,
      value: { duplicate: false },
    });
    const before = w.bytesWithoutStamp();
    expect(event(w, 'o1', 'reserved', 'payment.authorized', 'e-1')).toMatchObject({
      ok: true,
      value: { state: 'reserved', duplicate: true },
    });
    expect(w.events).toEqual([]);
    expect(sameBytes(w.bytesWithoutStamp(), before)).toBe(true);
  });

  it('releases the reservation inside the core on a payment decline, and on a cancel voids the hold', () => {
    const w = setup();
    place(w, 'o1');
    event(w, 'o1', 'reserved', 'payment.declined');
    expect(w.warehouse.order('o1')).toMatchObject({ value: { state: 'cancelled' } });
    expect(w.stock('milk')).toMatchObject({ reserved: 0, available: 5 });
    expect(eventsOfType(w.events, 'order.effect')).toEqual([]);

    place(w, 'o2');
    event(w, 'o2', 'reserved', 'payment.authorized', undefined, { authorizationId: 'auth-2' });
    event(w, 'o2', 'reserved', 'order.cancel');
    expect(w.stock('milk')).toMatchObject({ reserved: 0 });
    expect(eventsOfType(w.events, 'order.effect')).toContainEqual({
      type: 'order.effect',
      orderId: 'o2',
      effect: 'voidAuthorization',
      amountCents: 500,
      authorizationId: 'auth-2',
    });
  });

  it('rejects malformed order commands at the boundary', () => {
    const bad = [
      { type: 'order.event', key: 'k', orderId: 'o', eventId: 'e', expectedState: 'flying', event: 'order.cancel' },
      { type: 'order.event', key: 'k', orderId: 'o', eventId: 'e', expectedState: 'reserved', event: 'teleport' },
      {
        type: 'order.place',
        key: 'k',
        orderId: 'o',
        customerId: 'c',
        address: { lat: 91, lon: 0 },
        lines: [{ sku: 'a', quantity: 1 }],
        paymentToken: 't',
        ttlMs: 5_000,
      },
      {
        type: 'order.place',
        key: 'k',
        orderId: 'o',
        customerId: 'c',
        address: { lat: Number.NaN, lon: 0 },
        lines: [{ sku: 'a', quantity: 1 }],
        paymentToken: 't',
        ttlMs: 5_000,
      },
    ];
    for (const input of bad)
      expect(validateCommand(input)).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
  });

  it('survives a snapshot round trip and replays byte for byte', () => {
    const w = setup();
    place(w, 'o1');
    event(w, 'o1', 'reserved', 'payment.authorized', 'e1', { authorizationId: 'a1' });
    place(w, 'o2', 1);
    event(w, 'o2', 'reserved', 'order.cancel', 'e2');
    const bytes = encode(toSnapshot(w.warehouse.state));
    const restored = new Warehouse('w-test', {}, fromSnapshot(decode(bytes) as WarehouseSnapshot));
    expect(sameBytes(encode(toSnapshot(restored.state)), bytes)).toBe(true);
    expect(restored.order('o1')).toMatchObject({ value: { state: 'reserved', authorizationId: 'a1' } });
  });

  it('forgets a finished order after FINISHED_ORDER_RETENTION_MS', () => {
    const w = setup();
    place(w, 'o1');
    event(w, 'o1', 'reserved', 'order.cancel');
    w.atMs += limits.FINISHED_ORDER_RETENTION_MS;
    w.ok({ type: 'tick' });
    expect(w.warehouse.order('o1').ok).toBe(true);
    w.atMs += 1;
    w.ok({ type: 'tick' });
    expect(w.warehouse.order('o1')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});

describe('orders replay', () => {
  it('a log of order commands rebuilds the same state', () => {
    const w = setup();
    const log: StampedCommand[] = [];
    const send = (input: unknown) => {
      const v = validateCommand(input);
      if (!v.ok) throw new Error(v.error.message);
      const stamped = { seq: w.warehouse.state.lastSeq + 1, atMs: w.atMs, command: v.value };
      log.push(stamped);
      return w.warehouse.apply(stamped);
    };
    const start = w.warehouse.state.lastSeq;
    const replayFrom = encode(toSnapshot(w.warehouse.state));
    send({
      type: 'order.place',
      key: 'p1',
      orderId: 'o1',
      customerId: 'c',
      address: ADDRESS,
      lines: [{ sku: 'milk', quantity: 1 }],
      paymentToken: 't',
      ttlMs: 600_000,
    });
    send({
      type: 'payment.outcome',
      key: 'k1',
      orderId: 'o1',
      operation: 'authorize',
      outcome: 'succeeded',
      authorizationId: 'a1',
    });
    send({
      type: 'order.event',
      key: 'k2',
      orderId: 'o1',
      eventId: 'e2',
      expectedState: 'reserved',
      event: 'order.cancel',
    });
    send({ type: 'payment.outcome', key: 'k3', orderId: 'o1', operation: 'void', outcome: 'succeeded' });
    const fresh = new Warehouse('w-test', {}, fromSnapshot(decode(replayFrom) as WarehouseSnapshot));
    for (const stamped of log) fresh.apply(stamped);
    expect(fresh.state.lastSeq).toBe(start + log.length);
    expect(sameBytes(encode(toSnapshot(fresh.state)), encode(toSnapshot(w.warehouse.state)))).toBe(true);
  });
});
