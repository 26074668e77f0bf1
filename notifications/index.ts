/**
 * Public surface of notifications: the `NotificationSender` port and the notifier that turns
 * committed order events into customer messages, once per (order, type).
 */
export {
  NOTIFICATION_SEND_TIMEOUT_MS,
  NOTIFIED_PAIRS_MAX,
  type Notification,
  type NotificationSender,
  type NotificationType,
  Notifier,
  notificationFor,
  type SendOutcome,
} from './notifier.ts';
