/**
 * Hands committed events to the notifier without making the caller wait for the sends, with at most
 * NOTIFICATIONS_IN_FLIGHT_MAX sends at once. Notifications are best effort: past the bound an event's
 * notification is dropped and counted (a sender that far behind is an outage the counters show).
 * It never retries a send itself and never touches payments.
 */
import type { EngineEvent } from '../engine/index.ts';
import { type Notifier, notificationFor } from '../notifications/index.ts';

/** Most notifications being sent at once; past it they are dropped and counted. */
export const NOTIFICATIONS_IN_FLIGHT_MAX = 1_000;

export class NotificationFeed {
  inFlight = 0;
  dropped = 0;
  /** Sends whose sender threw (a sender answering `false` is counted by the notifier). */
  failed = 0;

  constructor(
    private readonly notifier: Notifier,
    /** Called whenever a send ends, so the owner can tell when it is idle. */
    private readonly settled: () => void,
    private readonly inFlightMax = NOTIFICATIONS_IN_FLIGHT_MAX,
  ) {}

  /** Starts the send an event calls for, if any. Returns at once. */
  push(event: EngineEvent): void {
    const notification = notificationFor(event);
    if (notification === undefined) return;
    if (this.inFlight >= this.inFlightMax) {
      this.dropped++;
      return;
    }
    this.inFlight++;
    void this.notifier
      .send(notification)
      .catch(() => {
        this.failed++;
      })
      .finally(() => {
        this.inFlight--;
        this.settled();
      });
  }
}
