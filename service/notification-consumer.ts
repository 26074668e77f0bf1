/**
 * Customer notifications sent from the events stream instead of inside the region process's commit
 * path: durable consumers of a region's order events (`order.>`: order.changed, order.line_dropped,
 * order.late and the rest, and `pick.queued`) hand each event to the `Notifier`, which sends what it
 * calls for once per (order, type). An event is acknowledged once its notification was sent (or it
 * calls for none, or was sent before); a send that fails gets the event again after a delay that
 * doubles at each delivery, up to NOTIFICATION_DELIVERIES_MAX deliveries (a sender down for minutes
 * loses nothing). The consumers are durable and shared: several region
 * processes of one region split the events between them, and a restarted one resumes where the
 * region's consumers stopped. Up to NOTIFICATION_SENDS_IN_FLIGHT_MAX sends at once, but one
 * order's one after another, in the order of its events, among the events this process takes (a
 * send that fails and comes again later goes after what followed it; other processes sharing the
 * consumer take events of their own). Two consumers because nats-server 2.9 filters a consumer on one
 * subject; the order of a customer's messages holds within each, and the two kinds are minutes apart.
 * Never changes a warehouse.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type Notification, type NotificationSender, Notifier, notificationFor } from '../notifications/index.ts';
import { eventSubject } from '../protocol/index.ts';
import { type EventConsumer, startEventConsumer } from './event-consumer.ts';

/** Notifications being sent at once, per consumer. */
export const NOTIFICATION_SENDS_IN_FLIGHT_MAX = 64;
/**
 * Deliveries of an event whose notification keeps failing before it is given up: with the delays
 * doubling from NOTIFICATION_RETRY_DELAY_MS up to CONSUMER_RETRY_DELAY_MAX_MS (5 min), about half an
 * hour of a sender's outage.
 */
export const NOTIFICATION_DELIVERIES_MAX = 12;
/** Delay before an event whose notification failed is delivered again the first time (then doubled). */
export const NOTIFICATION_RETRY_DELAY_MS = 5_000;

/** The event types each notification consumer takes (one filter subject each). */
const FILTERS = [
  { which: 'order', type: 'order.>' },
  { which: 'pick_queued', type: 'pick.queued' },
] as const;

/** The durable name of a region's notification consumer. */
export function notificationConsumerName(region: string, which: string, prefix = 'notifications'): string {
  return `${prefix}_${region}_${which}`;
}

export interface NotificationConsumerOptions {
  /** Prefix of the durable names (default `notifications`); tests use their own. */
  namePrefix?: string;
  retryDelayMs?: number;
  logger?: Logger;
}

export interface RunningNotificationConsumer {
  readonly notifier: Notifier;
  readonly consumers: readonly EventConsumer[];
  stop(): Promise<void>;
}

/**
 * A sender that only logs each notification (pino, info) and reports it delivered: what the region
 * process uses until a push/SMS provider is wired in.
 */
export function loggingSender(logger: Logger): NotificationSender {
  return {
    push: async (n: Notification) => {
      logger.info({ orderId: n.orderId, notification: n.type, channel: 'push' }, 'notification');
      return true;
    },
    sms: async (n: Notification) => {
      logger.info({ orderId: n.orderId, notification: n.type, channel: 'sms' }, 'notification');
      return true;
    },
  };
}

/**
 * Starts the notification consumers of a region (created if they do not exist; a new one starts with
 * the events to come). Resolves once they take events; throws when the events stream is missing.
 */
export async function startNotificationConsumer(
  nc: NatsConnection,
  region: string,
  sender: NotificationSender,
  options: NotificationConsumerOptions = {},
): Promise<RunningNotificationConsumer> {
  const notifier = new Notifier(sender);
  const handle = async (envelope: { event: Parameters<typeof notificationFor>[0] }): Promise<void> => {
    const notification = notificationFor(envelope.event);
    if (notification === undefined) return;
    // Accepted by no channel (or none answered in time): throwing makes the consumer deliver the event again later.
    if ((await notifier.deliver(notification)) === 'failed') {
      throw new Error(`notification ${notification.type} not accepted`);
    }
  };
  const consumers: EventConsumer[] = [];
  try {
    for (const filter of FILTERS) {
      consumers.push(
        await startEventConsumer(nc, {
          name: notificationConsumerName(region, filter.which, options.namePrefix),
          durable: true,
          filterSubject: eventSubject(region, '*', filter.type),
          deliver: 'new',
          handle,
          // A customer's messages in the order of their events, while other orders' go at once.
          sequenceBy: (envelope) => notificationFor(envelope.event)?.orderId,
          concurrency: NOTIFICATION_SENDS_IN_FLIGHT_MAX,
          deliveriesMax: NOTIFICATION_DELIVERIES_MAX,
          retryDelayMs: options.retryDelayMs ?? NOTIFICATION_RETRY_DELAY_MS,
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        }),
      );
    }
  } catch (error) {
    await Promise.all(consumers.map((c) => c.stop()));
    throw error;
  }
  return {
    notifier,
    consumers,
    stop: async () => {
      await Promise.all(consumers.map((c) => c.stop()));
    },
  };
}
