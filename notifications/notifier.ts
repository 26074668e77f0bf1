/**
 * Customer notifications from committed events: which event tells the customer what, sent through
 * the `NotificationSender` port (push; SMS as the fallback for delivery arrival), and deduplicated by
 * (order id, notification type) so that events delivered at least once, or handled concurrently,
 * never notify twice. The dedupe memory is bounded. Runs outside the single writer, as an event
 * consumer; it never changes the warehouse.
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

/** What an order's state change tells the customer. */
const BY_STATE: ReadonlyMap<string, NotificationType> = new Map([
  ['packed', 'packed'],
  ['out_for_delivery', 'out_for_delivery'],
  ['delivered', 'delivered'],
  // The partial notice went out when the line was dropped at picking; arriving is still "delivered".
  ['partially_fulfilled', 'delivered'],
  ['cancelled', 'cancelled'],
] as const);

/**
 * The notification a committed event calls for, if any. A pure function that sends nothing:
 * - `pick.queued` → `confirmed`: the core emits it exactly when an order's payment hold is in place
 *   and the order joins the pick queue (a later re-queue maps again and is deduplicated);
 * - `order.line_dropped` → `partially_fulfilled`, at the first dropped line (later ones dedupe);
 * - `order.late` → `delayed`;
 * - `order.changed` to packed, out for delivery, delivered or cancelled → the same; to
 *   `partially_fulfilled` (delivered with lines missing) → `delivered`, the shortfall having been
 *   told at drop time. `reserved` says nothing: the hold is not in place yet.
 */
export function notificationFor(event: EngineEvent): Notification | undefined {
  switch (event.type) {
    case 'pick.queued':
      return { orderId: event.orderId, type: 'confirmed' };
    case 'order.line_dropped':
      return { orderId: event.orderId, type: 'partially_fulfilled' };
    case 'order.late':
      return { orderId: event.orderId, type: 'delayed' };
    case 'order.changed': {
      const type = BY_STATE.get(event.state);
      return type === undefined ? undefined : { orderId: event.orderId, type };
    }
    default:
      return undefined;
  }
}

/** The notifications that fall back to SMS when push fails: the ones about the courier arriving. */
const SMS_FALLBACK: ReadonlySet<NotificationType> = new Set(['out_for_delivery', 'delivered']);

export class Notifier {
  /** (order, type) pairs already sent, forgotten oldest first past the bound (never by time). */
  private readonly sent = new RetainedMap<{ atMs: number }>(Number.POSITIVE_INFINITY, NOTIFIED_PAIRS_MAX);
  /** Pairs being sent now: a second send of one waits for nothing and counts as a duplicate. */
  private readonly sending = new Set<string>();
  readonly stats = { sent: 0, duplicates: 0, smsFallbacks: 0, failed: 0 };

  constructor(private readonly sender: NotificationSender) {}

  /** Sends what a committed event calls for, once per (order, type). Returns whether it sent. */
  async handle(event: EngineEvent): Promise<boolean> {
    const notification = notificationFor(event);
    return notification === undefined ? false : this.send(notification);
  }

  /** Sends a notification unless the same (order, type) was sent or is being sent. */
  async send(notification: Notification): Promise<boolean> {
    const pair = `${notification.orderId}\u0000${notification.type}`;
    if (this.sent.get(pair) !== undefined || this.sending.has(pair)) {
      this.stats.duplicates++;
      return false;
    }
    this.sending.add(pair);
    let delivered: boolean;
    try {
      delivered = await this.sender.push(notification);
      if (!delivered && SMS_FALLBACK.has(notification.type)) {
        this.stats.smsFallbacks++;
        delivered = await this.sender.sms(notification);
      }
    } finally {
      this.sending.delete(pair);
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
