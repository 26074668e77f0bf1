/**
 * Public surface of payments: the `PaymentGateway` port, a deterministic simulated provider, and
 * the resilience around real ones (circuit breaker, exponential backoff with jitter, retries that
 * reuse the idempotency key).
 */
export { answerWithin } from './answer-within.ts';
export { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelayMs } from './backoff.ts';
export { type BreakerState, CircuitBreaker, FAILURES_TO_OPEN, OPEN_MS } from './circuit-breaker.ts';
export type { AuthorizeRequest, PaymentFailure, PaymentGateway, PaymentResult } from './gateway.ts';
export {
  PAYMENT_ATTEMPTS_MAX,
  PAYMENT_CALL_TIMEOUT_MS,
  type ResilienceOptions,
  ResilientGateway,
} from './resilient-gateway.ts';
export { SimulatedPaymentProvider, type SimulatedProviderOptions } from './simulated-provider.ts';
