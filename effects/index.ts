/**
 * Public surface of effects: the runtime's effect executor, which carries out the payment effects
 * of committed events through the `PaymentGateway` port and reports their outcomes back to the
 * warehouse as commands and hands committed events to the notifier, plus the scheduler port it
 * runs on (wall clock or virtual time) and the pure pieces it is made of (operations and their keys).
 */
export {
  EFFECT_OPS_MAX,
  EffectExecutor,
  type EffectExecutorOptions,
  type OfferSummary,
  PROVIDER_CALLS_MAX,
  RESUME_SWEEP_MS,
  RETRY_DELAY_MAX_MS,
  RETRY_DELAY_MS,
  retryStepMs,
} from './executor.ts';
export { type HostOptions, openWarehouseHost, type WarehouseHost } from './host.ts';
export { NOTIFICATIONS_IN_FLIGHT_MAX, NotificationFeed } from './notification-feed.ts';
export { opOfEvent, opsOfOrder, outcomeKey, type PaymentOp, providerKey, type ResumableOrder } from './payment-ops.ts';
export { type Scheduler, systemScheduler } from './scheduler.ts';
