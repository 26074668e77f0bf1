/**
 * A `PaymentGateway` wrapper that makes calls to an unreliable provider safe to keep trying: a
 * circuit breaker stops calling a provider that keeps failing, and an unavailable answer is retried
 * with exponential backoff and jitter, up to a bounded number of attempts. Retries reuse the
 * idempotency key, so they never move money twice. A decline is final and never retried. What is
 * still unavailable after the last attempt is returned as such: the caller queues it (a capture on
 * delivery is retried later, never dropped). A call that does not answer within `callTimeoutMs`
 * counts as unavailable (a failure for the breaker, which lets the next trial through): a hung
 * provider would otherwise hold the caller's call slots, and a hung half-open trial would keep the
 * breaker open for good. The hung call itself is left to finish; its key makes a retry safe.
 */
import { answerWithin } from './answer-within.ts';
import { backoffDelayMs } from './backoff.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import type { AuthorizeRequest, PaymentGateway, PaymentResult } from './gateway.ts';

export const PAYMENT_ATTEMPTS_MAX = 4;
/** How long one provider call of the region process may take before it counts as unavailable (real time). */
export const PAYMENT_CALL_TIMEOUT_MS = 10_000;

export interface ResilienceOptions {
  breaker: CircuitBreaker;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  attemptsMax?: number;
  /**
   * Wall-clock bound of one call (the region process uses PAYMENT_CALL_TIMEOUT_MS); none by default,
   * since under a virtual clock (tests, the demo) a call's time is not the wall clock's.
   */
  callTimeoutMs?: number;
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
    /** An attempt may have reached the provider without an answer: so may the whole call. */
    let uncertain = false;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(backoffDelayMs(attempt - 1, random));
      if (!breaker.allow()) {
        this.shortCircuited++;
        last = { ok: false, reason: 'unavailable', message: 'circuit open' };
        continue;
      }
      const timeoutMs = this.options.callTimeoutMs ?? Number.POSITIVE_INFINITY;
      last = await answerWithin(call(), timeoutMs, () => ({
        ok: false,
        reason: 'unavailable',
        message: `no answer in ${timeoutMs} ms`,
        uncertain: true,
      }));
      if (last.ok || last.reason === 'declined') {
        // A decline is an answer from a working provider, not a failure of the provider.
        breaker.succeeded();
        return last;
      }
      breaker.failed();
      if (last.reason === 'unavailable' && last.uncertain === true) uncertain = true;
    }
    return uncertain && !last.ok && last.reason === 'unavailable' ? { ...last, uncertain } : last;
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
