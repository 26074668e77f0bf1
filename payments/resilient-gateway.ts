/**
 * A `PaymentGateway` wrapper that makes calls to an unreliable provider safe to keep trying: a
 * circuit breaker stops calling a provider that keeps failing, and an unavailable answer is retried
 * with exponential backoff and jitter, up to a bounded number of attempts. Retries reuse the
 * idempotency key, so they never move money twice. A decline is final and never retried. What is
 * still unavailable after the last attempt is returned as such: the caller queues it (a capture on
 * delivery is retried later, never dropped).
 */
import { backoffDelayMs } from './backoff.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import type { AuthorizeRequest, PaymentGateway, PaymentResult } from './gateway.ts';

export const PAYMENT_ATTEMPTS_MAX = 4;

export interface ResilienceOptions {
  breaker: CircuitBreaker;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  attemptsMax?: number;
}

export class ResilientGateway implements PaymentGateway {
  /** Calls refused at once because the breaker was open. */
  shortCircuited = 0;

  constructor(
    private readonly inner: PaymentGateway,
    private readonly options: ResilienceOptions,
  ) {}

  private async attempt<T>(call: () => Promise<PaymentResult<T>>): Promise<PaymentResult<T>> {
    const { breaker, random, sleep } = this.options;
    const attempts = this.options.attemptsMax ?? PAYMENT_ATTEMPTS_MAX;
    let last: PaymentResult<T> = { ok: false, reason: 'unavailable', message: 'not attempted' };
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(backoffDelayMs(attempt - 1, random));
      if (!breaker.allow()) {
        this.shortCircuited++;
        last = { ok: false, reason: 'unavailable', message: 'circuit open' };
        continue;
      }
      last = await call();
      if (last.ok || last.reason === 'declined') {
        // A decline is an answer from a working provider, not a failure of the provider.
        breaker.succeeded();
        return last;
      }
      breaker.failed();
    }
    return last;
  }

  authorize(request: AuthorizeRequest) {
    return this.attempt(() => this.inner.authorize(request));
  }

  capture(key: string, authorizationId: string, amountCents: number) {
    return this.attempt(() => this.inner.capture(key, authorizationId, amountCents));
  }

  void(key: string, authorizationId: string) {
    return this.attempt(() => this.inner.void(key, authorizationId));
  }

  refund(key: string, authorizationId: string, amountCents: number) {
    return this.attempt(() => this.inner.refund(key, authorizationId, amountCents));
  }
}
