/**
 * Customer notifications from committed order events: which change tells the customer what, sent
 * through the `NotificationSender` port (push; SMS as the fallback for delivery arrival), and
 * deduplicated by (order id, notification type) so that events delivered at least once never
 * notify twice. The dedupe memory is bounded. Runs outside the single writer, as an event consumer.
 */
import { type EngineEvent, RetainedMap } from '../engine/index.ts';

export type NotificationType =
  | 'confirmed'
  | 'packed'
  | 'out_for_delivery'
  | 'delivered'
  | 'partially_fulfilled'
  | 'cancelled'
  | 'delayed';

export interface Notification {
  orderId: string;
  type: NotificationType;
}

/** Where notifications go. Each channel answers whether the message was accepted. */
export interface NotificationSender {
  push(notification: Notification): Promise<boolean>;
  sms(notification: Notification): Promise<boolean>;
}

/** Most (order, type) pairs remembered; the oldest are forgotten first. */
export const NOTIFIED_PAIRS_MAX = 200_000;

/** The notification an order state change calls for, if any. */
export function notificationFor(event: EngineEvent): Notification | undefined {
  if (event.type !== 'order.changed') return undefined;
  const byState: Partial<Record<string, NotificationType>> = {
    packed: 'packed',
    out_for_delivery: 'out_for_delivery',
    delivered: 'delivered',
    partially_fulfilled: 'partially_fulfilled',
    cancelled: 'cancelled',
  };
  // An order is confirmed when its payment hold is in place: reserved, after an event.
  const type = event.state === 'reserved' && event.eventId !== undefined ? 'confirmed' : byState[event.state];
  return type === undefined ? undefined : { orderId: event.orderId, type };
}

/** The notifications that fall back to SMS when push fails: the ones about the courier arriving. */
const SMS_FALLBACK: ReadonlySet<NotificationType> = new Set(['out_for_delivery', 'delivered']);

export class Notifier {
  /** (order, type) pairs already sent, forgotten oldest first past the bound (never by time). */
  private readonly sent = new RetainedMap<{ atMs: number }>(Number.POSITIVE_INFINITY, NOTIFIED_PAIRS_MAX);
  readonly stats = { sent: 0, duplicates: 0, smsFallbacks: 0, failed: 0 };

  constructor(private readonly sender: NotificationSender) {}

  /** Sends what a committed event calls for, once per (order, type). Returns whether it sent. */
  async handle(event: EngineEvent): Promise<boolean> {
    const notification = notificationFor(event);
    return notification === undefined ? false : this.send(notification);
  }

  async send(notification: Notification): Promise<boolean> {
    const pair = `${notification.orderId}\u0000${notification.type}`;
    if (this.sent.get(pair) !== undefined) {
      this.stats.duplicates++;
      return false;
    }
    let delivered = await this.sender.push(notification);
    if (!delivered && SMS_FALLBACK.has(notification.type)) {
      this.stats.smsFallbacks++;
      delivered = await this.sender.sms(notification);
    }
    if (!delivered) {
      // Not remembered: the next delivery of the same event tries again.
      this.stats.failed++;
      return false;
    }
    this.sent.add(pair, { atMs: 0 });
    this.stats.sent++;
    return true;
  }
}
