/**
 * The payment hold at checkout in virtual time: a declined or unreachable authorization cancels the
 * order and gives its stock back (one whose answer may have been lost stays owed until the provider
 * answers); an authorization that lands after the order was cancelled (by the customer, by an
 * abandoned checkout's expiry, or by a lost answer) is voided at once.
 */
import { describe, expect, it } from 'vitest';
import { Floor } from './floor.ts';

describe('order flow: payment hold', () => {
  it('cancels a declined order and releases its reservation, so the stock can be sold again', () => {
    const f = Floor.open();
    expect(
      f.place('o1', [
        { sku: 'milk', quantity: 2 },
        { sku: 'bread', quantity: 1 },
      ]).ok,
    ).toBe(true);
    expect(f.available('milk')).toBe(18);
    expect(f.warehouse.state.reservations.size).toBe(1);

    const declined = f.payment('o1', 'authorize', 'declined', { message: 'insufficient funds' });
    expect(declined).toMatchObject({ ok: true, value: { kind: 'payment', operation: 'authorize', applied: true } });
    expect(f.stateOf('o1')).toBe('cancelled');
    expect(f.events('order.changed').map((e) => e.state)).toEqual(['reserved', 'cancelled']);
    expect(f.events('order.changed').map((e) => e.reason)).toEqual([undefined, 'payment_declined']);
    // Nothing was held at the provider, so there is nothing to void; nothing reaches the pickers.
    expect(f.effects('o1').map((e) => e.effect)).toEqual(['authorizePayment']);
    expect(f.events('pick.queued')).toHaveLength(0);
    expect(f.order('o1').payment).toMatchObject({ pending: [], voided: false, capturedCents: 0 });

    // The reservation is released in full: stock on the shelf never moved.
    expect(f.warehouse.state.reservations.size).toBe(0);
    expect(f.ledger('release').map((e) => [e.sku, e.reservedDelta])).toEqual([
      ['milk', -2],
      ['bread', -1],
    ]);
    for (const sku of ['milk', 'bread']) {
      expect(f.onHand(sku)).toBe(20);
      expect(f.available(sku)).toBe(20);
    }

    // A repeated answer from the provider changes nothing.
    expect(f.payment('o1', 'authorize', 'declined')).toMatchObject({ ok: true, value: { applied: false } });
    expect(f.stateOf('o1')).toBe('cancelled');

    // The whole shelf can be sold to the next customer.
    expect(f.place('o2', [{ sku: 'milk', quantity: 20 }]).ok).toBe(true);
    expect(f.available('milk')).toBe(0);
    f.replayMatches();
  });

  it('cancels the checkout when the provider stays unreachable for the authorization', () => {
    const f = Floor.open();
    expect(f.place('o1', [{ sku: 'eggs', quantity: 3 }]).ok).toBe(true);
    expect(f.payment('o1', 'authorize', 'unavailable').ok).toBe(true);
    expect(f.stateOf('o1')).toBe('cancelled');
    expect(f.events('order.changed').at(-1)).toMatchObject({ state: 'cancelled', reason: 'payment_unavailable' });
    expect(f.effects('o1').map((e) => e.effect)).toEqual(['authorizePayment']);
    expect(f.warehouse.state.reservations.size).toBe(0);
    expect(f.available('eggs')).toBe(20);
    f.replayMatches();
  });

  it('keeps an authorization whose answer may have been lost owed after the cancel, and voids the hold it finds', () => {
    const f = Floor.open();
    expect(f.place('o1', [{ sku: 'eggs', quantity: 3 }]).ok).toBe(true);
    // No answer in time: the call may have reached the provider. The checkout fails at once...
    expect(f.payment('o1', 'authorize', 'unavailable', { uncertain: true }).ok).toBe(true);
    expect(f.stateOf('o1')).toBe('cancelled');
    expect(f.events('order.changed').at(-1)).toMatchObject({ state: 'cancelled', reason: 'payment_unavailable' });
    expect(f.available('eggs')).toBe(20);
    // ...and the authorize stays owed, across further outage reports, until the provider answers.
    expect(f.order('o1').payment).toMatchObject({ pending: ['authorize'], authorizeUncertain: true, failures: 1 });
    expect(f.payment('o1', 'authorize', 'unavailable', { message: 'circuit open' }).ok).toBe(true);
    expect(f.order('o1').payment).toMatchObject({ pending: ['authorize'], failures: 2 });
    // The provider had placed the hold: it answers the same key with it, and the hold is let go.
    expect(f.payment('o1', 'authorize').ok).toBe(true);
    expect(f.stateOf('o1')).toBe('cancelled');
    expect(f.effects('o1').map((e) => e.effect)).toEqual(['authorizePayment', 'voidAuthorization']);
    expect(f.order('o1').payment).toMatchObject({ pending: ['void'] });
    expect(f.order('o1').payment.authorizeUncertain).toBeUndefined();
    // An outcome saying uncertain with anything but unavailable is bad input.
    const bad = f.send({
      type: 'payment.outcome',
      key: f.key(),
      orderId: 'o1',
      operation: 'void',
      outcome: 'declined',
      uncertain: true,
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR', path: 'uncertain' } });
    f.replayMatches();
  });

  it('voids an authorization that arrives after the customer cancelled in reserved', () => {
    const f = Floor.open();
    expect(f.place('o1', [{ sku: 'milk', quantity: 2 }]).ok).toBe(true);
    f.atMs += 20_000;
    const cancelled = f.event('o1', 'reserved', 'order.cancel', { reason: 'changed my mind' });
    expect(cancelled).toMatchObject({ ok: true, value: { state: 'cancelled' } });
    expect(f.events('order.changed').at(-1)).toMatchObject({ state: 'cancelled', reason: 'requested' });
    expect(f.warehouse.state.reservations.size).toBe(0);
    expect(f.available('milk')).toBe(20);
    // The hold is still being placed: there is no authorization id to void yet.
    expect(f.effects('o1').map((e) => e.effect)).toEqual(['authorizePayment']);

    f.atMs += 10_000;
    const late = f.payment('o1', 'authorize', 'succeeded');
    expect(late).toMatchObject({ ok: true, value: { applied: true } });
    expect(f.stateOf('o1')).toBe('cancelled');
    expect(f.effects('o1')).toEqual([
      expect.objectContaining({ effect: 'authorizePayment', amountCents: 600, paymentToken: 'tok-o1' }),
      expect.objectContaining({ effect: 'voidAuthorization', amountCents: 600, authorizationId: 'auth-o1' }),
    ]);
    // The cancelled order never reaches the pickers, and its stock stays free.
    expect(f.events('pick.queued')).toHaveLength(0);
    expect(f.available('milk')).toBe(20);
    expect(f.order('o1').payment.pending).toEqual(['void']);

    expect(f.payment('o1', 'void')).toMatchObject({ ok: true, value: { applied: true } });
    expect(f.order('o1').payment).toMatchObject({ pending: [], voided: true, capturedCents: 0 });
    // A second void answer is stale.
    expect(f.payment('o1', 'void')).toMatchObject({ ok: true, value: { applied: false } });
    expect(f.effects('o1')).toHaveLength(2);
    f.replayMatches();
  });

  it('voids an authorization that arrives after an abandoned checkout expired', () => {
    const f = Floor.open();
    expect(f.place('o1', [{ sku: 'bread', quantity: 4 }]).ok).toBe(true);
    expect(f.reserved('bread')).toBe(4);
    // The checkout TTL (10 min) runs out before the hold comes back.
    f.advance(600_000);
    expect(f.stateOf('o1')).toBe('cancelled');
    expect(f.events('reservation.expired')).toMatchObject([{ lines: [{ sku: 'bread', quantity: 4 }] }]);
    expect(f.ledger('expire').map((e) => [e.sku, e.reservedDelta])).toEqual([['bread', -4]]);
    expect(f.available('bread')).toBe(20);
    expect(f.warehouse.state.reservations.size).toBe(0);

    expect(f.payment('o1', 'authorize').ok).toBe(true);
    expect(f.effects('o1').map((e) => [e.effect, e.authorizationId])).toEqual([
      ['authorizePayment', undefined],
      ['voidAuthorization', 'auth-o1'],
    ]);
    expect(f.stateOf('o1')).toBe('cancelled');
    f.replayMatches();
  });
});
