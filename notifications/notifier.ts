/**
 * Customer notifications from committed events: which event tells the customer what, sent through
 * the `NotificationSender` port (push; SMS as the fallback for delivery arrival), and deduplicated by
 * (order id, notification type) so that events delivered at least once, or handled concurrently,
 * never notify twice. The dedupe memory is bounded. Runs outside the single writer, as an event
 * consumer; it never changes the warehouse.
 */
import { type EngineEvent, RetainedMap } from '../engine/index.ts';
import { answerWithin } from '../payments/index.ts';

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

/** What became of one send: sent now, sent (or being sent) before, or accepted by no channel. */
export type SendOutcome = 'sent' | 'duplicate' | 'failed';

/** Where notifications go. Each channel answers whether the message was accepted. */
export interface NotificationSender {
  push(notification: Notification): Promise<boolean>;
  sms(notification: Notification): Promise<boolean>;
}

/**
 * How long a channel may take to answer one send before it counts as not accepted. A sender that
 * hangs would otherwise hold its send for ever: the consumer's turn for that order (every later
 * notification of the order waits behind it) and one of its slots, until all are taken. A send that
 * timed out is tried again on the next delivery of its event; should the hung one still arrive, the
 * customer may get that message twice (a provider's own idempotency key is the cure).
 */
export const NOTIFICATION_SEND_TIMEOUT_MS = 10_000;

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
  /** `timedOut` counts channel calls given up after `sendTimeoutMs` (each also fails its send). */
  readonly stats = { sent: 0, duplicates: 0, smsFallbacks: 0, failed: 0, timedOut: 0 };

  constructor(
    private readonly sender: NotificationSender,
    private readonly sendTimeoutMs = NOTIFICATION_SEND_TIMEOUT_MS,
  ) {}

  /** A channel's answer, or `false` (not accepted) when it gives none within `sendTimeoutMs`. */
  private answer(call: Promise<boolean>): Promise<boolean> {
    return answerWithin(call, this.sendTimeoutMs, () => {
      this.stats.timedOut++;
      return false;
    });
  }

  /** Sends what a committed event calls for, once per (order, type). Returns whether it sent. */
  async handle(event: EngineEvent): Promise<boolean> {
    const notification = notificationFor(event);
    return notification === undefined ? false : this.send(notification);
  }

  /** Sends a notification unless the same (order, type) was sent or is being sent. Returns whether it sent. */
  async send(notification: Notification): Promise<boolean> {
    return (await this.deliver(notification)) === 'sent';
  }

  /**
   * Sends a notification unless the same (order, type) was sent or is being sent, and says which:
   * `failed` when no channel accepted it (or none answered in time), so that the caller tries again.
   */
  async deliver(notification: Notification): Promise<SendOutcome> {
    const pair = `${notification.orderId}\u0000${notification.type}`;
    if (this.sent.get(pair) !== undefined || this.sending.has(pair)) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    this.sending.add(pair);
    let delivered: boolean;
    try {
      delivered = await this.answer(this.sender.push(notification));
      if (!delivered && SMS_FALLBACK.has(notification.type)) {
        this.stats.smsFallbacks++;
        delivered = await this.answer(this.sender.sms(notification));
      }
    } finally {
      this.sending.delete(pair);
    }
    if (!delivered) {
      // Not remembered: the next delivery of the same event tries again.
      this.stats.failed++;
      return 'failed';
    }
    this.sent.add(pair, { atMs: 0 });
    this.stats.sent++;
    return 'sent';
  }
}
