/**
 * The notifier: order state changes map to the customer messages the issue lists; at-least-once
 * delivery of events never notifies twice; push falls back to SMS for the courier's arrival; a
 * failed send is not remembered, so the event's redelivery tries again.
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
    expect(notificationFor(changed('reserved', 'e1'))).toEqual({ orderId: 'o1', type: 'confirmed' });
    expect(notificationFor(changed('packed', 'e2'))).toEqual({ orderId: 'o1', type: 'packed' });
    expect(notificationFor(changed('picking', 'e3'))).toBeUndefined();
    expect(notificationFor({ type: 'availability.changed', sku: 'a', available: 1, version: 1 })).toBeUndefined();
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
});
