/**
 * The notifier: committed events map to the customer messages the issue lists (confirmation when the
 * order joins the pick queue, the partial notice when a line is dropped, the delay notice when the
 * order runs late, and the state changes); at-least-once or concurrent delivery of events never
 * notifies twice; push falls back to SMS for the courier's arrival; a failed send is not
 * remembered, so the event's redelivery tries again.
 */
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../engine/index.ts';
import { type Notification, type NotificationSender, Notifier, notificationFor } from '../../notifications/index.ts';

/** A sender whose push can be made to fail; it keeps what went out on which channel. */
class TestSender implements NotificationSender {
  pushWorks = true;
  readonly out: string[] = [];
  async push(n: Notification): Promise<boolean> {
    if (this.pushWorks) this.out.push(`push ${n.orderId} ${n.type}`);
    return this.pushWorks;
  }
  async sms(n: Notification): Promise<boolean> {
    this.out.push(`sms ${n.orderId} ${n.type}`);
    return true;
  }
}

const changed = (state: string, eventId?: string): EngineEvent =>
  eventId === undefined
    ? { type: 'order.changed', orderId: 'o1', state: state as 'reserved' }
    : { type: 'order.changed', orderId: 'o1', state: state as 'reserved', eventId };

describe('notifier', () => {
  it('maps state changes to notifications', () => {
    expect(notificationFor(changed('reserved'))).toBeUndefined(); // placed, hold not yet in place
    expect(notificationFor(changed('reserved', 'e1'))).toBeUndefined(); // confirmation comes from pick.queued
    expect(notificationFor(changed('packed', 'e2'))).toEqual({ orderId: 'o1', type: 'packed' });
    expect(notificationFor(changed('picking', 'e3'))).toBeUndefined();
    expect(notificationFor(changed('out_for_delivery', 'e4'))).toEqual({ orderId: 'o1', type: 'out_for_delivery' });
    expect(notificationFor(changed('delivered', 'e5'))).toEqual({ orderId: 'o1', type: 'delivered' });
    // Delivered with lines missing: the partial notice went out at drop time; this one says it arrived.
    expect(notificationFor(changed('partially_fulfilled', 'e5'))).toEqual({ orderId: 'o1', type: 'delivered' });
    expect(notificationFor(changed('cancelled', 'e6'))).toEqual({ orderId: 'o1', type: 'cancelled' });
    expect(notificationFor(changed('refunded', 'e7'))).toBeUndefined();
    expect(notificationFor({ type: 'availability.changed', sku: 'a', available: 1, version: 1 })).toBeUndefined();
  });

  it('confirms when the order joins the pick queue, and maps dropped lines and lateness', () => {
    expect(notificationFor({ type: 'pick.queued', orderId: 'o1', queueLength: 3 })).toEqual({
      orderId: 'o1',
      type: 'confirmed',
    });
    const dropped: EngineEvent = {
      type: 'order.line_dropped',
      orderId: 'o1',
      sku: 'milk',
      quantity: 1,
      adjustmentCents: 99,
    };
    expect(notificationFor(dropped)).toEqual({ orderId: 'o1', type: 'partially_fulfilled' });
    const late: EngineEvent = {
      type: 'order.late',
      orderId: 'o1',
      courierId: 'c1',
      promisedAtMs: 1_000,
      state: 'out_for_delivery',
    };
    expect(notificationFor(late)).toEqual({ orderId: 'o1', type: 'delayed' });
    expect(notificationFor({ type: 'order.eta', orderId: 'o1', etaAtMs: 2_000 })).toBeUndefined();
    expect(
      notificationFor({ type: 'order.effect', orderId: 'o1', effect: 'notify', amountCents: 100 }),
    ).toBeUndefined();
  });

  it('sends one partial notice however many lines are dropped', async () => {
    const sender = new TestSender();
    const notifier = new Notifier(sender);
    for (const sku of ['milk', 'eggs']) {
      await notifier.handle({ type: 'order.line_dropped', orderId: 'o1', sku, quantity: 1, adjustmentCents: 50 });
    }
    expect(sender.out).toEqual(['push o1 partially_fulfilled']);
  });

  it('sends once when the same event is handled concurrently', async () => {
    const sender = new TestSender();
    const notifier = new Notifier(sender);
    const sent = await Promise.all([1, 2, 3].map(() => notifier.handle(changed('packed', 'e2'))));
    expect(sent.filter(Boolean)).toHaveLength(1);
    expect(sender.out).toEqual(['push o1 packed']);
    expect(notifier.stats).toMatchObject({ sent: 1, duplicates: 2 });
  });

  it('sends once per order and type, however often the event is delivered', async () => {
    const sender = new TestSender();
    const notifier = new Notifier(sender);
    for (let i = 0; i < 3; i++) await notifier.handle(changed('packed', 'e2'));
    expect(sender.out).toEqual(['push o1 packed']);
    expect(notifier.stats).toMatchObject({ sent: 1, duplicates: 2 });
  });

  it('falls back to SMS for the arrival, and retries a failed send on redelivery', async () => {
    const sender = new TestSender();
    const notifier = new Notifier(sender);
    sender.pushWorks = false;
    expect(await notifier.handle(changed('out_for_delivery', 'e4'))).toBe(true);
    expect(sender.out).toEqual(['sms o1 out_for_delivery']);
    expect(await notifier.handle(changed('packed', 'e2'))).toBe(false); // no SMS fallback for packed
    sender.pushWorks = true;
    expect(await notifier.handle(changed('packed', 'e2'))).toBe(true);
    expect(notifier.stats).toMatchObject({ sent: 2, smsFallbacks: 1, failed: 1 });
  });

  it('gives up on a channel that does not answer: the send fails, its slot is free, a later delivery sends', async () => {
    let hung = true;
    const out: string[] = [];
    const sender: NotificationSender = {
      push: (n) =>
        hung ? new Promise<boolean>(() => {}) : Promise.resolve(out.push(`push ${n.orderId} ${n.type}`) > 0),
      sms: (n) => (hung ? new Promise<boolean>(() => {}) : Promise.resolve(out.push(`sms ${n.orderId} ${n.type}`) > 0)),
    };
    const notifier = new Notifier(sender, 30);
    const arrival = { orderId: 'o1', type: 'out_for_delivery' } as const;
    // Arrival notices fall back to SMS: both channels hang, both are given up, and the send failed
    // (what makes the notification consumer take the event again), not a duplicate.
    expect(await notifier.deliver(arrival)).toBe('failed');
    expect(notifier.stats).toMatchObject({ sent: 0, failed: 1, timedOut: 2, smsFallbacks: 1 });
    hung = false;
    expect(await notifier.deliver(arrival)).toBe('sent');
    expect(await notifier.deliver(arrival)).toBe('duplicate');
    expect(out).toEqual(['push o1 out_for_delivery']);
    expect(notifier.stats).toMatchObject({ sent: 1, timedOut: 2, duplicates: 1 });
  });
});
